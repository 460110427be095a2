"""Face image quality on Rekognition's 0-100 scales: brightness and sharpness of the face box.

Both are cheap image statistics (no model; ~0.1 ms per face), computed on the face box clipped to
the frame, in grayscale (``cv2.COLOR_BGR2GRAY``: BT.601 luma).

- **Brightness** = mean luma / 255 * 100. Linear: 0 is a black box, 100 a white one; the demo
  photos' faces read 42-62.
- **Sharpness** = 100 * v / (v + ``SHARPNESS_HALF_VAR``), where v is the variance of the 3x3
  Laplacian of the face resized to ``SHARPNESS_SIZE_PX`` square (area-averaged when shrinking,
  bilinear when enlarging). Resizing first makes the figure independent of how large the face is
  in the frame *for the same image detail*; a face smaller than 128 px is enlarged, which adds no
  detail, so a distant face honestly reads less sharp. The curve is monotone, 0 for a flat
  patch, 50 at v = 100, towards 100 for crisp detail. Measured on the demo photos (faces of
  90-280 px): 70-88 as taken; 25-40 after a Gaussian blur of sigma = 1 % of the face width
  (~3 px on a 280-px face), 8-17 at 2 %, 3-5 at 5 %; 28-53 with the pixel values scaled by 0.4.
  Trade-off: the Laplacian measures contrast as much as focus, so a dim, low-contrast face also
  reads less sharp. That is what Rekognition's figure conveys too (how usable the crop is), but
  it is not a pure focus measure.
"""
from __future__ import annotations

import logging
from typing import Sequence

import cv2
import numpy as np

from kiosk.types import Quality
from kiosk.privacy.policy import wipe

log = logging.getLogger(__name__)

#: Side of the square the face is resized to before measuring sharpness.
SHARPNESS_SIZE_PX = 128
#: Laplacian variance that maps to sharpness 50.
SHARPNESS_HALF_VAR = 100.0


def sharpness_from_variance(laplacian_var: float) -> float:
    """The documented monotone map from Laplacian variance (>= 0) to 0..100."""
    v = max(float(laplacian_var), 0.0)
    return 100.0 * v / (v + SHARPNESS_HALF_VAR)


def face_quality(image_bgr: np.ndarray, box_xyxy: Sequence[float]) -> Quality:
    """Brightness and sharpness (0..100) of the face box in ``image_bgr`` (HxWx3 uint8 BGR).

    The box is clipped to the frame; ValueError if nothing of it is left (or the image is not
    HxWx3 uint8).
    """
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
    h, w = image_bgr.shape[:2]
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    left, top = max(int(np.floor(x1)), 0), max(int(np.floor(y1)), 0)
    right, bottom = min(int(np.ceil(x2)), w), min(int(np.ceil(y2)), h)
    if right - left < 2 or bottom - top < 2:
        raise ValueError(f"face box {tuple(box_xyxy)} has no area inside the {w}x{h} frame")
    gray = cv2.cvtColor(image_bgr[top:bottom, left:right], cv2.COLOR_BGR2GRAY)
    brightness = float(gray.mean()) / 255.0 * 100.0
    size = SHARPNESS_SIZE_PX
    interp = cv2.INTER_AREA if min(gray.shape) > size else cv2.INTER_LINEAR
    resized = cv2.resize(gray, (size, size), interpolation=interp)
    laplacian_var = float(cv2.Laplacian(resized, cv2.CV_32F).var())
    wipe(gray)  # face pixels: erased rather than left to the allocator (kiosk.privacy.policy)
    wipe(resized)
    return Quality(brightness=brightness, sharpness=sharpness_from_variance(laplacian_var))
