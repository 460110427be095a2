"""Start-up of strict privacy mode in ``kiosk run``: the order that lets the kernel cover everything.

:func:`enter_kernel_sandbox` is called by ``kiosk run`` right after the configuration is read,
while the process still has one thread:

1. ``--report PATH`` is checked (a file path, in an existing folder, not a folder) and created
   empty, so that the Landlock rule can name exactly that file;
2. the heavy libraries are imported (numpy, OpenCV, onnxruntime, MediaPipe with the matplotlib
   font list it builds at import in the RAM scratch folder, pygame for a window) - imports read
   files and start no thread (``OPENBLAS_NUM_THREADS=1``, see ``prepare_environment``);
3. the RAM scratch folder is deleted (nothing needs it after the imports; the sandbox would
   forbid deleting it at exit);
4. :func:`kiosk.privacy.sandbox.apply_sandbox`: Landlock, seccomp, no_new_privs, MDWE - before any model
   session, capture thread, window or child exists, so every one of them inherits it.

The audit hook (``install_guard``) is installed later, before the pipeline starts, as the second
layer with clear messages.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError, KioskError

log = logging.getLogger(__name__)


def check_report_path(report: str | os.PathLike[str] | None, flag: str = "--report") -> Path | None:
    """The ``--report`` file as a Path (None for stdout or no report); exit 2 for a folder."""
    if report is None or str(report) in ("", "-"):
        return None
    report = str(report)
    path = Path(report)
    if path.is_dir() or report.endswith(("/", os.sep)):
        raise ConfigError(f"{flag} {report}: is a folder; give a file path, e.g. {path / 'report.json'}")
    if path.exists() and not path.is_file():
        raise ConfigError(f"{flag} {report}: is not a regular file")
    if not path.parent.is_dir():
        raise ConfigError(f"{flag} {report}: folder {path.parent} does not exist")
    return path


def preload(window: bool) -> None:
    """Import the libraries that read files or build caches at import, while that is allowed.

    MediaPipe is not among them: imported without matplotlib (``kiosk.infer.mesh``) it only
    reads its own files, so it is imported where the mesh is built, on the inference thread while
    the screen already shows the camera, instead of on the way to the first picture (~0.4 s).
    """
    import cv2  # noqa: F401
    import numpy  # noqa: F401
    import onnxruntime  # noqa: F401
    if window:
        try:
            import pygame  # noqa: F401
        except Exception:  # noqa: BLE001 - reported by the window
            pass


def enter_kernel_sandbox(cfg: Any, report: str | os.PathLike[str] | None, *, window: bool,
                         flag: str = "--report") -> Any:
    """Apply the kernel sandbox for ``kiosk run`` in strict mode; returns its SandboxReport.

    Raises KioskError (exit 2) when ``privacy.kernel_enforcement: required`` and the kernel
    lacks Landlock or seccomp.
    """
    from kiosk.privacy.environment import release_scratch
    from kiosk.privacy.sandbox import SandboxError, apply_sandbox

    mode = cfg.privacy.kernel_enforcement
    report_path = check_report_path(report, flag)
    write_files: list[Path] = []
    if report_path is not None and mode != "off":
        # Created empty now: Landlock can allow writing one existing file, not creating one.
        fd = os.open(report_path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644)
        os.close(fd)
        write_files.append(report_path)
    write_dirs: list[Path] = []
    if cfg.privacy.persist_aggregates and cfg.privacy.aggregates_file is not None:
        write_dirs.append(Path(cfg.privacy.aggregates_file).parent)
    preload(window)
    release_scratch()
    try:
        result = apply_sandbox(write_files, write_dirs, mode=mode)
    except SandboxError as exc:
        raise ConfigError(str(exc)) from None
    if mode == "best_effort" and not result.complete:
        log.warning("STAFF: strict privacy mode runs WITHOUT full kernel enforcement: %s", result.summary())
    else:
        log.info("%s", result.summary())
    return result


def films_people(cfg: Any) -> bool:
    """True when the configured source is a live camera (``camera:N``, ``gst:``, ``picamera2``)
    in strict mode: a command reading it handles live faces and is protected like ``kiosk run``."""
    return cfg.privacy.mode == "strict" and cfg.camera.source_spec.live


def protect_live_capture(cfg: Any, output: str | os.PathLike[str] | None, *, window: bool,
                         flag: str = "--output") -> bool:
    """The one installer for the other commands that read a live camera (``kiosk bench``, the
    camera probe of ``kiosk doctor``): when :func:`films_people`, the same kernel sandbox
    (:func:`enter_kernel_sandbox`) and the same audit hook (``install_guard``) as ``kiosk run``,
    with ``output`` (created empty now) the only file that may be written. Call it while the
    process has one thread, before the source is opened. Returns False, doing nothing, for
    recorded material (demo, files, synthetic scenes).
    """
    if not films_people(cfg):
        return False
    import platform

    platform.platform()  # runs `uname -p` once, now, and caches it (the bench report names the platform)
    enter_kernel_sandbox(cfg, output, window=window, flag=flag)
    from kiosk.privacy.guard import install_guard

    allowed = [Path(output)] if output is not None and str(output) not in ("", "-") else []
    log.info("%s", install_guard(allowed).summary())
    return True
