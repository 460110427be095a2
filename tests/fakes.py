"""Fault-injecting capture sources for tests: a camera that can be unplugged, wedged, or made to
deliver garbage, scripted or driven by hand.

:class:`FaultyCamera` plays the *physical* camera. Call it (it is a source factory, as
``CaptureThread`` and ``Pipeline`` take) to get a :class:`FaultySource`: one open of the device.
Every source made by one camera sees the same state, which is what makes reconnects realistic:
while the camera is unplugged, ``open()`` of a fresh source fails too; when it comes back, the
next reopen succeeds.

Two ways to drive it, freely mixed:

* a **script** of steps consumed by successive ``read()`` calls (across reopens)::

      cam = FaultyCamera([Frames(20), Disconnect(0.8), Frames(5), Garbage([np.zeros(4)]), Stall(1.0)])

  after the script the camera delivers good frames for ever (or ends: ``then="end"``);
* **by hand** from the test: :meth:`FaultyCamera.unplug`, :meth:`~FaultyCamera.plug`,
  :meth:`~FaultyCamera.stall`, :meth:`~FaultyCamera.resume`, :meth:`~FaultyCamera.inject`.

Faults, as a real device shows them:

* unplugged: ``read()`` and ``open()`` raise ``OSError`` (what ``CameraSource`` raises);
* stalled: ``read()`` (and, with ``Stall(..., opens=True)``, ``open()``) blocks like a wedged
  driver until the stall ends, then returns a frame (which a reader the capture thread
  abandoned in the meantime drops);
* garbage: ``read()`` returns whatever was injected (wrong shapes, dtypes, non-arrays).

Good frames are ``height`` x ``width`` x 3 uint8, all pixels ``serial % 256`` unless an
``image`` function is given; ``serial`` counts good frames served by the camera (from 0).
Everything is thread-safe (an abandoned reader may still be blocked in one source while a new
reader uses another). Times are ``time.monotonic()`` seconds.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

__all__ = [
    "Disconnect",
    "EndOfStream",
    "FaultyCamera",
    "FaultySource",
    "Frames",
    "Garbage",
    "Stall",
    "Step",
    "odd_arrays",
]


@dataclass(frozen=True)
class Frames:
    """Deliver ``n`` good frames."""

    n: int


@dataclass(frozen=True)
class Garbage:
    """Return these objects from ``read()``, one per call (odd arrays, non-arrays...)."""

    items: Sequence[object]


@dataclass(frozen=True)
class Disconnect:
    """Unplug the camera for ``duration_s`` (None: until :meth:`FaultyCamera.plug`)."""

    duration_s: float | None = None
    message: str = "camera unplugged (simulated: USB cable pulled)"


@dataclass(frozen=True)
class Stall:
    """Wedge the camera for ``duration_s`` (None: until :meth:`FaultyCamera.resume`).

    ``opens``: ``open()`` blocks too (a driver stuck in its ioctl), not just ``read()``.
    """

    duration_s: float | None = None
    opens: bool = False


@dataclass(frozen=True)
class EndOfStream:
    """``read()`` returns None (end of a file; a camera never does this)."""


Step = Frames | Garbage | Disconnect | Stall | EndOfStream
State = Literal["ok", "unplugged", "stalled"]


class FaultyCamera:
    """A make-believe camera whose faults a test scripts or triggers; call it to get a Source.

    ``fps`` paces ``read()`` (one good frame per ``1/fps`` s) when ``realtime`` is true;
    non-realtime sources return as fast as they are asked. ``then`` says what happens after the
    script: ``"frames"`` (good frames for ever) or ``"end"`` (end of stream).
    """

    def __init__(
        self,
        script: Iterable[Step] = (),
        *,
        width: int = 64,
        height: int = 48,
        fps: float = 100.0,
        realtime: bool = True,
        then: Literal["frames", "end"] = "frames",
        image: Callable[[int], np.ndarray] | None = None,
        name: str = "faulty:0",
    ) -> None:
        self.width, self.height = width, height
        self.fps = float(fps)
        self.realtime = realtime
        self.name = name
        self._then = then
        self._image = image
        self._script: deque[Step] = deque(script)
        self._frames_left = 0  # of the current Frames step
        self._garbage: deque[object] = deque()
        self._cond = threading.Condition()
        self._state: State = "ok"
        self._state_until_s: float | None = None  # when a timed unplug/stall ends by itself
        self._stall_opens = False
        self._message = ""
        # Public counters and history (read them from the test; they only grow).
        self.serial = 0  # good frames served
        self.garbage_served = 0
        self.opens = 0  # successful open() calls
        self.failed_opens = 0
        self.closes = 0
        self.blocked_reads = 0  # read() calls that blocked in a stall
        self.sources: list[FaultySource] = []
        self.events: list[tuple[float, str]] = []
        self.recovered_s: float | None = None  # when the camera last came back (plug/resume/timer)

    # --- factory ---------------------------------------------------------------------------------

    def __call__(self) -> FaultySource:
        source = FaultySource(self)
        with self._cond:
            self.sources.append(source)
        return source

    # --- manual controls -------------------------------------------------------------------------

    def unplug(self, message: str = "camera unplugged (simulated: USB cable pulled)",
               duration_s: float | None = None) -> None:
        """Unplug: reads and opens raise ``OSError(message)`` until :meth:`plug` or ``duration_s``."""
        with self._cond:
            self._set_state("unplugged", duration_s, message=message)

    def plug(self) -> None:
        """Plug the camera back in (ends an unplug; no effect otherwise)."""
        with self._cond:
            if self._state == "unplugged":
                self._recover(time.monotonic())

    def stall(self, duration_s: float | None = None, *, opens: bool = False) -> None:
        """Wedge: reads (and with ``opens`` opens) block until :meth:`resume` or ``duration_s``."""
        with self._cond:
            self._set_state("stalled", duration_s, opens=opens)

    def resume(self) -> None:
        """End a stall (no effect otherwise)."""
        with self._cond:
            if self._state == "stalled":
                self._recover(time.monotonic())

    def inject(self, *items: object) -> None:
        """Make the next ``read()`` calls return ``items`` (before any further good frame)."""
        with self._cond:
            self._garbage.extend(items)

    @property
    def state(self) -> State:
        with self._cond:
            self._expire(time.monotonic())
            return self._state

    @property
    def live_sources(self) -> int:
        """Sources opened and not closed yet (an abandoned, still blocked reader counts)."""
        with self._cond:
            return self.opens - self.closes

    # --- used by FaultySource (all under self._cond) ---------------------------------------------

    def _log(self, what: str) -> None:
        self.events.append((time.monotonic(), what))

    def _set_state(self, state: State, duration_s: float | None, *, message: str = "", opens: bool = False) -> None:
        now = time.monotonic()
        self._state = state
        self._state_until_s = None if duration_s is None else now + duration_s
        self._message = message
        self._stall_opens = opens
        self._log(f"{state} for {duration_s if duration_s is not None else 'ever'} s")
        self._cond.notify_all()

    def _recover(self, at_s: float) -> None:
        self._log(f"{self._state} ends")
        self._state, self._state_until_s, self._stall_opens = "ok", None, False
        self.recovered_s = at_s
        self._cond.notify_all()

    def _expire(self, now: float) -> None:
        if self._state != "ok" and self._state_until_s is not None and now >= self._state_until_s:
            self._recover(self._state_until_s)  # it came back when the timer ran out, not when seen

    def _wait_while_stalled(self, source: FaultySource, *, opening: bool) -> bool:
        """Block while the camera is stalled; True if this call blocked at all."""
        blocked = False
        while True:
            now = time.monotonic()
            self._expire(now)
            if self._state != "stalled" or (opening and not self._stall_opens) or source.closed:
                return blocked
            if not blocked:
                blocked = True
                self.blocked_reads += 0 if opening else 1
            timeout = None if self._state_until_s is None else max(0.0, self._state_until_s - now)
            self._cond.wait(timeout if timeout is not None else 0.5)

    def _open(self, source: FaultySource) -> None:
        with self._cond:
            self._expire(time.monotonic())
            self._wait_while_stalled(source, opening=True)
            if self._state == "unplugged":
                self.failed_opens += 1
                self._log("open failed")
                raise OSError(f"cannot open it: {self._message}")
            self.opens += 1
            self._log("opened")

    def _read(self, source: FaultySource) -> np.ndarray | None:
        with self._cond:
            self._advance_script()
            # A wedged driver returns when the stall ends; a reader the capture thread abandoned
            # meanwhile drops that frame and closes its source, the current one delivers it.
            self._wait_while_stalled(source, opening=False)
            self._expire(time.monotonic())
            if self._state == "unplugged":
                self._log("read failed")
                raise OSError(self._message)
            if self._garbage:
                self.garbage_served += 1
                item = self._garbage.popleft()
                return item  # type: ignore[return-value]
            if self._frames_left == 0 and not self._script and self._then == "end":
                self._log("end of stream")
                return None
            if self._frames_left > 0:
                self._frames_left -= 1
            serial = self.serial
            self.serial += 1
        image = self._image(serial) if self._image is not None else np.full(
            (self.height, self.width, 3), serial % 256, np.uint8)
        return image

    def _advance_script(self) -> None:
        """Apply script steps until one yields something for this read (a frame, garbage, a fault)."""
        while self._frames_left == 0 and not self._garbage and self._state == "ok" and self._script:
            step = self._script.popleft()
            if isinstance(step, Frames):
                self._frames_left = step.n
            elif isinstance(step, Garbage):
                self._garbage.extend(step.items)
            elif isinstance(step, Disconnect):
                self._set_state("unplugged", step.duration_s, message=step.message)
            elif isinstance(step, Stall):
                self._set_state("stalled", step.duration_s, opens=step.opens)
            elif isinstance(step, EndOfStream):
                self._then = "end"
                self._script.clear()


@dataclass(eq=False)
class FaultySource:
    """One open of a :class:`FaultyCamera`; implements ``kiosk.capture.source.Source``."""

    camera: FaultyCamera
    opened: bool = False
    closed: bool = False
    reads: int = field(default=0)
    _last_read_s: float | None = None

    @property
    def name(self) -> str:
        return self.camera.name

    @property
    def fps(self) -> float:
        return self.camera.fps

    @property
    def realtime(self) -> bool:
        return self.camera.realtime

    def open(self) -> None:
        if self.closed:
            raise RuntimeError("open() after close()")
        self.camera._open(self)
        self.opened = True

    def read(self) -> np.ndarray | None:
        if not self.opened:
            raise RuntimeError(f"{self.name}: read() before open()")
        if self.realtime:  # pace like a camera: one frame per period
            period_s = 1.0 / self.camera.fps
            now = time.monotonic()
            if self._last_read_s is not None and now - self._last_read_s < period_s:
                time.sleep(period_s - (now - self._last_read_s))
            self._last_read_s = time.monotonic()
        self.reads += 1
        return self.camera._read(self)

    def close(self) -> None:
        with self.camera._cond:
            if self.opened and not self.closed:
                self.camera.closes += 1
            self.closed = True
            self.camera._cond.notify_all()


def odd_arrays(height: int = 24, width: int = 32) -> dict[str, tuple[object, bool]]:
    """Named odd "frames" a driver might return, each with whether it is usable after conversion.

    For parametrised tests of frame normalisation (the 8K frame is made by the caller where
    wanted: 100 MB per copy is too much for a table built at import).
    """
    h, w = height, width
    base = np.arange(h * w * 3, dtype=np.uint8).reshape(h, w, 3)
    wide = np.zeros((h, 2 * w, 3), np.uint8)
    return {
        "bgr_uint8": (base.copy(), True),
        "gray_hw": (np.full((h, w), 77, np.uint8), True),
        "gray_hw1": (np.full((h, w, 1), 78, np.uint8), True),
        "bgra": (np.full((h, w, 4), 200, np.uint8), True),
        "uint16": (np.full((h, w, 3), 50_000, np.uint16), True),
        "uint16_gray": (np.full((h, w), 65_535, np.uint16), True),
        "float32_0_1": (np.full((h, w, 3), 0.5, np.float32), True),
        "float64_0_255": (np.full((h, w, 3), 200.0, np.float64), True),
        "float_nan_inf": (np.array([np.nan, np.inf, -np.inf, 0.5] * (h * w * 3 // 4), np.float32).reshape(h, w, 3), True),
        "float16": (np.full((h, w, 3), 0.25, np.float16), True),
        "float_huge": (np.full((h, w, 3), 1e300, np.float64), True),
        "int8_negative": (np.full((h, w, 3), -5, np.int8), True),
        "int64": (np.full((h, w, 3), 1 << 40, np.int64), True),
        "bool": (np.ones((h, w, 3), np.bool_), True),
        "big_endian_uint16": (np.full((h, w, 3), 256, ">u2"), True),
        "slice_every_other_column": (wide[:, ::2], True),
        "negative_strides": (base[::-1, ::-1], True),
        "channels_reversed": (base[:, :, ::-1], True),
        "fortran_order": (np.asfortranarray(base), True),
        "transposed_view": (np.transpose(np.zeros((w, h, 3), np.uint8), (1, 0, 2)), True),
        "read_only": (_read_only(base.copy()), True),
        "one_pixel": (np.zeros((1, 1, 3), np.uint8), True),
        "one_row": (np.zeros((1, 500, 3), np.uint8), True),
        "one_column": (np.zeros((500, 1, 3), np.uint8), True),
        "empty_0x0x3": (np.zeros((0, 0, 3), np.uint8), False),
        "zero_width": (np.zeros((h, 0, 3), np.uint8), False),
        "zero_channels": (np.zeros((h, w, 0), np.uint8), False),
        "one_d": (np.zeros((h * w * 3,), np.uint8), False),
        "four_d_batch": (np.zeros((1, h, w, 3), np.uint8), False),
        "scalar_array": (np.array(7, np.uint8), False),
        "two_channels": (np.zeros((h, w, 2), np.uint8), False),
        "five_channels": (np.zeros((h, w, 5), np.uint8), False),
        "complex": (np.ones((h, w, 3), np.complex64), False),
        "object": (np.empty((h, w, 3), object), False),
        "strings": (np.full((h, w, 3), "x"), False),
        "datetime": (np.zeros((h, w, 3), "M8[s]"), False),
        "structured": (np.zeros((h, w, 3), dtype=[("b", "u1")]), False),
        "not_an_array_list": ([[1, 2, 3]], False),
        "not_an_array_bytes": (b"\xff\xd8\xff", False),
        "none_like_string": ("frame", False),
    }


def _read_only(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a
