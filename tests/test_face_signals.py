"""Head pose, gaze, eyes, mouth, smile and the per-track temporal state (blinks, attention, smoothing).

The temporal tests drive ``FaceSignalTracker.update_signals`` with scripted measurements and a
fake clock (no model). The geometry tests use real meshes of the demo photos (mediapipe, plus
the YuNet model and photos `make setup` fetches; they skip with that hint when absent), and
synthetic rotations of those meshes by known angles.
"""
from __future__ import annotations

import functools
import logging
import math
from typing import Any

import cv2
import numpy as np
import pytest

from kiosk.infer import face_signals as fs
from kiosk.infer.face_signal_tracker import FaceSignalTracker
from kiosk.infer.face_signals import FaceSignals
from kiosk.types import HeadPose
from modelkit import photo_path, require_model

log = logging.getLogger(__name__)

PHOTOS = ("astronaut.png", "obama.jpg", "obama2.jpg", "obama3.jpg", "biden.jpg")
# Looked at by eye (see the test docstrings): broad smiles showing teeth / not smiling.
SMILING = ("astronaut.png", "obama.jpg")
NOT_SMILING = ("obama2.jpg", "obama3.jpg", "biden.jpg")


# --------------------------------------------------------------------------- real meshes
# (kept in this file rather than a shared conftest so the test files stay independent)

def _models() -> Any:
    from kiosk import models

    return models


@functools.lru_cache(maxsize=None)
def _detector() -> Any:
    from kiosk.detect.yunet import YuNetDetector

    models = _models()
    path = require_model("yunet")  # fails (never skips) when the model is missing
    session = models.create_session(path, ["CPUExecutionProvider"], 1)
    return YuNetDetector(session, 640, 0.7, 0.3, 5000, 20)


@functools.lru_cache(maxsize=None)
def _mesher() -> Any:
    pytest.importorskip("mediapipe")
    from kiosk.infer.mesh import FaceMesher

    return FaceMesher()


@functools.lru_cache(maxsize=None)
def _mesh(name: str, flipped: bool = False) -> np.ndarray:
    """Mesh of the one face in a demo photo (optionally mirrored left-right), read-only."""
    path = photo_path(name)  # fails (never skips) when the photo is missing
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, path
    if flipped:
        image = np.ascontiguousarray(image[:, ::-1])
    detections = _detector().detect(image)
    assert len(detections) == 1, f"{name}: expected one face, got {len(detections)}"
    points = _mesher().run(image, detections[0].box_xyxy)
    assert points is not None, f"{name}: no mesh"
    points.flags.writeable = False
    return points


def _rotate(points: np.ndarray, rotation: np.ndarray) -> np.ndarray:
    """Turn a mesh rigidly about its own centre."""
    centre = points.mean(axis=0)
    return (points.astype(np.float64) - centre) @ rotation.T + centre


def _frontalised(points: np.ndarray) -> np.ndarray:
    """The mesh turned so that head_pose reads (0, 0, 0)."""
    return _rotate(points, fs.head_rotation(points).T)


# --------------------------------------------------------------------------- rotations


def test_rotation_matrix_round_trips_through_pose() -> None:
    rng = np.random.default_rng(1)
    for _ in range(200):
        yaw, pitch, roll = rng.uniform(-170, 170), rng.uniform(-85, 85), rng.uniform(-170, 170)
        r = fs.rotation_matrix(yaw, pitch, roll)
        np.testing.assert_allclose(r @ r.T, np.eye(3), atol=1e-12)
        assert np.linalg.det(r) == pytest.approx(1.0)
        pose = fs.pose_from_rotation(r)
        assert (pose.yaw_deg, pose.pitch_deg, pose.roll_deg) == pytest.approx((yaw, pitch, roll), abs=1e-9)


def test_sign_conventions_on_a_real_face() -> None:
    """The documented signs, checked on what the image shows rather than on the Euler formula."""
    front = _frontalised(_mesh("obama.jpg"))
    centre = front.mean(axis=0)
    nose = 1  # MediaPipe's nose tip
    turned = _rotate(front, fs.rotation_matrix(20.0, 0.0, 0.0))
    assert turned[nose, 0] - centre[0] > front[nose, 0] - centre[0] + 10  # yaw > 0: nose to image right
    up = _rotate(front, fs.rotation_matrix(0.0, 20.0, 0.0))
    assert up[nose, 1] < front[nose, 1] - 10  # pitch > 0: nose up
    tilted = _rotate(front, fs.rotation_matrix(0.0, 0.0, 20.0))
    # roll > 0: the subject's left eye (image right) goes down relative to the right eye.
    assert tilted[fs.LEFT_EYE_OUTER, 1] - tilted[fs.RIGHT_EYE_OUTER, 1] > 20
    for points, expected in ((turned, (20, 0, 0)), (up, (0, 20, 0)), (tilted, (0, 0, 20))):
        pose = fs.head_pose(points)
        assert (pose.yaw_deg, pose.pitch_deg, pose.roll_deg) == pytest.approx(expected, abs=0.5)


