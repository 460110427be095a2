"""YuNet face detection on an onnxruntime session: preprocessing, decoding and NMS.

Why not ``cv2.FaceDetectorYN``: it runs the same model through OpenCV's DNN module, about 2x
slower here than onnxruntime with a symbolic-size input (both at 1 thread: ~17 vs ~8 ms at
640x480, ~4.5 vs ~2.4 ms at 320x240), and it cannot share onnxruntime's thread settings with the
other models. The decoding below reproduces FaceDetectorYN's
(``modules/objdetect/src/face_detect.cpp``), so the two agree to well under a thousandth of a
pixel; the tests check that.

One deliberate difference: FaceDetectorYN truncates boxes to integer ``Rect2i`` before NMS, we
pass float boxes. That only changes which of two heavily overlapping candidates is suppressed in
borderline IoU cases, and the float version is the geometrically correct one.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from typing import Any, Mapping

import cv2
import numpy as np

from kiosk.errors import ModelError
from kiosk.errors import wrong_model_message
from kiosk.types import Detection, DetectorInput

log = logging.getLogger(__name__)

#: Feature-map strides of YuNet's three heads; output names are ``cls_8``, ``obj_8``, ... ``kps_32``.
STRIDES: tuple[int, ...] = (8, 16, 32)
#: The graph works at any H, W divisible by this (the coarsest stride).
DIVISOR = 32
_HEADS = ("cls", "obj", "bbox", "kps")
OUTPUT_NAMES: tuple[str, ...] = tuple(f"{head}_{s}" for head in _HEADS for s in STRIDES)


def decode_yunet(
    outputs: Mapping[str, np.ndarray], input_w: int, input_h: int, score_threshold: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decode YuNet's raw outputs into candidate faces (before NMS), in network-input pixels.

    ``outputs`` maps ``cls_s``/``obj_s`` ``[1,N,1]``, ``bbox_s`` ``[1,N,4]``, ``kps_s`` ``[1,N,10]``
    for s in 8, 16, 32 with N = (input_h/s)*(input_w/s) and anchor index ``row*cols + col``.

    Returns ``(boxes_xywh (K,4), scores (K,), landmarks (K,5,2))``, all float32, where boxes are
    ``(x1, y1, w, h)`` and K counts anchors with ``score >= score_threshold`` (the comparison
    FaceDetectorYN uses), in stride-then-anchor order. Thresholding happens *before* the box and
    landmark arithmetic, so the cost is one vectorised pass over the scores plus O(K).

    Raises ValueError if an output is missing or its anchor count does not match the input size
    (the usual symptom of passing the wrong ``input_w``/``input_h``).
    """
    lo, hi = np.float32(0.0), np.float32(1.0)
    # A relative margin of 1e-4 is far above float32 rounding (~1e-7) of the product and the root.
    prefilter = float(score_threshold) ** 2 * (1.0 - 1e-4) if score_threshold > 0.0 else 0.0
    boxes: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    landmarks: list[np.ndarray] = []
    # Stride by stride, and the box and landmark arithmetic only on the anchors that pass the
    # threshold (a few dozen of ~1,600 at 320x256): about a dozen NumPy calls per stride. Same
    # float32 operations in the same order as before, so the same numbers.
    for (n, anchors, stride), names in zip(_anchor_table(input_w, input_h), _OUTPUTS_BY_STRIDE):
        try:
            cls, obj, bbox, kps = (np.asarray(outputs[name], dtype=np.float32) for name in names)
        except KeyError as exc:
            raise ValueError(f"YuNet output {exc.args[0]!r} missing; got {sorted(outputs)}") from None
        if cls.size != n or obj.size != n or bbox.size != 4 * n or kps.size != 10 * n:
            raise ValueError(
                f"YuNet stride {int(stride)}: expected {n} anchors for a {input_w}x{input_h} input, got "
                f"cls {cls.size}, obj {obj.size}, bbox {bbox.size // 4}, kps {kps.size // 10}"
            )
        cls, obj = cls.reshape(n), obj.reshape(n)
        if prefilter > 0.0:
            # Candidates first, by the unclamped product against a bar a little below the
            # threshold squared: every anchor whose score passes is among them (clamping only
            # lowers a product that is positive, and the bar leaves room for rounding), and they
            # are a few dozen of ~1,600, so the exact score below runs on them only. Three NumPy
            # calls over the whole stride instead of eight.
            idx = np.flatnonzero(cls * obj >= prefilter)
            if idx.size == 0:
                continue
            cls, obj = cls[idx], obj[idx]
        else:
            idx = None
        # Same clamping and geometric mean as FaceDetectorYN (clip = max, then min).
        score = np.sqrt(np.minimum(np.maximum(cls, lo), hi) * np.minimum(np.maximum(obj, lo), hi))
        passed = np.flatnonzero(score >= score_threshold)
        if passed.size == 0:
            continue
        idx = passed if idx is None else idx[passed]
        score = score[passed]
        # (K,2) anchor offsets as (col, row) = (x, y), times the stride, float32 like OpenCV's arithmetic.
        anchor = anchors[idx]
        b = bbox.reshape(n, 4)[idx]
        centre = (anchor + b[:, :2]) * stride
        size = np.exp(b[:, 2:]) * stride
        boxes.append(np.concatenate((centre - size / np.float32(2.0), size), axis=1))
        scores.append(score)
        landmarks.append((kps.reshape(n, 5, 2)[idx] + anchor[:, None, :]) * stride)
    if not scores:
        return (np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0, 5, 2), np.float32))
    if len(scores) == 1:
        return boxes[0], scores[0], landmarks[0]
    return np.concatenate(boxes), np.concatenate(scores), np.concatenate(landmarks)


