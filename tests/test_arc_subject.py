"""The arc stays with its visitor when the tracker restarts on the same face (a missed detection,
a cut in a video): the person still standing there is not told "You left"."""
from __future__ import annotations

from uikit import screen  # noqa: F401  (first: sets SDL's dummy drivers)

import pytest  # noqa: E402

from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.ui.arc import GONE_S, Arc  # noqa: E402

BOX = (380.0, 120.0, 470.0, 230.0)
ELSEWHERE = (60.0, 100.0, 150.0, 210.0)


def run(arc: Arc, t0: float, t1: float, face) -> float:  # noqa: ANN001
    t = t0
    while t < t1:
        t = round(t + 0.1, 6)
        arc.update(t, [face] if face is not None else [], face)
    return t


def test_a_new_track_on_the_same_face_is_the_same_visitor() -> None:
    arc = Arc()
    first = syn.face_view(1, BOX, None, syn.PERSONAS["obama"])  # not identified yet
    t = run(arc, 0.0, 3.0, first)
    assert arc.step == "dossier" and arc.subject_track == 1
    again = syn.face_view(2, (384.0, 124.0, 472.0, 232.0), 7, syn.PERSONAS["obama"])  # new track, now identified
    t = run(arc, t, t + 3 * GONE_S, again)
    assert arc.step != "forgetting" and arc.left_s is None
    assert arc.subject_track == 2 and arc.subject_visitor == 7


def test_someone_else_elsewhere_is_not_the_visitor() -> None:
    arc = Arc()
    t = run(arc, 0.0, 3.0, syn.face_view(1, BOX, None, syn.PERSONAS["obama"]))
    run(arc, t, t + 3 * GONE_S, syn.face_view(2, ELSEWHERE, None, syn.PERSONAS["biden"]))
    assert arc.step == "forgetting"


def test_a_different_known_visitor_in_the_same_place_is_not_the_visitor() -> None:
    arc = Arc()
    t = run(arc, 0.0, 3.0, syn.face_view(1, BOX, 3, syn.PERSONAS["obama"]))
    run(arc, t, t + 3 * GONE_S, syn.face_view(2, BOX, 4, syn.PERSONAS["biden"]))
    assert arc.step == "forgetting"


def test_the_take_home_code_needs_its_visitor_in_the_newest_picture(screen) -> None:  # noqa: ANN001
    """During the grace after a visitor's face is last seen (a missed detection is not leaving),
    a tap on "Take my record" gives nothing: whoever stands there now may be someone else."""
    import numpy as np

    from uikit import OK, H, W
    from kiosk.types import Frame
    from kiosk.ui.app import KioskApp
    from kiosk.config import UiConfig
    from kiosk.ui.deps import UiDeps

    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, arc=True), UiDeps())
    image = np.full((480, 640, 3), 90, np.uint8)
    f = syn.face_view(1, BOX, 42, syn.PERSONAS["obama"])
    t, i = 0.0, 0
    for faces in [(f,)] * 20 + [()] * 5:  # 2 s in view, then 0.5 s gone (within GONE_S)
        t, i = round(t + 0.1, 6), i + 1
        app.update(t, Frame(image, i, t), OK, syn.snapshot(i, t, faces))
    assert app.arc.present(t)  # still the arc's visitor for the grace period...
    rec = app.render(screen, t, settle=True)
    assert "arc_qr" not in rec.buttons
    assert not app.request_takehome(t)  # ...but no code for an empty picture
    app.update(t + 0.1, Frame(image, i + 1, t + 0.1), OK, syn.snapshot(i + 1, t + 0.1, (f,)))
    assert app.request_takehome(t + 0.1)  # back in view: theirs again


@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_the_forgetting_is_not_said_to_the_person_now_in_front(screen, lang: str) -> None:  # noqa: ANN001
    """Visitor 42 leaves while someone else stands there: "You left" would be said to the wrong
    person, so the screen names who left; with nobody in view it speaks to "you"."""
    import numpy as np

    from uikit import OK, H, W
    from kiosk.types import Frame
    from kiosk.ui.app import KioskApp
    from kiosk.ui.i18n import load_strings
    from kiosk.config import UiConfig
    from kiosk.ui.deps import UiDeps

    s = load_strings(lang)
    image = np.full((480, 640, 3), 90, np.uint8)
    for someone_else in (True, False):
        app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, arc=True, language=lang), UiDeps())
        first = syn.face_view(1, BOX, 42, syn.PERSONAS["obama"])
        other = syn.face_view(2, ELSEWHERE, 43, syn.PERSONAS["biden"])
        t, i = 0.0, 0
        for faces in [(first, other)] * 20 + [(other,) if someone_else else ()] * 25:
            t, i = round(t + 0.1, 6), i + 1
            app.update(t, Frame(image, i, t), OK, syn.snapshot(i, t, faces))
        assert app.arc.step == "forgetting" and app.arc.subject_visitor == 42
        rec = app.render(screen, t, settle=True)
        assert rec.screen == "arc:forgetting"
        who = s.get("card.visitor", id="0042")
        if someone_else:
            assert rec.says(s.get("arc.forgetting.title_other", who=who))
            assert not rec.says(s.get("arc.forgetting.title"))
            assert not any(rec.says(s.get(k)) for k in ("arc.forgetting.left", "arc.forgetting.erased"))
        else:
            assert rec.says(s.get("arc.forgetting.title")) and not rec.has_text(who)


@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_an_unidentified_visitor_who_left_is_named_in_a_sentence(screen, lang: str) -> None:  # noqa: ANN001
    import numpy as np

    from uikit import OK, H, W
    from kiosk.types import Frame
    from kiosk.ui.app import KioskApp
    from kiosk.ui.arc_screens import sentence
    from kiosk.ui.i18n import load_strings
    from kiosk.config import UiConfig
    from kiosk.ui.deps import UiDeps

    s = load_strings(lang)
    image = np.full((480, 640, 3), 90, np.uint8)
    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, arc=True, language=lang), UiDeps())
    first = syn.face_view(1, BOX, None, syn.PERSONAS["obama"])
    other = syn.face_view(2, ELSEWHERE, None, syn.PERSONAS["biden"])
    t, i = 0.0, 0
    for faces in [(first, other)] * 20 + [(other,)] * 25:
        t, i = round(t + 0.1, 6), i + 1
        app.update(t, Frame(image, i, t), OK, syn.snapshot(i, t, faces))
    rec = app.render(screen, t, settle=True)
    assert rec.screen == "arc:forgetting"
    who = s.get("arc.forgetting.someone")
    title = sentence(s.get("arc.forgetting.title_other", who=who))
    assert rec.says(title)
    assert title[0].isupper() and (who in title or sentence(who) in title)
    if lang == "en":
        assert rec.says("Forgetting the last visitor") and rec.has_text("The last visitor left.")
