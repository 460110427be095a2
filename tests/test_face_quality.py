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


def test_pose_equals_the_vector_formula_on_any_points() -> None:
    """The Python-float pose is the documented vector arithmetic (projections on the eye line)."""
    rng = np.random.default_rng(3)
    for _ in range(300):
        lm = (FRONTAL + rng.normal(0.0, 8.0, FRONTAL.shape)).astype(np.float32)
        p = lm.astype(np.float64)
        eye_mid, axis = (p[0] + p[1]) / 2, p[1] - p[0]
        u = axis / np.hypot(*axis)
        v = np.array([-u[1], u[0]])
        down = np.dot((p[3] + p[4]) / 2 - eye_mid, v)
        want = (np.dot(p[2] - eye_mid, u) / np.hypot(*axis), np.dot(p[2] - eye_mid, v) / down)
        assert landmark_pose(lm) == pytest.approx(want, rel=1e-12, abs=1e-12)
    same_eyes = FRONTAL.copy()
    same_eyes[1] = same_eyes[0]
    assert landmark_pose(same_eyes) == (1.0, 0.0)


def test_sharpness_is_measured_only_when_everything_else_passes() -> None:
    image = textured()
    assert face_quality(image, BOX, FRONTAL, 0.95).sharpness > 0.0
    occluded = face_quality(image, BOX, FRONTAL, 0.6)
    assert occluded.reason == "occluded" and occluded.sharpness == 0.0
    tilted = FRONTAL.copy()
    tilted[2, 1] = tilted[0, 1] + 1.0  # nose on the eye line: looking up
    q = face_quality(image, BOX, tilted, 0.95)
    assert q.reason == "tilted" and q.sharpness == 0.0
