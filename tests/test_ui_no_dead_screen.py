"""``--source camera:9`` (no such device): the real capture thread reports it within 2 s, and a
visitor sees the attract screen within 3 s of start and can open every lesson."""
from __future__ import annotations

from uikit import H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from kiosk.capture import open_source  # noqa: E402
from kiosk.capture.slot import LatestFrame  # noqa: E402
from kiosk.capture.thread import CaptureThread  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402
from kiosk.ui.state import LESSONS  # noqa: E402


def test_a_camera_that_cannot_exist_is_reported_and_visitors_get_attract_and_lessons(screen) -> None:  # noqa: ANN001
    if Path("/dev/video9").exists():
        pytest.skip("this machine has a /dev/video9")
    start = time.monotonic()
    slot, stop = LatestFrame(), threading.Event()
    thread = CaptureThread(lambda: open_source("camera:9", width=640, height=480, fps=30.0, realtime=True, loop=False,
                                               demo_dir=Path(".")), slot, stop, stall_timeout_s=2.0)
    thread.start()
    app = KioskApp((W, H), UiConfig(arc=False, fullscreen=False, width=W, height=H), UiDeps())
    try:
        reported = attract = None
        while time.monotonic() - start < 3.0 and attract is None:
            now = time.monotonic()
            status = slot.status()
            if reported is None and not status.ok and status.reconnects >= 1:
                reported = now - start
            app.update(now, slot.peek(), status, None)
            rec = app.render(screen, now)
            if rec.screen == "attract" and rec.has_text("Mirror paused"):
                attract = now - start
            time.sleep(0.02)
        assert reported is not None and reported < 2.0, f"failure reported after {reported} s"
        assert attract is not None and attract < 3.0, f"attract screen after {attract} s"
        assert "does not exist" in slot.status().message  # the diagnosis, for the log and F1
        seen = set()
        now = time.monotonic()
        app.tap((W // 2, H // 2), now)  # a touch anywhere on the attract screen opens the lessons
        for _ in LESSONS:
            app.update(now, slot.peek(), slot.status(), None)
            rec = app.render(screen, now)
            seen.add(rec.screen)
            app.tap(rec.buttons["next"][:2], now)
            now += 0.1
        assert seen == {f"lesson:{name}" for name in LESSONS}
    finally:
        stop.set()
        thread.join(timeout=5)
