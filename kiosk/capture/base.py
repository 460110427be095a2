"""The capture side of the pipeline: one ``Source`` interface, the one-frame slot, the capture thread.

::

    CaptureThread (supervisor)          reader thread (one per (re)open)
      waits for the reader with a  <--   factory() -> open() -> read() -> read() ...
      timeout, stamps Frames,            (the only thread that ever touches the Source)
      puts them into LatestFrame  -->  inference thread: slot.get(timeout)
                                  -->  UI thread: slot.peek(), slot.status()

Why a reader thread under the capture thread: a camera driver or a GStreamer pipeline can block
inside ``read()`` for ever (a USB camera that browns out, a wedged ISP). A thread blocked in C
code cannot notice a stall, cannot honour the stop event and cannot reopen anything. So every
source call runs on a disposable reader thread; the supervisor only waits on a queue with a
timeout. On a stall the supervisor abandons the reader (it closes its own source when, if ever,
its ``read()`` returns) and opens a fresh source with a fresh reader. The cost is one extra
thread hop per frame (tens of microseconds) and, on a stall, a source that may stay open until
the driver gives up: for an exclusive device the reopen then fails with ``OSError`` and is retried
with backoff, which is the right outcome anyway.
"""
from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from collections.abc import Callable
from typing import Literal, Protocol, runtime_checkable

import cv2
import numpy as np

from kiosk.errors import KioskError
from kiosk.types import Frame

__all__ = [
    "BACKOFF_INITIAL_S",
    "BACKOFF_MAX_S",
    "CaptureThread",
    "LatestFrame",
    "Pacer",
    "Source",
    "SourceStatus",
]

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.5
BACKOFF_MAX_S = 10.0
# Upper bound on any single blocking wait, so that the stop event is honoured well within 0.5 s
# even where the thing we wait on cannot be woken by it (a Condition, a Queue).
_POLL_S = 0.1


@runtime_checkable
class Source(Protocol):
    """A stream of BGR images: a camera, a file, a folder of images or the demo scene.

    ``open()`` acquires the device or file; ``read()`` blocks until the next image and returns it
    as HxWx3 uint8 BGR, or ``None`` at the end of the stream; ``close()`` releases everything and
    must be safe to call twice or after a failed ``open()``.

    ``realtime`` is True when images arrive at the pace of the world (a camera, or a replay
    paced at its fps): the capture thread then stamps them with the monotonic clock and drops
    stale frames. When False the source is replayed as fast as the consumer takes frames: the
    thread stamps ``index / fps`` (a virtual clock) and hands over every frame (lossless).

    Errors: ``SourceError`` (or another ``KioskError``) for what retrying cannot fix (bad spec,
    missing file, missing driver); ``OSError`` or ``RuntimeError`` for device faults, which the
    capture thread retries with backoff. All sources are used from one thread at a time.
    """

    name: str
    fps: float
    realtime: bool

    def open(self) -> None: ...

    def read(self) -> np.ndarray | None: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the UI shows about the camera.

    ``since_s`` is the ``time.monotonic()`` at which ``ok`` last changed (so the UI can say
    "camera lost for 40 s"); ``reconnects`` counts reopen attempts after faults since start.
    """

    ok: bool
    message: str
    since_s: float
    reconnects: int


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

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._taken = True  # True: the stored frame (if any) was already returned by get()
        self._dropped = 0
        self._delivered = 0
        self._closed = False
        self._status = SourceStatus(ok=False, message="Waiting for the first frame…", since_s=time.monotonic(), reconnects=0)

    # --- producer side -------------------------------------------------------------------------

    def put(self, frame: Frame) -> None:
        """Store ``frame``, replacing (and counting as dropped) a frame nobody took."""
        with self._cond:
            if self._frame is not None and not self._taken:
                self._dropped += 1
            self._frame = frame
            self._taken = False
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
                self._cond.wait(_POLL_S)
            if stop.is_set() or self._closed:
                return False
            self._frame = frame
            self._taken = False
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
            since = old.since_s if old.ok == ok else time.monotonic()
            self._status = SourceStatus(
                ok=ok,
                message=message,
                since_s=since,
                reconnects=old.reconnects if reconnects is None else reconnects,
            )

    # --- consumer side -------------------------------------------------------------------------

    def get(self, timeout_s: float) -> Frame | None:
        """The newest frame not returned before, waiting up to ``timeout_s``; None on timeout or when closed."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        with self._cond:
            while self._frame is None or self._taken:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._cond.wait(remaining)
            self._taken = True
            self._delivered += 1
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

    def __init__(self, fps: float) -> None:
        if not fps > 0:
            raise ValueError(f"fps must be > 0, got {fps!r}")
        self.period_s = 1.0 / fps
        self._start_s: float | None = None
        self._n = 0

    def reset(self) -> None:
        self._start_s = None
        self._n = 0

    def wait(self) -> None:
        now = time.monotonic()
        if self._start_s is None:
            self._start_s, self._n = now, 0
            return
        self._n += 1
        due = self._start_s + self._n * self.period_s
        if due > now:
            time.sleep(due - now)
        elif now - due > self.period_s:
            self._start_s, self._n = now, 0


