"""Odd frames (issue 6, item 2): whatever a driver returns, the pipeline converts it or skips and
counts it, and never crashes.

Where the frame contract (``Frame.image``: HxWx3 uint8 BGR, C-contiguous, read-only) is
enforced: in ``kiosk.capture.source.normalise_image``, which the capture thread applies to every
image a source returns. The detector only *checks* it (``ValueError`` naming shape and dtype),
so these tests drive each odd array three ways:

1. through a :class:`~kiosk.capture.thread.CaptureThread` (converted or skipped, and counted);
2. through ``normalise_image`` and then the real YuNet detector and the real analyzer (as built
   by ``kiosk run``): whatever the capture side lets through must be fine for them;
3. raw into ``YuNetDetector.detect``: valid-but-odd arrays (strides, 1x1, 8K) work, invalid ones
   raise ``ValueError`` and nothing else (no cv2.error, AttributeError or crash).

Plus property-based fuzzing (hypothesis) of the same three paths with random dtypes, shapes and
memory layouts; example counts are kept modest so the file runs in seconds.
"""
from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from fakes import FaultyCamera, Frames, Garbage, odd_arrays
from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.capture.thread import CaptureThread
from kiosk.capture.slot import LatestFrame
from kiosk.capture.source import normalise_image
from kiosk.config import config_from_mapping
from kiosk.types import Frame, Snapshot
from modelkit import photo, require_model

ODD = odd_arrays()
K8_W, K8_H = 7680, 4320


# --- fixtures -------------------------------------------------------------------------------------

CFG = config_from_mapping({"detector": {"min_face_px": 8}})


@pytest.fixture(scope="module")
def analyzer() -> FaceAnalyzer:
    """Detection, tracking and recognition with the real YuNet and SFace, wired as `kiosk run`
    wires them (``build_analyzer``) minus the attribute estimators, which
    ``test_the_full_analyzer_takes_every_odd_frame`` adds. Shared: frames of all sizes in a row."""
    from kiosk.detect.align import align_face
    from kiosk.detect.yunet import YuNetDetector
    from kiosk.infer.embed import SFaceEmbedder
    from kiosk.models import create_session

    # A missing model fails the test (never skips it): see modelkit.
    session = create_session(require_model("yunet"), ["CPUExecutionProvider"], 1)
    embedder = SFaceEmbedder(create_session(require_model("sface"), ["CPUExecutionProvider"], 1))
    det = CFG.detector
    detector = YuNetDetector(session, det.input_width, det.score_threshold, det.nms_iou_threshold, det.top_k,
                             det.min_face_px)

    def embed(image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        return embedder.embed([align_face(image, lm) for lm in landmarks])

    return FaceAnalyzer(CFG, detector.detect, embed)


@pytest.fixture(scope="module")
def detect(analyzer: FaceAnalyzer) -> Callable[[np.ndarray], list]:
    return analyzer.detect


_clock = itertools.count()


def process(analyzer: FaceAnalyzer, image: np.ndarray) -> Snapshot:
    """One frame through the analyzer on a steadily advancing clock (30 fps)."""
    i = next(_clock)
    return analyzer.process(Frame(image=image, index=i, t_s=i / 30.0))


def assert_frame_contract(image: np.ndarray, like: np.ndarray | None = None) -> None:
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] == 3 and image.size > 0
    assert image.flags.c_contiguous and not image.flags.writeable
    if like is not None:
        assert image.shape[:2] == like.shape[:2]


def assert_detections_inside(dets: list, width: int, height: int) -> None:
    for d in dets:
        x1, y1, x2, y2 = d.box_xyxy
        assert 0 <= x1 <= x2 <= width and 0 <= y1 <= y2 <= height
        assert 0.0 <= d.score <= 1.0 and d.landmarks_px.shape == (5, 2)


