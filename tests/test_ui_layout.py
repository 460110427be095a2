"""Card placement: inside the area, never overlapping each other or obstacles, beside the face
when there is room, smaller cards before covering faces; easing keeps the guarantee."""
from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.ui.layout import (
    CardRequest,
    clamp_into,
    ease,
    ease_rect,
    fit_rect,
    inside,
    intersection_area,
    overlaps,
    place_cards,
    resolve_overlaps,
)
from layoutkit import ladder_reference, random_requests

AREA = (10, 50, 1260, 660)
SIZES = ((380, 300), (380, 160), (250, 60))


def check_invariants(placements, area, obstacles, gap) -> None:  # noqa: ANN001
    rects = [p.rect for p in placements.values()]
    for r in rects:
        assert inside(r, area), f"{r} leaves {area}"
        for o in obstacles:
            assert not overlaps(r, o), f"{r} overlaps obstacle {o}"
    for a, b in itertools.combinations(rects, 2):
        assert not overlaps(a, b, gap), f"cards {a} and {b} are closer than {gap} px"


def test_fit_rect_keeps_aspect_and_centres() -> None:
    assert fit_rect(640, 480, (0, 0, 1280, 720)) == (160, 0, 960, 720)
    assert fit_rect(1920, 1080, (0, 0, 800, 800)) == (0, 175, 800, 450)
    assert fit_rect(640, 480, (0, 46, 680, 674)) == (0, 128, 680, 510)


def test_single_face_gets_full_card_beside_it() -> None:
    face = (500, 200, 160, 200)
    p = place_cards([CardRequest("a", face, SIZES, 1.0)], AREA, gap=8)["a"]
    assert p.level == 0
    assert p.side in ("right", "left")
    assert intersection_area(p.rect, face) == 0
    # Right of the face, starting one gap away, top aligned with the face.
    assert p.rect[0] == face[0] + face[2] + 8 and p.rect[1] == face[1]


def test_face_at_right_edge_gets_card_on_the_left() -> None:
    face = (1100, 200, 150, 180)
    p = place_cards([CardRequest("a", face, SIZES, 1.0)], AREA, gap=8)["a"]
    assert p.side == "left" and p.rect[0] + p.rect[2] <= face[0]


def test_previous_side_is_kept_when_both_fit() -> None:
    face = (450, 200, 160, 200)
    p = place_cards([CardRequest("a", face, SIZES, 1.0, prefer_side="left")], AREA, gap=8)["a"]
    assert p.side == "left"


def test_crowd_degrades_detail_of_farther_faces_first_and_never_overlaps() -> None:
    faces = [(60 + 300 * i, 250, 120 - 10 * i, 150 - 10 * i) for i in range(4)]
    reqs = [CardRequest(f"f{i}", f, SIZES, priority=float(f[2] * f[3])) for i, f in enumerate(faces)]
    result = place_cards(reqs, AREA, gap=8)
    check_invariants(result, AREA, (), 8)
    assert len(result) == 4
    levels = [result[f"f{i}"].level for i in range(4)]
    assert levels[0] == min(levels)  # the nearest (largest) face keeps the most detail
    for p in result.values():  # with levels to choose from, no card hides a face
        for f in faces:
            assert intersection_area(p.rect, f) <= 0.05 * f[2] * f[3]


def test_no_room_means_no_card_rather_than_overlap() -> None:
    area = (0, 0, 300, 200)
    reqs = [CardRequest(f"f{i}", (10 + 50 * i, 10, 40, 40), ((280, 190), (250, 120)), 1.0 - i / 10) for i in range(3)]
    result = place_cards(reqs, area, gap=4)
    check_invariants(result, area, (), 4)
    assert len(result) == 1  # only one card of that size fits in the area at all


def test_obstacles_are_avoided() -> None:
    face = (500, 200, 160, 200)
    right = (668, 150, 600, 400)  # blocks the right side
    p = place_cards([CardRequest("a", face, SIZES, 1.0)], AREA, [right], gap=8)["a"]
    assert not overlaps(p.rect, right)
    assert p.side != "right"


def test_deterministic() -> None:
    faces = [(100 + 230 * i, 200 + 40 * (i % 2), 110, 140) for i in range(5)]
    reqs = [CardRequest(f"f{i}", f, SIZES, float(i)) for i, f in enumerate(faces)]
    assert place_cards(reqs, AREA, gap=8) == place_cards(list(reversed(reqs)), AREA, gap=8)


rects = st.tuples(st.integers(0, 1200), st.integers(40, 640), st.integers(30, 260), st.integers(30, 260))


@settings(max_examples=150, deadline=None)
@given(faces=st.lists(rects, min_size=1, max_size=6), obstacles=st.lists(rects, max_size=3))
def test_property_inside_and_disjoint(faces, obstacles) -> None:  # noqa: ANN001
    reqs = [CardRequest(f"f{i}", f, SIZES, float(f[2] * f[3])) for i, f in enumerate(faces)]
    result = place_cards(reqs, AREA, obstacles, gap=8)
    check_invariants(result, AREA, obstacles, 8)


def test_ease_is_frame_rate_independent() -> None:
    one = ease(0.0, 100.0, 0.1, 0.2)
    two = ease(ease(0.0, 100.0, 0.05, 0.2), 100.0, 0.05, 0.2)
    assert one == pytest.approx(two)
    assert 0 < one < 100
    assert ease_rect((0, 0, 10, 10), (100, 0, 10, 10), 10.0, 0.1) == (100, 0, 10, 10)


def test_resolve_overlaps_snaps_crossing_cards_to_their_targets() -> None:
    targets = {"a": (0, 0, 100, 100), "b": (300, 0, 100, 100)}
    drawn = {"a": (150, 0, 100, 100), "b": (180, 0, 100, 100)}  # mid-glide, crossing
    out = resolve_overlaps(drawn, targets, (0, 0, 800, 600))
    assert not overlaps(out["a"], out["b"])
    assert clamp_into((790, -5, 20, 20), (0, 0, 800, 600)) == (780, 0, 20, 20)


def test_step_down_passes_that_resume_place_like_passes_from_scratch() -> None:
    """place_cards resumes each step-down pass after the placements it shares with the previous
    one; that must give exactly what running every pass from scratch gives."""
    import random

    from kiosk.ui import layout

    rng = random.Random(7)
    for _ in range(200):
        faces, requests = random_requests(rng, AREA, SIZES)
        got = place_cards(requests, AREA, [(10, 650, 1260, 60)], gap=8)
        # The reference: the same ladder, every pass from scratch.
        scene = layout.Scene(AREA, tuple(faces), ((10, 650, 1260, 60),), 8, 8, inset=4)
        best = ladder_reference(requests, scene, layout._place_pass)
        assert got == best
