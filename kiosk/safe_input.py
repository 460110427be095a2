"""Reading files the operator names without letting them exhaust the kiosk.

Every file the kiosk reads from the operator (config, watchlist portraits and their CSV,
``images:`` frames, ``file:`` videos, models) goes through here first:

- it is opened with ``O_NONBLOCK`` (a FIFO does not block the open) and checked with ``fstat``
  on the open descriptor: anything but a regular file (FIFO, ``/dev/zero``, a socket, a folder)
  is refused;
- its size is checked *before* reading, and at most ``limit + 1`` bytes are ever read (a file
  that grows while it is read is refused too);
- an image's width and height are read from its header (PNG, JPEG, GIF, BMP, WebP) and an image
  with more than :data:`MAX_IMAGE_PIXELS` pixels is refused before it is decoded. OpenCV's own
  limit (``OPENCV_IO_MAX_IMAGE_PIXELS``, set by ``prepare_environment``) backs this up for other
  formats.

Each refusal is an :class:`InputRefused` (an ``OSError``) with a one-line message.
"""
from __future__ import annotations

import os
import stat
import struct
from pathlib import Path

__all__ = ["InputRefused", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "check_regular", "decode_image",
           "image_size", "read_regular"]

MAX_IMAGE_PIXELS = 40_000_000  # 8000 x 5000; decoded BGR 120 MB at most
MAX_IMAGE_BYTES = 64 * 1024 * 1024

_KINDS = ((stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


class InputRefused(OSError):
    """A file was refused before reading: not a regular file, too big, or too many pixels."""


def _open_checked(path: Path | str, limit: int | None, what: str) -> tuple[int, int]:
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = next((name for test, name in _KINDS if test(st.st_mode)), "not a regular file")
            raise InputRefused(f"{path}: {what} must be a regular file, this is {kind}")
        if limit is not None and st.st_size > limit:
            raise InputRefused(f"{path}: {what} is {st.st_size / 1e6:.1f} MB, more than the "
                               f"{limit / 1e6:.0f} MB allowed")
        return fd, st.st_size
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: Path | str, what: str = "the file", limit: int | None = None) -> int:
    """Raise InputRefused unless ``path`` is a regular file of at most ``limit`` bytes; its size."""
    fd, size = _open_checked(path, limit, what)
    os.close(fd)
    return size


def read_regular(path: Path | str, limit: int, what: str = "the file") -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (never reads more than limit + 1)."""
    fd, _size = _open_checked(path, limit, what)
    try:
        chunks: list[bytes] = []
        total = 0
        while total <= limit:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    finally:
        os.close(fd)
    if total > limit:
        raise InputRefused(f"{path}: {what} grew past {limit / 1e6:.0f} MB while being read")
    return b"".join(chunks)


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) from the header of a PNG, JPEG, GIF, BMP or WebP; None if unknown."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24 and data[12:16] == b"IHDR":
        w, h = struct.unpack(">II", data[16:24])
        return w, h
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return w, h
    if data[:2] == b"BM" and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w), abs(h)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP" and len(data) >= 30:
        chunk = data[12:16]
        if chunk == b"VP8X":
            w = int.from_bytes(data[24:27], "little") + 1
            h = int.from_bytes(data[27:30], "little") + 1
            return w, h
        if chunk == b"VP8L":
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        if chunk == b"VP8 ":
            w, h = struct.unpack("<HH", data[26:30])
            return w & 0x3FFF, h & 0x3FFF
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                i += 1
                continue
            marker = data[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
                i += 1 if marker == 0xFF else 2
                continue
            length = struct.unpack(">H", data[i + 2:i + 4])[0]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + length
    return None


def decode_image(path: Path | str, *, max_pixels: int = MAX_IMAGE_PIXELS,
                 max_bytes: int = MAX_IMAGE_BYTES) -> tuple[object | None, str | None]:
    """(BGR image, None) or (None, one-line reason): checked, then decoded by OpenCV."""
    import cv2
    import numpy as np

    try:
        data = read_regular(path, max_bytes, "an image")
    except OSError as exc:
        return None, str(exc) if isinstance(exc, InputRefused) else f"{path}: {exc.strerror or exc}"
    size = image_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        return None, (f"{path}: {size[0]}x{size[1]} pixels is more than the {max_pixels / 1e6:.0f} "
                      "million allowed; resize the image")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        return None, f"{path}: not a readable image"
    return image, None
