"""The demo scene's script: the photos (with their measured face boxes) and the timeline of
who walks where, when (see :mod:`kiosk.capture.demo` for the scene and its design).

Pure geometry and timing; no image is touched here, so the ground truth of a scene
(:meth:`kiosk.capture.demo.DemoScene.people_at`) and scenes built on it (``kiosk.bench.scenes``)
need neither the photos nor OpenCV.
"""
from __future__ import annotations

from dataclasses import dataclass

# --- the photos -----------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Portrait:
    """One demo photo and where the face is in it.

    ``face_xywh_px`` was measured once with YuNet (2023mar) on the photo at ``size_wh`` and is
    stored here so the scene never needs a detector. ``below`` is how far (in face heights) the
    cut-out extends below the chin: less for obama2.jpg, whose podium starts at his chest.
    ``person_dy`` shifts the face down (in face heights) for shorter people, since the camera
    sits at about adult eye height. ``head_w`` is the half-width of the head envelope in face
    heights: narrower where the background next to the head resembles hair or suit (a flag);
    ``head_h`` its vertical semi-axis: lower for short hair against a bright background.
    """

    file: str
    label: str
    size_wh: tuple[int, int]
    face_xywh_px: tuple[int, int, int, int]
    below: float = 1.75
    person_dy: float = 0.0
    head_w: float = 0.5
    head_h: float = 0.68

    @property
    def face_aspect(self) -> float:
        """Face box width / height."""
        return self.face_xywh_px[2] / self.face_xywh_px[3]


PORTRAITS: dict[str, Portrait] = {
    p.file: p
    for p in (
        # Eileen Collins, NASA (skimage.data.astronaut); shorter than the others.
        Portrait("astronaut.png", "astronaut", (512, 512), (178, 63, 90, 113), person_dy=0.18, head_w=0.6),
        Portrait("obama.jpg", "obama", (910, 1137), (374, 94, 232, 321)),
        Portrait("obama2.jpg", "obama", (626, 1200), (195, 224, 276, 390), below=1.3, head_w=0.46),
        Portrait("obama3.jpg", "obama", (1434, 2333), (640, 246, 270, 367), head_w=0.47, head_h=0.6),
        Portrait("biden.jpg", "biden", (970, 2204), (429, 176, 276, 382)),
    )
}

# Cut-out extent around the face box, in face heights: half-width of the shoulders, and the
# margin above the face box for the hair. (Shoulders are ~2.2 face heights wide on an adult.)
HALF_WIDTH = 1.15
ABOVE = 0.5


# --- the timeline ---------------------------------------------------------------------------------

REF_W, REF_H = 640.0, 480.0  # the timeline is authored in these pixel units
LOOP_S = 48.0
FACE_Y = 0.405  # face-centre height as a fraction of the frame: the camera's eye level
LEDGE_TOP = 0.78  # top of the kiosk counter in the foreground, fraction of the frame height
#: Face-centre height as a fraction of the frame height, for scenes built on this one
#: (kiosk.bench.scenes).
EYE_LEVEL = FACE_Y


@dataclass(frozen=True, slots=True)
class _Key:
    """Where a visitor is at ``t_s``: face centre x and face height, in 640x480 pixels.

    ``stop`` keys have zero velocity (the visitor arrives and stands there); others are passed
    through at speed (smooth Hermite interpolation with Catmull-Rom tangents).
    """

    t_s: float
    cx: float
    face_h: float
    stop: bool = True


@dataclass(frozen=True, slots=True)
class _Visit:
    photo: str
    keys: tuple[_Key, ...]
    phase: float  # de-synchronises the idle sway of different visits

    @property
    def start_s(self) -> float:
        return self.keys[0].t_s

    @property
    def end_s(self) -> float:
        return self.keys[-1].t_s


def _k(t_s: float, cx: float, face_h: float, stop: bool = True) -> _Key:
    return _Key(t_s, cx, face_h, stop)


