"""`kiosk doctor`: all good on the demo scene; a missing camera, missing models, a broken config,
a blocked camera and a weakened unit each fail with a fix."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

from kiosk.cli import doctor
from kiosk.config import config_from_mapping

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _dummy_display(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SDL_VIDEODRIVER", "dummy")


def test_demo_source_all_good(capsys: pytest.CaptureFixture[str]) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing (apt-get install -y systemd); covered by test_systemd_unit")
    rc = doctor.main_doctor(None, source="demo", unit_paths=[REPO / "systemd" / "kiosk.service"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "OK    camera        demo: opened and delivered a 640x480 frame" in out
    assert "OK    models" in out
    assert "active in a real session ['CPUExecutionProvider']" in out
    assert "guard self-test refused a file write" in out
    assert "OK    systemd unit  kiosk.service exposure" in out
    assert "WARN  display       driver dummy" in out  # a warning, not a failure
    assert "FAIL" not in out


def test_missing_camera_fails_with_the_fix(capsys: pytest.CaptureFixture[str]) -> None:
    assert not Path("/dev/video97").exists()
    rc = doctor.main_doctor(None, source="camera:97", unit_paths=[])
    out = capsys.readouterr().out
    assert rc == 1
    camera = next(line for line in out.splitlines() if "camera " in line and ("FAIL" in line or "OK" in line))
    assert camera.startswith("  FAIL  camera") and "/dev/video97 does not exist" in camera
    assert "fix: `v4l2-ctl --list-devices`" in out
    assert "1 problem(s)" in out


def test_missing_models_fail_with_the_fetch_command(tmp_path: Path) -> None:
    empty = tmp_path / "models"
    empty.mkdir()
    cfg = config_from_mapping({"runtime": {"models_dir": str(empty)}})
    check = doctor.check_models(cfg)
    assert check.status == "fail"
    assert "missing" in check.detail and "kiosk models fetch --models-dir" in check.fix
    assert doctor.check_providers(cfg).status == "fail"


def test_invalid_config_is_reported_and_the_rest_skipped(tmp_path: Path) -> None:
    bad = tmp_path / "kiosk.yaml"
    bad.write_text("camera:\n  fps: -3\n")
    checks = doctor.run_checks(bad, unit_paths=[])
    assert checks[0].name == "config" and checks[0].status == "fail"
    assert f"{bad}:2" in checks[0].detail and "kiosk check-config" in checks[0].fix
    assert all(c.detail.startswith("not checked") for c in checks[1:-1])


class _BlockingSource:
    name, fps, realtime = "stuck", 25.0, True

    def __init__(self) -> None:
        self.release = threading.Event()

    def open(self) -> None:
        pass

    def read(self) -> np.ndarray:
        self.release.wait(5.0)  # a wedged driver
        return np.zeros((4, 4, 3), np.uint8)

    def close(self) -> None:
        pass


def test_blocked_camera_times_out(monkeypatch: pytest.MonkeyPatch) -> None:
    import kiosk.capture

    source = _BlockingSource()
    monkeypatch.setattr(kiosk.capture, "open_source", lambda *a, **k: source)
    try:
        check = doctor.check_camera(config_from_mapping({}), timeout_s=0.3)
    finally:
        source.release.set()
    assert check.status == "fail"
    assert "no frame within 0.3 s" in check.detail


def test_weak_unit_fails(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze missing (apt-get install -y systemd); covered by test_systemd_unit")
    unit = tmp_path / "kiosk.service"
    unit.write_text("[Service]\nType=notify\nExecStart=/bin/true\n")
    check = doctor.check_unit([unit])
    assert check.status == "fail"
    assert "kiosk.service exposure" in check.detail and "tools/install.sh" in check.fix


def test_user_without_the_video_group_fails_for_a_camera_source(monkeypatch: pytest.MonkeyPatch) -> None:
    import grp

    if not any(doctor._group_exists(g) for g in ("video", "render", "input")):
        pytest.skip("no video/render/input group on this system")
    gid = 54321
    while True:  # a gid that is no device group
        try:
            grp.getgrgid(gid)
            gid += 1
        except KeyError:
            break
    monkeypatch.setattr(doctor.os, "getuid", lambda: 54321)
    monkeypatch.setattr(doctor.os, "getgid", lambda: gid)
    monkeypatch.setattr(doctor.os, "getgroups", lambda: [gid])
    camera = doctor.check_groups(config_from_mapping({"camera": {"source": "camera:0"}}))
    assert camera.status == "fail"
    assert "sudo usermod -aG" in camera.fix and "54321" in camera.fix
    # Without a camera the same finding is only a warning.
    assert doctor.check_groups(config_from_mapping({"camera": {"source": "demo"}})).status == "warn"