@pytest.mark.parametrize("name", PHOTOS)
def test_head_pose_recovers_known_rotations_of_a_real_mesh(name: str) -> None:
    points = _mesh(name)
    front = _frontalised(points)
    pose0 = fs.head_pose(front)
    assert (pose0.yaw_deg, pose0.pitch_deg, pose0.roll_deg) == pytest.approx((0, 0, 0), abs=0.5)
    for yaw, pitch, roll in ((30, 0, 0), (-30, 0, 0), (0, 25, 0), (0, -25, 0), (0, 0, 20), (25, -15, 10), (-40, 20, -15)):
        pose = fs.head_pose(_rotate(front, fs.rotation_matrix(yaw, pitch, roll)))
        assert (pose.yaw_deg, pose.pitch_deg, pose.roll_deg) == pytest.approx((yaw, pitch, roll), abs=2.0), (name, yaw, pitch, roll)
    # The change of pose from the photo's own pose: a further turn about the camera's vertical
    # axis adds to the yaw (yaw is the outermost rotation of the decomposition).
    original = fs.head_pose(points)
    turned = fs.head_pose(_rotate(points, fs.rotation_matrix(15.0, 0.0, 0.0)))
    assert turned.yaw_deg - original.yaw_deg == pytest.approx(15.0, abs=2.0)
    assert turned.pitch_deg == pytest.approx(original.pitch_deg, abs=2.0)
    assert turned.roll_deg == pytest.approx(original.roll_deg, abs=2.0)


@pytest.mark.parametrize("name", PHOTOS)
def test_face_measures_do_not_change_when_the_head_turns(name: str) -> None:
    """Eyes, mouth, smile and eye-in-head are read in 3-D / in the face's own frame."""
    points = _mesh(name)
    turned = _rotate(points, fs.rotation_matrix(25.0, -15.0, 12.0))
    assert fs.eye_openness(turned) == pytest.approx(fs.eye_openness(points), abs=1e-6)
    assert fs.mouth_openness(turned) == pytest.approx(fs.mouth_openness(points), abs=1e-6)
    assert fs.smile(turned) == pytest.approx(fs.smile(points), abs=1e-6)
    assert fs.eye_in_head(turned) == pytest.approx(fs.eye_in_head(points), abs=1e-6)


# --------------------------------------------------------------------------- real photos


@pytest.mark.parametrize("name", PHOTOS)
def test_mirrored_photo_mirrors_the_pose(name: str) -> None:
    """A left-right flipped photo: yaw and roll change sign, pitch stays (measured spread <= 3.8 deg)."""
    pose = fs.head_pose(_mesh(name))
    mirrored = fs.head_pose(_mesh(name, flipped=True))
    log.info("%s pose %s mirrored %s", name, pose, mirrored)
    assert mirrored.yaw_deg == pytest.approx(-pose.yaw_deg, abs=5.0)
    assert mirrored.pitch_deg == pytest.approx(pose.pitch_deg, abs=3.0)
    assert mirrored.roll_deg == pytest.approx(-pose.roll_deg, abs=3.0)


def test_turned_heads_read_as_turned() -> None:
    """biden.jpg is turned to image right and tilted with his left eye lower; obama2.jpg is turned to image left."""
    biden = fs.head_pose(_mesh("biden.jpg"))
    assert biden.yaw_deg > 5 and biden.roll_deg > 5
    assert fs.head_pose(_mesh("obama2.jpg")).yaw_deg < -5
    assert abs(fs.head_pose(_mesh("obama.jpg")).yaw_deg) < 5


