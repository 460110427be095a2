"""MediaPipe face mesh on crops around YuNet boxes: points, coordinate mapping, failures.

Needs mediapipe (a runtime dependency) and the files `make setup` fetches (YuNet, demo photos);
the model tests fail with that hint when those files are absent (see modelkit.py).
"""
from __future__ import annotations

import functools
import logging
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.infer import face_signals as fs
from kiosk.infer.mesh import BOX_SCALE, CROP_PX, FaceMesher
from modelkit import PHOTOS, photo, session

log = logging.getLogger(__name__)


# --------------------------------------------------------------------------- fixtures

@functools.lru_cache(maxsize=None)
def _detector() -> Any:
    from kiosk.detect.yunet import YuNetDetector

    return YuNetDetector(session("yunet"), 640, 0.7, 0.3, 5000, 20)


def _face(name: str) -> tuple[np.ndarray, Any]:
    image = photo(name)
    detections = _detector().detect(image)
    assert len(detections) == 1, f"{name}: expected one face, YuNet found {len(detections)}"
    return image, detections[0]


@pytest.fixture(scope="module")
def mesher() -> Any:
    pytest.importorskip("mediapipe")
    m = FaceMesher()
    yield m
    m.close()


# --------------------------------------------------------------------------- tests


@pytest.mark.parametrize("name", PHOTOS)
def test_mesh_points_lie_on_the_detected_face(mesher: FaceMesher, name: str) -> None:
    image, det = _face(name)
    points = mesher.run(image, det.box_xyxy)
    assert points is not None, f"{name}: no mesh"
    assert not mesher._crop_px.any(), "the face crop is erased once the mesh has run"
    assert points.shape == (fs.MESH_POINTS, 3) and points.dtype == np.float32
    assert np.isfinite(points).all()

    x1, y1, x2, y2 = det.box_xyxy
    w, h = x2 - x1, y2 - y1
    # The mesh spans forehead to chin and cheek to cheek: a little beyond YuNet's tight box at most.
    margin = 0.25 * max(w, h)
    assert points[:, 0].min() > x1 - margin and points[:, 0].max() < x2 + margin, name
    assert points[:, 1].min() > y1 - margin and points[:, 1].max() < y2 + margin, name
    # The face fills a good part of the box (a mapping error by the crop scale would not).
    assert np.ptp(points[:, 0]) > 0.6 * w and np.ptp(points[:, 1]) > 0.6 * h, name

    # The mesh agrees with YuNet's own eye and mouth landmarks (an independent model): eye
    # centres and mouth corners within 10 % of the box width.
    lm = det.landmarks_px
    mesh_lm = np.array([
        points[[fs.RIGHT_EYE_OUTER, fs.RIGHT_EYE_INNER], :2].mean(axis=0),
        points[[fs.LEFT_EYE_OUTER, fs.LEFT_EYE_INNER], :2].mean(axis=0),
        points[fs.MOUTH_RIGHT, :2],
        points[fs.MOUTH_LEFT, :2],
    ])
    errors = np.linalg.norm(mesh_lm - lm[[0, 1, 3, 4]], axis=1)
    assert errors.max() < 0.1 * w, f"{name}: mesh vs YuNet landmark distances {errors.round(1)} px, box width {w:.0f}"
    # The irises sit between their eye corners.
    for iris, a, b in ((fs.RIGHT_IRIS_CENTER, fs.RIGHT_EYE_OUTER, fs.RIGHT_EYE_INNER),
                       (fs.LEFT_IRIS_CENTER, fs.LEFT_EYE_OUTER, fs.LEFT_EYE_INNER)):
        lo, hi = sorted((points[a, 0], points[b, 0]))
        assert lo < points[iris, 0] < hi, name


