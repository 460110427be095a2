"""The camera frame as a pygame surface: scaled with its aspect kept, mirrored, faces blurred.

The conversion (resize, BGR→RGB, flip) runs once per new camera frame and size, not once per
display frame: at 60 Hz on a 25 fps camera most display frames reuse the converted picture.
OpenCV does the pixel work because it is several times faster than pygame's smoothscale and
releases the GIL, leaving the inference thread its core.

Blurring is pixelation (each face box, padded, averaged down to a few blocks and enlarged with
nearest-neighbour): unlike a light Gaussian blur it cannot be undone by sharpening. It covers
the faces the detector found; a face the detector misses is not blurred, which operators of
crowded venues should know. Until the first frame has been analysed (the models still load
at start-up) the whole picture is pixelated (``kiosk.ui.app``). The analysis itself still runs on the unblurred frame in RAM.

Every buffer here holds pixels of one camera frame only: when the next frame is converted, the
display-size picture, its blurred/marked copy, the surface made from it and the "You" crop of
the previous frame are overwritten with zeros before they are dropped (:meth:`CameraImage.release`),
so no picture of a visitor outlives the frame it came from in this object (docs/PRIVACY.md,
"Frame buffers").
"""
from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import pygame

from kiosk.types import Frame

Rect = tuple[int, int, int, int]
_BLUR_BLOCKS = 7  # pixel blocks across a face: unrecognisable, still reads as a face
_BLUR_PAD = 0.35  # box grown by this fraction on each side (hair, ears, motion lag)


def frame_to_display(x_px: float, y_px: float, frame_size: tuple[int, int], image_rect: Rect,
                     mirror: bool) -> tuple[float, float]:
    """A frame pixel position → screen position (mirrored when the picture is)."""
    fw, fh = frame_size
    x0, y0, w, h = image_rect
    if mirror:
        x_px = fw - x_px
    return x0 + x_px * w / fw, y0 + y_px * h / fh


def box_to_display(box_xyxy: Sequence[float], frame_size: tuple[int, int], image_rect: Rect,
                   mirror: bool) -> Rect:
    """A face box (xyxy, frame pixels) → screen rectangle (x, y, w, h)."""
    ax, ay = frame_to_display(box_xyxy[0], box_xyxy[1], frame_size, image_rect, mirror)
    bx, by = frame_to_display(box_xyxy[2], box_xyxy[3], frame_size, image_rect, mirror)
    x0, x1 = sorted((ax, bx))
    return int(round(x0)), int(round(ay)), int(round(x1 - x0)), int(round(by - ay))


def pixelate(rgb: np.ndarray, rect: Rect, blocks: int = _BLUR_BLOCKS) -> None:
    """Pixelate ``rect`` (x, y, w, h; padded) of an HxWx3 image in place."""
    x, y, w, h = rect
    pad_w, pad_h = int(w * _BLUR_PAD), int(h * _BLUR_PAD)
    H, W = rgb.shape[:2]
    x0, y0 = max(0, x - pad_w), max(0, y - pad_h)
    x1, y1 = min(W, x + w + pad_w), min(H, y + h + pad_h)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return
    roi = rgb[y0:y1, x0:x1]
    bw = max(1, min(blocks, x1 - x0))
    bh = max(1, round(bw * (y1 - y0) / (x1 - x0)))
    small = cv2.resize(roi, (bw, bh), interpolation=cv2.INTER_AREA)
    rgb[y0:y1, x0:x1] = cv2.resize(small, (x1 - x0, y1 - y0), interpolation=cv2.INTER_NEAREST)


