"""The mirror's hard guarantees on random crowds, through the real screen code: no card, tag or
departure note on a face, on another note, on the banner, a button or a panel; nothing clipped;
no leader line through another face. Held in every frame (also while cards glide), on the
plain mirror and beside a lesson, with departures in the strip and faces without consent."""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from kiosk.types import Frame  # noqa: E402
from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.guarantees import violations  # noqa: E402
from kiosk.ui.layout import Scene, allowed, leader, place_cards, segment_hits, CardRequest  # noqa: E402
from kiosk.config import PrivacyConfig, UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402

FRAME = Frame(np.full((480, 640, 3), 90, np.uint8), 1, 0.0)
PERSONAS = list(syn.PERSONAS.values())

boxes = st.tuples(st.integers(0, 600), st.integers(0, 440), st.integers(24, 220)).map(
    lambda b: (float(b[0]), float(b[1]), float(min(640, b[0] + b[2])), float(min(480, b[1] + b[2] * 1.2))))


def crowd(draw_boxes, consented, t_s=100.0, index=1):  # noqa: ANN001, ANN201
    faces = []
    for i, (box, ok) in enumerate(zip(draw_boxes, consented)):
        f = syn.face_view(i + 1, box, (i + 1 if i % 3 else None), PERSONAS[i % len(PERSONAS)])
        if not ok:
            f = type(f)(**{**{s: getattr(f, s) for s in f.__slots__}, "consented": False})
        faces.append(f)
    return tuple(faces)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(faces=st.lists(boxes, min_size=1, max_size=7), consent=st.lists(st.booleans(), min_size=7, max_size=7),
       lesson=st.booleans(), gone=st.integers(0, 9), lang=st.sampled_from(["en", "de", "es"]),
       moves=st.lists(st.tuples(st.integers(-60, 60), st.integers(-40, 40)), min_size=1, max_size=4))
def test_random_crowds_keep_every_guarantee(screen, faces, consent, lesson, gone, lang, moves) -> None:  # noqa: ANN001
    required = not all(consent[:len(faces)])
    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, lesson_after_s=3600.0, language=lang,
                                    arc=False), UiDeps(),
                   privacy=PrivacyConfig(consent="required" if required else "implied"))
    left = tuple(syn.gone_visitor(100 + k, 99.0, 300.0) for k in range(gone))
    t = 0.0
    for step, (dx, dy) in enumerate([(0, 0), *moves]):
        moved = [(x0 + dx, y0 + dy, x1 + dx, y1 + dy) for x0, y0, x1, y1 in faces]
        snap = syn.snapshot(step + 1, 100.0 + t, crowd(moved, consent), gone=left)
        if step == 1 and lesson:
            app.state.next_lesson(t)
        for _ in range(4):  # a few display frames per snapshot: cards glide between them
            t += 1 / 30
            app.update(t, FRAME, OK, snap)
            rec = app.render(screen, t)
            counts = violations(rec, (W, H))
            assert not any(counts.values()), (counts, rec.cards, rec.boxes, rec.chips, rec.tags)


rects = st.tuples(st.integers(0, 1200), st.integers(40, 640), st.integers(30, 260), st.integers(30, 260))
SIZES = ((380, 300), (380, 160), (250, 60))
AREA = (10, 50, 1260, 660)


@settings(max_examples=200, deadline=None)
@given(faces=st.lists(rects, min_size=1, max_size=8), obstacles=st.lists(rects, max_size=3),
       margin=st.integers(0, 16))
def test_solver_never_covers_a_face_nor_crosses_one(faces, obstacles, margin) -> None:  # noqa: ANN001
    reqs = [CardRequest(f"f{i}", f, SIZES, float(f[2] * f[3])) for i, f in enumerate(faces)]
    result = place_cards(reqs, AREA, obstacles, gap=8, margin=margin)
    scene = Scene(AREA, tuple(faces), tuple(obstacles), margin, 8, inset=4)
    placed = []
    for req in sorted(reqs, key=lambda r: (-r.priority, r.key)):
        p = result.get(req.key)
        if p is None:
            continue
        assert allowed(p.rect, req.face, scene, placed), (p, faces)
        line = leader(req.face, p.rect, 4)
        if line is not None:
            assert not any(f != req.face and segment_hits(*line, f) for f in faces)
        placed.append(p.rect)


def test_detail_steps_down_farthest_first() -> None:
    """Two faces, room for one full card: the nearer (larger) face keeps the full card."""
    area = (0, 0, 900, 400)
    near, far = (100, 100, 150, 150), (600, 100, 80, 80)
    sizes = ((300, 380), (200, 150), (150, 40))
    result = place_cards([CardRequest("near", near, sizes, 150 * 150), CardRequest("far", far, sizes, 80 * 80)],
                         area, gap=8)
    assert result["near"].level <= result["far"].level


def test_segment_hits() -> None:
    assert segment_hits((0, 5), (20, 5), (5, 0, 5, 10))
    assert not segment_hits((0, 20), (20, 20), (5, 0, 5, 10))
    assert not segment_hits((0, 0), (5, 0), (5, 0, 5, 10))  # touching the edge only


def test_the_checker_sees_each_kind() -> None:
    from kiosk.ui.text import FrameRecord

    r = FrameRecord()
    r.boxes = {"v1": (100, 100, 50, 50), "v2": (300, 100, 50, 50)}
    r.cards = {"v1": (120, 120, 100, 100), "v3": (1250, 600, 100, 100)}
    r.chips = {"v9": (130, 130, 20, 20)}
    r.leaders = {"v1": ((150, 110), (400, 120))}
    counts = violations(r, (1280, 720))
    assert counts == {"face_covered": 2, "overlap": 1, "clipped": 1, "crossing_leader": 1}


@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_cards_keep_their_shape_whatever_the_label(screen, lang: str) -> None:  # noqa: ANN001
    """Fixed line structure: "happy · 100 %" and "angry · 44 %" (any expression, any percentage)
    give the same card size; the card never gets shorter while its face is in view."""
    from dataclasses import replace

    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H, lesson_after_s=3600.0, language=lang),
                   UiDeps())
    face = syn.face_view(1, (300.0, 120.0, 400.0, 250.0), 7, syn.PERSONAS["obama"])
    sizes = set()
    for i, (label, p) in enumerate([("happy", 1.0), ("angry", 0.44), ("surprise", 0.99), ("disgust", 0.5),
                                    ("fear", 1.0), ("neutral", 0.07)]):
        f = replace(face, attributes=replace(face.attributes, expression=syn.expression(label, p)))
        t = 1.0 + i
        app.update(t, FRAME, OK, syn.snapshot(i + 1, 100.0 + t, (f,)))
        rec = app.render(screen, t, settle=True)
        assert rec.card_levels["v7"] == 0
        sizes.add(rec.cards["v7"][2:])
    assert len(sizes) == 1, sizes
