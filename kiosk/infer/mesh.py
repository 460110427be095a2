"""MediaPipe's face mesh (478 points with the irises), run on a crop around a detector box.

The legacy ``mediapipe.solutions.face_mesh`` graph bundles its models inside the mediapipe
wheel (nothing is downloaded). Its own face detector is short-range: it misses faces smaller
than ~100 px (0 of 6 faces of 50-100 px in a group photo, docs/MODELS.md). So the mesh is run
on a square crop around the YuNet box instead -- the box's longer side doubled, centred on the
box, resampled to 256x256 -- where every face fills about half the image, and the points are
mapped back to frame pixels.

Side effects of mediapipe, measured here (traced with strace) and not handled in this module:
- its C++ code logs to stderr: 2 lines per graph created, 3 more on the first graph / first
  face of the process; none per frame. No environment variable silences them
  (GLOG_minloglevel, TF_CPP_MIN_LOG_LEVEL, ABSL_MIN_LOG_LEVEL, GLOG_stderrthreshold tried).
- any mediapipe import runs ``mediapipe.solutions``, which imports matplotlib: on first import
  it would create ``~/.config/matplotlib`` (empty), run ``fc-list`` and write
  ``~/.cache/matplotlib/fontlist-*.json`` (the system's font list, nothing about faces) and cost
  ~0.8 s. :func:`import_face_mesh` keeps matplotlib out of that import. mediapipe itself
  writes no file.
"""
from __future__ import annotations

import functools
import logging
import math
import sys
import types
from typing import Any

import cv2
import numpy as np

from kiosk.infer.face_signals import MESH_POINTS  # 468 mesh points + 5 per iris (refine_landmarks)
from kiosk.privacy.policy import wipe

log = logging.getLogger(__name__)

#: Side of the square crop given to the mesh graph (its landmark model itself runs at 192x192
#: on a region it finds in this crop; 256 leaves its detector enough pixels).
CROP_PX = 256
#: At the frame's edge, squares up to this side (3 MB of pixels) are padded and resized; larger
#: ones are warped (``FaceMesher._crop``), so a huge frame cannot make a huge temporary copy.
MAX_PADDED_SIDE_PX = 1024
#: The crop's side is this times the detector box's longer side: YuNet's box is tight around
#: the face, MediaPipe's short-range detector expects a face covering about half the image.
BOX_SCALE = 2.0


class _NoMatplotlib(types.ModuleType):
    """Stands in for matplotlib while mediapipe is imported (see :func:`import_face_mesh`)."""

    def __getattr__(self, name: str) -> Any:
        raise AttributeError(f"matplotlib.{name}: mediapipe's drawing utilities are not available in the "
                             "kiosk (matplotlib is kept out of its import; kiosk.infer.mesh)")


def import_face_mesh() -> Any:
    """``mediapipe.python.solutions.face_mesh``, imported without matplotlib.

    Importing any part of mediapipe runs ``mediapipe.solutions``, whose drawing utilities import
    ``matplotlib.pyplot`` at the top: about 0.8 s of the kiosk's start-up (the visitor's first
    picture waits for it), a font list scanned with ``fc-list`` and written to a cache folder --
    for plotting code the kiosk never calls. While mediapipe is imported, ``matplotlib`` and
    ``matplotlib.pyplot`` are placeholders that raise if used, and they are removed again
    afterwards, so whoever imports matplotlib later in the process gets the real one. If
    matplotlib is already imported, it is left alone. Imported lazily: a kiosk with the mesh
    switched off never pays for mediapipe at all.
    """
    placeholders = {name: _NoMatplotlib(name) for name in ("matplotlib", "matplotlib.pyplot")
                    if name not in sys.modules}
    sys.modules.update(placeholders)
    try:
        from mediapipe.python.solutions import face_mesh  # type: ignore[import-untyped]
    finally:
        for name, module in placeholders.items():
            if sys.modules.get(name) is module:
                del sys.modules[name]
    return face_mesh


# The name of MediaPipe's executor that runs a graph's calculators on the thread waiting for it.
APPLICATION_THREAD_EXECUTOR = "ApplicationThreadExecutor"


