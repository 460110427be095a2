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
        "ProtectSystem": "strict", "ProtectHome": "yes", "TemporaryFileSystem": "/tmp:ro /var/tmp:ro",
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



# --- issue 16: the unit tells the truth about what is writable --------------------------------

AGGREGATES_DROPIN = REPO / "systemd" / "aggregates.conf"
WRITABLE_KEYS = ("StateDirectory", "CacheDirectory", "LogsDirectory", "ConfigurationDirectory",
                 "ReadWritePaths", "BindPaths")


def _merged(*paths: Path) -> dict[str, list[str]]:
    """A unit with drop-ins applied: later files append; an empty value resets the list."""
    merged: dict[str, list[str]] = {}
    for path in paths:
        for key, values in parse_unit(path).items():
            for value in values:
                if value == "":
                    merged[key] = []
                else:
                    merged.setdefault(key, []).append(value)
    return merged


def writable_paths(unit: dict[str, list[str]]) -> set[str]:
    """Every place on disk or in RAM that the unit leaves writable for the service."""
    out = {"/run/" + v for vs in unit.get("Service.RuntimeDirectory", []) for v in vs.split()}
    for key, prefix in (("StateDirectory", "/var/lib/"), ("CacheDirectory", "/var/cache/"),
                        ("LogsDirectory", "/var/log/"), ("ConfigurationDirectory", "/etc/")):
        out |= {prefix + v for vs in unit.get(f"Service.{key}", []) for v in vs.split()}
    out |= {v.lstrip("-") for key in ("ReadWritePaths", "BindPaths")
            for vs in unit.get(f"Service.{key}", []) for v in vs.split()}
    if unit.get("Service.PrivateTmp", ["no"])[-1] == "yes":
        out |= {"/tmp", "/var/tmp"}
    ro = {v.lstrip("-") for vs in unit.get("Service.ReadOnlyPaths", []) + unit.get("Service.InaccessiblePaths", [])
          for v in vs.split()}
    tmpfs = {v.split(":")[0]: v for vs in unit.get("Service.TemporaryFileSystem", []) for v in vs.split()}
    for path, spec in tmpfs.items():
        if not spec.endswith(":ro"):
            out.add(path)
    # /dev/shm and /dev/mqueue stay writable under ProtectSystem=strict unless made read-only
    if "/dev/shm" not in ro:
        out.add("/dev/shm")
    if "/dev/mqueue" not in ro and unit.get("Service.PrivateIPC", ["no"])[-1] != "yes":
        out.add("/dev/mqueue")
    if "/tmp" not in tmpfs and "/tmp" not in ro and unit.get("Service.PrivateTmp", ["no"])[-1] != "yes":
        out.add("/tmp")  # the host's /tmp
    return out


VARIANTS = {
    "plain": ["kiosk.service"],
    "plain+aggregates": ["kiosk.service", "aggregates.conf"],
    "plain+jetson": ["kiosk.service", "jetson.conf"],
    "plain+jetson+aggregates": ["kiosk.service", "jetson.conf", "aggregates.conf"],
    "cage": ["kiosk-cage.service"],
    "cage+aggregates": ["kiosk-cage.service", "aggregates.conf"],
    "cage+jetson": ["kiosk-cage.service", "jetson.conf"],
}


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_only_run_kiosk_is_writable_and_state_only_with_aggregates(variant: str) -> None:
    files = [REPO / "systemd" / name for name in VARIANTS[variant]]
    unit = _merged(*files)
    assert unit["Service.ProtectSystem"][-1] == "strict" and unit["Service.ProtectHome"][-1] == "yes"
    expected = {"/run/kiosk"} | ({"/var/lib/kiosk"} if "aggregates" in variant else set())
    assert writable_paths(unit) == expected, variant


def test_aggregates_dropin_adds_only_the_state_folder() -> None:
    keys = {k for k in parse_unit(AGGREGATES_DROPIN)}
    assert keys == {"Service.StateDirectory", "Service.StateDirectoryMode"}


def test_privacy_md_table_matches_the_units() -> None:
    """Every directive PRIVACY.md's enforcement table quotes is in both units, with that value."""
    text = (REPO / "docs" / "PRIVACY.md").read_text(encoding="utf-8")
    section = text.split("## What is enforced by whom", 1)[1].split("\n## ", 1)[0]
    quoted = re.findall(r"`([A-Z][A-Za-z]+)=([^`]*)`", section)
    assert len(quoted) >= 10, quoted
    for name in UNITS:
        unit = parse_unit(UNITS[name])
        for key, value in quoted:
            values = unit.get(f"Service.{key}")
            assert values is not None, f"{name}: PRIVACY.md quotes {key}= but the unit has none"
            joined = " ".join(values)
            assert value in values or value == joined or all(v in joined.split() for v in value.split()), \
                f"{name}: PRIVACY.md says {key}={value}, the unit says {values}"
