"""``kiosk bench``: measure the pipeline the way a visitor experiences it, and soak it.

One run, four phases, all on the same source (``demo``, ``file:PATH``, ``synthetic:N`` with
N people standing in view, ``synthetic:churn`` with people coming and going, or any other
capture spec); docs/PERFORMANCE.md explains the figures and documents the JSON schema.

1. **live** (first, cold) — what ``kiosk run`` does: the real
   :class:`~kiosk.pipeline.Pipeline` with the source paced at ``camera.fps`` like a camera
   (frames the analysis cannot take in time are overwritten and counted as dropped), and the
   main thread drawing the kiosk's screen (``kiosk.ui.app.KioskApp``) offscreen at 1280x720
   and ``ui.max_fps``, opened after the pipeline starts. Start-up time (process start to first
   processed frame), peak RSS (read right after this phase), capture-to-overlay latency
   (capture-thread stamp to snapshot published), dropped frames, UI rate under load.
2. **throughput** — the same pipeline with *lossless* playback: the source is replayed as fast
   as the analysis takes frames, every frame is processed and none dropped (frame times are
   ``index / fps``, so tracking and schedules behave as at camera rate). Inference rate,
   per-stage milliseconds and the **floor**: every ``onnxruntime.InferenceSession.run`` and
   every MediaPipe graph call is timed (class-level wrappers installed after the models are
   built, so whatever models the analyzer uses are covered without the bench knowing them),
   summed per frame, and compared with the per-frame cost.
3. **ui** — the kiosk's screen code alone, uncapped, offscreen at 1280x720, on the source's
   frames with the snapshots the throughput phase produced for them.
4. **naive** — the same analyzer with every schedule off (every ``*_interval_s`` set to 0 and
   every per-frame cap lifted): every model on every face on every frame, the way insightface-
   or deepface-style pipelines work. Same frames; the report gives the speed ratio and checks
   that both modes found the same boxes on every frame.

Stages are discovered, not listed: every ``*_ms`` field of the Snapshot's ``StageTimes`` is a
stage and every model the timers see is a floor entry, so stages the analyzer gains later
appear in the report without changes here. ``--devices`` adds opencv_zoo-style reference
timings of this machine and a projection onto a Raspberry Pi 4 / 5 and a Jetson Orin Nano.

**soak** (``--soak``): a long lossless run on ``synthetic:churn`` (visitors coming and going,
forgotten after a short ``privacy.forget_after_s`` so the gallery turns over) that samples
RSS, gallery size, threads and open file descriptors every N frames and checks, after a
warm-up, that memory grows less than a limit, the gallery stays bounded by the TTL, and
threads and descriptors do not grow. Exit code 1 if a check fails.

Trade-offs: the timers add a few microseconds per model call (against >= 0.3 ms calls); the
first processed frame of a phase (graph and session warm-up) is reported with the start-up
and kept out of the statistics; the machine's load is recorded, not controlled. Nothing is
written to disk except ``--output``.
"""
from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import gc
import json
import logging
import math
import os
import platform
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np

from kiosk import __version__
from kiosk.errors import EXIT_OK, EXIT_RUNTIME, EXIT_USAGE, KioskError

log = logging.getLogger(__name__)

SCHEMA = "kiosk-bench/1"
SOAK_SCHEMA = "kiosk-bench-soak/1"
UI_SIZE = (1280, 720)
# Snapshots kept from the throughput phase for the UI-only phase (small objects, no pixels).
_UI_SNAPSHOTS = 240
# A phase whose pipeline has not processed a frame this long after starting is a failure.
_START_TIMEOUT_S = 60.0
# Upper bound on per-frame samples kept per series (a long bench must not grow without bound).
_MAX_SAMPLES = 200_000

# Issue 5's targets on a 2-core x86 machine (docs/PERFORMANCE.md).
TARGET_FPS_1_FACE = 30.0
TARGET_FPS_4_FACES = 20.0
TARGET_COST_OVER_FLOOR = 1.2
TARGET_NAIVE_SPEEDUP_4_FACES = 2.5
TARGET_LATENCY_P95_MS = 60.0
TARGET_UI_FPS = 30.0
TARGET_RSS_MB = 450.0
TARGET_FIRST_FRAME_S = 3.0


# ------------------------------------------------------------------------------------------------
# Process probes
# ------------------------------------------------------------------------------------------------

def _status_kb(key: str) -> int | None:
    """A ``kB`` field of /proc/self/status (VmRSS, VmHWM), or None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def rss_mb() -> float:
    """Current resident set size in MiB (/proc/self/status VmRSS)."""
    kb = _status_kb("VmRSS")
    return (kb or 0) / 1024.0


def peak_rss_mb() -> float:
    """Peak resident set size in MiB: VmHWM, else ``getrusage`` (kB on Linux)."""
    kb = _status_kb("VmHWM")
    if kb is None:
        import resource

        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0


def native_threads() -> int:
    """Threads of this process as the kernel counts them (includes onnxruntime/MediaPipe pools)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def open_fds() -> int:
    """Open file descriptors of this process (/proc/self/fd), -1 where unavailable."""
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return -1


def process_age_s() -> float | None:
    """Seconds since this process was started (from /proc), or None where unavailable."""
    try:
        with open("/proc/self/stat", encoding="ascii") as f:
            # The command name may hold spaces: fields after the last ')' are fixed.
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/uptime", encoding="ascii") as f:
            uptime_s = float(f.read().split()[0])
        return uptime_s - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def _cpu_s() -> float:
    t = os.times()
    return t.user + t.system


# ------------------------------------------------------------------------------------------------
# Statistics
# ------------------------------------------------------------------------------------------------

