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
    "normalise_image",
    "Source",
    "SourceStatus",
]

log = logging.getLogger(__name__)

BACKOFF_INITIAL_S = 0.5
# The longest wait between reopen attempts. Short on purpose: the kiosk promises to resume
# within 2 s of the camera coming back (issue 6), and the worst case is this wait plus the open
# and the first frame (0.1-0.5 s for a USB camera). A failed attempt is cheap (CameraSource
# first checks that /dev/videoN exists); what would cost is the log line per attempt, so those
# are throttled (see _LOG_EVERY_S) instead of the attempts.
BACKOFF_MAX_S = 1.0
# While a source keeps failing, the reopen warning is logged for the first _LOG_FIRST attempts,
# then once per _LOG_EVERY_S: a camera unplugged for a weekend must not fill the journal.
_LOG_FIRST = 3
_LOG_EVERY_S = 60.0
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


#: Opening a source may take this many times ``stall_timeout_s`` before it counts as failed.
OPEN_TIMEOUT_FACTOR = 2.0


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

def normalise_image(image: object) -> tuple[np.ndarray | None, str]:
    """Make ``image`` HxWx3 uint8 BGR, C-contiguous and read-only: the contract of ``Frame.image``.

    This is where the pipeline's frame contract is enforced: every image a ``Source`` returns
    passes through here (in :class:`CaptureThread`) before it becomes a ``Frame``, so the
    detector, the analyzer and the UI may rely on it. (The detector still checks its input and
    raises ``ValueError`` on a violation: that is a programming error, not a camera fault.)

    Returns ``(image, "")`` when it was already fine, ``(image, what)`` when converted and
    ``(None, why)`` when unusable. Never raises for odd input: a driver that occasionally hands
    back a gray or BGRA frame should cost a conversion, not the exhibition.

    Conversions (the conventions of OpenCV and the common drivers; anything else is skipped):

    * big-endian data is read in native byte order first.
    * ``uint16``: full-range 16-bit (16-bit PNG/TIFF, Y16 cameras): the high byte is kept.
    * floats: 0..1 when the largest finite value is at most 1, else 0..255; NaN becomes 0,
      +inf 255, -inf 0, everything is clipped to 0..255. (A float frame darker than 1/255
      everywhere is therefore brightened: no camera delivers that.)
    * other integers and bool: clipped to 0..255 (8-bit values in a wider type).
    * HxW and HxWx1: gray; HxWx4: BGRA (alpha dropped). 2 or 5+ channels, 1-D, 4-D, zero-size,
      complex, text, object and structured arrays are skipped.
    * non-contiguous views (slices, negative strides, Fortran order) are copied to C order.
    """
    if not isinstance(image, np.ndarray):
        return None, f"not an array ({type(image).__name__})"
    if image.size == 0 or image.ndim not in (2, 3) or min(image.shape[:2]) < 1:
        return None, f"empty or malformed shape {image.shape}"
    channels = 1 if image.ndim == 2 else image.shape[2]
    if channels not in (1, 3, 4):
        # Checked before any dtype conversion: a wrongly shaped 8K float frame must not cost
        # three full-size temporaries only to be thrown away.
        return None, f"unsupported channel count {channels} (shape {image.shape})"
    converted: list[str] = []
    img = image
    if img.dtype != np.uint8:
        if not img.dtype.isnative and img.dtype.kind in "uif":
            # Big-endian data (some network cameras, TIFF): same values in native order first,
            # so that the dtype rules below apply (>u2 is not np.uint16).
            img = img.astype(img.dtype.newbyteorder("="))
        if img.dtype == np.uint16:
            img = (img >> 8).astype(np.uint8)
        elif np.issubdtype(img.dtype, np.floating):
            img = _float_to_uint8(img)
        elif np.issubdtype(img.dtype, np.integer) or img.dtype == np.bool_:
            img = np.clip(img, 0, 255).astype(np.uint8)
        else:
            return None, f"unsupported dtype {image.dtype}"
        converted.append(f"{image.dtype}->uint8")
    if channels == 1:
        img = cv2.cvtColor(np.ascontiguousarray(img.reshape(img.shape[:2])), cv2.COLOR_GRAY2BGR)
        converted.append("gray->BGR")
    elif channels == 4:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGRA2BGR)
        converted.append("BGRA->BGR")
    if img is image:
        # Still the source's own array: copy it, because drivers and decoders may reuse their
        # buffers (and the source may still write to it), while the Frame we hand on is shared
        # read-only between threads for a while. 0.1 ms at 640x480.
        img = np.array(img, copy=True, order="C")
    elif not img.flags.c_contiguous:
        img = np.ascontiguousarray(img)
    img.setflags(write=False)
    return img, ", ".join(converted)


