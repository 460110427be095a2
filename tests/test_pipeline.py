"""The threaded pipeline and `kiosk run` end to end, with the real models on the demo scene."""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from types import SimpleNamespace
import time
from pathlib import Path

import numpy as np
import pytest

from kiosk import cli
from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.config import config_from_mapping
from kiosk.pipeline import Pipeline
from kiosk.types import Frame

REPO = Path(__file__).resolve().parent.parent


class FakeSource:
    """A tiny synthetic source: grey frames, optionally ending after ``n`` frames."""

    name = "fake"

    def __init__(self, n: int | None = None, fps: float = 200.0, realtime: bool = False) -> None:
        self.n, self.fps, self.realtime, self.i = n, fps, realtime, 0

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray | None:
        if self.n is not None and self.i >= self.n:
            return None
        self.i += 1
        if self.realtime:
            time.sleep(1 / self.fps)
        return np.full((120, 160, 3), 128, dtype=np.uint8)

    def close(self) -> None:
        pass


def _analyzer(detect) -> FaceAnalyzer:  # noqa: ANN001
    return FaceAnalyzer(config_from_mapping({}), detect, None)


def test_lossless_source_processes_every_frame_then_ends() -> None:
    seen: list[int] = []

    def detect(image: np.ndarray) -> list:
        seen.append(1)
        return []

    p = Pipeline(config_from_mapping({}), _analyzer(detect), source_factory=lambda: FakeSource(50))
    p.start()
    p.inference.done.wait(10)
    p.stop()
    assert len(seen) == 50 and p.inference.stats.frames == 50 and p.slot.dropped == 0
    assert p.error is None and p.snapshot is not None and p.snapshot.frame_index == 49


class _Prepared:
    """Stands in for DetectorInputMaker: records which thread made each frame's input."""

    def __init__(self, fail_on: int | None = None) -> None:
        self.threads: set[str] = set()
        self.calls = 0
        self.fail_on = fail_on

    def __call__(self, image: np.ndarray) -> object:
        self.calls += 1
        if self.calls == self.fail_on:
            raise RuntimeError("no input this time")
        self.threads.add(threading.current_thread().name)
        return ("input", float(image.mean()))


def _prepared_run(prepare: _Prepared, *, build: bool, frames: int = 20) -> tuple[list[object], Pipeline]:
    """A lossless run whose analyzer has ``prepare``; what ``detect`` received as the input, per frame."""
    got: list[object] = []

    def detect(image: np.ndarray, prepared: object = None) -> list:
        got.append(prepared)
        return []

    def make() -> FaceAnalyzer:
        return FaceAnalyzer(config_from_mapping({}), detect, None, prepare=prepare)  # type: ignore[arg-type]

    source = lambda: FakeSource(frames)  # noqa: E731
    p = (Pipeline(config_from_mapping({}), source_factory=source, build=make) if build
         else Pipeline(config_from_mapping({}), make(), source_factory=source))
    p.start()
    assert p.inference.done.wait(10)
    p.stop()
    assert p.error is None
    return got, p


@pytest.mark.parametrize("build", [False, True], ids=["built", "built-on-the-inference-thread"])
def test_the_capture_thread_makes_the_detector_input(build: bool) -> None:
    prepare = _Prepared()
    got, p = _prepared_run(prepare, build=build)
    assert prepare.threads == {"capture"}
    # Handed over built: every frame carries its input. Built on the inference thread: the
    # frames captured while the models load go without (the detector makes its own), the rest carry it.
    assert len(got) == 20 and got[-1] == ("input", 128.0)
    if not build:
        assert got == [("input", 128.0)] * 20


def test_a_failing_detector_input_loses_no_frame(caplog: pytest.LogCaptureFixture) -> None:
    got, _ = _prepared_run(_Prepared(fail_on=3), build=False)
    assert len(got) == 20 and got[2] is None and got.count(None) == 1
    assert sum("detector input" in r.getMessage() for r in caplog.records) == 1


def test_an_analyzer_without_prepare_is_called_with_the_image_only() -> None:
    calls: list[int] = []
    p = Pipeline(config_from_mapping({}), _analyzer(lambda image: calls.append(1) or []),
                 source_factory=lambda: FakeSource(5))
    assert p.capture.prepare is None
    p.start()
    assert p.inference.done.wait(10)
    p.stop()
    assert p.error is None and len(calls) == 5


