"""What a face mesh tells: head pose, gaze, eye and mouth openness, smile, blinks, attention.

Geometry on the (478, 3) points of :class:`kiosk.infer.mesh.FaceMesher` (MediaPipe's face mesh
with iris refinement): x, y in frame pixels, z in the same pixel scale, growing away from the
camera. That is a right-handed camera frame (x right, y down, z forward into the scene); every
angle here is in degrees with :class:`kiosk.types.HeadPose`'s signs:

- yaw > 0: the subject turns (or looks) to their left, which is image right in the unmirrored
  camera image;
- pitch > 0: the subject looks up;
- roll > 0: the head tilts towards the subject's left shoulder (their left eye lower: the face
  turns clockwise in the unmirrored camera image).

A horizontally mirrored image gives (-yaw, pitch, -roll). The pose is the rotation ``R`` that
carries MediaPipe's canonical face (facing the camera) onto the observed one, decomposed as
``R = Y(yaw) @ X(pitch) @ Z(roll)`` (turn, then nod, then tilt; see :func:`rotation_matrix`).

The geometry is deliberately a handful of landmark measurements, not a learned model: it is
cheap (~20 us for everything in :func:`measure`, against ~3 ms or more for the mesh itself),
explainable on the kiosk's screen, and testable with synthetic rotations. Its thresholds were
set on the five demo photos and two short evaluation videos (none of which has ground-truth
labels); they are heuristics, and the kiosk's captions should say so.

What needs earlier meshes of the same track (smoothing, blinks, attention time) is in
:mod:`kiosk.infer.face_signal_tracker`.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from kiosk.types import HeadPose

log = logging.getLogger(__name__)

#: Number of points with iris refinement (468 mesh points + 2 x 5 iris points).
MESH_POINTS = 478

# -- MediaPipe face-mesh indices. "right"/"left" are the subject's own sides (image left/right).
FOREHEAD = 10
CHIN = 152
RIGHT_EYE_OUTER, RIGHT_EYE_INNER = 33, 133
LEFT_EYE_OUTER, LEFT_EYE_INNER = 263, 362
# Eye-aspect-ratio points (Soukupova & Cech 2016) in the mesh: corner, 2 upper lid, corner, 2 lower.
RIGHT_EYE_EAR = (33, 160, 158, 133, 153, 144)
LEFT_EYE_EAR = (263, 387, 385, 362, 380, 373)
RIGHT_IRIS_CENTER = 468  # 469-472: its rim
LEFT_IRIS_CENTER = 473  # 474-477: its rim
MOUTH_RIGHT, MOUTH_LEFT = 61, 291  # outer lip corners
LIP_INNER_UPPER, LIP_INNER_LOWER = 13, 14
LIP_OUTER_UPPER, LIP_OUTER_LOWER = 0, 17

# The same four points in MediaPipe's canonical face model (canonical_face_model.obj, centimetres,
# y up, z towards the viewer), converted to the camera frame used here (y down, z away). Their
# chin-forehead line leans 0.7 degrees: a face exactly like the canonical one reads as pose 0.
_CANONICAL = {
    RIGHT_EYE_OUTER: (-4.445859, -2.663991, -3.173422),
    LEFT_EYE_OUTER: (4.445859, -2.663991, -3.173422),
    FOREHEAD: (0.0, -8.261778, -4.481535),
    CHIN: (0.0, 9.403378, -4.264492),
}

# -- Thresholds (see each function's docstring for how they were set).
#: Eye aspect ratio of a fully closed / a fully open eye, mapped to openness 0 / 1.
EAR_CLOSED = 0.10
EAR_OPEN = 0.30
#: Eyes open at or above this openness (single measurement; the tracker adds hysteresis).
EYES_OPEN_THRESHOLD = 0.4
#: Openness (inner-lip gap / mouth width) above which the mouth counts as open.
MOUTH_OPEN_THRESHOLD = 0.25
#: Smile score above which ``FaceState.smiling`` is true.
SMILE_THRESHOLD = 0.4
#: Half-angle of the cone of gaze directions that count as "looking at the screen".
LOOK_THRESHOLD_DEG = 20.0
#: Eyeball radius as a fraction of the eye's corner-to-corner width (adult eyeball ~12 mm radius,
#: palpebral fissure ~28-30 mm).
EYEBALL_RADIUS_RATIO = 0.42
#: Eye-openness hysteresis: eyes become "closed" below the lower value and "open" again only
#: above the upper one, so noise around a single threshold cannot count two blinks.
EYES_CLOSED_BELOW = 0.25
EYES_OPEN_ABOVE = EYES_OPEN_THRESHOLD
#: A closed phase up to this long is a blink (spontaneous blinks last 0.1-0.4 s); longer is
#: eyes closed on purpose, or looking down.
BLINK_MAX_S = 0.5
#: Time constant of the pose / gaze / smile / mouth smoothing.
SMOOTHING_TAU_S = 0.25
#: A gap between two updates counts for at most this long (attention time): after a stall, a
#: dropped frame burst or a face lost for a while, the gap is not credited as attention.
MAX_DT_S = 0.5
#: Blink rate window, and the shortest time it is computed over.
BLINK_WINDOW_S = 60.0
MIN_BLINK_RATE_S = 10.0


def _check_points(points: np.ndarray) -> np.ndarray:
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (MESH_POINTS, 3):
        raise ValueError(f"points: expected a ({MESH_POINTS}, 3) array from FaceMesher.run, got shape {pts.shape}")
    return pts


# The geometry works on the two dozen points it reads, as Python floats: with NumPy on
# 3-vectors every operation cost a few microseconds of call overhead, which made this module
# the largest piece of the inference thread's work around the mesh (docs/PERFORMANCE.md,
# "Cost over the floor, round 5"). The public functions take the (478, 3) points and return
# what they did before.
Vec = tuple[float, float, float]
Mat = tuple[Vec, Vec, Vec]  # rows
Points = dict[int, Vec]  # mesh index -> (x, y, z)


def _points(points: np.ndarray, indices: tuple[int, ...]) -> Points:
    """The points at ``indices`` as float tuples (after the shape check)."""
    pts = _check_points(points)
    return dict(zip(indices, map(tuple, pts[list(indices)].tolist())))  # type: ignore[arg-type]


def _sub(a: Vec, b: Vec) -> Vec:
    return (a[0] - b[0], a[1] - b[1], a[2] - b[2])


def _length(v: Vec) -> float:
    return math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])


def _unit(v: Vec) -> Vec:
    n = _length(v)
    if n < 1e-9:
        raise ValueError("degenerate face mesh: two reference points coincide")
    return (v[0] / n, v[1] / n, v[2] / n)


def _matmul(a: Mat, b: Mat) -> Mat:
    return tuple(tuple(row[0] * b[0][j] + row[1] * b[1][j] + row[2] * b[2][j] for j in range(3))  # type: ignore[return-value]
                 for row in a)


def _frame(p_right_eye: Vec, p_left_eye: Vec, p_forehead: Vec, p_chin: Vec) -> Mat:
    """Orthonormal face axes as matrix columns: x eye line (to image right), y down the face, z = x cross y."""
    ex = _unit(_sub(p_left_eye, p_right_eye))
    down = _sub(p_chin, p_forehead)
    d = down[0] * ex[0] + down[1] * ex[1] + down[2] * ex[2]
    ey = _unit((down[0] - d * ex[0], down[1] - d * ex[1], down[2] - d * ex[2]))
    ez = (ex[1] * ey[2] - ex[2] * ey[1], ex[2] * ey[0] - ex[0] * ey[2], ex[0] * ey[1] - ex[1] * ey[0])
    return ((ex[0], ey[0], ez[0]), (ex[1], ey[1], ez[1]), (ex[2], ey[2], ez[2]))


_ROTATION_POINTS = (RIGHT_EYE_OUTER, LEFT_EYE_OUTER, FOREHEAD, CHIN)
_CANONICAL_FRAME_T: Mat = tuple(zip(*_frame(*(_CANONICAL[i] for i in _ROTATION_POINTS))))  # type: ignore[assignment]


def _rotation(p: Points) -> Mat:
    """:func:`head_rotation` of points holding at least ``_ROTATION_POINTS``."""
    return _matmul(_frame(*(p[i] for i in _ROTATION_POINTS)), _CANONICAL_FRAME_T)


def _as_mat(rotation: np.ndarray) -> Mat:
    r = np.asarray(rotation, dtype=np.float64)
    if r.shape != (3, 3):
        raise ValueError(f"rotation: expected a 3x3 matrix, got shape {r.shape}")
    return tuple(map(tuple, r.tolist()))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Head pose
# --------------------------------------------------------------------------------------------


def _rotation_f(yaw_deg: float, pitch_deg: float, roll_deg: float) -> Mat:
    """:func:`rotation_matrix` as float rows."""
    a, b, c = (math.radians(v) for v in (yaw_deg, pitch_deg, roll_deg))
    ca, sa, cb, sb, cc, sc = math.cos(a), math.sin(a), math.cos(b), math.sin(b), math.cos(c), math.sin(c)
    # Y(yaw) @ X(pitch), then @ Z(roll).
    yx = ((ca, sa * sb, -sa * cb), (0.0, cb, sb), (sa, -ca * sb, ca * cb))
    return tuple((m0 * cc + m1 * sc, m1 * cc - m0 * sc, m2) for m0, m1, m2 in yx)  # type: ignore[return-value]


def rotation_matrix(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3x3 rotation ``Y(yaw) @ X(pitch) @ Z(roll)`` in the camera frame (x right, y down, z away).

    Inverse of :func:`pose_from_rotation`. Applied to a face's points (about any centre) it turns
    the face by that pose: the tests use it to rotate a real mesh by known angles.
    Y: the nose (forward = -z) swings to +x for yaw > 0. X: the nose goes to -y (up) for
    pitch > 0. Z: the eye line's image-right end goes down (+y) for roll > 0.
    """
    return np.array(_rotation_f(yaw_deg, pitch_deg, roll_deg))


