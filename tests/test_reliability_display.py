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

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.capture.base import LatestFrame  # noqa: E402
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


@pytest.mark.xfail(strict=True, reason=(
    "kiosk/ui/app.py run_window: the KioskApp is laid out once, for the size at start-up. On VIDEORESIZE / "
    "WINDOWSIZECHANGED (and after re-creating the display) it must re-layout for screen.get_size(): e.g. "
    "`app.resize(screen.get_size())` that rebuilds what KioskApp.__init__ derives from the size (fonts, "
    "strip/panel rects, CameraImage target). Today a resized window keeps the old layout, drawn off-window"))
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


@pytest.mark.xfail(strict=True, reason=(
    "kiosk/ui/app.py run_window: a pygame.error from event.get / render / display.flip (display lost) "
    "propagates and ends `kiosk run` with exit 1 (systemd restarts everything, analysis included). It should "
    "be caught in the loop: log one warning, keep the pipeline running, and re-create the display "
    "(pygame.display.init(); set_mode(size, flags) as at start; re-layout; mouse visibility and caption "
    "again), retrying every 1-2 s while it fails; log the recovery"))
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
        pass  # today: the error ends the loop (see the xfail above); never a hang
    assert pipeline.calls in (6, 31)
