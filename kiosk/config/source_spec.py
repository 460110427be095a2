"""Capture source specs (``demo``, ``camera:N``, ``gst:PIPELINE``, ``picamera2``, ``file:PATH``, ``images:DIR``).

The only parser of source specs: the config schema, ``--source`` overrides and
:func:`kiosk.capture.open_source` all go through :func:`parse_source`.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal
from pydantic import ValidationInfo
from kiosk.config.messages import _did_you_mean


#: Image file endings an ``images:DIR`` source needs at least one of (files OpenCV can read).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")
SourceKind = Literal["demo", "camera", "gst", "picamera2", "file", "images"]
_SOURCE_FORMS = "demo, camera:N (e.g. camera:0), gst:PIPELINE, picamera2, file:PATH, images:DIR"

# Where relative paths are resolved (the config file's folder, or the current directory for
# command-line overrides) and how messages name it: passed to validators as validation context.
_BASE_DIR = "base_dir"
_BASE_LABEL = "base_label"

# --------------------------------------------------------------------------------------------
# Capture source specs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed ``camera.source``: what to open, with paths already absolute.

    ``str(spec)`` gives the normalised spec string stored in :attr:`CameraConfig.source`.
    """

    kind: SourceKind
    index: int | None = None  # camera:N
    pipeline: str | None = None  # gst:PIPELINE
    path: Path | None = None  # file:PATH, images:DIR

    @property
    def live(self) -> bool:
        """True for sources that film the people in front of the kiosk (not recorded material)."""
        return self.kind in ("camera", "gst", "picamera2")

    def __str__(self) -> str:
        if self.kind == "camera":
            return f"camera:{self.index}"
        if self.kind == "gst":
            return f"gst:{self.pipeline}"
        if self.kind in ("file", "images"):
            return f"{self.kind}:{self.path}"
        return self.kind


def _resolve(path_text: str, base_dir: Path | None) -> Path:
    """Absolute, normalised path; relative paths are taken from ``base_dir`` (default: cwd).

    ``~`` is expanded. Symlinks are kept as written (``abspath``, not ``resolve``), so messages
    show the path the operator recognises.
    """
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    return Path(os.path.abspath(path))


def parse_source(
    spec: str, base_dir: Path | None = None, *, check_paths: bool = True, base_label: str = "the config file's folder"
) -> SourceSpec:
    """Parse and check a capture source spec (``camera.source`` or the CLI's ``--source``).

    Accepted forms: ``demo``, ``camera:N`` (N = 0, 1, ... as in /dev/videoN), ``gst:PIPELINE``,
    ``picamera2``, ``file:PATH`` (a video file), ``images:DIR`` (a folder of images). PATH and
    DIR are resolved against ``base_dir`` (the config file's folder; default: the current
    directory). With ``check_paths`` the file or folder must exist (and the folder must hold at
    least one image); camera devices are *not* probed, so a config can be checked on another
    machine. ``base_label`` names ``base_dir`` in messages.

    Raises ``ValueError`` with an operator-facing message (no key path, no line).
    """
    text = spec.strip()
    kind, sep, arg = text.partition(":")
    if kind in ("demo", "picamera2"):
        if sep:
            raise ValueError(f"'{kind}' takes no ':' argument, got '{text}'; write just {kind}")
        return SourceSpec(kind=kind)  # type: ignore[arg-type]
    if kind == "camera" and sep:
        if arg.startswith("/dev/video") and arg[len("/dev/video"):].isdigit():
            raise ValueError(f"write camera:{arg[len('/dev/video'):]} for {arg}, got '{text}'")
        if not (arg.isascii() and arg.isdigit()) or len(arg) > 3:
            raise ValueError(
                f"camera:N needs N = the camera number (0 for /dev/video0, 1 for /dev/video1, ...), got '{text}'"
            )
        return SourceSpec(kind="camera", index=int(arg))
    if kind == "gst" and sep:
        if not arg.strip():
            raise ValueError("gst: needs a GStreamer pipeline after the colon, e.g. 'gst:v4l2src ! videoconvert ! appsink'")
        return SourceSpec(kind="gst", pipeline=arg.strip())
    if kind in ("file", "images") and sep:
        what = "a video file" if kind == "file" else "a folder of images"
        if not arg.strip():
            raise ValueError(f"{kind}: needs the path of {what} after the colon, e.g. '{kind}:{'clips/visit.mp4' if kind == 'file' else 'photos'}'")
        path = _resolve(arg.strip(), base_dir)
        if check_paths:
            _check_source_path(kind, arg.strip(), path, base_label)
        return SourceSpec(kind=kind, path=path)  # type: ignore[arg-type]
    if "://" in text:
        raise ValueError(
            f"unknown source '{text}'; for a network stream use gst:PIPELINE "
            "(e.g. 'gst:rtspsrc location=rtsp://... ! decodebin ! videoconvert ! appsink'). "
            f"Expected one of: {_SOURCE_FORMS}"
        )
    if kind in ("camera", "gst", "file", "images"):
        raise ValueError(f"'{kind}' needs ':' and a value, got '{text}'. Expected one of: {_SOURCE_FORMS}")
    close = _did_you_mean(kind, ["demo", "camera", "gst", "picamera2", "file", "images"])
    suggestion = f"; did you mean '{close}{sep}{arg}'?" if close else "."
    raise ValueError(f"unknown source '{text}'{suggestion} Expected one of: {_SOURCE_FORMS}")


def _check_source_path(kind: str, given: str, path: Path, base_label: str) -> None:
    shown = f"'{given}'" if given == str(path) else f"'{given}' (looked for {path})"
    relative = "" if Path(given).expanduser().is_absolute() else f"; relative paths start at {base_label}"
    if kind == "file":
        if not path.exists():
            raise ValueError(f"video file {shown} not found{relative}")
        if not path.is_file():
            raise ValueError(f"{shown} is not a file; for a folder of images use images:{given}")
        return
    if not path.exists():
        raise ValueError(f"image folder {shown} not found{relative}")
    if not path.is_dir():
        raise ValueError(f"{shown} is not a folder; for a video file use file:{given}")
    try:
        has_images = any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir() if p.is_file())
    except OSError as exc:
        raise ValueError(f"image folder {shown} cannot be read: {exc.strerror or exc}") from None
    if not has_images:
        raise ValueError(f"image folder {shown} holds no images ({', '.join(IMAGE_SUFFIXES)})")


def _no_blank_path(value: object, hint: str) -> object:
    """Refuse a path written as blank text (``key: ""``); ``hint`` says what to write instead."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"empty text; {hint}")
    return value


def _context_base(info: ValidationInfo) -> tuple[Path | None, str]:
    """The folder relative paths start at, and how messages name it (from the validation context)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    base = context.get(_BASE_DIR)
    return (Path(base) if base is not None else None), str(context.get(_BASE_LABEL, "the config file's folder"))


