"""One benchmark phase: a real :class:`~kiosk.pipeline.Pipeline` on a timed source, with the
kiosk's screen drawn offscreen (live), lossless (throughput), screen alone (ui) or every
schedule off (naive). See :mod:`kiosk.bench.run` for the phases' order and meaning.
"""
from __future__ import annotations

import contextlib
import dataclasses
import functools
import os
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any
import numpy as np
from kiosk.errors import KioskError
from kiosk.process_age import process_age_s
from kiosk.bench.probes import ModelTimer, UI_SIZE, _MAX_SAMPLES, _START_TIMEOUT_S, _cpu_s, native_threads


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


def make_source(spec: str, cfg: Any, *, realtime: bool, render_process: bool = False) -> Any:
    """A fresh, unopened Source for ``spec``: ``synthetic:N`` / ``synthetic:churn`` or any capture spec.

    Non-synthetic specs go through :func:`kiosk.capture.open_source` with ``loop=True`` (the
    bench decides when to stop). Frame size is ``camera.width`` x ``camera.height`` for the
    demo and synthetic scenes; files keep theirs. ``render_process`` (lossless synthetic
    scenes and ``file:`` replays only): the same frames, rendered or decoded ahead in a child
    process at the lowest priority, so that producing them does not take the analysis's CPU
    (:mod:`kiosk.bench.render_process`).
    """
    from kiosk.capture import open_source
    from kiosk.bench.scenes import SyntheticScene, parse_spec

    cam = cfg.camera
    kind = parse_spec(spec)
    demo_dir = cfg.runtime.demo_dir_resolved
    if kind is None:
        make_file = functools.partial(open_source, spec, width=cam.width, height=cam.height, fps=cam.fps,
                                      realtime=realtime, loop=True, demo_dir=demo_dir)
        if render_process and not realtime and spec.strip().startswith("file:"):
            from kiosk.bench.render_process import ProcessRenderedScene

            return ProcessRenderedScene(make_file, make_file())
        return make_file()
    SyntheticScene.check_photos(demo_dir)
    make: Callable[[], Any]
    if kind == "churn":
        make = functools.partial(SyntheticScene.churn, demo_dir, cfg.privacy.forget_after_s,
                                 max_missing_s=cfg.tracking.max_missing_s, width=cam.width,
                                 height=cam.height, fps=cam.fps, realtime=realtime)
    else:
        assert isinstance(kind, int)
        make = functools.partial(SyntheticScene.standing, demo_dir, kind, width=cam.width,
                                 height=cam.height, fps=cam.fps, realtime=realtime)
    if render_process and not realtime:
        from kiosk.bench.render_process import ProcessRenderedScene

        return ProcessRenderedScene(make, make())
    return make()


# ------------------------------------------------------------------------------------------------
# Naive mode
# ------------------------------------------------------------------------------------------------

