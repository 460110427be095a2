"""Multi-face tracker: stable track ids across frames from IoU plus a constant-velocity motion model.

Lifetimes are in seconds of the pipeline clock, not in frames, so a kiosk that slows down (or
a replay processed faster than real time) keeps the same behaviour.

Matching is greedy by descending IoU between each track's predicted box and the detections,
then, for what is left, by centre distance relative to face size (a face that moved more than
its width between two frames has no IoU with its last box, and a new track has no velocity
yet to predict it). With the handful of faces a kiosk sees, greedy matching gives the same assignment as the
Hungarian algorithm in practice and avoids a SciPy dependency for one call.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from kiosk.types import Detection

log = logging.getLogger(__name__)

# Velocity smoothing: weight of the newest measurement. Low enough to ignore detector jitter,
# high enough to follow a visitor who starts walking.
_VELOCITY_ALPHA = 0.4
# A prediction never extrapolates further than this: a face unseen for a second has most likely
# stopped or left, and a runaway prediction would steal another face's detection.
_MAX_PREDICT_S = 0.5
# Second pass: centre distance below this many face sizes, and a size ratio within bounds.
_MAX_CENTRE_DIST = 1.0
_MAX_SIZE_RATIO = 1.5


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two xyxy boxes, in Python floats (0 when the union is empty).

    Pair by pair rather than as a NumPy matrix: a kiosk sees a handful of faces, and on 8 x 8
    pairs NumPy's per-call overhead cost more than the arithmetic.
    """
    iw = max(min(a[2], b[2]) - max(a[0], b[0]), 0.0)
    ih = max(min(a[3], b[3]) - max(a[1], b[1]), 0.0)
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / max(union, 1e-9) if union > 0 else 0.0


@dataclass(slots=True)
class Track:
    """One face followed over time. Owned and mutated by the inference thread only."""

    track_id: int
    box: np.ndarray  # (4,) float64 xyxy, last measured
    landmarks_px: np.ndarray  # (5, 2)
    score: float
    first_seen_s: float
    last_seen_s: float
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4))  # px/s per box coordinate
    hits: int = 1

    def predict(self, t_s: float) -> np.ndarray:
        """The box expected at ``t_s`` under constant velocity (bounded extrapolation)."""
        dt = min(max(t_s - self.last_seen_s, 0.0), _MAX_PREDICT_S)
        return self.box + self.velocity * dt

    def age_s(self, t_s: float) -> float:
        return t_s - self.first_seen_s


@dataclass(frozen=True, slots=True)
class TrackUpdate:
    """Result of one tracker step: tracks matched or created this frame, and tracks that ended."""

    active: tuple[Track, ...]
    new: tuple[Track, ...]
    ended: tuple[Track, ...]


