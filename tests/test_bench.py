"""``kiosk bench``: the report's structure on a short synthetic run, naive and normal modes
finding the same faces, the soak's own checks on a short run, and the CLI's exit codes.

No timing assertions: speed is measured by the command and written in docs/PERFORMANCE.md.
"""
from __future__ import annotations

import json
import math
import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from typing import Any  # noqa: E402

import pytest  # noqa: E402

from kiosk.bench import devices, phases, probes, run, soak  # noqa: E402
from kiosk.bench import report as bench_report  # noqa: E402
from kiosk.cli import bench as bench_cli  # noqa: E402
from kiosk.config import Config  # noqa: E402

# Whole pipeline runs: slow; missing models or photos FAIL (never skip): see conftest.
pytestmark = [pytest.mark.slow, pytest.mark.models, pytest.mark.usefixtures("fetched_models", "fetched_photos")]

FRAMES = 24


def numbers(node: Any, path: str = "") -> list[tuple[str, float]]:
    """Every int/float leaf of a JSON tree, with its path."""
    if isinstance(node, bool):
        return []
    if isinstance(node, (int, float)):
        return [(path, float(node))]
    if isinstance(node, dict):
        return [x for k, v in node.items() for x in numbers(v, f"{path}.{k}")]
    if isinstance(node, list):
        return [x for i, v in enumerate(node) for x in numbers(v, f"{path}[{i}]")]
    return []


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    cfg = run._bench_config(Config(), None)
    out = run.run_bench("synthetic:4", cfg, frames=FRAMES, naive=True, live_s=1.5, ui_frames=8)
    # What --json prints must survive a JSON round trip unchanged (plain types only).
    assert json.loads(json.dumps(out)) == out
    return out


def test_report_structure_and_finite_numbers(report: dict[str, Any]) -> None:
    for key in ("schema", "kiosk_version", "source", "frame_size", "frames", "playback", "machine",
                "settings", "startup", "throughput", "live", "memory", "naive", "ui", "targets"):
        assert key in report, key
    assert report["schema"] == probes.SCHEMA
    assert report["frame_size"] == [640, 480]
    assert report["frames"] == FRAMES
    bad = [(p, v) for p, v in numbers(report) if not math.isfinite(v)]
    assert not bad, bad

    thr = report["throughput"]
    assert thr["frames"] == FRAMES and thr["fps"] > 0
    assert thr["faces_per_frame"]["mean"] == 4.0
    # Stages discovered from the Snapshot's StageTimes, plus capture.
    for stage in ("capture", "detect", "track", "embed", "total"):
        s = thr["stages_ms"][stage]
        assert s["n"] > 0 and 0 <= s["p50"] <= s["p95"] <= s["max"], (stage, s)
    # The floor: every model call timed; YuNet runs once per frame (the first frame's one-off
    # costs are reported with the start-up, not in the statistics).
    assert thr["models"]["yunet"]["calls"] == FRAMES - 1 and thr["models"]["yunet"]["calls_per_frame"] == 1.0
    assert report["startup"]["first_frame_analysis_ms"] > 0
    assert thr["models"]["sface"]["calls"] >= 1
    assert 0 < thr["floor_ms"]["mean"] <= thr["stages_ms"]["total"]["mean"]
    assert thr["cost_over_floor"] >= 1.0

    live = report["live"]
    assert live["frames_processed"] > 0
    assert live["frames_captured"] >= live["frames_processed"]
    assert live["frames_captured"] - live["frames_processed"] <= live["frames_dropped"] + 1
    assert live["latency_ms"]["n"] == live["frames_processed"] - 1 and live["latency_ms"]["p50"] > 0
    assert live["ui_draw_ms"]["n"] > 0

    assert report["ui"]["frames"] == 8 and report["ui"]["faces_mean"] == 4.0
    assert report["ui"]["draw_ms"]["p50"] > 0
    assert report["memory"]["bench_process_peak_rss_mb"] >= report["memory"]["peak_rss_mb"] > 0
    assert report["memory"]["peak_scope"].startswith("live phase")
    assert report["startup"]["phase"] == "live"
    assert 0 < report["startup"]["models_load_s"]
    assert report["startup"]["first_frame_s"] > report["startup"]["pipeline_start_to_first_frame_s"] > 0
    # The live phase draws the screen: its first camera picture is timed from process start too.
    assert report["startup"]["first_picture_s"] > 0
    names = {t["name"] for t in report["targets"]}
    assert "inference fps, 4+ faces, 640x480" in names and "speed-up over naive, 4+ faces" in names
    assert "first picture on screen s after process start" in names
    assert all(isinstance(t["met"], bool) for t in report["targets"])


