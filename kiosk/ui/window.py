"""The kiosk window: the entry point the CLI calls (``kiosk run`` without ``--headless``).

The screen itself lives in ``kiosk.ui.app`` (loop, state, composition) and the modules it uses;
this module is the CLI's stable import path for it.
"""
from kiosk.ui.app import KioskApp, run_window
from kiosk.ui.settings import UiDeps, UiSettings

__all__ = ["KioskApp", "UiDeps", "UiSettings", "run_window"]
