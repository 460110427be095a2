"""The arc stays with its visitor when the tracker restarts on the same face (a missed detection,
a cut in a video): the person still standing there is not told "You left"."""
from __future__ import annotations

from kiosk.bench import fake_snapshots as syn
from kiosk.ui.arc import GONE_S, Arc

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
