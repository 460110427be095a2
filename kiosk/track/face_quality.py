"""Is this face good enough to compare? The gate in front of every re-identification embedding.

SFace compares frontal, sharp, large-enough faces well; a half-turned head, a face blurred by
walking, or a face a few pixels wide gives an embedding that is closer to *other* people's than
to the same person's frontal one. One such frame used to be enough to split a visitor in two (a
new id on the way in) or, worse, to vote for somebody else. The gate is cheap (landmark geometry
and one Laplacian on a 64-px crop, ~0.1 ms) so it runs on every due face, and a face that fails
is simply tried again a little later: identification waits for a good view instead of
committing on a bad one.

Measures (all from the detector's 5 points and the frame, no extra model):

* ``width_px``: face box width; SFace's crop is 112 px, below ~40 px the embedding degrades fast.
* ``yaw``: horizontal offset of the nose tip from the eye midpoint, along the eye line, in
  inter-ocular distances (0 frontal; ~0.2 at 30 deg; ~0.4 in near profile). Roll is removed by
  measuring along the eye line (the alignment undoes roll anyway).
* ``pitch``: where the nose tip sits between the eye line and the mouth line (about 0.5
  frontal; small when looking up, large when looking down).
* ``sharpness``: variance of the Laplacian of the face crop resized to 64 px wide (scale-free),
  low for motion blur and defocus.
* ``score``: the detector's confidence, low for occluded or partial faces.

Thresholds were set on the demo scene and the revisit video (docs/ACCURACY.md); they are
constants here, not configuration: they describe the embedding model, not the venue.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_WIDTH_PX = 40.0
MAX_ABS_YAW = 0.28
PITCH_RANGE = (0.22, 0.85)
MIN_SHARPNESS = 25.0
MIN_SCORE = 0.8
_CROP_W = 64


@dataclass(frozen=True, slots=True)
class FaceQuality:
    width_px: float
    yaw: float
    pitch: float
    sharpness: float
    score: float

    @property
    def reason(self) -> str | None:
        """Why the face is not good enough to embed, or None when it is."""
        if self.width_px < MIN_WIDTH_PX:
            return "small"
        if self.score < MIN_SCORE:
            return "occluded"
        if abs(self.yaw) > MAX_ABS_YAW:
            return "turned"
        if not PITCH_RANGE[0] <= self.pitch <= PITCH_RANGE[1]:
            return "tilted"
        if self.sharpness < MIN_SHARPNESS:
            return "blurred"
        return None

    @property
    def ok(self) -> bool:
        return self.reason is None

    @property
    def frontalness(self) -> float:
        """1 for a frontal face, falling with yaw and with pitch away from 0.5 (for ranking)."""
        return float(max(0.0, 1.0 - abs(self.yaw) / 0.5 - abs(self.pitch - 0.5)))


def landmark_pose(landmarks_px: np.ndarray) -> tuple[float, float]:
    """(yaw, pitch) proxies from YuNet's 5 points (see the module docstring)."""
    # Python floats rather than NumPy on 2-vectors: the same float64 arithmetic without a few
    # microseconds of call overhead per operation (this runs on every face due for an embedding).
    (rx, ry), (lx, ly), (nx, ny), (rmx, rmy), (lmx, lmy) = (
        np.asarray(landmarks_px, dtype=np.float64).reshape(5, 2).tolist())
    mid_x, mid_y = (rx + lx) / 2, (ry + ly) / 2
    ax, ay = lx - rx, ly - ry
    iod = math.hypot(ax, ay)
    if iod < 1e-6:
        return 1.0, 0.0
    ux, uy = ax / iod, ay / iod
    vx, vy = -uy, ux  # points from the eyes towards the mouth in image coordinates
    mouth_x, mouth_y = (rmx + lmx) / 2, (rmy + lmy) / 2
    yaw = ((nx - mid_x) * ux + (ny - mid_y) * uy) / iod
    down = (mouth_x - mid_x) * vx + (mouth_y - mid_y) * vy
    pitch = ((nx - mid_x) * vx + (ny - mid_y) * vy) / down if abs(down) > 1e-6 else 0.0
    return yaw, pitch


def sharpness(image: np.ndarray, box_xyxy: np.ndarray | tuple[float, ...]) -> float:
    """Variance of the Laplacian of the face box, resized to 64 px wide (grey)."""
    h, w = image.shape[:2]
    x0, y0, x1, y1 = (int(round(v)) for v in box_xyxy)
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return 0.0
    crop = image[y0:y1, x0:x1]
    scale = _CROP_W / (x1 - x0)
    small = cv2.resize(crop, (_CROP_W, max(4, int(round((y1 - y0) * scale)))), interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
    value = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    small.fill(0)  # a face crop: erased once measured
    return value


def face_quality(image: np.ndarray, box_xyxy: np.ndarray | tuple[float, ...], landmarks_px: np.ndarray,
                 score: float) -> FaceQuality:
    yaw, pitch = landmark_pose(landmarks_px)
    width = float(box_xyxy[2] - box_xyxy[0])
    score = float(score)
    # Sharpness is the only measure that touches pixels: it is measured only when every other
    # measure passes (otherwise it reads 0.0, and the reason is the first measure that failed).
    measured = (width >= MIN_WIDTH_PX and score >= MIN_SCORE and abs(yaw) <= MAX_ABS_YAW
                and PITCH_RANGE[0] <= pitch <= PITCH_RANGE[1])
    sharp = sharpness(image, box_xyxy) if measured else 0.0
    return FaceQuality(width, yaw, pitch, sharp, score)
