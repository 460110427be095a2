"""Screen logic on made-up times: modes and lesson rotation, interactions, forgetting countdowns,
today's counters, the dossier card's words."""
from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest

from kiosk.types import Attributes, Gaze, Snapshot
from kiosk.bench import fake_snapshots as syn
from kiosk.counters.daily import Aggregates
from kiosk.ui.dossier import card_content
from kiosk.ui.i18n import load_strings
from kiosk.ui.memory import ForgetTracker, PipelineClock
from kiosk.config import PrivacyConfig, UiConfig
from kiosk.ui.rates import AUTO_DWELL_S, AUTO_RATES, POSITIONS, fraction_for_rate, snap, step
from kiosk.ui.state import LESSONS, UiState

S = UiConfig(arc=False, attract_after_s=5.0, lesson_after_s=12.0, lesson_rotate_s=20.0, interaction_hold_s=45.0)


def run(state: UiState, t0: float, t1: float, faces: int, step: float = 0.5) -> None:
    t = t0
    while t <= t1 + 1e-9:
        state.tick(t, faces, camera_ok=True)
        t += step


def test_attract_mirror_lesson_mirror_rotation() -> None:
    st = UiState(S)
    assert st.tick(0.0, 0, True) == "attract"
    assert st.tick(1.0, 1, True) == "mirror"
    run(st, 1.5, 12.5, 1)
    assert st.mode == "mirror"
    run(st, 13.0, 13.0, 1)
    assert st.mode == "lesson" and st.lesson == LESSONS[0]
    run(st, 13.5, 33.0, 1)
    assert st.mode == "mirror"  # one lesson period later, back to the plain mirror
    run(st, 33.5, 46.0, 1)
    assert st.mode == "lesson" and st.lesson == LESSONS[1]  # then the next lesson


def test_everyone_leaves_attract_after_delay_and_language_resets() -> None:
    st = UiState(S)
    st.tick(0.0, 1, True)
    st.next_language(1.0)
    assert st.language == "de"
    run(st, 1.0, 3.0, 1)
    run(st, 3.5, 45.5, 0)  # nobody; the visitor's touch holds the screen for 45 s
    assert st.mode != "attract"
    run(st, 46.0, 52.0, 0)
    assert st.mode == "attract" and st.language == "en"


def test_touch_drives_lessons_and_pauses_rotation() -> None:
    st = UiState(S)
    st.tick(0.0, 1, True)
    st.next_lesson(1.0)
    assert st.mode == "lesson" and st.lesson == LESSONS[0]
    st.next_lesson(2.0)
    assert st.lesson == LESSONS[1]
    st.previous_lesson(3.0)
    st.previous_lesson(3.5)
    assert st.lesson == LESSONS[-1]
    run(st, 4.0, 40.0, 1)
    assert st.mode == "lesson" and st.lesson == LESSONS[-1]  # held while the visitor drives
    st.close_lesson(41.0)
    assert st.mode == "mirror"
    run(st, 41.5, 80.0, 1)
    assert st.mode == "mirror"  # still held after closing
    run(st, 80.5, 100.0, 1)
    assert st.mode == "lesson"


def test_camera_loss_shows_attract_and_keeps_the_lessons_open() -> None:
    st = UiState(S)
    st.tick(0.0, 1, True)
    assert st.mode == "mirror"
    assert st.tick(1.0, 0, camera_ok=False) == "attract"  # no dead screen, no staff screen
    st.next_lesson(1.5)
    assert st.mode == "lesson"  # every lesson can be opened while the camera is down
    for _ in range(len(LESSONS)):
        st.next_lesson(2.0)
        assert st.tick(2.0, 0, camera_ok=False) == "lesson"
    st.close_lesson(3.0)
    assert st.tick(3.1, 0, camera_ok=False) == "attract"
    assert st.tick(4.0, 1, camera_ok=True) == "mirror"
    assert "camera" not in "".join(st.history)


