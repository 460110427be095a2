"""Capture: every frame source behind one interface, and the thread that keeps frames flowing.

``open_source(spec, ...)`` turns a source spec into a :class:`~kiosk.capture.source.Source`
(constructed, not yet opened: the :class:`~kiosk.capture.thread.CaptureThread` opens it, and
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

Modules: :mod:`~kiosk.capture.source` (the protocol, the frame contract), :mod:`~kiosk.capture.slot`
(the one-frame slot, the pacer), :mod:`~kiosk.capture.thread` (the capture thread), and one module
per kind of source (``opencv_source``, ``picamera2_source``, ``files``, ``demo``).

Driver modules are imported only when their spec is used, so a missing optional dependency
(picamera2) only matters to the operator who asked for it.
"""
from __future__ import annotations

from pathlib import Path

from kiosk.capture.slot import LatestFrame, Pacer
from kiosk.capture.source import Source, normalise_image
from kiosk.capture.thread import CaptureThread
from kiosk.config.source_spec import _SOURCE_FORMS, parse_source
from kiosk.errors import SourceError
from kiosk.types import SourceStatus

__all__ = ["CaptureThread", "LatestFrame", "Pacer", "Source", "SourceStatus", "normalise_image", "open_source"]


def open_source(spec: str, *, width: int, height: int, fps: float, realtime: bool, loop: bool,
                demo_dir: Path) -> Source:
    """Build the source described by ``spec`` (not opened yet).

    ``width``/``height`` are requested of cameras and are the demo scene's size; replays keep
    their native size. ``fps`` is requested of cameras, paces ``images:`` and ``demo``, and is
    the fallback for video files that declare no rate. ``realtime`` and ``loop`` apply to
    ``file:``, ``images:`` and ``demo`` (cameras are always realtime and never end).

    The spec is parsed by :func:`kiosk.config.source_spec.parse_source`, the only parser of
    source specs (relative paths from the current directory; existence is checked by the
    sources themselves, with their own messages).

    Raises ``SourceError`` for a malformed spec (listing the accepted forms), a missing file or
    folder, or a missing driver; ``ModelError`` when the demo photos are missing.
    """
    text = spec.strip()
    if not fps > 0:
        raise SourceError(f"fps must be > 0 for source '{text}', got {fps!r}")
    try:
        parsed = parse_source(text, None, check_paths=False, base_label="the current directory")
    except ValueError as exc:
        forms = "" if "Expected one of" in str(exc) else f". Expected one of: {_SOURCE_FORMS}"
        raise SourceError(f"capture source '{text}': {exc}{forms}") from None
    if parsed.kind == "demo":
        from kiosk.capture.demo import DemoScene

        DemoScene.check_photos(Path(demo_dir))
        return DemoScene(Path(demo_dir), width=width, height=height, fps=fps, realtime=realtime, loop=loop)
    if parsed.kind == "camera":
        from kiosk.capture.opencv_source import CameraSource

        assert parsed.index is not None
        return CameraSource(parsed.index, width=width, height=height, fps=fps)
    if parsed.kind == "gst":
        from kiosk.capture.opencv_source import GStreamerSource

        assert parsed.pipeline is not None
        return GStreamerSource(parsed.pipeline, fps=fps)
    if parsed.kind == "picamera2":
        from kiosk.capture.picamera2_source import Picamera2Source

        return Picamera2Source(width=width, height=height, fps=fps)
    assert parsed.path is not None
    if parsed.kind == "file":
        from kiosk.capture.files import VideoFileSource

        return VideoFileSource(parsed.path, realtime=realtime, loop=loop, default_fps=fps)
    from kiosk.capture.files import ImageDirSource

    return ImageDirSource(parsed.path, fps=fps, realtime=realtime, loop=loop)
