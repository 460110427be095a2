"""A visitor's sixty seconds (kiosk/ui/arc.py) and the take-home code (kiosk/ui/takehome.py).

- the arc's logic on made-up times: driven by the guesses, by reading time and by leaving;
- every arc screen in every language and both themes: at most 30 words at body size, small print
  only for sources, nothing outside the panel;
- the QR code DRAWN ON SCREEN decodes (OpenCV's QRCodeDetector) to the visitor's record, and it
  disappears with them;
- a scripted 60-second visitor on the demo scene through the real pipeline (detector, embedder,
  age/gender/expression, face mesh, watchlist), offscreen: dossier -> record -> watchlist ->
  forgetting, in English, German and Spanish at once, word counts checked on every frame drawn.
"""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import datetime as dt  # noqa: E402
import time  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.types import Frame, Gaze  # noqa: E402
from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.arc import (ALL_STEPS, DOSSIER_READ_S, GONE_S, MAX_WORDS, READ_S, Arc, count_words,  # noqa: E402
                          screen_words)
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.build import build_deps  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402
from kiosk.ui.takehome import record_text  # noqa: E402
from kiosk.ui.text import FrameRecord  # noqa: E402

LANGS = ("en", "de", "es")
DAY = dt.date(2026, 12, 5)
IMAGE = np.full((480, 640, 3), 90, np.uint8)
BOX = (380.0, 120.0, 470.0, 230.0)


def face(persona: str = "astronaut", **kw):  # noqa: ANN003, ANN201
    return syn.face_view(kw.pop("track_id", 1), kw.pop("box", BOX), kw.pop("visitor_id", 42), syn.PERSONAS[persona], **kw)


def deps() -> UiDeps:
    found = build_deps()
    return UiDeps(record=found.record, fmr=syn.placeholder_fmr, fmr_calibrated=False, watchlist_size=40,
                  watchlist_threshold=syn.WATCHLIST_THRESHOLD, measured=found.measured)


def make_app(**settings) -> KioskApp:  # noqa: ANN003
    values = dict(fullscreen=False, width=W, height=H, arc=True)
    values.update(settings)
    return KioskApp((W, H), UiConfig(**values), deps(), today=lambda: DAY)


def feed(app: KioskApp, t0: float, t1: float, faces: tuple, step: float = 0.1, gone: tuple = ()) -> float:
    t = t0
    i = int(t0 * 10)
    while t < t1 - 1e-9:
        t = round(t + step, 6)
        i += 1
        app.update(t, Frame(IMAGE, i, t), OK, syn.snapshot(i, t, faces, gone=gone))
    return t


def check_screen(rec: FrameRecord, where: str) -> None:
    """≤ 30 words at body size; small print only for sources and ring numbers; all in the panel."""
    assert rec.panel is not None, where
    words, small = screen_words(rec.texts, rec.panel, rec.buttons.values())
    assert words <= MAX_WORDS, (where, words, rec.texts_in(rec.panel))
    for text in small:
        assert text.isdigit() or text.startswith(("Source", "Quelle", "Fuente")) or len(small) > 1, (where, text)
    px, py, pw, ph = rec.panel
    for key, (bx, by, bw, bh) in rec.buttons.items():
        if key.startswith("arc_"):
            assert px <= bx and bx + bw <= px + pw and py <= by and by + bh <= py + ph, (where, key)
    for t in rec.texts:
        x, y, w, h = t.rect
        if x >= px:
            assert x + w <= px + pw + 1 and y + h <= py + ph + 1, (where, t.text, "leaves the panel")


# --- the arc's logic -------------------------------------------------------------------------------

def test_words_are_counted_as_a_reader_counts_them() -> None:
    assert count_words(["Age 39, likely 33–46", "80 % · sure", "“How it works”"]) == 4 + 2 + 3


def test_dossier_waits_for_the_guesses_then_reading_time_drives_the_arc() -> None:
    arc = Arc()
    first = face(full=False, visitor_id=None)  # only the age is in yet
    assert arc.update(0.0, [first], first) == "dossier"
    t = 0.0
    while t < 3.0:
        t += 0.1
        arc.update(t, [first], first)
    assert arc.step == "dossier" and [k for k, _ in arc.guesses] == ["age"]
    full = face()
    for _ in range(int(DOSSIER_READ_S * 10) - 2):  # every guess in: a few seconds to read them
        t += 0.1
        arc.update(t, [full], full)
    assert arc.step == "dossier"
    assert [k for k, _ in arc.guesses] == ["age", "gender", "expression", "attention", "reidentification"]
    for _ in range(5):
        t += 0.1
        arc.update(t, [full], full)
    assert arc.step == "record"
    # Looking at the screen: READ_S seconds per screen; looking away: half speed.
    since = t
    while arc.step == "record":
        t += 0.1
        arc.update(t, [full], full)
    assert t - since == pytest.approx(READ_S, abs=0.15)
    away = replace(full, attributes=replace(full.attributes, gaze=Gaze(30.0, 0.0, False, 1.0)))
    since = t
    while arc.step == "watchlist":
        t += 0.1
        arc.update(t, [away], away)
    assert t - since == pytest.approx(2 * READ_S, abs=0.25)
    assert arc.step == "why"
    while arc.step == "why":
        t += 0.1
        arc.update(t, [full], full)
    for _ in range(300):  # the question stays as long as the visitor does
        t += 0.1
        arc.update(t, [full], full)
    assert arc.step == "question"
    assert arc.history == ["dossier", "record", "watchlist", "why", "question"]