def naive_config(cfg: Any) -> Any:
    """``cfg`` with every ``*_interval_s`` set to 0, every ``max_*_per_frame`` lifted, no frame budget.

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
        # The shared per-frame time budget is a cap too (kiosk/analysis/budget.py): 0 switches it off.
        changed.update({name: 0.0 for name in fields if name == "frame_budget_ms"})
        if changed:
            updates[section_name] = section.model_copy(update=changed)
    return cfg.model_copy(update=updates)


@contextlib.contextmanager
def naive_caps() -> Iterator[list[str]]:
    """Lift the analyzer's per-frame work caps (``MAX_*_PER_FRAME``) while the context is open."""
    import kiosk.analysis.analyzer as analyzer_module

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
    """The kiosk's own screen and window loop on an offscreen display (SDL dummy driver unless set).

    Steps ``kiosk.ui.loop.WindowLoop`` - the loop ``kiosk run`` runs: events, ``update`` with the
    newest frame, source status and snapshot, ``render``, ``flip`` and, with ``paced``, the
    display-rate cap ``Clock.tick(ui.max_fps)`` - with the configuration's screen options (windowed
    at ``size``) and the collaborators ``kiosk run`` builds (``kiosk.ui.build.build_deps``).
    ``entry`` names what was measured.
    """

    def __init__(self, cfg: Any, size: tuple[int, int] = UI_SIZE, *, paced: bool = False) -> None:
        os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
        os.environ.setdefault("SDL_AUDIODRIVER", "dummy")
        os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
        import pygame

        from kiosk.ui.build import build_deps
        from kiosk.ui.loop import open_screen

        self.size = size
        self._pygame = pygame
        ui = cfg.ui.model_copy(update={"fullscreen": False, "width": size[0], "height": size[1]})
        self.loop = open_screen(ui, SimpleNamespace(slot=None, snapshot=None), build_deps(cfg),
                                privacy=cfg.privacy, max_fps=ui.max_fps if paced else None)
        self.entry = "kiosk.ui.loop.WindowLoop.step (events, KioskApp.update + render, flip)"

    def step(self, feed: Any) -> Any:
        """One step of the window loop on ``feed``'s newest frame and snapshot (``slot.peek()``,
        ``slot.status()``, ``snapshot``); returns its ``StepTimes`` (``draw_ms``: update + render + flip)."""
        self.loop.feed = feed
        return self.loop.step(time.monotonic())

    def draw(self, feed: Any) -> float:
        """One step; the milliseconds of update + render + flip."""
        return float(self.step(feed).draw_ms)

    @property
    def mode(self) -> str:
        """The screen the app is showing (``mirror``, ``attract``, ``lesson``, ``camera``)."""
        return str(self.loop.app.state.mode)

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
    first_picture_process_age_s: float | None = None  # process age when the screen first showed a camera picture
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
    # long: the nested on_snapshot callback (about 45 lines, run on the inference thread) closes over
    # the phase's measurement series; the rest is start, run and stop of one pipeline in a try/finally
    from kiosk.pipeline import Pipeline
    from kiosk.analysis.build import build_analyzer

    res = PhaseResult(mode=mode)

    def build() -> Any:
        t_build = time.monotonic()
        built = build_analyzer(cfg, store)
        loader = getattr(built, "watchlist_loader", None)
        if loader is not None:
            # The bench measures the per-frame cost: portraits still being embedded in the background
            # (no stored embeddings for this watchlist) would be counted as frame work.
            loader.wait(300.0)
        res.build_s = time.monotonic() - t_build
        return built

    # With a screen, as `kiosk run` starts: the pipeline (camera) and the screen first, the models
    # built on the inference thread meanwhile. Without one, built here, before the clock starts.
    analyzer = None if ui_factory is not None else build()
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
            on_sample(snap, pipeline.analyzer)
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

    if ui_factory is not None:
        # As `kiosk run` does: the screen's code is imported before the threads start.
        import kiosk.ui.build  # noqa: F401
        import kiosk.ui.loop  # noqa: F401
    pipeline = Pipeline(cfg, analyzer, source_factory=timed_factory, max_frames=frames,
                        build=build if analyzer is None else None)
    pipeline.subscribe(on_snapshot)
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
            while more():
                # The kiosk's own loop step, paced by its Clock.tick(ui.max_fps); it draws from the
                # start, as `kiosk run` does, and frames with a camera picture are measured.
                had_frame = pipeline.slot.peek() is not None
                step = ui.step(pipeline)
                if had_frame and step.drawn and first_wall:
                    res.ui_ms.append(step.draw_ms)
                    res.ui_frames += 1
                    ui_marks[:] = [ui_marks[0] if ui_marks else time.monotonic(), time.monotonic()]
        else:
            while more():
                pipeline.inference.done.wait(0.05)
        if res.ui is not None:
            res.first_picture_process_age_s = res.ui.loop.first_picture_s
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
    res.embeddings = pipeline.analyzer.embeddings_computed if pipeline.analyzer is not None else 0
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
    from kiosk.capture.slot import LatestFrame
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
        step = ui.step(fake)
        if step.drawn:  # a new camera frame every step: every step draws (kiosk.ui.redraw)
            times_ms.append(float(step.draw_ms))
    wall = time.perf_counter() - t0
    return times_ms, (frames / wall if wall > 0 else 0.0)


