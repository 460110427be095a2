"""The demo scene's cut-outs: each photo's head and shoulders, segmented once per process
(GrabCut, no model), feathered, and kept as a small pyramid (see :mod:`kiosk.capture.demo`).
"""
from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kiosk.capture.demo_script import ABOVE, HALF_WIDTH, Portrait
from kiosk.errors import ModelError

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Cutout:
    """A photo's head-and-shoulders cut-out at one resolution.

    ``anchor_xy`` is the face-box centre in cut-out pixels, ``face_h`` the face-box height.
    """

    bgr: np.ndarray  # HxWx3 uint8
    alpha: np.ndarray  # HxW float32 0..1
    anchor_xy: tuple[float, float]
    face_h: float


@dataclass(frozen=True, slots=True)
class Sprite:
    bgr: np.ndarray
    alpha: np.ndarray
    inv_alpha: np.ndarray
    anchor_xy: tuple[float, float]

    @property
    def nbytes(self) -> int:
        return self.bgr.nbytes + self.alpha.nbytes + self.inv_alpha.nbytes


SPRITE_CACHE_BYTES = 48 * 1024 * 1024
_ON = (255.0,)  # mask value for cv2 drawing on single-channel masks
_GRABCUT_FACE_PX = 72.0  # face height at which GrabCut runs: fast, and the mask is feathered anyway
_prep_lock = threading.Lock()
_prep_cache: dict[tuple[str, int, int, int], list[Cutout]] = {}


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
    cv2.ellipse(env, pt(fx, fy + 1.85 * fh), ax(HALF_WIDTH * fh, 1.0 * fh), 0, 180, 360, _ON, -1)
    cv2.rectangle(env, pt(fx - HALF_WIDTH * fh, fy + 1.85 * fh), pt(fx + HALF_WIDTH * fh, h), _ON, -1)

    cv2.ellipse(core, pt(fx, fy - 0.06 * fh), ax(0.4 * fh, 0.54 * fh), 0, 0, 360, _ON, -1)
    cv2.rectangle(core, pt(fx - 0.22 * fh, fy + 0.3 * fh), pt(fx + 0.22 * fh, fy + 1.1 * fh), _ON, -1)
    cv2.rectangle(core, pt(fx - 0.65 * fh, fy + 1.4 * fh), pt(fx + 0.65 * fh, h), _ON, -1)
    return env, cv2.bitwise_and(core, env)


def _cut_out(photo: np.ndarray, spec: Portrait, master_face_px: float) -> Cutout:
    """Cut the head and shoulders out of ``photo``, at a face height of ``master_face_px``."""
    ph, pw = photo.shape[:2]
    sx, sy = pw / spec.size_wh[0], ph / spec.size_wh[1]
    x, y, w, h = spec.face_xywh_px
    fx0, fy0, fw, fh = x * sx, y * sy, w * sx, h * sy
    fcx, fcy = fx0 + fw / 2, fy0 + fh / 2
    # Region in photo pixels; parts outside the photo become transparent.
    left, right = fcx - HALF_WIDTH * fh, fcx + HALF_WIDTH * fh
    top, bottom = fy0 - ABOVE * fh, fy0 + fh + spec.below * fh

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
    return Cutout(img, alpha, (ax_m, ay_m), fh_m)


def _pyramid(master: Cutout) -> list[Cutout]:
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
        levels.append(Cutout(
            cv2.resize(prev.bgr, (nw, nh), interpolation=cv2.INTER_AREA),
            cv2.resize(prev.alpha, (nw, nh), interpolation=cv2.INTER_AREA),
            (prev.anchor_xy[0] * fx, prev.anchor_xy[1] * fy),
            prev.face_h * fy,
        ))
    return levels


def read_portrait(path: Path, spec: Portrait) -> np.ndarray:
    """Decode a demo photo and check it is the one the face table was measured on (ModelError if not)."""
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
    return photo


def load_portrait(path: Path, spec: Portrait, master_face_px: int, photo: np.ndarray | None = None) -> list[Cutout]:
    """The cut-out pyramid of one photo (cached per process); ``photo``: already decoded by
    :func:`read_portrait` (else it is read here)."""
    st = path.stat()
    key = (str(path.resolve()), st.st_mtime_ns, st.st_size, master_face_px)
    with _prep_lock:
        cached = _prep_cache.get(key)
    if cached is not None:
        return cached
    if photo is None:
        photo = read_portrait(path, spec)
    t0 = time.perf_counter()
    levels = _pyramid(_cut_out(photo, spec, float(master_face_px)))
    log.debug("cut out %s in %.0f ms", path.name, (time.perf_counter() - t0) * 1e3)
    with _prep_lock:
        _prep_cache[key] = levels
    return levels


class PortraitPreparer:
    """Cuts the photos out on a background thread, in the order the scene first needs them.

    Segmenting all five photos takes about a second on an x86 core (several on a Raspberry Pi);
    doing it before the first frame kept the kiosk's first picture waiting for people who walk
    in seconds later. The scene's first frame now waits only for the photos it shows, and a photo
    needed before it is ready is waited for (``levels``). A corrupt or wrong photo raises its
    ModelError there, from the scene's first ``read()`` (the capture thread treats it as fatal,
    exit 2, as it did when ``open()`` decoded the photos). ``close()`` stops after the photo in
    progress and joins the thread: a process must not exit while a thread is inside OpenCV
    (that aborts it).
    """

    def __init__(self, paths: dict[str, Path], specs: dict[str, Portrait], master_face_px: int,
                 order: list[str]) -> None:
        self._jobs = [(name, paths[name], specs[name]) for name in order]
        self._master_px = master_face_px
        self._ready: dict[str, list[Cutout]] = {}
        self._error: BaseException | None = None
        self._cond = threading.Condition()
        self._stop = False
        # Not a daemon: the interpreter waits for it at exit (at most the photos left, about a
        # second) instead of ending the process while it is inside GrabCut, which aborts it
        # ("terminate called without an active exception", status 134).
        self._thread = threading.Thread(target=self._run, name="demo-cutouts", daemon=False)
        self._thread.start()

    def _run(self) -> None:
        for name, path, spec in self._jobs:
            with self._cond:
                if self._stop:
                    return
            try:
                levels = load_portrait(path, spec, self._master_px)
            except BaseException as exc:  # handed to the reader, which raises it
                with self._cond:
                    self._error = exc
                    self._cond.notify_all()
                return
            with self._cond:
                self._ready[name] = levels
                self._cond.notify_all()

    def levels(self, name: str) -> list[Cutout]:
        """The cut-out pyramid of ``name``, waiting for it if it is still being prepared."""
        with self._cond:
            while name not in self._ready:
                if self._error is not None:
                    raise self._error
                if not self._thread.is_alive():
                    raise RuntimeError(f"demo cut-out {name} was never prepared")
                self._cond.wait(0.1)
            return self._ready[name]

    def close(self) -> None:
        with self._cond:
            self._stop = True
        self._thread.join()