def _pose(r: Mat) -> HeadPose:
    yaw = math.atan2(-r[0][2], r[2][2])
    pitch = math.asin(max(-1.0, min(1.0, r[1][2])))
    # Undo yaw and pitch (rest = (Y(yaw) X(pitch))^T r); what is left is the roll about the
    # face's forward axis.
    ca, sa, cb, sb = math.cos(yaw), math.sin(yaw), math.cos(pitch), math.sin(pitch)
    rest00 = ca * r[0][0] + sa * r[2][0]
    rest10 = sa * sb * r[0][0] + cb * r[1][0] - ca * sb * r[2][0]
    roll = math.atan2(rest10, rest00)
    return HeadPose(yaw_deg=math.degrees(yaw), pitch_deg=math.degrees(pitch), roll_deg=math.degrees(roll))


def pose_from_rotation(rotation: np.ndarray) -> HeadPose:
    """Yaw, pitch, roll in degrees of a 3x3 rotation (see :func:`rotation_matrix`).

    Pitch is in [-90, 90]; at exactly +-90 degrees yaw and roll are not separable (a head never
    gets there in front of a kiosk).
    """
    return _pose(_as_mat(rotation))


def head_rotation(points: np.ndarray) -> np.ndarray:
    """Rotation (3x3) carrying the canonical frontal face onto this mesh.

    Built from four rigid points: the outer eye corners (33, 263), the forehead (10) and the
    chin (152). The chin moves with the jaw, so an open mouth tilts the frame by a few degrees of
    pitch (measured on the demo photos: see the tests). A PnP fit against a generic 3-D face
    (``cv2.solvePnP``) was tried first: it showed a ~30 degree pitch bias and a 180 degree roll
    flip on one photo, and needs a camera matrix the kiosk does not know.
    """
    return np.array(_rotation(_points(points, _ROTATION_POINTS)))


