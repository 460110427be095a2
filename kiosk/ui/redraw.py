"""When the window loop draws: only when there is something new to show.

A mirror that redraws the same camera frame shows nothing new, yet drawing a 1280x720 screen
with eight cards costs several milliseconds of CPU and holds Python's GIL while it does, which
the inference thread beside it needs. ``RedrawGate`` decides, at each step of the window loop,
whether the step draws (render + flip) or only polls (events, update) and waits for the next:

* **Something new** always draws: a new camera frame, a new snapshot, a change of the source's
  status or of what the screen shows (``KioskApp.view_key``: mode, lesson, language, debug
  overlay, consent, ...), an input event, a new display size or a re-created display.
* **No live camera picture** on screen (starting, camera paused): every step draws, as the
  loop always did; those screens are cheap and their animations run at the display rate.
* **A live picture and nothing new**: the picture only changes with the camera's frames, so the
  screen is drawn when a frame or a snapshot arrives. What moves between frames (cards gliding
  to their places, a card fading in, a countdown, a lesson beside the mirror) is drawn with the
  next frame, or, while the camera is late, at ``ANIMATION_FPS`` as long as the last drawn frame
  said something was still moving (``KioskApp.animating``).

With a 30 fps camera and ``ui.max_fps`` 60 this halves the redraws on the mirror and draws
every camera frame once, within one display step of its arrival; a faster display setting
no longer costs anything while the camera is the slower of the two.
"""
from __future__ import annotations

from collections.abc import Hashable

from kiosk.types import Frame, Snapshot, SourceStatus
from kiosk.ui.arc import Arc
from kiosk.ui.consent import FEEDBACK_S
from kiosk.ui.state import UiState
from kiosk.ui.takehome import TakeHome

ANIMATION_FPS = 30.0  # the most redraws per second for movement alone while a camera picture shows


class RedrawGate:
    """Remembers what the last drawn frame showed; ``due`` says whether this step must draw."""

    def __init__(self, animation_fps: float = ANIMATION_FPS) -> None:
        self.min_interval_s = 1.0 / animation_fps
        self._key: Hashable | None = None
        self._drawn_s: float | None = None
        self._stale = True
        self.skipped = 0  # steps that did not draw (for the debug overlay and the benchmarks)

    def invalidate(self) -> None:
        """The next step draws (an input event, a resized or re-created display)."""
        self._stale = True

    def due(self, now_s: float, key: Hashable, *, live_picture: bool, animating: bool) -> bool:
        """Whether the step at ``now_s`` draws. ``key``: what the screen would show (equal keys:
        the same inputs); ``live_picture``: a camera picture is on screen; ``animating``: the
        last drawn frame had something still moving. Call ``drawn`` after drawing."""
        if self._stale or key != self._key or self._drawn_s is None or not live_picture:
            return True
        if animating and now_s - self._drawn_s >= self.min_interval_s - 1e-6:
            return True
        self.skipped += 1
        return False

    def drawn(self, now_s: float, key: Hashable) -> None:
        self._key, self._drawn_s, self._stale = key, now_s, False


class ScreenChanges:
    """What the gate needs to know of ``kiosk.ui.app.KioskApp`` (which inherits it): what the next
    frame would show (``view_key``), whether a camera picture is on screen (``live_picture``)
    and whether the last drawn frame had something still moving (``animating``)."""

    size: tuple[int, int]
    state: UiState
    arc: Arc
    takehome: TakeHome
    _frame: Frame | None
    _snap: Snapshot | None
    _status: SourceStatus | None
    _paused: bool
    _consent_asked_s: float | None
    animating: bool = True  # until the first frame is drawn
    _image_easing: bool = False  # the picture glides to a new place (a panel opened or closed)

    def camera_problem(self, now_s: float) -> tuple[bool, bool]:
        raise NotImplementedError

    def view_key(self, now_s: float) -> tuple:
        """What the next frame would show, as far as it does not move by itself: the newest
        camera frame and snapshot, the source's status, and what the screen shows (equal keys:
        nothing new to draw). Call after ``update``."""
        f, s, st, state = self._frame, self._snap, self._status, self.state
        return (self.size, (f.index, f.t_s) if f is not None else None,
                (s.frame_index, s.t_s) if s is not None else None,
                (st.ok, st.message, st.reconnects) if st is not None else None,
                self.camera_problem(now_s), state.mode, state.lesson_index, state.language, state.debug,
                state.mode_since_s, state.last_interaction_s, state.slider_manual_s, self._consent_asked_s,
                self.takehome.is_open, self.arc.step)

    @property
    def live_picture(self) -> bool:
        """A camera picture is on screen (it changes with the camera's frames)."""
        return self._frame is not None and not self._paused

    def moving(self, now_s: float, panel: bool, departures: bool, cards_moving: bool) -> bool:
        """Whether a frame drawn now has something that moves by itself: screens other than the
        plain mirror count as moving (lessons, the arc's panel and the attract screen animate),
        as do the countdowns of visitors who left, gliding or fading cards, the picture gliding
        to a new place, the debug overlay and the "Analyse me" feedback."""
        asked = self._consent_asked_s
        return (self.state.mode != "mirror" or panel or departures or cards_moving or self.state.debug
                or (self._frame is not None and self._image_easing)
                or (asked is not None and now_s - asked < FEEDBACK_S))
