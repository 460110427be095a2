"""Every screen rendered offscreen (SDL dummy driver) and checked for what a visitor would see:
card geometry, texts, the banner, the mirror flip, countdowns, lessons, languages, the camera
screen, touch and keys. Frames are synthetic pictures; snapshots come from kiosk.bench.fake_snapshots."""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import itertools  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.types import SourceStatus  # noqa: E402
from kiosk.types import Frame, Snapshot  # noqa: E402
from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.ui.layout import inside, overlaps  # noqa: E402
from kiosk.ui.lessons import format_record  # noqa: E402
from kiosk.ui.rates import ACLU_FMR, fraction_for_rate, step  # noqa: E402
from kiosk.ui.threshold_lesson import threshold_for_rate  # noqa: E402
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402
from kiosk.ui.state import LESSONS  # noqa: E402
from kiosk.ui.text import FrameRecord  # noqa: E402
from kiosk.ui.theme import THEMES  # noqa: E402



def camera_image() -> np.ndarray:
    """BGR test picture: left half blue, right half red, with a grey band (a 'room')."""
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, :320] = (255, 0, 0)
    img[:, 320:] = (0, 0, 255)
    img[400:] = (90, 90, 90)
    return img


FRAME = Frame(camera_image(), 1, 0.0)


def record_stub(face, frame_size):  # noqa: ANN001, ANN201
    return {"BoundingBox": {"Width": 0.1}, "AgeRange": {"Low": int(face.attributes.age.low), "High": 40},
            "Gender": {"Value": "Female", "Confidence": 93.0}, "StubMarker": True}


def deps(**kw) -> UiDeps:  # noqa: ANN003
    values = dict(record=record_stub, fmr=syn.placeholder_fmr, watchlist_size=40,
                  watchlist_threshold=syn.WATCHLIST_THRESHOLD)
    values.update(kw)
    return UiDeps(**values)


def make_app(**settings) -> KioskApp:  # noqa: ANN003
    d = settings.pop("deps", deps())
    return KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H, **settings), d)


def show(app: KioskApp, surface: pygame.Surface, t: float, snap: Snapshot | None, frame: Frame | None = FRAME,
         status: SourceStatus = OK, settle: bool = True) -> FrameRecord:
    app.update(t, frame, status, snap)
    return app.render(surface, t, settle=settle)


def assert_cards_ok(rec: FrameRecord) -> None:
    cards = list(rec.cards.values()) + list(rec.chips.values())
    for r in cards:
        assert inside(r, (0, 0, W, H)), f"card {r} leaves the screen"
        assert rec.banner is None or not overlaps(r, rec.banner), f"card {r} covers the banner"
        for b in rec.buttons.values():
            assert not overlaps(r, b), f"card {r} covers button {b}"
    for a, b in itertools.combinations(cards, 2):
        assert not overlaps(a, b), f"cards {a} and {b} overlap"


def assert_banner(rec: FrameRecord, lang: str = "en", minutes: int = 5) -> None:
    s = load_strings(lang)
    assert rec.banner is not None and rec.banner[:3] == (0, 0, W)
    assert rec.has_text(s.get("banner.text", duration=s.duration(minutes * 60))), rec.joined()


def said(rec: FrameRecord, text: str) -> bool:
    """``text`` drawn whole, or as a card line broken after its label ("Label:" / "value")."""
    label, sep, value = text.partition(": ")
    return rec.has_text(text) or (bool(sep) and any(t.text == label + ":" for t in rec.texts) and rec.has_text(value))