_OUTPUTS_BY_STRIDE = tuple(tuple(f"{head}_{stride}" for head in _HEADS) for stride in STRIDES)


@functools.lru_cache(maxsize=8)
def _anchor_table(input_w: int, input_h: int) -> tuple[tuple[int, np.ndarray, np.float32], ...]:
    """Per stride: anchor count, every anchor's (col, row) as (A, 2) float32, and the stride."""
    tables = []
    for stride in STRIDES:
        cols, rows = input_w // stride, input_h // stride
        row, col = np.divmod(np.arange(rows * cols), cols)
        anchors = np.stack((col, row), axis=1).astype(np.float32)
        anchors.flags.writeable = False
        tables.append((rows * cols, anchors, np.float32(stride)))
    return tuple(tables)


def nms(boxes_xywh: np.ndarray, scores: np.ndarray, score_threshold: float, iou_threshold: float, top_k: int) -> np.ndarray:
    """Indices kept by ``cv2.dnn.NMSBoxes`` (greedy NMS, the implementation FaceDetectorYN uses).

    ``top_k`` caps the number of highest-scoring candidates *considered* (OpenCV semantics;
    0 or less means no cap). The result is sorted by score, highest first.
    """
    if scores.shape[0] == 0:
        return np.zeros((0,), np.intp)
    # Python lists, not arrays: the binding converts a (K, 4) array to Rect2d boxes ~3x slower
    # (73 vs 26 us for 70 candidates, measured here); float32 -> float -> double is exact, so
    # the boxes and scores NMS sees are the same numbers.
    keep = cv2.dnn.NMSBoxes(np.asarray(boxes_xywh, np.float64).tolist(), np.asarray(scores, np.float64).tolist(),
                            float(score_threshold), float(iou_threshold), top_k=int(max(top_k, 0)))
    # OpenCV returns () for nothing kept and (K,) or (K,1) arrays depending on the version.
    return np.asarray(keep, dtype=np.intp).reshape(-1)


