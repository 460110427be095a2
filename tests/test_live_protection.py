"""`kiosk bench` and `kiosk doctor` install the same kernel sandbox and privacy guard as `kiosk run`
when they read a live camera (camera:N, gst:, picamera2), and nothing for recorded material.

This machine has no camera: the code paths are checked through the function that decides
(``films_people``) and the one installer (``protect_live_capture``), and a whole bench run is
made under the protection with the demo scene treated as a camera.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.config import config_from_mapping
from kiosk.privacy import strict_start

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("source", "live"), [
    ("camera:0", True), ("camera:3", True), ("gst:v4l2src ! videoconvert ! appsink", True), ("picamera2", True),
    ("demo", False), ("images:assets/demo/photos", False),
])
def test_films_people_decides_by_the_source(source: str, live: bool) -> None:
    cfg = config_from_mapping({"camera": {"source": source}}, base_dir=REPO)
    assert strict_start.films_people(cfg) is live


class _Installer:
    """Records the calls of the two real installers instead of applying them to the test runner."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import kiosk.privacy.guard as guard

        self.calls: list[tuple] = []
        monkeypatch.setattr(strict_start, "enter_kernel_sandbox",
                            lambda cfg, report, *, window, flag="--report": self.calls.append(
                                ("sandbox", cfg.camera.source, report, window, flag)))

        class _Report:
            def summary(self) -> str:
                return "guard (recorded)"

        monkeypatch.setattr(guard, "install_guard",
                            lambda allowed=(), **kw: self.calls.append(("guard", list(allowed))) or _Report())


def test_protect_live_capture_installs_the_run_sandbox_then_the_guard(monkeypatch: pytest.MonkeyPatch,
                                                                      tmp_path: Path) -> None:
    installer = _Installer(monkeypatch)
    out = tmp_path / "bench.json"
    live = config_from_mapping({"camera": {"source": "camera:0"}})
    assert strict_start.protect_live_capture(live, out, window=True) is True
    assert installer.calls == [("sandbox", "camera:0", out, True, "--output"), ("guard", [out])]
    installer.calls.clear()
    assert strict_start.protect_live_capture(config_from_mapping({}), out, window=True) is False
    assert installer.calls == []


class _Stop(Exception):
    pass


def test_bench_protects_a_live_camera_before_opening_it(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from kiosk.cli import bench

    seen: list[tuple] = []

    def recorder(cfg, output, *, window, flag="--output"):  # noqa: ANN001, ANN202
        seen.append((cfg.camera.source, strict_start.films_people(cfg), output, window))
        if strict_start.films_people(cfg):
            raise _Stop  # the real installer would apply the sandbox here; the source is not opened
        return False

    monkeypatch.setattr(strict_start, "protect_live_capture", recorder)
    out = tmp_path / "b.json"
    with pytest.raises(_Stop):
        bench.main_bench("camera:0", output=out, naive=False, live_s=0, ui_frames=5)
    assert seen == [("camera:0", True, out, True)]
    # A synthetic scene films nobody: not even asked.
    seen.clear()
    assert bench.protect_if_live(config_from_mapping({}), "synthetic:2", out, window=False) is False
    assert seen == []
    # The demo is asked, and the installer declines.
    assert bench.protect_if_live(config_from_mapping({}), "demo", out, window=False) is False
    assert seen == [("demo", False, out, False)]


def test_doctor_probes_a_live_camera_in_a_child_under_the_same_installer(monkeypatch: pytest.MonkeyPatch,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """In-process, with the installer recorded: the child's code path calls it before the probe."""
    from kiosk.cli import doctor

    order: list[str] = []
    monkeypatch.setattr(strict_start, "protect_live_capture",
                        lambda cfg, output, *, window, flag="--output": order.append(f"protect {cfg.camera.source}") or True)
    real_probe = doctor.probe_camera
    monkeypatch.setattr(doctor, "probe_camera", lambda cfg, t: order.append("probe") or real_probe(cfg, t))
    monkeypatch.setattr("kiosk.privacy.environment.prepare_environment", lambda: None)
    assert doctor.camera_probe_child(["-", "camera:97", "0.5"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert order == ["protect camera:97", "probe"]
    assert result["protected"] is True and "/dev/video97 does not exist" in result["error"]


@pytest.mark.slow
def test_doctor_camera_check_of_a_live_source_runs_under_the_sandbox() -> None:
    """The real child: sandbox and guard applied, then the (missing) camera opened."""
    from kiosk.cli import doctor

    check = doctor.check_camera(config_from_mapping({"camera": {"source": "camera:97"}}), timeout_s=2.0)
    assert check.status == "fail", check
    assert "/dev/video97 does not exist" in check.detail
    assert "(probed under the kernel sandbox and privacy guard)" in check.detail
    recorded = doctor.check_camera(config_from_mapping({}), timeout_s=10.0)  # the demo: in this process
    assert recorded.status == "ok" and "probed under" not in recorded.detail


# The demo scene treated as a camera, so that a whole bench runs under the live protection.
_AS_CAMERA = ("import os, sys\n"
              "from kiosk.privacy.environment import prepare_environment\n"
              "prepare_environment()\n"
              "from kiosk.config.source_spec import SourceSpec\n"
              "SourceSpec.live = property(lambda self: True)\n"
              "from kiosk.cli import main\n"
              "rc = main(sys.argv[1:])\n"
              "from kiosk.privacy.sandbox import status_fields\n"
              "print('STATUS ' + repr(status_fields()), file=sys.stderr)\n"
              "sys.exit(rc)\n")


@pytest.mark.slow
@pytest.mark.models
def test_a_whole_bench_runs_under_the_live_protection(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run([sys.executable, "-c", _AS_CAMERA, "bench", "--source", "demo", "--frames", "20",
                           "--no-naive", "--live-s", "1", "--ui-frames", "5", "--output", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=400,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "STATUS {'NoNewPrivs': '1', 'Seccomp': '2'" in proc.stderr, proc.stderr[-3000:]
    assert "refused" not in proc.stderr, proc.stderr[-3000:]  # the bench needs nothing the guard forbids
    assert json.loads(out.read_text(encoding="utf-8"))["schema"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bench.json"]
