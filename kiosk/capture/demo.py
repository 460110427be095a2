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
  five photos, once per process, cached), on a background thread in the order the scene first
  shows the photos, so the first frame waits only for the people in it. The result is feathered. It is not perfect (a lock of
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

Modules: :mod:`~kiosk.capture.demo_script` (the photos' face boxes and the timeline: pure
geometry), :mod:`~kiosk.capture.demo_cutouts` (segmenting the photos, once per process),
:mod:`~kiosk.capture.demo_room` (the background and the counter), and this one, the
:class:`DemoScene` source that composes them frame by frame.
"""
from __future__ import annotations

import collections
import logging
import math
from pathlib import Path

import cv2
import numpy as np

from kiosk.capture.slot import Pacer
from kiosk.capture.demo_cutouts import SPRITE_CACHE_BYTES, PortraitPreparer, Sprite
from kiosk.capture.demo_room import build_room
from kiosk.capture.demo_script import (EYE_LEVEL, FACE_Y, LOOP_S, PLAIN, PORTRAITS, REF_H, REF_W, TIMELINE, DemoFigure,
                                       Look, Portrait, hermite, place_figure)
from kiosk.errors import ModelError

__all__ = ["EYE_LEVEL", "LOOP_S", "PLAIN", "PORTRAITS", "DemoFigure", "DemoScene", "Look",
           "Portrait", "place_figure"]

log = logging.getLogger(__name__)

_NOISE_IMAGES = 5


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
    #: The first read() waits for the photos it shows to be segmented (GrabCut; all five take ~1 s
    #: on an x86 core, several seconds on a loaded
    #: Raspberry Pi 4 and a minute under arm64 emulation. It is computation that always ends, not
    #: a device that may hang, so the capture thread allows it this long instead of the camera's
    #: 2 x stall_timeout_s (which it used to exceed, reopening the scene again and again).
    open_timeout_s = 180.0

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
        self._preparer: PortraitPreparer | None = None
        self._room: np.ndarray | None = None
        self._ledge: np.ndarray | None = None
        self._noise: list[np.ndarray] = []
        self._noise_rng = np.random.default_rng(7)
        self._sprites: collections.OrderedDict[tuple[str, int, Look], Sprite] = collections.OrderedDict()
        self._sprite_bytes = 0
        # Per scene, so a scene built on this one (kiosk.bench.scenes) can bound it tighter.
        self.sprite_cache_bytes = SPRITE_CACHE_BYTES
        self._bucket_px = max(1, round(2 * self.height / REF_H))

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
        self.close()  # a reopen: the previous preparation thread ends first
        master_px = int(math.ceil(0.47 * self.height))  # largest face in the timeline is ~0.45 H
        # The photos are cut out in the background, first needed first (demo_cutouts.PortraitPreparer).
        self._preparer = PortraitPreparer({name: self.photos_dir / name for name in PORTRAITS}, PORTRAITS,
                                          master_px, self.photo_order())
        self._room, self._ledge = build_room(self.width, self.height)
        # Sensor noise, added as (noise - 3) with saturation: values 0..6 around an offset of 3.
        # Five images, made as the first frames use them (``_noise_image``), not all before the first.
        self._noise_rng = np.random.default_rng(7)
        self._noise = []
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

    def photo_order(self) -> list[str]:
        """The photos in the order the scene first shows them (a scan in quarter seconds)."""
        first: dict[str, float] = {}
        for k in range(int(LOOP_S * 4) + 1):
            for fig in self.figures_at(k / 4):
                first.setdefault(fig.photo, k / 4)
        return sorted(PORTRAITS, key=lambda name: (first.get(name, math.inf), name))

    def close(self) -> None:
        # Keep the photo preparation (module cache); drop what is per-scene and large.
        if self._preparer is not None:
            self._preparer.close()
            self._preparer = None
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
        sx, sy = self.width / REF_W, self.height / REF_H
        out: list[DemoFigure] = []
        for visit in TIMELINE:
            if not (visit.start_s <= t_s <= visit.end_s):
                continue
            spec = PORTRAITS[visit.photo]
            cx_ref, fh_ref, speed = hermite(t_s, visit.keys)
            tl = t_s - visit.start_s
            ph = visit.phase
            # Standing: weight shifts and breathing; walking: a step bob of up to 3 % of the face.
            sway = 0.03 * math.sin(2 * math.pi * 0.21 * tl + ph) + 0.012 * math.sin(2 * math.pi * 0.57 * tl + 2 * ph)
            walk = min(1.0, speed / 1.2)
            bob = 0.012 * math.sin(2 * math.pi * 0.33 * tl + ph) - 0.03 * walk * abs(math.sin(math.pi * 1.8 * tl))
            scale = 1.0 + 0.018 * math.sin(2 * math.pi * 0.15 * tl + 3 * ph)
            fh = fh_ref * scale * sy
            cx = (cx_ref + sway * fh_ref) * sx
            cy = (FACE_Y * REF_H + (spec.person_dy + bob) * fh_ref) * sy
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
        cv2.add(frame, self._noise_image(k % _NOISE_IMAGES), dst=frame)
        cv2.subtract(frame, (3, 3, 3, 0), dst=frame)  # type: ignore[call-overload]
        return frame

    def _noise_image(self, i: int) -> np.ndarray:
        """Noise image ``i``; drawn in order from one seeded generator, so each is the same every run."""
        while len(self._noise) <= i:
            self._noise.append(np.clip(self._noise_rng.normal(3.0, 1.6, (self.height, self.width, 3)), 0, 6)
                               .astype(np.uint8))
        return self._noise[i]

    def _sprite(self, photo: str, face_px: int, look: Look = PLAIN) -> Sprite:
        key = (photo, face_px, look)
        sprite = self._sprites.get(key)
        if sprite is not None:
            self._sprites.move_to_end(key)
            return sprite
        if self._preparer is None:
            raise RuntimeError("DemoScene.render() before open()")
        levels = self._preparer.levels(photo)
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
        sprite = Sprite(bgr, alpha, 1.0 - alpha, (anchor_x, src.anchor_xy[1] * h / src.bgr.shape[0]))
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