def test_naive_runs_every_model_on_every_face_and_finds_the_same_boxes(report: dict[str, Any]) -> None:
    naive, normal = report["naive"], report["throughput"]
    assert naive["frames"] == FRAMES
    assert naive["boxes_compared"] == {"frames": FRAMES, "same": FRAMES, "first_difference": None}
    # Every face through every model on every frame in naive mode (whatever models the analyzer
    # runs: they are discovered by the timers); far fewer in the kiosk's schedules.
    per_face = {name: m for name, m in naive["models"].items() if name != "yunet"}
    assert "sface" in per_face
    for name, m in per_face.items():
        assert m["faces_per_frame"] == 4.0, (name, m)
    assert set(normal["models"]) == set(naive["models"])
    assert normal["models"]["sface"]["faces_per_frame"] < 4.0
    assert naive["embeddings_computed"] == 4 * FRAMES > normal["embeddings_computed"]
    assert "MAX_EMBEDS_PER_FRAME" in naive["caps_lifted"]
    assert naive["speedup"] == pytest.approx(normal["fps"] / naive["fps"], rel=1e-2)


def test_table_output_names_every_section(report: dict[str, Any]) -> None:
    text = bench_report.format_report(report)
    for needle in ("inference rate (lossless)", "cost / floor", "speed-up of the kiosk over naive",
                   "capture-to-overlay p50 / p95", "UI alone, 1280x720", "peak RSS", "detect", "yunet",
                   "naive sface", "target (issue 5)"):
        assert needle in text, needle


def test_naive_config_zeroes_every_interval_and_caps_are_restored() -> None:
    import kiosk.analysis.analyzer as analyzer_module

    cfg = phases.naive_config(Config())
    assert cfg.recognition.refresh_interval_s == 0.0 and cfg.recognition.sample_interval_s == 0.0
    assert cfg.detector == Config().detector  # nothing else changes
    before = analyzer_module.MAX_EMBEDS_PER_FRAME
    with phases.naive_caps() as caps:
        assert analyzer_module.MAX_EMBEDS_PER_FRAME > 100 and caps
    assert analyzer_module.MAX_EMBEDS_PER_FRAME == before


def test_soak_short_run_passes_its_own_checks() -> None:
    # 10 fps of scene time per frame: 900 frames are 90 s, long enough for the gallery to
    # turn over several times with the soak's 10 s forget time. The mesh every 0.5 s instead of
    # 0.1 s keeps its code path in the run at a fifth of the cost (the 100,000-frame soak in
    # docs/RELIABILITY.md runs the defaults).
    base = run._bench_config(Config(), None).with_overrides({"camera.fps": 10, "attributes.mesh_interval_s": 0.5})
    cfg = soak.soak_config(base, 10.0)
    out = soak.run_soak(cfg, frames=900, sample_every=75, warmup_frames=450)
    assert out["schema"] == probes.SOAK_SCHEMA and out["frames"] == 900
    assert set(out["checks"]) == {"memory", "threads", "fds", "gallery_ttl", "gallery_bound", "gallery_turnover"}
    failed = {k: v for k, v in out["checks"].items() if not v["ok"]}
    assert not failed, failed
    assert out["passed"] is True
    turnover = out["checks"]["gallery_turnover"]
    assert turnover["visitors_forgotten"] >= 2 and turnover["visitors_created"] > turnover["visitors_forgotten"] - 1
    assert len(out["samples"]) == 900 // 75 + 1
    assert all(s["gallery"] <= s["gallery_bound"] for s in out["samples"])
    assert "soak passed" in bench_report.format_soak(out)