def summarize(values: Any) -> dict[str, float | int]:
    """``{"n", "mean", "p50", "p95", "max"}`` of a sequence of milliseconds (zeros when empty)."""
    arr = np.asarray(list(values), dtype=np.float64)
    if arr.size == 0:
        return {"n": 0, "mean": 0.0, "p50": 0.0, "p95": 0.0, "max": 0.0}
    return {
        "n": int(arr.size),
        "mean": round(float(arr.mean()), 3),
        "p50": round(float(np.percentile(arr, 50)), 3),
        "p95": round(float(np.percentile(arr, 95)), 3),
        "max": round(float(arr.max()), 3),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or not b > 0 or not math.isfinite(a):
        return None
    return round(a / b, 3)


# ------------------------------------------------------------------------------------------------
# Model timers (the floor)
# ------------------------------------------------------------------------------------------------

class ModelTimer:
    """Times every model call the process makes, by model, and per frame.

    Installed as class-level wrappers around ``onnxruntime.InferenceSession.run`` and (if
    MediaPipe is loaded) ``mediapipe...SolutionBase.process``, so any session or graph built by
    anyone is covered. ``take_frame()`` returns and resets the time and calls accumulated since
    the last call: called from the inference thread right after each frame (the thread that
    makes every model call), it gives the per-frame floor. Install only after the models are
    built: MediaPipe is patched only if it was imported by then (importing it costs ~1 s).
    """

    def __init__(self, names_by_file: dict[str, str]) -> None:
        self._names_by_file = names_by_file
        self._lock = threading.Lock()
        self._frame_ms: dict[str, float] = {}
        self._frame_calls: dict[str, int] = {}
        self._frame_items: dict[str, int] = {}  # batch rows (faces) run through the model
        self._restore: list[tuple[type, str, Any]] = []

    def _record(self, name: str, ms: float, items: int = 1) -> None:
        with self._lock:
            self._frame_ms[name] = self._frame_ms.get(name, 0.0) + ms
            self._frame_calls[name] = self._frame_calls.get(name, 0) + 1
            self._frame_items[name] = self._frame_items.get(name, 0) + items

    def take_frame(self) -> tuple[dict[str, float], dict[str, int], dict[str, int]]:
        """(ms, calls, batch rows) by model since the previous call; resets the frame counters."""
        with self._lock:
            ms, calls, items = self._frame_ms, self._frame_calls, self._frame_items
            self._frame_ms, self._frame_calls, self._frame_items = {}, {}, {}
        return ms, calls, items

    def _patch(self, cls: type, attr: str, make: Callable[[Any], Any]) -> None:
        own = cls.__dict__.get(attr)  # restore exactly: own attribute, or inherited (delete ours)
        original = getattr(cls, attr)
        setattr(cls, attr, make(original))
        self._restore.append((cls, attr, own))

    def install(self) -> ModelTimer:
        timer = self
        try:
            import onnxruntime
        except ImportError:  # pragma: no cover - onnxruntime is a hard dependency
            onnxruntime = None
        if onnxruntime is not None:
            def wrap_run(original: Any) -> Any:
                def run(session: Any, *args: Any, **kwargs: Any) -> Any:
                    t0 = time.perf_counter()
                    try:
                        return original(session, *args, **kwargs)
                    finally:
                        ms = (time.perf_counter() - t0) * 1e3
                        path = getattr(session, "_model_path", None) or "onnx"
                        base = os.path.basename(str(path))
                        timer._record(timer._names_by_file.get(base, base), ms, _batch_rows(args, kwargs))
                return run

            self._patch(onnxruntime.InferenceSession, "run", wrap_run)
        solution_base = sys.modules.get("mediapipe.python.solution_base")
        if solution_base is not None:
            def wrap_process(original: Any) -> Any:
                def process(graph: Any, *args: Any, **kwargs: Any) -> Any:
                    t0 = time.perf_counter()
                    try:
                        return original(graph, *args, **kwargs)
                    finally:
                        timer._record(f"mediapipe:{type(graph).__name__}", (time.perf_counter() - t0) * 1e3)
                return process

            self._patch(solution_base.SolutionBase, "process", wrap_process)
        return self

    def uninstall(self) -> None:
        for cls, attr, own in reversed(self._restore):
            if own is None:
                delattr(cls, attr)
            else:
                setattr(cls, attr, own)
        self._restore.clear()

    def __enter__(self) -> ModelTimer:
        return self.install()

    def __exit__(self, *exc: object) -> None:
        self.uninstall()


def _batch_rows(args: tuple[Any, ...], kwargs: dict[str, Any]) -> int:
    """Rows in the first input of an ``InferenceSession.run(output_names, input_feed)`` call."""
    feed = args[1] if len(args) > 1 else kwargs.get("input_feed")
    if isinstance(feed, dict):
        for value in feed.values():
            shape = getattr(value, "shape", None)
            if shape:
                return int(shape[0])
    return 1


def _model_names_by_file() -> dict[str, str]:
    """Model file name -> manifest name (``face_detection_yunet_2023mar_dynhw.onnx`` -> ``yunet``)."""
    from kiosk.models import model_entries

    names: dict[str, str] = {}
    try:
        for entry in model_entries():
            for fname, _ in entry.files():
                names[fname] = entry.name
    except KioskError:  # a broken manifest: fall back to file names
        pass
    return names


# ------------------------------------------------------------------------------------------------
# Sources
# ------------------------------------------------------------------------------------------------

class TimedSource:
    """A Source wrapper that times ``read()`` (the capture stage: decode, render or grab)."""

    def __init__(self, inner: Any, read_ms: deque[float]) -> None:
        self._inner = inner
        self._read_ms = read_ms
        self.name: str = inner.name
        self.fps: float = inner.fps
        self.realtime: bool = inner.realtime

    def open(self) -> None:
        self._inner.open()
        self.fps = self._inner.fps  # a file's rate is known only once it is open

    def read(self) -> np.ndarray | None:
        t0 = time.perf_counter()
        image = self._inner.read()
        self._read_ms.append((time.perf_counter() - t0) * 1e3)
        return image

    def close(self) -> None:
        self._inner.close()


def make_source(spec: str, cfg: Any, *, realtime: bool) -> Any:
    """A fresh, unopened Source for ``spec``: ``synthetic:N`` / ``synthetic:churn`` or any capture spec.

    Non-synthetic specs go through :func:`kiosk.capture.open_source` with ``loop=True`` (the
    bench decides when to stop). Frame size is ``camera.width`` x ``camera.height`` for the
    demo and synthetic scenes; files keep theirs.
    """
    from kiosk.capture import open_source
    from kiosk.capture.synthetic import SyntheticScene, parse_spec

    cam = cfg.camera
    kind = parse_spec(spec)
    demo_dir = cfg.runtime.demo_dir_resolved
    if kind is None:
        return open_source(spec, width=cam.width, height=cam.height, fps=cam.fps, realtime=realtime,
                           loop=True, demo_dir=demo_dir)
    SyntheticScene.check_photos(demo_dir)
    if kind == "churn":
        return SyntheticScene.churn(demo_dir, cfg.privacy.forget_after_s,
                                    max_missing_s=cfg.tracking.max_missing_s, width=cam.width,
                                    height=cam.height, fps=cam.fps, realtime=realtime)
    assert isinstance(kind, int)
    return SyntheticScene.standing(demo_dir, kind, width=cam.width, height=cam.height, fps=cam.fps,
                                   realtime=realtime)


# ------------------------------------------------------------------------------------------------
# Naive mode
# ------------------------------------------------------------------------------------------------

def naive_config(cfg: Any) -> Any:
    """``cfg`` with every ``*_interval_s`` set to 0 and every ``max_*_per_frame`` lifted.

    Each scheduled model then runs on every face on every frame. Fields are found by name, so
    schedules and caps added to the config later are covered too. Built with ``model_copy``
    (no validation) because these values are outside the schema's bounds on purpose: no
    operator should run like this; the benchmark does, to show why.
    """
    updates: dict[str, Any] = {}
    for section_name in type(cfg).model_fields:
        section = getattr(cfg, section_name)
        fields = getattr(type(section), "model_fields", {})
        changed: dict[str, Any] = {name: 0.0 for name in fields if name.endswith("interval_s")}
        changed.update({name: 1_000_000 for name in fields
                        if name.startswith("max_") and name.endswith("_per_frame")})
        if changed:
            updates[section_name] = section.model_copy(update=changed)
    return cfg.model_copy(update=updates)


@contextlib.contextmanager
def naive_caps() -> Iterator[list[str]]:
    """Lift the analyzer's per-frame work caps (``MAX_*_PER_FRAME``) while the context is open."""
    import kiosk.analyzer as analyzer_module

    saved = {name: getattr(analyzer_module, name) for name in dir(analyzer_module)
             if name.startswith("MAX_") and name.endswith("_PER_FRAME")}
    for name in saved:
        setattr(analyzer_module, name, 1_000_000)
    try:
        yield sorted(saved)
    finally:
        for name, value in saved.items():
            setattr(analyzer_module, name, value)


# ------------------------------------------------------------------------------------------------
# UI
# ------------------------------------------------------------------------------------------------

class UiRenderer:
    """The kiosk's own screen code on an offscreen surface (SDL dummy driver unless set).

    Drives ``kiosk.ui.app.KioskApp`` the way ``kiosk.ui.window.run_window`` does (``update``
    with the newest frame, source status and snapshot, then ``render`` and ``flip``), with the
    settings and collaborators ``run_window`` would use (``UiSettings.from_config``,
    ``default_deps``). ``entry`` names what was measured.
    """

    def __init__(self, cfg: Any, size: tuple[int, int] = UI_SIZE) -> None:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        from kiosk.ui.app import KioskApp
        from kiosk.ui.settings import UiSettings, default_deps

        self.size = size
        self._pygame = pygame
        pygame.display.init()
        pygame.font.init()
        self.screen = pygame.display.set_mode(size)
        self._app = KioskApp(size, UiSettings.from_config(cfg), default_deps(cfg))
        self.entry = "kiosk.ui.app.KioskApp.update + render"

    def draw(self, pipeline_like: Any) -> float:
        """Draw the newest frame and snapshot of ``pipeline_like`` once, flip; returns milliseconds.

        ``pipeline_like`` needs ``slot.peek()``, ``slot.status()`` and ``snapshot``.
        """
        t0 = time.perf_counter()
        now_s = time.monotonic()
        self._app.update(now_s, pipeline_like.slot.peek(), pipeline_like.slot.status(), pipeline_like.snapshot)
        self._app.render(self.screen, now_s)
        self._pygame.display.flip()
        return (time.perf_counter() - t0) * 1e3

    @property
    def mode(self) -> str:
        """The screen the app is showing (``mirror``, ``attract``, ``lesson``, ``camera``)."""
        return str(self._app.state.mode)

    def pump(self) -> None:
        self._pygame.event.pump()

    def close(self) -> None:
        self._pygame.quit()


# ------------------------------------------------------------------------------------------------
# Phases
# ------------------------------------------------------------------------------------------------

@dataclass
class PhaseResult:
    """What one pass of the pipeline measured (internal; see ``run_bench`` for the report)."""

    mode: str
    frames: int = 0
    wall_s: float = 0.0
    fps: float = 0.0
    cpu_s: float = 0.0
    stage_ms: dict[str, deque[float]] = field(default_factory=dict)
    capture_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_MAX_SAMPLES))
    floor_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_MAX_SAMPLES))
    model_calls: dict[str, int] = field(default_factory=dict)
    model_items: dict[str, int] = field(default_factory=dict)
    model_ms: dict[str, deque[float]] = field(default_factory=dict)
    faces: deque[int] = field(default_factory=lambda: deque(maxlen=_MAX_SAMPLES))
    boxes: dict[int, np.ndarray] = field(default_factory=dict)
    snapshots: dict[int, Any] = field(default_factory=dict)
    latency_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_MAX_SAMPLES))
    ui_ms: deque[float] = field(default_factory=lambda: deque(maxlen=_MAX_SAMPLES))
    ui_frames: int = 0
    ui_fps: float = 0.0
    first_total_ms: float | None = None  # analyzer time of the first frame (excluded from the stats)
    frames_captured: int = 0
    dropped: int = 0
    threads: int = 0
    ui: UiRenderer | None = None  # the screen of a live phase (closed by the caller)
    first_frame_s: float | None = None  # wall seconds from pipeline start to the first snapshot
    first_frame_process_age_s: float | None = None
    build_s: float = 0.0
    embeddings: int = 0
    scene_fps: float | None = None  # the source's frame rate, from the frames' pipeline-clock times


