"""YuNet decoding, geometry and agreement with cv2.FaceDetectorYN.

The decoding tests run on hand-built output tensors (no model). The model tests need the files
that `make setup` fetches (``kiosk.models``) and fail with that hint when they are absent
(see modelkit.py).
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.detect.yunet import OUTPUT_NAMES, STRIDES, DetectorInputMaker, YuNetDetector, decode_yunet, nms
from kiosk.errors import ModelError
from modelkit import PHOTOS, photo, require_model, session

log = logging.getLogger(__name__)

SCORE, IOU, TOP_K = 0.7, 0.3, 5000


# --------------------------------------------------------------------------- model fixtures

@pytest.fixture(scope="module")
def yunet_symbolic() -> Path:
    return require_model("yunet")


@pytest.fixture(scope="module")
def yunet_fixed(yunet_symbolic: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The derived model with its input pinned back to 1x3x640x640, like the stock file."""
    onnx = pytest.importorskip("onnx")
    model = onnx.load(str(yunet_symbolic))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    for dim, value in zip(dims, (1, 3, 640, 640)):
        dim.dim_value = value  # also clears dim_param (oneof)
    path = tmp_path_factory.mktemp("yunet") / "yunet_640x640.onnx"
    onnx.save(model, str(path))
    return path


@pytest.fixture(scope="module", params=["symbolic", "fixed"])
def yunet_path(request: pytest.FixtureRequest, yunet_symbolic: Path) -> Path:
    if request.param == "symbolic":
        return yunet_symbolic
    return request.getfixturevalue("yunet_fixed")


# --------------------------------------------------------------------------- canned outputs

