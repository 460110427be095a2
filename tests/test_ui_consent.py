"""Consent ("Analyse me", privacy.consent: required), resizing, and the real collaborators of the
screen (watchlist size, threshold, portrait thumbnails, measured accuracy), rendered offscreen."""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import shutil  # noqa: E402
from dataclasses import replace  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.config import config_from_mapping  # noqa: E402
from kiosk.types import Frame, Snapshot, WatchlistMatch  # noqa: E402
from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.caveats import load_measured  # noqa: E402
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.ui.layout import inside, overlaps  # noqa: E402
from kiosk.ui.portraits import PortraitThumbnails  # noqa: E402
from kiosk.config import PrivacyConfig, UiConfig  # noqa: E402
from kiosk.ui.build import build_deps  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402
from kiosk.ui.text import FrameRecord  # noqa: E402
from kiosk.track.watchlist import Watchlist  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
DEMO_PHOTOS = REPO / "assets" / "demo" / "photos"


def camera_image() -> np.ndarray:
    img = np.zeros((480, 640, 3), np.uint8)
    img[:, :320] = (255, 0, 0)
    img[:, 320:] = (0, 0, 255)
    return img


FRAME = Frame(camera_image(), 1, 0.0)


def two_faces(consented: tuple[bool, bool]) -> Snapshot:
    a = syn.face_view(1, (100.0, 120.0, 200.0, 240.0), 1, syn.PERSONAS["astronaut"], time_in_view_s=20.0)
    b = syn.face_view(2, (420.0, 110.0, 520.0, 230.0), 2, syn.PERSONAS["obama"], time_in_view_s=30.0)
    faces = tuple(f if ok else syn.anonymous(f) for f, ok in zip((a, b), consented))
    return syn.snapshot(1, 10.0, faces)


def make_app(calls: list[int] | None = None, size: tuple[int, int] = (W, H), consent_required: bool = True,
             **settings: object) -> KioskApp:
    values = {"fullscreen": False, "width": size[0], "height": size[1], "lesson_after_s": 3600.0, "arc": False,
              **settings}
    on_consent = (lambda track: calls.append(track)) if calls is not None else None
    deps = UiDeps(watchlist_size=40, watchlist_threshold=syn.WATCHLIST_THRESHOLD)
    privacy = PrivacyConfig(consent="required" if consent_required else "implied")
    return KioskApp(size, UiConfig(**values), deps, privacy=privacy, on_consent=on_consent)


def show(app: KioskApp, surface: pygame.Surface, t: float, snap: Snapshot | None) -> FrameRecord:
    app.update(t, FRAME, OK, snap)
    return app.render(surface, t, settle=True)


def centre(rect: tuple[int, int, int, int]) -> tuple[int, int]:
    return rect[0] + rect[2] // 2, rect[1] + rect[3] // 2


def key(k: int) -> pygame.event.Event:
    return pygame.event.Event(pygame.KEYDOWN, key=k, mod=0, unicode="", scancode=0)


# --- consent ---------------------------------------------------------------------------------------

def test_faces_without_consent_get_only_an_anonymous_box_and_the_button(screen) -> None:  # noqa: ANN001
    calls: list[int] = []
    app = make_app(calls)
    rec = show(app, screen, 1.0, two_faces((False, False)))
    assert rec.screen == "mirror"
    assert not rec.cards and not rec.chips  # no dossier card, no name tag, nothing remembered
    assert len(rec.boxes) == 2
    s = load_strings("en")
    for absent in ("Visitor", "Identifying", "Age", "Gender", "Expression", "Portrait 0", "Seen before", "MATCH"):
        assert not rec.has_text(absent), (absent, rec.joined())
    button = rec.buttons["consent"]
    assert rec.texts_in(button) == ["Analyse me"]
    assert button[3] >= H / 9 - 1  # larger than the other touch targets (1/13 of the height)
    assert rec.says("Touch to let the system analyse you. Nothing about you is computed until you do; "
                    "consent ends when you leave.")
    # The button and its explanation stay clear of the other buttons and inside the screen.
    assert inside(button, (0, 0, W, H))
    for name, other in rec.buttons.items():
        if name != "consent":
            assert not overlaps(button, other), name
    # The banner promises it.
    assert rec.says(s.get("banner.text_consent", duration=s.duration(300), button="Analyse me")), rec.joined()
    assert calls == []