def _stage_values(times: Any) -> dict[str, float]:
    """Every ``*_ms`` field of a StageTimes (discovered, so new stages appear by themselves)."""
    out: dict[str, float] = {}
    if dataclasses.is_dataclass(times):
        for f in dataclasses.fields(times):
            if f.name.endswith("_ms"):
                value = getattr(times, f.name)
                if isinstance(value, (int, float)):
                    out[f.name[:-3]] = float(value)
    return out


def _boxes_of(snap: Any) -> np.ndarray:
    boxes = np.array([face.box_xyxy for face in snap.faces], dtype=np.float64).reshape(-1, 4)
    return boxes[np.lexsort(boxes.T[::-1])] if len(boxes) else boxes


def _run_phase(mode: str, cfg: Any, store: Any, factory: Callable[[], Any], *, frames: int | None,
               duration_s: float | None = None, timer_names: dict[str, str] | None = None,
               keep_boxes: bool = False, keep_snapshots: int = 0,
               ui_factory: Callable[[], UiRenderer] | None = None,
               latency: bool = False, on_sample: Callable[[Any, Any], None] | None = None,
               record: bool = True) -> PhaseResult:
    """Build an analyzer for ``cfg``, run the Pipeline on ``factory``'s source, collect measurements.

    Stops after ``frames`` processed frames or ``duration_s`` seconds after the first processed
    frame (start-up is measured separately), whichever is given / first. With ``ui_factory``, the calling (main) thread opens the screen once the
    pipeline has started (as ``kiosk run`` does) and draws at ``ui.max_fps`` meanwhile.
    ``record=False`` keeps no per-frame series (the soak: the bench itself must not grow).
    """
    from kiosk.pipeline import Pipeline, build_analyzer

    res = PhaseResult(mode=mode)
    t_build = time.monotonic()
    analyzer = build_analyzer(cfg, store)
    res.build_s = time.monotonic() - t_build
    capture_ms: deque[float] = res.capture_ms

    def timed_factory() -> Any:
        return TimedSource(factory(), capture_ms) if record else factory()

    timer = ModelTimer(timer_names).install() if timer_names is not None else None
    t_start = time.monotonic()
    first_wall: list[float] = []
    last_wall: list[float] = []
    cpu_at_first: list[float] = []
    ui_marks: list[float] = []  # first and last screen draw

    def on_snapshot(snap: Any) -> None:
        now = time.monotonic()
        if not first_wall:
            first_wall.append(now)
            res.first_frame_process_age_s = process_age_s()
            cpu_at_first.append(_cpu_s())
        last_wall[:] = [now]
        if snap.frame_index > 0 and snap.t_s > 0:
            res.scene_fps = snap.frame_index / snap.t_s
        if on_sample is not None:
            on_sample(snap, analyzer)
        if not record:
            return
        if keep_boxes:
            res.boxes[snap.frame_index] = _boxes_of(snap)
        if snap.frame_index < keep_snapshots:
            res.snapshots[snap.frame_index] = snap
        if res.first_total_ms is None:
            # The first frame pays one-off costs (graph and session warm-up, first allocations):
            # reported with the start-up, kept out of the steady-state statistics.
            res.first_total_ms = snap.times.total_ms
            if timer is not None:
                timer.take_frame()
            return
        for name, value in _stage_values(snap.times).items():
            series = res.stage_ms.get(name)
            if series is None:
                series = res.stage_ms[name] = deque(maxlen=_MAX_SAMPLES)
            series.append(value)
        res.faces.append(len(snap.faces))
        if timer is not None:
            ms, calls, items = timer.take_frame()
            res.floor_ms.append(sum(ms.values()))
            for name, value in ms.items():
                res.model_ms.setdefault(name, deque(maxlen=_MAX_SAMPLES)).append(value)
            for name, n in calls.items():
                res.model_calls[name] = res.model_calls.get(name, 0) + n
            for name, n in items.items():
                res.model_items[name] = res.model_items.get(name, 0) + n
        if latency:
            res.latency_ms.append((now - snap.t_s) * 1e3)

    pipeline = Pipeline(cfg, analyzer, source_factory=timed_factory, max_frames=frames)
    pipeline.inference.on_snapshot = on_snapshot
    try:
        pipeline.start()
        start_limit_s = time.monotonic() + _START_TIMEOUT_S

        def more() -> bool:
            """Keep going: running, and (for a timed phase) ``duration_s`` not yet past the first frame."""
            if not pipeline.running():
                return False
            if duration_s is None:
                return True
            if not first_wall:
                if time.monotonic() > start_limit_s:
                    raise KioskError(f"no frame processed within {_START_TIMEOUT_S:.0f} s of starting the pipeline")
                return True
            return time.monotonic() < first_wall[0] + duration_s

        if ui_factory is not None:
            res.ui = ui = ui_factory()
            period_s = 1.0 / max(1, cfg.ui.max_fps)
            next_s = time.monotonic()
            while more():
                ui.pump()
                if pipeline.slot.peek() is not None:
                    res.ui_ms.append(ui.draw(pipeline))
                    res.ui_frames += 1
                    ui_marks[:] = [ui_marks[0] if ui_marks else time.monotonic(), time.monotonic()]
                # Pace like pygame's Clock.tick(max_fps) in kiosk.ui.window.run_window.
                next_s = max(next_s + period_s, time.monotonic())
                time.sleep(max(0.0, next_s - time.monotonic()))
        else:
            while more():
                pipeline.inference.done.wait(0.05)
        res.threads = native_threads()
    finally:
        pipeline.stop(timeout_s=5.0)  # also when the screen or a callback failed
        if timer is not None:
            timer.uninstall()
    error = pipeline.error
    if error is not None:
        raise error
    # CPU time from the first processed frame on (process-wide: every thread, the screen too).
    res.cpu_s = _cpu_s() - cpu_at_first[0] if cpu_at_first else 0.0
    res.frames = pipeline.inference.stats.frames
    res.frames_captured = pipeline.capture.frames_delivered
    res.dropped = pipeline.slot.dropped
    res.embeddings = analyzer.embeddings_computed
    if first_wall:
        res.first_frame_s = first_wall[0] - t_start
        res.wall_s = last_wall[0] - first_wall[0]
        # Rate from the first processed frame on (start-up is reported separately).
        res.fps = (res.frames - 1) / res.wall_s if res.frames > 1 and res.wall_s > 0 else 0.0
    if len(ui_marks) == 2 and ui_marks[1] > ui_marks[0]:
        res.ui_fps = (res.ui_frames - 1) / (ui_marks[1] - ui_marks[0])
    return res


def _ui_only(cfg: Any, factory: Callable[[], Any], snapshots: dict[int, Any], ui: UiRenderer,
             frames: int) -> tuple[list[float], float]:
    """Draw ``frames`` source frames with their snapshots as fast as possible; (ms list, fps)."""
    from kiosk.capture.base import LatestFrame
    from kiosk.types import Frame

    source = factory()
    source.open()
    slot = LatestFrame()
    slot.set_status(True, "bench")
    fake = SimpleNamespace(slot=slot, snapshot=None)
    images: list[np.ndarray] = []
    try:
        for _ in range(min(frames, max(1, len(snapshots)))):
            image = source.read()
            if image is None:
                break
            images.append(np.ascontiguousarray(image))
    finally:
        source.close()
    if not images:
        return [], 0.0
    times_ms: list[float] = []
    t0 = time.perf_counter()
    for i in range(frames):
        k = i % len(images)
        slot.put(Frame(images[k], k, k / max(source.fps, 1e-6)))
        fake.snapshot = snapshots.get(k)
        ui.pump()
        times_ms.append(ui.draw(fake))
    wall = time.perf_counter() - t0
    return times_ms, (frames / wall if wall > 0 else 0.0)


# ------------------------------------------------------------------------------------------------
# The benchmark
# ------------------------------------------------------------------------------------------------

def _bench_config(cfg: Any, size: tuple[int, int] | None) -> Any:
    updates: dict[str, Any] = {"camera.realtime": False, "camera.loop": True}
    if size is not None:
        updates["camera.width"], updates["camera.height"] = size
    return cfg.with_overrides(updates, origin="kiosk bench")


def _source_for_config(cfg: Any, spec: str) -> Any:
    """Validate a non-synthetic spec through the config (file existence, syntax); keep synthetic ones."""
    from kiosk.capture.synthetic import parse_spec
    from kiosk.config import override_source

    if parse_spec(spec) is not None:
        return cfg
    return override_source(cfg, spec)


def _model_report(res: PhaseResult) -> dict[str, Any]:
    recorded = len(res.faces)  # frames in the statistics (all but the first)
    frames = max(recorded, 1)
    out: dict[str, Any] = {}
    for name in sorted(set(res.model_calls) | set(res.model_ms)):
        calls = res.model_calls.get(name, 0)
        per_frame = list(res.model_ms.get(name, ()))
        per_frame += [0.0] * max(0, recorded - len(per_frame))  # frames without a call cost 0
        total = float(sum(per_frame))
        items = res.model_items.get(name, calls)
        out[name] = {
            "calls": calls,
            "calls_per_frame": round(calls / frames, 3),
            "faces_per_frame": round(items / frames, 3),  # batch rows: faces (or crops) run through it
            "ms_per_call": round(total / calls, 3) if calls else 0.0,
            "ms_per_face": round(total / items, 3) if items else 0.0,
            "ms_per_frame": summarize(per_frame),
        }
    return out