def is_frame_shaped(a: object) -> bool:
    """HxWx3 uint8 with H, W >= 1: what the detector accepts as it is (any strides)."""
    return (isinstance(a, np.ndarray) and a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
            and a.shape[0] >= 1 and a.shape[1] >= 1)


# --- 1. through the capture thread ------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(ODD))
def test_capture_thread_converts_or_skips_and_counts(name: str) -> None:
    raw, usable = ODD[name]
    cam = FaultyCamera([Garbage([raw]), Frames(1)], realtime=False, then="end", width=32, height=24)
    slot, stop = LatestFrame(), threading.Event()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=2.0)
    cap.start()
    frames = []
    while (f := slot.get(2.0)) is not None:
        frames.append(f)
    cap.join(1.0)
    stop.set()
    assert cap.error is None and cap.finished and cap.reconnects == 0
    assert len(frames) == (2 if usable else 1)  # the odd one (if usable), then the good one
    assert cap.skipped == (0 if usable else 1)
    already_fine = is_frame_shaped(raw)
    assert cap.converted == (1 if usable and not already_fine else 0)
    for f in frames:
        assert_frame_contract(f.image)
    assert [f.index for f in frames] == list(range(len(frames)))  # skipped frames take no index
    if usable:
        assert frames[0].image.shape[:2] == raw.shape[:2]  # type: ignore[union-attr]


# --- 2. normalised, then the real detector and analyzer ----------------------------------------------

EXPECTED_PIXEL = {  # first pixel after conversion, where the rule is worth pinning down
    "gray_hw": (77, 77, 77),
    "gray_hw1": (78, 78, 78),
    "bgra": (200, 200, 200),
    "uint16": (195, 195, 195),  # 50000 >> 8
    "uint16_gray": (255, 255, 255),
    "float32_0_1": (127, 127, 127),  # 0..1 scaled by 255
    "float64_0_255": (200, 200, 200),  # already 0..255
    "float_nan_inf": (0, 255, 0),  # NaN -> 0, +inf -> 255, -inf -> 0 (then 0.5 -> 127 in 0..1 scale)
    "float16": (63, 63, 63),
    "float_huge": (255, 255, 255),  # beyond float32: clipped, no overflow warning
    "int8_negative": (0, 0, 0),
    "int64": (255, 255, 255),
    "bool": (1, 1, 1),
    "big_endian_uint16": (1, 1, 1),
}


@pytest.mark.parametrize("name", sorted(ODD))
def test_normalised_frames_are_valid_for_detector_and_analyzer(name: str, analyzer: FaceAnalyzer,
                                                              recwarn: pytest.WarningsRecorder) -> None:
    raw, usable = ODD[name]
    image, note = normalise_image(raw)
    if not usable:
        assert image is None and note  # says why
        return
    assert image is not None
    assert_frame_contract(image, like=raw)  # type: ignore[arg-type]
    assert image is not raw and (bool(note) != is_frame_shaped(raw))
    if name in EXPECTED_PIXEL:
        assert tuple(int(v) for v in image[0, 0]) == EXPECTED_PIXEL[name]
    if is_frame_shaped(raw):
        np.testing.assert_array_equal(image, raw)  # type: ignore[arg-type]  # layout changed, pixels not
    dets = analyzer.detect(image)
    assert_detections_inside(dets, image.shape[1], image.shape[0])
    snap = process(analyzer, image)
    assert snap.frame_size == (image.shape[1], image.shape[0])
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]  # no overflow/invalid casts


# --- 3. raw arrays into the detector: works, or a clear ValueError ------------------------------------

@pytest.mark.parametrize("name", sorted(ODD))
def test_detector_accepts_any_layout_and_rejects_the_rest_with_value_error(
        name: str, detect: Callable[[np.ndarray], list]) -> None:
    raw, _ = ODD[name]
    if is_frame_shaped(raw):
        dets = detect(raw)  # type: ignore[arg-type]
        assert_detections_inside(dets, raw.shape[1], raw.shape[0])  # type: ignore[union-attr]
    else:
        with pytest.raises(ValueError, match="expected a non-empty HxWx3 uint8 BGR image"):
            detect(raw)  # type: ignore[arg-type]


