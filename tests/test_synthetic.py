"""Synthetic benchmark scenes: the requested number of faces, found by the real detector; the
churn script's schedule (people away longer than the TTL once per cycle); spec parsing."""
from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest

from kiosk.capture.demo import PLAIN, Look
from kiosk.bench.scenes import MAX_STANDING, SyntheticScene, SyntheticVisit, parse_spec
from kiosk.config import Config
from kiosk.errors import SourceError
from kiosk.models import ModelStore, create_session, default_demo_dir

PHOTOS = default_demo_dir()
# Missing photos or models FAIL these tests (never skip them): see modelkit and conftest.
needs_photos = pytest.mark.usefixtures("fetched_photos")
needs_models = pytest.mark.usefixtures("fetched_models")


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@pytest.fixture(scope="module")
def detector():  # noqa: ANN201
    from kiosk.detect.yunet import YuNetDetector

    d = Config().detector  # the kiosk's defaults: input_width 320, min_face_px 40
    session = create_session(ModelStore().require("yunet"), ["CPUExecutionProvider"], 1)
    return YuNetDetector(session, input_width=d.input_width, score_threshold=d.score_threshold,
                         nms_iou_threshold=d.nms_iou_threshold, top_k=d.top_k, min_face_px=d.min_face_px)


@needs_photos
@needs_models
@pytest.mark.parametrize("faces", [1, 4, 8])
def test_standing_scene_has_the_requested_detectable_faces(detector, faces: int) -> None:  # noqa: ANN001
    scene = SyntheticScene.standing(PHOTOS, faces)
    scene.open()
    try:
        for index in (0, 37, 101, 250):  # people sway and breathe: several moments of the loop
            t_s = index / scene.fps
            truth = scene.people_at(t_s)
            assert len(truth) == faces
            found = detector.detect(scene.render(t_s, noise_index=index))
            assert len(found) == faces, f"frame {index}: {len(found)} faces found, {faces} expected"
            # Each ground-truth face is matched by a detection (the detector's box is a bit
            # larger than the photo table's, hence the modest IoU).
            for label, box in truth:
                best = max(iou(box, d.box_xyxy) for d in found)
                assert best > 0.4, f"frame {index}: {label} at {box} not found (best IoU {best:.2f})"
    finally:
        scene.close()


@needs_photos
def test_frames_are_deterministic_per_index() -> None:
    a = SyntheticScene.standing(PHOTOS, 4)
    b = SyntheticScene.standing(PHOTOS, 4)
    a.open()
    b.open()
    try:
        frames_a = [a.read() for _ in range(5)]
        frames_b = [b.read() for _ in range(5)]
    finally:
        a.close()
        b.close()
    assert all(np.array_equal(x, y) for x, y in zip(frames_a, frames_b))
    assert not np.array_equal(frames_a[0], frames_a[4])  # and they move
    assert frames_a[0].shape == (480, 640, 3) and frames_a[0].dtype == np.uint8


@needs_photos
def test_a_mirrored_look_draws_the_flipped_photo() -> None:
    def one(look: Look) -> np.ndarray:
        visit = SyntheticVisit("obama.jpg", look, 0.0, 0.0, math.inf, math.inf, 320.0, 190.0, 150.0)
        scene = SyntheticScene(PHOTOS, (visit,), loop_s=10.0)
        scene.open()
        try:
            (_, box), = scene.people_at(0.0)
            x0, y0, x1, y1 = (round(v) for v in box)
            return scene.render(0.0, noise_index=0)[y0:y1, x0:x1].astype(np.float32)
        finally:
            scene.close()

    plain, mirrored = one(PLAIN), one(Look(mirror=True))
    w = min(plain.shape[1], mirrored.shape[1])
    flipped = plain[:, ::-1][:, :w]
    assert np.abs(mirrored[:, :w] - flipped).mean() < 0.5 * np.abs(mirrored[:, :w] - plain[:, :w]).mean()


def test_churn_script_keeps_everyone_away_longer_than_the_ttl_once_per_cycle() -> None:
    forget_s, missing_s = 10.0, 1.0
    scene = SyntheticScene.churn(Path("/nonexistent"), forget_s, max_missing_s=missing_s)  # no photos needed
    labels = {"obama.jpg": "obama", "obama2.jpg": "obama", "obama3.jpg": "obama",
              "astronaut.png": "astronaut", "biden.jpg": "biden"}
    by_label: dict[str, list[tuple[float, float]]] = {}
    for v in scene.script:
        by_label.setdefault(labels[v.photo], []).append((v.t_in_s, v.t_out_s))
    assert set(by_label) == {"obama", "astronaut", "biden"}
    for label, spans in by_label.items():
        spans.sort()
        # Gaps between consecutive appearances, including the wrap-around of the loop.
        gaps = [b[0] - a[1] for a, b in itertools.pairwise(spans)]
        gaps.append(spans[0][0] + scene.loop_s - spans[-1][1])
        long_gaps = [g for g in gaps if g > forget_s + missing_s]
        assert len(long_gaps) == 3, f"{label}: {len(long_gaps)} absences longer than the TTL per loop"
        assert any(g < 3.0 for g in gaps), f"{label}: never comes back quickly (no continued visits)"
        assert len(spans) >= 6
    # At most two people at once, and visitors are in view a good part of the time.
    counts = [len(scene.people_at(t)) for t in np.arange(0.0, scene.loop_s, 0.5)]
    assert max(counts) <= 2 and np.mean(counts) > 0.8
    # The appearance count bounds how many visitors can be remembered.
    assert scene.visits_between(0.0, scene.loop_s) == len(scene.script)
    assert scene.visits_between(scene.loop_s, 2 * scene.loop_s) == len(scene.script)


def test_parse_spec() -> None:
    assert parse_spec("synthetic:4") == 4
    assert parse_spec("synthetic:churn") == "churn"
    assert parse_spec("demo") is None
    assert parse_spec("file:/tmp/x.mp4") is None
    for bad in ("synthetic:0", f"synthetic:{MAX_STANDING + 1}", "synthetic:", "synthetic:four"):
        with pytest.raises(SourceError, match="synthetic:N"):
            parse_spec(bad)
    with pytest.raises(ValueError, match="1 to 8"):
        SyntheticScene.standing(PHOTOS, 9)