def test_slider_steps_slowly_until_touched_then_stays_until_the_next_visitor() -> None:
    st = UiState(S)
    st.tick(0.0, 1, True)
    st.next_lesson(0.0)
    st.last_interaction_s = -1e9  # as if opened by the timer
    auto = [fraction_for_rate(r) for r in AUTO_RATES]
    # Discrete steps: the position holds for a whole dwell, then jumps (no gliding figures).
    assert st.slider_value(0.0) == st.slider_value(AUTO_DWELL_S - 0.01) == auto[0]
    assert st.slider_value(AUTO_DWELL_S) == st.slider_value(2 * AUTO_DWELL_S - 0.01) == auto[1]
    assert st.slider_value(2 * AUTO_DWELL_S + 0.1) == auto[2]
    # A touch snaps to the nearest stop and stays there, long after the interaction hold.
    st.set_slider(11.0, 0.8)
    assert st.slider_value(11.0) == snap(0.8) and snap(0.8) in POSITIONS
    assert st.slider_value(11.0 + 10 * S.interaction_hold_s) == snap(0.8)
    st.move_slider(31.0, 1)
    assert st.slider_value(31.0) == step(snap(0.8), 1)
    for i in range(10):
        st.move_slider(32.0 + i, -1)
    assert st.slider_value(45.0) == POSITIONS[0]  # clamped at the lenient end
    # The next visitor (after the attract screen) starts with the automatic steps again.
    st._enter("attract", 100.0)
    st._enter("lesson", 101.0)
    assert st.slider_value(101.0) == auto[0]


def test_pipeline_clock_extrapolates_between_snapshots() -> None:
    clock = PipelineClock()
    assert clock.now(5.0) is None
    clock.observe(syn.snapshot(1, 100.0, ()), ui_now_s=5.0)
    assert clock.now(6.5) == pytest.approx(101.5)
    clock.observe(syn.snapshot(1, 100.0, ()), ui_now_s=7.0)  # same snapshot again: no reset
    assert clock.now(7.0) == pytest.approx(102.0)


def test_forget_tracker_countdown_return_and_erasure() -> None:
    tr = ForgetTracker(erased_hold_s=4.0)
    face = syn.face_view(1, (0, 0, 50, 50), 7, syn.PERSONAS["visitor"])
    tr.observe(syn.snapshot(1, 100.0, (face,)), 0.0)
    assert tr.departures(0.0) == []
    tr.observe(syn.snapshot(2, 110.0, (), gone=(syn.gone_visitor(7, 105.0, 300.0),)), 10.0)
    (dep,) = tr.departures(10.0)
    assert dep.visitor_id == 7 and dep.remaining_s(110.0) == pytest.approx(295.0)
    tr.observe(syn.snapshot(3, 120.0, (face,)), 20.0)  # back before being forgotten
    assert tr.departures(20.0) == []
    tr.observe(syn.snapshot(4, 130.0, (), gone=(syn.gone_visitor(7, 125.0, 300.0),)), 30.0)
    tr.observe(syn.snapshot(5, 430.0, ()), 330.0)  # the pipeline dropped the visitor
    (dep,) = tr.departures(331.0)
    assert dep.erased_ui_s == 330.0
    assert tr.departures(335.0) == []  # "erased" shown for erased_hold_s, then gone


def test_todays_figures_count_medians_attention_and_reset_at_midnight() -> None:
    day = [dt.date(2026, 5, 1)]
    agg = Aggregates(today=lambda: day[0])
    persona_yes, persona_no = syn.PERSONAS["astronaut"], syn.PERSONAS["obama"]
    a = syn.face_view(1, (0, 0, 50, 50), 1, persona_yes, time_in_view_s=25.0)
    b = syn.face_view(2, (60, 0, 50, 50), 2, persona_no, time_in_view_s=95.0)
    agg.observe(syn.snapshot(1, 10.0, (a, b)))
    fig = agg.today()
    assert fig.visitors == 2 and fig.looked_share == pytest.approx(0.5)
    # Both forgotten by the pipeline: folded into counters, ids dropped.
    agg.observe(syn.snapshot(2, 400.0, ()))
    assert agg.open_records() == 0
    c = syn.face_view(3, (0, 0, 50, 50), 3, persona_no, time_in_view_s=40.0)
    agg.observe(syn.snapshot(3, 410.0, (c,)))
    fig = agg.today()
    assert fig.visitors == 3
    assert fig.median_dwell_s == pytest.approx(42.5)  # 25, 40, 95 s -> bin 40-45 s
    assert fig.looked_share == pytest.approx(1 / 3)
    agg.observe(syn.snapshot(4, 800.0, ()))  # c leaves and is forgotten before midnight
    assert agg.today() == fig
    day[0] = dt.date(2026, 5, 2)
    agg.observe(syn.snapshot(5, 810.0, ()))
    assert agg.today().visitors == 0 and agg.today().median_dwell_s is None