def _phase_report(res: PhaseResult) -> dict[str, Any]:
    stages = {name: summarize(values) for name, values in res.stage_ms.items()}
    stages = {"capture": summarize(res.capture_ms), **stages}
    floor = summarize(res.floor_ms)
    total = stages.get("total", {}).get("mean")
    per_frame_wall_ms = 1e3 / res.fps if res.fps > 0 else None
    faces = summarize(res.faces)
    return {
        "frames": res.frames,
        "wall_s": round(res.wall_s, 3),
        "fps": round(res.fps, 2),
        "cpu_utilisation": round(res.cpu_s / res.wall_s, 3) if res.wall_s > 0 else None,
        "faces_per_frame": {"mean": faces["mean"], "max": faces["max"]},
        "embeddings_computed": res.embeddings,
        "threads": res.threads,
        "stages_ms": stages,
        "models": _model_report(res),
        "floor_ms": floor,
        "cost_over_floor": _ratio(total, floor["mean"] if res.floor_ms else None),
        "wall_over_floor": _ratio(per_frame_wall_ms, floor["mean"] if res.floor_ms else None),
    }


def _targets(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 5's targets that apply to this run, with the measured value and whether it is met."""
    out: list[dict[str, Any]] = []

    def add(name: str, value: float | None, op: str, limit: float) -> None:
        if value is None:
            return
        met = value >= limit if op == ">=" else value <= limit
        out.append({"name": name, "value": value, "target": f"{op} {limit:g}", "met": bool(met)})

    thr = report["throughput"]
    faces = thr["faces_per_frame"]["mean"]
    if tuple(report["frame_size"]) == (640, 480):
        if faces and faces <= 1.5:
            add("inference fps, 1 face, 640x480", thr["fps"], ">=", TARGET_FPS_1_FACE)
        elif faces and faces >= 3.5:
            add("inference fps, 4+ faces, 640x480", thr["fps"], ">=", TARGET_FPS_4_FACES)
    add("per-frame cost / floor", thr["cost_over_floor"], "<=", TARGET_COST_OVER_FLOOR)
    naive = report.get("naive")
    if naive and faces and faces >= 3.5:
        add("speed-up over naive, 4+ faces", naive.get("speedup"), ">=", TARGET_NAIVE_SPEEDUP_4_FACES)
    live = report.get("live")
    if live:
        add("capture-to-overlay p95 ms", live["latency_ms"]["p95"], "<=", TARGET_LATENCY_P95_MS)
    ui = report.get("ui")
    if ui and ui.get("faces_mean", 0) >= 3.5:
        add("UI fps 1280x720, 4+ faces", ui["fps"], ">=", TARGET_UI_FPS)
    add("peak RSS MB", report["memory"]["peak_rss_mb"], "<=", TARGET_RSS_MB)
    add("first frame s after process start", report["startup"]["first_frame_s"], "<=", TARGET_FIRST_FRAME_S)
    return out


def run_bench(spec: str, cfg: Any, *, frames: int = 300, naive: bool = True, live_s: float = 10.0,
              ui_frames: int = 120, devices: bool = False, models_dir: Path | None = None) -> dict[str, Any]:
    """Run the benchmark phases on ``spec`` and return the report (schema: docs/PERFORMANCE.md).

    ``cfg`` is the kiosk configuration to measure (``camera.realtime``/``loop`` are overridden:
    lossless for the throughput and naive phases, paced for the live phase). ``live_s`` = 0
    or ``ui_frames`` = 0 skip those phases; ``naive`` False skips the naive comparison.
    ``devices`` adds this machine's opencv_zoo-style reference timings and the per-device
    projection (:func:`project_devices`).
    """
    from kiosk.models import ModelStore

    if frames < 2:
        raise KioskError(f"--frames must be at least 2, got {frames}")
    store = ModelStore(models_dir or cfg.runtime.models_dir_resolved)
    names = _model_names_by_file()

    def factory(realtime: bool) -> Callable[[], Any]:
        return lambda: make_source(spec, cfg, realtime=realtime)

    # The first source is built before anything else, so a bad spec fails fast (exit 2).
    probe = factory(False)()
    frame_size = (cfg.camera.width, cfg.camera.height)
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "kiosk_version": __version__,
        "source": spec,
        "source_name": getattr(probe, "name", spec),
        "frame_size": list(frame_size),
        "source_fps": None,
        "frames": 0,
        "playback": ("throughput and naive phases lossless: the source is replayed as fast as frames "
                     "are analysed; every frame is processed, none dropped; frame times are index / fps. "
                     "Live phase paced at camera.fps like a camera."),
        "machine": {},
        "settings": _settings(cfg),
    }

    # 1. Live, first and cold: the kiosk exactly as `kiosk run` runs it (paced source, inference,
    # the screen opened after the pipeline starts). Start-up time and peak RSS come from here,
    # so the bench's later passes and bookkeeping do not count.
    first: PhaseResult | None = None
    if live_s > 0:
        live_cfg = cfg.with_overrides({"camera.realtime": True}, origin="kiosk bench")
        live = _run_phase("live", live_cfg, store, factory(True), frames=None, duration_s=live_s,
                          ui_factory=lambda: UiRenderer(cfg), latency=True)
        if live.ui is not None:
            live_entry = live.ui.entry
            live.ui.close()
        report["live"] = {
            "duration_s": live_s,
            "camera_fps": cfg.camera.fps,
            "frames_captured": live.frames_captured,
            "frames_processed": live.frames,
            "frames_dropped": live.dropped,
            "inference_fps": round(live.fps, 2),
            "latency_ms": summarize(live.latency_ms),
            "ui_fps": round(live.ui_fps, 2),
            "ui_draw_ms": summarize(live.ui_ms),
            "ui_entry": live_entry,
            "cpu_utilisation": round(live.cpu_s / live.wall_s, 3) if live.wall_s > 0 else None,
            "threads": live.threads,
        }
        report["memory"] = {"peak_rss_mb": round(peak_rss_mb(), 1),
                            "peak_scope": "live phase, first in the process (the kiosk with its screen)"}
        first = live
        live.ui = None
        gc.collect()

    # 2. Throughput: lossless, every model call timed (the floor).
    thr = _run_phase("throughput", cfg, store, factory(False), frames=frames, timer_names=names,
                     keep_boxes=naive, keep_snapshots=_UI_SNAPSHOTS if ui_frames else 1)
    if first is None:
        first = thr
        report["memory"] = {"peak_rss_mb": round(peak_rss_mb(), 1),
                            "peak_scope": "throughput phase, first in the process (no screen)"}
    if thr.snapshots:
        report["frame_size"] = list(next(iter(thr.snapshots.values())).frame_size)
    report["source_fps"] = round(thr.scene_fps, 3) if thr.scene_fps and not probe.realtime else None
    report["frames"] = thr.frames
    report["startup"] = {
        "first_frame_s": (round(first.first_frame_process_age_s, 3)
                          if first.first_frame_process_age_s is not None else None),
        "models_load_s": round(first.build_s, 3),
        "pipeline_start_to_first_frame_s": (round(first.first_frame_s, 3)
                                            if first.first_frame_s is not None else None),
        "first_frame_analysis_ms": round(first.first_total_ms, 2) if first.first_total_ms is not None else None,
        "phase": first.mode,
    }
    report["throughput"] = _phase_report(thr)
    report["machine"] = _machine(cfg)
    ui_snapshots, normal_boxes = thr.snapshots, thr.boxes
    del thr, first
    gc.collect()

    # 3. The screen alone, uncapped, on the throughput phase's frames and snapshots.
    if ui_frames > 0:
        ui = UiRenderer(cfg)
        try:
            times_ms, fps = _ui_only(cfg, factory(False), ui_snapshots, ui, ui_frames)
            entry, mode = ui.entry, ui.mode
        finally:
            ui.close()
        faces = [len(snap.faces) for snap in ui_snapshots.values()]
        report["ui"] = {
            "size": list(UI_SIZE),
            "entry": entry,
            "screen": mode,
            "frames": len(times_ms),
            "faces_mean": round(float(np.mean(faces)), 2) if faces else 0.0,
            "draw_ms": summarize(times_ms),
            "fps": round(fps, 2),
        }
    del ui_snapshots
    report["memory"]["bench_process_peak_rss_mb"] = round(peak_rss_mb(), 1)

    # 4. Naive: every model, every face, every frame; same source, same frames.
    if naive:
        with naive_caps() as caps:
            nv = _run_phase("naive", naive_config(cfg), store, factory(False), frames=frames,
                            timer_names=names, keep_boxes=True)
        report["naive"] = _phase_report(nv)
        report["naive"]["caps_lifted"] = caps
        report["naive"]["speedup"] = _ratio(report["throughput"]["fps"], report["naive"]["fps"])
        report["naive"]["boxes_compared"] = _compare_boxes(normal_boxes, nv.boxes)
        del nv
        gc.collect()

    if devices:
        source = factory(False)()
        source.open()
        try:
            image = np.ascontiguousarray(source.read())
        finally:
            source.close()
        report["reference"] = reference_timings(cfg, image, models_dir)
        report["projection"] = project_devices(report, report["reference"])
    report["targets"] = _targets(report)
    return report