def run_on_caller_thread(config: Any) -> Any:
    """Make ``config`` (a ``CalculatorGraphConfig``) run on the thread that waits for the graph.

    A MediaPipe graph normally runs its calculators on a pool of its own threads, and
    ``SolutionBase.process`` puts the caller to sleep in ``wait_until_idle`` until they are done:
    for the kiosk's mesh, two thread hand-offs and a ~3 ms sleep of the inference thread per
    face. With the default executor of type ``ApplicationThreadExecutor``, MediaPipe's scheduler
    instead runs every task inside ``wait_until_idle``, on the calling thread
    (``Scheduler::ApplicationThreadAwait``): the same calculators in the same order, so the same
    points (tests/test_mesh.py), with no thread switch, two threads fewer, and ~0.3 ms less per
    face (docs/PERFORMANCE.md, round 6). The graph's own executor entry (unnamed, no type: the
    default thread pool) is retyped, or one is added; named executors are left alone.
    """
    default = next((e for e in config.executor if not e.name), None)
    if default is None:
        default = config.executor.add()
    default.type = APPLICATION_THREAD_EXECUTOR
    default.ClearField("options")  # thread-pool options (thread count, nice) mean nothing here
    config.ClearField("num_threads")  # a graph-level thread count would clash with the executor
    return config


@functools.lru_cache(maxsize=1)
def _caller_thread_face_mesh() -> type:
    """``mediapipe``'s ``FaceMesh`` whose graph runs on the calling thread (:func:`run_on_caller_thread`).

    Built on first use (importing mediapipe costs ~1 s). The hook is ``SolutionBase``'s own step
    that returns the validated graph config just before the graph is created from it. The class
    keeps MediaPipe's name, which is what the bench's model timers report.
    """
    face_mesh = import_face_mesh()

    class FaceMesh(face_mesh.FaceMesh):  # type: ignore[misc, name-defined]
        def _initialize_graph_interface(self, *args: Any, **kwargs: Any) -> Any:
            return run_on_caller_thread(super()._initialize_graph_interface(*args, **kwargs))

    return FaceMesh


# A NormalizedLandmarkList serialises each landmark as one 17-byte record when x, y and z are
# all present and nothing else is: tag 0x0a (field 1, bytes), length 15, then 0x0d x, 0x15 y,
# 0x1d z as little-endian float32. Reading that with one strided numpy view is ~10 us per mesh
# against ~250 us (quiet machine) to several ms (busy) for 478 x 3 attribute reads through the
# protobuf API.
_RECORD = 17
#: (byte offset in a record, expected byte) of the five tag and length bytes.
_RECORD_TAGS = ((0, 0x0A), (1, 0x0F), (2, 0x0D), (7, 0x15), (12, 0x1D))


@functools.lru_cache(maxsize=4)
def _expected_tags(n: int) -> tuple[tuple[int, bytes], ...]:
    """Each tag byte's offset and the bytes ``n`` records hold there (every ``_RECORD``-th byte)."""
    return tuple((offset, bytes([value]) * n) for offset, value in _RECORD_TAGS)


def landmarks_array(landmark_list: Any, out: np.ndarray) -> np.ndarray:
    """The (N, 3) float32 x, y, z of a MediaPipe ``NormalizedLandmarkList``, written into ``out``.

    Fast path: one ``SerializeToString``, the tag bytes checked with strided byte slices, and the
    floats copied through one strided numpy view (see ``_RECORD``). Any other layout (a
    coordinate exactly 0.0 is omitted by proto3, visibility/presence fields present) falls back
    to the attribute loop, so the result is always exact.
    """
    n = out.shape[0]
    data = landmark_list.SerializeToString()
    if len(data) == n * _RECORD and all(data[offset::_RECORD] == expected
                                        for offset, expected in _expected_tags(n)):
        # x at byte 3 of each record, y at 8, z at 13: a (n, 3) view with strides (17, 5).
        out[:] = np.ndarray((n, 3), "<f4", buffer=data, offset=3, strides=(_RECORD, 5))
        return out
    for i, lm in enumerate(landmark_list.landmark):
        out[i, 0] = lm.x
        out[i, 1] = lm.y
        out[i, 2] = lm.z
    return out


