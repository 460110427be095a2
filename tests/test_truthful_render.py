"""No card shows a zero-width range or an uncalibrated percentage (issue 14).

Snapshots are recorded from the real analysis path (YuNet, tracker, SFace, age/gender with the
committed calibration, expression, smoothing, hysteresis) on the built-in demo scene; each is
then drawn by the real ``KioskApp`` in every language and every text on screen is checked, and
each face's FaceDetail record is checked too. Needs the fetched models and demo photos.
"""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import re  # noqa: E402

import jsonschema  # noqa: E402
import pytest  # noqa: E402

from kiosk.types import Frame, Snapshot  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402

LANGUAGES = ("en", "de", "es")
FPS = 4.0
PERCENT = re.compile(r"\d+(?:[.,]\d+)?\s?%")
RANGE = re.compile(r"(\d+)\s?–\s?(\d+)")


@pytest.fixture(scope="module")
def recorded() -> list[tuple[Frame, Snapshot]]:
    """One loop of the demo scene (48 s) at 4 frames per second through the analyzer."""
    from modelkit import photo_path

    from kiosk.capture.demo import LOOP_S, DemoScene
    from kiosk.config import config_from_mapping
    from kiosk.models import ModelStore
    from kiosk.analysis.build import build_analyzer

    scene = DemoScene(photo_path("obama.jpg").parent, width=640, height=480, fps=FPS, realtime=False)
    scene.open()
    cfg = config_from_mapping({"watchlist": {"enabled": False}, "attributes": {"mesh": False}})
    analyzer = build_analyzer(cfg, ModelStore())
    out = []
    try:
        for i in range(int(LOOP_S * FPS)):
            t_s = i / FPS
            frame = Frame(scene.render(t_s), i, t_s)
            out.append((frame, analyzer.process(frame)))
    finally:
        analyzer.close()
        scene.close()
    return out


def _allowed_percents(snap: Snapshot, lang: str) -> set[str]:
    """The percentages a card may show: calibrated ones only (range coverage, calibrated gender
    probability, measured accuracy for the age band)."""
    s = load_strings(lang)
    allowed = set()
    for f in snap.faces:
        a = f.attributes
        if a.age is not None and a.age.coverage is not None:
            allowed.add(s.percent(a.age.coverage))
        if a.gender is not None and a.gender.calibrated:
            allowed.add(s.percent(min(a.gender.probability, 0.99)))  # shown at most as 99 %
            if a.gender.band_accuracy is not None:
                allowed.add(s.percent(a.gender.band_accuracy))
    return {p.replace("\u202f", " ").replace("\xa0", " ") for p in allowed}


def test_the_recording_has_calibrated_guesses(recorded: list[tuple[Frame, Snapshot]]) -> None:
    faces = [f for _, snap in recorded for f in snap.faces]
    with_age = [f for f in faces if f.attributes.age is not None]
    assert len(with_age) > 50, "the demo scene should give dozens of analysed faces"
    assert all(f.attributes.age.coverage == 0.8 for f in with_age)
    assert all(f.attributes.gender.calibrated for f in faces if f.attributes.gender is not None)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_card_shows_a_zero_width_range_or_an_uncalibrated_percentage(
        recorded: list[tuple[Frame, Snapshot]], screen, lang: str) -> None:  # noqa: ANN001, F811
    from kiosk.analysis.record import face_detail

    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H, language=lang, lesson_after_s=3600.0),
                   UiDeps(record=face_detail))
    checked = percents = 0
    for frame, snap in recorded[::3]:
        app.update(snap.t_s, frame, OK, snap)
        rec = app.render(screen, snap.t_s, settle=True)
        allowed = _allowed_percents(snap, lang)
        for card in rec.cards:
            for text in rec.texts_in(rec.cards[card]):
                plain = text.replace("\u202f", " ").replace("\xa0", " ")
                for low, high in RANGE.findall(plain):
                    assert int(low) < int(high), f"{lang} t={snap.t_s}: zero-width or reversed range in {text!r}"
                for pct in PERCENT.findall(plain):
                    assert pct in allowed, f"{lang} t={snap.t_s}: {text!r} shows {pct}, calibrated ones: {allowed}"
                    percents += 1
                checked += 1
    assert checked > 100 and percents > 20  # the check saw real cards with their percentages


def test_every_recorded_face_detail_carries_only_calibrated_confidences(
        recorded: list[tuple[Frame, Snapshot]]) -> None:
    from kiosk.analysis.record import face_detail, face_detail_schema

    schema = face_detail_schema()
    for frame, snap in recorded:
        for f in snap.faces:
            rec = face_detail(f, (frame.width, frame.height))
            jsonschema.validate(rec, schema)
            a = f.attributes
            if "AgeRange" in rec:
                assert rec["AgeRange"]["Low"] < rec["AgeRange"]["High"]
            if "Gender" in rec:
                assert a.gender is not None and a.gender.calibrated
                # the calibrated probability, shown at most as 99 % (MAX_SHOWN_PROBABILITY)
                assert rec["Gender"]["Confidence"] == pytest.approx(100 * min(a.gender.probability, 0.99), abs=0.01)
            assert "Confidence" not in rec
            assert all(set(e) == {"Type"} for e in rec.get("Emotions", []))
