"""Display faults (issue 6, item 7): window resizes, exposes, display changes, render resets and
the loss of the display itself, delivered to the real window loop, must not crash the kiosk.

Everything goes through the public entry point ``kiosk.ui.window.run_window(cfg, pipeline)``
with a fake pipeline (a real ``LatestFrame`` holding one camera picture, a ``running()`` that
stops after a set number of display frames and, at chosen frames, injects a fault). SDL runs
with its dummy video driver, so the events are posted with ``pygame.event.post`` exactly as SDL
would queue them (pygame 2.6 names: VIDEORESIZE, WINDOWRESIZED, WINDOWSIZECHANGED, VIDEOEXPOSE,
WINDOWEXPOSED, WINDOWDISPLAYCHANGED, RENDER_TARGETS_RESET, RENDER_DEVICE_RESET, ...; pygame 2.6
has no event for a display being unplugged - SDL's SDL_DISPLAYEVENT is not passed on - so a
lost display is simulated by what the program then sees: the video system going away under it,
after which every pygame display call raises ``pygame.error``).
"""
from __future__ import annotations

import logging
import os
import time
from types import SimpleNamespace

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.capture.slot import LatestFrame  # noqa: E402
from kiosk.config import config_from_mapping  # noqa: E402
from kiosk.types import Frame, Snapshot  # noqa: E402
from kiosk.ui.window import run_window  # noqa: E402

WINDOW = (960, 540)


class FakePipeline:
    """What run_window reads from a Pipeline, with a script of faults by display frame.

    ``running()`` is called once per display frame, before that frame's events are handled:
    ``actions[n]`` runs at the n-th call (0-based), after the previous frame was flipped.
    ``shots`` keeps a copy of the display at the calls listed in ``shoot_at``.
    """

    def __init__(self, frames: int, actions: dict[int, Callable[[], None]] | None = None,
                 shoot_at: tuple[int, ...] = (), status_ok: bool = True) -> None:
        self.frames = frames
        self.actions = actions or {}
        self.shoot_at = shoot_at
        self.calls = 0
        self.sizes: list[tuple[int, int] | None] = []
        self.shots: dict[int, np.ndarray] = {}
        self.slot = LatestFrame()
        image = np.zeros((480, 640, 3), np.uint8)
        image[:, :320] = (40, 160, 220)  # two halves: the layout and the mirroring show
        image[:, 320:] = (200, 90, 30)
        image.setflags(write=False)
        self.slot.put(Frame(image=image, index=0, t_s=0.0))
        self.slot.set_status(status_ok, "Receiving frames from camera:0." if status_ok
                             else "camera:0 failed: unplugged. Reopening in 1.0 s (attempt 3).")
        self.snapshot: Snapshot | None = Snapshot(frame_index=0, t_s=0.0, frame_size=(640, 480), faces=())

    def running(self) -> bool:
        n = self.calls
        self.calls += 1
        surface = pygame.display.get_surface() if pygame.display.get_init() else None
        self.sizes.append(surface.get_size() if surface is not None else None)
        if n in self.shoot_at and surface is not None:
            self.shots[n] = pygame.surfarray.array3d(surface)
        if n in self.actions:
            self.actions[n]()
        return n < self.frames


def _cfg(fullscreen: bool = False, size: tuple[int, int] = WINDOW):  # noqa: ANN202
    return config_from_mapping({"ui": {"fullscreen": fullscreen, "width": size[0], "height": size[1]}})


def post(event_type: int, **attrs: object) -> Callable[[], None]:
    return lambda: pygame.event.post(pygame.event.Event(event_type, **attrs))


