"""The watchlist lesson: rates anchored on the ACLU's figure, portraits that really render, the
searched face, and numbers that agree with each other."""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.types import Frame, WatchlistMatch  # noqa: E402
from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.ui.app import KioskApp, main_face  # noqa: E402
from kiosk.ui.portraits import PortraitThumbnails  # noqa: E402
from kiosk.ui.rates import (  # noqa: E402
    ACLU_FMR,
    POSITIONS,
    congress_false_matches,
    fraction_for_rate,
    one_in,
    rate_for_fraction,
)
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402
from kiosk.ui.threshold_lesson import judge_at_slider, reading, threshold_for_rate  # noqa: E402
from kiosk.track.fmr_calibration import FmrCalibration  # noqa: E402

FRAME = Frame(image=np.full((480, 640, 3), 90, np.uint8), index=1, t_s=10.0)
# Shaped like the measured calibration (models/manifest.yaml), with a tail-fit point at 1e-6.
CAL = FmrCalibration.from_mapping({"1e-2": 0.29, "1e-3": 0.359, "1e-4": 0.415, "1e-5": 0.468, "1e-6": 0.52},
                                  measured_down_to=6e-6)
PORTRAIT_BGR = (40, 200, 60)  # a colour no silhouette, panel or theme uses


def test_aclu_anchor_is_28_in_535_by_25000() -> None:
    assert ACLU_FMR == pytest.approx(2.093e-6, rel=1e-3)
    assert congress_false_matches(ACLU_FMR) == pytest.approx(28.0)
    assert one_in(ACLU_FMR) == 480_000 and one_in(1e-2) == 100
    for rate in (1e-2, 1e-4, ACLU_FMR, 1e-6):
        assert rate_for_fraction(fraction_for_rate(rate)) == pytest.approx(rate)
    assert POSITIONS[0] == 0.0 and POSITIONS[-1] == 1.0 and list(POSITIONS) == sorted(POSITIONS)


def test_every_figure_comes_from_one_calibration() -> None:
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, fmr_measured_down_to=CAL.measured_down_to)
    for rate, fraction in zip((1e-2, 1e-3, 1e-4, 1e-5, ACLU_FMR, 1e-6), POSITIONS):
        rd = reading(deps, fraction, 134)
        assert rd.rate == rate
        assert CAL.false_match_rate(rd.threshold) == pytest.approx(rate, rel=1e-6)
        assert rd.expected_you == pytest.approx(rate * 134)
        assert rd.congress == pytest.approx(rate * 535 * 25_000)
        assert rd.extrapolated == (rate < 6e-6)
    assert threshold_for_rate(CAL.false_match_rate, 1e-3) == pytest.approx(0.359, abs=1e-6)


def test_cards_are_judged_at_the_lesson_threshold() -> None:
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True)
    face = replace(syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"]),
                   watchlist=(WatchlistMatch("A", 0.40, True), WatchlistMatch("B", 0.30, False)))
    snap = syn.snapshot(1, 10.0, (face,))
    lenient = judge_at_slider(snap, deps, 0.0)  # 1e-2: threshold 0.29
    assert [m.passes for m in lenient.faces[0].watchlist] == [True, True]
    strict = judge_at_slider(snap, deps, 1.0)
    assert [m.passes for m in strict.faces[0].watchlist] == [False, False]


def test_main_face_prefers_an_embedded_face_over_a_larger_unsearched_box() -> None:
    real = syn.face_view(1, (200.0, 100.0, 260.0, 170.0), 3, syn.PERSONAS["biden"])
    painting = replace(syn.face_view(2, (300.0, 50.0, 500.0, 300.0), None, syn.PERSONAS["obama"]), watchlist=())
    assert main_face(syn.snapshot(1, 10.0, (painting, real))).track_id == 1
    bigger = syn.face_view(3, (300.0, 50.0, 500.0, 300.0), 4, syn.PERSONAS["obama"])
    assert main_face(syn.snapshot(1, 10.0, (bigger, real))).track_id == 3  # largest of the searched