def _blank_outputs(input_w: int, input_h: int) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for s in STRIDES:
        n = (input_w // s) * (input_h // s)
        out[f"cls_{s}"] = np.zeros((1, n, 1), np.float32)
        out[f"obj_{s}"] = np.zeros((1, n, 1), np.float32)
        out[f"bbox_{s}"] = np.zeros((1, n, 4), np.float32)
        out[f"kps_{s}"] = np.zeros((1, n, 10), np.float32)
    return out


def _set_anchor(out: dict[str, np.ndarray], input_w: int, stride: int, row: int, col: int,
                cls: float, obj: float, bbox: tuple[float, float, float, float], kps: np.ndarray) -> None:
    idx = row * (input_w // stride) + col
    out[f"cls_{stride}"][0, idx, 0] = cls
    out[f"obj_{stride}"][0, idx, 0] = obj
    out[f"bbox_{stride}"][0, idx] = bbox
    out[f"kps_{stride}"][0, idx] = np.asarray(kps, np.float32).reshape(10)


def test_decode_single_anchor_exact() -> None:
    w, h = 64, 32  # stride 16: 4 cols x 2 rows
    out = _blank_outputs(w, h)
    kps = np.array([[0.25 * k, 0.5] for k in range(5)], np.float32)
    _set_anchor(out, w, 16, row=1, col=2, cls=0.81, obj=1.0, bbox=(0.5, 0.25, 0.0, 0.0), kps=kps)
    boxes, scores, landmarks = decode_yunet(out, w, h, 0.5)
    assert boxes.dtype == scores.dtype == landmarks.dtype == np.float32
    assert boxes.shape == (1, 4) and scores.shape == (1,) and landmarks.shape == (1, 5, 2)
    # cx = (2 + 0.5) * 16 = 40, cy = (1 + 0.25) * 16 = 20, w = h = exp(0) * 16 = 16.
    np.testing.assert_array_equal(boxes[0], [32.0, 12.0, 16.0, 16.0])
    assert scores[0] == np.float32(np.sqrt(np.float32(0.81)))
    # Landmark k = ((0.25k + 2) * 16, (0.5 + 1) * 16) = (32 + 4k, 24).
    np.testing.assert_array_equal(landmarks[0], [[32 + 4 * k, 24] for k in range(5)])


def test_decode_exp_size_clamp_and_order() -> None:
    w, h = 64, 64
    out = _blank_outputs(w, h)
    zeros = np.zeros((5, 2), np.float32)
    # Stride 32, anchor (row 1, col 0): cls > 1 is clamped to 1 -> score sqrt(0.64) = 0.8.
    _set_anchor(out, w, 32, row=1, col=0, cls=1.5, obj=0.64, bbox=(0.0, 0.0, math.log(2.0), math.log(3.0)), kps=zeros)
    # Stride 8: one anchor above threshold, one whose negative cls clamps to a zero score.
    _set_anchor(out, w, 8, row=0, col=7, cls=1.0, obj=1.0, bbox=(0.0, 0.0, 0.0, 0.0), kps=zeros)
    _set_anchor(out, w, 8, row=3, col=3, cls=-2.0, obj=1.0, bbox=(0.0, 0.0, 0.0, 0.0), kps=zeros)
    boxes, scores, _ = decode_yunet(out, w, h, 0.5)
    # Stride order (8 before 32), as FaceDetectorYN emits them.
    np.testing.assert_allclose(scores, [1.0, 0.8], rtol=1e-6)
    np.testing.assert_array_equal(boxes[0], [52.0, -4.0, 8.0, 8.0])  # cx 56, cy 0, 8x8
    np.testing.assert_allclose(boxes[1], [-32.0, -16.0, 64.0, 96.0], rtol=1e-6, atol=1e-5)  # cx 0 cy 32, 2s x 3s


def test_decode_threshold_is_inclusive_and_empty() -> None:
    w, h = 32, 32
    out = _blank_outputs(w, h)
    _set_anchor(out, w, 32, 0, 0, cls=0.25, obj=0.25, bbox=(0, 0, 0, 0), kps=np.zeros(10))
    assert decode_yunet(out, w, h, 0.25)[1].shape == (1,)  # score == threshold is kept (as OpenCV)
    boxes, scores, landmarks = decode_yunet(out, w, h, 0.26)
    assert boxes.shape == (0, 4) and scores.shape == (0,) and landmarks.shape == (0, 5, 2)


def _decode_reference(out: dict[str, np.ndarray], w: int, h: int, threshold: float) -> tuple[np.ndarray, ...]:
    """FaceDetectorYN's decoding written plainly: every anchor's clamped score, then the threshold."""
    boxes, scores, landmarks = [], [], []
    for s in STRIDES:
        cols, rows = w // s, h // s
        n = cols * rows
        clamp = lambda x: np.minimum(np.maximum(x.reshape(n), np.float32(0)), np.float32(1))  # noqa: E731
        score = np.sqrt(clamp(out[f"cls_{s}"]) * clamp(out[f"obj_{s}"]))
        idx = np.flatnonzero(score >= threshold)
        anchor = np.stack((idx % cols, idx // cols), axis=1).astype(np.float32)
        b = out[f"bbox_{s}"].reshape(n, 4)[idx]
        centre = (anchor + b[:, :2]) * np.float32(s)
        size = np.exp(b[:, 2:]) * np.float32(s)
        boxes.append(np.concatenate((centre - size / np.float32(2.0), size), axis=1))
        scores.append(score[idx])
        landmarks.append((out[f"kps_{s}"].reshape(n, 5, 2)[idx] + anchor[:, None, :]) * np.float32(s))
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(landmarks)


@pytest.mark.parametrize("threshold", [0.0, 0.3, 0.6, 0.9, 1.0])
def test_decode_equals_the_plain_formula_on_any_outputs(threshold: float) -> None:
    """Scores outside [0, 1], negative, NaN, exactly at the threshold and just below it: the
    candidate pre-filter keeps exactly the anchors the clamped score keeps."""
    rng = np.random.default_rng(int(threshold * 10))
    w, h = 96, 64
    for trial in range(30):
        out = _blank_outputs(w, h)
        for s in STRIDES:
            n = out[f"cls_{s}"].size
            for head in ("cls", "obj"):
                x = rng.random(n).astype(np.float32) ** rng.choice([0.2, 1.0, 4.0])
                pick = rng.random(n)
                x[pick < 0.05] = rng.normal(0.0, 3.0, int((pick < 0.05).sum()))  # outside [0, 1]
                x[(pick > 0.95) & (pick < 0.96)] = np.nan
                x[pick > 0.98] = np.float32(threshold)  # product at or just below threshold^2
                out[f"{head}_{s}"] = x.reshape(1, n, 1)
            out[f"bbox_{s}"] = rng.normal(0.0, 0.5, (1, n, 4)).astype(np.float32)
            out[f"kps_{s}"] = rng.normal(0.0, 1.0, (1, n, 10)).astype(np.float32)
        got = decode_yunet(out, w, h, threshold)
        want = _decode_reference(out, w, h, threshold)
        for g, e in zip(got, want):
            np.testing.assert_array_equal(g, e)


def test_decode_rejects_mismatched_size() -> None:
    with pytest.raises(ValueError, match="anchors"):
        decode_yunet(_blank_outputs(64, 64), 64, 32, 0.5)
    out = _blank_outputs(32, 32)
    del out["kps_16"]
    with pytest.raises(ValueError, match="kps_16"):
        decode_yunet(out, 32, 32, 0.5)


def test_nms_suppresses_overlap_and_respects_top_k() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [50, 50, 5, 5]], np.float32)
    scores = np.array([0.9, 0.95, 0.8], np.float32)
    assert nms(boxes, scores, 0.5, 0.3, 5000).tolist() == [1, 2]
    assert nms(boxes, scores, 0.5, 0.3, 1).tolist() == [1]
    assert nms(boxes, scores, 0.85, 0.3, 5000).tolist() == [1]
    assert nms(boxes[:0], scores[:0], 0.5, 0.3, 5000).shape == (0,)


# --------------------------------------------------------------------------- detector on a stub session

class _StubSession:
    """Quacks like onnxruntime.InferenceSession; returns canned outputs for the input it gets."""

    def __init__(self, shape: list[Any], anchors: list[dict[str, Any]] | None = None) -> None:
        self.shape = shape
        self.anchors = anchors or []
        self.fed: list[np.ndarray] = []

    def get_inputs(self) -> list[Any]:
        return [SimpleNamespace(name="input", shape=self.shape, type="tensor(float)")]

    def get_outputs(self) -> list[Any]:
        return [SimpleNamespace(name=n, shape=None, type="tensor(float)") for n in OUTPUT_NAMES]

    def run(self, names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        blob = feed["input"]
        self.fed.append(blob.copy())
        self.last_input = blob  # the array itself, to tell the detector's own from a prepared one
        h, w = blob.shape[2:]
        out = _blank_outputs(w, h)
        for a in self.anchors:
            _set_anchor(out, w, **a)
        return [out[n] for n in names]


def _detector(session: Any, input_width: int = 320, min_face_px: int = 0) -> YuNetDetector:
    return YuNetDetector(session, input_width, SCORE, IOU, TOP_K, min_face_px)


@pytest.mark.parametrize(
    ("shape", "frame", "input_width", "expected"),
    [
        ([1, 3, "H", "W"], (640, 480), 320, (320, 240, 320, 256)),
        ([1, 3, "H", "W"], (640, 480), 640, (640, 480, 640, 480)),
        ([1, 3, None, None], (300, 200), 640, (300, 200, 320, 224)),  # never upscaled
        ([1, 3, 640, 640], (640, 480), 320, (320, 240, 640, 640)),
        ([1, 3, 640, 640], (1280, 720), 960, (640, 360, 640, 640)),  # further downscaled to fit
        ([1, 3, 640, 640], (480, 1280), 640, (240, 640, 640, 640)),  # portrait: height limits
    ],
)
def test_geometry(shape: list[Any], frame: tuple[int, int], input_width: int, expected: tuple[int, int, int, int]) -> None:
    geo = _detector(_StubSession(shape), input_width).geometry_for(*frame)
    assert (geo.resized_w, geo.resized_h, geo.input_w, geo.input_h) == expected


def test_detect_scales_clips_filters_and_sorts() -> None:
    kps = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [1.0, 1.0]], np.float32)
    anchors = [
        # 320x256 input for a 640x480 frame: x scale 2, y scale 2.
        # Face A (score 0.8): stride 16 (row 2, col 3): centre (56, 40), 32x32 -> frame (80,48)-(144,112).
        dict(stride=16, row=2, col=3, cls=0.64, obj=1.0, bbox=(0.5, 0.5, math.log(2.0), math.log(2.0)), kps=kps),
        # Face B (score 0.9): stride 32 (row 0, col 9): centre (304, 16), 64x64, sticks out right/top.
        dict(stride=32, row=0, col=9, cls=0.81, obj=1.0, bbox=(0.5, 0.5, math.log(2.0), math.log(2.0)), kps=kps),
        # Face C (score 1.0) only 8x8 input px = 16 frame px wide: dropped by min_face_px=20.
        dict(stride=8, row=20, col=20, cls=1.0, obj=1.0, bbox=(0.0, 0.0, 0.0, 0.0), kps=kps),
    ]
    session = _StubSession([1, 3, "H", "W"], anchors)
    detector = _detector(session, 320, min_face_px=20)
    frame = np.full((480, 640, 3), 7, np.uint8)
    frame.flags.writeable = False  # Frame.image is read-only in the pipeline
    dets = detector.detect(frame)
    assert [round(d.score, 5) for d in dets] == [0.9, 0.8]
    b, a = dets
    np.testing.assert_allclose(a.box_xyxy, (80.0, 48.0, 144.0, 112.0), atol=1e-4)
    np.testing.assert_allclose(b.box_xyxy, (544.0, 0.0, 640.0, 96.0), atol=1e-4)  # clipped to the frame
    np.testing.assert_allclose(a.landmarks_px[1], ((3 + 1) * 16 * 2, 2 * 16 * 2), atol=1e-4)
    assert a.landmarks_px.dtype == np.float32 and a.landmarks_px.shape == (5, 2)
    assert not a.landmarks_px.flags.writeable
    # The network saw the 320x240 image zero-padded to 320x256.
    blob = session.fed[-1]
    assert blob.shape == (1, 3, 256, 320) and blob.dtype == np.float32
    assert np.all(blob[:, :, :240] == 7) and np.all(blob[:, :, 240:] == 0)


def test_detect_reuses_buffer_and_repads_on_size_change() -> None:
    session = _StubSession([1, 3, "H", "W"])
    detector = _detector(session, 320)
    detector.detect(np.full((480, 640, 3), 9, np.uint8))
    detector.detect(np.full((400, 640, 3), 5, np.uint8))  # 320x200 -> input 320x224
    blob = session.fed[-1]
    assert blob.shape == (1, 3, 224, 320)
    assert np.all(blob[:, :, :200] == 5) and np.all(blob[:, :, 200:] == 0)


def test_detect_rejects_bad_images() -> None:
    detector = _detector(_StubSession([1, 3, "H", "W"]))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((480, 640), np.uint8))
    with pytest.raises(ValueError):
        detector.detect(np.zeros((480, 640, 3), np.float32))