def _compare_boxes(normal: dict[int, np.ndarray], naive: dict[int, np.ndarray]) -> dict[str, Any]:
    """Frames both modes processed, and on how many they found the same boxes (to 1e-3 px)."""
    common = sorted(set(normal) & set(naive))
    differ = [i for i in common
              if normal[i].shape != naive[i].shape or not np.allclose(normal[i], naive[i], atol=1e-3)]
    return {"frames": len(common), "same": len(common) - len(differ), "first_difference": differ[0] if differ else None}


def _machine(cfg: Any) -> dict[str, Any]:
    try:
        import onnxruntime

        ort_version = onnxruntime.__version__
    except ImportError:  # pragma: no cover
        ort_version = None
    import cv2

    return {
        "cpus": os.cpu_count(),
        # The machine may be shared: the load when the report was made says how noisy it was.
        "loadavg_1min": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "onnxruntime": ort_version,
        "opencv": cv2.__version__,
        "opencv_threads": cv2.getNumThreads(),
    }


def _settings(cfg: Any) -> dict[str, Any]:
    """The configuration values that decide the cost (the whole config is in the YAML it came from)."""
    out: dict[str, Any] = {
        "camera": {"width": cfg.camera.width, "height": cfg.camera.height, "fps": cfg.camera.fps},
        "detector.input_width": cfg.detector.input_width,
        "runtime.providers": list(cfg.runtime.providers),
        "runtime.intra_op_threads": cfg.runtime.intra_op_threads,
        "ui.max_fps": cfg.ui.max_fps,
    }
    for section_name in type(cfg).model_fields:
        section = getattr(cfg, section_name)
        for name in getattr(type(section), "model_fields", {}):
            if (name.endswith(("interval_s", "_per_frame")) or name == "enabled"
                    or (section_name == "attributes" and isinstance(getattr(section, name), bool))):
                out[f"{section_name}.{name}"] = getattr(section, name)
    return out


# ------------------------------------------------------------------------------------------------
# Soak
# ------------------------------------------------------------------------------------------------

def soak_config(cfg: Any, forget_after_s: float) -> Any:
    """``cfg`` with a short ``privacy.forget_after_s`` (validated: at least the schema's minimum)."""
    updates: dict[str, Any] = {"privacy.forget_after_s": forget_after_s, "camera.realtime": False,
                               "camera.loop": True}
    if cfg.recognition.visit_gap_s > forget_after_s:
        updates["recognition.visit_gap_s"] = forget_after_s
    if cfg.tracking.max_missing_s > forget_after_s:
        updates["tracking.max_missing_s"] = forget_after_s
    return cfg.with_overrides(updates, origin="kiosk bench --soak")