def test_touching_the_button_or_pressing_a_asks_for_consent(screen) -> None:  # noqa: ANN001
    calls: list[int] = []
    app = make_app(calls)
    snap = two_faces((False, False))
    rec = show(app, screen, 1.0, snap)
    assert app.tap(centre(rec.buttons["consent"]), 1.1) == "consent"
    assert len(calls) == 1 and calls[0] in (1, 2)  # one person, never both
    rec = show(app, screen, 1.2, snap)
    assert rec.texts_in(rec.buttons["consent"]) == ["One moment…"]  # feedback until the faces are analysed
    app.handle_event(key(pygame.K_a), 1.3)
    assert len(calls) == 2
    # The faces consented: cards as usual, the button is gone, A does nothing.
    rec = show(app, screen, 2.0, two_faces((True, True)))
    assert len(rec.cards) == 2 and "consent" not in rec.buttons
    app.handle_event(key(pygame.K_a), 2.1)
    assert len(calls) == 2


def test_the_button_comes_back_when_consent_did_not_take(screen) -> None:  # noqa: ANN001
    calls: list[int] = []
    app = make_app(calls)
    snap = two_faces((False, False))
    rec = show(app, screen, 1.0, snap)
    app.tap(centre(rec.buttons["consent"]), 1.0)
    rec = show(app, screen, 10.0, snap)  # still anonymous long after the touch
    assert rec.texts_in(rec.buttons["consent"]) == ["Analyse me"]


def test_consented_faces_have_cards_and_no_button(screen) -> None:  # noqa: ANN001
    calls: list[int] = []
    app = make_app(calls)
    rec = show(app, screen, 1.0, two_faces((True, True)))
    assert len(rec.cards) == 2 and "consent" not in rec.buttons
    assert rec.has_text("Visitor 0001") and rec.has_text("Visitor 0002")
    assert not rec.says("Touch to let the system analyse you.")


def test_mixed_faces_card_only_for_the_consented_one_and_clear_of_the_panel(screen) -> None:  # noqa: ANN001
    app = make_app([])
    rec = show(app, screen, 1.0, two_faces((True, False)))
    assert list(rec.cards) == ["v1"] and rec.has_text("Visitor 0001") and not rec.has_text("Visitor 0002")
    assert "consent" in rec.buttons
    panel_texts = [t.rect for t in rec.texts if t.text.startswith("Touch to let")]
    assert panel_texts
    for card in rec.cards.values():
        assert not overlaps(card, rec.buttons["consent"])
        assert not any(overlaps(card, r) for r in panel_texts)


def test_the_a_key_without_a_waiting_face_grants_nothing(screen) -> None:  # noqa: ANN001
    calls: list[int] = []
    app = make_app(calls)
    show(app, screen, 1.0, syn.snapshot(1, 1.0, ()))
    app.handle_event(key(pygame.K_a), 1.1)
    assert calls == []
    # Without a callback (no pipeline) the button is drawn and a touch is harmless.
    app = make_app(None)
    rec = show(app, screen, 1.0, two_faces((False, False)))
    assert app.tap(centre(rec.buttons["consent"]), 1.1) == "consent"


def test_lessons_say_nothing_about_a_face_without_consent(screen) -> None:  # noqa: ANN001
    app = make_app([])
    snap = two_faces((False, False))
    app.update(1.0, FRAME, OK, snap)
    app.state.next_lesson(1.0)
    rec = app.render(screen, 1.0, settle=True)
    assert rec.screen == "lesson:threshold"
    assert rec.says("Step closer to be searched against them.")
    assert not rec.has_text("Portrait 0") and not rec.has_text("MATCH")
    assert "consent" in rec.buttons and not rec.cards
    while app.state.lesson != "record":
        app.state.next_lesson(1.0)
    rec = app.render(screen, 1.0, settle=True)
    assert rec.screen == "lesson:record" and not rec.has_text("AgeRange")