@pytest.mark.parametrize(("frame_hw", "input_width"), [((480, 640), 320), ((720, 1280), 320), ((200, 300), 640),
                                                      ((481, 641), 320), ((480, 640), 640)])
def test_input_made_on_the_capture_thread_is_the_detectors_own(frame_hw: tuple[int, int], input_width: int) -> None:
    rng = np.random.default_rng(sum(frame_hw) + input_width)
    maker = DetectorInputMaker(input_width)
    session = _StubSession([1, 3, "H", "W"])
    detector = _detector(session, input_width)
    for _ in range(2):  # the second frame reuses the maker's buffers
        frame = rng.integers(0, 256, (*frame_hw, 3), np.uint8)
        frame.flags.writeable = False
        prepared = maker(frame)
        own, geo = detector.preprocess(frame)
        assert (prepared.resized_w, prepared.resized_h) == (geo.resized_w, geo.resized_h)
        np.testing.assert_array_equal(prepared.blob, own)
        assert not prepared.blob.flags.writeable
        detector.detect(frame, prepared)
        assert session.last_input is prepared.blob, "the detector runs on the prepared input, not a copy"
    assert maker(frame).blob is not prepared.blob, "each frame gets its own array (the last may still be in use)"


def test_a_prepared_input_that_is_not_exactly_the_detectors_is_ignored() -> None:
    frame = np.full((480, 640, 3), 7, np.uint8)
    session = _StubSession([1, 3, "H", "W"])
    detector = _detector(session, 320)
    # Width 300 pads to the same 320x256 input shape, but the picture inside is smaller.
    other = DetectorInputMaker(300)(frame)
    assert other.blob.shape == (1, 3, 256, 320)
    detector.detect(frame, other)
    assert session.last_input is not other.blob
    assert np.all(session.fed[-1][:, :, :240] == 7) and np.all(session.fed[-1][:, :, 240:] == 0)
    # Made for another frame size.
    detector.detect(frame, DetectorInputMaker(320)(np.zeros((400, 640, 3), np.uint8)))
    assert session.fed[-1].shape == (1, 3, 256, 320) and np.all(session.fed[-1][:, :, :240] == 7)
    # A fixed-size model always makes its own (its input is padded to the fixed size).
    fixed = _StubSession([1, 3, 640, 640])
    _detector(fixed, 320).detect(frame, DetectorInputMaker(320)(frame))
    assert fixed.fed[-1].shape == (1, 3, 640, 640)
    with pytest.raises(ValueError):
        detector.detect(np.zeros((480, 640), np.uint8), DetectorInputMaker(320)(frame))
    with pytest.raises(ValueError):
        DetectorInputMaker(16)


