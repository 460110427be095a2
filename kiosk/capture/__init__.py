"""Capture: every frame source behind one interface, and the thread that keeps frames flowing.

``open_source(spec, ...)`` turns a source spec into a :class:`~kiosk.capture.base.Source`
(constructed, not yet opened: the :class:`~kiosk.capture.base.CaptureThread` opens it, and
reopens fresh ones after faults). Construction checks what can be checked without touching a
device — the spec's syntax, that files and folders exist, that the demo photos are there, that
OpenCV has GStreamer for ``gst:`` — so ``check-config`` reports those before the kiosk starts.

Accepted specs::

    demo              the embedded demo scene (kiosk.capture.demo), needs the demo photos
    camera:N          V4L2 camera /dev/videoN through OpenCV
    gst:PIPELINE      a GStreamer pipeline through OpenCV (needs an OpenCV built with GStreamer)
    picamera2         the Raspberry Pi camera through picamera2 / libcamera
    file:PATH         a video file
    images:DIR        the images in a folder, in name order

Driver modules are imported only when their spec is used, so a missing optional dependency
(picamera2) only matters to the operator who asked for it.
"""
from __future__ import annotations

from pathlib import Path

from kiosk.capture.base import CaptureThread, LatestFrame, Source, SourceStatus
from kiosk.errors import SourceError

__all__ = ["ACCEPTED_FORMS", "CaptureThread", "LatestFrame", "Source", "SourceStatus", "open_source"]

ACCEPTED_FORMS = "demo, camera:N (e.g. camera:0), gst:PIPELINE, picamera2, file:PATH, images:DIR"


def open_source(spec: str, *, width: int, height: int, fps: float, realtime: bool, loop: bool,
                demo_dir: Path) -> Source:
    """Build the source described by ``spec`` (not opened yet).

    ``width``/``height`` are requested of cameras and are the demo scene's size; replays keep
    their native size. ``fps`` is requested of cameras, paces ``images:`` and ``demo``, and is
    the fallback for video files that declare no rate. ``realtime`` and ``loop`` apply to
    ``file:``, ``images:`` and ``demo`` (cameras are always realtime and never end).

    Raises ``SourceError`` for a malformed spec (listing the accepted forms), a missing file or
    folder, or a missing driver; ``ModelError`` when the demo photos are missing.
    """
    text = spec.strip()
    kind, sep, arg = text.partition(":")
    if not fps > 0:
        raise SourceError(f"fps must be > 0 for source '{text}', got {fps!r}")
    if text == "demo":
        from kiosk.capture.demo import DemoScene

        DemoScene.check_photos(Path(demo_dir))
        return DemoScene(Path(demo_dir), width=width, height=height, fps=fps, realtime=realtime, loop=loop)
    if kind == "camera" and sep:
        if not (arg.isascii() and arg.isdigit()):
            hint = f" (write camera:{arg[len('/dev/video'):]})" if arg.startswith("/dev/video") else ""
            raise SourceError(f"camera:N needs the camera number N (0 for /dev/video0), got '{text}'{hint}")
        from kiosk.capture.opencv_source import CameraSource

        return CameraSource(int(arg), width=width, height=height, fps=fps)
    if kind == "gst" and sep:
        from kiosk.capture.opencv_source import GStreamerSource

        return GStreamerSource(arg, fps=fps)
    if text == "picamera2":
        from kiosk.capture.picamera2_source import Picamera2Source

        return Picamera2Source(width=width, height=height, fps=fps)
    if kind == "file" and sep and arg.strip():
        from kiosk.capture.files import VideoFileSource

        return VideoFileSource(Path(arg.strip()), realtime=realtime, loop=loop, default_fps=fps)
    if kind == "images" and sep and arg.strip():
        from kiosk.capture.files import ImageDirSource

        return ImageDirSource(Path(arg.strip()), fps=fps, realtime=realtime, loop=loop)
    raise SourceError(f"unknown capture source '{text}'. Expected one of: {ACCEPTED_FORMS}")