def test_consent_in_german_and_spanish_and_on_the_attract_screen(screen) -> None:  # noqa: ANN001
    for lang, label in (("de", "Analysiere mich"), ("es", "Analízame")):
        app = make_app([], language=lang)
        rec = show(app, screen, 1.0, two_faces((False, True)))
        s = load_strings(lang)
        assert rec.texts_in(rec.buttons["consent"]) == [label]
        assert rec.says(s.get("consent.explain"))
        assert rec.says(s.get("banner.text_consent", duration=s.duration(300), button=label)), rec.joined()
    app = make_app([], attract_after_s=1.0)
    rec = show(app, screen, 5.0, syn.snapshot(1, 5.0, ()))
    assert rec.screen == "attract"
    assert rec.says("Nothing about you is analysed until you touch “Analyse me”.")
    # Without required consent, neither the banner nor the attract screen mentions it.
    app = make_app([], attract_after_s=1.0, consent_required=False)
    rec = show(app, screen, 5.0, syn.snapshot(1, 5.0, ()))
    assert not rec.has_text("Analyse me")


@pytest.mark.parametrize("size", [(1280, 720), (1024, 768), (800, 600)])
def test_the_consent_banner_is_never_cut(screen, size) -> None:  # noqa: ANN001
    surface = pygame.Surface(size)
    for lang in ("en", "de", "es"):
        app = make_app([], size=size, language=lang)
        rec = show(app, surface, 1.0, two_faces((False, False)))
        s = load_strings(lang)
        text = s.get("banner.text_consent", duration=s.duration(300), button=s.get("consent.button"))
        assert rec.says(text), (size, lang, [t.text for t in rec.texts if t.rect[1] < rec.banner[3]])
        assert all(inside(t.rect, rec.banner) for t in rec.texts if t.rect[1] < rec.banner[3])
        assert inside(rec.buttons["consent"], (0, 0, *size))


def test_the_screen_follows_the_configs_consent_rule(screen) -> None:  # noqa: ANN001
    """The screen reads consent from the config's own privacy section: the banner says so."""
    s = load_strings("en")
    required = s.get("banner.text_consent", duration=s.duration(120), button=s.get("consent.button"))
    implied = s.get("banner.text", duration=s.duration(120))
    for consent, banner in (("required", required), ("implied", implied)):
        cfg = config_from_mapping({"privacy": {"consent": consent, "forget_after_s": 120}, "ui": {"arc": False}})
        app = KioskApp((W, H), cfg.ui, UiDeps(), privacy=cfg.privacy)
        rec = show(app, screen, 1.0, None)
        assert rec.says(banner), (consent, rec.joined())
        assert rec.has_text("Analyse me") == (consent == "required")


# --- resizing --------------------------------------------------------------------------------------

def test_resize_lays_the_screen_out_anew_and_keeps_the_state(screen) -> None:  # noqa: ANN001
    app = make_app([], consent_required=False)
    snap = two_faces((True, True))
    show(app, screen, 1.0, snap)
    app.state.next_language(1.0)
    assert app.resize((800, 450)) and not app.resize((800, 450))
    small = pygame.Surface((800, 450))
    rec = show(app, small, 2.0, snap)
    assert app.state.language == "de" and rec.has_text("Person 0001")
    assert rec.banner == (0, 0, 800, rec.banner[3])
    for r in list(rec.cards.values()) + list(rec.buttons.values()):
        assert inside(r, (0, 0, 800, 450)), r
    fresh = KioskApp((800, 450), app.ui, app.deps, privacy=app.privacy)
    assert fresh.scale == app.scale


# --- real collaborators ----------------------------------------------------------------------------

@pytest.fixture()
def portrait_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "portraits"
    folder.mkdir()
    shutil.copy(DEMO_PHOTOS / "obama.jpg", folder / "Barack_Obama.jpg")
    shutil.copy(DEMO_PHOTOS / "biden.jpg", folder / "Joe_Biden.jpg")
    return folder