@dataclass(frozen=True, slots=True)
class InputGeometry:
    """How a frame maps onto the network input: resized to ``resized_*``, zero-padded to ``input_*``."""

    frame_w: int
    frame_h: int
    resized_w: int
    resized_h: int
    input_w: int
    input_h: int

    @property
    def scale_x(self) -> float:
        """Frame pixels per network-input pixel, horizontally."""
        return self.frame_w / self.resized_w

    @property
    def scale_y(self) -> float:
        """Frame pixels per network-input pixel, vertically."""
        return self.frame_h / self.resized_h


def input_geometry(frame_w: int, frame_h: int, input_width: int,
                   fixed_w: int | None = None, fixed_h: int | None = None) -> InputGeometry:
    """The resize/pad plan for a frame (see :class:`YuNetDetector`): shrink to ``input_width``
    wide (never enlarge), pad to multiples of 32, or fit and pad to a fixed-size input."""
    scale = min(1.0, input_width / frame_w)
    if fixed_w is not None:
        scale = min(scale, fixed_w / frame_w)
    if fixed_h is not None:
        scale = min(scale, fixed_h / frame_h)
    resized_w = max(1, min(round(frame_w * scale), fixed_w or frame_w))
    resized_h = max(1, min(round(frame_h * scale), fixed_h or frame_h))
    return InputGeometry(
        frame_w=frame_w,
        frame_h=frame_h,
        resized_w=resized_w,
        resized_h=resized_h,
        input_w=fixed_w or _round_up(resized_w, DIVISOR),
        input_h=fixed_h or _round_up(resized_h, DIVISOR),
    )


def check_image(image_bgr: object) -> None:
    """Raise ValueError unless ``image_bgr`` is a non-empty HxWx3 uint8 array (see ``detect``)."""
    if not isinstance(image_bgr, np.ndarray):
        raise ValueError(f"expected a non-empty HxWx3 uint8 BGR image, got {type(image_bgr).__name__}")
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8 or image_bgr.size == 0:
        raise ValueError(f"expected a non-empty HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")


class _InputBuffers:
    """The uint8 work buffers that turn a frame into a network input of one geometry."""

    def __init__(self, geo: InputGeometry) -> None:
        self.geo = geo
        self.resized = np.empty((geo.resized_h, geo.resized_w, 3), np.uint8)
        self.plane_list = list(np.empty((3, geo.resized_h, geo.resized_w), np.uint8))

    def fill(self, image_bgr: np.ndarray, blob: np.ndarray) -> None:
        """Write ``image_bgr``, resized, into the top-left of ``blob`` (its padding is left as it is)."""
        geo = self.geo
        if (geo.resized_w, geo.resized_h) != (geo.frame_w, geo.frame_h):
            # INTER_AREA averages every source pixel when shrinking; INTER_LINEAR samples 2x2 of
            # them and aliases fine detail at 2x and beyond. Same cost here (~0.1 ms at 640x480).
            image_bgr = cv2.resize(
                image_bgr, (geo.resized_w, geo.resized_h), dst=self.resized, interpolation=cv2.INTER_AREA
            )
        # HWC uint8 -> CHW float32 via cv2.split into preallocated uint8 planes, then one
        # contiguous converting copy: 0.1 ms at 640x480, against 0.37 ms for a strided
        # transpose-assignment, up to 0.9 ms for cv2.split allocating fresh planes (page faults)
        # and ~5 ms for cv2.dnn.blobFromImage (all measured here).
        # Assign from what split returns (the preallocated planes) rather than the list, so a
        # binding that ever reallocated its outputs could not leave stale pixels behind.
        for channel, plane in enumerate(cv2.split(image_bgr, self.plane_list)):
            blob[0, channel, : geo.resized_h, : geo.resized_w] = plane