def test_rejects_wrong_model() -> None:
    session = _StubSession([1, 3, "H", "W"])
    session.get_outputs = lambda: [SimpleNamespace(name="fc1", shape=[1, 128], type="tensor(float)")]  # type: ignore[method-assign]
    with pytest.raises(ModelError, match="outputs"):
        _detector(session)


# --------------------------------------------------------------------------- the real model

def test_astronaut_one_face(yunet_path: Path) -> None:
    image = photo("astronaut.png")  # 512x512, one face
    dets = _detector(session(yunet_path), 320, min_face_px=20).detect(image)
    assert len(dets) == 1
    det = dets[0]
    x1, y1, x2, y2 = det.box_xyxy
    assert det.score > 0.8
    # The face is in the upper middle of the portrait, ~90 px wide.
    assert 150 < x1 < 200 and 40 < y1 < 90 and 250 < x2 < 290 and 150 < y2 < 200
    lm = det.landmarks_px
    assert np.all((lm >= (x1, y1)) & (lm <= (x2, y2)))
    right_eye, left_eye, nose, mouth_r, mouth_l = lm
    assert right_eye[0] < nose[0] < left_eye[0]  # subject's right eye on the image left
    assert mouth_r[0] < mouth_l[0]
    assert max(right_eye[1], left_eye[1]) < nose[1] < min(mouth_r[1], mouth_l[1])