# --- very large frames --------------------------------------------------------------------------------

def _astronaut() -> np.ndarray:
    return photo("astronaut.png")  # fails (never skips) when the photo is missing


@pytest.fixture(scope="module")
def frame_8k() -> np.ndarray:
    """An 8K (7680x4320) BGR frame with the astronaut's portrait, face about 1500 px wide."""
    canvas = np.full((K8_H, K8_W, 3), 90, np.uint8)
    portrait = cv2.resize(_astronaut(), (K8_H, K8_H), interpolation=cv2.INTER_LINEAR)
    x0 = (K8_W - K8_H) // 2
    canvas[:, x0:x0 + K8_H] = portrait
    return canvas


@pytest.mark.parametrize("variant", ["bgr", "gray", "bgra", "negative_strides"])
def test_8k_frames_are_analysed(variant: str, frame_8k: np.ndarray, analyzer: FaceAnalyzer) -> None:
    raw = {
        "bgr": lambda: frame_8k,
        "gray": lambda: cv2.cvtColor(frame_8k, cv2.COLOR_BGR2GRAY),
        "bgra": lambda: cv2.cvtColor(frame_8k, cv2.COLOR_BGR2BGRA),
        "negative_strides": lambda: frame_8k[:, ::-1],  # mirrored view: an upside-down face is not a face
    }[variant]()
    image, _ = normalise_image(raw)
    assert image is not None
    assert_frame_contract(image)
    assert image.shape == (K8_H, K8_W, 3)
    snap = process(analyzer, image)
    assert snap.frame_size == (K8_W, K8_H)
    assert len(snap.faces) == 1, snap.faces
    x1, y1, x2, y2 = snap.faces[0].box_xyxy
    # The face is in the middle third of the frame and large, in 8K pixels (not network pixels).
    assert K8_W / 3 < (x1 + x2) / 2 < 2 * K8_W / 3 and x2 - x1 > 600
    assert 0 <= y1 < y2 <= K8_H


def test_frames_changing_size_every_time_keep_working(analyzer: FaceAnalyzer, frame_8k: np.ndarray) -> None:
    """A camera that reconnects at another resolution: buffers are reallocated, tracks stay sane."""
    portrait = _astronaut()
    sizes = [(640, 480), (7680, 4320), (1, 1), (320, 240), (1920, 1080), (33, 700), (640, 480)]
    for w, h in sizes:
        image = frame_8k if (w, h) == (K8_W, K8_H) else cv2.resize(portrait, (w, h), interpolation=cv2.INTER_AREA)
        image.setflags(write=False)
        snap = process(analyzer, image)
        assert snap.frame_size == (w, h)
        for face in snap.faces:
            x1, y1, x2, y2 = face.box_xyxy
            assert 0 <= x1 <= x2 <= w and 0 <= y1 <= y2 <= h


# --- property-based fuzzing ------------------------------------------------------------------------

ANY_DTYPE = st.one_of(
    hnp.unsigned_integer_dtypes(endianness="?"),
    hnp.integer_dtypes(endianness="?"),
    hnp.floating_dtypes(endianness="?"),
    hnp.boolean_dtypes(),
    hnp.complex_number_dtypes(),
    hnp.datetime64_dtypes(),
    hnp.byte_string_dtypes(max_len=2),
)
FRAME_DTYPE = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int16, np.bool_])
SHAPES = st.one_of(
    hnp.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=9),  # anything, mostly invalid
    st.tuples(st.integers(1, 40), st.integers(1, 40)),  # gray
    st.tuples(st.integers(1, 40), st.integers(1, 40), st.sampled_from([1, 2, 3, 4, 5])),  # channels
)
LAYOUTS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "as_is": lambda a: a,
    "reversed": lambda a: a[::-1] if a.ndim else a,
    "every_other_row": lambda a: a[::2] if a.ndim else a,
    "last_axis_reversed": lambda a: a[..., ::-1] if a.ndim else a,
    "fortran": np.asfortranarray,
    "read_only": lambda a: _frozen(a),
}