@pytest.mark.parametrize("flipped", [False, True])
def test_gaze_at_the_camera_and_away(flipped: bool) -> None:
    """The two frontal portraits look into the camera; obama2.jpg (speaking) looks past it.

    obama3.jpg and biden.jpg turn their heads by ~11-15 degrees but their eyes find the camera:
    the iris offset must bring the gaze back closer to the camera axis than the head points.
    """
    for name in ("astronaut.png", "obama.jpg"):
        s = fs.measure(_mesh(name, flipped))
        assert fs.looks_at_screen(s.gaze_yaw_deg, s.gaze_pitch_deg), (name, s)
    away = fs.measure(_mesh("obama2.jpg", flipped))
    assert not fs.looks_at_screen(away.gaze_yaw_deg, away.gaze_pitch_deg), away
    assert (away.gaze_yaw_deg > 0) == flipped  # he looks to image left in the original
    for name in ("obama3.jpg", "biden.jpg"):
        s = fs.measure(_mesh(name, flipped))
        assert abs(s.gaze_yaw_deg) < abs(s.pose.yaw_deg), (name, s)


def test_gaze_follows_the_head_with_fixed_eyes() -> None:
    points = _frontalised(_mesh("astronaut.png"))
    eye_yaw, eye_pitch = fs.eye_in_head(points)
    base = fs.gaze(points, fs.head_pose(points))
    turned = _rotate(points, fs.rotation_matrix(30.0, 0.0, 0.0))
    gy, gp = fs.gaze(turned, fs.head_pose(turned))
    assert gy - base[0] == pytest.approx(30.0, abs=1.0) and gp == pytest.approx(base[1], abs=1.0)
    # Closed eyes: the irises are ignored and the head's direction is returned.
    pose = fs.head_pose(turned)
    assert fs.gaze(turned, pose, eyes_open=False) == (pose.yaw_deg, pose.pitch_deg)
    assert abs(eye_yaw) < 10 and abs(eye_pitch) < 10  # she looks into the camera


def test_smiles_rank_above_neutral_and_speaking_faces() -> None:
    """astronaut.png and obama.jpg smile broadly (teeth showing); obama2.jpg speaks, obama3.jpg and biden.jpg do not smile."""
    scores = {name: fs.smile(_mesh(name)) for name in PHOTOS}
    log.info("smile %s", scores)
    for smiling in SMILING:
        for other in NOT_SMILING:
            assert scores[smiling] > scores[other] + 0.2, scores
        assert scores[smiling] >= fs.SMILE_THRESHOLD, scores
    for other in NOT_SMILING:
        assert scores[other] < fs.SMILE_THRESHOLD, scores


def test_mouth_and_eyes_on_the_photos() -> None:
    """Speaking obama2.jpg has an open mouth; the closed-mouth photos do not; every photo has open eyes."""
    mouth = {name: fs.mouth_openness(_mesh(name)) for name in PHOTOS}
    log.info("mouth %s", mouth)
    assert mouth["obama2.jpg"] >= fs.MOUTH_OPEN_THRESHOLD, mouth
    for name in ("obama3.jpg", "biden.jpg", "astronaut.png", "obama.jpg"):
        assert mouth[name] < fs.MOUTH_OPEN_THRESHOLD, mouth
    assert mouth["obama2.jpg"] > 3 * max(mouth["obama3.jpg"], mouth["biden.jpg"])
    for name in PHOTOS:
        assert fs.eye_openness(_mesh(name)) >= fs.EYES_OPEN_THRESHOLD, name


def test_closing_the_lids_of_a_real_mesh_reads_closed() -> None:
    """Move the upper-lid points of a real mesh onto the lower lid: openness drops to ~0."""
    points = np.array(_mesh("astronaut.png"), dtype=np.float64)
    for ear in (fs.RIGHT_EYE_EAR, fs.LEFT_EYE_EAR):
        _, up1, up2, _, low2, low1 = ear
        points[up1] = points[low1]
        points[up2] = points[low2]
    assert fs.eye_openness(points) == 0.0
    s = fs.measure(points)
    # With closed eyes the gaze is the head's direction.
    assert (s.gaze_yaw_deg, s.gaze_pitch_deg) == (s.pose.yaw_deg, s.pose.pitch_deg)


def test_bad_points_are_refused() -> None:
    with pytest.raises(ValueError, match=r"\(478, 3\)"):
        fs.head_pose(np.zeros((468, 3)))
    with pytest.raises(ValueError, match="degenerate"):
        fs.head_pose(np.zeros((478, 3)))


# --------------------------------------------------------------------------- temporal state