def test_thumbnails_are_truthy_and_made_at_start(tmp_path: Path) -> None:
    folder = tmp_path / "wl"
    folder.mkdir()
    for name in ("Ada_One", "Bea_Two"):
        cv2.imwrite(str(folder / f"{name}.jpg"), np.full((160, 160, 3), PORTRAIT_BGR, np.uint8))
    thumbs = PortraitThumbnails(folder)
    assert len(thumbs) == 0 and bool(thumbs)  # the bug: an empty cache made `if deps.portrait` false
    assert thumbs.preload() == ("Ada One", "Bea Two") and thumbs.reads == 2 and len(thumbs) == 2


def test_portraits_render_as_portraits_not_silhouettes(screen, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "wl"
    folder.mkdir()
    for name in ("Ada_One", "Bea_Two", "Cy_Three"):
        cv2.imwrite(str(folder / f"{name}.jpg"), np.full((160, 160, 3), PORTRAIT_BGR, np.uint8))
    thumbs = PortraitThumbnails(folder)
    names = thumbs.preload()
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, watchlist_size=3, watchlist_threshold=0.363,
                  portrait=thumbs, watchlist_names=names, portrait_numbers={n: i + 1 for i, n in enumerate(names)})
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H), deps)
    face = replace(syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"]),
                   watchlist=(WatchlistMatch("Ada One", 0.45, True), WatchlistMatch("Bea Two", 0.31, False)))
    snap = syn.snapshot(1, 10.0, (face,))
    app.update(10.0, FRAME, OK, snap)
    app.state.next_lesson(10.0)
    rec = app.render(screen, 10.0, settle=True)
    assert rec.screen == "lesson:threshold"
    rgb = tuple(reversed(PORTRAIT_BGR))
    for name in ("Ada One", "Bea Two"):
        label = next(t for t in rec.texts if t.text == name and t.rect[0] >= rec.panel[0])
        cx = label.rect[0] + label.rect[2] // 2
        # The thumbnail sits just above its name; sample its upper half (below it may be a MATCH band).
        ys = range(label.rect[1] - 60, label.rect[1] - 30, 5)
        pixels = [tuple(screen.get_at((cx + dx, y)))[:3] for y in ys for dx in (-15, 0, 15)]
        close = [p for p in pixels if max(abs(a - b) for a, b in zip(p, rgb)) <= 12]
        assert len(close) >= len(pixels) - 1, (name, pixels[:6])
    # Names can be replaced by numbers (watchlist.show_names: false).
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H), replace(deps, show_names=False))
    app.update(10.0, FRAME, OK, snap)
    app.state.next_lesson(10.0)
    rec = app.render(screen, 10.0, settle=True)
    assert rec.has_text("Portrait 1") and rec.has_text("Portrait 2") and not any(
        t.text == "Ada One" for t in rec.texts if t.rect[0] >= rec.panel[0])


def test_nobody_in_view_shows_the_watchlist_and_an_invitation(screen, tmp_path: Path) -> None:  # noqa: ANN001
    folder = tmp_path / "wl"
    folder.mkdir()
    for name in ("Ada_One", "Bea_Two"):
        cv2.imwrite(str(folder / f"{name}.jpg"), np.full((160, 160, 3), PORTRAIT_BGR, np.uint8))
    thumbs = PortraitThumbnails(folder)
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, watchlist_size=2, portrait=thumbs,
                  watchlist_names=thumbs.preload(), fmr_measured_down_to=6e-6)
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H), deps)
    snap = syn.snapshot(1, 10.0, ())
    app.update(10.0, FRAME, OK, snap)
    app.state.next_lesson(10.0)
    app.state.set_slider(10.0, 1.0)
    rec = app.render(screen, 10.0, settle=True)
    assert rec.has_text("Ada One") and rec.has_text("Step closer")
    assert rec.has_text("≈ False match: 1 in 1,000,000 comparisons")  # marked as extrapolated
    assert rec.has_text("extrapolated from the measured tail")
    assert rec.has_text("searched against 2 portraits")