def test_worker_exception_is_recorded_and_stops_the_pipeline() -> None:
    def detect(image: np.ndarray) -> list:
        raise RuntimeError("detector exploded")

    p = Pipeline(config_from_mapping({}), _analyzer(detect), source_factory=lambda: FakeSource())
    p.start()
    assert p.inference.done.wait(5)
    assert isinstance(p.error, RuntimeError) and not p.running()
    p.stop()


def test_stop_returns_promptly_while_frames_flow() -> None:
    p = Pipeline(config_from_mapping({}), _analyzer(lambda im: []),
                 source_factory=lambda: FakeSource(realtime=True, fps=100))
    p.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    p.stop(timeout_s=2.0)
    assert time.monotonic() - t0 < 2.0
    assert not p.capture.is_alive() and not p.inference.is_alive()
    assert p.inference.stats.frames > 5


def test_ui_never_waits_for_inference() -> None:
    """A slow analyzer does not hold the frame slot: the newest frame is always there to draw."""
    release = threading.Event()

    def slow_detect(image: np.ndarray) -> list:
        release.wait(2)
        return []

    p = Pipeline(config_from_mapping({}), _analyzer(slow_detect),
                 source_factory=lambda: FakeSource(realtime=True, fps=100))
    p.start()
    try:
        time.sleep(0.5)
        t0 = time.monotonic()
        frame = p.slot.peek()
        assert isinstance(frame, Frame) and time.monotonic() - t0 < 0.05
        assert p.slot.dropped > 10  # capture kept overwriting while inference was stuck
    finally:
        release.set()
        p.stop()


def _run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kiosk", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def test_cli_demo_headless_report() -> None:
    """The foundation's acceptance command: ≥ 2 visitors and ≥ 1 return visit in 300 frames."""
    proc = _run_cli("run", "--source", "demo", "--headless", "--max-frames", "300", "--report", "-")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["frames"] == 300 and report["fps"] > 0
    assert report["visitor_count"] >= 2, report
    assert report["return_visits"] >= 1, report
    assert all(v["dwell_s"] > 0 for v in report["visitors"])
    assert set(report["stage_ms"]) == {"detect", "track", "embed", "attributes", "mesh", "total"}
    # Visitors still remembered at the end carry their guesses and the FaceDetail record.
    assert any("face_detail" in v and "age" in v["attributes"] for v in report["visitors"])
    # Counters only: no list in the report is long enough to be an embedding or pixel data.
    def lists(x):  # noqa: ANN001, ANN202
        if isinstance(x, dict):
            for v in x.values():
                yield from lists(v)
        elif isinstance(x, list):
            yield x
            for v in x:
                yield from lists(v)
    assert all(len(lst) < 64 for lst in lists(report))


def test_cli_sigterm_stops_within_two_seconds(tmp_path: Path) -> None:
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--source", "demo", "--headless",
                             "--report", str(tmp_path / "r.json")],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        for line in proc.stderr:  # wait until frames are being analysed
            if "first frame analysed" in line or time.monotonic() > deadline:
                break
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=10)
        elapsed = time.monotonic() - t0
    finally:
        proc.kill()
    assert rc == 0
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop after SIGTERM"
    assert json.loads((tmp_path / "r.json").read_text())["frames"] > 0


