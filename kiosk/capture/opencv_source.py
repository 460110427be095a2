"""Cameras through OpenCV: V4L2 devices (``camera:N``) and GStreamer pipelines (``gst:PIPELINE``).

V4L2 is the default on Linux for USB webcams and for the Raspberry Pi camera through its V4L2
compatibility layer. GStreamer is what Jetson CSI cameras need (``nvarguscamerasrc``), but the
``opencv-python`` wheels from PyPI are built *without* GStreamer, so ``gst:`` only works with an
OpenCV built from source or from the distribution (e.g. JetPack's); we check the build and say so.
"""
from __future__ import annotations

import functools
import logging
import re
from pathlib import Path

import cv2
import numpy as np

from kiosk.errors import SourceError

__all__ = ["CameraSource", "GStreamerSource", "opencv_has_gstreamer"]

log = logging.getLogger(__name__)

_CHECK_DEVICE = (
    "Check that the camera is plugged in (`ls /dev/video*` should list {dev}), that no other "
    "program is using it (`fuser {dev}`), and that this user may open it (member of the `video` "
    "group: `sudo usermod -aG video $USER`, then log in again)."
)


@functools.lru_cache(maxsize=1)
def opencv_has_gstreamer() -> bool:
    """True when this cv2 was built with the GStreamer video I/O backend."""
    match = re.search(r"^\s*GStreamer:\s*(\S+)", cv2.getBuildInformation(), flags=re.MULTILINE)
    return match is not None and match.group(1).upper().startswith("YES")


class _OpenCvCapture:
    """What both OpenCV sources share: reading from the opened ``cv2.VideoCapture`` and closing it.

    Subclasses set ``_cap`` in ``open()`` and say in ``_read_failed`` / ``_no_frame`` how their
    failures read to an operator. Both failures are retryable (``OSError``): a camera has no end
    of stream, so no frame means unplugged, a driver timeout or a pipeline error.
    """

    name: str
    _cap: cv2.VideoCapture | None

    def _read_failed(self, exc: cv2.error) -> str:
        raise NotImplementedError

    def _no_frame(self) -> str:
        raise NotImplementedError

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise RuntimeError(f"{self.name}: read() before open()")
        try:
            ok, image = self._cap.read()
        except cv2.error as exc:
            raise OSError(self._read_failed(exc)) from exc
        if not ok or image is None:
            raise OSError(self._no_frame())
        return image

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


class CameraSource(_OpenCvCapture):
    """A V4L2 camera, ``/dev/video<N>``, through ``cv2.VideoCapture(N, cv2.CAP_V4L2)``.

    Asks for MJPG at the requested size and rate (most USB webcams only reach 25-30 fps at
    640x480 and above with MJPG, raw YUYV is limited by USB 2 bandwidth) and for a driver buffer
    of one frame, so that ``read()`` returns a fresh image rather than one queued long ago; not
    every driver honours these requests, so the size actually delivered is logged.
    ``read()`` blocks until the driver delivers (OpenCV's V4L2 backend times out after ~10 s and
    then returns no frame, which we report as a retryable ``OSError``).
    """

    realtime = True

    def __init__(self, device: int, *, width: int, height: int, fps: float) -> None:
        if device < 0:
            raise SourceError(f"camera:{device}: the device number must be >= 0 (camera:0 is /dev/video0)")
        self.device = device
        self.width = width
        self.height = height
        self.fps = float(fps)
        self.name = f"camera:{device}"
        self._cap: cv2.VideoCapture | None = None

    @property
    def device_path(self) -> str:
        return f"/dev/video{self.device}"

    def open(self) -> None:
        dev = self.device_path
        if not Path(dev).exists():
            # Retryable: the camera may be plugged in (or re-enumerate) while the kiosk waits.
            raise OSError(f"camera {dev} does not exist. " + _CHECK_DEVICE.format(dev=dev))
        cap = cv2.VideoCapture(self.device, cv2.CAP_V4L2)
        if not cap.isOpened():
            cap.release()
            raise OSError(f"cannot open camera {dev} with V4L2. " + _CHECK_DEVICE.format(dev=dev))
        cap.set(cv2.CAP_PROP_FOURCC, cv2.VideoWriter.fourcc(*"MJPG"))
        cap.set(cv2.CAP_PROP_FRAME_WIDTH, self.width)
        cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self.height)
        cap.set(cv2.CAP_PROP_FPS, self.fps)
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        got_w = int(cap.get(cv2.CAP_PROP_FRAME_WIDTH))
        got_h = int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
        got_fps = float(cap.get(cv2.CAP_PROP_FPS))
        if got_fps > 0:
            self.fps = got_fps
        if (got_w, got_h) != (self.width, self.height):
            log.warning("%s delivers %dx%d instead of the requested %dx%d", dev, got_w, got_h, self.width, self.height)
        self._cap = cap

    def _read_failed(self, exc: cv2.error) -> str:
        return f"camera {self.device_path} failed while reading: {exc}"

    def _no_frame(self) -> str:
        return (f"camera {self.device_path} stopped delivering frames (unplugged?). "
                + _CHECK_DEVICE.format(dev=self.device_path))


class GStreamerSource(_OpenCvCapture):
    """A GStreamer pipeline string ending in an ``appsink`` (one is appended when missing).

    Example (Jetson CSI camera)::

        gst:nvarguscamerasrc ! video/x-raw(memory:NVMM),width=1280,height=720,framerate=30/1
            ! nvvidconv ! video/x-raw,format=BGRx ! videoconvert ! video/x-raw,format=BGR

    The appended sink uses ``drop=true max-buffers=1 sync=false`` so the newest frame wins, the
    same policy as the rest of the pipeline. Requires an OpenCV built with GStreamer: checked in
    the constructor, so ``check-config`` reports it before the exhibition opens.
    """

    realtime = True

    def __init__(self, pipeline: str, *, fps: float) -> None:
        pipeline = pipeline.strip()
        if not pipeline:
            raise SourceError("gst: needs a GStreamer pipeline after the colon, e.g. gst:v4l2src ! videoconvert ! appsink")
        if not opencv_has_gstreamer():
            raise SourceError(
                "gst: source requested, but this OpenCV was built without GStreamer (the opencv-python "
                "wheels from PyPI never include it; see `python -c \"import cv2; print(cv2.getBuildInformation())\"`). "
                "Use camera:N for a V4L2 camera, picamera2 on a Raspberry Pi, or an OpenCV built with GStreamer."
            )
        if "appsink" not in pipeline:
            pipeline += " ! videoconvert ! video/x-raw,format=BGR ! appsink drop=true max-buffers=1 sync=false"
        self.pipeline = pipeline
        self.fps = float(fps)
        self.name = "gst:" + (pipeline if len(pipeline) <= 60 else pipeline[:57] + "...")
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        cap = cv2.VideoCapture(self.pipeline, cv2.CAP_GSTREAMER)
        if not cap.isOpened():
            cap.release()
            raise OSError(
                f"cannot start the GStreamer pipeline `{self.pipeline}`. Check that the camera is connected, "
                "and run the pipeline with `gst-launch-1.0 ... ! fakesink` (replacing appsink) to see GStreamer's error."
            )
        got_fps = float(cap.get(cv2.CAP_PROP_FPS))
        if got_fps > 0:
            self.fps = got_fps
        self._cap = cap

    def _read_failed(self, exc: cv2.error) -> str:
        return f"GStreamer pipeline failed while reading: {exc}"

    def _no_frame(self) -> str:
        return "the GStreamer pipeline stopped delivering frames (camera disconnected or pipeline error)"