def test_leaving_starts_the_forgetting_then_the_why_then_the_screen_is_free() -> None:
    arc = Arc()
    f = face()
    arc.update(0.0, [f], f)
    arc.update(1.0, [f], f)
    assert arc.step == "dossier" and not arc.holding(1.0)
    arc.update(1.0 + GONE_S / 2, [], None)
    assert arc.step == "dossier"  # a missed detection is not leaving
    arc.update(1.0 + GONE_S + 0.1, [], None)
    assert arc.step == "forgetting" and arc.holding(3.0)
    t = 1.0 + GONE_S + 0.1
    while arc.step is not None and t < 60:
        t += 0.1
        arc.update(t, [], None)
    assert arc.history == ["dossier", "forgetting", "why", "question"]
    assert arc.step is None and not arc.holding(t)


def test_coming_back_during_the_forgetting_continues_the_arc() -> None:
    arc = Arc()
    f = face()
    arc.update(0.0, [f], f)
    arc.next(0.5)
    assert arc.step == "record"
    arc.update(3.0, [], None)
    assert arc.step == "forgetting"
    back = face(track_id=7)  # a new track, the same visitor
    arc.update(4.0, [back], back)
    assert arc.step == "watchlist" and arc.subject_track == 7 and arc.subject is back  # follows their current track


def test_staff_step_through_every_screen_by_key_or_three_taps() -> None:
    arc = Arc()
    f = face()
    arc.update(0.0, [f], f)
    seen = [arc.step]
    for i in range(len(ALL_STEPS) - 1):
        seen.append(arc.staff_step(1.0 + i))
    assert seen == list(ALL_STEPS)
    assert arc.staff_step(9.0, -1) == "why"
    for _ in range(100):  # no automatic advance while the educator talks
        arc.update(20.0, [f], f)
    assert arc.step == "why"
    assert not arc.staff_tap(30.0) and not arc.staff_tap(30.4) and arc.staff_tap(30.8)
    assert arc.step == "question"
    assert not arc.staff_tap(40.0) and not arc.staff_tap(42.0)  # too slow: a visitor's taps


# --- every screen, every language, both themes ----------------------------------------------------

@pytest.mark.parametrize("theme", ["default", "high_contrast"])
@pytest.mark.parametrize("lang", LANGS)
def test_every_arc_screen_fits_in_30_words_at_body_size(screen, lang: str, theme: str) -> None:  # noqa: ANN001
    app = make_app(language=lang, theme=theme, exhibition_link="https://example.org/exhibition")
    f = face("biden", visit_number=3, is_return=True, track_age_s=20.0, last_visit_end_s=50.0)
    t = feed(app, 100.0, 106.0, (f,))
    shown = []
    for step in ALL_STEPS:
        while app.arc.step != step:
            app.arc.staff_step(t)
        rec = app.render(screen, t, settle=True)
        assert rec.screen == f"arc:{step}"
        check_screen(rec, f"{lang}/{theme}/{step}")
        shown.append(step)
    assert app.request_takehome(t)
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:takehome"
    check_screen(rec, f"{lang}/{theme}/takehome")
    assert shown == list(ALL_STEPS)


def test_the_dossier_grows_line_by_line_and_explains_the_rings(screen) -> None:  # noqa: ANN001
    s = load_strings("en")
    app = make_app()
    t = feed(app, 0.0, 1.0, (face(full=False, visitor_id=None),))
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:dossier"
    assert rec.says("Age 39, likely 29–53") and not rec.says("female, 91% sure")  # the persona's calibrated range
    assert rec.says(s.get("arc.dossier.markers", button=s.get("buttons.lessons")))
    t = feed(app, t, t + 1.0, (face(),))
    rec = app.render(screen, t, settle=True)
    for line in ("Age 39, likely 29–53", "female, 91% sure", "Looks happy?", "Looking at the screen",
                 "New face, remembered"):
        assert rec.says(line), rec.texts_in(rec.panel)