def _window_events(size: tuple[int, int]) -> list[pygame.event.Event]:
    w, h = size
    names_attrs: list[tuple[str, dict[str, object]]] = [
        ("VIDEORESIZE", {"size": size, "w": w, "h": h}),
        ("WINDOWRESIZED", {"x": w, "y": h}),
        ("WINDOWSIZECHANGED", {"x": w, "y": h}),
        ("VIDEOEXPOSE", {}),
        ("WINDOWEXPOSED", {}),
        ("WINDOWDISPLAYCHANGED", {"display_index": 1}),
        ("WINDOWMOVED", {"x": 1920, "y": 0}),
        ("WINDOWMINIMIZED", {}),
        ("WINDOWHIDDEN", {}),
        ("WINDOWSHOWN", {}),
        ("WINDOWRESTORED", {}),
        ("WINDOWMAXIMIZED", {}),
        ("WINDOWFOCUSLOST", {}),
        ("WINDOWFOCUSGAINED", {}),
        ("WINDOWLEAVE", {}),
        ("WINDOWENTER", {}),
        ("WINDOWTAKEFOCUS", {}),
        ("RENDER_TARGETS_RESET", {}),
        ("RENDER_DEVICE_RESET", {}),
        ("APP_WILLENTERBACKGROUND", {}),
        ("APP_DIDENTERBACKGROUND", {}),
        ("APP_WILLENTERFOREGROUND", {}),
        ("APP_DIDENTERFOREGROUND", {}),
        ("APP_LOWMEMORY", {}),
        ("ACTIVEEVENT", {"gain": 0, "state": 2}),
    ]
    missing = [name for name, _ in names_attrs if not hasattr(pygame, name)]
    assert not missing, f"pygame {pygame.version.ver} lacks {missing}"
    return [pygame.event.Event(getattr(pygame, name), **attrs) for name, attrs in names_attrs]


@pytest.fixture(autouse=True)
def _fresh_pygame():  # noqa: ANN202
    yield
    pygame.quit()  # whatever a test did to the display, the next one starts clean


@pytest.mark.parametrize("fullscreen", [False, True], ids=["window", "fullscreen"])
@pytest.mark.parametrize("status_ok", [True, False], ids=["camera_ok", "camera_lost"])
def test_window_events_are_survived(fullscreen: bool, status_ok: bool) -> None:
    def storm() -> None:
        for event in _window_events((800, 600)):
            pygame.event.post(event)

    # Every window event at once (frame 3), then one per frame (frames 6..), then 5 quiet frames.
    one_by_one = {6 + i: (lambda e=e: pygame.event.post(e)) for i, e in enumerate(_window_events((1024, 600)))}
    last = max(one_by_one) + 5
    pipeline = FakePipeline(last, actions={3: storm, **one_by_one}, status_ok=status_ok)
    run_window(_cfg(fullscreen), pipeline)
    assert pipeline.calls == last + 1  # ran to the end: no event stopped or crashed the loop
    assert all(size is not None for size in pipeline.sizes[1:])


def _resize_display(size: tuple[int, int]) -> Callable[[], None]:
    """What SDL does when the operator (or the window manager) resizes a resizable window."""
    def act() -> None:
        pygame.display.set_mode(size, pygame.RESIZABLE)
        pygame.event.post(pygame.event.Event(pygame.VIDEORESIZE, size=size, w=size[0], h=size[1]))
        pygame.event.post(pygame.event.Event(pygame.WINDOWRESIZED, x=size[0], y=size[1]))
        pygame.event.post(pygame.event.Event(pygame.WINDOWSIZECHANGED, x=size[0], y=size[1]))
    return act


def test_a_resized_window_keeps_running_at_its_new_size() -> None:
    pipeline = FakePipeline(12, actions={4: _resize_display((640, 400))})
    run_window(_cfg(), pipeline)
    assert pipeline.calls == 13
    assert pipeline.sizes[3] == WINDOW and pipeline.sizes[-1] == (640, 400)


def test_a_resized_window_is_laid_out_for_its_new_size() -> None:
    """The display after a resize to 640x400 looks like a kiosk started at 640x400."""
    resized = FakePipeline(40, actions={4: _resize_display((640, 400))}, shoot_at=(40,))
    run_window(_cfg(), resized)
    pygame.quit()
    native = FakePipeline(36, shoot_at=(36,))
    run_window(_cfg(size=(640, 400)), native)
    a, b = resized.shots[40], native.shots[36]
    assert a.shape == b.shape == (640, 400, 3)
    same = np.mean(np.all(np.abs(a.astype(int) - b.astype(int)) <= 8, axis=2))
    assert same > 0.9, f"only {same:.0%} of the pixels match a kiosk started at 640x400"


def _lose_display() -> None:
    """The display goes away (HDMI unplugged, X server restarted): the video system is gone."""
    pygame.display.quit()


def test_display_loss_is_survived_and_the_display_recreated() -> None:
    pipeline = FakePipeline(30, actions={5: _lose_display})
    run_window(_cfg(), pipeline)  # must not raise
    assert pipeline.calls == 31
    assert pipeline.sizes[-1] == WINDOW  # the display is back, at its size


