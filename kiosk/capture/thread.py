"""The capture thread: a supervisor that (re)opens the source on a disposable reader thread.

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
from collections.abc import Callable
from typing import Literal

import numpy as np

from kiosk.errors import KioskError
from kiosk.types import DetectorInput, Frame
from kiosk.capture.source import Source, normalise_image
from kiosk.capture.slot import _POLL_S, LatestFrame


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

#: Opening a source may take this many times ``stall_timeout_s`` before it counts as failed.
OPEN_TIMEOUT_FACTOR = 2.0


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
    * ``prepare`` (set by the pipeline once the analyzer exists): called with each delivered
      image, its result stamped on the frame as ``detector_input``, so the detector's input is
      made here while the inference thread works on the previous frame. Should it ever fail,
      the frame goes without it (logged once) and the detector makes its own.

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
        #: Makes a frame's detector input (``kiosk.detect.yunet.DetectorInputMaker``); None: none.
        self.prepare: Callable[[np.ndarray], DetectorInput] | None = None
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
        # long: one state machine over a reader's messages (created, opened, frame, eos, retry, fatal,
        # crash) whose local state every branch updates; splitting it would scatter the stall rules it
        # applies
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
                    # A source whose open() is computation, not a device (the demo scene), says
                    # how long that may take: `open_timeout_s`.
                    # Its first frame may be part of that computation (the demo scene cuts its
                    # photos out in the background and the first frame waits for them).
                    limit_s = self._allowance_s(created, source is not None, got_frame)
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
                    if (not_usable_s := time.monotonic() - waiting_since) >= self._allowance_s(created, True, got_frame):
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

    def _allowance_s(self, created: Source | None, opened: bool, got_frame: bool) -> float:
        """How long to wait for the next message before the source counts as stalled: while it
        opens, OPEN_TIMEOUT_FACTOR x ``stall_timeout_s`` or the source's own ``open_timeout_s``;
        a source that declares ``open_timeout_s`` also gets it for its first frame; after that,
        ``stall_timeout_s``."""
        declared = float(getattr(created, "open_timeout_s", 0.0) or 0.0)
        if not opened:
            return max(self.stall_timeout_s * OPEN_TIMEOUT_FACTOR, declared)
        if not got_frame and declared > 0:
            return max(self.stall_timeout_s, declared)
        return self.stall_timeout_s

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
        prepared = self._prepare(image)
        if source.realtime:
            frame = Frame(image=image, index=index, t_s=time.monotonic(), detector_input=prepared)
            self.slot.put(frame)
        else:
            fps = source.fps if source.fps > 0 else 25.0
            frame = Frame(image=image, index=index, t_s=index / fps, detector_input=prepared)
            if not self.slot.put_wait(frame, self._stop_event):
                return None
        self._index += 1
        return True

    def _prepare(self, image: np.ndarray) -> DetectorInput | None:
        prepare = self.prepare
        if prepare is None:
            return None
        try:
            return prepare(image)
        except Exception as exc:  # noqa: BLE001 - the frame still goes; the detector prepares its own
            self._warn_once(f"prepare:{type(exc).__name__}", "frames from %s go without a detector input "
                            "made on the capture thread (%s); the detector makes its own", self.source_name, exc)
            return None

    def _warn_once(self, key: str, msg: str, *args: object) -> None:
        # Odd frames tend to repeat at frame rate: one log line per kind of problem is enough.
        if key not in self._warned:
            self._warned.add(key)
            log.warning(msg, *args)

    def _crash(self, exc: BaseException, where: str) -> None:
        self.error = exc
        self.slot.set_status(False, f"Capture failed unexpectedly {where}: {exc!r}")
        log.error("capture thread crashed %s after %d frames", where, self._index, exc_info=exc)
