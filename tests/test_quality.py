"""Brightness and sharpness of a face box (no model; synthetic images and the astronaut photo)."""
from __future__ import annotations


import cv2
import numpy as np
import pytest

from kiosk.infer.quality import SHARPNESS_HALF_VAR, face_quality, sharpness_from_variance
from modelkit import photo_path


def _textured(seed: int = 0, size: int = 300) -> np.ndarray:
    """A face-sized patch with detail at several scales (noise, blurred blobs, edges)."""
    rng = np.random.default_rng(seed)
    base = cv2.GaussianBlur(rng.normal(128, 60, (size, size)).astype(np.float32), (0, 0), 6)
    detail = rng.normal(0, 25, (size, size)).astype(np.float32)
    img = np.clip(base + detail, 0, 255).astype(np.uint8)
    cv2.rectangle(img, (60, 60), (240, 240), 30, 3)
    return cv2.cvtColor(img, cv2.COLOR_GRAY2BGR)


BOX = (40.0, 40.0, 260.0, 260.0)


def test_values_in_range_and_flat_patches() -> None:
    q = face_quality(_textured(), BOX)
    assert 0.0 <= q.brightness <= 100.0 and 0.0 <= q.sharpness <= 100.0
    black = face_quality(np.zeros((100, 100, 3), np.uint8), (10, 10, 90, 90))
    white = face_quality(np.full((100, 100, 3), 255, np.uint8), (10, 10, 90, 90))
    assert (black.brightness, black.sharpness) == (0.0, 0.0)
    assert white.brightness == pytest.approx(100.0) and white.sharpness == 0.0


def test_blurred_copy_is_less_sharp_and_blur_is_monotone() -> None:
    image = _textured()
    values = [face_quality(image, BOX).sharpness]
    for sigma in (1.0, 2.0, 4.0, 8.0):
        values.append(face_quality(cv2.GaussianBlur(image, (0, 0), sigma), BOX).sharpness)
    assert all(a > b for a, b in zip(values, values[1:])), values
    assert values[0] > 50.0 > values[-1]


def test_darkened_copy_is_darker() -> None:
    image = _textured()
    q = face_quality(image, BOX)
    dark = face_quality((image * 0.4).astype(np.uint8), BOX)
    assert dark.brightness < q.brightness
    assert dark.brightness == pytest.approx(q.brightness * 0.4, abs=1.0)  # linear in luma


def test_only_the_box_counts_and_boxes_are_clipped() -> None:
    image = np.zeros((200, 200, 3), np.uint8)
    image[:, 100:] = 200
    assert face_quality(image, (0, 0, 100, 200)).brightness == 0.0
    right = face_quality(image, (100, 0, 200, 200))
    assert right.brightness == pytest.approx(200 / 255 * 100)
    # Partly outside the frame: clipped to the part inside.
    assert face_quality(image, (150, -50, 260, 250)).brightness == pytest.approx(right.brightness)
    with pytest.raises(ValueError):
        face_quality(image, (300, 300, 400, 400))
    with pytest.raises(ValueError):
        face_quality(image[:, :, 0], (0, 0, 50, 50))


def test_sharpness_curve_is_monotone_and_documented() -> None:
    assert sharpness_from_variance(0.0) == 0.0
    assert sharpness_from_variance(SHARPNESS_HALF_VAR) == pytest.approx(50.0)
    xs = np.geomspace(0.01, 1e6, 50)
    ys = [sharpness_from_variance(x) for x in xs]
    assert all(a < b for a, b in zip(ys, ys[1:])) and ys[-1] < 100.0
    assert sharpness_from_variance(-5.0) == 0.0


def test_real_face_blur_and_dark() -> None:
    path = photo_path("astronaut.png")  # fails (never skips) when the photo is missing
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    box = (178.0, 63.0, 268.0, 176.0)  # the astronaut's face as YuNet finds it
    q = face_quality(image, box)
    blurred = face_quality(cv2.GaussianBlur(image, (0, 0), 2.0), box)
    dark = face_quality((image * 0.5).astype(np.uint8), box)
    assert 30 < q.brightness < 80 and q.sharpness > 50
    assert blurred.sharpness < q.sharpness - 20
    assert dark.brightness < q.brightness - 20