def test_raw_record_and_threshold_are_one_tap_away(screen) -> None:  # noqa: ANN001
    app = make_app()
    t = feed(app, 0.0, 2.0, (face(),))
    app.arc.staff_step(t)
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:record"
    x, y, w, h = rec.buttons["arc_json"]
    assert app.tap((x + w // 2, y + h // 2), t) == "arc_json"
    rec = app.render(screen, t + 0.1, settle=True)
    assert rec.screen == "lesson:record"
    app.state.close_lesson(t + 0.2)
    app.arc.staff_step(t + 0.3)
    rec = app.render(screen, t + 0.3, settle=True)
    assert rec.screen == "arc:watchlist"
    x, y, w, h = rec.buttons["arc_threshold"]
    assert app.tap((x + w // 2, y + h // 2), t + 0.4) == "arc_threshold"
    assert app.render(screen, t + 0.5, settle=True).screen == "lesson:threshold"


def test_why_is_reachable_from_the_attract_screen(screen) -> None:  # noqa: ANN001
    app = make_app()
    t = feed(app, 0.0, 8.0, ())
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "attract" and "why" in rec.buttons
    x, y, w, h = rec.buttons["why"]
    assert app.tap((x + w // 2, y + h // 2), t) == "why"
    t = feed(app, t, t + 1.0, ())
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:why"
    assert rec.says(load_strings("en").get("arc.why.fear"))
    t = feed(app, t, t + 11.0, ())
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:question" and rec.says("Who should be allowed to know where you go?")


# --- the take-home code ----------------------------------------------------------------------------

def decode_drawn(surface: pygame.Surface, rect: tuple[int, int, int, int]) -> str:
    """What a QR reader sees in that part of the screen (the screen's pixels, not the encoder's)."""
    bgr = cv2.cvtColor(pygame.surfarray.array3d(surface).transpose(1, 0, 2), cv2.COLOR_RGB2BGR)
    x, y, w, h = rect
    m = 12
    crop = np.ascontiguousarray(bgr[max(0, y - m):y + h + m, max(0, x - m):x + w + m])
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(crop)
    return text


@pytest.mark.parametrize("theme", ["default", "high_contrast"])
@pytest.mark.parametrize("lang", LANGS)
def test_the_qr_code_on_screen_is_the_visitors_record(screen, lang: str, theme: str) -> None:  # noqa: ANN001
    app = make_app(language=lang, theme=theme)
    f = face("obama", visitor_id=7, visit_number=2, is_return=True, last_visit_end_s=40.0)
    t = feed(app, 100.0, 103.0, (f,))
    app.arc.staff_step(t)  # the record screen offers it
    rec = app.render(screen, t, settle=True)
    bx, by, bw, bh = rec.buttons["arc_qr"]
    assert app.tap((bx + bw // 2, by + bh // 2), t) == "arc_qr"
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:takehome"
    s = load_strings(lang)
    assert rec.says(s.get("arc.takehome.only_copy"))
    expected = record_text(f, 103.0, s, 300.0, DAY)
    assert decode_drawn(screen, app.takehome.drawn_rect) == expected
    # Plain readable text: who, the conclusions as on their card, the only-copy sentence.
    assert s.get("card.visitor", id="0007") in expected
    assert s.get("card.age", years=52) in expected
    assert s.get("card.age_range", coverage=s.percent(0.8), low=40, high=67) in expected  # the range, not a bare age
    assert s.get("card.watchlist", name="Portrait 0412", score=s.number(0.31, 2)) in expected  # a cosine, as on the card
    assert "http" not in expected
    assert s.get("takehome.text_only_copy", duration=s.duration(300)) in expected


def test_the_optional_link_code_is_off_by_default_and_decodes_when_set(screen) -> None:  # noqa: ANN001
    app = make_app()
    t = feed(app, 0.0, 2.0, (face(),))
    assert app.request_takehome(t)
    app.render(screen, t, settle=True)
    assert app.takehome.link_rect is None
    link = "https://museum.example/exhibition/surveillance-mirror"
    app = make_app(exhibition_link=link)
    t = feed(app, 0.0, 2.0, (face(),))
    assert app.request_takehome(t)
    rec = app.render(screen, t, settle=True)
    assert decode_drawn(screen, app.takehome.link_rect) == link
    assert decode_drawn(screen, app.takehome.drawn_rect) == app.takehome.text
    assert rec.says(load_strings("en").get("arc.takehome.link"))


def test_the_code_disappears_with_its_visitor_and_is_never_given_to_someone_who_left(screen) -> None:  # noqa: ANN001
    app = make_app()
    t = feed(app, 0.0, 2.0, (face(),))
    assert app.request_takehome(t)
    t = feed(app, t, t + GONE_S + 0.3, ())
    assert not app.takehome.is_open and app.takehome.text is None
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:forgetting" and "arc_qr" not in rec.buttons
    assert not app.request_takehome(t)  # T pressed after they left: nothing


# --- a scripted 60-second visitor on the demo, real pipeline ---------------------------------------

@pytest.mark.slow
@pytest.mark.models
def test_a_sixty_second_visitor_through_the_real_pipeline(screen, tmp_path: Path) -> None:  # noqa: ANN001
    """Obama (obama2.jpg) walks up at 1 s, stays, walks off at 45-46 s; nobody until 70 s. The
    pipeline runs its real models on the demo scene's frames (as fast as it can, scene clock);
    three screens (en, de, es) follow its snapshots. The watchlist holds two other demo portraits."""
    from modelkit import photo_path, require_model

    from kiosk.capture.demo import EYE_LEVEL, PLAIN, PORTRAITS
    from kiosk.bench.scenes import SyntheticScene, SyntheticVisit
    from kiosk.config import config_from_mapping
    from kiosk.models import ModelStore, default_demo_dir
    from kiosk.analysis.build import build_analyzer
    from kiosk.pipeline import Pipeline

    for model in ("yunet", "sface", "age", "gender", "expression"):
        require_model(model)
    gallery = tmp_path / "watchlist"
    gallery.mkdir()
    for name in ("astronaut.png", "biden.jpg"):
        (gallery / name).symlink_to(photo_path(name))
    cfg = config_from_mapping({"camera": {"source": "demo", "realtime": False},
                               "watchlist": {"enabled": True, "dir": str(gallery)}})
    fh = 150.0
    visit = SyntheticVisit("obama2.jpg", PLAIN, 1.0, 2.0, 45.0, 46.0, cx=300.0,
                           cy=EYE_LEVEL * 480 + PORTRAITS["obama2.jpg"].person_dy * fh, face_h=fh)
    fps = 5.0
    scene = SyntheticScene(default_demo_dir(), (visit,), loop_s=70.0, fps=fps, loop=False)
    pipeline = Pipeline(cfg, build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved)),
                        source_factory=lambda: scene)
    analyzer = pipeline.inference.analyzer
    loader = analyzer.watchlist_loader  # two portraits, embedded in the background
    assert loader is not None and loader.wait(120.0)
    watchlist = analyzer.watchlist
    assert watchlist is not None and watchlist.size == 2
    found = build_deps(cfg, watchlist)
    ui = {"ui.fullscreen": False, "ui.width": W, "ui.height": H, "ui.arc": True}
    apps = {lang: KioskApp((W, H), cfg.with_overrides({**ui, "ui.language": lang}).ui, found, privacy=cfg.privacy,
                           today=lambda: DAY)
            for lang in LANGS}
    steps: dict[str, list[tuple[float, str]]] = {lang: [] for lang in LANGS}
    seen = {"subject": False}

    def on_snapshot(snap) -> None:  # noqa: ANN001
        """In the inference thread, before the next frame is analysed: the screens follow every
        snapshot of the lossless demo replay on the scene clock (a polling loop would lag)."""
        frame = pipeline.slot.peek()
        draw = True  # every frame: 5 screens a second
        for lang, app in apps.items():
            app.update(snap.t_s, frame, pipeline.slot.status(), snap)
            seen["subject"] |= app.arc.subject is not None
            if draw:
                rec = app.render(screen, snap.t_s)
                if rec.screen.startswith("arc:"):
                    check_screen(rec, f"{lang} at {snap.t_s:.1f} s")
                if not steps[lang] or steps[lang][-1][1] != rec.screen:
                    steps[lang].append((snap.t_s, rec.screen))

    pipeline.subscribe(on_snapshot)
    pipeline.start()
    try:
        deadline = time.monotonic() + 400
        while pipeline.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pipeline.error is None, repr(pipeline.error)
    finally:
        pipeline.stop()
    subject_seen = seen["subject"]
    assert subject_seen
    for lang in LANGS:
        seq = [s for _, s in steps[lang]]
        arc_seq = [s.removeprefix("arc:") for s in seq if s.startswith("arc:")]
        # dossier -> record -> watchlist -> ... -> forgetting, the why and the question on the way.
        assert arc_seq[:3] == ["dossier", "record", "watchlist"], (lang, steps[lang])
        assert "forgetting" in arc_seq and {"why", "question"} <= set(arc_seq), (lang, steps[lang])
        assert arc_seq.index("forgetting") > arc_seq.index("watchlist")
        t_of = {s: t for t, s in reversed(steps[lang])}
        assert t_of["arc:record"] < 20.0 and t_of["arc:watchlist"] < 30.0, steps[lang]  # within a minute's visit
        assert 45.0 <= t_of["arc:forgetting"] <= 50.0, steps[lang]  # as they step away
        assert seq[-1] == "attract", steps[lang]  # and then the screen is free again
    assert apps["en"].arc.history[:3] == ["dossier", "record", "watchlist"]