def head_pose(points: np.ndarray) -> HeadPose:
    """Head yaw, pitch and roll in degrees from the mesh's 3-D points (signs: module docstring).

    The z scale of MediaPipe's points is its own estimate ("roughly the scale of x"), so large
    angles are less exact than small ones; mirrored images give mirrored angles by construction.
    """
    return _pose(_rotation(_points(points, _ROTATION_POINTS)))


# --------------------------------------------------------------------------------------------
# Eyes, mouth, smile
# --------------------------------------------------------------------------------------------


def _ear(p: Points, indices: tuple[int, int, int, int, int, int]) -> float:
    p1, p2, p3, p4, p5, p6 = (p[i] for i in indices)
    width = _length(_sub(p1, p4))
    if width < 1e-9:
        return 0.0
    return (_length(_sub(p2, p6)) + _length(_sub(p3, p5))) / (2.0 * width)


def eye_aspect_ratio(points: np.ndarray, indices: tuple[int, int, int, int, int, int]) -> float:
    """(|p2-p6| + |p3-p5|) / (2 |p1-p4|) of one eye, with 3-D distances (so it survives yaw)."""
    return _ear(_points(points, tuple(indices)), indices)


def _openness_per_eye(p: Points) -> tuple[float, float]:
    right, left = (min(1.0, max(0.0, (_ear(p, indices) - EAR_CLOSED) / (EAR_OPEN - EAR_CLOSED)))
                   for indices in (RIGHT_EYE_EAR, LEFT_EYE_EAR))
    return right, left