class Tracker:
    """IoU + motion tracker with lifetimes in seconds.

    ``update(detections, t_s)`` returns the tracks that were seen in this frame (matched or new)
    and the tracks that ended because they were unseen for longer than ``max_missing_s``.
    Tracks unseen for less than that are kept (not reported as active) so a face that the
    detector misses for a frame or two keeps its id.
    """

    def __init__(self, iou_threshold: float, max_missing_s: float) -> None:
        if not 0.0 < iou_threshold < 1.0:
            raise ValueError(f"iou_threshold must be in (0, 1), got {iou_threshold}")
        if max_missing_s <= 0:
            raise ValueError(f"max_missing_s must be > 0 seconds, got {max_missing_s}")
        self.iou_threshold = iou_threshold
        self.max_missing_s = max_missing_s
        self._tracks: dict[int, Track] = {}
        self._next_id = 1

    @property
    def tracks(self) -> tuple[Track, ...]:
        """All live tracks, including those briefly unseen."""
        return tuple(self._tracks.values())

    def update(self, detections: list[Detection], t_s: float) -> TrackUpdate:
        tracks = list(self._tracks.values())
        det_boxes = [tuple(map(float, d.box_xyxy)) for d in detections]
        predicted = [t.predict(t_s).tolist() for t in tracks]
        # Every (track, detection) pair over the threshold, by descending IoU.
        pairs = sorted(((overlap, ti, di) for ti, p in enumerate(predicted) for di, d in enumerate(det_boxes)
                        if (overlap := iou(p, d)) >= self.iou_threshold), key=lambda x: -x[0])

        matched: list[Track] = []
        used_tracks: set[int] = set()
        used_dets: set[int] = set()
        for _, ti, di in pairs:
            if ti in used_tracks or di in used_dets:
                continue
            used_tracks.add(ti)
            used_dets.add(di)
            self._apply(tracks[ti], detections[di], t_s)
            matched.append(tracks[ti])

        for ti, di in self._match_by_distance(predicted, det_boxes, used_tracks, used_dets):
            used_tracks.add(ti)
            used_dets.add(di)
            self._apply(tracks[ti], detections[di], t_s)
            matched.append(tracks[ti])

        new: list[Track] = []
        for di, det in enumerate(detections):
            if di in used_dets:
                continue
            track = Track(
                track_id=self._next_id,
                box=np.asarray(det.box_xyxy, dtype=np.float64),
                landmarks_px=np.asarray(det.landmarks_px, dtype=np.float32),
                score=det.score,
                first_seen_s=t_s,
                last_seen_s=t_s,
            )
            self._next_id += 1
            self._tracks[track.track_id] = track
            new.append(track)

        ended = [t for t in tracks if t_s - t.last_seen_s > self.max_missing_s]
        for t in ended:
            del self._tracks[t.track_id]
        return TrackUpdate(active=tuple(matched + new), new=tuple(new), ended=tuple(ended))

    def end_all(self) -> tuple[Track, ...]:
        """End every track (source switched or stopped)."""
        ended = tuple(self._tracks.values())
        self._tracks.clear()
        return ended

    @staticmethod
    def _match_by_distance(predicted: Sequence[Sequence[float]], dets: Sequence[Sequence[float]],
                           used_tracks: set[int], used_dets: set[int]) -> list[tuple[int, int]]:
        """Greedy pairs of leftover tracks and detections whose centres are close for their size."""
        if len(used_tracks) == len(predicted) or len(used_dets) == len(dets):
            return []  # nothing left on one side (the usual case: every face matched by IoU)
        pairs: list[tuple[float, int, int]] = []
        for ti, p in enumerate(predicted):
            if ti in used_tracks:
                continue
            p_size = math.sqrt(max((p[2] - p[0]) * (p[3] - p[1]), 1e-6))
            for di, d in enumerate(dets):
                if di in used_dets:
                    continue
                d_size = math.sqrt(max((d[2] - d[0]) * (d[3] - d[1]), 1e-6))
                if max(p_size, d_size) / min(p_size, d_size) > _MAX_SIZE_RATIO:
                    continue
                dist = math.hypot((p[0] + p[2] - d[0] - d[2]) / 2,
                                  (p[1] + p[3] - d[1] - d[3]) / 2) / max(p_size, d_size)
                if dist < _MAX_CENTRE_DIST:
                    pairs.append((dist, ti, di))
        chosen: list[tuple[int, int]] = []
        taken_t: set[int] = set()
        taken_d: set[int] = set()
        for _, ti, di in sorted(pairs):
            if ti not in taken_t and di not in taken_d:
                taken_t.add(ti)
                taken_d.add(di)
                chosen.append((ti, di))
        return chosen

    @staticmethod
    def _apply(track: Track, det: Detection, t_s: float) -> None:
        box = np.asarray(det.box_xyxy, dtype=np.float64)
        dt = t_s - track.last_seen_s
        if dt > 1e-6:
            measured = (box - track.box) / dt
            track.velocity = (1 - _VELOCITY_ALPHA) * track.velocity + _VELOCITY_ALPHA * measured
        track.box = box
        track.landmarks_px = np.asarray(det.landmarks_px, dtype=np.float32)
        track.score = det.score
        track.last_seen_s = t_s
        track.hits += 1