def test_points_follow_translation_and_scale_of_the_frame(mesher: FaceMesher) -> None:
    """Frame pixels in, frame pixels out: padding the frame shifts the points, shrinking it scales them (z too)."""
    image, det = _face("obama.jpg")
    base = mesher.run(image, det.box_xyxy)
    assert base is not None
    face_w = det.width_px

    dx, dy = 37, 53
    padded = cv2.copyMakeBorder(image, dy, 0, dx, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    x1, y1, x2, y2 = det.box_xyxy
    shifted = mesher.run(padded, (x1 + dx, y1 + dy, x2 + dx, y2 + dy))
    assert shifted is not None
    # An integer shift gives the same crop pixels: the only change is the offset.
    np.testing.assert_allclose(shifted - np.array([dx, dy, 0], np.float32), base, atol=0.01 * face_w)

    half = cv2.resize(image, (image.shape[1] // 2, image.shape[0] // 2), interpolation=cv2.INTER_AREA)
    small = mesher.run(half, (x1 / 2, y1 / 2, x2 / 2, y2 / 2))
    assert small is not None
    err = np.abs(small * 2.0 - base)
    # Different pixels reach the model (resampled), so a few percent of the face width.
    assert np.median(err[:, :2]) < 0.02 * face_w and np.median(err[:, 2]) < 0.02 * face_w, err.max(axis=0)


def test_face_cut_by_the_frame_edge_still_meshes(mesher: FaceMesher) -> None:
    """Crops reaching outside the frame are zero-padded and map back to the right place."""
    image, det = _face("obama.jpg")
    base = mesher.run(image, det.box_xyxy)
    assert base is not None
    x1, y1, x2, y2 = det.box_xyxy
    # Cut the frame just left of the face: the 2x crop now reaches far beyond the left edge.
    cut = int(x1) - 5
    cropped = np.ascontiguousarray(image[:, cut:])
    points = mesher.run(cropped, (x1 - cut, y1, x2 - cut, y2))
    assert points is not None
    np.testing.assert_allclose(points[:, :2] + np.array([cut, 0], np.float32), base[:, :2], atol=0.05 * det.width_px)


def test_no_face_gives_none(mesher: FaceMesher) -> None:
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)
    assert mesher.run(noise, (200.0, 150.0, 300.0, 270.0)) is None
    blank = np.zeros((480, 640, 3), np.uint8)
    assert mesher.run(blank, (200.0, 150.0, 300.0, 270.0)) is None


def test_crop_transform_centres_the_box(mesher: FaceMesher) -> None:
    scale, ox, oy = mesher.crop_transform((100.0, 50.0, 200.0, 170.0))
    assert scale == pytest.approx(CROP_PX / (BOX_SCALE * 120.0))
    assert 150.0 * scale + ox == pytest.approx(CROP_PX / 2)
    assert 110.0 * scale + oy == pytest.approx(CROP_PX / 2)


def test_bad_arguments_are_refused(mesher: FaceMesher) -> None:
    image = np.zeros((100, 100, 3), np.uint8)
    with pytest.raises(ValueError, match="box_xyxy"):
        mesher.run(image, (10.0, 10.0, 10.0, 10.0))
    with pytest.raises(ValueError, match="box_xyxy"):
        mesher.run(image, (10.0, 10.0, float("nan"), 40.0))
    with pytest.raises(ValueError, match="box_xyxy"):
        mesher.run(image, (10.0, 10.0, 40.0, float("inf")))
    with pytest.raises(ValueError, match="uint8 BGR"):
        mesher.run(np.zeros((100, 100), np.uint8), (10.0, 10.0, 40.0, 40.0))
    with pytest.raises(ValueError, match="uint8 BGR"):
        mesher.run(np.zeros((100, 100, 3), np.float32), (10.0, 10.0, 40.0, 40.0))


def test_close_is_idempotent_and_final() -> None:
    pytest.importorskip("mediapipe")
    m = FaceMesher()
    m.close()
    m.close()
    with pytest.raises(RuntimeError, match="after close"):
        m.run(np.zeros((100, 100, 3), np.uint8), (10.0, 10.0, 40.0, 40.0))


def test_landmark_parsing_fast_path_equals_the_protobuf_fields() -> None:
    """The serialised-record fast path and the attribute loop give identical points, also when a
    coordinate is exactly 0.0 (proto3 omits it: the fast path must fall back)."""
    pytest.importorskip("mediapipe")
    from mediapipe.framework.formats import landmark_pb2  # type: ignore[import-untyped]

    from kiosk.infer.mesh import landmarks_array

    rng = np.random.default_rng(3)
    pts = rng.uniform(-0.5, 1.5, (478, 3)).astype(np.float32)
    msg = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in pts:
        msg.landmark.add(x=float(x), y=float(y), z=float(z))
    out = landmarks_array(msg, np.empty((478, 3), np.float32))
    np.testing.assert_array_equal(out, pts)
    msg.landmark[7].z = 0.0
    msg.landmark[9].visibility = 0.5
    pts[7, 2] = 0.0
    out = landmarks_array(msg, np.empty((478, 3), np.float32))
    np.testing.assert_array_equal(out, pts)


def _smooth_image(h: int = 480, w: int = 640) -> np.ndarray:
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([127 + 100 * np.sin(xx / 23.0) * np.cos(yy / 31.0),
                    127 + 100 * np.cos(xx / 17.0 + yy / 29.0),
                    127 + 100 * np.sin((xx + 2 * yy) / 41.0)], axis=2)
    return np.clip(img, 0, 255).astype(np.uint8)


def test_crop_inside_the_frame_is_a_resize_with_the_transform_it_returns(mesher: FaceMesher) -> None:
    """The fast crop (an integer-aligned square, resized) is what a warp with the returned
    transform gives, within the warp's 1/32-pixel sampling; the square is the exact one to half
    a pixel. So the points, mapped back through that transform, land where the face is."""
    img = _smooth_image()
    for box in ((200.3, 150.7, 281.9, 262.2), (300.0, 200.0, 340.5, 246.1), (250.2, 100.9, 400.4, 290.0)):
        scale, ox, oy = mesher._crop(img, box)
        crop = mesher._crop_px.copy()
        warped = cv2.warpAffine(img, np.array([[scale, 0.0, ox], [0.0, scale, oy]]), (CROP_PX, CROP_PX),
                                flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
        # The outermost row and column may differ: resize repeats the square's own edge there,
        # where the warp reads the frame's next pixel.
        assert np.abs(crop.astype(int) - warped.astype(int))[1:-1, 1:-1].max() <= 2
        exact_scale, exact_ox, exact_oy = mesher.crop_transform(box)
        side = CROP_PX / scale
        assert abs(side - CROP_PX / exact_scale) <= 0.5
        cx, cy = 0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3])
        # The frame point at the crop's centre is the box's centre to within one frame pixel
        # (half a pixel of rounding, half a pixel between the two pixel-centre conventions).
        assert abs((CROP_PX / 2 - ox) / scale - cx) <= 1.0
        assert abs((CROP_PX / 2 - oy) / scale - cy) <= 1.0
        assert abs((CROP_PX / 2 - exact_ox) / exact_scale - cx) < 1e-9


def test_crop_at_the_frame_edge_is_the_square_padded_with_black(mesher: FaceMesher) -> None:
    img = _smooth_image()
    box = (600.0, 10.0, 660.0, 80.0)  # the doubled square reaches past the right and top edges
    scale, offset_x, offset_y = mesher._crop(img, box)
    crop = mesher._crop_px.copy()
    assert not crop[:, -20:].any() and not crop[:10].any() and crop[100:150, 50:100].all()
    # The same integer square as inside the frame, cut from the frame padded with black.
    side = round(BOX_SCALE * 70.0)
    left, top = round(0.5 * (1260.0 - side)), round(0.5 * (90.0 - side))
    padded = cv2.copyMakeBorder(img, 200, 200, 200, 200, cv2.BORDER_CONSTANT, value=(0, 0, 0))
    expected = cv2.resize(padded[top + 200:top + 200 + side, left + 200:left + 200 + side], (CROP_PX, CROP_PX),
                          interpolation=cv2.INTER_LINEAR)
    np.testing.assert_array_equal(crop, expected)
    assert (scale, offset_x, offset_y) == pytest.approx(
        (CROP_PX / side, (0.5 - left) * CROP_PX / side - 0.5, (0.5 - top) * CROP_PX / side - 0.5))
    # The exact transform of the box (the warp's) differs by less than half a frame pixel.
    exact = mesher.crop_transform(box)
    assert abs(scale - exact[0]) / exact[0] < 0.5 / side
    # A square too large to copy is warped, with the box's exact transform.
    big = np.zeros((1200, 1600, 3), np.uint8)
    big[:] = 90
    huge = (1000.0, 100.0, 1600.0, 700.0)  # a 1200 px square: x 700-1900, y -200-1000
    assert mesher._crop(big, huge) == pytest.approx(mesher.crop_transform(huge))
    assert mesher._crop_px[60:, :150].all() and not mesher._crop_px[:40].any() and not mesher._crop_px[:, 200:].any()
    inside = np.array((200.3, 150.7, 281.9, 262.2), np.float32)  # NumPy scalars work too
    assert mesher._crop(img, tuple(inside)) == pytest.approx(mesher._crop(img, tuple(map(float, inside))))
    with pytest.raises(ValueError, match="finite box"):
        mesher._crop(img, (float("nan"), 0.0, 10.0, 10.0))
    with pytest.raises(ValueError, match="finite box"):
        mesher._crop(img, (5.0, 5.0, 5.2, 5.2))


def _native_thread_count() -> int:
    import os

    return len(os.listdir("/proc/self/task"))


def test_graph_runs_on_the_calling_thread_with_the_thread_pool_graphs_points() -> None:
    """The mesh graph's default executor runs on the caller (no thread of its own, no sleep),
    and the points are exactly those of MediaPipe's own thread-pool graph."""
    pytest.importorskip("mediapipe")
    import resource

    from kiosk.infer.mesh import APPLICATION_THREAD_EXECUTOR, import_face_mesh

    image, det = _face(PHOTOS[0])
    before = _native_thread_count()
    caller = FaceMesher()
    try:
        assert _native_thread_count() == before, "the caller-thread graph starts no threads"
        caller.run(image, det.box_xyxy)  # first run: the models load
        switches = resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw
        ours = [caller.run(image, det.box_xyxy) for _ in range(5)]
        assert resource.getrusage(resource.RUSAGE_THREAD).ru_nvcsw == switches, (
            "the calling thread never waits for another thread during a mesh")
    finally:
        caller.close()

    # MediaPipe's stock FaceMesh (thread pool), on the same crop, for the reference points.
    stock_mesher = FaceMesher()
    stock = import_face_mesh().FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=True)
    stock_mesher._graph.close()
    stock_mesher._graph = stock
    try:
        assert _native_thread_count() > before, "the stock graph has threads of its own (the control)"
        reference = stock_mesher.run(image, det.box_xyxy)
    finally:
        stock_mesher.close()
    assert reference is not None and all(p is not None for p in ours)
    for points in ours:
        np.testing.assert_array_equal(points, reference)
    assert APPLICATION_THREAD_EXECUTOR == "ApplicationThreadExecutor"


def test_caller_thread_config_retypes_the_default_executor_or_adds_one() -> None:
    pytest.importorskip("mediapipe")
    from mediapipe.framework import calculator_pb2  # type: ignore[import-untyped]

    from kiosk.infer.mesh import run_on_caller_thread

    pooled = calculator_pb2.CalculatorGraphConfig()
    default = pooled.executor.add()
    default.options.SetInParent()
    named = pooled.executor.add(name="gpu_like", type="ThreadPoolExecutor")
    run_on_caller_thread(pooled)
    assert [(e.name, e.type, e.HasField("options")) for e in pooled.executor] == [
        ("", "ApplicationThreadExecutor", False), ("gpu_like", "ThreadPoolExecutor", False)]
    assert named.type == "ThreadPoolExecutor"

    bare = calculator_pb2.CalculatorGraphConfig(num_threads=4)
    run_on_caller_thread(bare)
    assert [(e.name, e.type) for e in bare.executor] == [("", "ApplicationThreadExecutor")]
    assert bare.num_threads == 0