# --- frame normalisation -----------------------------------------------------------------------

def _normalise(image: object) -> tuple[np.ndarray | None, str]:
    """Make ``image`` HxWx3 uint8 BGR, C-contiguous and read-only.

    Returns ``(image, "")`` when it was already fine, ``(image, what)`` when converted and
    ``(None, why)`` when unusable. Never raises for odd input: a driver that occasionally hands
    back a gray or BGRA frame should cost a conversion, not the exhibition.
    """
    if not isinstance(image, np.ndarray):
        return None, f"not an array ({type(image).__name__})"
    if image.size == 0 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        return None, f"empty or malformed shape {image.shape}"
    converted: list[str] = []
    img = image
    if img.dtype != np.uint8:
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):
            finite = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
            # Floats in 0..1 are the common convention; anything larger is taken as 0..255.
            scale = 255.0 if float(finite.max(initial=0.0)) <= 1.0 else 1.0
            img = np.clip(finite * scale, 0, 255).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.integer) or img.dtype == np.bool_:
            img = np.clip(img, 0, 255).astype(np.uint8)
        else:
            return None, f"unsupported dtype {image.dtype}"
        converted.append(f"{image.dtype}->uint8")
    channels = 1 if img.ndim == 2 else img.shape[2]
    if channels == 1:
        img = cv2.cvtColor(np.ascontiguousarray(img.reshape(img.shape[:2])), cv2.COLOR_GRAY2BGR)
        converted.append("gray->BGR")
    elif channels == 4:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
        converted.append("BGRA->BGR")
    elif channels != 3:
        return None, f"unsupported channel count {channels} (shape {image.shape})"
    if img is image:
        # Still the source's own array: copy it, because drivers and decoders may reuse their
        # buffers (and the source may still write to it), while the Frame we hand on is shared
        # read-only between threads for a while. 0.1 ms at 640x480.
        img = np.array(img, copy=True, order="C")
    elif not img.flags.c_contiguous:
        img = np.ascontiguousarray(img)
    img.setflags(write=False)
    return img, ", ".join(converted)


# --- the capture thread ------------------------------------------------------------------------

_Kind = Literal["created", "opened", "frame", "eos", "retry", "fatal", "crash"]


class _Reader(threading.Thread):
    """Creates, opens and reads one Source; posts results to the supervisor's queue.

    Abandoned (``abandon()``) by the supervisor on a stall or on stop: it then stops posting and
    closes its own source as soon as the blocking call it is in returns.
    """

    def __init__(self, factory: Callable[[], Source], out: queue.Queue[tuple[_Kind, object]], name: str) -> None:
        super().__init__(name=name, daemon=True)
        self._factory = factory
        self._out = out
        self._abandoned = threading.Event()

    def abandon(self) -> None:
        self._abandoned.set()

    def _post(self, kind: _Kind, payload: object) -> bool:
        """Hand one item to the supervisor, blocking while it is busy; False once abandoned."""
        while not self._abandoned.is_set():
            try:
                self._out.put((kind, payload), timeout=_POLL_S)
                return True
            except queue.Full:
                continue
        return False

    def run(self) -> None:
        source: Source | None = None
        try:
            source = self._factory()
            # Announce the source before open(), which may hang too: stall messages then name it.
            if not self._post("created", source):
                return
            source.open()
            if not self._post("opened", None):
                return
            while not self._abandoned.is_set():
                image = source.read()
                if image is None:
                    self._post("eos", None)
                    return
                if not self._post("frame", image):
                    return
        except KioskError as exc:
            self._post("fatal", exc)
        except (OSError, RuntimeError) as exc:
            if isinstance(exc, (NotImplementedError, RecursionError)):
                self._post("crash", exc)  # programming errors, not device faults
            else:
                self._post("retry", exc)
        except Exception as exc:  # noqa: BLE001 - handed to the supervisor, which records and logs it
            self._post("crash", exc)
        finally:
            if source is not None:
                try:
                    source.close()
                except Exception:  # noqa: BLE001 - closing a faulty device may fail too; nothing to do
                    log.debug("closing %s failed", getattr(source, "name", "source"), exc_info=True)


