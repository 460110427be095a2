"""The embedded demo scene: visitors walking up to the kiosk, made from real portrait photos.

It lets the kiosk run (and be tested end to end) on a machine with no camera. Each frame is a
generated gallery room — a warm wall with three framed paintings, spotlights, a bench, a parquet
floor, and the out-of-focus oak top of the kiosk's own counter across the bottom — with
head-and-shoulders cut-outs of the demo photos composited in, following a scripted timeline:
people walk in from the sides (growing as they approach), sway and shift their weight while
they stand, walk out, and come back (Obama in a *different* photo each time, so that
re-identification is exercised across photos, not just across frames).

Design choices and their costs:

* The cut-outs are found from a fixed table of face rectangles (measured once per photo with
  YuNet and written down below), not by running a detector: the scene must not depend on the
  component it is used to demonstrate. From that rectangle a head-and-shoulders envelope is
  drawn and refined with GrabCut (OpenCV's graph-cut segmentation; no model; ~0.8 s for the
  five photos, once per process, cached). The result is feathered. It is not perfect (a lock of
  hair or a sliver of flag may go or stay; per-photo envelope sizes in the table keep that
  small) but reads as a person, not as a pasted box.
* The counter across the bottom hides where the cut-outs end (the photos stop at the chest);
  it is the one element drawn in front of everyone, as it is nearer the camera. The timeline
  keeps every cut-out's lower edge behind it (tested).
* Each frame: copy the prebuilt background, blend in at most two or three sprites with
  ``cv2.blendLinear``, paste the counter, apply a slow global exposure / white-balance drift,
  add one of a few precomputed sensor-noise images. Sprites are resized from a small pyramid
  per photo and kept in a byte-bounded LRU cache keyed by face-height bucket, so walking (a new
  size every frame) costs one small resize per person (~0.7 ms) and standing costs none.
  Measured: 1.6 ms mean, 2.5 ms p95 per frame at 640x480 on one x86 laptop core (about 4 ms at
  1280x720). The cache is capped at 48 MB: a whole loop uses ~130 sprite sizes (~230 MB).
* Positions are quantised to whole pixels and sizes to 2 px buckets, so the ground truth from
  :meth:`DemoScene.people_at` (exact, in floating point) is within ~1.5 px of what is drawn.
* The timeline is authored at 640x480 and scales with the frame (x with width, sizes with
  height), so it holds for 4:3 and wider frames; at portrait aspect ratios people would crowd.
"""
from __future__ import annotations

import collections
import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.capture.slot import Pacer
from kiosk.errors import ModelError

__all__ = ["EYE_LEVEL", "LOOP_S", "PLAIN", "PORTRAITS", "DemoFigure", "DemoScene", "Look",
           "Portrait", "place_figure"]

log = logging.getLogger(__name__)


# --- the photos ----------------------------------------------------------------------------------

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
_HALF_WIDTH = 1.15
_ABOVE = 0.5


# --- the timeline --------------------------------------------------------------------------------

