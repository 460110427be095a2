"""One line that says whether a ``kiosk bench`` run matches what its device preset promises.

Each preset in ``presets/`` states what it is (measured on x86, or projected for a device from
published timings; see the preset's header and docs/PERFORMANCE.md "Per-device cost model").
The expectations below are the same figures in machine-readable form; ``kiosk bench --config
presets/NAME.yaml`` prints the verdict for that preset as its last line (and stores it in the
JSON report as ``verdict``).

A projection is only a claim about its device: run on another CPU architecture (a Pi preset on
the x86 development machine), the verdict says so instead of comparing numbers that mean
nothing there. On the device, a figure within the projection's stated uncertainty counts as
expected.
"""
from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class PresetExpectation:
    """What a preset promises for a bench run with about ``faces`` people in view."""

    name: str
    device: str
    machine: str  # platform.machine() of the device: "x86_64", "aarch64"
    basis: str  # "measured" or "projected"
    faces: int
    max_fps: float  # inference rate, lossless (the throughput phase)
    uncertainty: float  # relative: 0.5 = +/- 50 %
    latency_p95_ms: float
    rss_mb: float
    #: Where the figure comes from (shown in the verdict).
    source: str
    #: The bench source the figures are for.
    workload: str = "--source synthetic:4"


#: Expectations with 4 faces at 640x480 (``--source synthetic:4``), from docs/PERFORMANCE.md.
PRESETS: dict[str, PresetExpectation] = {
    "x86-laptop": PresetExpectation(
        "x86-laptop", "2-core x86 laptop / mini-PC", "x86_64", "measured", 4, 52.0, 0.3, 60.0, 450.0,
        "measured on the 2-core x86 development VM, medians of 3 runs"),
    "raspberry-pi-5": PresetExpectation(
        "raspberry-pi-5", "Raspberry Pi 5", "aarch64", "projected", 4, 45.0, 0.5, 60.0, 450.0,
        "projected from opencv_zoo's published Pi timings x this machine's per-stage measurements"),
    "raspberry-pi-4": PresetExpectation(
        "raspberry-pi-4", "Raspberry Pi 4", "aarch64", "projected", 4, 20.0, 0.5, 200.0, 450.0,
        "projected from opencv_zoo's published Pi 4 timings x this machine's per-stage measurements"),
    "jetson-orin-nano": PresetExpectation(
        "jetson-orin-nano", "Jetson Orin Nano", "aarch64", "projected", 4, 36.0, 0.5, 60.0, 450.0,
        "projected from opencv_zoo's published Orin timings x this machine's per-stage measurements"),
    "room-1080p": PresetExpectation(
        "room-1080p", "x86 with a 1920x1080 camera (room strategy)", "x86_64", "measured", 6, 25.0, 0.3, 60.0,
        450.0, "the issue-17 goals (>= 25 fps, RSS <= 450 MB) on the 1080p pedestrian clip (~6 faces)",
        "--source file:facenet_pytorch_video.mp4 (1920x1080, ~6 faces)"),
}


def preset_for(config: Path | str | None) -> PresetExpectation | None:
    """The preset a configuration file is (by its file name ``presets/NAME.yaml``), or None."""
    if config is None:
        return None
    return PRESETS.get(Path(config).stem)


def verdict(report: dict[str, Any], config: Path | str | None, machine: str | None = None) -> dict[str, Any]:
    """The verdict for a bench report (``kiosk.bench.run_bench``) run with ``config``.

    Returns ``{"preset", "basis", "status", "line"}``; ``status`` is one of ``"as expected"``,
    ``"below expectation"``, ``"not comparable"`` (other architecture, or not the workload the
    preset describes) or ``"no preset"``.
    """
    machine = machine or platform.machine()
    preset = preset_for(config)
    thr = report.get("throughput") or {}
    live = report.get("live") or {}
    fps = thr.get("fps")
    faces = (thr.get("faces_per_frame") or {}).get("mean")
    p95 = (live.get("latency_ms") or {}).get("p95")
    rss = (report.get("memory") or {}).get("peak_rss_mb")
    measured = (f"{_n(fps)} fps lossless with {_n(faces)} faces, live p95 {_n(p95)} ms, "
                f"peak RSS {_n(rss)} MB")
    if preset is None:
        what = f"{Path(config).name} is not a preset in presets/" if config else "no preset (the built-in defaults)"
        return {"preset": None, "basis": None, "status": "no preset",
                "line": f"verdict: {what}; measured {measured}"}
    head = f"verdict (preset {preset.name}, {preset.basis}"
    if preset.machine != machine:
        return {"preset": preset.name, "basis": preset.basis, "status": "not comparable",
                "line": f"{head}): not comparable here: this is {machine}, the preset is for the {preset.device} "
                        f"({preset.machine}); run it there. Here: {measured}"}
    if faces is None or abs(faces - preset.faces) > 0.75 + 0.15 * preset.faces:
        return {"preset": preset.name, "basis": preset.basis, "status": "not comparable",
                "line": f"{head}): its figures are for {preset.faces} faces ({preset.workload}); "
                        f"this run had {_n(faces)}. Here: {measured}"}
    short: list[str] = []
    low = preset.max_fps * (1.0 - preset.uncertainty)
    if fps is not None and fps < low:
        short.append(f"{_n(fps)} fps < {_n(low)} (expected {preset.max_fps:g} -{preset.uncertainty:.0%})")
    if p95 is not None and p95 > preset.latency_p95_ms:
        short.append(f"p95 {_n(p95)} ms > {preset.latency_p95_ms:g}")
    if rss is not None and rss > preset.rss_mb:
        short.append(f"RSS {_n(rss)} MB > {preset.rss_mb:g}")
    status = "below expectation" if short else "as expected"
    detail = "; ".join(short) if short else (f"{_n(fps)} fps (expected {preset.max_fps:g} +/-{preset.uncertainty:.0%}), "
                                             f"p95 {_n(p95)} ms <= {preset.latency_p95_ms:g}, RSS {_n(rss)} MB <= {preset.rss_mb:g}")
    return {"preset": preset.name, "basis": preset.basis, "status": status,
            "line": f"{head}): {status.upper()}: {detail}"}


def _n(value: float | None) -> str:
    if value is None:
        return "n/a"
    return f"{value:.1f}" if abs(value) < 100 else f"{value:.0f}"