class DetectorInputMaker:
    """Makes each frame's :class:`~kiosk.types.DetectorInput` off the inference thread.

    Called by the capture thread on every frame it delivers (``CaptureThread.prepare``), so the
    shrink and the float conversion (0.15-0.3 ms a frame inside the running kiosk, measured in
    docs/PERFORMANCE.md, round 6) overlap with the inference of the previous frame. The input is
    exactly what :meth:`YuNetDetector.preprocess` makes for a detector of the same
    ``input_width`` with a symbolic-size model (the one ``kiosk.models`` provides); a
    fixed-size model ignores it. Each call returns a new array: the previous frame's may still be
    in the detector's hands. Not thread-safe (one maker per capture thread).
    """

    def __init__(self, input_width: int) -> None:
        if input_width < DIVISOR:
            raise ValueError(f"input_width must be >= {DIVISOR}, got {input_width}")
        self.input_width = int(input_width)
        self._buffers: _InputBuffers | None = None

    def __call__(self, image_bgr: np.ndarray) -> DetectorInput:
        check_image(image_bgr)
        frame_h, frame_w = image_bgr.shape[:2]
        buffers = self._buffers
        if buffers is None or (buffers.geo.frame_w, buffers.geo.frame_h) != (frame_w, frame_h):
            buffers = self._buffers = _InputBuffers(input_geometry(frame_w, frame_h, self.input_width))
        geo = buffers.geo
        blob = np.empty((1, 3, geo.input_h, geo.input_w), np.float32)
        blob[:, :, geo.resized_h:, :] = 0.0  # the padding, bottom and right
        blob[:, :, : geo.resized_h, geo.resized_w:] = 0.0
        buffers.fill(image_bgr, blob)
        blob.flags.writeable = False  # shared with the inference thread
        return DetectorInput(input_width=self.input_width, resized_w=geo.resized_w, resized_h=geo.resized_h,
                             blob=blob)


def _symbolic(dim: object) -> tuple[object, ...]:
    """``(dim,)`` when an ONNX dimension is symbolic (a name or None), else ``()``: for ``in`` tests."""
    return (dim,) if dim is None or isinstance(dim, str) else ()