_REF_W, _REF_H = 640.0, 480.0  # the timeline is authored in these pixel units
LOOP_S = 48.0
_FACE_Y = 0.405  # face-centre height as a fraction of the frame: the camera's eye level
_LEDGE_TOP = 0.78  # top of the kiosk counter in the foreground, fraction of the frame height
#: Face-centre height as a fraction of the frame height, for scenes built on this one
#: (kiosk.bench.scenes).
EYE_LEVEL = _FACE_Y


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
_TIMELINE: tuple[_Visit, ...] = (
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
    body = (cx_px - _HALF_WIDTH * fh, face[1] - _ABOVE * fh, cx_px + _HALF_WIDTH * fh, face[3] + spec.below * fh)
    return DemoFigure(spec.label, photo, face, body, fh, walking, look)


def _hermite(t: float, keys: tuple[_Key, ...]) -> tuple[float, float, float]:
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


# --- photo preparation (once per process) --------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Cutout:
    """A photo's head-and-shoulders cut-out at one resolution.

    ``anchor_xy`` is the face-box centre in cut-out pixels, ``face_h`` the face-box height.
    """

    bgr: np.ndarray  # HxWx3 uint8
    alpha: np.ndarray  # HxW float32 0..1
    anchor_xy: tuple[float, float]
    face_h: float


@dataclass(frozen=True, slots=True)
class _Sprite:
    bgr: np.ndarray
    alpha: np.ndarray
    inv_alpha: np.ndarray
    anchor_xy: tuple[float, float]

    @property
    def nbytes(self) -> int:
        return self.bgr.nbytes + self.alpha.nbytes + self.inv_alpha.nbytes


_SPRITE_CACHE_BYTES = 48 * 1024 * 1024
_ON = (255.0,)  # mask value for cv2 drawing on single-channel masks
_GRABCUT_FACE_PX = 72.0  # face height at which GrabCut runs: fast, and the mask is feathered anyway
_prep_lock = threading.Lock()
_prep_cache: dict[tuple[str, int, int, int], list[_Cutout]] = {}


def _envelope(shape_hw: tuple[int, int], fx: float, fy: float, fh: float,
              head_w: float, head_h: float) -> tuple[np.ndarray, np.ndarray]:
    """Head-and-shoulders envelope and the always-foreground core, as uint8 masks.

    Envelope: a head ellipse, a neck column and a shoulder dome over a torso block. The core
    (face, hair, neck, middle of the chest) is kept whatever GrabCut thinks: a dark turtleneck
    or hair against a dark background is exactly where colour-based segmentation fails.
    """
    h, w = shape_hw
    env = np.zeros((h, w), np.uint8)
    core = np.zeros((h, w), np.uint8)

    def pt(x: float, y: float) -> tuple[int, int]:
        return int(round(x)), int(round(y))

    def ax(a: float, b: float) -> tuple[int, int]:
        return max(1, int(round(a))), max(1, int(round(b)))

    cv2.ellipse(env, pt(fx, fy - 0.1 * fh), ax(head_w * fh, head_h * fh), 0, 0, 360, _ON, -1)
    cv2.rectangle(env, pt(fx - 0.27 * fh, fy + 0.3 * fh), pt(fx + 0.27 * fh, fy + 1.2 * fh), _ON, -1)
    cv2.ellipse(env, pt(fx, fy + 1.85 * fh), ax(_HALF_WIDTH * fh, 1.0 * fh), 0, 180, 360, _ON, -1)
    cv2.rectangle(env, pt(fx - _HALF_WIDTH * fh, fy + 1.85 * fh), pt(fx + _HALF_WIDTH * fh, h), _ON, -1)

    cv2.ellipse(core, pt(fx, fy - 0.06 * fh), ax(0.4 * fh, 0.54 * fh), 0, 0, 360, _ON, -1)
    cv2.rectangle(core, pt(fx - 0.22 * fh, fy + 0.3 * fh), pt(fx + 0.22 * fh, fy + 1.1 * fh), _ON, -1)
    cv2.rectangle(core, pt(fx - 0.65 * fh, fy + 1.4 * fh), pt(fx + 0.65 * fh, h), _ON, -1)
    return env, cv2.bitwise_and(core, env)


def _cut_out(photo: np.ndarray, spec: Portrait, master_face_px: float) -> _Cutout:
    """Cut the head and shoulders out of ``photo``, at a face height of ``master_face_px``."""
    ph, pw = photo.shape[:2]
    sx, sy = pw / spec.size_wh[0], ph / spec.size_wh[1]
    x, y, w, h = spec.face_xywh_px
    fx0, fy0, fw, fh = x * sx, y * sy, w * sx, h * sy
    fcx, fcy = fx0 + fw / 2, fy0 + fh / 2
    # Region in photo pixels; parts outside the photo become transparent.
    left, right = fcx - _HALF_WIDTH * fh, fcx + _HALF_WIDTH * fh
    top, bottom = fy0 - _ABOVE * fh, fy0 + fh + spec.below * fh

    def warp(scale: float) -> tuple[np.ndarray, np.ndarray, float, float, float]:
        out_w, out_h = int(math.ceil((right - left) * scale)), int(math.ceil((bottom - top) * scale))
        m = np.array([[scale, 0, -left * scale], [0, scale, -top * scale]], np.float32)
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
        img = cv2.warpAffine(photo, m, (out_w, out_h), flags=interp, borderMode=cv2.BORDER_REPLICATE)
        ones = np.full((ph, pw), 255, np.uint8)
        valid = cv2.warpAffine(  # type: ignore[call-overload]  # cv2 stubs reject an int borderValue
            ones, m, (out_w, out_h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
        return img, valid, (fcx - left) * scale, (fcy - top) * scale, fh * scale

    # 1. segment at a small working size
    small, valid_s, ax_s, ay_s, fh_s = warp(_GRABCUT_FACE_PX / fh)
    env, core = _envelope((small.shape[0], small.shape[1]), ax_s, ay_s, fh_s, spec.head_w, spec.head_h)
    gc = np.full(env.shape, cv2.GC_BGD, np.uint8)
    gc[cv2.dilate(env, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (15, 15))) > 0] = cv2.GC_PR_BGD
    gc[env > 0] = cv2.GC_PR_FGD
    gc[core > 0] = cv2.GC_FGD
    cv2.setRNGSeed(20240601)  # GrabCut's k-means initialisation: same cut-out every run
    bgd, fgd = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.grabCut(small, gc, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)  # type: ignore[call-overload]
    fg: np.ndarray = np.where((gc == cv2.GC_FGD) | (gc == cv2.GC_PR_FGD), 255, 0).astype(np.uint8)
    fg = cv2.morphologyEx(fg, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (5, 5)))
    fg = cv2.morphologyEx(fg, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (9, 9)))
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg)
    if n > 1:  # keep the person, drop islands of background that happened to match
        keep = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        fg = np.where(labels == keep, 255, 0).astype(np.uint8)
    fg = cv2.bitwise_or(cv2.bitwise_and(fg, env), core)
    fg = cv2.bitwise_and(fg, valid_s)
    # Pull the edge in by ~2 % of the face before feathering, so the feather falls on the person
    # rather than on a fringe of the photo's background (a halo of curtain or flag otherwise).
    fg = cv2.erode(fg, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    alpha_s: np.ndarray = cv2.GaussianBlur(fg.astype(np.float32) / 255.0, (0, 0), 0.02 * fh_s + 0.6)
    # Fade out over the bottom quarter face (normally hidden by the counter anyway).
    ramp_px = 0.25 * fh_s
    rows = np.arange(alpha_s.shape[0], dtype=np.float32)
    alpha_s *= np.clip((alpha_s.shape[0] - 1 - rows) / ramp_px, 0.0, 1.0)[:, None]

    # 2. colour at the master size, mask upsampled to it
    img, _, ax_m, ay_m, fh_m = warp(master_face_px / fh)
    alpha = cv2.resize(alpha_s, (img.shape[1], img.shape[0]), interpolation=cv2.INTER_LINEAR)
    np.clip(alpha, 0.0, 1.0, out=alpha)
    return _Cutout(img, alpha, (ax_m, ay_m), fh_m)


def _pyramid(master: _Cutout) -> list[_Cutout]:
    """The master cut-out and versions at 1/2 and 1/4 size, largest first.

    Resizing from the nearest larger level with INTER_LINEAR (never more than 2x down) looks as
    good as INTER_AREA from the master and costs a fraction of it.
    """
    levels = [master]
    for _ in range(2):
        prev = levels[-1]
        h, w = prev.bgr.shape[:2]
        if h < 64 or w < 64:
            break
        nw, nh = max(1, w // 2), max(1, h // 2)
        fx, fy = nw / w, nh / h
        levels.append(_Cutout(
            cv2.resize(prev.bgr, (nw, nh), interpolation=cv2.INTER_AREA),
            cv2.resize(prev.alpha, (nw, nh), interpolation=cv2.INTER_AREA),
            (prev.anchor_xy[0] * fx, prev.anchor_xy[1] * fy),
            prev.face_h * fy,
        ))
    return levels


def _load_portrait(path: Path, spec: Portrait, master_face_px: int) -> list[_Cutout]:
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, master_face_px)
    with _prep_lock:
        cached = _prep_cache.get(key)
    if cached is not None:
        return cached
    photo = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if photo is None:
        raise ModelError(f"demo photo {path} cannot be decoded (corrupt download?); "
                         f"run `kiosk models fetch` (or `make setup`) to fetch it again")
    ph, pw = photo.shape[:2]
    ew, eh = spec.size_wh
    if abs(pw / ph - ew / eh) > 0.01:
        raise ModelError(f"demo photo {path} is {pw}x{ph}, expected {ew}x{eh} (the face table in "
                         f"{__name__} is measured on that photo); run `kiosk models fetch` to fetch the right file")
    if (pw, ph) != (ew, eh):
        log.warning("demo photo %s is %dx%d instead of %dx%d; scaling its face rectangle", path, pw, ph, ew, eh)
    t0 = time.perf_counter()
    levels = _pyramid(_cut_out(photo, spec, float(master_face_px)))
    log.debug("cut out %s in %.0f ms", path.name, (time.perf_counter() - t0) * 1e3)
    with _prep_lock:
        _prep_cache[key] = levels
    return levels


# --- the room --------------------------------------------------------------------------------------

def _build_room(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The background (wall, paintings, bench, floor) and the counter strip in front of everyone.

    Drawn in 640x480 units scaled to the frame, then softened (the wall is out of focus behind
    the visitors, the counter even more so, being closest to the lens).
    """
    sx, sy = w / _REF_W, h / _REF_H

    def p(x: float, y: float) -> tuple[int, int]:
        return int(round(x * sx)), int(round(y * sy))

    def s(v: float) -> int:
        return max(1, int(round(v * min(sx, sy))))

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xn, yn = xx / w, yy / h
    floor_y = 0.69

    # Wall: warm off-white, darker towards the floor and the sides.
    top_c, low_c = np.array([196, 208, 218], np.float32), np.array([150, 164, 178], np.float32)
    wall_t = np.clip(yn / floor_y, 0, 1)[..., None]
    room = top_c * (1 - wall_t) + low_c * wall_t
    room *= (1.0 - 0.10 * ((xn - 0.5) * 2) ** 2)[..., None]

    # Parquet floor with planks converging to the vanishing point at eye level.
    f_t = np.clip((yn - floor_y) / (1 - floor_y), 0, 1)[..., None]
    floor = np.array([62, 104, 150], np.float32) * (1.05 - 0.35 * f_t)
    room = np.where((yn >= floor_y)[..., None], floor, room)
    room = room.astype(np.uint8)
    vx, vy = p(320, _FACE_Y * _REF_H)
    for bx in np.linspace(-900, 1540, 26):
        x1, y1 = p(bx, _REF_H)
        # line from the vanishing point, clipped to the floor region below
        t = (floor_y * h - vy) / max(1, (y1 - vy))
        x0 = int(vx + (x1 - vx) * t)
        cv2.line(room, (x0, int(floor_y * h)), (x1, y1), (48, 84, 122), s(1), cv2.LINE_AA)
    # skirting board
    cv2.rectangle(room, p(0, floor_y * _REF_H - 9), p(640, floor_y * _REF_H), (226, 230, 233), -1)
    cv2.line(room, p(0, floor_y * _REF_H), p(640, floor_y * _REF_H), (120, 128, 136), s(1), cv2.LINE_AA)

    # Light pools of the track spots on the wall (additive, soft).
    light: np.ndarray = np.zeros((h, w), np.float32)
    for cx, cy, rx, ry in ((120, 140, 120, 150), (330, 130, 140, 165), (540, 140, 115, 150)):
        cv2.ellipse(light, p(cx, cy), (s(rx), s(ry)), 0, 0, 360, (1.0,), -1)
    light = cv2.GaussianBlur(light, (0, 0), 40 * min(sx, sy))
    room = np.clip(room.astype(np.float32) + light[..., None] * np.array([22, 30, 38], np.float32), 0, 255)
    room = room.astype(np.uint8)

    # Ceiling track with spot fixtures.
    cv2.rectangle(room, p(0, 0), p(640, 7), (70, 70, 72), -1)
    for cx in (95, 145, 305, 355, 515, 565):
        cv2.rectangle(room, p(cx - 7, 6), p(cx + 7, 22), (40, 40, 42), -1)
        cv2.circle(room, p(cx, 22), s(5), (200, 225, 240), -1)

    def painting(x0: float, y0: float, x1: float, y1: float, frame_c: tuple[int, int, int]) -> None:
        shadow: np.ndarray = np.zeros((h, w), np.float32)
        cv2.rectangle(shadow, p(x0 + 5, y0 + 7), p(x1 + 5, y1 + 9), (1.0,), -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), 6 * min(sx, sy))
        room[:] = (room.astype(np.float32) * (1 - 0.45 * shadow[..., None])).astype(np.uint8)
        cv2.rectangle(room, p(x0, y0), p(x1, y1), frame_c, -1)
        cv2.rectangle(room, p(x0, y0), p(x1, y1), tuple(int(c * 0.6) for c in frame_c), s(1))

    # Left: a landscape (sky, sun, hills, lake), drawn on its own canvas so nothing spills.
    painting(38, 78, 202, 206, (60, 130, 170))
    a0, a1 = p(48, 88), p(192, 196)
    sky = np.linspace(0, 1, a1[1] - a0[1], dtype=np.float32)[:, None, None]
    canvas = (np.array([235, 200, 150], np.float32) * (1 - sky)
              + np.array([210, 225, 240], np.float32) * sky).astype(np.uint8)
    canvas = np.ascontiguousarray(np.repeat(canvas, a1[0] - a0[0], axis=1))

    def q(x: float, y: float) -> tuple[int, int]:  # painting coordinates, ref units from its corner
        return int(round(x * sx)), int(round(y * sy))

    cv2.circle(canvas, q(112, 30), s(12), (170, 225, 250), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, q(42, 102), (s(80), s(48)), 0, 180, 360, (70, 125, 90), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, q(117, 108), (s(70), s(38)), 0, 180, 360, (60, 110, 75), -1, cv2.LINE_AA)
    cv2.rectangle(canvas, q(0, 90), q(144, 108), (120, 95, 60), -1)
    room[a0[1]:a1[1], a0[0]:a1[0]] = canvas
    # Centre: a colour-field painting (two soft blocks on red).
    painting(262, 52, 398, 252, (40, 40, 44))
    c0, c1 = p(270, 60), p(390, 244)
    block = np.zeros((c1[1] - c0[1], c1[0] - c0[0], 3), np.uint8)
    block[:] = (40, 45, 150)
    bh = block.shape[0]
    cv2.rectangle(block, (s(10), s(10)), (block.shape[1] - s(10), int(bh * 0.48)), (40, 110, 215), -1)
    cv2.rectangle(block, (s(10), int(bh * 0.56)), (block.shape[1] - s(10), bh - s(12)), (35, 30, 95), -1)
    room[c0[1]:c1[1], c0[0]:c1[0]] = cv2.GaussianBlur(block, (0, 0), 2.5 * min(sx, sy))
    # Right: a grid of primaries.
    painting(462, 84, 604, 214, (235, 235, 235))
    g0, g1 = p(470, 92), p(596, 206)
    room[g0[1]:g1[1], g0[0]:g1[0]] = (238, 240, 242)
    cv2.rectangle(room, p(470, 92), p(520, 150), (40, 40, 200), -1)
    cv2.rectangle(room, p(560, 165), p(596, 206), (160, 70, 20), -1)
    cv2.rectangle(room, p(470, 185), p(500, 206), (40, 200, 235), -1)
    for (xa, ya, xb, yb) in ((520, 92, 520, 206), (560, 92, 560, 206), (470, 150, 596, 150),
                             (470, 185, 560, 185), (500, 185, 500, 206), (560, 165, 596, 165)):
        cv2.line(room, p(xa, ya), p(xb, yb), (25, 25, 25), s(3))
    # Wall labels beside each painting.
    for lx, ly in ((208, 180), (404, 222), (610, 190)):
        cv2.rectangle(room, p(lx, ly), p(lx + 22, ly + 16), (238, 240, 240), -1)
        for k in range(3):
            cv2.line(room, p(lx + 3, ly + 4 + 4 * k), p(lx + 18 - 5 * (k == 2), ly + 4 + 4 * k), (140, 140, 140), 1)
    # A bench against the far wall.
    cv2.rectangle(room, p(232, 318), p(408, 328), (58, 62, 66), -1)
    cv2.rectangle(room, p(232, 318), p(408, 320), (96, 100, 104), -1)
    for lx in (244, 392):
        cv2.rectangle(room, p(lx, 328), p(lx + 6, 352), (40, 42, 45), -1)

    room = cv2.GaussianBlur(room, (0, 0), 1.1 * min(sx, sy))
    # Lens vignetting.
    vignette = 1.0 - 0.22 * (((xn - 0.5) / 0.7) ** 2 + ((yn - 0.5) / 0.7) ** 2)
    room = (room.astype(np.float32) * vignette[..., None]).astype(np.uint8)

    # The kiosk's own counter top, nearest the lens (so the most out of focus): oak with grain
    # running across, a lit far edge, darker towards the lens, and a small tent card on it.
    top = int(round(_LEDGE_TOP * h))
    ledge_h = h - top
    pad = s(10)
    rng = np.random.default_rng(3)
    r = np.linspace(0, 1, ledge_h + 2 * pad, dtype=np.float32)[:, None, None]
    band = np.array([96, 138, 178], np.float32) * (1.0 - 0.45 * r)
    band = np.repeat(band, w, axis=1)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (ledge_h + 2 * pad, w)).astype(np.float32), (0, 0),
                             sigmaX=30 * sx, sigmaY=0.8 * sy)
    band *= (1.0 + 0.9 * grain)[..., None]
    band[: pad] = room[top - pad: top].astype(np.float32)  # blends into the room when blurred
    band[pad: pad + s(2)] = (150, 184, 214)  # the lit far edge
    card = np.array([p(520, 392), p(600, 392), p(606, 428), p(514, 428)], np.int32)
    card[:, 1] += pad - top
    cv2.fillConvexPoly(band, card, (232, 236, 238))
    for k, length in enumerate((62, 48, 56)):
        y = int(round((400 + 8 * k) * sy)) + pad - top
        cv2.line(band, (int(528 * sx), y), (int((528 + length) * sx), y), (90, 90, 95), s(2))
    band = cv2.GaussianBlur(band, (0, 0), 2.2 * min(sx, sy))
    ledge = band[pad: pad + ledge_h]
    ledge = (ledge * vignette[top:, :, None]).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(room), np.ascontiguousarray(ledge)


# --- the scene -------------------------------------------------------------------------------------

class DemoScene:
    """A Source that renders the demo scene (see the module docstring for what and how).

    ``photos_dir`` must hold the files in :data:`PORTRAITS` (``kiosk models fetch`` puts them
    in ``assets/demo/photos``). Construction is cheap and touches no file, so
    :meth:`people_at` and :meth:`figures_at` work without the photos; ``open()`` loads them
    (about one second the first time in a process: GrabCut) and raises ``ModelError`` if one is
    missing or wrong. ``read()`` returns frame ``n`` showing scene time ``(n / fps) % LOOP_S``;
    with ``realtime`` it sleeps until that frame is due, without it returns at once. Without
    ``loop`` the stream ends after one pass.
    """

    LOOP_S = LOOP_S

    def __init__(self, photos_dir: Path, width: int = 640, height: int = 480, fps: float = 25.0,
                 realtime: bool = True, loop: bool = True) -> None:
        if width < 64 or height < 48:
            raise ValueError(f"demo scene size must be at least 64x48, got {width}x{height}")
        if not fps > 0:
            raise ValueError(f"demo scene fps must be > 0, got {fps!r}")
        self.photos_dir = Path(photos_dir)
        self.width, self.height = int(width), int(height)
        self.fps = float(fps)
        self.realtime = bool(realtime)
        self.loop = bool(loop)
        self.name = "demo"
        self.loop_frames = int(round(LOOP_S * self.fps))
        self._index = 0
        self._pacer: Pacer | None = None
        self._levels: dict[str, list[_Cutout]] = {}
        self._room: np.ndarray | None = None
        self._ledge: np.ndarray | None = None
        self._noise: list[np.ndarray] = []
        self._sprites: collections.OrderedDict[tuple[str, int, Look], _Sprite] = collections.OrderedDict()
        self._sprite_bytes = 0
        # Per scene, so a scene built on this one (kiosk.bench.scenes) can bound it tighter.
        self.sprite_cache_bytes = _SPRITE_CACHE_BYTES
        self._bucket_px = max(1, round(2 * self.height / _REF_H))

    # --- assets ----------------------------------------------------------------------------------

    @staticmethod
    def missing_photos(photos_dir: Path) -> list[str]:
        """File names from :data:`PORTRAITS` that are not in ``photos_dir``."""
        return [name for name in PORTRAITS if not (Path(photos_dir) / name).is_file()]

    @staticmethod
    def check_photos(photos_dir: Path) -> None:
        """Raise ``ModelError`` naming the missing photos and the command that fetches them."""
        missing = DemoScene.missing_photos(photos_dir)
        if missing:
            raise ModelError(
                f"the demo scene needs {', '.join(missing)} in {photos_dir} (missing); "
                "run `make setup` or `kiosk models fetch` to download them, or set runtime.demo_dir"
            )

    # --- Source -----------------------------------------------------------------------------------

    def open(self) -> None:
        self.check_photos(self.photos_dir)
        master_px = int(math.ceil(0.47 * self.height))  # largest face in the timeline is ~0.45 H
        self._levels = {name: _load_portrait(self.photos_dir / name, spec, master_px)
                        for name, spec in PORTRAITS.items()}
        self._room, self._ledge = _build_room(self.width, self.height)
        rng = np.random.default_rng(7)
        # Sensor noise, added as (noise - 3) with saturation: values 0..6 around an offset of 3.
        self._noise = [np.clip(rng.normal(3.0, 1.6, (self.height, self.width, 3)), 0, 6).astype(np.uint8)
                       for _ in range(5)]
        self._sprites.clear()
        self._sprite_bytes = 0
        self._index = 0
        self._pacer = Pacer(self.fps) if self.realtime else None

    def read(self) -> np.ndarray | None:
        if self._room is None:
            raise RuntimeError("DemoScene.read() before open()")
        if not self.loop and self._index >= self.loop_frames:
            return None
        t_s = (self._index % self.loop_frames) / self.fps
        if self._pacer is not None:
            self._pacer.wait()
        frame = self.render(t_s, noise_index=self._index)
        self._index += 1
        return frame

    def close(self) -> None:
        # Keep the photo preparation (module cache); drop what is per-scene and large.
        self._sprites.clear()
        self._sprite_bytes = 0
        self._room = self._ledge = None
        self._noise = []

    # --- ground truth -----------------------------------------------------------------------------

    def figures_at(self, t_s: float) -> list[DemoFigure]:
        """Everyone on the timeline at scene time ``t_s`` (wrapped to the loop when looping), unclipped.

        Includes visitors still (or already) entirely outside the frame while they walk in or out.
        """
        if self.loop:
            t_s = t_s % LOOP_S
        sx, sy = self.width / _REF_W, self.height / _REF_H
        out: list[DemoFigure] = []
        for visit in _TIMELINE:
            if not (visit.start_s <= t_s <= visit.end_s):
                continue
            spec = PORTRAITS[visit.photo]
            cx_ref, fh_ref, speed = _hermite(t_s, visit.keys)
            tl = t_s - visit.start_s
            ph = visit.phase
            # Standing: weight shifts and breathing; walking: a step bob of up to 3 % of the face.
            sway = 0.03 * math.sin(2 * math.pi * 0.21 * tl + ph) + 0.012 * math.sin(2 * math.pi * 0.57 * tl + 2 * ph)
            walk = min(1.0, speed / 1.2)
            bob = 0.012 * math.sin(2 * math.pi * 0.33 * tl + ph) - 0.03 * walk * abs(math.sin(math.pi * 1.8 * tl))
            scale = 1.0 + 0.018 * math.sin(2 * math.pi * 0.15 * tl + 3 * ph)
            fh = fh_ref * scale * sy
            cx = (cx_ref + sway * fh_ref) * sx
            cy = (_FACE_Y * _REF_H + (spec.person_dy + bob) * fh_ref) * sy
            out.append(place_figure(visit.photo, cx, cy, fh, walking=walk > 0.25))
        return out

    def people_at(self, t_s: float, *, min_visible: float = 0.5) -> list[tuple[str, tuple[float, float, float, float]]]:
        """Ground truth at scene time ``t_s``: ``(label, face_box_xyxy)`` for each face in view.

        A face counts as in view when at least ``min_visible`` of its box is inside the frame;
        the box is clipped to the frame. Labels name the person, not the photo ("obama" for all
        three Obama photos), which is what re-identification should recover.
        """
        out: list[tuple[str, tuple[float, float, float, float]]] = []
        for fig in self.figures_at(t_s):
            x0, y0, x1, y1 = fig.face_box_xyxy
            cx0, cy0 = max(0.0, x0), max(0.0, y0)
            cx1, cy1 = min(float(self.width), x1), min(float(self.height), y1)
            if cx1 <= cx0 or cy1 <= cy0:
                continue
            visible = (cx1 - cx0) * (cy1 - cy0) / ((x1 - x0) * (y1 - y0))
            if visible >= min_visible:
                out.append((fig.label, (cx0, cy0, cx1, cy1)))
        return out

    # --- rendering ----------------------------------------------------------------------------------

    def render(self, t_s: float, noise_index: int | None = None) -> np.ndarray:
        """The frame at scene time ``t_s`` (``open()`` first). Deterministic for given arguments."""
        if self._room is None or self._ledge is None:
            raise RuntimeError("DemoScene.render() before open()")
        frame = self._room.copy()
        # Farther (smaller) people first, so a nearer one would be drawn over them.
        for fig in sorted(self.figures_at(t_s), key=lambda f: f.face_h_px):
            self._draw(frame, fig)
        top = self.height - self._ledge.shape[0]
        frame[top:] = self._ledge
        # Slow exposure / white-balance drift, periodic in the loop so the wrap is seamless.
        ph = 2 * math.pi * (t_s % LOOP_S) / LOOP_S
        g = 1.0 + 0.035 * math.sin(6 * ph) + 0.012 * math.sin(17 * ph + 1.0)
        warm = 0.012 * math.sin(4 * ph + 0.5)
        cv2.multiply(frame, (g * (1 - warm), g, g * (1 + warm), 0.0), dst=frame)  # type: ignore[call-overload]
        k = int(round(t_s * self.fps)) if noise_index is None else noise_index
        cv2.add(frame, self._noise[k % len(self._noise)], dst=frame)
        cv2.subtract(frame, (3, 3, 3, 0), dst=frame)  # type: ignore[call-overload]
        return frame

    def _sprite(self, photo: str, face_px: int, look: Look = PLAIN) -> _Sprite:
        key = (photo, face_px, look)
        sprite = self._sprites.get(key)
        if sprite is not None:
            self._sprites.move_to_end(key)
            return sprite
        levels = self._levels[photo]
        src = levels[0]
        for level in levels:  # the smallest level still at least as large as the target
            if level.face_h >= face_px:
                src = level
        f = face_px / src.face_h
        w = max(1, int(round(src.bgr.shape[1] * f)))
        h = max(1, int(round(src.bgr.shape[0] * f)))
        interp = cv2.INTER_LINEAR if f <= 1 else cv2.INTER_CUBIC
        bgr = cv2.resize(src.bgr, (w, h), interpolation=interp)
        alpha = cv2.resize(src.alpha, (w, h), interpolation=cv2.INTER_LINEAR)
        np.clip(alpha, 0.0, 1.0, out=alpha)
        anchor_x = src.anchor_xy[0] * w / src.bgr.shape[1]
        if look.mirror:
            bgr, alpha = np.ascontiguousarray(bgr[:, ::-1]), np.ascontiguousarray(alpha[:, ::-1])
            anchor_x = w - anchor_x
        if look.gain_bgr != PLAIN.gain_bgr:
            cv2.multiply(bgr, (*look.gain_bgr, 0.0), dst=bgr)  # type: ignore[call-overload]
        sprite = _Sprite(bgr, alpha, 1.0 - alpha, (anchor_x, src.anchor_xy[1] * h / src.bgr.shape[0]))
        self._sprites[key] = sprite
        self._sprite_bytes += sprite.nbytes
        # Bounded by bytes: a whole loop uses ~130 sizes (~230 MB at 640x480), far too much to
        # keep on a Pi; the people standing still (a few sizes each, as they breathe) fit easily,
        # and a miss while walking costs ~1 ms.
        while self._sprite_bytes > self.sprite_cache_bytes and len(self._sprites) > 1:
            _, old = self._sprites.popitem(last=False)
            self._sprite_bytes -= old.nbytes
        return sprite

    def _draw(self, frame: np.ndarray, fig: DemoFigure) -> None:
        face_px = max(self._bucket_px, int(round(fig.face_h_px / self._bucket_px)) * self._bucket_px)
        sp = self._sprite(fig.photo, face_px, fig.look)
        fx0, fy0, fx1, fy1 = fig.face_box_xyxy
        x0 = int(round((fx0 + fx1) / 2 - sp.anchor_xy[0]))
        y0 = int(round((fy0 + fy1) / 2 - sp.anchor_xy[1]))
        sh, sw = sp.bgr.shape[:2]
        fh_, fw_ = frame.shape[:2]
        ax0, ay0 = max(0, x0), max(0, y0)
        ax1, ay1 = min(fw_, x0 + sw), min(fh_, y0 + sh)
        if ax1 <= ax0 or ay1 <= ay0:
            return
        sx0, sy0 = ax0 - x0, ay0 - y0
        sx1, sy1 = sx0 + (ax1 - ax0), sy0 + (ay1 - ay0)
        roi = frame[ay0:ay1, ax0:ax1]
        frame[ay0:ay1, ax0:ax1] = cv2.blendLinear(
            sp.bgr[sy0:sy1, sx0:sx1], roi, sp.alpha[sy0:sy1, sx0:sx1], sp.inv_alpha[sy0:sy1, sx0:sx1])