def _frozen(a: np.ndarray) -> np.ndarray:
    b = a.copy()
    b.setflags(write=False)
    return b


@st.composite
def odd_images(draw: st.DrawFn, dtype: st.SearchStrategy = ANY_DTYPE) -> np.ndarray:
    array = draw(hnp.arrays(dtype=dtype, shape=SHAPES))
    return LAYOUTS[draw(st.sampled_from(sorted(LAYOUTS)))](array)


# No example database: nothing written into the working tree; a failure prints its example.
FUZZ = settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(raw=odd_images())
def test_fuzz_normalise_never_raises_and_keeps_the_contract(raw: np.ndarray) -> None:
    image, note = normalise_image(raw)
    if image is None:
        assert note
        return
    assert_frame_contract(image, like=raw)
    assert raw.ndim in (2, 3) and image.shape[:2] == raw.shape[:2]
    if is_frame_shaped(raw):
        np.testing.assert_array_equal(image, raw)


@FUZZ
@given(raw=odd_images(dtype=FRAME_DTYPE))
def test_fuzz_detector_and_analyzer_take_whatever_capture_lets_through(raw: np.ndarray,
                                                                      analyzer: FaceAnalyzer) -> None:
    image, _ = normalise_image(raw)
    if image is None:
        with pytest.raises(ValueError):
            analyzer.detect(raw)
        return
    dets = analyzer.detect(image)
    assert_detections_inside(dets, image.shape[1], image.shape[0])
    snap = process(analyzer, image)
    assert snap.frame_size == (image.shape[1], image.shape[0])


@settings(max_examples=15, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(odd_images(), min_size=1, max_size=8))
def test_fuzz_capture_thread_survives_any_sequence(items: list[np.ndarray]) -> None:
    cam = FaultyCamera([Garbage(items), Frames(1)], realtime=False, then="end", width=8, height=8)
    slot, stop = LatestFrame(), threading.Event()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=2.0)
    cap.start()
    frames = []
    while (f := slot.get(2.0)) is not None:
        frames.append(f)
    cap.join(1.0)
    stop.set()
    usable = sum(normalise_image(a)[0] is not None for a in items)
    assert cap.error is None and cap.finished and cap.reconnects == 0
    assert len(frames) == usable + 1 and cap.skipped == len(items) - usable
    for f in frames:
        assert_frame_contract(f.image)


@pytest.fixture(autouse=True)
def _no_leftover_threads() -> Iterator[None]:
    before = {t.ident for t in threading.enumerate()}
    yield
    extra = [t for t in threading.enumerate() if t.ident not in before and t.is_alive() and t.name.startswith("capture")]
    for t in extra:
        t.join(1.0)
    assert not [t for t in extra if t.is_alive()]


def test_the_full_analyzer_takes_every_odd_frame(frame_8k: np.ndarray) -> None:
    """``build_analyzer`` as `kiosk run` calls it, every attribute estimator on: the usable odd
    frames, an 8K frame with a face and a 1x1 frame all give snapshots."""
    from kiosk.models import ModelStore
    from kiosk.analysis.build import build_analyzer

    full = build_analyzer(CFG, ModelStore())
    try:
        images = [normalise_image(raw)[0] for raw, usable in ODD.values() if usable]
        images += [frame_8k, np.zeros((1, 1, 3), np.uint8), frame_8k]
        for image in images:
            assert image is not None
            snap = process(full, image)
            assert snap.frame_size == (image.shape[1], image.shape[0])
        assert len(snap.faces) == 1
    finally:
        full.close()