class CameraImage:
    """Converts frames for display and keeps the latest conversion."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int, bool] | None = None
        self._rgb: np.ndarray | None = None
        self._scratch: np.ndarray | None = None  # keeps the buffer of the last surface alive
        self._surface: pygame.Surface | None = None
        self._surface_key: tuple[int, int, int, bool] | None = None
        self._crop_key: tuple | None = None
        self._crop: pygame.Surface | None = None
        self._crop_pixels: np.ndarray | None = None  # the crop surface's memory (shared)
        self._frame_index: int | None = None
        self._shown: pygame.Surface | None = None  # the last blurred/marked surface handed out
        self.conversions = 0

    def _frame(self, frame: Frame) -> None:
        if frame.index != self._frame_index:
            self.release()
            self._frame_index = frame.index

    def release(self) -> None:
        """Overwrite with zeros, then drop, every buffer holding pixels of the current frame."""
        self._wipe_shown()
        for arr in (self._rgb, self._scratch, self._crop_pixels):
            if arr is not None and arr.flags.writeable:
                arr.fill(0)
        for surf in (self._surface, self._crop):
            if surf is not None:
                surf.fill((0, 0, 0))
        self._rgb = self._scratch = self._crop_pixels = None
        self._surface = self._crop = None
        self._key = self._surface_key = self._crop_key = None
        self._frame_index = None

    def rgb(self, frame: Frame, size: tuple[int, int], mirror: bool) -> np.ndarray:
        """HxWx3 RGB of ``frame`` at ``size`` (w, h), mirrored if asked; cached per frame."""
        self._frame(frame)
        key = (frame.index, size[0], size[1], mirror)
        if key != self._key or self._rgb is None:
            interp = cv2.INTER_AREA if size[0] < frame.width else cv2.INTER_LINEAR
            small = cv2.resize(frame.image, size, interpolation=interp)
            if mirror:
                small = cv2.flip(small, 1)
            self._rgb = cv2.cvtColor(small, cv2.COLOR_BGR2RGB)
            self._key = key
            self.conversions += 1
        return self._rgb

    def surface(self, frame: Frame, size: tuple[int, int], mirror: bool,
                blur_rects: Sequence[Rect] = (), points: np.ndarray | None = None,
                point_colour: tuple[int, int, int] = (255, 255, 255)) -> pygame.Surface:
        """A surface to blit; ``blur_rects`` and ``points`` are in image (not screen) pixels."""
        rgb = self.rgb(frame, size, mirror)
        plain = not blur_rects and (points is None or not len(points))
        if plain and self._surface is not None and self._surface_key == self._key:
            return self._surface
        if not plain:
            rgb = rgb.copy()  # keep the cached conversion clean for the next display frame
            for rect in blur_rects:
                pixelate(rgb, rect)
            if points is not None and len(points):
                pts = np.round(points).astype(np.int32)
                h, w = rgb.shape[:2]
                ok = (pts[:, 0] >= 0) & (pts[:, 0] < w) & (pts[:, 1] >= 0) & (pts[:, 1] < h)
                pts = pts[ok]
                rgb[pts[:, 1], pts[:, 0]] = point_colour
        # The previous blurred/marked picture (blitted already) is overwritten before it is dropped.
        self._wipe_shown()
        # frombuffer shares the array's memory: keep the array referenced while the surface is used.
        self._scratch = np.ascontiguousarray(rgb)
        surf = pygame.image.frombuffer(self._scratch.data, (rgb.shape[1], rgb.shape[0]), "RGB")
        if pygame.display.get_surface() is not None:
            # The display's pixel format: converted once per camera frame, not at every blit.
            surf = surf.convert()
        if plain:
            self._surface, self._surface_key = surf, self._key
        else:
            self._shown = surf
        return surf

    def _wipe_shown(self) -> None:
        if self._shown is not None:
            self._shown.fill((0, 0, 0))
            self._shown = None
        if self._scratch is not None and (self._rgb is None or not np.shares_memory(self._scratch, self._rgb)):
            self._scratch.fill(0)
        self._scratch = None

    def crop(self, frame: Frame, box_xyxy: Sequence[float], size_px: int, mirror: bool,
             blur: bool) -> pygame.Surface:
        """A square crop around a face (for "You" in the threshold lesson), mirrored like the
        screen, pixelated when faces are blurred."""
        self._frame(frame)
        key = (frame.index, tuple(box_xyxy), size_px, mirror, blur)
        if key == self._crop_key and self._crop is not None:
            return self._crop
        x0, y0, x1, y1 = box_xyxy
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        half = max(x1 - x0, y1 - y0) * 0.7
        H, W = frame.height, frame.width
        a0, b0 = int(max(0, cx - half)), int(max(0, cy - half))
        a1, b1 = int(min(W, cx + half)), int(min(H, cy + half))
        if a1 - a0 < 2 or b1 - b0 < 2:
            out = np.zeros((size_px, size_px, 3), np.uint8)
        else:
            out = cv2.resize(frame.image[b0:b1, a0:a1], (size_px, size_px), interpolation=cv2.INTER_AREA)
            if mirror:
                out = cv2.flip(out, 1)
            out = cv2.cvtColor(out, cv2.COLOR_BGR2RGB)
            if blur:
                pixelate(out, (0, 0, size_px, size_px), blocks=_BLUR_BLOCKS)
        if self._crop_pixels is not None:
            self._crop_pixels.fill(0)  # the same frame's previous crop (another face or size)
        self._crop_key = key
        # frombuffer shares the array's memory, so release() can overwrite what the surface shows.
        self._crop_pixels = np.ascontiguousarray(out)
        self._crop = pygame.image.frombuffer(self._crop_pixels.data, (size_px, size_px), "RGB")
        return self._crop
