"""The kiosk window: the entry point the CLI calls (``kiosk run`` without ``--headless``).

The screen itself lives in ``kiosk.ui.app`` (state and composition of a frame), ``kiosk.ui.input``
(touches and keys) and ``kiosk.ui.loop`` (the window loop, ``run_window``); its collaborators are
built by ``kiosk.ui.build``. This module is the CLI's stable import path for them.
"""
from kiosk.ui.app import KioskApp
from kiosk.ui.build import build_deps
from kiosk.ui.deps import UiDeps
from kiosk.ui.loop import run_window

__all__ = ["KioskApp", "UiDeps", "build_deps", "run_window"]