def test_portrait_thumbnails_are_read_once_small_and_bounded(portrait_folder: Path) -> None:
    thumbs = PortraitThumbnails(portrait_folder)
    a = thumbs("Barack Obama")
    assert a is not None and a.shape == (96, 96, 3) and a.dtype == np.uint8 and a.std() > 10
    assert thumbs("Barack Obama") is a and thumbs.reads == 1  # read at most once per name
    assert thumbs("Nobody Known") is None and thumbs.reads == 1  # not in the folder: nothing read
    bounded = PortraitThumbnails(portrait_folder, size_px=48, max_entries=1)
    assert bounded("Barack Obama").shape == (48, 48, 3)
    assert bounded("Joe Biden") is not None and len(bounded) == 1
    missing = PortraitThumbnails(portrait_folder.parent / "no_such_folder")
    assert missing("Barack Obama") is None  # a broken folder gives silhouettes, not an error


def test_build_deps_with_the_analyzers_watchlist(portrait_folder: Path) -> None:
    cfg = config_from_mapping({"watchlist": {"enabled": True, "dir": str(portrait_folder), "threshold": 0.41}})
    rng = np.random.default_rng(0)
    watchlist = Watchlist(["Barack Obama", "Joe Biden"], rng.normal(size=(2, 128)).astype(np.float32))
    deps = build_deps(cfg, watchlist)
    assert deps.watchlist_size == 2 and deps.watchlist_threshold == pytest.approx(0.41)
    assert deps.portrait is not None and deps.portrait("Joe Biden").shape == (96, 96, 3)
    assert set(deps.measured) >= {"age_mae_years", "gender_accuracy_pct", "lfw_accuracy_pct"}
    bare = build_deps(cfg, None)
    assert bare.watchlist_size == 0 and bare.watchlist_threshold is None and bare.portrait is None
    watchlist.close()


def test_threshold_lesson_shows_the_portraits_of_the_matches(screen, portrait_folder: Path) -> None:  # noqa: ANN001
    asked: list[str] = []
    thumbs = PortraitThumbnails(portrait_folder)

    def portrait(name: str):  # noqa: ANN202
        asked.append(name)
        return thumbs(name)

    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, lesson_after_s=3600.0),
                   UiDeps(portrait=portrait, watchlist_size=2, watchlist_threshold=0.363))
    face = syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"])
    face = replace(face, watchlist=(WatchlistMatch("Joe Biden", 0.41, True),
                                    WatchlistMatch("Barack Obama", 0.22, False)))
    snap = syn.snapshot(1, 10.0, (face,))
    app.update(10.0, FRAME, OK, snap)
    app.state.next_lesson(10.0)
    rec = app.render(screen, 10.0, settle=True)
    assert rec.screen == "lesson:threshold" and rec.has_text("Joe Biden") and rec.has_text("Barack Obama")
    assert asked == ["Joe Biden", "Barack Obama"]
    app.render(screen, 10.1, settle=True)
    assert asked == ["Joe Biden", "Barack Obama"] and thumbs.reads == 2  # cached, not read per frame


def test_caveats_lesson_shows_the_kiosks_measured_accuracy(screen) -> None:  # noqa: ANN001
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, lesson_after_s=3600.0), UiDeps(measured=load_measured()))
    snap = syn.snapshot(1, 10.0, (syn.face_view(1, (200.0, 100.0, 330.0, 260.0), 3, syn.PERSONAS["biden"]),))
    app.update(10.0, FRAME, OK, snap)
    while app.state.lesson != "caveats:0":
        app.state.next_lesson(10.0)
    # A page whose two caveats do not fit at body size shows them in turn (CAVEAT_TURN_S).
    from kiosk.ui.lessons import CAVEAT_TURN_S

    recs = [app.render(screen, 10.0 + i * CAVEAT_TURN_S, settle=True) for i in range(2)]

    def says(text: str) -> bool:
        return any(r.says(text) for r in recs)

    assert says("This kiosk's average error: 7.9 years."), [r.joined() for r in recs]
    assert says("contained the true age for 84% of test faces")
    assert says("This kiosk's accuracy on a labelled test set: 86.0%.")
    assert says("Adults: 91.0%; children under 13: only 72%; faces labelled Asian: 67.6%.")
    assert not any(r.has_text("see docs/ACCURACY.md") for r in recs)
    while app.state.lesson != "caveats:2":
        app.state.next_lesson(10.0)
    rec = app.render(screen, 10.0, settle=True)
    assert rec.says("99.39% correct at its fixed threshold.")


