"""When the window loop draws: only when there is something new to show.

A mirror that redraws the same camera frame shows nothing new, yet drawing a 1280x720 screen
with eight cards costs several milliseconds of CPU and holds Python's GIL while it does, which
the inference thread beside it needs. ``RedrawGate`` decides, at each step of the window loop,
whether the step draws (render + flip) or only polls (events, update) and waits for the next:

* **At once**: a new camera frame; an input event, a new display size or a re-created display;
  anything at all while no camera picture is on screen (starting, camera paused: those screens
  are cheap, and their animations run at the display rate as they always did).
* **With the next camera frame**: everything else that changes while the picture shows - a new
  snapshot (boxes and cards), a change of what the screen shows (``KioskApp.view_key``: mode,
  lesson, language, consent, ...), and movement (cards gliding to their places or fading in, a
  countdown, a lesson beside the mirror; ``KioskApp.animating``). The picture, the boxes and
  the cards then change together, once per camera frame. Only when no frame comes within
  ``hold_s`` of the last drawn one (a camera slower than the display, or one that stalled) is
  such a change drawn on its own; ``hold_s`` is a little over the camera's frame interval,
  between ``1 / ANIMATION_FPS`` and ``MAX_HOLD_S``, so movement never drops below 20 fps.

With a 30 fps camera, inference at 20-30 snapshots a second and ``ui.max_fps`` 60, the mirror
was drawn up to 60 times a second; it is now drawn once per camera frame, each within one
display step of its arrival. A faster ``ui.max_fps`` costs nothing while the camera is the
slower of the two: it only makes the loop notice frames sooner.
"""
from __future__ import annotations

from collections.abc import Hashable

from kiosk.types import Frame, Snapshot, SourceStatus
from kiosk.ui.arc import Arc
from kiosk.ui.consent import FEEDBACK_S
from kiosk.ui.state import UiState
from kiosk.ui.takehome import TakeHome

ANIMATION_FPS = 30.0  # changes other than camera frames are drawn at most this often ...
MAX_HOLD_S = 0.05  # ... and at least this often (20 fps) while they keep coming
_FRAME_SLACK = 1.25  # hold_s: this many camera frame intervals (a frame arriving a little late)


class RedrawGate:
    """Remembers what the last drawn frame showed; ``due`` says whether this step must draw."""

    def __init__(self) -> None:
        self._frame: Hashable | None = None
        self._view: Hashable | None = None
        self._drawn_s: float | None = None
        self._frame_s: float | None = None  # when the camera frame last changed
        self._frame_dt: float | None = None  # the camera's frame interval (moving average)
        self._stale = True
        self.skipped = 0  # steps that did not draw (for the debug overlay and the benchmarks)

    @property
    def hold_s(self) -> float:
        """How long after a drawn frame a change other than a camera frame waits for the next one."""
        lo = 1.0 / ANIMATION_FPS
        return lo if self._frame_dt is None else min(MAX_HOLD_S, max(lo, _FRAME_SLACK * self._frame_dt))

    def invalidate(self) -> None:
        """The next step draws (an input event, a resized or re-created display)."""
        self._stale = True

    def due(self, now_s: float, frame: Hashable, view: Hashable, *, live_picture: bool, animating: bool) -> bool:
        """Whether the step at ``now_s`` draws. ``frame``: the camera frame on screen (its index
        and time); ``view``: everything else it would show (equal: the same); ``live_picture``:
        a camera picture is on screen; ``animating``: the last drawn frame had something still
        moving. Call ``drawn`` after drawing."""
        if frame != self._frame and frame is not None:
            if self._frame_s is not None:
                dt = now_s - self._frame_s
                self._frame_dt = dt if self._frame_dt is None else 0.8 * self._frame_dt + 0.2 * dt
            self._frame_s = now_s
        if self._stale or self._drawn_s is None or not live_picture or frame != self._frame:
            return True
        if (view != self._view or animating) and now_s - self._drawn_s >= self.hold_s - 1e-6:
            return True
        self.skipped += 1
        return False

    def drawn(self, now_s: float, frame: Hashable, view: Hashable) -> None:
        self._frame, self._view, self._drawn_s, self._stale = frame, view, now_s, False


class ScreenChanges:
    """What the gate needs to know of ``kiosk.ui.app.KioskApp`` (which inherits it): what the next
    frame would show (``frame_key``, ``view_key``), whether a camera picture is on screen (``live_picture``)
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

    def frame_key(self) -> tuple | None:
        """The camera frame the next screen would show (its index and time)."""
        f = self._frame
        return (f.index, f.t_s) if f is not None else None

    def view_key(self, now_s: float) -> tuple:
        """What else the next frame would show, as far as it does not move by itself: the newest
        snapshot, the source's status, and what the screen shows (equal keys: nothing new to
        draw). Call after ``update``."""
        s, st, state = self._snap, self._status, self.state
        return (self.size, (s.frame_index, s.t_s) if s is not None else None,
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
