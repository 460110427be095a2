"""The one-line preset verdict of `kiosk bench` (kiosk/bench/verdict.py)."""
from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config import load_config
from kiosk.bench.verdict import PRESETS, preset_for, verdict

REPO = Path(__file__).resolve().parent.parent


def _report(fps: float, faces: float, p95: float, rss: float) -> dict:
    return {"throughput": {"fps": fps, "faces_per_frame": {"mean": faces}},
            "live": {"latency_ms": {"p95": p95}}, "memory": {"peak_rss_mb": rss}}


def test_every_preset_file_has_an_expectation_and_is_valid() -> None:
    files = sorted((REPO / "presets").glob("*.yaml"))
    assert {f.stem for f in files} == set(PRESETS)
    for f in files:
        load_config(f)  # each preset validates
        text = f.read_text(encoding="utf-8")
        # Each preset says what it is: measured or projected, and what arm64 emulation proved.
        assert PRESETS[f.stem].basis in text.lower(), f
        assert "arm64" in text, f


def test_as_expected_and_below_on_the_same_machine() -> None:
    good = verdict(_report(55.0, 4.0, 40.0, 360.0), "presets/x86-laptop.yaml", machine="x86_64")
    assert good["status"] == "as expected" and good["line"].startswith("verdict (preset x86-laptop, measured)")
    bad = verdict(_report(20.0, 4.0, 80.0, 500.0), "presets/x86-laptop.yaml", machine="x86_64")
    assert bad["status"] == "below expectation"
    assert "p95 80.0 ms > 60" in bad["line"] and "RSS 500 MB > 450" in bad["line"] and "20.0 fps" in bad["line"]
    assert "\n" not in bad["line"]


def test_a_device_projection_is_not_judged_on_another_architecture() -> None:
    v = verdict(_report(55.0, 4.0, 40.0, 360.0), Path("presets/raspberry-pi-5.yaml"), machine="x86_64")
    assert v["status"] == "not comparable" and "aarch64" in v["line"] and v["basis"] == "projected"
    on_pi = verdict(_report(30.0, 4.0, 50.0, 380.0), Path("presets/raspberry-pi-5.yaml"), machine="aarch64")
    assert on_pi["status"] == "as expected"  # 30 >= 45 - 50 %


@pytest.mark.parametrize("config", [None, "my-site.yaml"])
def test_no_preset(config: str | None) -> None:
    assert preset_for(config) is None
    v = verdict(_report(55.0, 4.0, 40.0, 360.0), config)
    assert v["status"] == "no preset" and "55.0 fps" in v["line"]
    assert ("my-site.yaml is not a preset" in v["line"]) if config else ("built-in defaults" in v["line"])


def test_other_workload_is_not_comparable() -> None:
    v = verdict(_report(120.0, 1.0, 10.0, 360.0), "presets/x86-laptop.yaml", machine="x86_64")
    assert v["status"] == "not comparable" and "synthetic:4" in v["line"]