def _float_to_uint8(image: np.ndarray) -> np.ndarray:
    """Floats (0..1 or 0..255, possibly NaN/inf or beyond float32) to uint8; see normalise_image.

    One float32 temporary, converted in place: an 8K float64 frame is 800 MB already, and three
    more full-size temporaries would take a Raspberry Pi's memory with it.
    """
    with np.errstate(over="ignore", invalid="ignore"):  # 1e300 -> inf in float32 is intended
        tmp = image.astype(np.float32)
    finite = np.isfinite(tmp)
    peak = float(np.max(tmp, where=finite, initial=0.0))
    if peak <= 1.0:
        np.multiply(tmp, np.float32(255.0), out=tmp)
    np.nan_to_num(tmp, copy=False, nan=0.0, posinf=255.0, neginf=0.0)
    np.clip(tmp, 0.0, 255.0, out=tmp)
    return tmp.astype(np.uint8)


# Kept for callers of the old private name.
_normalise = normalise_image


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


def _sentence(text: str) -> str:
    """``text`` ending in a full stop, so that a following sentence reads as one."""
    text = text.rstrip()
    return text if text.endswith((".", "!", "?")) else text + "."


class CaptureThread(threading.Thread):
    """Keeps frames flowing from a Source into a LatestFrame, through faults and reconnects.

    * Frames are stamped ``Frame(image, index, t_s)``: ``index`` counts delivered frames across
      reconnects and loops; ``t_s`` is ``time.monotonic()`` for realtime sources and
      ``index / fps`` otherwise (and then handed over losslessly with ``put_wait``).
    * Images are normalised to C-contiguous, read-only HxWx3 uint8 BGR; gray/BGRA/16-bit frames
      are converted (``converted``), empty or unusable ones skipped (``skipped``).
    * ``OSError``/``RuntimeError`` from the source, or no usable frame for ``stall_timeout_s``
      (nothing at all, or only frames that had to be skipped): the slot status turns not-ok with
      an operator message, the source is closed and reopened after a backoff of 0.5 s, then
      every 1 s (``BACKOFF_MAX_S``), and the status turns ok again at the next frame: the kiosk
      resumes within about 1.5 s of the camera coming back. The warning is logged for the first
      few attempts, then once a minute; the recovery is logged with the outage's length.
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
        self._last_skip = ""  # why the last skipped frame was unusable
        # Outage bookkeeping, for throttled logging: when the current run of faults began (None
        # while frames flow), how many reopen attempts it has taken, when it was last logged.
        self._outage_since_s: float | None = None
        self._outage_attempts = 0
        self._outage_logged_s = 0.0

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
                now = time.monotonic()
                if outcome == "ok-then-fault":
                    backoff_s = BACKOFF_INITIAL_S  # it worked for a while: start the backoff afresh
                    self._outage_since_s, self._outage_attempts = now, 0
                elif self._outage_since_s is None:  # never worked since start
                    self._outage_since_s, self._outage_attempts = now, 0
                # outcome is a fault: tell the operator, wait, reopen.
                self.reconnects += 1
                self._outage_attempts += 1
                message = f"{_sentence(detail)} Reopening in {backoff_s:.1f} s (attempt {self.reconnects})."
                self.slot.set_status(False, message, reconnects=self.reconnects)
                self._log_fault(message, now)
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
        skipped_waiting, last_skip = 0, ""  # unusable frames since the last good one
        try:
            waiting_since = time.monotonic()
            while True:
                if self._stop_event.is_set():
                    return "stop", ""
                try:
                    kind, payload = inbox.get(timeout=_POLL_S)
                except queue.Empty:
                    waited_s = time.monotonic() - waiting_since
                    # Opening may legitimately take longer than a frame interval (libcamera, a
                    # USB camera's first exposure, the demo scene preparing its cut-outs on a
                    # loaded Pi), so it gets its own, longer allowance.
                    limit_s = (self.stall_timeout_s if source is not None
                               else self.stall_timeout_s * OPEN_TIMEOUT_FACTOR)
                    if waited_s >= limit_s:
                        return self._fault_outcome(got_frame), self._stall_message(
                            waited_s, opened=source is not None, skipped=skipped_waiting, last_skip=last_skip)
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
                    if (not_usable_s := time.monotonic() - waiting_since) >= self.stall_timeout_s:
                        # Frames keep coming but none was usable (or the last one is too old).
                        return self._fault_outcome(got_frame), self._stall_message(
                            not_usable_s, opened=True, skipped=skipped_waiting, last_skip=last_skip)
                    delivered = self._deliver(source, payload)
                    if delivered is None:
                        return "stop", ""
                    if delivered:
                        if not got_frame:
                            got_frame = True
                            self.slot.set_status(True, f"Receiving frames from {self.source_name}.",
                                                 reconnects=self.reconnects)
                            self._log_recovery()
                        waiting_since = time.monotonic()
                        skipped_waiting, last_skip = 0, ""
                        if self.max_frames is not None and self._index >= self.max_frames:
                            self.finished = True
                            self.slot.set_status(True, f"Stopped after {self._index} frames.")
                            return "done", ""
                    else:
                        skipped_waiting, last_skip = skipped_waiting + 1, self._last_skip
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

    def _log_fault(self, message: str, now: float) -> None:
        """Warn about a fault: every attempt at first, then once per _LOG_EVERY_S while it lasts."""
        if self._outage_attempts <= _LOG_FIRST:
            suffix = " Further attempts are logged once a minute." if self._outage_attempts == _LOG_FIRST else ""
            log.warning("%s%s", message, suffix)
            self._outage_logged_s = now
        elif now - self._outage_logged_s >= _LOG_EVERY_S:
            assert self._outage_since_s is not None
            log.warning("still failing after %.0f s and %d attempts: %s", now - self._outage_since_s,
                        self._outage_attempts, message)
            self._outage_logged_s = now
        else:
            log.debug("%s", message)

    def _log_recovery(self) -> None:
        if self._outage_since_s is not None:
            log.info("%s delivers frames again after %.1f s and %d reopen attempt(s)", self.source_name,
                     time.monotonic() - self._outage_since_s, self._outage_attempts)
            self._outage_since_s, self._outage_attempts = None, 0

    @staticmethod
    def _fault_outcome(got_frame: bool) -> str:
        return "ok-then-fault" if got_frame else "fault"

    def _stall_message(self, waited_s: float, *, opened: bool, skipped: int, last_skip: str) -> str:
        """The operator message for "no usable frame for stall_timeout_s"."""
        if skipped:
            return (
                f"{self.source_name} delivered only unusable pictures for {waited_s:.1f} s ({skipped} skipped; "
                f"last: {last_skip}). Check the camera's picture format settings, or try another camera."
            )
        what = "reading from" if opened else "opening"
        return (
            f"No frame from {self.source_name} for {waited_s:.1f} s (stalled while {what} it). "
            "Check that the camera is connected and powered, and that no other program uses it."
        )

    def _deliver(self, source: Source, raw: object) -> bool | None:
        """Normalise, stamp and hand over one image: True delivered, False skipped, None stopped."""
        image, note = normalise_image(raw)
        if image is None:
            self.skipped += 1
            self._last_skip = note
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
