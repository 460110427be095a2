"""The benchmark's text output and the summary of several JSON reports."""
from __future__ import annotations

from typing import Any
import numpy as np


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
    # long: the benchmark's text report, one line per figure in the order an operator reads them
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
        f"{'first picture on screen after process start':<44}{_f(st.get('first_picture_s'), ' s', 2):>12}",
        f"{'first frame analysed after process start':<44}{_f(st['first_frame_s'], ' s', 2):>12}",
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
    ("first picture on screen after process start", "startup.first_picture_s", "s"),
    ("first frame analysed after process start", "startup.first_frame_s", "s"),
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