def eye_openness_per_eye(points: np.ndarray) -> tuple[float, float]:
    """(right, left) eye openness 0..1: the eye aspect ratio mapped linearly from ``EAR_CLOSED`` to ``EAR_OPEN``."""
    return _openness_per_eye(_points(points, RIGHT_EYE_EAR + LEFT_EYE_EAR))


def eye_openness(points: np.ndarray) -> float:
    """Openness of the more open eye, 0 (closed) .. 1 (open); open if >= ``EYES_OPEN_THRESHOLD``.

    The more open eye rather than the mean: a blink closes both eyes, while a head turned by
    40-50 degrees squeezes the far eye's lid points until it reads half closed (eye aspect ratio
    0.07-0.15 on the evaluation videos). A wink therefore does not count as closed eyes.

    The mapping's ends: ``EAR_OPEN`` (0.30) is a relaxed open eye (0.30-0.40 on the evaluation
    videos, 0.19-0.33 on the demo photos, the low end a broad smile squinting), ``EAR_CLOSED``
    (0.10) is where MediaPipe's lid points stop on a closed eye (they rarely meet). Looking down
    lowers the upper lid too (0.13-0.17 on the videos' phone readers): a downward look can read
    as nearly closed, which the tracker's 0.5 s blink limit keeps from counting as a blink.
    """
    return max(eye_openness_per_eye(points))


def _face_coords(p: Points, r: Mat, indices: tuple[int, ...]) -> tuple[dict[int, Vec], float]:
    """``indices`` expressed in the face's own axes (frontal, upright), and the outer-eye-corner distance."""
    right, left = p[RIGHT_EYE_OUTER], p[LEFT_EYE_OUTER]
    cx, cy, cz = 0.5 * (right[0] + left[0]), 0.5 * (right[1] + left[1]), 0.5 * (right[2] + left[2])
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = r
    local: dict[int, Vec] = {}
    for i in indices:
        x, y, z = p[i][0] - cx, p[i][1] - cy, p[i][2] - cz
        local[i] = (x * r00 + y * r10 + z * r20, x * r01 + y * r11 + z * r21, x * r02 + y * r12 + z * r22)  # R^T (p - c)
    return local, max(_length(_sub(left, right)), 1e-9)


_MOUTH_POINTS = (MOUTH_LEFT, MOUTH_RIGHT, LIP_INNER_UPPER, LIP_INNER_LOWER)


def _mouth_openness(p: Points) -> float:
    width = _length(_sub(p[MOUTH_LEFT], p[MOUTH_RIGHT]))
    if width < 1e-9:
        return 0.0
    return min(1.0, _length(_sub(p[LIP_INNER_LOWER], p[LIP_INNER_UPPER])) / width)


def mouth_openness(points: np.ndarray) -> float:
    """Inner-lip gap divided by the mouth's corner-to-corner width, clipped to 0..1.

    0 for closed lips (0.01-0.04 on the demo photos' closed mouths), 0.17-0.22 for a broad smile
    showing teeth, 0.4 for the speaking demo photo, 0.2-0.5 for singing in the evaluation video.
    ``MOUTH_OPEN_THRESHOLD`` (0.25) says "open" for speaking, singing, yawning or surprise and
    not for a smile whose lips part over the teeth; Rekognition's MouthOpen has no published
    threshold to match.
    """
    return _mouth_openness(_points(points, _MOUTH_POINTS))


# Smile score = SMILE_WIDTH_GAIN * (mouth width / eye span - SMILE_WIDTH_NEUTRAL)
#             + SMILE_LIFT_GAIN * (corner lift / eye span - SMILE_LIFT_NEUTRAL), clipped to 0..1.
SMILE_WIDTH_NEUTRAL = 0.64
SMILE_WIDTH_GAIN = 3.5
SMILE_LIFT_NEUTRAL = 0.0
SMILE_LIFT_GAIN = 5.0