def test_no_faces_in_blank_frame_and_min_face(yunet_symbolic: Path) -> None:
    detector = _detector(session(yunet_symbolic), 320)
    assert detector.detect(np.zeros((480, 640, 3), np.uint8)) == []
    big_only = _detector(session(yunet_symbolic), 320, min_face_px=200)
    assert big_only.detect(photo("astronaut.png")) == []


@pytest.mark.parametrize("name", PHOTOS)
def test_agrees_with_opencv_face_detector(yunet_path: Path, name: str) -> None:
    """Same model file, same network input (our resized + padded image), same thresholds."""
    image = photo(name)
    detector = _detector(session(yunet_path), 640)
    dets = detector.detect(image)
    blob, geo = detector.preprocess(image)
    # The network input back as an HWC uint8 image (exact: the values are integers 0..255).
    net_image = np.ascontiguousarray(blob[0].transpose(1, 2, 0)).astype(np.uint8)
    reference = cv2.FaceDetectorYN.create(str(yunet_path), "", (geo.input_w, geo.input_h), SCORE, IOU, TOP_K)
    _, faces = reference.detect(net_image)
    faces = np.zeros((0, 15), np.float32) if faces is None else faces
    assert len(dets) == len(faces) >= 1
    scale = np.array([geo.scale_x, geo.scale_y])
    worst_box = worst_lm = 0.0
    for det, face in zip(dets, faces):
        x, y, w, h = face[:4]
        ref_box = np.clip(np.array([[x, y], [x + w, y + h]]) * scale, 0, (geo.frame_w, geo.frame_h)).reshape(-1)
        ref_lm = face[4:14].reshape(5, 2) * scale
        worst_box = max(worst_box, float(np.abs(np.array(det.box_xyxy) - ref_box).max()))
        worst_lm = max(worst_lm, float(np.abs(det.landmarks_px - ref_lm).max()))
        assert abs(det.score - float(face[14])) < 1e-5
    log.info("%s %s: max |box diff| %.2e px, max |landmark diff| %.2e px", yunet_path.name, name, worst_box, worst_lm)
    assert worst_box < 1e-3 and worst_lm < 1e-3