def test_todays_figures_without_gaze_say_not_measured_and_count_tracks_without_an_id() -> None:
    agg = Aggregates()
    f = replace(syn.face_view(5, (0, 0, 50, 50), None, syn.PERSONAS["visitor"], time_in_view_s=3.0),
                attributes=Attributes())
    agg.observe(syn.snapshot(1, 10.0, (f,)))
    agg.observe(syn.snapshot(2, 11.0, ()))
    fig = agg.today()
    assert fig.visitors == 1 and fig.looked_share is None


def test_card_words_with_everything_and_with_nothing_yet() -> None:
    en = load_strings("en")
    full = syn.face_view(1, (0, 0, 50, 50), 42, syn.PERSONAS["biden"], time_in_view_s=102.0, visit_number=4,
                         is_return=True, track_age_s=2.0, last_visit_end_s=100.0 - 240.0)
    c = card_content(full, 100.0, en, welcome_s=6.0)
    texts = [line.text for line in c.lines]
    assert c.title == "Visitor 0042"
    assert texts[0] == "Welcome back!"
    assert "Age: 63" in texts and "80% range: 50–76" in texts and "Gender: male" in texts
    assert "Model is 93% sure" in texts
    assert "Right for 87% of faces aged 60+" in texts and "Expression: clearly happy" in texts
    assert "Seen before: 3 times, last 4 min ago" in texts and "In view: 0:02 (all visits: 1:42)" in texts
    assert "MATCH: Portrait 0236 · 0.41" in texts and "Watchlist: Portrait 0412 · 0.29" in texts
    guesses = [line for line in c.lines if line.text.split(":")[0] in ("Age", "Gender", "Expression", "Blinks",
                                                                          "Looking at the screen", "Seen before")
               or line.text.startswith(("Right for", "Model is", "80% range"))]
    assert guesses and all(line.marker for line in guesses)  # every guess carries its caveat marker
    assert all(line.marker is None for line in c.lines if line.text.startswith(("In view", "Welcome")))
    assert len(c.lines_at(1)) < len(c.lines) and c.lines_at(2) == ()

    empty = replace(full, visitor_id=None, attributes=Attributes(), watchlist=(), is_return=False)
    c = card_content(empty, 100.0, en)
    texts = [line.text for line in c.lines]
    assert c.title == "Identifying…" and not c.identified
    assert "Age: estimating…" in texts and "Gender: estimating…" in texts
    assert not any(t.startswith(("Seen before", "Watchlist", "MATCH")) for t in texts)


def test_card_gaze_line_in_german() -> None:
    de = load_strings("de")
    face = syn.face_view(1, (0, 0, 50, 50), 3, syn.PERSONAS["visitor"])
    face = replace(face, attributes=replace(face.attributes, gaze=Gaze(0.0, 0.0, False, 1.0)))
    texts = [line.text for line in card_content(face, 10.0, de).lines]
    assert "Blick auf den Bildschirm: nein" in texts and "Schon gesehen: nein, erster Besuch" in texts


def test_snapshot_helper_is_consistent() -> None:
    snap: Snapshot = syn.four_faces()
    assert len(snap.faces) == 4 and {v.visitor_id for v in snap.visitors} == {40, 41, 42, 43}
    assert syn.placeholder_fmr(0.363) == pytest.approx(3.8e-4, rel=0.1)
    assert syn.placeholder_fmr(0.2) > syn.placeholder_fmr(0.5)


def test_the_screen_takes_the_configs_sections_and_their_bounds() -> None:
    """One schema, one table of bounds: the screen's options are the config's ``ui`` and
    ``privacy`` sections themselves, and the screen's collaborators come from ``build_deps``."""
    from kiosk.config import config_from_mapping
    from kiosk.ui.build import build_deps

    cfg = config_from_mapping({"ui": {"mirror": False, "max_fps": 30, "language": "de"},
                               "privacy": {"forget_after_s": 120}})
    state = UiState(cfg.ui)
    assert cfg.ui.mirror is False and cfg.ui.max_fps == 30 and cfg.privacy.forget_after_s == 120.0
    assert state.language == "de" and state.ui is cfg.ui
    with pytest.raises(ValueError, match="text_scale"):
        UiConfig(text_scale=9)
    with pytest.raises(ValueError, match="theme"):
        UiConfig(theme="pink")
    with pytest.raises(ValueError, match="language"):
        UiConfig(language="fr", languages=("en", "de"))
    with pytest.raises(ValueError, match="forget_after_s"):
        PrivacyConfig(forget_after_s=5.0)  # the schema's bound (at least 10 s) is the screen's too
    from kiosk.analysis.record import face_detail
    assert build_deps(cfg).record is face_detail