class CaptureThread(threading.Thread):
    """Keeps frames flowing from a Source into a LatestFrame, through faults and reconnects.

    * Frames are stamped ``Frame(image, index, t_s)``: ``index`` counts delivered frames across
      reconnects and loops; ``t_s`` is ``time.monotonic()`` for realtime sources and
      ``index / fps`` otherwise (and then handed over losslessly with ``put_wait``).
    * Images are normalised to C-contiguous, read-only HxWx3 uint8 BGR; gray/BGRA/16-bit frames
      are converted (``converted``), empty or unusable ones skipped (``skipped``).
    * ``OSError``/``RuntimeError`` from the source, or no frame for ``stall_timeout_s``: the
      slot status turns not-ok with an operator message, the source is closed and reopened after
      a backoff of 0.5 s doubling to 10 s, and the status turns ok again at the next frame.
    * ``SourceError`` (any ``KioskError``): recorded in ``error``, the thread ends (exit 2).
    * End of stream, or ``max_frames`` delivered: ``finished`` is set and the thread ends.
    * Anything else is a bug: recorded in ``error``, logged once with context, thread ends.
    * ``stop`` is honoured within 0.5 s whatever the source is doing.

    In every case the slot is closed when the thread ends, which wakes the consumer.
    """

    def __init__(
        self,
        source_factory: Callable[[], Source],
        slot: LatestFrame,
        stop: threading.Event,
        stall_timeout_s: float,
        max_frames: int | None = None,
    ) -> None:
        super().__init__(name="capture", daemon=True)
        if not stall_timeout_s > 0:
            raise ValueError(f"stall_timeout_s must be > 0 seconds, got {stall_timeout_s!r}")
        if max_frames is not None and max_frames < 1:
            raise ValueError(f"max_frames must be >= 1 or None, got {max_frames!r}")
        self._factory = source_factory
        self.slot = slot
        self._stop_event = stop
        self.stall_timeout_s = float(stall_timeout_s)
        self.max_frames = max_frames
        self.error: BaseException | None = None
        self.finished = False
        self.converted = 0
        self.skipped = 0
        self.reconnects = 0
        self.source_name = "the video source"
        self._index = 0
        self._reader: _Reader | None = None
        self._warned: set[str] = set()

    # The pipeline reads these; the names say what they are.
    @property
    def frames_delivered(self) -> int:
        return self._index

    def run(self) -> None:
        backoff_s = BACKOFF_INITIAL_S
        attempt = 0
        try:
            while not self._stop_event.is_set():
                attempt += 1
                outcome, detail = self._run_reader(attempt)
                if outcome in ("stop", "done"):
                    return
                if outcome == "ok-then-fault":
                    backoff_s = BACKOFF_INITIAL_S  # it worked for a while: start the backoff afresh
                # outcome is a fault: tell the operator, wait, reopen.
                self.reconnects += 1
                message = f"{detail} Reopening in {backoff_s:.1f} s (attempt {self.reconnects})."
                self.slot.set_status(False, message, reconnects=self.reconnects)
                log.warning("%s", message)
                if self._stop_event.wait(backoff_s):
                    return
                backoff_s = min(BACKOFF_MAX_S, backoff_s * 2.0)
        except Exception as exc:  # noqa: BLE001 - a bug in this thread: record, log once, end
            self._crash(exc, "in the capture loop")
        finally:
            if self._reader is not None:
                self._reader.abandon()
                # Give a well-behaved source a moment to close the device cleanly; never long
                # enough to break the 0.5 s stop promise.
                self._reader.join(timeout=0.25)
            self.slot.close()

    def _run_reader(self, attempt: int) -> tuple[str, str]:
        """Run one reader until it ends; returns (outcome, operator message for faults).

        outcome: "stop" (stop requested), "done" (finished or fatal; already recorded),
        "fault" (failed before any frame), "ok-then-fault" (delivered frames, then failed).
        """
        inbox: queue.Queue[tuple[_Kind, object]] = queue.Queue(maxsize=1)
        reader = _Reader(self._factory, inbox, name=f"capture-reader-{attempt}")
        self._reader = reader
        reader.start()
        created: Source | None = None  # made by the factory, maybe not open yet
        source: Source | None = None  # open
        got_frame = False
        try:
            waiting_since = time.monotonic()
            while True:
                if self._stop_event.is_set():
                    return "stop", ""
                try:
                    kind, payload = inbox.get(timeout=_POLL_S)
                except queue.Empty:
                    waited_s = time.monotonic() - waiting_since
                    if waited_s >= self.stall_timeout_s:
                        what = "opening" if source is None else "reading from"
                        return self._fault_outcome(got_frame), (
                            f"No frame from {self.source_name} for {waited_s:.1f} s (stalled while {what} it). "
                            f"Check that the camera is connected and powered, and that no other program uses it."
                        )
                    continue
                if kind == "created":
                    assert isinstance(payload, Source)
                    created = payload
                    self.source_name = str(created.name)
                    waiting_since = time.monotonic()
                elif kind == "opened":
                    assert created is not None  # the reader posts "created" first
                    source = created
                    log.info("opened %s (%.1f fps, %s)", self.source_name, source.fps,
                             "realtime" if source.realtime else "as fast as possible")
                    waiting_since = time.monotonic()
                elif kind == "frame":
                    assert source is not None
                    delivered = self._deliver(source, payload)
                    if delivered is None:
                        return "stop", ""
                    if delivered:
                        if not got_frame:
                            got_frame = True
                            self.slot.set_status(True, f"Receiving frames from {self.source_name}.",
                                                 reconnects=self.reconnects)
                        waiting_since = time.monotonic()
                        if self.max_frames is not None and self._index >= self.max_frames:
                            self.finished = True
                            self.slot.set_status(True, f"Stopped after {self._index} frames.")
                            return "done", ""
                elif kind == "eos":
                    self.finished = True
                    self.slot.set_status(True, f"End of {self.source_name}.")
                    log.info("end of stream from %s after %d frames", self.source_name, self._index)
                    return "done", ""
                elif kind == "retry":
                    assert isinstance(payload, BaseException)
                    return self._fault_outcome(got_frame), f"{self.source_name} failed: {payload}"
                elif kind == "fatal":
                    assert isinstance(payload, BaseException)
                    self.error = payload
                    self.slot.set_status(False, f"{self.source_name} cannot be used: {payload}")
                    log.error("capture source unusable: %s", payload)
                    return "done", ""
                else:  # "crash"
                    assert isinstance(payload, BaseException)
                    self._crash(payload, f"in source {self.source_name}")
                    return "done", ""
        finally:
            reader.abandon()

    @staticmethod
    def _fault_outcome(got_frame: bool) -> str:
        return "ok-then-fault" if got_frame else "fault"

    def _deliver(self, source: Source, raw: object) -> bool | None:
        """Normalise, stamp and hand over one image: True delivered, False skipped, None stopped."""
        image, note = _normalise(raw)
        if image is None:
            self.skipped += 1
            self._warn_once(f"skip:{note}", "skipping unusable frame from %s: %s", self.source_name, note)
            return False
        if note:
            self.converted += 1
            self._warn_once(f"conv:{note}", "converting frames from %s (%s)", self.source_name, note)
        index = self._index
        if source.realtime:
            frame = Frame(image=image, index=index, t_s=time.monotonic())
            self.slot.put(frame)
        else:
            fps = source.fps if source.fps > 0 else 25.0
            frame = Frame(image=image, index=index, t_s=index / fps)
            if not self.slot.put_wait(frame, self._stop_event):
                return None
        self._index += 1
        return True

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        # Odd frames tend to repeat at frame rate: one log line per kind of problem is enough.
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def _crash(self, exc: BaseException, where: str) -> None:
        self.error = exc
        self.slot.set_status(False, f"Capture failed unexpectedly {where}: {exc!r}")
        log.error("capture thread crashed %s after %d frames", where, self._index, exc_info=exc)