def _smile(p: Points, r: Mat) -> float:
    local, eye_span = _face_coords(p, r, _MOUTH_POINTS)
    width = _length(_sub(local[MOUTH_LEFT], local[MOUTH_RIGHT])) / eye_span
    centre_y = 0.5 * (local[LIP_INNER_UPPER][1] + local[LIP_INNER_LOWER][1])
    corners_y = 0.5 * (local[MOUTH_LEFT][1] + local[MOUTH_RIGHT][1])
    lift = (centre_y - corners_y) / eye_span  # y grows downwards: corners above the centre > 0
    score = SMILE_WIDTH_GAIN * (width - SMILE_WIDTH_NEUTRAL) + SMILE_LIFT_GAIN * (lift - SMILE_LIFT_NEUTRAL)
    return min(1.0, max(0.0, score))


def smile(points: np.ndarray, rotation: np.ndarray | None = None) -> float:
    """Smile score 0..1 from how wide the mouth is and how far its corners are lifted.

    Both are measured in the face's own upright frame (so roll and yaw do not read as a smile)
    and relative to the outer-eye-corner distance (so distance to the camera does not matter).
    A smile widens the mouth (zygomaticus major pulls the corners out and up); speaking opens
    it without widening it. Neutral constants and gains were set on the demo photos (two broad
    smiles, one speaking face, two near-neutral faces): a heuristic, and it misreads faces
    whose resting mouth is wide or whose corners turn up at rest. ``rotation`` may pass a
    precomputed :func:`head_rotation`.
    """
    p = _points(points, _ROTATION_POINTS + _MOUTH_POINTS)
    return _smile(p, _rotation(p) if rotation is None else _as_mat(rotation))


# --------------------------------------------------------------------------------------------
# Gaze
# --------------------------------------------------------------------------------------------

#: Iris centre's vertical offset from the eye-corner line when looking straight ahead, as a
#: fraction of the eye width (negative: above the line). Measured -0.06 to -0.085 on the two
#: demo portraits that look into the camera (astronaut.png, obama.jpg, and their mirror images).
IRIS_NEUTRAL_Y = -0.07
_EYES = ((RIGHT_IRIS_CENTER, RIGHT_EYE_OUTER, RIGHT_EYE_INNER), (LEFT_IRIS_CENTER, LEFT_EYE_OUTER, LEFT_EYE_INNER))
_EYE_POINTS = tuple(i for eye in _EYES for i in eye)


def _eye_in_head(p: Points, r: Mat) -> tuple[float, float]:
    local, _ = _face_coords(p, r, _EYE_POINTS)
    yaws, pitches = [], []
    for iris, outer, inner in _EYES:
        o, n, c = local[outer], local[inner], local[iris]
        width = math.sqrt((o[0] - n[0]) ** 2 + (o[1] - n[1]) ** 2)
        if width < 1e-9:
            continue
        radius = EYEBALL_RADIUS_RATIO * width
        sx = max(-1.0, min(1.0, (c[0] - 0.5 * (o[0] + n[0])) / radius))
        sy = max(-1.0, min(1.0, (c[1] - 0.5 * (o[1] + n[1]) - IRIS_NEUTRAL_Y * width) / radius))
        yaws.append(math.degrees(math.asin(sx)))
        pitches.append(-math.degrees(math.asin(sy)))
    if not yaws:
        return 0.0, 0.0
    return sum(yaws) / len(yaws), sum(pitches) / len(pitches)


def eye_in_head(points: np.ndarray, rotation: np.ndarray | None = None) -> tuple[float, float]:
    """Eye direction relative to the head, (yaw_deg, pitch_deg), averaged over both eyes.

    Each iris centre's offset from the midpoint of its eye corners, in the face's own axes,
    divided by the eyeball radius (``EYEBALL_RADIUS_RATIO`` x the corner distance) gives the
    sine of the eye's rotation. Corners are fixed to the skull, unlike the lids, which follow
    the eye when looking down. Each iris sits ~3 % of the eye width towards its outer corner
    when looking ahead (demo portraits); the two eyes' biases cancel in the average. The
    estimate is noisy: the speaking demo photo reads -24 degrees of gaze yaw, its mirror image +38.
    """
    p = _points(points, _ROTATION_POINTS + _EYE_POINTS)
    return _eye_in_head(p, _rotation(p) if rotation is None else _as_mat(rotation))


