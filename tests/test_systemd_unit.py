"""The systemd units: required settings present, no typos, exposure score <= 2.5.

Needs `systemd-analyze` (Debian/Ubuntu package `systemd`; it works offline in a container
without systemd running). Under CI (CI=true) a missing systemd-analyze fails the test.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from systemkit import require_tool


pytestmark = pytest.mark.system
REPO = Path(__file__).resolve().parent.parent
UNITS = {"kiosk.service": REPO / "systemd" / "kiosk.service",
         "kiosk-cage.service": REPO / "systemd" / "kiosk-cage.service"}
JETSON_DROPIN = REPO / "systemd" / "jetson.conf"
MAX_EXPOSURE = 2.5
# Device classes a kiosk needs: cameras (V4L2, media controller, DMA heaps for libcamera),
# display (DRM), touch and keys (input), and the console it draws on.
ALLOWED_DEVICES = {"char-video4linux", "char-media", "char-dma_heap", "char-drm", "char-input", "/dev/tty1"}


def _analyze() -> str:
    return require_tool("systemd-analyze", "sudo apt-get install -y systemd")


def parse_unit(path: Path) -> dict[str, list[str]]:
    """``Section.Key`` -> every value in order (systemd allows repeated keys)."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1]
            continue
        key, _, value = line.partition("=")
        values.setdefault(f"{section}.{key.strip()}", []).append(value.strip())
    return values


def exposure(unit: Path) -> float:
    proc = subprocess.run([_analyze(), "security", "--offline=yes", str(unit)], check=False, capture_output=True,
                          text=True, timeout=60)
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout + proc.stderr)
    assert m, proc.stdout + proc.stderr
    return float(m.group(1))


@pytest.mark.parametrize("name", sorted(UNITS))
def test_exposure_score_is_at_most_2_5(name: str) -> None:
    score = exposure(UNITS[name])
    assert score <= MAX_EXPOSURE, f"{name}: exposure {score} > {MAX_EXPOSURE}"


def test_jetson_dropin_stays_below_the_limit(tmp_path: Path) -> None:
    unit = tmp_path / "kiosk.service"
    shutil.copy(UNITS["kiosk.service"], unit)
    (tmp_path / "kiosk.service.d").mkdir()
    shutil.copy(JETSON_DROPIN, tmp_path / "kiosk.service.d" / "jetson.conf")
    base, jetson = exposure(UNITS["kiosk.service"]), exposure(unit)
    assert base < jetson <= MAX_EXPOSURE  # the drop-in is read, and loosens only a little


@pytest.mark.parametrize("name", sorted(UNITS))
def test_unit_has_no_unknown_keys(name: str) -> None:
    proc = subprocess.run([_analyze(), "verify", str(UNITS[name])], check=False, capture_output=True, text=True,
                          timeout=60)
    # The install location does not exist here; everything else is a real problem.
    problems = [line for line in (proc.stdout + proc.stderr).splitlines()
                if line.strip() and "is not executable" not in line]
    assert problems == []