def test_todays_counters_leave_out_faces_without_consent() -> None:
    from kiosk.counters.daily import Aggregates

    agg = Aggregates()
    agg.observe(two_faces((False, False)))
    agg.observe(syn.snapshot(2, 11.0, ()))
    assert agg.today().visitors == 0 and agg.today().median_dwell_s is None
    agg.observe(syn.snapshot(3, 12.0, two_faces((True, False)).faces))
    agg.observe(syn.snapshot(4, 400.0, ()))
    assert agg.today().visitors == 1
    assert agg.to_dict()["days"][-1]["dwell_histogram"] == [0, 0, 1, 0, 0, 0, 0]  # 20 s, the consented face


# --- consent per person ----------------------------------------------------------------------------

def test_consent_is_per_person_touch_nearest_own_box_or_largest_by_key(screen) -> None:  # noqa: ANN001
    calls: list[int] = []
    app = make_app(calls)
    snap = two_faces((False, False))
    rec = show(app, screen, 1.0, snap)
    boxes = {k: r for k, r in rec.boxes.items()}
    assert set(boxes) == {"a1", "a2"}
    # A touch on the button from the side of face 2 (the picture is mirrored: check the boxes).
    bx, by, bw, bh = rec.buttons["consent"]
    near2 = (bx + bw - 2, by + 2) if boxes["a2"][0] > boxes["a1"][0] else (bx + 2, by + 2)
    assert app.tap(near2, 1.1) == "consent"
    assert calls == [2]
    # Face 1 touches their own box.
    show(app, screen, 5.0, snap)
    assert app.tap(centre(boxes["a1"]), 5.0) == "consent"
    assert calls == [2, 1]
    # The A key: the largest waiting face (face 2's box is as wide and as tall: ties go to the lower track).
    big = two_faces((False, False))
    big = replace(big, faces=(big.faces[0], replace(big.faces[1], box_xyxy=(400.0, 90.0, 560.0, 270.0))))
    show(app, screen, 9.0, big)
    app.handle_event(key(pygame.K_a), 9.0)
    assert calls == [2, 1, 2]


def test_one_touch_analyses_one_person_of_two_through_the_real_analyzer(screen) -> None:  # noqa: ANN001
    """Two faces in view, consent required: one touch of "Analyse me" near one visitor; from
    then on that visitor is analysed (embedded, identified, estimated) and the other is not."""
    from test_analyzer import BASE, FPS, IMAGE, Script  # the scripted detector and embedder

    from kiosk.analysis.analyzer import FaceAnalyzer

    script = Script({"alice": [(0.0, 10.0, 60.0)], "bob": [(0.0, 10.0, 460.0)]})
    cfg = config_from_mapping({**BASE, "privacy": {"forget_after_s": 30.0, "consent": "required"}})
    analyzer = FaceAnalyzer(cfg, script.detect, script.embed)
    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, lesson_after_s=3600.0, arc=False), UiDeps(),
                   privacy=PrivacyConfig(consent="required"), on_consent=analyzer.request_consent)

    def step(i: int) -> tuple[Snapshot, FrameRecord]:
        script.t_s = i / FPS
        snap = analyzer.process(Frame(IMAGE, i, script.t_s))
        app.update(script.t_s, Frame(IMAGE, i, script.t_s), OK, snap)
        return snap, app.render(screen, script.t_s, settle=True)

    for i in range(10):
        snap, rec = step(i)
    alice = next(f.track_id for f in snap.faces if f.box_xyxy[0] < 300)
    bx, by, bw, bh = rec.buttons["consent"]
    # Alice is at x 60-160 of the camera: mirrored, on the right of the screen.
    assert rec.boxes[f"a{alice}"][0] > W // 3
    assert app.tap((bx + bw - 3, by + bh // 2), script.t_s) == "consent"
    for i in range(10, 40):
        snap, rec = step(i)
    by_track = {f.track_id: f for f in snap.faces}
    assert by_track[alice].consented and by_track[alice].visitor_id is not None
    bob = next(f for f in snap.faces if f.track_id != alice)
    assert not bob.consented and bob.visitor_id is None and bob.attributes.age is None
    assert len(analyzer.gallery) == 1  # only Alice is remembered
    assert f"a{bob.track_id}" in rec.boxes and "consent" in rec.buttons  # Bob can still decide