def combine_gaze(pose: HeadPose, eye_yaw_deg: float, eye_pitch_deg: float) -> tuple[float, float]:
    """Gaze (yaw_deg, pitch_deg) in the camera frame: the eye's direction in the head, turned by the head pose."""
    r = _rotation_f(pose.yaw_deg, pose.pitch_deg, pose.roll_deg)
    # Forward of the eye in head axes: the canonical face looks along -z, turned by the eye's
    # own yaw and pitch (minus the third column of Y(eye yaw) @ X(eye pitch)).
    a, b = math.radians(eye_yaw_deg), math.radians(eye_pitch_deg)
    eye = (math.sin(a) * math.cos(b), -math.sin(b), -math.cos(a) * math.cos(b))
    g = tuple(row[0] * eye[0] + row[1] * eye[1] + row[2] * eye[2] for row in r)
    yaw = math.degrees(math.atan2(g[0], -g[2]))
    pitch = math.degrees(math.asin(max(-1.0, min(1.0, -g[1]))))
    return yaw, pitch


def gaze(points: np.ndarray, pose: HeadPose, eyes_open: bool = True) -> tuple[float, float]:
    """Where the eyes point, (yaw_deg, pitch_deg), in the camera frame (signs as :class:`HeadPose`).

    Eye-in-head direction from the irises (:func:`eye_in_head`) combined with ``pose`` (the
    head pose of the same points, from :func:`head_pose`). With ``eyes_open`` False the iris
    points are guesses under the lids, so the head pose alone is returned.
    """
    if not eyes_open:
        return pose.yaw_deg, pose.pitch_deg
    p = _points(points, _EYE_POINTS)
    eye_yaw, eye_pitch = _eye_in_head(p, _rotation_f(pose.yaw_deg, pose.pitch_deg, pose.roll_deg))
    return combine_gaze(pose, eye_yaw, eye_pitch)


def looks_at_screen(yaw_deg: float, pitch_deg: float, threshold_deg: float = LOOK_THRESHOLD_DEG) -> bool:
    """Whether a gaze direction falls within ``threshold_deg`` of the camera's axis.

    The camera is assumed to sit at the screen, so "looking at the camera, give or take" means
    "looking at the screen". The default, 20 degrees, is about the half-angle a 55-inch screen
    subtends from 1.5 m plus the ~5-10 degrees of error of an iris-based estimate: lower it and
    glances at the screen's edges are missed, raise it and people looking past the kiosk count
    as watching. A camera mounted above a tall screen sees attentive visitors looking down by
    the angle to the screen's centre; pass a pitch with that offset removed.
    """
    return math.hypot(yaw_deg, pitch_deg) <= threshold_deg


# --------------------------------------------------------------------------------------------
# One measurement
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FaceSignals:
    """Everything read off one mesh, unsmoothed (see :func:`measure`)."""

    pose: HeadPose
    gaze_yaw_deg: float
    gaze_pitch_deg: float
    eye_openness: float  # 0..1, the more open eye
    mouth_openness: float  # 0..1
    smile: float  # 0..1


_MEASURED_POINTS = tuple(sorted(set(_ROTATION_POINTS + RIGHT_EYE_EAR + LEFT_EYE_EAR + _MOUTH_POINTS + _EYE_POINTS)))


def measure(points: np.ndarray) -> FaceSignals:
    """Head pose, gaze, eye and mouth openness and smile of one mesh (the head rotation computed once).

    The irises are ignored (gaze = head direction) when the eyes read closed
    (openness below ``EYES_CLOSED_BELOW``): MediaPipe then places them under the lids by guess.
    """
    p = _points(points, _MEASURED_POINTS)
    rotation = _rotation(p)
    pose = _pose(rotation)
    openness = max(_openness_per_eye(p))
    if openness >= EYES_CLOSED_BELOW:
        eye_yaw, eye_pitch = _eye_in_head(p, rotation)
        gaze_yaw, gaze_pitch = combine_gaze(pose, eye_yaw, eye_pitch)
    else:
        gaze_yaw, gaze_pitch = pose.yaw_deg, pose.pitch_deg
    return FaceSignals(
        pose=pose,
        gaze_yaw_deg=gaze_yaw,
        gaze_pitch_deg=gaze_pitch,
        eye_openness=openness,
        mouth_openness=_mouth_openness(p),
        smile=_smile(p, rotation),
    )