def test_display_loss_does_not_hang_the_window_loop() -> None:
    """Whatever happens after the display is lost, run_window returns (or raises) promptly."""
    pipeline = FakePipeline(30, actions={5: _lose_display})
    try:
        run_window(_cfg(), pipeline)
    except pygame.error:
        pass  # allowed here (survival is the test above); what is not allowed is a hang
    assert pipeline.calls in (6, 31)


def test_heartbeat_is_called_once_per_loop_iteration() -> None:
    beats: list[int] = []
    pipeline = FakePipeline(12)
    run_window(_cfg(), pipeline, heartbeat=lambda: beats.append(pipeline.calls))
    # One beat per iteration, each after that iteration's running() call (and its flip).
    assert beats == list(range(1, 13))


class _FailingDisplay:
    """``pygame.display.set_mode`` that fails while ``failing`` is set (the display stays away)."""

    def __init__(self, fail_times: int | None) -> None:
        self.real = pygame.display.set_mode
        self.fail_times = fail_times  # None: fail for ever once lost
        self.lost = False
        self.attempts: list[float] = []
        self.clock_s = 0.0

    def lose(self) -> None:
        self.lost = True
        pygame.display.quit()

    def set_mode(self, *args: object, **kwargs: object) -> pygame.Surface:
        if self.lost:
            self.attempts.append(self.clock_s)
            if self.fail_times is None or len(self.attempts) <= self.fail_times:
                raise pygame.error("no display (test)")
        return self.real(*args, **kwargs)


def test_lost_display_is_retried_logged_once_and_the_heartbeat_goes_on(monkeypatch, caplog) -> None:  # noqa: ANN001
    display = _FailingDisplay(fail_times=3)
    monkeypatch.setattr(pygame.display, "set_mode", display.set_mode)
    monkeypatch.setattr("kiosk.ui.display.DISPLAY_RETRY_S", 0.0)  # retry at every iteration here
    beats: list[int] = []
    pipeline = FakePipeline(30, actions={5: display.lose}, shoot_at=(30,))
    with caplog.at_level(logging.DEBUG, logger="kiosk.ui"):
        run_window(_cfg(), pipeline, heartbeat=lambda: beats.append(1))
    assert pipeline.calls == 31 and len(beats) == 30  # the loop and the watchdog pings went on
    assert len(display.attempts) == 4  # three failed re-creations, then the display is back
    assert None in pipeline.sizes[6:10] and pipeline.sizes[-1] == WINDOW
    messages = [(r.levelno, r.getMessage()) for r in caplog.records]
    assert sum(level == logging.WARNING and "display lost" in m for level, m in messages) == 1
    assert sum(level == logging.INFO and "display back" in m for level, m in messages) == 1
    # The re-created display shows the kiosk as a kiosk that never lost its display would.
    monkeypatch.undo()
    pygame.quit()
    native = FakePipeline(30, shoot_at=(30,))
    run_window(_cfg(), native)
    a, b = pipeline.shots[30], native.shots[30]
    assert a.shape == b.shape == (*WINDOW, 3)
    same = np.mean(np.all(np.abs(a.astype(int) - b.astype(int)) <= 8, axis=2))
    assert same > 0.9, f"only {same:.0%} of the pixels match a kiosk that kept its display"


def test_lost_display_is_retried_every_one_to_two_seconds(monkeypatch) -> None:  # noqa: ANN001
    """On the loop's own clock (faked: 0.25 s per iteration, no sleeping), a display that never
    comes back is tried at once and then every 1-2 s, never more often."""
    display = _FailingDisplay(fail_times=None)
    monkeypatch.setattr(pygame.display, "set_mode", display.set_mode)

    def monotonic() -> float:
        display.clock_s += 0.25
        return display.clock_s

    monkeypatch.setattr("kiosk.ui.loop.time", SimpleNamespace(monotonic=monotonic, sleep=lambda _s: None,
                                                              perf_counter=time.perf_counter))
    pipeline = FakePipeline(45, actions={5: display.lose})
    run_window(_cfg(), pipeline)
    assert pipeline.calls == 46
    gaps = [b - a for a, b in zip(display.attempts, display.attempts[1:])]
    assert display.attempts[0] - 6 * 0.25 <= 0.25  # the first attempt at the next iteration
    assert len(gaps) >= 4 and all(1.0 <= g <= 2.0 for g in gaps), gaps
