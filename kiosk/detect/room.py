"""Seeing the whole room at camera rate: a detection *strategy* over one YuNet session.

A single YuNet pass at ``detector.input_width`` (320 px by default) is cheap but blind to faces
narrower than ~10 px *after* the shrink: on a 1920x1080 camera that is every face under ~60 px,
i.e. anyone a few metres away. Running YuNet at full resolution on every frame finds them, but
costs ~15x the time and grows onnxruntime's arena (the 960-px detector needed ~500 MB).

This strategy pays full resolution only where and when it is needed, the way picamera2 pairs a
low-resolution stream with a full one:

1. **Base pass**, every frame: the whole frame shrunk to ``input_width`` (as before). Finds the
   near faces; cost unchanged.
2. **Scan pass**, one tile per frame: the frame is cut into equal, overlapping tiles of at most
   ``scan_tile_px`` x ``scan_tile_px`` *frame* pixels, analysed at full resolution in rotation.
   Every part of the room is looked at in full detail once per cycle (e.g. 8 tiles: every 0.27 s
   at 30 fps). A detection that touches an inner tile edge is dropped: the overlap (or the
   neighbouring tile) sees it whole.
3. **Zoom pass**, every frame: each face the strategy reported recently that is too small for
   the base pass (narrower than ``ZOOM_BELOW_INPUT_PX`` after the base shrink) gets a crop
   around it (``ZOOM_CONTEXT`` face widths), resized into a fixed ``ZOOM_CELL_PX`` cell; all
   cells are packed into one mosaic and detected in **one** session call. So a distant face, once
   found by the scan, is followed on every frame for ~0.3-1 ms in all, not only when its tile
   comes round again.

Candidates of the three passes are merged by NMS (score order, the configured IoU), so a face
seen by two passes is reported once. Input shapes stay few (base, one tile size, mosaics of 1-16
cells), so onnxruntime's per-shape memory plans stay bounded (RSS, see docs/PERFORMANCE.md).

With ``scan_tile_px: 0`` (the default) or a frame the base pass already sees at full resolution,
the strategy is the plain single pass, bit for bit.

The object is stateful (the tile rotation and the recent small faces) and not thread-safe: one
per inference thread, like :class:`~kiosk.detect.yunet.YuNetDetector`. Feeding it frames of a
new size resets its state.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from kiosk.detect.yunet import DIVISOR, YuNetDetector, nms
from kiosk.types import Detection, DetectorInput

log = logging.getLogger(__name__)

#: Faces narrower than this in the base pass's input pixels are followed by the zoom pass, and
#: scan tiles overlap by at least this (in frame pixels) so that every face the base pass may
#: miss is whole in some tile (YuNet's recall falls off below ~20-40 px: ACCURACY.md).
ZOOM_BELOW_INPUT_PX = 36.0
#: The zoom crop is this many face widths wide (context for YuNet, and room to move).
ZOOM_CONTEXT = 3.0
#: Side of one mosaic cell (network-input pixels); a multiple of 32.
ZOOM_CELL_PX = 96
#: Zoomed faces are at most this many times enlarged (more adds no detail, only blur).
ZOOM_MAX_UPSCALE = 2.5
#: At most this many faces are zoomed per frame (the smallest first): bounds the frame time.
ZOOM_MAX_FACES = 16
#: A remembered small face survives this many frames without being found again (turned head,
#: motion blur) before the zoom pass stops looking for it; the scan finds it again later.
ZOOM_KEEP_FRAMES = 4
#: Overlap of neighbouring scan tiles, as a share of the tile side: faces up to this size that
#: straddle a tile border are seen whole in one of the two tiles.
SCAN_OVERLAP = 0.15
#: A scan or zoom detection closer than this to an inner crop edge (input px) is dropped.
EDGE_MARGIN_PX = 2.0


@dataclass(frozen=True, slots=True)
class Tile:
    """A scan tile in frame pixels (x0, y0 inclusive; x1, y1 exclusive)."""

    x0: int
    y0: int
    x1: int
    y1: int


def scan_tiles(frame_w: int, frame_h: int, tile_px: int, overlap: float = SCAN_OVERLAP,
               min_overlap_px: float = 0.0) -> list[Tile]:
    """Equal-sized, overlapping tiles of at most ``tile_px`` per side covering the frame.

    Neighbours overlap by at least ``overlap`` x the side and ``min_overlap_px`` (capped at half
    the side), so any face up to that size lies whole inside one tile. Row-major order. A frame
    no larger than one tile gives one tile (the whole frame).
    """
    if tile_px <= 0:
        raise ValueError(f"tile_px must be positive, got {tile_px}")

    def axis(length: int) -> list[tuple[int, int]]:
        side = min(tile_px, length)
        if side >= length:
            return [(0, length)]
        step = side - min(max(side * overlap, min_overlap_px), side / 2)
        n = max(2, math.ceil((length - side) / step) + 1)
        starts = np.linspace(0, length - side, n).round().astype(int)
        return [(int(s), int(s) + side) for s in starts]

    return [Tile(x0, y0, x1, y1) for (y0, y1) in axis(frame_h) for (x0, x1) in axis(frame_w)]


@dataclass(frozen=True, slots=True)
class _Cell:
    """Where one zoom crop sits in the mosaic and how it maps back to the frame."""

    ox: int
    oy: int
    dw: int
    dh: int
    sx: float
    sy: float
    cx0: int
    cy0: int
    inner: tuple[bool, bool, bool, bool]


@dataclass(slots=True)
class _Hint:
    box_xyxy: tuple[float, float, float, float]
    missed: int = 0


@dataclass(slots=True)
class PassCounts:
    """What the last call did (for tests, the bench and the eval report)."""

    base: int = 0
    scan: int = 0
    zoom: int = 0
    tile_index: int | None = None
    zoomed_faces: int = 0
    merged: int = 0
    calls: int = 0
    totals: dict[str, int] = field(default_factory=lambda: {"frames": 0, "scan_frames": 0, "zoom_frames": 0,
                                                            "zoomed_faces": 0, "calls": 0})


class RoomDetector:
    """Base + rotating full-resolution scan + zoom around small faces (see the module docstring).

    ``detect(image)`` has the same contract as :meth:`YuNetDetector.detect`: faces in frame
    pixels, highest score first, boxes clipped, faces narrower than ``min_face_px`` dropped.
    ``hint_score`` is the score a detection needs to be followed by the zoom pass (the kiosk's
    operating threshold; an evaluation can detect at a lower ``score_threshold`` for AP without
    zooming on every weak candidate).
    """

    def __init__(
        self,
        session: Any,
        input_width: int,
        score_threshold: float,
        nms_iou_threshold: float,
        top_k: int,
        min_face_px: int,
        scan_tile_px: int,
        hint_score: float | None = None,
    ) -> None:
        if scan_tile_px < 0:
            raise ValueError(f"scan_tile_px must be >= 0 (0 = off), got {scan_tile_px}")
        self.base = YuNetDetector(session, input_width, score_threshold, nms_iou_threshold, top_k, min_face_px)
        self.scan_tile_px = int(scan_tile_px)
        self.score_threshold = float(score_threshold)
        self.nms_iou_threshold = float(nms_iou_threshold)
        self.top_k = int(top_k)
        self.min_face_px = int(min_face_px)
        self.hint_score = float(score_threshold if hint_score is None else hint_score)
        # Full-resolution passes: detectors that never shrink (input_width >= any crop given).
        self._tile_det: YuNetDetector | None = None
        self._zoom_det = YuNetDetector(session, 4096, score_threshold, nms_iou_threshold, top_k, 0)
        self._frame_size: tuple[int, int] | None = None
        self._tiles: list[Tile] = []
        self._next_tile = 0
        self._hints: list[_Hint] = []
        self._session = session
        self.last = PassCounts()

    @property
    def active(self) -> bool:
        """Whether the scan and zoom passes run (they do when the base pass shrinks the frame)."""
        return bool(self._tiles)

    @property
    def tiles(self) -> list[Tile]:
        return list(self._tiles)

    def reset(self) -> None:
        """Forget the rotation and the remembered faces (a new scene)."""
        self._next_tile = 0
        self._hints = []

    def _setup(self, frame_w: int, frame_h: int) -> None:
        self._frame_size = (frame_w, frame_h)
        self.reset()
        shrinks = frame_w > self.base.input_width
        if self.scan_tile_px and shrinks:
            # The base pass sees faces from ZOOM_BELOW_INPUT_PX input pixels up; anything smaller
            # must fit whole into a tile.
            blind_px = ZOOM_BELOW_INPUT_PX * frame_w / self.base.input_width
            self._tiles = scan_tiles(frame_w, frame_h, self.scan_tile_px, min_overlap_px=blind_px * 1.1)
            tw = self._tiles[0].x1 - self._tiles[0].x0
            self._tile_det = YuNetDetector(self._session, max(DIVISOR, tw), self.score_threshold,
                                           self.nms_iou_threshold, self.top_k, 0)
        else:
            self._tiles = []
            self._tile_det = None
        log.debug("room detector: frame %dx%d, %d scan tiles", frame_w, frame_h, len(self._tiles))

    def detect(self, image_bgr: np.ndarray, prepared: DetectorInput | None = None) -> list[Detection]:
        """Faces in ``image_bgr`` (HxWx3 uint8 BGR) from the base, scan and zoom passes, merged.

        ``prepared``: the base pass's input made on the capture thread (see :meth:`YuNetDetector.detect`)."""
        h, w = image_bgr.shape[:2]
        if self._frame_size != (w, h):
            self._setup(w, h)
        base = self.base.detect(image_bgr, prepared)
        counts = PassCounts(base=len(base), calls=1, totals=self.last.totals)
        if not self._tiles:
            counts.merged = len(base)
            self._account(counts)
            return base
        candidates: list[Detection] = list(base)
        # Scan: one full-resolution tile per frame, in rotation.
        tile = self._tiles[self._next_tile]
        counts.tile_index = self._next_tile
        self._next_tile = (self._next_tile + 1) % len(self._tiles)
        scan = self._detect_tile(image_bgr, tile, w, h)
        counts.scan = len(scan)
        counts.calls += 1
        candidates.extend(scan)
        # Zoom: around the small faces found recently, one mosaic, one call.
        zoom, zoomed = self._zoom(image_bgr, w, h)
        counts.zoom, counts.zoomed_faces = len(zoom), zoomed
        counts.calls += 1 if zoomed else 0
        candidates.extend(zoom)
        merged = self._merge(candidates)
        counts.merged = len(merged)
        self._remember(merged, w)
        self._account(counts)
        return merged

    # -- passes ------------------------------------------------------------------------------------
    def _detect_tile(self, image: np.ndarray, tile: Tile, w: int, h: int) -> list[Detection]:
        assert self._tile_det is not None
        crop = image[tile.y0:tile.y1, tile.x0:tile.x1]
        found = self._tile_det.detect(crop)
        inner = (tile.x0 > 0, tile.y0 > 0, tile.x1 < w, tile.y1 < h)
        return [d for d in (_shift(d, tile.x0, tile.y0, 1.0, 1.0, (tile.x1 - tile.x0, tile.y1 - tile.y0), inner)
                            for d in found) if d is not None]

    def _zoom(self, image: np.ndarray, w: int, h: int) -> tuple[list[Detection], int]:
        if not self._hints:
            return [], 0
        hints = sorted(self._hints, key=lambda hint: hint.box_xyxy[2] - hint.box_xyxy[0])[:ZOOM_MAX_FACES]
        n = len(hints)
        cols = math.ceil(math.sqrt(n))
        rows = math.ceil(n / cols)
        cell = ZOOM_CELL_PX
        mosaic = np.zeros((rows * cell, cols * cell, 3), np.uint8)
        plans: list[_Cell] = []
        for i, hint in enumerate(hints):
            x1, y1, x2, y2 = hint.box_xyxy
            side = max(max(x2 - x1, y2 - y1) * ZOOM_CONTEXT, cell / ZOOM_MAX_UPSCALE)
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            cx0 = int(max(0, min(w - 1, round(cx - side / 2))))
            cy0 = int(max(0, min(h - 1, round(cy - side / 2))))
            cx1 = int(min(w, round(cx + side / 2)))
            cy1 = int(min(h, round(cy + side / 2)))
            scale = cell / max(cx1 - cx0, cy1 - cy0)
            dw = max(1, min(cell, round((cx1 - cx0) * scale)))
            dh = max(1, min(cell, round((cy1 - cy0) * scale)))
            r, c = divmod(len(plans), cols)
            ox, oy = c * cell, r * cell
            interp = cv2.INTER_LINEAR if scale >= 1.0 else cv2.INTER_AREA
            mosaic[oy:oy + dh, ox:ox + dw] = cv2.resize(image[cy0:cy1, cx0:cx1], (dw, dh), interpolation=interp)
            plans.append(_Cell(ox, oy, dw, dh, dw / (cx1 - cx0), dh / (cy1 - cy0), cx0, cy0,
                               (cx0 > 0, cy0 > 0, cx1 < w, cy1 < h)))
        if not plans:
            return [], 0
        found = self._zoom_det.detect(mosaic)
        out: list[Detection] = []
        for d in found:
            cxm = (d.box_xyxy[0] + d.box_xyxy[2]) / 2
            cym = (d.box_xyxy[1] + d.box_xyxy[3]) / 2
            c, r = int(cxm // cell), int(cym // cell)
            i = r * cols + c
            if not (0 <= c < cols and i < len(plans)):
                continue
            moved = _shift_back(d, plans[i], w, h)
            if moved is not None:
                out.append(moved)
        return out, len(plans)

    # -- bookkeeping --------------------------------------------------------------------------------
    def _merge(self, candidates: list[Detection]) -> list[Detection]:
        if not candidates:
            return []
        boxes = np.array([[d.box_xyxy[0], d.box_xyxy[1], d.width_px, d.height_px] for d in candidates], np.float32)
        scores = np.array([d.score for d in candidates], np.float32)
        keep = nms(boxes, scores, self.score_threshold, self.nms_iou_threshold, self.top_k)
        merged = [candidates[int(i)] for i in keep if candidates[int(i)].width_px >= self.min_face_px]
        merged.sort(key=lambda d: d.score, reverse=True)
        return merged

    def _remember(self, merged: list[Detection], frame_w: int) -> None:
        """Small faces found now become zoom hints; old hints not found again age out."""
        limit_px = ZOOM_BELOW_INPUT_PX * frame_w / self.base.input_width
        small = [d for d in merged if d.score >= self.hint_score and d.width_px < limit_px]
        kept: list[_Hint] = [_Hint(d.box_xyxy) for d in small]
        if self._hints:
            new_boxes = np.array([h.box_xyxy for h in kept], np.float64).reshape(-1, 4)
            all_boxes = np.array([d.box_xyxy for d in merged], np.float64).reshape(-1, 4)
            for hint in self._hints:
                # Found again (as a small or now large face): replaced above or no longer needed.
                if len(all_boxes) and _best_iou(hint.box_xyxy, all_boxes) > 0.3:
                    continue
                if len(new_boxes) and _best_iou(hint.box_xyxy, new_boxes) > 0.3:
                    continue
                if hint.missed + 1 < ZOOM_KEEP_FRAMES:
                    kept.append(_Hint(hint.box_xyxy, hint.missed + 1))
        self._hints = kept[:ZOOM_MAX_FACES * 2]

    def _account(self, counts: PassCounts) -> None:
        t = counts.totals
        t["frames"] += 1
        t["scan_frames"] += 1 if counts.tile_index is not None else 0
        t["zoom_frames"] += 1 if counts.zoomed_faces else 0
        t["zoomed_faces"] += counts.zoomed_faces
        t["calls"] += counts.calls
        self.last = counts


def _best_iou(box: tuple[float, float, float, float], boxes: np.ndarray) -> float:
    ix = np.clip(np.minimum(boxes[:, 2], box[2]) - np.maximum(boxes[:, 0], box[0]), 0, None)
    iy = np.clip(np.minimum(boxes[:, 3], box[3]) - np.maximum(boxes[:, 1], box[1]), 0, None)
    inter = ix * iy
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    union = area + areas - inter
    return float(np.max(np.where(union > 0, inter / np.maximum(union, 1e-9), 0.0)))


def _touches_inner_edge(box: tuple[float, float, float, float], size: tuple[float, float],
                        inner: tuple[bool, bool, bool, bool]) -> bool:
    """Whether a box (crop pixels) touches a crop edge that is not also a frame edge."""
    x1, y1, x2, y2 = box
    cw, ch = size
    m = EDGE_MARGIN_PX
    return ((inner[0] and x1 <= m) or (inner[1] and y1 <= m)
            or (inner[2] and x2 >= cw - m) or (inner[3] and y2 >= ch - m))


def _shift(d: Detection, dx: float, dy: float, sx: float, sy: float, size: tuple[float, float],
           inner: tuple[bool, bool, bool, bool]) -> Detection | None:
    """A crop detection in frame pixels (crop scaled by sx, sy then offset), or None at an inner edge."""
    if _touches_inner_edge(d.box_xyxy, size, inner):
        return None
    x1, y1, x2, y2 = d.box_xyxy
    lm = d.landmarks_px / np.array([sx, sy], np.float32) + np.array([dx, dy], np.float32)
    lm.flags.writeable = False
    return Detection(box_xyxy=(x1 / sx + dx, y1 / sy + dy, x2 / sx + dx, y2 / sy + dy),
                     landmarks_px=lm, score=d.score)


def _shift_back(d: Detection, cell: "_Cell", w: int, h: int) -> Detection | None:
    """A mosaic detection back in frame pixels; None when it spills out of its cell's crop."""
    x1, y1, x2, y2 = d.box_xyxy
    ox, oy, sx, sy, cx0, cy0 = cell.ox, cell.oy, cell.sx, cell.sy, cell.cx0, cell.cy0
    local = (x1 - ox, y1 - oy, x2 - ox, y2 - oy)
    m = EDGE_MARGIN_PX
    if local[0] < -m or local[1] < -m or local[2] > cell.dw + m or local[3] > cell.dh + m:
        return None
    if _touches_inner_edge(local, (cell.dw, cell.dh), cell.inner):
        return None
    fx1 = min(max(local[0] / sx + cx0, 0.0), float(w))
    fy1 = min(max(local[1] / sy + cy0, 0.0), float(h))
    fx2 = min(max(local[2] / sx + cx0, 0.0), float(w))
    fy2 = min(max(local[3] / sy + cy0, 0.0), float(h))
    lm = (d.landmarks_px - np.array([ox, oy], np.float32)) / np.array([sx, sy], np.float32) \
        + np.array([cx0, cy0], np.float32)
    lm = np.ascontiguousarray(lm, np.float32)
    lm.flags.writeable = False
    return Detection(box_xyxy=(fx1, fy1, fx2, fy2), landmarks_px=lm, score=d.score)
