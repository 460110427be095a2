"""The quality gate in front of re-identification embeddings (kiosk.track.face_quality)."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.track.face_quality import MAX_ABS_YAW, face_quality, landmark_pose, sharpness

FRONTAL = np.array([[130, 140], [170, 140], [150, 160], [135, 180], [165, 180]], dtype=np.float32)
BOX = (100.0, 100.0, 200.0, 210.0)


def textured() -> np.ndarray:
    return np.random.default_rng(3).integers(0, 256, (300, 300, 3), dtype=np.uint8)


def test_frontal_pose_is_zero_yaw_and_mid_pitch_whatever_the_roll() -> None:
    yaw, pitch = landmark_pose(FRONTAL)
    assert yaw == pytest.approx(0.0) and pitch == pytest.approx(0.5)
    c = FRONTAL.mean(axis=0)
    rot = np.array([[np.cos(0.5), -np.sin(0.5)], [np.sin(0.5), np.cos(0.5)]], dtype=np.float32)
    rolled = (FRONTAL - c) @ rot.T + c
    assert landmark_pose(rolled) == pytest.approx((0.0, 0.5), abs=1e-5)


def test_turned_head_fails_with_its_reason() -> None:
    turned = FRONTAL.copy()
    turned[2, 0] += 0.4 * 40  # nose 0.4 inter-ocular distances towards one eye: near profile
    q = face_quality(textured(), BOX, turned, 0.95)
    assert abs(q.yaw) > MAX_ABS_YAW and q.reason == "turned" and not q.ok
    assert face_quality(textured(), BOX, FRONTAL, 0.95).ok


def test_small_blurred_and_occluded_faces_fail() -> None:
    image = textured()
    assert face_quality(image, (100, 100, 130, 130), FRONTAL, 0.95).reason == "small"
    assert face_quality(image, BOX, FRONTAL, 0.6).reason == "occluded"
    blurred = cv2.GaussianBlur(image, (0, 0), 6)
    assert sharpness(blurred, BOX) < sharpness(image, BOX)
    assert face_quality(blurred, BOX, FRONTAL, 0.95).reason == "blurred"
    assert face_quality(np.zeros_like(image), BOX, FRONTAL, 0.95).reason == "blurred"