def test_cli_exit_codes(capsys: pytest.CaptureFixture[str], tmp_path) -> None:  # noqa: ANN001
    assert bench_cli.main(["--source", "synthetic:9", "--frames", "5"]) == 2
    assert "synthetic:N" in capsys.readouterr().err
    assert bench_cli.main(["--source", f"file:{tmp_path / 'missing.mp4'}", "--frames", "5"]) == 2
    assert "missing.mp4" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        bench_cli.main(["--size", "12x34"])


def test_device_projection_is_monotonic_in_the_obvious_ways(report: dict[str, Any]) -> None:
    # A made-up reference (this test checks the arithmetic, not this machine's speed).
    ref = {"opencv": {"yunet_160x120_ms": {"min": 1.0}, "yunet_320x240_ms": {"min": 4.0},
                      "yunet_640x480_ms": {"min": 16.0}, "sface_ms": {"min": 10.0}},
           "kiosk": {"yunet_w160_ms": {"min": 0.5}, "yunet_w224_ms": {"min": 1.0}, "yunet_w320_ms": {"min": 2.0},
                     "sface_per_face_ms": {"min": 8.0}}}
    proj = devices.project_devices(report, ref, faces=4, refresh_interval_s=2.0)
    devs = proj["devices"]
    assert set(devs) == set(devices.DEVICES)
    pi4 = devs["raspberry-pi-4"]
    assert pi4["factor_yunet"] == pytest.approx(6.2) and pi4["factor_sface"] == pytest.approx(6.88)
    assert pi4["sface_per_face_ms"] == pytest.approx(8.0 * 6.88, abs=0.1)
    # Pi 5's SFace is scaled from the Pi 4's by their YuNet factors: 8.0/4.0 vs 6.2/1.0.
    assert devs["raspberry-pi-5"]["factor_sface"] == pytest.approx(6.88 * 2.0 / 6.2, abs=0.01)
    for d in devs.values():
        rows = list(d["by_detector_width"].values())
        fps = [r["max_fps"] for r in rows]
        # Smaller detector input, faster (0 when the scheduled per-face work alone fills the core).
        assert fps == sorted(fps, reverse=True) and all(f >= 0 for f in fps)
        frame_ms = [r["frame_ms"] for r in rows]
        assert frame_ms == sorted(frame_ms) and frame_ms[0] > 0
    # The Orin's CUDA SFace is the cheapest per face, the Pi 4's the dearest.
    per_face = {k: d["sface_per_face_ms"] for k, d in devs.items()}
    assert min(per_face, key=per_face.get) == "jetson-orin-nano-cuda"
    assert max(per_face, key=per_face.get) == "raspberry-pi-4"
    slower = devices.project_devices(report, ref, faces=4, refresh_interval_s=0.5)["devices"]["raspberry-pi-4"]
    assert slower["scheduled_ms_per_s"] > pi4["scheduled_ms_per_s"]


def test_summary_takes_medians_over_runs(report: dict[str, Any], tmp_path, capsys) -> None:  # noqa: ANN001
    faster = json.loads(json.dumps(report))
    faster["throughput"]["fps"] = report["throughput"]["fps"] * 3
    runs = [report, faster, faster]
    summary = bench_report.summarize_reports(runs)
    fps = summary["figures"]["inference rate (lossless)"]
    assert fps["n"] == 3 and fps["median"] == pytest.approx(faster["throughput"]["fps"], rel=1e-3)
    assert fps["min"] == pytest.approx(report["throughput"]["fps"], rel=1e-3)
    paths = []
    for i, r in enumerate(runs):
        paths.append(tmp_path / f"run{i}.json")
        paths[-1].write_text(json.dumps(r))
    assert bench_cli.main(["--summarize", *map(str, paths)]) == 0
    out = capsys.readouterr().out
    assert "| inference rate (lossless) |" in out and "3 runs of synthetic:4" in out
