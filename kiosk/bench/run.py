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

import gc
import os
import platform
from collections.abc import Callable
from pathlib import Path
from typing import Any
import numpy as np
from kiosk import __version__
from kiosk.errors import KioskError
from kiosk.bench.probes import SCHEMA, TARGET_COST_OVER_FLOOR, TARGET_FIRST_FRAME_S, TARGET_FIRST_PICTURE_S, TARGET_FPS_1_FACE, TARGET_FPS_4_FACES, TARGET_LATENCY_P95_MS, TARGET_NAIVE_SPEEDUP_4_FACES, TARGET_RSS_MB, TARGET_UI_FPS, UI_SIZE, _UI_SNAPSHOTS, _model_names_by_file, _ratio, peak_rss_mb, summarize
from kiosk.bench.phases import PhaseResult, UiRenderer, _run_phase, _ui_only, make_source, naive_caps, naive_config
from kiosk.bench.devices import project_devices, reference_timings


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
    from kiosk.bench.scenes import parse_spec
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
    st = report["startup"]
    if st.get("first_picture_s") is not None:
        add("first picture on screen s after process start", st["first_picture_s"], "<=", TARGET_FIRST_PICTURE_S)
    add("first frame analysed s after process start", st["first_frame_s"], "<=", TARGET_FIRST_FRAME_S)
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
        # Lossless synthetic scenes render in a child process (kiosk.bench.render_process).
        return lambda: make_source(spec, cfg, realtime=realtime, render_process=not realtime)

    # The first source is built before anything else, so a bad spec fails fast (exit 2).
    probe = factory(False)()
    report = _report_head(spec, cfg, probe)

    # 1. Live, first and cold: the kiosk exactly as `kiosk run` runs it (paced source, inference,
    # the screen opened after the pipeline starts). Start-up time and peak RSS come from here,
    # so the bench's later passes and bookkeeping do not count.
    first: PhaseResult | None = None
    if live_s > 0:
        first = _live_phase(report, cfg, store, factory, live_s)
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
    report["startup"] = _startup(first)
    report["throughput"] = _phase_report(thr)
    report["machine"] = _machine(cfg)
    ui_snapshots, normal_boxes = thr.snapshots, thr.boxes
    del thr, first
    gc.collect()

    # 3. The screen alone, uncapped, on the throughput phase's frames and snapshots.
    if ui_frames > 0:
        report["ui"] = _screen_alone(cfg, factory, ui_snapshots, ui_frames)
    del ui_snapshots
    report["memory"]["bench_process_peak_rss_mb"] = round(peak_rss_mb(), 1)

    # 4. Naive: every model, every face, every frame; same source, same frames.
    if naive:
        report["naive"] = _naive_phase(cfg, store, factory, frames, names, normal_boxes, report["throughput"]["fps"])
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


def _report_head(spec: str, cfg: Any, probe: Any) -> dict[str, Any]:
    """The report's first keys, before any phase ran."""
    frame_size = (cfg.camera.width, cfg.camera.height)
    return {
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


def _startup(first: PhaseResult) -> dict[str, Any]:
    """The report's ``startup`` section, from the first phase in the process."""
    return {
        "first_picture_s": (round(first.first_picture_process_age_s, 3)
                            if first.first_picture_process_age_s is not None else None),
        "first_frame_s": (round(first.first_frame_process_age_s, 3)
                          if first.first_frame_process_age_s is not None else None),
        "models_load_s": round(first.build_s, 3),
        "pipeline_start_to_first_frame_s": (round(first.first_frame_s, 3)
                                            if first.first_frame_s is not None else None),
        "first_frame_analysis_ms": round(first.first_total_ms, 2) if first.first_total_ms is not None else None,
        "phase": first.mode,
    }


def _naive_phase(cfg: Any, store: Any, factory: Callable[[bool], Callable[[], Any]], frames: int,
                 names: dict[str, str], normal_boxes: dict[int, np.ndarray], throughput_fps: float) -> dict[str, Any]:
    """Phase 4 (see ``run_bench``): the report's ``naive`` section."""
    with naive_caps() as caps:
        nv = _run_phase("naive", naive_config(cfg), store, factory(False), frames=frames,
                        timer_names=names, keep_boxes=True)
    out = _phase_report(nv)
    out["caps_lifted"] = caps
    out["speedup"] = _ratio(throughput_fps, out["fps"])
    out["boxes_compared"] = _compare_boxes(normal_boxes, nv.boxes)
    return out


def _live_phase(report: dict[str, Any], cfg: Any, store: Any, factory: Callable[[bool], Callable[[], Any]],
                live_s: float) -> PhaseResult:
    """Phase 1 (see ``run_bench``): fills ``report["live"]`` and ``report["memory"]``."""
    live_cfg = cfg.with_overrides({"camera.realtime": True}, origin="kiosk bench")
    live = _run_phase("live", live_cfg, store, factory(True), frames=None, duration_s=live_s,
                      ui_factory=lambda: UiRenderer(cfg, paced=True), latency=True)
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
    live.ui = None
    return live


def _screen_alone(cfg: Any, factory: Callable[[bool], Callable[[], Any]], ui_snapshots: dict[int, Any],
                  ui_frames: int) -> dict[str, Any]:
    """Phase 3 (see ``run_bench``): the report's ``ui`` section."""
    ui = UiRenderer(cfg)
    try:
        times_ms, fps = _ui_only(cfg, factory(False), ui_snapshots, ui, ui_frames)
        entry, mode = ui.entry, ui.mode
    finally:
        ui.close()
    faces = [len(snap.faces) for snap in ui_snapshots.values()]
    return {
        "size": list(UI_SIZE),
        "entry": entry,
        "screen": mode,
        "frames": len(times_ms),
        "faces_mean": round(float(np.mean(faces)), 2) if faces else 0.0,
        "draw_ms": summarize(times_ms),
        "fps": round(fps, 2),
    }


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