def test_bias_sentence_in_every_language(tmp_path: Path) -> None:
    from kiosk.ui.i18n import load_strings
    from kiosk.ui.rates import load_bias

    path = tmp_path / "d.yaml"
    path.write_text("lesson: {rate: 0.001, high: black_female, low: white_male, ratio: 3.14}\n", encoding="utf-8")
    bias = load_bias(path)
    assert bias == {"rate": 0.001, "high": "black_female", "low": "white_male", "ratio": 3.14}
    assert load_bias(tmp_path / "missing.yaml") is None
    for lang in ("en", "de", "es"):
        s = load_strings(lang)
        for race in ("asian", "black", "indian", "white", "others"):
            for gender in ("female", "male"):
                assert s.get(f"lesson.threshold.groups.{race}_{gender}").strip()
        text = s.get("lesson.threshold.bias", n="1,000", ratio="3.1", high="H", low="L")
        assert "3.1" in text and "H" in text and "L" in text


@pytest.mark.parametrize("size", [(1280, 720), (1920, 1080), (1080, 1920)])
@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_every_extrapolated_stop_says_so_on_screen(lang: str, size: tuple[int, int]) -> None:
    """At every slider stop whose rate lies below what the calibration counted, the lesson says
    in words that the figure is extrapolated (not only "≈"), in every language and screen size,
    with a visitor in view and the bias sentence loaded (the fullest panel); at the counted stops
    it does not. (The words were dropped at the strict end when the small print ran out of room.)"""
    from kiosk.ui.i18n import load_strings
    from kiosk.ui.rates import SLIDER_RATES, load_bias

    s = load_strings(lang)
    bias = load_bias()
    assert bias is not None
    deps = UiDeps(fmr=CAL.false_match_rate, fmr_calibrated=True, watchlist_size=134, watchlist_threshold=0.363,
                  fmr_measured_down_to=6e-6, bias=bias)
    w, h = size
    surface = pygame.Surface(size)
    app = KioskApp(size, UiConfig(arc=False, fullscreen=False, width=w, height=h, language=lang), deps)
    face = replace(syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 42, syn.PERSONAS["obama"]),
                   watchlist=(WatchlistMatch("Douglas Hurley", 0.37, True), WatchlistMatch("Ed Lu", 0.36, False),
                              WatchlistMatch("Kathryn Hire", 0.33, False)))
    app.update(10.0, FRAME, OK, syn.snapshot(1, 10.0, (face,)))
    app.state.next_lesson(10.0)
    long_note = s.get("lesson.threshold.extrapolated", n=s.number(one_in(6e-6)))
    extrapolated_stops = 0
    for rate, fraction in zip(SLIDER_RATES, POSITIONS):
        app.state.set_slider(10.0, fraction)
        rec = app.render(surface, 10.0, settle=True)
        assert rec.screen == "lesson:threshold"
        rd = reading(deps, fraction, 134)
        extrapolated = rate < 6e-6
        extrapolated_stops += extrapolated
        assert rd.extrapolated == extrapolated
        # The row right under the rate says it in words (the small print may lack room for more).
        row = [s.get("lesson.threshold.score_extrapolated", value=s.number(rd.threshold, 2)),
               s.get("lesson.threshold.extrapolated_short")]
        said = [x for x in rec.texts if x.text in row and x.rect[0] >= rec.panel[0]]
        assert bool(said) == extrapolated, (lang, size, one_in(rate), rec.texts_in(rec.panel)[-5:])
        assert any(x.text.startswith("≈ ") for x in rec.texts) == extrapolated
        assert not rec.says(long_note) or extrapolated
        for x in said:  # whole, inside the panel, not under the buttons
            assert "…" not in x.text
            assert x.rect[1] + x.rect[3] <= rec.panel[1] + rec.panel[3]
            assert not any(x.rect[1] + x.rect[3] > b[1] and x.rect[1] < b[1] + b[3]
                           and x.rect[0] < b[0] + b[2] and x.rect[0] + x.rect[2] > b[0]
                           for b in rec.buttons.values())
        # The bias sentence is never the one left out.
        assert rec.says(s.get("lesson.threshold.bias", n=s.number(one_in(bias["rate"])),
                              ratio=s.number(bias["ratio"], 0 if bias["ratio"] >= 10 else 1),
                              high=s.get(f"lesson.threshold.groups.{bias['high']}"),
                              low=s.get(f"lesson.threshold.groups.{bias['low']}")))
    assert extrapolated_stops == 2  # the ACLU mark (1 in 480,000) and 1 in 1,000,000