def _signals(openness: float = 1.0, gaze_yaw_deg: float = 0.0, smile: float = 0.0) -> FaceSignals:
    return FaceSignals(
        pose=HeadPose(gaze_yaw_deg, 0.0, 0.0),
        gaze_yaw_deg=gaze_yaw_deg,
        gaze_pitch_deg=0.0,
        eye_openness=openness,
        mouth_openness=0.0,
        smile=smile,
    )


def _run(tracker: FaceSignalTracker, script: list[tuple[float, FaceSignals]]) -> list[Any]:
    return [tracker.update_signals(t, s) for t, s in script]


def _timeline(openness_per_step: list[float], dt_s: float = 0.1, t0_s: float = 100.0) -> list[tuple[float, FaceSignals]]:
    return [(t0_s + i * dt_s, _signals(o)) for i, o in enumerate(openness_per_step)]


def test_two_blinks_count_two() -> None:
    tracker = FaceSignalTracker()
    # 10 Hz: open 1 s, closed 0.2 s, open 1 s, closed 0.1 s (one sample), open.
    script = [1.0] * 10 + [0.05, 0.1] + [0.95] * 10 + [0.0] + [1.0] * 5
    results = _run(tracker, _timeline(script))
    assert tracker.blinks == 2
    face, _ = results[-1]
    assert face.blinks == 2 and face.eyes_open
    assert [r[0].eyes_open for r in results[9:13]] == [True, False, False, True]


def test_eyes_closed_for_two_seconds_is_not_a_blink() -> None:
    tracker = FaceSignalTracker()
    results = _run(tracker, _timeline([1.0] * 5 + [0.05] * 20 + [1.0] * 5))
    assert tracker.blinks == 0
    assert not results[10][0].eyes_open and results[10][0].eye_openness == pytest.approx(0.05)
    # The same with the closed phase just under and just over the limit (measured from the
    # first closed sample to the first reopened one).
    for closed_samples, expected in ((5, 1), (6, 0)):  # 0.5 s and 0.6 s at 10 Hz
        t = FaceSignalTracker()
        _run(t, _timeline([1.0] * 3 + [0.0] * closed_samples + [1.0] * 3))
        assert t.blinks == expected, closed_samples


def test_hysteresis_prevents_double_counts_on_noise() -> None:
    tracker = FaceSignalTracker()
    # Lids flutter between the two thresholds while closing and reopening: one blink.
    script = [1.0, 1.0, 0.1, 0.35, 0.2, 0.38, 0.15, 0.9, 1.0, 1.0]
    _run(tracker, _timeline(script, dt_s=0.04))
    assert tracker.blinks == 1
    # Noise around one value between the thresholds never closes the eyes at all.
    steady = FaceSignalTracker()
    results = _run(steady, _timeline([0.3, 0.38, 0.27, 0.39, 0.26, 0.35] * 5, dt_s=0.04))
    assert steady.blinks == 0 and all(face.eyes_open for face, _ in results)
    # A single threshold at 0.3 would have counted each dip below it as a blink.
    with pytest.raises(ValueError, match="closed_below < open_above"):
        FaceSignalTracker(closed_below=0.4, open_above=0.4)


def test_a_track_that_starts_with_closed_eyes_does_not_count_its_first_reopening() -> None:
    tracker = FaceSignalTracker()
    results = _run(tracker, _timeline([0.0, 0.0, 1.0, 1.0, 0.0, 1.0]))
    assert not results[0][0].eyes_open
    assert tracker.blinks == 1  # only the later, complete blink


def test_blinks_per_minute_over_a_sliding_window() -> None:
    tracker = FaceSignalTracker()
    t = 0.0
    face = None
    # 2 blinks in the first 5 s: rate over the 10 s minimum window -> 12/min.
    for step in range(50):
        openness = 0.0 if step in (10, 30) else 1.0
        face, _ = tracker.update_signals(t, _signals(openness))
        t += 0.1
    assert face is not None and face.blinks == 2
    assert face.blinks_per_min == pytest.approx(2 * 60 / 10)
    # At t = 30 s, still 2 blinks: 2 per 30 s observed.
    face, _ = tracker.update_signals(30.0, _signals(1.0))
    assert face.blinks_per_min == pytest.approx(4.0)
    # 90 s in, both blinks have left the 60 s window; the lifetime count stays.
    face, _ = tracker.update_signals(90.0, _signals(1.0))
    assert face.blinks_per_min == 0.0 and face.blinks == 2


