"""One process, three threads: capture -> inference -> UI, joined by a frame slot and a snapshot.

- The capture thread fills a one-frame slot that overwrites (and counts drops) for live
  sources, so the inference thread always gets the newest frame and never a backlog.
- The inference thread owns the analyzer (tracker, gallery, schedules); nothing else mutates
  them, so the only synchronisation is the slot and the snapshot reference swap (an atomic
  assignment in CPython).
- The main thread reads ``snapshot`` whenever it draws and never waits for inference.
- The analyzer may be handed over built, or as a ``build`` function the inference thread calls
  first (``kiosk run`` does this): the camera opens and the screen shows the visitor's picture
  while the models load, instead of after (the first picture in about half the time,
  docs/PERFORMANCE.md "Start-up"). Until the analyzer is ready, ``analyzer`` is None, frames
  are shown but not analysed, and ``analysis_ready`` is not set.

One ``threading.Event`` stops everything. A worker that dies records its exception in
``error``; the CLI turns that into a non-zero exit so systemd restarts the service.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace


from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.capture import open_source
from kiosk.capture.thread import CaptureThread
from kiosk.capture.slot import LatestFrame
from kiosk.capture.source import Source
from kiosk.config import Config
from kiosk.errors import KioskError
from kiosk.process_age import process_age_s
from kiosk.types import FaceView, Snapshot

log = logging.getLogger(__name__)

# Per-frame timings kept for the report's percentiles: a bounded window, so a kiosk running
# for weeks does not grow.
_TIMING_WINDOW = 20_000
_STAGES = ("detect", "track", "embed", "attributes", "mesh", "total")


@dataclass
class RunStats:
    """Counters and timing windows filled by the inference thread; read once the run is over."""

    frames: int = 0
    started_s: float = field(default_factory=time.monotonic)
    first_frame_s: float | None = None  # wall (monotonic) time the first frame was processed
    first_frame_t_s: float | None = None  # that frame's pipeline-clock time
    max_faces: int = 0
    stage_ms: dict[str, deque] = field(default_factory=lambda: {
        k: deque(maxlen=_TIMING_WINDOW) for k in _STAGES})
    # The newest view of each visitor still remembered, for the report's per-visitor record.
    # Dropped as soon as the visitor is forgotten: the report never outlives the privacy TTL.
    last_face: dict[int, FaceView] = field(default_factory=dict)

    def record(self, snap: Snapshot) -> None:
        self.frames += 1
        if self.first_frame_s is None:
            self.first_frame_s = time.monotonic()
            self.first_frame_t_s = snap.t_s
            age = process_age_s()
            log.info("first frame analysed %.1f s after the pipeline started%s", self.first_frame_s - self.started_s,
                     f" ({age:.2f} s after the process started)" if age is not None else "")
        self.max_faces = max(self.max_faces, len(snap.faces))
        t = snap.times
        for key in _STAGES:
            self.stage_ms[key].append(getattr(t, f"{key}_ms"))
        for face in snap.faces:
            if face.visitor_id is not None:
                self.last_face[face.visitor_id] = face
        if len(self.last_face) > len(snap.visitors):
            remembered = {v.visitor_id for v in snap.visitors}
            for vid in [v for v in self.last_face if v not in remembered]:
                del self.last_face[vid]


class InferenceThread(threading.Thread):
    """Takes the newest frame, runs the analyzer, publishes an immutable Snapshot."""

    def __init__(self, analyzer: FaceAnalyzer | None, slot: LatestFrame, stop: threading.Event,
                 realtime_clock: bool, max_frames: int | None = None,
                 on_snapshot: Callable[[Snapshot], None] | None = None,
                 build: Callable[[], FaceAnalyzer] | None = None) -> None:
        super().__init__(name="inference", daemon=True)
        if (analyzer is None) == (build is None):
            raise ValueError("give the inference thread an analyzer or a build function, not both or neither")
        self.analyzer = analyzer
        self._build = build
        #: Set once the analyzer exists (at once when it was handed over built).
        self.ready = threading.Event()
        if analyzer is not None:
            self.ready.set()
        self.slot = slot
        self.stop_event = stop
        self.realtime_clock = realtime_clock
        self.max_frames = max_frames
        # Called on this thread with every published snapshot (Pipeline.subscribe adds to it).
        self.subscribers: list[Callable[[Snapshot], None]] = [on_snapshot] if on_snapshot else []
        self.snapshot: Snapshot | None = None
        self.stats = RunStats()
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._fps = 0.0
        self._last_wall = 0.0

    def run(self) -> None:
        try:
            if self.analyzer is None and self._build is not None:
                t0 = time.monotonic()
                self.analyzer = self._build()
                log.info("analysis ready: models loaded in %.1f s", time.monotonic() - t0)
                self.ready.set()
            self._loop()
        except KioskError as exc:  # an operator's problem (e.g. a missing model): its message is complete
            log.error("%s", exc)
            self.error = exc
            self.stop_event.set()
        except BaseException as exc:  # recorded and reported by the owner; never silent
            log.exception("inference thread failed")
            self.error = exc
            self.stop_event.set()
        finally:
            if self.analyzer is not None:
                self.analyzer.close()
            self.done.set()

    def _loop(self) -> None:
        analyzer = self.analyzer
        assert analyzer is not None  # built above
        while not self.stop_event.is_set():
            frame = self.slot.get(timeout_s=0.1)
            if frame is None:
                if self.slot.closed:  # the capture thread ended (end of input or fatal error)
                    return
                if self.realtime_clock:
                    analyzer.tick(time.monotonic())
                continue
            snap = analyzer.process(frame)
            now = time.perf_counter()
            if self._last_wall:
                inst = 1.0 / max(now - self._last_wall, 1e-6)
                self._fps = inst if self._fps == 0 else 0.9 * self._fps + 0.1 * inst
            self._last_wall = now
            self.stats.record(snap)
            snap = replace(snap, inference_fps=self._fps, frames_processed=self.stats.frames,
                           frames_dropped=self.slot.dropped)
            self.snapshot = snap
            for subscriber in self.subscribers:
                subscriber(snap)
            if self.max_frames is not None and self.stats.frames >= self.max_frames:
                return


class Pipeline:
    """Owns the threads. ``start()``, read ``snapshot`` / ``slot``, ``stop()``; check ``error``.

    ``analyzer``: a built analyzer, or None with ``build``: a function the inference thread
    calls first, so the source opens (and a screen can show it) while the models load.
    """

    def __init__(self, cfg: Config, analyzer: FaceAnalyzer | None = None,
                 source_factory: Callable[[], Source] | None = None,
                 max_frames: int | None = None, *, build: Callable[[], FaceAnalyzer] | None = None) -> None:
        self.cfg = cfg
        self.stop_event = threading.Event()
        self.slot = LatestFrame()
        cam = cfg.camera
        if source_factory is None:
            def source_factory() -> Source:
                return open_source(cam.source, width=cam.width, height=cam.height, fps=cam.fps,
                                   realtime=cam.realtime, loop=cam.loop,
                                   demo_dir=cfg.runtime.demo_dir_resolved)
        probe = source_factory()
        realtime = bool(probe.realtime)
        self._first_source: Source | None = probe
        self.capture = CaptureThread(self._source_once(source_factory), self.slot, self.stop_event,
                                     stall_timeout_s=cam.stall_timeout_s)
        if analyzer is not None:
            self.capture.prepare = analyzer.prepare
        elif build is not None:
            build = self._wired(build)
        self.inference = InferenceThread(analyzer, self.slot, self.stop_event,
                                         realtime_clock=realtime, max_frames=max_frames, build=build)

    def _wired(self, build: Callable[[], FaceAnalyzer]) -> Callable[[], FaceAnalyzer]:
        """``build``, then the capture thread makes the new analyzer's detector inputs from the next frame on."""
        def build_and_wire() -> FaceAnalyzer:
            analyzer = build()
            self.capture.prepare = analyzer.prepare
            return analyzer
        return build_and_wire

    def _source_once(self, factory: Callable[[], Source]) -> Callable[[], Source]:
        """Reuse the probed source for the first open, then build fresh ones on reconnect."""
        def make() -> Source:
            if self._first_source is not None:
                src, self._first_source = self._first_source, None
                return src
            return factory()
        return make

    def subscribe(self, on_snapshot: Callable[[Snapshot], None]) -> None:
        """Call ``on_snapshot`` with every snapshot, on the inference thread, as it is published.

        Call before :meth:`start`. The callback must be quick and must not keep the snapshot's
        faces beyond what the privacy policy allows (counters only): it runs on the thread that
        owns the analysis.
        """
        self.inference.subscribers.append(on_snapshot)

    def request_consent(self, track_id: int | None = None) -> None:
        """One visitor agreed to be analysed (touch or key in the UI): the face of ``track_id``
        (None: the largest waiting face); nobody else. Any thread. Before the analysis is ready
        nobody can be waiting for consent (no face has been seen), so it does nothing then."""
        analyzer = self.inference.analyzer
        if analyzer is not None:
            analyzer.request_consent(track_id)

    @property
    def snapshot(self) -> Snapshot | None:
        return self.inference.snapshot

    @property
    def analyzer(self) -> FaceAnalyzer | None:
        """The analyzer, None until the inference thread has built it (see ``analysis_ready``)."""
        return self.inference.analyzer

    @property
    def analysis_ready(self) -> threading.Event:
        """Set once the analyzer exists; frames are analysed from then on."""
        return self.inference.ready

    @property
    def error(self) -> BaseException | None:
        return self.inference.error or self.capture.error

    def start(self) -> None:
        self.capture.start()
        self.inference.start()

    def running(self) -> bool:
        return not self.stop_event.is_set() and not self.inference.done.is_set()

    def stop(self, timeout_s: float = 2.0) -> None:
        """Stop both workers; returns within ``timeout_s`` (they are daemon threads)."""
        self.stop_event.set()
        deadline = time.monotonic() + timeout_s
        for thread in (self.capture, self.inference):
            if thread.is_alive():
                thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                log.warning("%s thread did not stop within %.1f s", thread.name, timeout_s)