def run_soak(cfg: Any, *, spec: str = "synthetic:churn", frames: int = 100_000, sample_every: int = 1000,
             warmup_frames: int | None = None, max_growth_mb: float = 5.0,
             models_dir: Path | None = None,
             progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run ``frames`` frames losslessly, sampling the process every ``sample_every`` frames.

    ``cfg`` should already have the soak's short ``privacy.forget_after_s`` (:func:`soak_config`).
    Checks (all must hold for ``passed``), over the samples taken after ``warmup_frames``
    (default: a quarter of the run, which covers the kiosk's 20,000-frame timing window and the
    scene's sprite cache filling up):

    - ``memory``: RSS growth (median of the last 3 samples minus median of the first 3) below
      ``max_growth_mb``;
    - ``gallery_ttl``: no visitor is ever kept longer than ``forget_after_s`` after it was last
      seen (checked on every frame, from the snapshot's visitor views);
    - ``gallery_bound``: (``synthetic:churn`` only) the gallery never holds more visitors than
      the script had appearances in the last ``forget_after_s + max_missing_s + 1`` seconds;
    - ``gallery_turnover``: visitors were created and forgotten (otherwise the run proves nothing);
    - ``threads`` and ``fds``: the same count in every post-warm-up sample.
    """
    from kiosk.capture.synthetic import SyntheticScene, parse_spec
    from kiosk.models import ModelStore

    if frames < 10 or sample_every < 1:
        raise KioskError(f"--frames must be >= 10 and --sample-every >= 1 for a soak, got {frames}, {sample_every}")
    warmup = frames // 4 if warmup_frames is None else warmup_frames
    if not 0 <= warmup < frames:
        raise KioskError(f"--warmup-frames must be in [0, {frames}), got {warmup}")
    store = ModelStore(models_dir or cfg.runtime.models_dir_resolved)
    forget_s = cfg.privacy.forget_after_s
    window_s = forget_s + cfg.tracking.max_missing_s + 1.0
    script: SyntheticScene | None = None
    if parse_spec(spec) == "churn":
        script = make_source(spec, cfg, realtime=False)  # same parameters: the same script

    samples: list[dict[str, Any]] = []
    state = {"stale": 0, "max_visitor_id": 0, "over_bound": 0, "max_gallery": 0, "max_bound": 0}

    def on_frame(snap: Any, analyzer: Any) -> None:
        # Every frame (inference thread, right after the frame): the TTL and bound checks.
        for v in snap.visitors:
            if snap.t_s - v.last_seen_s >= forget_s:
                state["stale"] += 1
            state["max_visitor_id"] = max(state["max_visitor_id"], v.visitor_id)
        n = len(snap.visitors)
        state["max_gallery"] = max(state["max_gallery"], n)
        bound = script.visits_between(snap.t_s - window_s, snap.t_s) if script is not None else None
        if bound is not None:
            state["max_bound"] = max(state["max_bound"], bound)
            if n > bound:
                state["over_bound"] += 1
        index = snap.frame_index
        if index % sample_every and index != frames - 1:
            return
        sample = {
            "frame": index,
            "t_s": round(snap.t_s, 2),
            "rss_mb": round(rss_mb(), 2),
            "gallery": n,
            "gallery_bound": bound,
            "in_view": len(snap.faces),
            "threads": native_threads(),
            "fds": open_fds(),
            "visitors_created": state["max_visitor_id"],
            "visitors_forgotten": len(analyzer.forgotten),
        }
        samples.append(sample)
        if progress is not None:
            progress(sample)

    t0 = time.monotonic()
    res = _run_phase("soak", cfg, store, lambda: make_source(spec, cfg, realtime=False), frames=frames,
                     on_sample=on_frame, record=False)
    wall_s = time.monotonic() - t0

    after = [s for s in samples if s["frame"] >= warmup]
    checks: dict[str, dict[str, Any]] = {}
    if len(after) >= 2:
        head = float(np.median([s["rss_mb"] for s in after[:3]]))
        tail = float(np.median([s["rss_mb"] for s in after[-3:]]))
        growth = tail - head
        x = np.array([s["frame"] for s in after], np.float64)
        y = np.array([s["rss_mb"] for s in after], np.float64)
        slope = float(np.polyfit(x, y, 1)[0]) * 10_000 if len(after) >= 3 else None
        checks["memory"] = {"ok": growth < max_growth_mb, "growth_mb": round(growth, 2),
                            "limit_mb": max_growth_mb, "rss_after_warmup_mb": round(head, 2),
                            "rss_end_mb": round(tail, 2),
                            "slope_mb_per_10k_frames": round(slope, 3) if slope is not None else None}
        for key in ("threads", "fds"):
            values = [s[key] for s in after]
            checks[key] = {"ok": max(values) == min(values), "min": min(values), "max": max(values)}
    else:
        checks["samples"] = {"ok": False, "message": "fewer than 2 samples after warm-up; lower --sample-every"}
    checks["gallery_ttl"] = {"ok": state["stale"] == 0, "visitors_kept_beyond_ttl": state["stale"],
                             "forget_after_s": forget_s}
    if script is not None:
        checks["gallery_bound"] = {"ok": state["over_bound"] == 0, "frames_over_bound": state["over_bound"],
                                   "max_gallery": state["max_gallery"], "max_bound": state["max_bound"]}
    forgotten = samples[-1]["visitors_forgotten"] if samples else 0
    checks["gallery_turnover"] = {"ok": state["max_visitor_id"] > 0 and forgotten > 0,
                                  "visitors_created": state["max_visitor_id"], "visitors_forgotten": forgotten}
    return {
        "schema": SOAK_SCHEMA,
        "kiosk_version": __version__,
        "source": spec,
        "frames": res.frames,
        "wall_s": round(wall_s, 1),
        "fps": round(res.fps, 2),
        "scene_s": round(samples[-1]["t_s"], 1) if samples else 0.0,
        "playback": "lossless (every frame processed); scene time = frame index / fps",
        "forget_after_s": forget_s,
        "sample_every": sample_every,
        "warmup_frames": warmup,
        "peak_rss_mb": round(peak_rss_mb(), 1),
        "max_gallery": state["max_gallery"],
        "checks": checks,
        "passed": all(c["ok"] for c in checks.values()),
        "samples": samples,
    }


# ------------------------------------------------------------------------------------------------
# Per-device cost model
# ------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DeviceTiming:
    """Published opencv_zoo benchmark timings of one device (OpenCV DNN, default threads, median).

    ``yunet_ms`` at ``yunet_size``; ``sface_ms`` per 112x112 face, None where not published.
    ``cpu`` names the device whose CPU runs everything that is not YuNet or SFace (the same
    device, except for a GPU entry).
    """

    label: str
    yunet_ms: float
    yunet_size: tuple[int, int]
    sface_ms: float | None
    cpu: str


#: The figures quoted in issue 5 (opencv_zoo benchmark tables).
DEVICES: dict[str, DeviceTiming] = {
    "raspberry-pi-4": DeviceTiming("Raspberry Pi 4 (CPU)", 6.2, (160, 120), 68.8, "raspberry-pi-4"),
    "raspberry-pi-5": DeviceTiming("Raspberry Pi 5 (CPU)", 8.0, (320, 240), None, "raspberry-pi-5"),
    "jetson-orin-nano-cpu": DeviceTiming("Jetson Orin Nano (CPU)", 2.6, (160, 120), 20.1, "jetson-orin-nano-cpu"),
    "jetson-orin-nano-cuda": DeviceTiming("Jetson Orin Nano (CUDA)", 5.2, (160, 120), 7.6, "jetson-orin-nano-cpu"),
}
#: Detector input widths the projection considers (multiples of 32: no padded, wasted columns).
DETECTOR_WIDTHS: tuple[int, ...] = (160, 224, 320)


def _timed_ms(fn: Callable[[], Any], warmup: int, repeat: int) -> dict[str, float]:
    """Median and minimum milliseconds of ``repeat`` calls after ``warmup`` calls.

    The projection uses the minimum: on a shared machine other processes only ever add time,
    and the minimum is the best estimate of the uncontended cost that a dedicated device's
    published median corresponds to.
    """
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return {"median": round(float(np.median(times)), 3), "min": round(float(np.min(times)), 3)}


def reference_timings(cfg: Any, image_bgr: np.ndarray, models_dir: Path | None = None,
                      repeat: int = 100) -> dict[str, Any]:
    """This machine's timings of what opencv_zoo measured, and of the kiosk's own model calls.

    opencv_zoo's way: ``cv2.FaceDetectorYN`` on the stock YuNet file at 160x120, 320x240 and
    640x480 (30 warm-up runs, median of ``repeat``), ``cv2.FaceRecognizerSF.feature`` on an
    aligned 112x112 crop, OpenCV's default threads. The kiosk's way: its onnxruntime sessions
    (``runtime.providers``, ``runtime.intra_op_threads``) for YuNet at each width of
    :data:`DETECTOR_WIDTHS` (session run only, the frame's aspect ratio) and SFace per face.
    Each entry is ``{"median": ms, "min": ms}``.
    """
    import cv2

    from kiosk.detect.align import align_face
    from kiosk.detect.yunet import OUTPUT_NAMES, YuNetDetector
    from kiosk.infer.embed import SFaceEmbedder
    from kiosk.models import ModelStore, create_session, model_entries

    store = ModelStore(models_dir or cfg.runtime.models_dir_resolved)
    files = {e.name: store.directory / e.file for e in model_entries()}
    out: dict[str, Any] = {"opencv_threads": cv2.getNumThreads(), "opencv": {}, "kiosk": {}}
    store.require("yunet")
    store.require("sface")
    detector = cv2.FaceDetectorYN.create(str(files["yunet"]), "", (160, 120), 0.6, 0.3, 5000)
    for w, h in ((160, 120), (320, 240), (640, 480)):
        small = cv2.resize(image_bgr, (w, h), interpolation=cv2.INTER_AREA)
        detector.setInputSize((w, h))
        out["opencv"][f"yunet_{w}x{h}_ms"] = _timed_ms(functools.partial(detector.detect, small), 30, repeat)
    # An aligned crop of the frame's largest face (any crop costs the same; a face is realistic).
    rt = cfg.runtime
    session = create_session(store.require("yunet"), list(rt.providers), rt.intra_op_threads)
    kiosk_det = YuNetDetector(session, input_width=640, score_threshold=0.6, nms_iou_threshold=0.3, top_k=50,
                              min_face_px=8)
    faces = kiosk_det.detect(image_bgr)
    if faces:
        crop = align_face(image_bgr, faces[0].landmarks_px)
    else:
        crop = cv2.resize(image_bgr, (112, 112))
    recognizer = cv2.FaceRecognizerSF.create(str(files["sface"]), "")
    out["opencv"]["sface_ms"] = _timed_ms(lambda: recognizer.feature(crop), 3, repeat)
    input_name = session.get_inputs()[0].name
    for width in DETECTOR_WIDTHS:
        det = YuNetDetector(session, input_width=width, score_threshold=0.75, nms_iou_threshold=0.3,
                            top_k=50, min_face_px=8)
        feed = {input_name: det.preprocess(image_bgr)[0]}
        out["kiosk"][f"yunet_w{width}_ms"] = _timed_ms(
            functools.partial(session.run, list(OUTPUT_NAMES), feed), 10, repeat)
        out["kiosk"][f"detect_w{width}_ms"] = _timed_ms(functools.partial(det.detect, image_bgr), 5, repeat)
    embedder = SFaceEmbedder(create_session(store.require("sface"), list(rt.providers), rt.intra_op_threads))
    out["kiosk"]["sface_per_face_ms"] = _timed_ms(lambda: embedder.embed([crop]), 3, repeat)
    crop.fill(0)
    return out


def project_devices(report: dict[str, Any], reference: dict[str, Any], *, faces: int = 4,
                    refresh_interval_s: float | None = None) -> dict[str, Any]:
    """Project the kiosk's cost onto each device in :data:`DEVICES` (see docs/PERFORMANCE.md).

    The model is a budget for the inference thread, one core, 1000 ms per second:

    - per frame: detection (kiosk's ORT YuNet at the candidate width, x the device's YuNet
      factor) + the kiosk's non-model work per frame (analyzer total minus floor, x the
      device's CPU factor);
    - per second: scheduled per-face work, ``faces`` x (SFace per face / refresh interval +
      each other model's per-face cost x its measured updates per face per second), x the
      SFace factor (SFace) or the CPU factor (the rest);
    - max inference rate = (1000 - per-second work) / per-frame work.

    Device factors are (published device time) / (the same opencv_zoo measurement here): YuNet
    at the published input size, SFace per face. Where SFace is not published (Pi 5) it is
    scaled from the Pi 4's by the ratio of their YuNet factors. CPU factor, for everything else
    (attribute models, MediaPipe, numpy/OpenCV/Python glue): the SFace factor of the device's
    CPU (a GPU entry uses its CPU's). SFace is the larger and steadier measurement (~15 ms here;
    YuNet at 160x120 takes ~1 ms, so a few hundred microseconds of noise on a shared machine
    move its factor by a third). These are estimates to choose settings by, not measurements:
    expect +/- 50 %.
    """
    thr = report["throughput"]
    models = thr["models"]
    ref_cv, ref_k = reference["opencv"], reference["kiosk"]
    total_ms = float(thr["stages_ms"]["total"]["mean"])
    floor_ms = float(thr["floor_ms"]["mean"])
    overhead_ms = max(0.0, total_ms - floor_ms)
    scene_fps = float(report.get("source_fps") or 30.0)
    faces_here = max(float(thr["faces_per_frame"]["mean"]), 1e-9)
    refresh = refresh_interval_s or float(report["settings"].get("recognition.refresh_interval_s", 2.0))
    # Other per-face models (attributes, mesh): per-face cost and updates per face per second here.
    others: dict[str, tuple[float, float]] = {}
    for name, m in models.items():
        if name in ("yunet", "sface") or not m["calls"]:
            continue
        # Schedules run on the pipeline clock (scene seconds), not on the lossless run's wall clock.
        per_face_per_s = m["faces_per_frame"] * scene_fps / faces_here
        others[name] = (float(m["ms_per_face"]), per_face_per_s)

    factors: dict[str, dict[str, float]] = {}
    for key, dev in DEVICES.items():
        w, h = dev.yunet_size
        f_det = dev.yunet_ms / ref_cv[f"yunet_{w}x{h}_ms"]["min"]
        f_sface = dev.sface_ms / ref_cv["sface_ms"]["min"] if dev.sface_ms is not None else None
        factors[key] = {"yunet": f_det, "sface": f_sface if f_sface is not None else math.nan}
    pi4 = factors["raspberry-pi-4"]
    pi5 = factors["raspberry-pi-5"]
    pi5["sface"] = pi4["sface"] * pi5["yunet"] / pi4["yunet"]
    out: dict[str, Any] = {"faces": faces, "refresh_interval_s": refresh, "overhead_ms_here": round(overhead_ms, 3),
                           "others_here": {k: {"ms_per_face": round(v[0], 3), "updates_per_face_per_s": round(v[1], 3)}
                                           for k, v in others.items()},
                           "devices": {}}
    for key, dev in DEVICES.items():
        f = factors[key]
        f_cpu = factors[dev.cpu]["sface"]
        sface_face = ref_k["sface_per_face_ms"]["min"] * f["sface"]
        per_second = faces * sface_face / refresh
        per_second += sum(faces * ms * f_cpu * rate for ms, rate in others.values())
        rows = {}
        for width in DETECTOR_WIDTHS:
            per_frame = ref_k[f"yunet_w{width}_ms"]["min"] * f["yunet"] + overhead_ms * f_cpu
            budget = 1000.0 - per_second
            rows[str(width)] = {
                "frame_ms": round(per_frame, 2),
                "max_fps": round(budget / per_frame, 1) if budget > 0 else 0.0,
                "burst_frame_ms": round(per_frame + 2 * sface_face, 1),  # MAX_EMBEDS_PER_FRAME = 2
            }
        out["devices"][key] = {
            "label": dev.label,
            "factor_yunet": round(f["yunet"], 2),
            "factor_sface": round(f["sface"], 2),
            "factor_cpu": round(f_cpu, 2),
            "sface_per_face_ms": round(sface_face, 1),
            "scheduled_ms_per_s": round(per_second, 1),
            "by_detector_width": rows,
        }
    return out


# ------------------------------------------------------------------------------------------------
# Output
# ------------------------------------------------------------------------------------------------

def _f(value: Any, unit: str = "", digits: int = 1) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.{digits}f}{unit}"
    return f"{value}{unit}"


def format_report(report: dict[str, Any]) -> str:
    """The human-readable tables of a bench report."""
    thr = report["throughput"]
    w, h = report["frame_size"]
    lines = [
        f"kiosk bench {report['kiosk_version']}: {report['source']} ({w}x{h}), {report['frames']} frames",
        f"playback: {report['playback']}",
        f"machine: {report['machine']['cpus']} CPUs (1-min load {report['machine']['loadavg_1min']}), onnxruntime {report['machine']['onnxruntime']}, "
        f"{', '.join(report['settings']['runtime.providers'])}, intra_op_threads "
        f"{report['settings']['runtime.intra_op_threads']}, detector.input_width {report['settings']['detector.input_width']}",
        "",
        f"{'summary':<44}{'value':>12}",
        f"{'inference rate (lossless)':<44}{_f(thr['fps'], ' fps'):>12}",
        f"{'faces per frame (mean)':<44}{_f(thr['faces_per_frame']['mean'], '', 2):>12}",
        f"{'per-frame cost (analyzer total, mean)':<44}{_f(thr['stages_ms'].get('total', {}).get('mean'), ' ms', 2):>12}",
        f"{'floor (model run time per frame, mean)':<44}{_f(thr['floor_ms']['mean'], ' ms', 2):>12}",
        f"{'cost / floor':<44}{_f(thr['cost_over_floor'], 'x', 2):>12}",
        f"{'wall time per frame / floor':<44}{_f(thr['wall_over_floor'], 'x', 2):>12}",
        f"{'CPU utilisation (cores busy)':<44}{_f(thr['cpu_utilisation'], '', 2):>12}",
    ]
    naive = report.get("naive")
    if naive:
        cmp_ = naive["boxes_compared"]
        lines += [
            f"{'naive: inference rate':<44}{_f(naive['fps'], ' fps'):>12}",
            f"{'naive: speed-up of the kiosk over naive':<44}{_f(naive['speedup'], 'x', 2):>12}",
            f"{'naive: frames with the same boxes':<44}{cmp_['same']:>7} / {cmp_['frames']}",
        ]
    live = report.get("live")
    if live:
        lines += [
            f"{'live (paced at ' + str(live['camera_fps']) + ' fps, UI drawing): inference':<44}"
            f"{_f(live['inference_fps'], ' fps'):>12}",
            f"{'live: capture-to-overlay p50 / p95':<44}"
            f"{_f(live['latency_ms']['p50'], '', 1) + ' / ' + _f(live['latency_ms']['p95'], ' ms', 1):>12}",
            f"{'live: frames dropped / captured':<44}{live['frames_dropped']:>7} / {live['frames_captured']}",
            f"{'live: UI rate under load':<44}{_f(live['ui_fps'], ' fps'):>12}",
        ]
    ui = report.get("ui")
    if ui:
        lines.append(f"{'UI alone, ' + str(ui['size'][0]) + 'x' + str(ui['size'][1]) + ' offscreen':<44}"
                     f"{_f(ui['fps'], ' fps'):>12}")
    st = report["startup"]
    lines += [
        f"{'first frame after process start':<44}{_f(st['first_frame_s'], ' s', 2):>12}",
        f"{'  of which model loading':<44}{_f(st['models_load_s'], ' s', 2):>12}",
        f"{'peak RSS (' + report['memory'].get('peak_scope', '?') + ')':<44}"
        f"{_f(report['memory']['peak_rss_mb'], ' MB'):>12}",
        "",
        f"{'stage (ms per frame)':<28}{'p50':>8}{'p95':>8}{'mean':>8}",
    ]

    def stage_rows(stages: dict[str, Any], prefix: str = "") -> None:
        for name, s in stages.items():
            lines.append(f"{prefix + name:<28}{s['p50']:>8.2f}{s['p95']:>8.2f}{s['mean']:>8.2f}")

    stage_rows(thr["stages_ms"])
    if ui:
        stage_rows({"ui draw (alone)": ui["draw_ms"]})
    if live:
        stage_rows({"ui draw (live)": live["ui_draw_ms"]})
    lines += ["", f"{'model (floor)':<28}{'calls/frame':>12}{'faces/frame':>12}{'ms/call':>9}{'ms/frame p50':>14}{'p95':>8}"]
    for mode, phase in (("", thr), ("naive ", naive)):
        if not phase:
            continue
        for name, m in phase["models"].items():
            lines.append(f"{mode + name:<28}{m['calls_per_frame']:>12.2f}{m['faces_per_frame']:>12.2f}{m['ms_per_call']:>9.2f}"
                         f"{m['ms_per_frame']['p50']:>14.2f}{m['ms_per_frame']['p95']:>8.2f}")
    proj = report.get("projection")
    if proj:
        ref = report["reference"]
        lines += ["", "reference here, min ms (opencv_zoo's way, OpenCV DNN, "
                  f"{ref['opencv_threads']} threads): " + ", ".join(f"{k} {v['min']}" for k, v in ref["opencv"].items()),
                  "kiosk's onnxruntime here, min ms: " + ", ".join(f"{k} {v['min']}" for k, v in ref["kiosk"].items()),
                  f"projection, {proj['faces']} faces, refresh {proj['refresh_interval_s']} s "
                  f"(max inference fps by detector.input_width):",
                  f"{'device':<26}{'f_yunet':>8}{'f_sface':>8}{'SFace/face':>11}"
                  + "".join(f"{'w' + w:>9}" for w in proj["devices"]["raspberry-pi-4"]["by_detector_width"])]
        for d in proj["devices"].values():
            lines.append(f"{d['label']:<26}{d['factor_yunet']:>8.2f}{d['factor_sface']:>8.2f}"
                         f"{d['sface_per_face_ms']:>9.1f}ms"
                         + "".join(f"{r['max_fps']:>9.1f}" for r in d["by_detector_width"].values()))
    if report.get("targets"):
        lines += ["", f"{'target (issue 5)':<40}{'value':>10}  {'target':<10}"]
        for t in report["targets"]:
            lines.append(f"{t['name']:<40}{_f(t['value'], '', 2):>10}  {t['target']:<10}"
                         f"{'met' if t['met'] else 'NOT MET'}")
    return "\n".join(lines)


def format_soak(report: dict[str, Any]) -> str:
    """The human-readable summary of a soak report."""
    lines = [
        f"kiosk bench --soak: {report['source']}, {report['frames']} frames in {report['wall_s']} s "
        f"({report['fps']} fps), {report['scene_s']} s of scene time, forget_after_s {report['forget_after_s']}",
        f"samples every {report['sample_every']} frames; checks after {report['warmup_frames']} warm-up frames",
        "",
        f"{'frame':>8}{'RSS MB':>9}{'gallery':>9}{'bound':>7}{'threads':>9}{'fds':>6}{'created':>9}{'forgotten':>11}",
    ]
    for s in report["samples"]:
        bound = "-" if s["gallery_bound"] is None else s["gallery_bound"]
        lines.append(f"{s['frame']:>8}{s['rss_mb']:>9.1f}{s['gallery']:>9}{bound:>7}{s['threads']:>9}"
                     f"{s['fds']:>6}{s['visitors_created']:>9}{s['visitors_forgotten']:>11}")
    lines.append("")
    for name, c in report["checks"].items():
        detail = ", ".join(f"{k} {v}" for k, v in c.items() if k != "ok")
        lines.append(f"{'ok  ' if c['ok'] else 'FAIL'} {name}: {detail}")
    lines.append("soak passed" if report["passed"] else "soak FAILED")
    return "\n".join(lines)


# Figures of a bench report that ``--summarize`` takes the median of: (label, path, unit).
SUMMARY_FIGURES: tuple[tuple[str, str, str], ...] = (
    ("inference rate (lossless)", "throughput.fps", "fps"),
    ("faces per frame", "throughput.faces_per_frame.mean", ""),
    ("per-frame cost, mean", "throughput.stages_ms.total.mean", "ms"),
    ("per-frame cost, p95", "throughput.stages_ms.total.p95", "ms"),
    ("detect p50", "throughput.stages_ms.detect.p50", "ms"),
    ("detect p95", "throughput.stages_ms.detect.p95", "ms"),
    ("embed mean", "throughput.stages_ms.embed.mean", "ms"),
    ("embed p95", "throughput.stages_ms.embed.p95", "ms"),
    ("attributes mean", "throughput.stages_ms.attributes.mean", "ms"),
    ("mesh mean", "throughput.stages_ms.mesh.mean", "ms"),
    ("capture p50", "throughput.stages_ms.capture.p50", "ms"),
    ("floor per frame, mean", "throughput.floor_ms.mean", "ms"),
    ("cost / floor", "throughput.cost_over_floor", "x"),
    ("wall time per frame / floor", "throughput.wall_over_floor", "x"),
    ("CPU utilisation (cores)", "throughput.cpu_utilisation", ""),
    ("naive inference rate", "naive.fps", "fps"),
    ("speed-up over naive", "naive.speedup", "x"),
    ("live inference rate", "live.inference_fps", "fps"),
    ("capture-to-overlay p50", "live.latency_ms.p50", "ms"),
    ("capture-to-overlay p95", "live.latency_ms.p95", "ms"),
    ("live frames dropped", "live.frames_dropped", ""),
    ("live frames captured", "live.frames_captured", ""),
    ("UI rate under load", "live.ui_fps", "fps"),
    ("UI draw p50 (alone)", "ui.draw_ms.p50", "ms"),
    ("UI draw p95 (alone)", "ui.draw_ms.p95", "ms"),
    ("UI rate alone, 1280x720", "ui.fps", "fps"),
    ("peak RSS", "memory.peak_rss_mb", "MB"),
    ("first frame after process start", "startup.first_frame_s", "s"),
    ("model loading", "startup.models_load_s", "s"),
    ("1-min load average", "machine.loadavg_1min", ""),
)


def _get(report: dict[str, Any], path: str) -> float | None:
    node: Any = report
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return float(node) if isinstance(node, (int, float)) and not isinstance(node, bool) else None


def summarize_reports(reports: list[dict[str, Any]]) -> dict[str, Any]:
    """Median, min and max over runs of each of :data:`SUMMARY_FIGURES` present in the reports."""
    out: dict[str, Any] = {"runs": len(reports), "sources": sorted({r.get("source", "?") for r in reports}),
                           "figures": {}}
    for label, path, unit in SUMMARY_FIGURES:
        values = [v for v in (_get(r, path) for r in reports) if v is not None]
        if values:
            out["figures"][label] = {"median": round(float(np.median(values)), 3), "min": round(min(values), 3),
                                     "max": round(max(values), 3), "n": len(values), "unit": unit, "path": path}
    return out


def format_summary(summary: dict[str, Any]) -> str:
    """A Markdown table of :func:`summarize_reports` (what docs/PERFORMANCE.md quotes)."""
    lines = [f"{summary['runs']} runs of {', '.join(summary['sources'])}", "",
             "| figure | median | min - max |", "|---|---:|---:|"]
    for label, f in summary["figures"].items():
        unit = f" {f['unit']}" if f["unit"] and f["unit"] != "x" else f["unit"]
        lines.append(f"| {label} | {f['median']:g}{unit} | {f['min']:g} - {f['max']:g} |")
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------------

def _size(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 640x480, got {text!r}") from None
    if not (160 <= w <= 3840 and 120 <= h <= 2160):
        raise argparse.ArgumentTypeError(f"size {w}x{h} out of range (160x120 to 3840x2160)")
    return w, h


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The ``kiosk bench`` arguments (for ``kiosk.cli`` to add to its ``bench`` sub-parser)."""
    p.add_argument("--source", default=None,
                   help="demo | file:PATH | synthetic:N (N people standing, 1-8) | synthetic:churn | any "
                        "capture spec (default: synthetic:churn with --soak, else demo)")
    p.add_argument("--config", type=Path, default=None, help="kiosk YAML config to measure (default: built-in defaults)")
    p.add_argument("--frames", type=int, default=None, metavar="N",
                   help="frames to process losslessly (default 300; 100000 with --soak)")
    p.add_argument("--size", type=_size, default=None, metavar="WxH",
                   help="frame size of the demo and synthetic scenes (default camera.width x camera.height)")
    p.add_argument("--json", action="store_true", help="print the JSON report instead of tables")
    p.add_argument("--output", type=Path, default=None, metavar="PATH", help="also write the JSON report to PATH")
    p.add_argument("--naive", action=argparse.BooleanOptionalAction, default=True,
                   help="also run the naive mode (every model, every face, every frame) and compare (default on)")
    p.add_argument("--live-s", type=float, default=10.0, metavar="S",
                   help="seconds of the live phase (paced source, UI drawing; 0 skips it)")
    p.add_argument("--ui-frames", type=int, default=120, metavar="N",
                   help="frames drawn in the UI-only phase (0 skips it)")
    p.add_argument("--summarize", nargs="+", type=Path, default=None, metavar="JSON",
                   help="print the medians over saved --json reports (Markdown) and exit")
    p.add_argument("--devices", action="store_true",
                   help="add opencv_zoo-style reference timings and the Raspberry Pi / Jetson projection")
    p.add_argument("--soak", action="store_true", help="run the soak test instead of the benchmark")
    p.add_argument("--sample-every", type=int, default=1000, metavar="N", help="soak: sample every N frames")
    p.add_argument("--warmup-frames", type=int, default=None, metavar="N",
                   help="soak: frames before the checks start (default: a quarter of --frames)")
    p.add_argument("--forget-after-s", type=float, default=10.0, metavar="S",
                   help="soak: privacy.forget_after_s during the soak (default 10, the schema's minimum)")
    p.add_argument("--max-growth-mb", type=float, default=5.0, metavar="MB",
                   help="soak: largest RSS growth after warm-up that passes (default 5)")


def main_bench(source: str | None = None, *, config: Path | None = None, frames: int | None = None,
               size: tuple[int, int] | None = None, json_output: bool = False, output: Path | None = None,
               naive: bool = True, live_s: float = 10.0, ui_frames: int = 120, devices: bool = False,
               soak: bool = False,
               sample_every: int = 1000, warmup_frames: int | None = None, forget_after_s: float = 10.0,
               max_growth_mb: float = 5.0) -> int:
    """``kiosk bench``: run the benchmark (or the soak), print tables or JSON; exit code.

    0: done (benchmark: whatever the targets say; soak: every check passed); 1: soak check
    failed or a worker failed; 2: bad config, source or missing model.
    """
    from kiosk.config import load_config

    if not logging.getLogger().handlers:
        # The bench's own output is the report; the kiosk's per-visitor INFO lines would bury it.
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        cfg = load_config(config)
        spec = source or ("synthetic:churn" if soak else "demo")
        cfg = _source_for_config(cfg, spec)
        cfg = _bench_config(cfg, size)
        if soak:
            cfg = soak_config(cfg, forget_after_s)

            def progress(sample: dict[str, Any]) -> None:
                print(f"soak: frame {sample['frame']}, RSS {sample['rss_mb']:.1f} MB, gallery {sample['gallery']}, "
                      f"threads {sample['threads']}, fds {sample['fds']}", file=sys.stderr, flush=True)

            report = run_soak(cfg, spec=spec, frames=frames or 100_000, sample_every=sample_every,
                              warmup_frames=warmup_frames, max_growth_mb=max_growth_mb, progress=progress)
            text = format_soak(report)
            code = EXIT_OK if report["passed"] else EXIT_RUNTIME
        else:
            report = run_bench(spec, cfg, frames=frames or 300, naive=naive, live_s=live_s, ui_frames=ui_frames,
                               devices=devices)
            text = format_report(report)
            code = EXIT_OK
    except KioskError as exc:
        print(f"kiosk: {exc}", file=sys.stderr)
        return exc.exit_code
    except (ValueError, OSError) as exc:
        print(f"kiosk bench: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if output is not None:
        output.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(report, indent=2) if json_output else text)
    return code


def main_summarize(paths: list[Path]) -> int:
    """``kiosk bench --summarize RUN.json...``: medians over saved reports; 2 if one is unreadable."""
    reports = []
    for path in paths:
        try:
            reports.append(json.loads(Path(path).read_text(encoding="utf-8")))
        except (OSError, ValueError) as exc:
            print(f"kiosk bench: {path}: {exc}", file=sys.stderr)
            return EXIT_USAGE
    print(format_summary(summarize_reports(reports)))
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    """``python -m kiosk.bench``: the same as ``kiosk bench``."""
    p = argparse.ArgumentParser(prog="kiosk bench", description="benchmark or soak the kiosk pipeline")
    add_arguments(p)
    a = p.parse_args(argv)
    if a.summarize:
        return main_summarize(a.summarize)
    return main_bench(a.source, config=a.config, frames=a.frames, size=a.size, json_output=a.json,
                      output=a.output, naive=a.naive, live_s=a.live_s, ui_frames=a.ui_frames,
                      devices=a.devices, soak=a.soak,
                      sample_every=a.sample_every, warmup_frames=a.warmup_frames,
                      forget_after_s=a.forget_after_s, max_growth_mb=a.max_growth_mb)


if __name__ == "__main__":
    sys.exit(main())
