"""Replay sources: a video file (``file:PATH``) and a folder of images (``images:DIR``).

Both deliver frames at their native size (the detector scales; resizing here would only lose
detail or waste time). With ``realtime`` they are paced at their fps and behave like a camera
(frames may be dropped downstream); without it they run as fast as the pipeline consumes them
and the capture thread stamps a virtual clock, which is what evaluation and tests want.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np

from kiosk.capture.slot import Pacer
from kiosk.config.source_spec import IMAGE_SUFFIXES  # the one list (what check-config accepts)
from kiosk.errors import SourceError

__all__ = ["IMAGE_SUFFIXES", "ImageDirSource", "VideoFileSource"]

log = logging.getLogger(__name__)



class VideoFileSource:
    """A video file decoded by OpenCV (FFmpeg backend): mp4, avi, mkv, ...

    ``fps`` is the file's own rate when it declares one, else ``default_fps``. Looping reopens
    the file rather than seeking to frame 0, because seeking is unreliable in some containers
    (and costs the same). A file that yields no frame at all is a ``SourceError``, not an empty
    endless loop.
    """

    def __init__(self, path: Path, *, realtime: bool, loop: bool, default_fps: float = 25.0) -> None:
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise SourceError(f"file:{self.path}: no such video file")
        self.realtime = realtime
        self.loop = loop
        self.fps = float(default_fps)
        self.name = f"file:{self.path.name}"
        self._cap: cv2.VideoCapture | None = None
        self._pacer: Pacer | None = None
        self._frames_this_pass = 0

    def _open_capture(self) -> cv2.VideoCapture:
        cap = cv2.VideoCapture(str(self.path))
        if not cap.isOpened():
            cap.release()
            raise SourceError(
                f"file:{self.path}: OpenCV cannot decode this file (unsupported container or codec?). "
                "Try converting it: `ffmpeg -i INPUT -c:v mjpeg -q:v 3 out.avi`"
            )
        return cap

    def open(self) -> None:
        self._cap = self._open_capture()
        file_fps = float(self._cap.get(cv2.CAP_PROP_FPS))
        if math.isfinite(file_fps) and 0 < file_fps <= 240:
            self.fps = file_fps
        else:
            log.warning("%s declares no usable frame rate (%r); assuming %.1f fps", self.path, file_fps, self.fps)
        self._pacer = Pacer(self.fps) if self.realtime else None
        self._frames_this_pass = 0

    def read(self) -> np.ndarray | None:
        if self._cap is None:
            raise RuntimeError(f"{self.name}: read() before open()")
        ok, image = self._cap.read()
        if not ok:
            if not self.loop:
                return None
            if self._frames_this_pass == 0:
                raise SourceError(f"file:{self.path}: the file contains no decodable frame")
            self._cap.release()
            self._cap = self._open_capture()
            self._frames_this_pass = 0
            ok, image = self._cap.read()
            if not ok:
                raise SourceError(f"file:{self.path}: no frame after rewinding; is the file being rewritten?")
        self._frames_this_pass += 1
        if self._pacer is not None:
            self._pacer.wait()
        return image

    def close(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()


class ImageDirSource:
    """The images in a folder, in file-name order, one frame each, at ``fps``.

    The folder is listed when the source is created (so a bad folder is reported by
    ``check-config``) and again at each open. Files that fail to decode are skipped with one
    warning each; a whole pass without a single readable image is a ``SourceError``.
    """

    def __init__(self, directory: Path, *, fps: float, realtime: bool, loop: bool) -> None:
        self.directory = Path(directory).expanduser()
        if not self.directory.is_dir():
            raise SourceError(f"images:{self.directory}: no such directory")
        if not fps > 0:
            raise SourceError(f"images:{self.directory}: fps must be > 0, got {fps!r}")
        self.fps = float(fps)
        self.realtime = realtime
        self.loop = loop
        self.name = f"images:{self.directory.name or self.directory}"
        self._files = self._list()
        self._pos = 0
        self._read_this_pass = 0
        self._bad: set[Path] = set()
        self._pacer: Pacer | None = None
        self._opened = False

    def _list(self) -> list[Path]:
        files = sorted(p for p in self.directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise SourceError(
                f"images:{self.directory}: no images found (expected files ending in {', '.join(IMAGE_SUFFIXES)})"
            )
        return files

    @property
    def files(self) -> tuple[Path, ...]:
        return tuple(self._files)

    def open(self) -> None:
        self._files = self._list()
        self._pos = 0
        self._read_this_pass = 0
        self._pacer = Pacer(self.fps) if self.realtime else None
        self._opened = True

    def read(self) -> np.ndarray | None:
        if not self._opened:
            raise RuntimeError(f"{self.name}: read() before open()")
        while True:
            if self._pos >= len(self._files):
                if not self.loop:
                    return None
                if self._read_this_pass == 0:
                    raise SourceError(f"images:{self.directory}: none of the {len(self._files)} images could be decoded")
                self._pos = 0
                self._read_this_pass = 0
            path = self._files[self._pos]
            self._pos += 1
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # always 3-channel BGR uint8
            if image is None:
                if path not in self._bad:
                    self._bad.add(path)
                    log.warning("skipping %s: not a readable image", path)
                continue
            self._read_this_pass += 1
            if self._pacer is not None:
                self._pacer.wait()
            return image

    def close(self) -> None:
        self._opened = False