def test_cli_worker_failure_exits_non_zero(monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    import kiosk.analysis.build as build_mod

    def broken_analyzer(cfg, store):  # noqa: ANN001, ANN202
        def detect(image: np.ndarray) -> list:
            raise RuntimeError("simulated inference crash")
        return FaceAnalyzer(cfg, detect, None)

    monkeypatch.setattr(build_mod, "build_analyzer", broken_analyzer)
    # In-process: an audit hook cannot be removed again, so the privacy guard (tested in its own
    # subprocesses) must not be installed into the test runner.
    import kiosk.privacy.guard as guard_mod
    monkeypatch.setattr(guard_mod, "install_guard",
                        lambda *a, **k: SimpleNamespace(summary=lambda: "guard not installed in-process"))
    import kiosk.privacy.strict_start as strict_mod
    monkeypatch.setattr(strict_mod, "enter_kernel_sandbox", lambda *a, **k: None)
    rc = cli.main(["run", "--source", "demo", "--headless", "--max-frames", "50"])
    assert rc == 1
    err = capsys.readouterr().err
    assert "simulated inference crash" in err and "RuntimeError" in err


def test_cli_missing_model_exits_2_naming_the_fix(tmp_path: Path) -> None:
    cfg = tmp_path / "k.yaml"
    cfg.write_text(f"runtime:\n  models_dir: {tmp_path / 'empty'}\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    proc = _run_cli("run", "--config", str(cfg), "--source", "demo", "--headless", "--max-frames", "5")
    assert proc.returncode == 2
    assert "kiosk models fetch" in proc.stderr and "Traceback" not in proc.stderr


def test_cli_bad_config_exits_2_with_line(tmp_path: Path) -> None:
    cfg = tmp_path / "k.yaml"
    cfg.write_text("camera:\n  source: demo\n  widht: 640\n", encoding="utf-8")
    proc = _run_cli("check-config", str(cfg))
    assert proc.returncode == 2
    assert f"{cfg}:3: camera.widht:" in proc.stderr and "Traceback" not in proc.stderr
    proc = _run_cli("run", "--config", str(cfg), "--headless")
    assert proc.returncode == 2 and f"{cfg}:3: camera.widht:" in proc.stderr


def test_models_verify_names_a_corrupted_file(tmp_path: Path) -> None:
    """`kiosk models verify` exits 0, and 2 naming the file after one byte changes."""
    import shutil

    from kiosk.models import default_demo_dir, default_models_dir
    models = tmp_path / "models"
    shutil.copytree(default_models_dir(), models)
    proc = _run_cli("models", "verify", "--models-dir", str(models), "--demo-dir", str(default_demo_dir()))
    assert proc.returncode == 0, proc.stderr
    victim = next(p for p in sorted(models.iterdir()) if "yunet" in p.name and "dyn" in p.name)
    data = bytearray(victim.read_bytes())
    data[len(data) // 2] ^= 0xFF
    victim.write_bytes(bytes(data))
    proc = _run_cli("models", "verify", "--models-dir", str(models), "--demo-dir", str(default_demo_dir()))
    assert proc.returncode == 2 and victim.name in proc.stderr


def test_cli_runs_from_any_directory(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kiosk", "run", "--source", "demo", "--headless",
                           "--max-frames", "10", "--report", "-"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["frames"] == 10


def test_cli_consent_required_demo_run_computes_nothing_about_anyone(tmp_path: Path) -> None:
    """With privacy.consent required and nobody touching "Analyse me", the real pipeline on the
    demo scene detects faces but computes no embedding, no guess and remembers nobody."""
    cfg = tmp_path / "k.yaml"
    cfg.write_text("privacy:\n  consent: required\n", encoding="utf-8")
    proc = _run_cli("run", "--config", str(cfg), "--source", "demo", "--headless",
                    "--max-frames", "120", "--report", "-")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["max_faces_in_frame"] >= 1  # faces were there and were boxed
    assert report["embeddings_computed"] == 0 and report["visitor_count"] == 0
    assert report["stage_ms"]["attributes"]["p95"] == 0.0 and report["stage_ms"]["mesh"]["p95"] == 0.0


def test_cli_persisted_aggregates_then_kiosk_stats_plot(tmp_path: Path) -> None:
    """The only file a strict-mode run may write besides the report: the daily counters."""
    agg = tmp_path / "aggregates.json"
    cfg = tmp_path / "k.yaml"
    cfg.write_text(f"privacy:\n  persist_aggregates: true\n  state_dir: {tmp_path}\n  aggregates_file: {agg}\n",
                   encoding="utf-8")
    proc = _run_cli("run", "--config", str(cfg), "--source", "demo", "--headless", "--max-frames", "150")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(agg.read_text(encoding="utf-8"))
    text = agg.read_text(encoding="utf-8")
    assert "visitor_id" not in text and "embedding" not in text
    assert data["days"] and data["days"][-1]["visitors"] >= 1
    out = tmp_path / "stats.png"
    proc = _run_cli("stats", str(agg), "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000 and "visitors" in proc.stdout.lower()