# Who is where, when (the report and the tests describe the same thing in words):
#  0.0- 3.9  Obama (obama.jpg) walks in from the left, stands left of centre, walks out left.
#  1.5-14.0  the astronaut walks in from the right and stands right of centre; leaves right.
#  6.5-21.4  Obama returns from the left in obama2.jpg; when the astronaut has gone he steps
#            up to the screen (face ~200 px), then leaves left. His face is out of view for
#            ~3.8 s: longer than the pipeline's default recognition.visit_gap_s (3 s), so the
#            return is a new visit ("Welcome back"), not the same visit continued, and it is
#            recognised well within the first 300 frames at 30 fps.
# 22.6-32.4  Biden walks in from the right, right up to the screen, steps back, leaves right.
# 31.2-39.2  the astronaut returns from the left.
# 34.2-40.6  Obama returns a second time, from the right, in obama3.jpg.
# 40.6-48.3  nobody (the attract screen), then the loop repeats.
# Every enter/exit key puts the whole cut-out (shoulders included) outside the frame.
TIMELINE: tuple[_Visit, ...] = (
    _Visit("obama.jpg", (_k(0.0, -150, 100), _k(1.4, 165, 116), _k(2.9, 172, 118), _k(3.9, -150, 112)), 0.0),
    _Visit("astronaut.png", (_k(1.5, 800, 104), _k(3.3, 470, 120), _k(6.0, 482, 124), _k(9.0, 462, 122),
                             _k(12.6, 470, 121), _k(14.0, 800, 116)), 1.3),
    _Visit("obama2.jpg", (_k(6.5, -150, 110), _k(7.9, 165, 118), _k(14.2, 172, 120), _k(15.4, 250, 152, False),
                          _k(16.8, 320, 196), _k(19.6, 316, 200), _k(21.4, -260, 180)), 2.1),
    _Visit("biden.jpg", (_k(22.6, 810, 110), _k(24.6, 420, 140, False), _k(26.4, 340, 204), _k(29.6, 330, 208),
                         _k(30.8, 420, 176, False), _k(32.4, 840, 160)), 0.7),
    _Visit("astronaut.png", (_k(31.2, -150, 100), _k(33.2, 175, 118), _k(37.6, 180, 120), _k(39.2, -160, 112)), 2.9),
    _Visit("obama3.jpg", (_k(34.2, 810, 106), _k(36.0, 470, 122), _k(38.8, 462, 124), _k(40.6, 820, 116)), 4.2),
)


@dataclass(frozen=True, slots=True)
class Look:
    """How a cut-out is varied when composited: mirrored left-right and/or colour-scaled.

    The demo timeline uses :data:`PLAIN`; synthetic scenes (``kiosk.bench.scenes``) use
    looks to make more distinct-looking visitors out of the same five photos. ``gain_bgr``
    multiplies each channel (a white-balance / skin-tone shift).
    """

    mirror: bool = False
    gain_bgr: tuple[float, float, float] = (1.0, 1.0, 1.0)


PLAIN = Look()


@dataclass(frozen=True, slots=True)
class DemoFigure:
    """A visitor's full placement at one instant (frame pixels, floats, not clipped).

    ``face_box_xyxy`` is the face rectangle in the same convention as YuNet's boxes;
    ``body_box_xyxy`` is the extent of the whole cut-out (hair to chest, shoulder to shoulder).
    """

    label: str
    photo: str
    face_box_xyxy: tuple[float, float, float, float]
    body_box_xyxy: tuple[float, float, float, float]
    face_h_px: float
    walking: bool
    look: Look = PLAIN


def place_figure(photo: str, cx_px: float, cy_px: float, face_h_px: float, *, walking: bool = False,
                 look: Look = PLAIN) -> DemoFigure:
    """The figure of ``photo`` (a :data:`PORTRAITS` key) with its face centred at (cx, cy), frame pixels."""
    spec = PORTRAITS[photo]
    fh = face_h_px
    fw = fh * spec.face_aspect
    face = (cx_px - fw / 2, cy_px - fh / 2, cx_px + fw / 2, cy_px + fh / 2)
    body = (cx_px - HALF_WIDTH * fh, face[1] - ABOVE * fh, cx_px + HALF_WIDTH * fh, face[3] + spec.below * fh)
    return DemoFigure(spec.label, photo, face, body, fh, walking, look)


def hermite(t: float, keys: tuple[_Key, ...]) -> tuple[float, float, float]:
    """(cx, face_h, speed in face heights per second) at ``t`` by cubic Hermite interpolation."""
    i = 0
    while i < len(keys) - 2 and t > keys[i + 1].t_s:
        i += 1
    k0, k1 = keys[i], keys[i + 1]
    dt = k1.t_s - k0.t_s
    u = min(1.0, max(0.0, (t - k0.t_s) / dt))

    def tangent(j: int) -> tuple[float, float]:
        k = keys[j]
        if k.stop or j == 0 or j == len(keys) - 1:
            return 0.0, 0.0
        a, b = keys[j - 1], keys[j + 1]
        span = b.t_s - a.t_s
        return (b.cx - a.cx) / span, (b.face_h - a.face_h) / span

    m0x, m0h = tangent(i)
    m1x, m1h = tangent(i + 1)
    h00, h10, h01, h11 = (2 * u**3 - 3 * u**2 + 1, u**3 - 2 * u**2 + u, -2 * u**3 + 3 * u**2, u**3 - u**2)
    cx = h00 * k0.cx + h10 * dt * m0x + h01 * k1.cx + h11 * dt * m1x
    fh = h00 * k0.face_h + h10 * dt * m0h + h01 * k1.face_h + h11 * dt * m1h
    # derivative of the x curve, for the walking bob
    d00, d10, d01, d11 = (6 * u**2 - 6 * u, 3 * u**2 - 4 * u + 1, -6 * u**2 + 6 * u, 3 * u**2 - 2 * u)
    vx = (d00 * k0.cx + d10 * dt * m0x + d01 * k1.cx + d11 * dt * m1x) / dt
    return cx, fh, abs(vx) / max(fh, 1.0)
