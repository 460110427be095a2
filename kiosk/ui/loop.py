"""The one window loop: events -> update -> render -> flip, one step at a time.

``WindowLoop.step(now_s)`` is one iteration of the kiosk's screen, and the only one: ``run_window``
(``kiosk run``) calls it until the operator quits or the pipeline stops, and the benchmark's
screen phases and ``python -m kiosk.bench.ui_draw`` call the same ``step``, so what they measure
is what runs. It reads the newest frame, source status and snapshot from a ``ScreenFeed`` (a
``kiosk.pipeline.Pipeline`` is one) without ever waiting for inference, follows the display (a
resized window or a display that changed resolution is laid out anew; a lost display, e.g. HDMI
unplugged or the X server restarted, is re-created every ``DISPLAY_RETRY_S`` while the analysis
keeps running: ``kiosk.ui.display``), and calls a ``heartbeat`` (the systemd watchdog ping) once
per step, so a loop that hangs stops the pings. A step draws only when there is something new
to show (``kiosk.ui.redraw``); otherwise it polls events and waits for the next step.
"""
from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import pygame

from kiosk.config import PrivacyConfig, UiConfig
from kiosk.counters.daily import Aggregates
from kiosk.process_age import process_age_s
from kiosk.types import Snapshot
from kiosk.ui.app import KioskApp
from kiosk.ui.deps import UiDeps
from kiosk.ui.display import Display
from kiosk.ui.redraw import RedrawGate

if TYPE_CHECKING:
    from kiosk.config import Config

log = logging.getLogger(__name__)

LOST_IDLE_S = 0.05  # loop period while there is no display (the heartbeat keeps going)


class ScreenFeed(Protocol):
    """What the screen reads each step: ``slot.peek()`` (newest frame or None), ``slot.status()``
    (the source's ``SourceStatus``) and ``snapshot`` (newest ``Snapshot`` or None)."""

    slot: Any
    snapshot: Snapshot | None


@dataclass(frozen=True, slots=True)
class StepTimes:
    """What one step did, in milliseconds (``perf_counter``); ``drawn``: it drew (a display was
    there and there was something new to show); ``skipped``: a display was there, but nothing new
    (``kiosk.ui.redraw``), so the step only polled."""

    update_ms: float = 0.0
    render_ms: float = 0.0
    flip_ms: float = 0.0
    drawn: bool = False
    skipped: bool = False

    @property
    def draw_ms(self) -> float:
        """update + render + flip: the screen's cost of one displayed frame."""
        return self.update_ms + self.render_ms + self.flip_ms


class WindowLoop:
    """One kiosk screen on one display, stepped from outside.

    ``max_fps``: ``step`` ends with ``pygame.time.Clock.tick(max_fps)`` (the display rate cap);
    None: no pacing (benchmarks drawing as fast as they can). ``heartbeat`` is called at the end
    of every step, also while the display is lost. A step draws only when there is something
    new to show (``kiosk.ui.redraw.RedrawGate``: a camera frame, a snapshot, an event, a change
    of screen, or movement); ``redraw_always``: every step draws (benchmarks of the draw itself).
    """

    def __init__(self, app: KioskApp, display: Display, feed: ScreenFeed, *, max_fps: int | None,
                 heartbeat: Callable[[], object] | None = None, redraw_always: bool = False) -> None:
        self.app = app
        self.display = display
        self.feed = feed
        self.max_fps = max_fps
        self.heartbeat = heartbeat
        self.clock = pygame.time.Clock()
        self.gate = RedrawGate()
        self.redraw_always = redraw_always
        #: Process age (s) when a step first drew a camera picture (logged once; the bench reads it).
        self.first_picture_s: float | None = None

    def step(self, now_s: float) -> StepTimes:
        app, display, feed = self.app, self.display, self.feed
        if display.screen is None:
            reopened = display.try_reopen(now_s)
            if reopened is not None:
                # Laid out anew even at the same size: cached surfaces belong to the old display.
                app.resize(reopened.get_size(), force=True)
                self.gate.invalidate()
        if display.screen is not None:
            try:
                for event in pygame.event.get():
                    app.handle_event(event, now_s)
                    self.gate.invalidate()  # whatever it did is shown at once
            except pygame.error as exc:
                display.lost(exc, now_s)
        t0 = time.perf_counter()
        app.update(now_s, feed.slot.peek(), feed.slot.status(), feed.snapshot)
        t1 = time.perf_counter()
        times = StepTimes(update_ms=(t1 - t0) * 1e3)
        if display.screen is not None:
            try:
                # Checked every frame rather than on VIDEORESIZE / WINDOWSIZECHANGED alone:
                # it also catches a fullscreen display that changed resolution.
                screen = display.surface()
                if app.resize(screen.get_size()):
                    self.gate.invalidate()
                frame_key, view_key = app.frame_key(), app.view_key(now_s)
                if self.redraw_always or self.gate.due(now_s, frame_key, view_key, live_picture=app.live_picture,
                                                       animating=app.animating):
                    t1 = time.perf_counter()
                    app.render(screen, now_s)
                    t2 = time.perf_counter()
                    pygame.display.flip()
                    t3 = time.perf_counter()
                    self.gate.drawn(now_s, frame_key, view_key)
                    times = StepTimes(times.update_ms, (t2 - t1) * 1e3, (t3 - t2) * 1e3, True)
                    if self.first_picture_s is None and app.live_picture:
                        self.first_picture_s = process_age_s()
                        if self.first_picture_s is not None:
                            log.info("first picture on screen %.2f s after the process started", self.first_picture_s)
                else:
                    times = StepTimes(times.update_ms, skipped=True)
                if self.max_fps is not None:
                    self.clock.tick(self.max_fps)
            except pygame.error as exc:
                display.lost(exc, now_s)
        else:
            time.sleep(LOST_IDLE_S)
        if self.heartbeat is not None:
            self.heartbeat()
        return times


