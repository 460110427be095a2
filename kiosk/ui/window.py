"""The kiosk window: the entry point the CLI calls (``kiosk run`` without ``--headless``).

The screen itself lives in ``kiosk.ui.app`` (loop, state, composition) and the modules it uses;
this module keeps the CLI's entry point stable.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.ui.app import KioskApp, run_window as _run_window
from kiosk.ui.layout import fit_rect as _fit_rect
from kiosk.ui.settings import UiDeps, UiSettings

__all__ = ["KioskApp", "UiDeps", "UiSettings", "fit_rect", "run_window"]


def run_window(cfg: Any, pipeline: Any, settings: UiSettings | None = None, deps: UiDeps | None = None,
               max_frames: int | None = None, heartbeat: Callable[[], object] | None = None) -> None:
    """Run the fullscreen kiosk screen until the operator quits or the pipeline stops.

    Screen options come from ``cfg`` (``UiSettings.from_config``) unless ``settings`` is given;
    collaborators (FaceDetail record, false-match rate, measured accuracy, and with the
    pipeline's watchlist its size, threshold and portraits) from ``default_deps`` unless ``deps``
    is given. "Analyse me" calls ``pipeline.request_consent()``. ``heartbeat`` (the systemd
    watchdog's ``Notifier.tick``) is called once per loop iteration, also while the display is
    lost and being re-created. ``max_frames`` stops after that many iterations (tests).
    """
    _run_window(cfg, pipeline, settings=settings, deps=deps, max_frames=max_frames, heartbeat=heartbeat)


def fit_rect(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """Largest rectangle with the source's aspect ratio centred in the destination: x, y, w, h."""
    return _fit_rect(src_w, src_h, (0, 0, dst_w, dst_h))
