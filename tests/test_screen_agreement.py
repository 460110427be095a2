"""Figures a visitor can compare across the screen agree: the card's watchlist verdict and the
panel beside it (arc screen or threshold lesson) judge at the same threshold."""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.track.watchlist import FmrCalibration  # noqa: E402
from kiosk.types import Frame, WatchlistMatch  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.ui.rates import load_bias, one_in  # noqa: E402
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.build import build_deps  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402

CAL = FmrCalibration.from_mapping({"1e-2": 0.29, "1e-3": 0.359, "1e-4": 0.415, "1e-5": 0.468, "1e-6": 0.52},
                                  measured_down_to=6e-6)
BOX = (380.0, 120.0, 470.0, 230.0)


def app_with_a_near_miss(arc: bool) -> tuple[KioskApp, float]:
    """A visitor whose closest portrait scores 0.33: below the kiosk's 0.363, above the lenient
    end of the lesson's slider (1 in 100: 0.29)."""
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, watchlist_size=3, watchlist_threshold=0.363)
    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, arc=arc), deps)
    face = replace(syn.face_view(1, BOX, 42, syn.PERSONAS["obama"]),
                   watchlist=(WatchlistMatch("Ada One", 0.33, False),))
    image = np.full((480, 640, 3), 90, np.uint8)
    t = 100.0
    for i in range(30):
        t = round(t + 0.1, 6)
        app.update(t, Frame(image, 1000 + i, t), OK, syn.snapshot(1000 + i, t, (face,)))
    return app, t


def test_beside_an_arc_screen_cards_judge_at_the_kiosks_threshold(screen) -> None:  # noqa: ANN001
    app, t = app_with_a_near_miss(arc=True)
    assert app.state.mode == "mirror" and app.state.slider_value(t) == 0.0  # the slider sits at lenient
    for _ in range(3):  # dossier, record, watchlist: an arc screen beside the mirror every time
        rec = app.render(screen, t, settle=True)
        assert rec.screen.startswith("arc:"), rec.screen
        assert rec.has_text("Ada One") and not rec.has_text("MATCH"), rec.screen
        app.arc.staff_step(t)


def test_beside_the_threshold_lesson_cards_judge_at_the_slider(screen) -> None:  # noqa: ANN001
    app, t = app_with_a_near_miss(arc=False)
    app.state.next_lesson(t)
    app.state.set_slider(t, 0.0)  # 1 in 100: threshold 0.29, so 0.33 is a "match" here
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "lesson:threshold"
    assert any(x.text.startswith("MATCH") for x in rec.texts if x.rect[0] < rec.panel[0])


def test_a_long_portrait_name_is_shortened_to_initials_not_cut(screen) -> None:  # noqa: ANN001
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, watchlist_size=3, watchlist_threshold=0.363)
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H), deps)
    long = "Aleksandr Aleksandrovich Skvortsov"
    face = replace(syn.face_view(1, BOX, 42, syn.PERSONAS["obama"]),
                   watchlist=(WatchlistMatch(long, 0.40, True), WatchlistMatch("Ed Lu", 0.30, False)))
    image = np.full((480, 640, 3), 90, np.uint8)
    app.update(100.0, Frame(image, 1, 100.0), OK, syn.snapshot(1, 100.0, (face,)))
    app.state.next_lesson(100.0)
    rec = app.render(screen, 100.0, settle=True)
    assert rec.screen == "lesson:threshold"
    panel_texts = [x.text for x in rec.texts if x.rect[0] >= rec.panel[0]]
    assert "A. A. Skvortsov" in panel_texts and "Ed Lu" in panel_texts
    assert not any("…" in x for x in panel_texts), panel_texts


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (1080, 1920)])
@pytest.mark.parametrize("lang", ["en", "de", "es"])
@pytest.mark.parametrize("someone", [False, True])
def test_the_bias_sentence_is_drawn_in_every_language(lang: str, size: tuple[int, int], someone: bool) -> None:
    """The kiosk's own demographic ratio is part of the lesson in every language, with or without
    a visitor in view (it is the first note, so it must never be the one left out)."""
    bias = load_bias()
    assert bias is not None
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, watchlist_size=134, watchlist_threshold=0.363,
                  watchlist_names=("Alan Poindexter", "Aleksandr Skvortsov", "Andrew Feustel", "Andrew Morgan"),
                  fmr_measured_down_to=6e-6, bias=bias)
    w, h = size
    surface = pygame.Surface(size)
    app = KioskApp(size, UiConfig(arc=False, fullscreen=False, width=w, height=h, language=lang), deps)
    faces = ()
    if someone:
        faces = (replace(syn.face_view(1, BOX, 42, syn.PERSONAS["obama"]),
                         watchlist=(WatchlistMatch("Douglas Hurley", 0.37, True), WatchlistMatch("Ed Lu", 0.36, False),
                                    WatchlistMatch("Kathryn Hire", 0.33, False))),)
    image = np.full((480, 640, 3), 90, np.uint8)
    app.update(100.0, Frame(image, 1, 100.0), OK, syn.snapshot(1, 100.0, faces))
    app.state.next_lesson(100.0)
    for fraction in (0.0, 1.0):  # lenient, strict (extrapolated: one more note)
        app.state.set_slider(100.0, fraction)
        rec = app.render(surface, 100.0, settle=True)
        assert rec.screen == "lesson:threshold"
        s = load_strings(lang)
        sentence = s.get("lesson.threshold.bias", n=s.number(one_in(bias["rate"])),
                         ratio=s.number(bias["ratio"], 0 if bias["ratio"] >= 10 else 1),
                         high=s.get(f"lesson.threshold.groups.{bias['high']}"),
                         low=s.get(f"lesson.threshold.groups.{bias['low']}"))
        assert rec.says(sentence), (lang, size, someone, fraction, rec.texts_in(rec.panel)[-4:])


@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_the_record_lesson_names_an_unidentified_face_in_words_not_the_card_title(lang: str) -> None:
    """"filled in live for Identifying…" read as a name; the lesson says whose record it is."""
    s = load_strings(lang)
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H, language=lang),
                   UiDeps(record=build_deps().record))
    face = syn.face_view(1, BOX, None, syn.PERSONAS["obama"])
    image = np.full((480, 640, 3), 90, np.uint8)
    app.update(100.0, Frame(image, 1, 100.0), OK, syn.snapshot(1, 100.0, (face,)))
    while app.state.lesson != "record" or app.state.mode != "lesson":
        app.state.next_lesson(100.0)
    rec = app.render(pygame.Surface((W, H)), 100.0, settle=True)
    assert rec.screen == "lesson:record"
    assert rec.says(s.get("lesson.record.subtitle", who=s.get("lesson.record.unidentified")))
    assert not rec.says(s.get("lesson.record.subtitle", who=s.get("card.identifying")))