def free_point(rec: FrameRecord, want_x: tuple[int, int]) -> tuple[int, int]:
    """A point on the camera image, in the given x range, not under any overlay."""
    ix, iy, iw, ih = rec.image
    covered = list(rec.cards.values()) + list(rec.chips.values()) + list(rec.buttons.values()) + list(rec.boxes.values())
    covered += [t.rect for t in rec.texts]
    for y in range(iy + 60, iy + ih // 2, 17):
        for x in range(max(ix + 5, want_x[0]), min(ix + iw - 5, want_x[1]), 13):
            if not any(r[0] - 6 <= x <= r[0] + r[2] + 6 and r[1] - 6 <= y <= r[1] + r[3] + 6 for r in covered):
                return x, y
    raise AssertionError("no free point on the image")


# --- mirror ----------------------------------------------------------------------------------------

def test_mirror_four_faces(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    snap = syn.four_faces()
    rec = show(app, screen, 10.0, snap)
    assert rec.screen == "mirror"
    assert set(rec.boxes) == {"v40", "v41", "v42", "v43"}
    assert len(rec.cards) == 4
    assert_cards_ok(rec)
    assert_banner(rec)
    for vid in (40, 41, 42, 43):
        assert rec.has_text(f"Visitor {vid:04d}")
    # The nearest visitor (largest box) gets the most detailed card.
    levels = rec.card_levels
    assert levels["v40"] == min(levels.values())
    card_texts = rec.texts_in(rec.cards["v40"])
    assert "Age: 39" in card_texts and "80% range: 29–53" in card_texts
    # Caveat markers (numbers in rings) sit on the card beside the guesses.
    assert {"1", "2", "3"} <= set(card_texts)
    assert rec.buttons.keys() >= {"language", "lessons"}


def test_mirror_flips_the_picture_and_the_boxes(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    face = syn.face_view(1, (40.0, 100.0, 140.0, 220.0), 7, syn.PERSONAS["visitor"])
    rec = show(app, screen, 10.0, syn.snapshot(1, 10.0, (face,)))
    ix, iy, iw, ih = rec.image
    assert (iw, ih) == (round(iw), round(ih)) and abs(iw / ih - 4 / 3) < 0.01  # aspect kept
    # The camera's blue left half appears on the right of the screen, red on the left.
    x, y = free_point(rec, (ix + iw // 2 + 10, ix + iw))
    assert tuple(screen.get_at((x, y)))[:3] == (0, 0, 255)
    x, y = free_point(rec, (ix, ix + iw // 2 - 10))
    assert tuple(screen.get_at((x, y)))[:3] == (255, 0, 0)
    # The face at x 40..140 of 640 is boxed at the mirrored place.
    bx, by, bw, bh = rec.boxes["v7"]
    assert bx == pytest.approx(ix + (640 - 140) * iw / 640, abs=2) and bw == pytest.approx(100 * iw / 640, abs=2)


def test_unmirrored_setting(screen) -> None:  # noqa: ANN001
    app = make_app(mirror=False, lesson_after_s=3600.0)
    face = syn.face_view(1, (40.0, 100.0, 140.0, 220.0), 7, syn.PERSONAS["visitor"])
    rec = show(app, screen, 10.0, syn.snapshot(1, 10.0, (face,)))
    ix, _, iw, _ = rec.image
    assert rec.boxes["v7"][0] == pytest.approx(ix + 40 * iw / 640, abs=2)
    x, y = free_point(rec, (ix, ix + iw // 2 - 10))
    assert tuple(screen.get_at((x, y)))[:3] == (0, 0, 255)


def test_cards_glide_with_their_faces_and_never_overlap(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    base = syn.four_faces()
    positions: dict[str, list[tuple[int, int]]] = {}
    t = 0.0
    for i in range(90):
        t += 1 / 60
        k = i // 6  # a new snapshot every sixth display frame
        shift = 160.0 * math.sin(k / 5)  # the faces walk left and right, crossing paths
        faces = tuple(replace(f, box_xyxy=(f.box_xyxy[0] + shift * (1 if j % 2 else -1) * 0.5, f.box_xyxy[1],
                                           f.box_xyxy[2] + shift * (1 if j % 2 else -1) * 0.5, f.box_xyxy[3]))
                      for j, f in enumerate(base.faces))
        snap = replace(base, faces=faces, frame_index=k, t_s=100.0 + t)
        rec = show(app, screen, t, snap, frame=Frame(FRAME.image, i // 2, t), settle=False)
        assert_cards_ok(rec)
        for key, r in rec.cards.items():
            positions.setdefault(key, []).append(r[:2])
    # Smooth: cards move in more steps than there are snapshots (they glide between them),
    # except where gliding would cross a face or another card: there they snap.
    glides = {}
    for key, pts in positions.items():
        steps = [math.dist(a, b) for a, b in zip(pts, pts[1:])]
        glides[key] = len([s for s in steps if 0 < s < 40])  # small steps: gliding, not jumping
    assert max(glides.values()) > 90 // 6, glides


def test_missing_attributes_degrade_to_estimating(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    face = syn.face_view(1, (200.0, 100.0, 320.0, 260.0), None, syn.PERSONAS["visitor"], full=False)
    face = replace(face, attributes=replace(face.attributes, age=None))
    rec = show(app, screen, 10.0, syn.snapshot(1, 10.0, (face,)))
    assert rec.has_text("Identifying…") and said(rec, "Age: estimating…")
    assert not rec.has_text("Watchlist")


# --- forgetting ------------------------------------------------------------------------------------

def test_leave_countdown_welcome_back_and_erased(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0, leave_hold_s=3.0, erased_hold_s=4.0)
    box = (250.0, 120.0, 370.0, 280.0)
    here = syn.face_view(1, box, 7, syn.PERSONAS["astronaut"], time_in_view_s=20.0)
    rec = show(app, screen, 0.0, syn.snapshot(1, 100.0, (here,)), settle=False)
    show(app, screen, 0.5, syn.snapshot(2, 100.5, (here,)), settle=False)
    assert "v7" in rec.cards
    # Leaves: the card goes with the face, and a countdown appears in the strip at the bottom
    # (never on the mirror, where it could land on someone present) ...
    gone = (syn.gone_visitor(7, 100.5, 300.0),)
    rec = show(app, screen, 1.0, syn.snapshot(3, 101.0, (), gone=gone), settle=False)
    assert rec.has_text("Visitor 0007 has left") and rec.has_text("Forgotten in 5:00")
    assert "v7" not in rec.cards and "v7" in rec.chips
    held = rec.chips["v7"]
    assert held[1] + held[3] > H * 0.8
    # ... and keeps counting down on the pipeline clock.
    for i in range(40):
        rec = show(app, screen, 59.0 + i / 40, syn.snapshot(4, 159.0, (), gone=gone), settle=False)
    assert rec.has_text("Forgotten in 4:01")
    chip = rec.chips["v7"]
    assert chip[1] + chip[3] > H * 0.8
    assert_cards_ok(rec)
    # Comes back before the end: "Welcome back", no countdown.
    back = syn.face_view(2, box, 7, syn.PERSONAS["astronaut"], time_in_view_s=21.0, visit_number=2, is_return=True,
                         track_age_s=0.5, last_visit_end_s=100.5)
    rec = show(app, screen, 61.0, syn.snapshot(5, 161.0, (back,)))
    assert rec.has_text("Welcome back!") and said(rec, "Seen before: once, 60 s ago")
    assert not rec.has_text("Forgotten in")
    # Leaves again and is forgotten by the pipeline: "erased", briefly.
    gone2 = (syn.gone_visitor(7, 161.0, 300.0),)
    show(app, screen, 62.0, syn.snapshot(6, 162.0, (), gone=gone2))
    rec = show(app, screen, 400.0, syn.snapshot(7, 500.0, ()))
    assert rec.has_text("Visitor 0007 erased") and rec.has_text("Nothing about them is left.")
    rec = show(app, screen, 405.0, syn.snapshot(8, 505.0, ()))
    assert not rec.has_text("0007") and not rec.chips


# --- attract ---------------------------------------------------------------------------------------

def test_attract_screen_with_todays_counters(screen) -> None:  # noqa: ANN001
    app = make_app(attract_after_s=5.0)
    a = syn.face_view(1, (100.0, 100.0, 200.0, 220.0), 1, syn.PERSONAS["astronaut"], time_in_view_s=30.0)
    b = syn.face_view(2, (400.0, 100.0, 500.0, 220.0), 2, syn.PERSONAS["obama"], time_in_view_s=50.0)
    show(app, screen, 0.0, syn.snapshot(1, 100.0, (a, b)))
    gone = (syn.gone_visitor(1, 100.0), syn.gone_visitor(2, 100.0))
    show(app, screen, 1.0, syn.snapshot(2, 101.0, (), gone=gone))
    rec = show(app, screen, 7.0, syn.snapshot(3, 107.0, (), gone=gone))
    assert rec.screen == "attract"
    assert rec.says("Step closer to see what a surveillance system concludes about you.")
    for text in ("This camera is watching.", "Held in memory only: no picture or face template is ever saved.",
                 "Nothing is ever sent anywhere.", "Today at this kiosk", "50%", "0:32"):
        assert rec.has_text(text), (text, rec.joined())
    # Each counter explained in one line (wrapped under its figure).
    for text in ("visitors today: different faces, no names", "median time a visitor stayed in view",
                 "share of visitors who looked at the screen"):
        assert rec.says(text), (text, rec.joined())
    assert any(t.text == "2" and t.role == "display" for t in rec.texts)
    assert_banner(rec)
    assert_cards_ok(rec)
    # The camera keeps showing, darkened, behind the invitation.
    assert rec.image is not None


def test_attract_touch_anywhere_opens_the_lessons(screen) -> None:  # noqa: ANN001
    app = make_app()
    rec = show(app, screen, 10.0, syn.snapshot(1, 10.0, ()))
    assert rec.screen == "attract"
    assert app.tap((W // 2, H // 2), 10.5) == "attract"
    rec = show(app, screen, 11.0, syn.snapshot(2, 11.0, ()))
    assert rec.screen == f"lesson:{LESSONS[0]}"


# --- lessons ---------------------------------------------------------------------------------------

def open_lesson(app: KioskApp, screen: pygame.Surface, name: str, snap: Snapshot, t: float = 10.0) -> FrameRecord:
    app.update(t, FRAME, OK, snap)
    app.state.next_lesson(t)
    while app.state.lesson != name:
        app.state.next_lesson(t)
    return show(app, screen, t, snap)


def test_threshold_lesson(screen) -> None:  # noqa: ANN001
    app = make_app()
    face = syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"])
    snap = syn.snapshot(1, 10.0, (face,))
    app.update(10.0, FRAME, OK, snap)
    app.state.next_lesson(10.0)
    app.state.set_slider(10.0, 0.0)  # the lenient end: 1 in 100 comparisons
    rec = show(app, screen, 10.0, snap)
    assert rec.screen == "lesson:threshold" and rec.panel is not None and rec.slider is not None
    thr = threshold_for_rate(syn.placeholder_fmr, 1e-2)
    assert syn.placeholder_fmr(thr) == pytest.approx(1e-2, rel=1e-6)
    for text in ("You", "Portrait 0236", "0.41", "0.29", "1 in 100 comparisons", f"score ≥ {thr:.2f}",
                 "ACLU test", "this kiosk", "lenient", "strict", "Illustrative figures, not a measurement.",
                 "searched against 40 portraits", "False matches expected for you: 0.40",
                 "535 members of Congress vs. 25,000"):
        assert rec.has_text(text), text
    assert rec.has_text("134,000")  # 1e-2 x 535 x 25,000 = 133,750, three significant digits
    assert sum(t.text == "MATCH" for t in rec.texts) == 1 + 1  # 0.41 passes 0.21: lesson and card agree
    assert rec.has_text("ACLU, 2018") and rec.has_text("publishes no false-match")
    lesson_texts = " ".join(rec.texts_in(rec.panel))  # the card's "80% range" is the age range, not a score
    assert "80%" not in lesson_texts and "99%," not in lesson_texts  # no Rekognition scale on this slider
    assert_cards_ok(rec)
    assert_banner(rec)
    # The ACLU mark: the Congress figure is 28 by construction, as in the ACLU sentence.
    app.state.set_slider(11.0, fraction_for_rate(ACLU_FMR))
    rec = show(app, screen, 11.0, snap)
    assert rec.has_text("1 in 480,000 comparisons") and rec.has_text(": 28")
    assert not any(t.text == "MATCH" for t in rec.texts)  # neither in the lesson nor on the card
    assert rec.has_text("False matches expected for you: < 0.01")


def test_threshold_lesson_without_calibration_or_watchlist(screen) -> None:  # noqa: ANN001
    app = make_app(deps=deps(fmr=None, watchlist_size=0))
    face = replace(syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"]), watchlist=())
    rec = open_lesson(app, screen, "threshold", syn.snapshot(1, 10.0, (face,)))
    assert rec.says("The false-match rate has not been measured on this kiosk yet.")
    assert rec.says("No watchlist is loaded on this kiosk.")
    assert not rec.has_text("25,000 photos:")


@pytest.mark.parametrize("page", range(3))
def test_caveats_lesson_pages(screen, page: int) -> None:  # noqa: ANN001
    app = make_app()
    snap = syn.snapshot(1, 10.0, (syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"]),))
    rec = open_lesson(app, screen, f"caveats:{page}", snap)
    titles = [("Age", "Gender"), ("Expression", "Looking and blinking"), ("Seen before", "Watchlist")][page]
    assert rec.has_text("Why these guesses are wrong")
    for title in titles:
        assert any(t.text == title and t.role == "body_bold" for t in rec.texts), title
    numbers = {str(2 * page + 1), str(2 * page + 2)}
    assert numbers <= {t.text for t in rec.texts if t.role == "small_bold"}
    assert rec.has_text("Sources:")
    # At 1280x720 the caveats fit at body size (the small fallback is for narrower screens).
    assert any(t.role == "body" and t.rect[0] >= rec.panel[0] for t in rec.texts)
    if page == 0:
        assert rec.has_text("34.7%")
    if page == 2:
        assert rec.has_text("ACLU")


def test_record_lesson_uses_the_injected_record(screen) -> None:  # noqa: ANN001
    app = make_app()
    snap = syn.snapshot(1, 10.0, (syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"]),))
    rec = open_lesson(app, screen, "record", snap)
    assert rec.screen == "lesson:record"
    assert rec.has_text("Your record") and rec.has_text("Visitor 0003")
    assert rec.has_text('"StubMarker": true') and rec.has_text('"AgeRange": {"Low": 50, "High": 40}')
    app = make_app(deps=deps(record=None))
    rec = open_lesson(app, screen, "record", snap)
    assert rec.says("Step in front of the camera")


def test_lessons_with_nobody_in_view(screen) -> None:  # noqa: ANN001
    app = make_app()
    rec = open_lesson(app, screen, "threshold", syn.snapshot(1, 10.0, ()))
    assert rec.says("Step closer to be searched against them.")
    assert rec.has_text("1 in 100 comparisons") and rec.has_text("535 members of Congress")  # the rates, still
    rec = open_lesson(app, screen, "record", syn.snapshot(2, 10.0, ()))
    assert rec.says("Step in front of the camera to see the record")


def test_record_json_is_compact_and_valid() -> None:
    record = {"BoundingBox": {"Width": 0.1, "Height": 0.2, "Left": 0.3, "Top": 0.4},
              "Emotions": [{"Type": "HAPPY", "Confidence": 71.0}, {"Type": "CALM", "Confidence": 20.0}],
              "Confidence": 92.0}
    lines = format_record(record, 40)
    assert json.loads("\n".join(lines)) == record
    assert all(len(line) <= 40 for line in lines)
    assert format_record(record, 400) == [json.dumps(record, separators=(", ", ": "))]


# --- languages, themes, privacy --------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_each_language_on_every_screen(screen, lang: str) -> None:  # noqa: ANN001
    s = load_strings(lang)
    snap = syn.four_faces()
    app = make_app(language=lang, lesson_after_s=3600.0)
    rec = show(app, screen, 10.0, snap)
    assert_banner(rec, lang)
    assert rec.has_text(s.get("card.visitor", id="0040"))
    assert rec.has_text(s.get("buttons.lessons"))
    assert_cards_ok(rec)
    for name in LESSONS:
        rec = open_lesson(app, screen, name, snap)
        assert_banner(rec, lang)
        assert rec.says(s.get(f"lesson.{name.split(':')[0]}.title"))
        if name == "threshold":  # the whole explanation and the ACLU example fit in every language
            assert rec.says(s.get("lesson.threshold.intro", n="40")) and rec.says(s.get("lesson.threshold.aclu"))
            assert rec.says(s.get("lesson.threshold.aws"))
        if name.startswith("caveats"):  # at body size, not the small fallback
            body = [t for t in rec.texts if t.role == "body" and t.rect[0] >= rec.panel[0]]
            assert len(body) >= 8
    app = make_app(language=lang)
    rec = show(app, screen, 10.0, syn.snapshot(1, 10.0, ()))
    assert rec.says(s.get("attract.title"))
    if lang != "en":
        english = load_strings("en")
        assert not rec.says(english.get("attract.invite")) and not rec.has_text("Visitor")


def test_language_button_and_key(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    snap = syn.four_faces()
    rec = show(app, screen, 10.0, snap)
    assert rec.texts_in(rec.buttons["language"]) == ["Deutsch"]  # the next language, in itself
    x, y, w, h = rec.buttons["language"]
    assert app.tap((x + w // 2, y + h // 2), 10.1) == "language"
    rec = show(app, screen, 10.2, snap)
    assert app.state.language == "de" and rec.has_text("Person 0040") and rec.has_text("Español")
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_l), 10.3)
    assert app.state.language == "es"


def test_keys_and_touch_drive_lessons_and_slider(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    snap = syn.four_faces()
    rec = show(app, screen, 10.0, snap)
    x, y, w, h = rec.buttons["lessons"]
    assert app.tap((x + w // 2, y + h // 2), 10.0) == "lessons"
    rec = show(app, screen, 10.1, snap)
    assert rec.screen == "lesson:threshold" and {"next", "previous", "close"} <= rec.buttons.keys()
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP), 10.2)
    first = app.state.slider_value(10.2)
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_UP), 10.3)
    assert app.state.slider_value(10.3) == step(first, 1) > first  # one stop stricter
    sx, sy, sw, sh = rec.slider
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONDOWN, button=1, pos=(sx + sw // 4, sy + sh // 2)), 10.4)
    assert app.state.slider_value(10.4) == pytest.approx(0.25, abs=0.01)  # the 1-in-1,000 stop
    app.handle_event(pygame.event.Event(pygame.MOUSEMOTION, pos=(sx + sw * 3 // 4, sy + sh // 2), rel=(1, 0), buttons=(1, 0, 0)), 10.5)
    assert app.state.slider_value(10.5) == pytest.approx(0.75, abs=0.01)  # 1 in 100,000
    app.handle_event(pygame.event.Event(pygame.MOUSEBUTTONUP, button=1, pos=(0, 0)), 10.6)
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_RIGHT), 10.7)
    assert app.state.lesson == LESSONS[1]
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_LEFT), 10.8)
    assert app.state.lesson == LESSONS[0]
    rec = show(app, screen, 10.9, snap)
    x, y, w, h = rec.buttons["close"]
    app.tap((x + 2, y + h // 2), 11.0)
    assert show(app, screen, 11.1, snap).screen == "mirror"
    # Operator keys.
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_F1), 11.2)
    rec = show(app, screen, 11.3, snap)
    assert rec.debug is not None and rec.has_text("fps") and rec.has_text("dropped")
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_F2), 11.4)
    assert app.state.mode == "lesson"
    assert not app.quit_requested
    app.handle_event(pygame.event.Event(pygame.KEYDOWN, key=pygame.K_ESCAPE), 11.5)
    assert app.quit_requested


def test_high_contrast_theme_has_opaque_panels(screen) -> None:  # noqa: ANN001
    face = syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"])
    snap = syn.snapshot(1, 10.0, (face,))
    for theme, opaque in (("high_contrast", True), ("default", False)):
        app = make_app(theme=theme, lesson_after_s=3600.0)
        rec = show(app, screen, 10.0, snap)
        x, y, w, h = rec.cards["v3"]
        # A point inside the card below all its text: the panel colour, or the picture through it.
        texts = rec.texts_in(rec.cards["v3"])
        assert texts
        px = tuple(screen.get_at((x + w - 4, y + h // 2 + 3)))[:3]
        panel = THEMES[theme].panel[:3]
        assert (px == panel) is opaque, (theme, px, panel)


def test_blur_faces_pixelates_the_face_but_keeps_the_analysis(screen) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    noisy = Frame(rng.integers(0, 255, (480, 640, 3), dtype=np.uint8), 5, 0.0)
    face = syn.face_view(1, (260.0, 150.0, 380.0, 300.0), 3, syn.PERSONAS["biden"])
    snap = syn.snapshot(1, 10.0, (face,))
    colours = {}
    for blur in (False, True):
        app = make_app(blur_faces=blur, lesson_after_s=3600.0)
        rec = show(app, screen, 10.0, snap, frame=noisy)
        bx, by, bw, bh = rec.boxes["v3"]
        inner = pygame.surfarray.array3d(screen)[bx + 8:bx + bw - 8, by + 8:by + bh - 8].reshape(-1, 3)
        colours[blur] = len(np.unique(inner, axis=0))
        assert said(rec, "80% range: 50–76")  # the guesses are still shown
    assert colours[True] < 60 < colours[False]


def test_camera_unavailable_and_starting_show_attract_with_a_note(screen, caplog) -> None:  # noqa: ANN001
    app = make_app()
    starting = SourceStatus(ok=False, message="Waiting for the first frame…", since_s=0.0, reconnects=0)
    rec = show(app, screen, 1.0, None, frame=None, status=starting)
    assert rec.screen == "attract" and rec.has_text("The camera is starting…")
    assert_banner(rec)
    show(app, screen, 2.0, syn.snapshot(1, 2.0, ()))
    lost = SourceStatus(ok=False, message="camera:0 delivered no frame for 2.0 s", since_s=20.0, reconnects=3)
    rec = show(app, screen, 62.0, None, frame=FRAME, status=lost)
    assert rec.screen == "attract" and rec.image is None  # no picture, not even the last one
    assert rec.has_text("Mirror paused: the camera is not available right now.")
    assert not rec.has_text("camera:0 delivered")  # staff details stay in the log and F1
    assert "camera:0 delivered no frame" in caplog.text
    assert_banner(rec)
    assert "language" in rec.buttons
    # Staff: F1 shows the diagnosis, wrapped within the screen.
    app.state.toggle_debug()
    rec = show(app, screen, 62.5, None, frame=FRAME, status=lost)
    assert rec.has_text("DOWN for 42 s, attempt 3") or rec.says("DOWN for 42 s, attempt 3")
    assert rec.debug is not None and rec.debug[0] + rec.debug[2] <= W
    app.state.toggle_debug()
    # Every lesson opens, with the note beside it.
    for lesson in LESSONS:
        app.tap((W // 2, H // 2), 63.0) if app.state.mode == "attract" else app.state.next_lesson(63.0)
        rec = show(app, screen, 63.0, None, frame=FRAME, status=lost)
        assert rec.screen.startswith("lesson:"), rec.screen
        assert rec.says("Mirror paused: the camera is not available right now.")
    rec = show(app, screen, 64.0, syn.snapshot(2, 64.0, ()), status=OK)
    assert not rec.has_text("Mirror paused")


def test_camera_note_in_german(screen) -> None:  # noqa: ANN001
    app = make_app(language="de")
    lost = SourceStatus(ok=False, message="x", since_s=0.0, reconnects=1)
    show(app, screen, 1.0, None, frame=FRAME, status=OK)
    rec = show(app, screen, 30.0, None, frame=FRAME, status=lost)
    assert rec.screen == "attract" and rec.says("Spiegel pausiert: Die Kamera ist gerade nicht verfügbar.")


def test_text_is_cached_between_frames(screen) -> None:  # noqa: ANN001
    app = make_app(lesson_after_s=3600.0)
    snap = syn.four_faces()
    show(app, screen, 10.0, snap)
    before = app.text.renders
    rec = show(app, screen, 10.0, snap)
    # Four cards' worth of text (some step down to compact cards) drawn without a new render.
    assert app.text.renders == before and len(rec.texts) > 15


def test_landmarks_and_mesh_are_drawn_when_enabled(screen) -> None:  # noqa: ANN001
    plain = syn.face_view(1, (100.0, 100.0, 200.0, 220.0), 1, syn.PERSONAS["visitor"])
    meshed = syn.face_view(2, (400.0, 100.0, 500.0, 220.0), 2, syn.PERSONAS["obama"])
    mesh = np.array([(410.0 + 4 * i, 150.0) for i in range(20)], np.float32)
    meshed = replace(meshed, attributes=replace(meshed.attributes, mesh_px=mesh))
    snap = syn.snapshot(1, 10.0, (plain, meshed))
    accent = THEMES["default"].accent
    for enabled in (False, True):
        app = make_app(show_landmarks=enabled, lesson_after_s=3600.0)
        rec = show(app, screen, 10.0, snap)
        ix, iy, iw, ih = rec.image
        lx, ly = plain.landmarks_px[2]  # nose tip, mirrored
        nose = (round(ix + (640 - lx) * iw / 640), round(iy + ly * ih / 480))
        mx, my = mesh[5]
        point = (round(ix + (640 - mx) * iw / 640), round(iy + my * ih / 480))
        assert not any(r[0] <= p[0] < r[0] + r[2] and r[1] <= p[1] < r[1] + r[3]
                       for r in rec.cards.values() for p in (nose, point)), "a card covers the test points"
        assert (tuple(screen.get_at(nose))[:3] == accent) is enabled
        assert (tuple(screen.get_at(point))[:3] == accent) is enabled


def test_debug_overlay_lists_every_stage(screen) -> None:  # noqa: ANN001
    app = make_app(debug_overlay=True, lesson_after_s=3600.0)
    rec = show(app, screen, 10.0, syn.four_faces())
    assert rec.debug is not None
    for word in ("capture", "inference", "ui", "draw", "detect", "track", "embed", "total", "dropped"):
        assert rec.has_text(word), word