def _round_up(value: int, divisor: int) -> int:
    return -(-value // divisor) * divisor


class YuNetDetector:
    """Face detector over a YuNet ``onnxruntime.InferenceSession`` (fixed or symbolic H/W input).

    Frames are downscaled (never upscaled: that costs time and adds no detail) so that their
    width is ``input_width``, then zero-padded bottom/right: to a multiple of 32 when the
    session's H/W are symbolic, to the fixed size otherwise (downscaling further if the frame
    would not fit). A fixed 640x640 input therefore wastes the padded area; the symbolic model
    from ``kiosk.models`` avoids that.

    Not thread-safe: the network input buffer is reused between calls (one detector per
    inference thread).
    """

    def __init__(
        self,
        session: Any,
        input_width: int,
        score_threshold: float,
        nms_iou_threshold: float,
        top_k: int,
        min_face_px: int,
    ) -> None:
        if input_width < DIVISOR:
            raise ValueError(f"input_width must be >= {DIVISOR}, got {input_width}")
        if input_width % DIVISOR:
            # Still works (the input is padded up), but the padding is wasted work.
            log.warning("input_width %d is not a multiple of %d; the input will be padded", input_width, DIVISOR)
        self._session = session
        self.input_width = int(input_width)
        self.score_threshold = float(score_threshold)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.top_k = int(top_k)
        self.min_face_px = int(min_face_px)

        # The file's sha256 was checked when it was loaded, so these checks only fire for a file
        # (or manifest) that was replaced; they turn what would be an onnxruntime error on the
        # first frame (exit 1, restart loop) into a start-up error naming the fix (exit 2).
        inputs = session.get_inputs()
        if len(inputs) != 1:
            raise ModelError(wrong_model_message(session, f"the YuNet model should have 1 input, it has {len(inputs)}"))
        inp = inputs[0]
        shape = list(inp.shape)
        expected = f"expected float32 [1, 3, H, W] (NCHW, BGR, H and W multiples of {DIVISOR})"
        layout_ok = (
            inp.type == "tensor(float)"
            and len(shape) == 4
            and shape[0] in (1,) + _symbolic(shape[0])
            and shape[1] in (3,) + _symbolic(shape[1])
            and all(isinstance(d, int) and d >= DIVISOR and d % DIVISOR == 0 or _symbolic(d) for d in shape[2:])
        )
        if not layout_ok:
            hint = " (channels last: an NHWC export)" if len(shape) == 4 and shape[3] == 3 and shape[1] != 3 else ""
            raise ModelError(wrong_model_message(
                session, f"YuNet input {inp.name!r} is {inp.type} {shape}{hint}, {expected}"))
        self._input_name: str = inp.name
        # Integer dims are fixed; strings / None are symbolic.
        self.fixed_h: int | None = shape[2] if isinstance(shape[2], int) else None
        self.fixed_w: int | None = shape[3] if isinstance(shape[3], int) else None
        available = {o.name for o in session.get_outputs()}
        missing = [name for name in OUTPUT_NAMES if name not in available]
        if missing:
            raise ModelError(wrong_model_message(session, f"the YuNet model lacks outputs {missing}"))
        self._output_names: list[str] = list(OUTPUT_NAMES)
        # Per-frame-size buffers, reallocated only when the frame size changes.
        self._geometry: InputGeometry | None = None
        self._blob: np.ndarray | None = None
        self._buffers: _InputBuffers | None = None  # made on the first frame it must prepare itself
        self._frame_scale: tuple[np.ndarray, np.ndarray] = (np.ones(2, np.float32), np.ones(2, np.float32))
        log.debug("YuNet input %s (fixed h=%s w=%s), input_width %d", inp.shape, self.fixed_h, self.fixed_w, input_width)

    def geometry_for(self, frame_w: int, frame_h: int) -> InputGeometry:
        """The resize/pad plan for a frame of this size (see the class docstring)."""
        return input_geometry(frame_w, frame_h, self.input_width, self.fixed_w, self.fixed_h)

    def _geometry_of(self, frame_w: int, frame_h: int) -> InputGeometry:
        """This frame size's plan, remembered with the factors that map boxes back to the frame."""
        geo = self._geometry
        if geo is None or geo.frame_w != frame_w or geo.frame_h != frame_h:
            geo = self.geometry_for(frame_w, frame_h)
            # Network input -> frame pixels, and the frame's size (boxes are clipped to it).
            self._frame_scale = (np.array([geo.scale_x, geo.scale_y], np.float32),
                                 np.array([geo.frame_w, geo.frame_h], np.float32))
            self._geometry = geo
            log.debug("YuNet geometry %s", geo)
        return geo

    def preprocess(self, image_bgr: np.ndarray) -> tuple[np.ndarray, InputGeometry]:
        """Resize and pad ``image_bgr`` into the reused ``[1,3,H,W]`` float32 network input.

        The returned array is the detector's own buffer: it is overwritten by the next call.
        Any HxWx3 uint8 array works, whatever its strides (slices, negative strides, Fortran
        order, read-only); anything else raises ``ValueError`` (see :meth:`detect`).
        """
        check_image(image_bgr)
        frame_h, frame_w = image_bgr.shape[:2]
        geo = self._geometry_of(frame_w, frame_h)
        if self._buffers is None or self._buffers.geo != geo:
            # Zeroed once: only the resized region is overwritten afterwards, so the padding
            # stays zero as long as the frame size does not change.
            self._blob = np.zeros((1, 3, geo.input_h, geo.input_w), np.float32)
            self._buffers = _InputBuffers(geo)
        blob = self._blob
        assert blob is not None
        self._buffers.fill(image_bgr, blob)
        return blob, geo

    def _input(self, image_bgr: np.ndarray, prepared: DetectorInput | None) -> tuple[np.ndarray, InputGeometry]:
        """``prepared``'s blob when it is exactly this detector's input for the frame, else :meth:`preprocess`."""
        if prepared is None or self.fixed_w is not None or self.fixed_h is not None:
            return self.preprocess(image_bgr)
        check_image(image_bgr)
        geo = self._geometry_of(image_bgr.shape[1], image_bgr.shape[0])
        blob = prepared.blob
        if (prepared.input_width == self.input_width and (prepared.resized_w, prepared.resized_h) ==
                (geo.resized_w, geo.resized_h) and blob.shape == (1, 3, geo.input_h, geo.input_w)
                and blob.dtype == np.float32):
            return blob, geo
        return self.preprocess(image_bgr)

    def detect(self, image_bgr: np.ndarray, prepared: DetectorInput | None = None) -> list[Detection]:
        """Faces in ``image_bgr`` (HxWx3 uint8 BGR), in frame pixels, highest score first.

        ``prepared``: the frame's network input made on the capture thread
        (:class:`DetectorInputMaker`), used when it is exactly the input this detector would
        make; otherwise (or None) the detector makes its own.

        Boxes are clipped to the frame and faces narrower than ``min_face_px`` (after clipping)
        are dropped; landmarks are not clipped (alignment copes with points slightly outside).

        Input contract: ``Frame.image`` (HxWx3 uint8 BGR, any size from 1x1 to 8K and beyond,
        any strides). It is *enforced* upstream, where frames enter the pipeline
        (``kiosk.capture.source.normalise_image``, which converts gray, BGRA, 16-bit and float
        images and skips unusable ones); here it is only *checked*: anything else raises
        ``ValueError`` naming the shape and dtype received, because reaching this point with it
        is a programming error that converting silently would hide.
        """
        blob, geo = self._input(image_bgr, prepared)
        raw = self._session.run(self._output_names, {self._input_name: blob})
        outputs = dict(zip(self._output_names, raw))
        boxes, scores, landmarks = decode_yunet(outputs, geo.input_w, geo.input_h, self.score_threshold)
        keep = nms(boxes, scores, self.score_threshold, self.nms_iou_threshold, self.top_k)
        if keep.size == 0:
            return []
        boxes, scores, landmarks = boxes[keep], scores[keep], landmarks[keep]
        scale, limit = self._frame_scale
        landmarks = landmarks * scale
        x1y1 = boxes[:, :2] * scale
        x2y2 = (boxes[:, :2] + boxes[:, 2:]) * scale
        # np.maximum/np.minimum are np.clip's arithmetic without its ~5 us of Python wrapper.
        x1y1 = np.minimum(np.maximum(x1y1, np.float32(0.0)), limit)
        x2y2 = np.minimum(np.maximum(x2y2, np.float32(0.0)), limit)
        # One new (K, 5, 2) float32 array for all the faces' landmarks, read-only because a
        # Detection is an immutable value shared across stages; each face gets a row of it (a
        # contiguous, read-only view) rather than a copy of its own.
        landmarks = np.ascontiguousarray(landmarks, dtype=np.float32)
        landmarks.flags.writeable = False
        detections: list[Detection] = []
        # tolist() gives the same Python floats as float() per element, converted in C.
        corners = np.concatenate((x1y1, x2y2), axis=1).tolist()
        score_list = scores.tolist()
        min_face_px = self.min_face_px
        for i, (x1, y1, x2, y2) in enumerate(corners):
            if x2 - x1 < min_face_px:
                continue
            detections.append(Detection(box_xyxy=(x1, y1, x2, y2), landmarks_px=landmarks[i], score=score_list[i]))
        # NMSBoxes already returns score order; the stable sort makes it a guarantee of this API.
        detections.sort(key=lambda d: d.score, reverse=True)
        return detections