class FaceMesher:
    """Face-mesh points of one face at a time, in frame pixels.

    Thread ownership: the underlying MediaPipe graph keeps per-graph state and its ``process``
    must not be called concurrently, and the crop buffers are reused. Create one ``FaceMesher``
    per inference thread, use it only there, and ``close()`` it from the same thread. The graph's
    calculators run on that thread too (:func:`run_on_caller_thread`): a mesh starts no thread.

    The graph runs in static-image mode (its face detector on every call): each call is
    independent of the previous one, so one mesher serves all tracks in any order. Video mode
    would be ~2 ms cheaper per face but carries a face from call to call, which needs one graph
    per track. ``min_detection_confidence`` is MediaPipe's own detector threshold inside the
    crop; the crop already holds a face the kiosk's detector found, so its default (0.5) rarely
    matters.
    """

    def __init__(self, min_detection_confidence: float = 0.5) -> None:
        if not 0.0 <= min_detection_confidence <= 1.0:
            raise ValueError(f"min_detection_confidence must be in [0, 1], got {min_detection_confidence}")
        self._graph: Any = _caller_thread_face_mesh()(
            static_image_mode=True,
            max_num_faces=1,
            refine_landmarks=True,
            min_detection_confidence=min_detection_confidence,
        )
        # Reused between calls; wiped after each (they hold face pixels: see kiosk.privacy.policy).
        self._crop_px = np.zeros((CROP_PX, CROP_PX, 3), np.uint8)  # BGR crop, then RGB in place
        self._affine = np.zeros((2, 3), np.float64)
        self._raw = np.empty((MESH_POINTS, 3), np.float32)

    def crop_transform(self, box_xyxy: tuple[float, float, float, float]) -> tuple[float, float, float]:
        """(scale, offset_x, offset_y) of the crop for ``box_xyxy``: crop = frame * scale + offset."""
        x1, y1, x2, y2 = (float(v) for v in box_xyxy)
        side_px = BOX_SCALE * max(x2 - x1, y2 - y1)
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or side_px < 1.0:
            raise ValueError(f"box_xyxy must be a finite box at least 1 px wide, got {box_xyxy}")
        scale = CROP_PX / side_px
        centre = 0.5 * CROP_PX
        return scale, centre - scale * 0.5 * (x1 + x2), centre - scale * 0.5 * (y1 + y2)

    def run(self, image_bgr: np.ndarray, box_xyxy: tuple[float, float, float, float]) -> np.ndarray | None:
        """Mesh of the face in ``box_xyxy`` of ``image_bgr`` (HxWx3 uint8 BGR), or None if the mesh fails.

        Returns a new (478, 3) float32 array: x, y in frame pixels, z in the same pixel scale
        (MediaPipe's relative depth, growing away from the camera; its zero is near the head's
        centre, not the camera). Parts of the crop outside the frame are black, so faces at the
        frame's edge still mesh (less exactly). None when MediaPipe finds no face in the crop.
        """
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8 or image_bgr.size == 0:
            raise ValueError(f"image_bgr: expected a non-empty HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
        if self._graph is None:
            raise RuntimeError("FaceMesher.run called after close()")
        scale, offset_x, offset_y = self._crop(image_bgr, box_xyxy)
        crop = self._crop_px
        cv2.cvtColor(crop, cv2.COLOR_BGR2RGB, dst=crop)  # in place: one buffer to fill and wipe
        try:
            result = self._graph.process(crop)
        finally:
            wipe(crop)
        faces = result.multi_face_landmarks
        if not faces:
            log.debug("no mesh for box %s", box_xyxy)
            return None
        landmarks = faces[0].landmark
        if len(landmarks) != MESH_POINTS:
            log.warning("mesh returned %d points, expected %d (refine_landmarks off?)", len(landmarks), MESH_POINTS)
            return None
        raw = landmarks_array(faces[0], self._raw)
        # Normalised crop coordinates -> crop pixels -> frame pixels. MediaPipe scales z like x
        # (by the crop width), so it maps with the same factor and no offset.
        points = raw * np.float32(CROP_PX / scale)
        points -= np.array((offset_x / scale, offset_y / scale, 0.0), np.float32)
        return points

    def _crop(self, image_bgr: np.ndarray, box_xyxy: tuple[float, float, float, float]) -> tuple[float, float, float]:
        """Fill ``self._crop_px`` with the crop around ``box_xyxy``; (scale, offset_x, offset_y) of its
        transform, crop = frame * scale + offset (pixel-centre convention of ``cv2.warpAffine``).

        Inside the frame, the crop is an integer-aligned square of the box's doubled side (its
        centre and side rounded to whole pixels) resized to ``CROP_PX``: ``cv2.resize`` costs a
        third to a half of ``cv2.warpAffine`` for the same output (measured: 50-90 against 175
        us per crop). It differs from the exact square by at most half a pixel in position and
        side, less than the detector box moves between frames, and the points are mapped back
        through the rounded square's own transform. At the frame's edge, the part of that square
        inside the frame is padded with black to the whole square first (squares up to
        ``MAX_PADDED_SIDE_PX``; beyond, one warp does crop, scale and border without the copy).
        All sample bilinearly, as MediaPipe's own ImageToTensor does.
        """
        frame_h, frame_w = image_bgr.shape[:2]
        x1, y1, x2, y2 = (float(v) for v in box_xyxy)  # plain floats, whatever the box holds
        side_px = BOX_SCALE * max(x2 - x1, y2 - y1)
        if not (math.isfinite(x1 + y1 + x2 + y2) and side_px >= 1.0):
            return self.crop_transform(box_xyxy)  # raises ValueError naming the box
        side = round(side_px)
        left = round(0.5 * (x1 + x2 - side))
        top = round(0.5 * (y1 + y2 - side))
        # cv2.resize samples output pixel i at input (i + 0.5) / scale - 0.5 + left.
        scale = CROP_PX / side
        transform = scale, (0.5 - left) * scale - 0.5, (0.5 - top) * scale - 0.5
        if left >= 0 and top >= 0 and left + side <= frame_w and top + side <= frame_h:
            cv2.resize(image_bgr[top:top + side, left:left + side], (CROP_PX, CROP_PX), dst=self._crop_px,
                       interpolation=cv2.INTER_LINEAR)
            return transform
        x0, y0, x1c, y1c = max(left, 0), max(top, 0), min(left + side, frame_w), min(top + side, frame_h)
        if side <= MAX_PADDED_SIDE_PX and x1c > x0 and y1c > y0:
            # At the frame's edge: the same square of the frame padded with black, then resized
            # (a copy of the square, at most 3 MB, then the resize: about half a warp's cost).
            square = cv2.copyMakeBorder(image_bgr[y0:y1c, x0:x1c], y0 - top, top + side - y1c, x0 - left,
                                        left + side - x1c, cv2.BORDER_CONSTANT, value=(0, 0, 0))
            try:
                cv2.resize(square, (CROP_PX, CROP_PX), dst=self._crop_px, interpolation=cv2.INTER_LINEAR)
            finally:
                wipe(square)  # a face crop too
            return transform
        scale, offset_x, offset_y = self.crop_transform(box_xyxy)
        affine = self._affine
        affine[0, 0] = affine[1, 1] = scale
        affine[0, 2], affine[1, 2] = offset_x, offset_y
        # INTER_AREA would alias less when shrinking big faces, but warpAffine does not support
        # it; linear is what MediaPipe's own ImageToTensor uses.
        cv2.warpAffine(
            image_bgr, affine, (CROP_PX, CROP_PX), dst=self._crop_px,
            flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
        )
        return scale, offset_x, offset_y

    def close(self) -> None:
        """Release the MediaPipe graph (idempotent)."""
        if self._graph is not None:
            self._graph.close()
            self._graph = None

    def __enter__(self) -> FaceMesher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