def open_screen(ui: UiConfig, feed: ScreenFeed, deps: UiDeps | None = None, *,
                privacy: PrivacyConfig | None = None, max_fps: int | None = None,
                heartbeat: Callable[[], object] | None = None, on_consent: Callable[[int], None] | None = None,
                counter: Aggregates | None = None) -> WindowLoop:
    """Open the display for ``ui`` and a ``KioskApp`` of its size on it; the loop that steps them.
    The caller ends it with ``pygame.quit()``."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    display = Display(ui)
    pygame.font.init()
    screen = display.open()
    app = KioskApp(screen.get_size(), ui, deps, privacy=privacy, on_consent=on_consent, counter=counter)
    return WindowLoop(app, display, feed, max_fps=max_fps, heartbeat=heartbeat)


def run_window(cfg: Config | None, pipeline: Any, deps: UiDeps | None = None, max_frames: int | None = None,
               heartbeat: Callable[[], object] | None = None, counter: Aggregates | None = None,
               deps_when_ready: Callable[[Any], UiDeps] | None = None) -> None:
    """Run the kiosk screen until the operator quits or the pipeline stops.

    ``cfg`` is the kiosk ``Config``: the screen takes its ``ui`` and ``privacy`` sections (None:
    their defaults). ``pipeline`` needs ``running()``, ``slot.peek()``, ``slot.status()`` and
    ``snapshot``; its ``request_consent()`` (if any) is what "Analyse me" calls. ``deps``: the
    screen's collaborators, built by the caller (``kiosk.ui.build.build_deps``; None: none, the
    lessons say so). ``heartbeat`` (e.g. ``Notifier.tick``) is called once per loop iteration,
    after the flip, also while the display is lost. ``max_frames``: stop after that many
    iterations (tests). ``counter``: the daily counter the pipeline feeds (``kiosk run``
    subscribes it), whose figures the attract screen shows; None: the screen counts what it is
    shown itself.

    ``deps_when_ready(analyzer)``: for a pipeline that builds its analyzer while the screen
    already shows the camera (``kiosk run``): called once ``pipeline.analyzer`` exists, its result
    replaces ``deps`` (``KioskApp.set_deps``).

    A resized window or a display that changed resolution is laid out anew; a ``pygame.error``
    from the display (lost display) does not end the loop: see ``kiosk.ui.display.Display``.
    """
    ui = cfg.ui if cfg is not None else UiConfig()
    privacy = cfg.privacy if cfg is not None else PrivacyConfig()
    on_consent = getattr(pipeline, "request_consent", None)
    try:
        loop = open_screen(ui, pipeline, deps, privacy=privacy, max_fps=ui.max_fps, heartbeat=heartbeat,
                           on_consent=on_consent if callable(on_consent) else None, counter=counter)
        log.info("screen %dx%d, language %s, theme %s", *loop.app.size, ui.language, ui.theme)
        frames = 0
        while pipeline.running() and not loop.app.quit_requested:
            if deps_when_ready is not None and getattr(pipeline, "analyzer", None) is not None:
                loop.app.set_deps(deps_when_ready(pipeline.analyzer))
                deps_when_ready = None
            loop.step(time.monotonic())
            frames += 1
            if max_frames is not None and frames >= max_frames:
                break
    finally:
        pygame.quit()