def test_attention_accumulates_only_while_looking() -> None:
    tracker = FaceSignalTracker(smoothing_tau_s=0.0)
    gaze = None
    t = 0.0
    # 3 s at the screen, 2 s looking 45 degrees away, 1 s back at the screen (10 Hz).
    for yaw, seconds in ((0.0, 3.0), (45.0, 2.0), (5.0, 1.0)):
        for _ in range(round(seconds * 10)):
            _, gaze = tracker.update_signals(t, _signals(gaze_yaw_deg=yaw))
            t += 0.1
    assert gaze is not None and gaze.at_screen
    # Each interval counts when its start looked at the screen: 30 + 9 intervals of 0.1 s.
    assert gaze.attention_s == pytest.approx(3.9, abs=1e-9)
    # A 10 s stall while looking adds at most max_dt_s.
    _, gaze = tracker.update_signals(t + 10.0, _signals())
    assert gaze.attention_s == pytest.approx(3.9 + fs.MAX_DT_S)


def test_smoothing_does_not_depend_on_the_update_rate() -> None:
    tau = 0.3  # a whole number of steps at both rates
    values = []
    for hz in (10, 30):
        tracker = FaceSignalTracker(smoothing_tau_s=tau)
        tracker.update_signals(0.0, _signals(gaze_yaw_deg=0.0, smile=0.0))
        gaze = face = None
        for i in range(1, round(tau * hz) + 1):
            face, gaze = tracker.update_signals(i / hz, _signals(gaze_yaw_deg=30.0, smile=1.0))
        assert gaze is not None and face is not None
        values.append((gaze.yaw_deg, face.smile, tracker.pose.yaw_deg if tracker.pose else None))
    expected = 1.0 - math.exp(-1.0)  # 63 % of the step after one time constant
    for yaw, smile_value, pose_yaw in values:
        assert yaw == pytest.approx(30.0 * expected)
        assert smile_value == pytest.approx(expected)
        assert pose_yaw == pytest.approx(30.0 * expected)


def test_a_glance_away_is_smoothed_out_but_a_look_away_is_not() -> None:
    tracker = FaceSignalTracker()
    t = 0.0
    for _ in range(10):
        _, gaze = tracker.update_signals(t, _signals())
        t += 0.1
    _, gaze = tracker.update_signals(t, _signals(gaze_yaw_deg=60.0))  # one noisy sample
    assert gaze.at_screen
    for _ in range(10):
        t += 0.1
        _, gaze = tracker.update_signals(t, _signals(gaze_yaw_deg=60.0))
    assert not gaze.at_screen and gaze.yaw_deg > 50.0


def test_angles_are_smoothed_the_short_way_round() -> None:
    tracker = FaceSignalTracker(smoothing_tau_s=1.0)
    tracker.update_signals(0.0, FaceSignals(HeadPose(0.0, 0.0, 170.0), 0.0, 0.0, 1.0, 0.0, 0.0))
    tracker.update_signals(0.5, FaceSignals(HeadPose(0.0, 0.0, -170.0), 0.0, 0.0, 1.0, 0.0, 0.0))
    assert tracker.pose is not None and abs(tracker.pose.roll_deg) > 170.0


def test_time_must_not_go_backwards_and_arguments_are_checked() -> None:
    tracker = FaceSignalTracker()
    tracker.update_signals(5.0, _signals())
    with pytest.raises(ValueError, match="backwards"):
        tracker.update_signals(4.0, _signals())
    with pytest.raises(ValueError, match="smoothing_tau_s"):
        FaceSignalTracker(smoothing_tau_s=-1.0)
    with pytest.raises(ValueError, match="look_threshold_deg"):
        FaceSignalTracker(look_threshold_deg=0.0)
    with pytest.raises(ValueError, match="min_rate_window_s"):
        FaceSignalTracker(blink_window_s=5.0)


def test_update_from_a_real_mesh() -> None:
    points = _mesh("obama.jpg")
    tracker = FaceSignalTracker()
    face, gaze = tracker.update(10.0, points)
    face, gaze = tracker.update(10.1, points)
    assert face.smiling and not face.mouth_open and face.eyes_open and face.blinks == 0
    assert gaze.at_screen and gaze.attention_s == pytest.approx(0.1)
    pose, expected = tracker.pose, fs.head_pose(points)
    assert pose is not None
    assert (pose.yaw_deg, pose.pitch_deg, pose.roll_deg) == pytest.approx((expected.yaw_deg, expected.pitch_deg, expected.roll_deg))