@pytest.mark.parametrize("name", sorted(UNITS))
def test_required_settings(name: str) -> None:
    u = parse_unit(UNITS[name])

    def one(key: str) -> str:
        assert key in u, f"{name}: {key} missing"
        return u[key][-1]

    assert one("Service.Type") == "notify"
    assert one("Service.NotifyAccess") == ("main" if name == "kiosk.service" else "all")
    assert re.fullmatch(r"\d+s?", one("Service.WatchdogSec"))
    assert one("Service.Restart") == "on-failure"
    assert "2" in one("Service.RestartPreventExitStatus").split()
    assert one("Service.User") == "kiosk"
    assert "/opt/kiosk/venv/bin/kiosk run" in one("Service.ExecStart")  # outside /home (ProtectHome)
    expected = {
        "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "PrivateNetwork": "yes", "IPAddressDeny": "any", "MemorySwapMax": "0", "LimitCORE": "0",
        "NoNewPrivileges": "yes", "DevicePolicy": "closed", "CapabilityBoundingSet": "",
        "AmbientCapabilities": "", "UMask": "0077", "ProtectKernelTunables": "yes",
        "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "ProtectClock": "yes",
        "ProtectHostname": "yes", "RestrictNamespaces": "yes", "LockPersonality": "yes",
        "RestrictRealtime": "yes", "RestrictSUIDSGID": "yes", "MemoryDenyWriteExecute": "yes",
        "SystemCallArchitectures": "native", "ProtectProc": "invisible", "PrivateUsers": "yes",
    }
    for key, value in expected.items():
        assert one(f"Service.{key}") == value, f"{name}: {key}"
    families = one("Service.RestrictAddressFamilies").split()
    assert "AF_UNIX" in families and not {"AF_INET", "AF_INET6", "AF_PACKET"} & set(families)
    assert "@system-service" in u["Service.SystemCallFilter"]
    devices = {v.split()[0] for v in u["Service.DeviceAllow"]}
    assert devices <= ALLOWED_DEVICES, devices - ALLOWED_DEVICES
    assert {"char-video4linux", "char-drm"} <= devices
    # Library caches go to the service's RAM runtime directory, never to disk.
    assert one("Service.RuntimeDirectory") == "kiosk"
    env = dict(v.split("=", 1) for v in u["Service.Environment"])
    assert env["MPLCONFIGDIR"].startswith("/run/kiosk")
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert one("Install.WantedBy") == "multi-user.target"


# --- tools/install.sh ---------------------------------------------------------------------

INSTALL = REPO / "tools" / "install.sh"


def test_install_script_is_valid_bash_and_shellcheck_clean() -> None:
    assert subprocess.run(["bash", "-n", str(INSTALL)], check=False, capture_output=True).returncode == 0
    require_tool("shellcheck", "sudo apt-get install -y shellcheck")
    proc = subprocess.run(["shellcheck", str(INSTALL)], check=False, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout


def _dry_run(tmp_path: Path, *args: str) -> str:
    prefix = tmp_path / "opt" / "kiosk"
    proc = subprocess.run(["bash", str(INSTALL), "--dry-run", "--prefix", str(prefix), *args],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert not (tmp_path / "opt").exists()  # a dry run changes nothing
    return proc.stdout


def test_install_dry_run_console_on_a_pi(tmp_path: Path) -> None:
    out = _dry_run(tmp_path, "--platform", "pi", "--display", "console", "--source", "camera:0")
    prefix = tmp_path / "opt" / "kiosk"
    for expected in (
        f"python3 -m venv --system-site-packages {prefix}/venv",
        f"{prefix}/venv/bin/kiosk models fetch",
        "/etc/kiosk/kiosk.yaml",
        "source:\\ \\'camera:0\\'",  # written into a new config (printed shell-quoted)
        f"{prefix}/venv/bin/kiosk check-config /etc/kiosk/kiosk.yaml",
        "/etc/systemd/system/kiosk.service",
        "systemctl enable kiosk.service",
        "--no-binary pygame",  # KMSDRM needs pygame built against the system SDL
        "consoleblank=0",
        "cgroup_enable=memory",
    ):
        assert expected in out, expected
    assert "enable kiosk-cage.service" not in out and "cage seatd" not in out


def test_install_dry_run_cage_on_a_jetson(tmp_path: Path) -> None:
    out = _dry_run(tmp_path, "--platform", "jetson", "--display", "cage")
    assert "/etc/systemd/system/kiosk-cage.service" in out
    assert "jetson.conf" in out
    assert "systemctl enable seatd.service" in out
    assert "systemctl enable kiosk-cage.service" in out
    assert "consoleblank" not in out  # no cmdline.txt on a Jetson


def test_install_refuses_a_prefix_under_home(tmp_path: Path) -> None:
    proc = subprocess.run(["bash", str(INSTALL), "--dry-run", "--prefix", "/home/pi/kiosk"],
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "ProtectHome" in proc.stderr

