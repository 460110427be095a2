"""Raspberry Pi cameras through picamera2 / libcamera (``picamera2``).

picamera2 is not on PyPI in a usable form for the Pi: it comes with Raspberry Pi OS
(``python3-picamera2``) together with libcamera's Python bindings, which is why the import is
lazy (so every other source works without it) and why the venv must see system packages.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kiosk.errors import SourceError

__all__ = ["Picamera2Source"]

log = logging.getLogger(__name__)

_NOT_INSTALLED = (
    "picamera2 is not installed: on Raspberry Pi OS run `sudo apt install python3-picamera2` and "
    "create the venv with --system-site-packages"
)


class Picamera2Source:
    """The Pi camera's main stream at ``width`` x ``height``, 24-bit BGR, at ``fps``.

    Byte order, which is easy to get wrong: picamera2 names formats after libcamera/DRM fourccs,
    which describe a little-endian *word*, so its ``"RGB888"`` is laid out in memory as
    B, G, R — a numpy array from ``capture_array()`` is ``[..., (B, G, R)]``, exactly what OpenCV
    calls BGR — and ``"BGR888"`` is R, G, B. (picamera2 manual, "Image formats": "RGB888 - 24 bits
    per pixel, ordered [B, G, R]".) So we ask for ``"RGB888"`` and use the array unchanged.

    We use a video configuration (it keeps the ISP streaming continuously with a small buffer
    queue; ``capture_array()`` then returns the next completed frame) and fix the frame duration
    through ``FrameDurationLimits``, which every libcamera version understands. picamera2 runs its
    own camera thread; ``read()`` just waits for the next frame from it.
    """

    realtime = True

    def __init__(self, *, width: int, height: int, fps: float, camera_index: int = 0) -> None:
        self.width = width
        self.height = height
        self.fps = float(fps)
        self.camera_index = camera_index
        self.name = "picamera2" if camera_index == 0 else f"picamera2:{camera_index}"
        self._cam: Any = None

    def open(self) -> None:
        try:
            from picamera2 import Picamera2  # noqa: PLC0415 - lazy on purpose, see module docstring
        except ImportError as exc:
            raise SourceError(_NOT_INSTALLED) from exc
        try:
            cam = Picamera2(self.camera_index)
        except (IndexError, RuntimeError, OSError) as exc:
            # IndexError: libcamera lists no camera (ribbon cable, camera_auto_detect, power).
            raise OSError(
                f"no Raspberry Pi camera found by libcamera ({exc}). Check the ribbon cable (contacts facing "
                "the right way, fully latched), run `rpicam-hello --list-cameras`, and make sure no other "
                "program (another kiosk instance, rpicam-*) holds the camera"
            ) from exc
        try:
            frame_us = int(round(1_000_000 / self.fps))
            config = cam.create_video_configuration(
                main={"size": (self.width, self.height), "format": "RGB888"},  # = BGR in memory, see class docstring
                controls={"FrameDurationLimits": (frame_us, frame_us)},
                buffer_count=4,
            )
            cam.configure(config)
            cam.start()
        except Exception as exc:
            cam.close()
            raise OSError(f"the Raspberry Pi camera could not be started at {self.width}x{self.height} "
                          f"{self.fps:g} fps: {exc}") from exc
        self._cam = cam
        log.info("picamera2 started: %dx%d RGB888 (BGR in memory) at %.1f fps", self.width, self.height, self.fps)

    def read(self) -> np.ndarray | None:
        if self._cam is None:
            raise RuntimeError(f"{self.name}: read() before open()")
        try:
            image = self._cam.capture_array("main")
        except Exception as exc:  # picamera2 raises a variety of types from its camera thread
            raise OSError(f"the Raspberry Pi camera stopped delivering frames: {exc}") from exc
        if image.ndim == 3 and image.shape[1] > self.width:
            # Some picamera2 versions return rows padded to the ISP's stride alignment.
            image = image[:, : self.width]
        return image

    def close(self) -> None:
        cam, self._cam = self._cam, None
        if cam is not None:
            try:
                cam.stop()
            finally:
                cam.close()
