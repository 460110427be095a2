"""The one-frame slot between capture and inference, and the real-time pacer of replayed sources.

Both take their clock as a parameter (default ``time.monotonic`` / ``time.sleep``) so that
tests drive them with a fake clock instead of wall-clock windows.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from kiosk.types import Frame, SourceStatus

# Upper bound on any single blocking wait, so that the stop event is honoured well within 0.5 s
# even where the thing we wait on cannot be woken by it (a Condition, a Queue).
_POLL_S = 0.1


class LatestFrame:
    """The one-frame hand-off between the capture thread and the inference thread.

    ``put()`` overwrites: a live camera must never queue up, the inference thread always wants
    the newest image, and a frame overwritten before anyone took it is counted in ``dropped``.
    ``put_wait()`` is the lossless variant for sources replayed as fast as possible. ``get()``
    takes the newest frame not taken before (one consumer: the inference thread); ``peek()``
    looks at the newest frame without taking it (for the UI, which draws every new frame even if
    inference skips it). One ``threading.Condition`` guards everything; nobody spins.

    The slot also carries the source status, so the UI needs only this object to show both the
    image and "camera disconnected, retrying".
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # injectable: tests use a fake clock instead of wall-clock windows
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._taken = True  # True: the stored frame (if any) was already returned by get()
        self._dropped = 0
        self._delivered = 0
        self._closed = False
        # Threads blocked in the Condition, by side: a put or get notifies only when the other
        # side is actually waiting (the frame hand-off was a hot spot of issue 17's profile).
        self._consumers_waiting = 0
        self._producers_waiting = 0
        self._status = SourceStatus(ok=False, message="Waiting for the first frame…", since_s=clock(), reconnects=0)

    # --- producer side -------------------------------------------------------------------------

    def put(self, frame: Frame) -> None:
        """Store ``frame``, replacing (and counting as dropped) a frame nobody took."""
        with self._cond:
            if self._frame is not None and not self._taken:
                self._dropped += 1
            self._frame = frame
            self._taken = False
            if self._consumers_waiting:
                self._cond.notify_all()

    def put_wait(self, frame: Frame, stop: threading.Event) -> bool:
        """Store ``frame`` once the previous one was taken (lossless); False if stopped or closed first.

        The wait is sliced (at most 0.1 s per slice) because ``stop`` is an Event that cannot
        notify this Condition; the slices cost ten wake-ups a second while blocked, not a spin.
        """
        with self._cond:
            while self._frame is not None and not self._taken:
                if stop.is_set() or self._closed:
                    return False
                self._producers_waiting += 1
                try:
                    self._cond.wait(_POLL_S)
                finally:
                    self._producers_waiting -= 1
            if stop.is_set() or self._closed:
                return False
            self._frame = frame
            self._taken = False
            if self._consumers_waiting:
                self._cond.notify_all()
            return True

    def close(self) -> None:
        """No more frames will come: wake every waiter; ``get()`` then returns a pending frame or None at once."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    def set_status(self, ok: bool, message: str, reconnects: int | None = None) -> None:
        """Replace the source status; ``since_s`` moves only when ``ok`` changes."""
        with self._cond:
            old = self._status
            since = old.since_s if old.ok == ok else self._clock()
            self._status = SourceStatus(
                ok=ok,
                message=message,
                since_s=since,
                reconnects=old.reconnects if reconnects is None else reconnects,
            )

    # --- consumer side -------------------------------------------------------------------------

    def get(self, timeout_s: float) -> Frame | None:
        """The newest frame not returned before, waiting up to ``timeout_s``; None on timeout or when closed."""
        deadline = self._clock() + max(0.0, timeout_s)
        with self._cond:
            while self._frame is None or self._taken:
                remaining = deadline - self._clock()
                if self._closed or remaining <= 0:
                    return None
                self._consumers_waiting += 1
                try:
                    self._cond.wait(remaining)
                finally:
                    self._consumers_waiting -= 1
            self._taken = True
            self._delivered += 1
            if self._producers_waiting:
                self._cond.notify_all()  # wakes a producer blocked in put_wait()
            return self._frame

    def peek(self) -> Frame | None:
        """The newest frame whether or not it was taken; does not count as delivered."""
        with self._cond:
            return self._frame

    def status(self) -> SourceStatus:
        with self._cond:
            return self._status

    @property
    def dropped(self) -> int:
        """Frames overwritten before the consumer took them."""
        with self._cond:
            return self._dropped

    @property
    def delivered(self) -> int:
        """Frames returned by ``get()``."""
        with self._cond:
            return self._delivered

    @property
    def closed(self) -> bool:
        with self._cond:
            return self._closed


class Pacer:
    """Sleeps until each frame's due time, for sources that must play at ``fps`` in real time.

    Due times are ``start + n / fps`` (no drift accumulates). When the caller falls more than
    one frame behind (a slow consumer, a suspended process) the schedule is rebased instead of
    bursting frames to catch up: a replay should look like a camera, and a camera never bursts.
    """

    def __init__(self, fps: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.period_s = 1.0 / fps
        self._start_s: float | None = None
        self._n = 0
        self._clock, self._sleep = clock, sleep  # injectable: tests pace with a fake clock

    def reset(self) -> None:
        self._start_s = None
        self._n = 0

    def wait(self) -> None:
        now = self._clock()
        if self._start_s is None:
            self._start_s, self._n = now, 0
            return
        self._n += 1
        due = self._start_s + self._n * self.period_s
        if due > now:
            self._sleep(due - now)
        elif now - due > self.period_s:
            self._start_s, self._n = now, 0


