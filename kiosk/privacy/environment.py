"""Before any heavy import: stop libraries from writing to disk (strict privacy mode, step one).

:func:`prepare_environment` is the first thing ``kiosk run`` does; :func:`kiosk.privacy.guard.install_guard`
is step two (see :mod:`kiosk.privacy.guard` for the order and why). This module sets the
environment variables libraries read at import, keeps matplotlib's cache in a private RAM
folder, and deletes that folder again (:func:`release_scratch`, and at exit).
"""
from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kiosk.privacy.guard import guard_exempt

__all__ = ["EnvironmentReport", "prepare_environment", "ram_filesystem", "release_scratch"]

_RAM_FILESYSTEMS = frozenset({"tmpfs", "ramfs"})


@dataclass(frozen=True)
class EnvironmentReport:
    """What :func:`prepare_environment` set; ``scratch_dir`` is the RAM folder for library caches."""

    scratch_dir: Path | None
    scratch_in_ram: bool
    variables: Mapping[str, str]
    notes: tuple[str, ...]


def ram_filesystem(path: Path) -> bool:
    """True if ``path`` lies on a tmpfs/ramfs (per ``/proc/self/mounts``; False if unknown)."""
    try:
        target = os.path.realpath(path)
        with open("/proc/self/mounts", encoding="utf-8") as fh:
            mounts = [line.split()[:3] for line in fh]
    except OSError:
        return False
    best, fstype = "", ""
    for _dev, mount_point, kind in (m for m in mounts if len(m) == 3):
        mp = mount_point.replace("\\040", " ")
        inside = target == mp or target.startswith(mp.rstrip("/") + "/")
        if inside and len(mp) >= len(best):
            best, fstype = mp, kind  # later mounts over the same point win
    return fstype in _RAM_FILESYSTEMS


def _private_ram_dir(environ: Mapping[str, str]) -> tuple[Path | None, bool, str | None]:
    """A 0700 folder in RAM for library caches: (path, created_by_us, note).

    In order: systemd's ``$RUNTIME_DIRECTORY`` (the unit's ``RuntimeDirectory=kiosk``: tmpfs,
    owned by the service user, mode 0700, deleted when the service stops, not shared with other
    services; the right place under systemd), a new folder in ``$XDG_RUNTIME_DIR`` (a login
    session's tmpfs), a new folder in ``/dev/shm``. ``PrivateTmp=`` does not help: it gives a
    private /tmp, but on Raspberry Pi OS and Ubuntu /tmp is on the SD card / disk.
    """
    runtime = environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    if runtime and os.path.isdir(runtime) and os.access(runtime, os.W_OK):
        return Path(runtime), False, None
    for base in (environ.get("XDG_RUNTIME_DIR", ""), "/dev/shm"):
        if base and os.path.isdir(base) and os.access(base, os.W_OK) and ram_filesystem(Path(base)):
            try:
                return Path(tempfile.mkdtemp(prefix=f"kiosk-{os.getpid()}-", dir=base)), True, None
            except OSError:
                continue
    return None, False, "no writable RAM folder ($RUNTIME_DIRECTORY, $XDG_RUNTIME_DIR, /dev/shm)"


def prepare_environment(environ: MutableMapping[str, str] | None = None) -> EnvironmentReport:
    """Stop libraries from writing to disk; call before importing onnxruntime/mediapipe/matplotlib.

    Sets (the environment is read by those libraries at import):

    - ``sys.dont_write_bytecode = True`` and ``PYTHONDONTWRITEBYTECODE=1``: no ``.pyc`` files
      for modules imported from now on (the unit sets the variable for the interpreter start).
    - ``ORT_DISABLE_TELEMETRY=1`` (forced): onnxruntime >= 1.29 otherwise writes a telemetry
      database and a device id.
    - ``MPLCONFIGDIR`` (unless set): a private RAM folder. MediaPipe's ``solutions`` package
      imports ``matplotlib.pyplot``, whose import runs ``fc-list`` and writes a font list cache
      (``~/.cache/matplotlib/fontlist-*.json``) and creates ``~/.config/matplotlib``. In RAM
      the cache is rebuilt at each start (a fraction of a second) and nothing reaches the disk.
      ``MPLBACKEND=Agg`` (unless set): no GUI toolkit import (which could talk to a display).
    - ``GLOG_logtostderr=1`` (unless set): glog, used by MediaPipe builds, otherwise also writes
      log files to /tmp. ``GLOG_minloglevel=2`` and ``TF_CPP_MIN_LOG_LEVEL=2`` (unless set)
      quieten glog/TensorFlow INFO lines. MediaPipe 0.10.18 logs through absl, which ignores
      all three: its few start-up lines (XNNPACK delegate, feedback tensors) still reach stderr,
      i.e. the journal, and never a file (checked with strace).
    - ``PYGAME_HIDE_SUPPORT_PROMPT=1`` (unless set).

    A folder this function creates (outside systemd's runtime directory) is deleted at exit.
    Idempotent. Returns what it did; log ``notes`` at WARNING.
    """
    # long: an ordered list of environment settings, each with the comment saying which library it
    # keeps from writing; the order matters (before heavy imports), so it stays one list
    env = os.environ if environ is None else environ
    sys.dont_write_bytecode = True
    set_vars: dict[str, str] = {}
    notes: list[str] = []

    def put(key: str, value: str, force: bool = False) -> None:
        if force or key not in env:
            if env.get(key) not in (None, value):
                notes.append(f"{key} was {env[key]!r}, set to {value!r}")
            env[key] = value
            set_vars[key] = value

    put("PYTHONDONTWRITEBYTECODE", "1")
    put("ORT_DISABLE_TELEMETRY", "1", force=True)
    put("MPLBACKEND", "Agg")
    put("GLOG_logtostderr", "1")
    put("GLOG_minloglevel", "2")
    put("TF_CPP_MIN_LOG_LEVEL", "2")
    put("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    # Native libraries that would otherwise write or start programs once a window exists:
    # Mesa's shader cache (~/.cache/mesa_shader_cache), SDL's D-Bus session (dbus-launch).
    put("MESA_SHADER_CACHE_DISABLE", "true", force=True)
    put("MESA_GLSL_CACHE_DISABLE", "true", force=True)
    put("DBUS_SESSION_BUS_ADDRESS", "disabled:", force=True)
    # SDL would draw the window through an OpenGL renderer; with Mesa's llvmpipe that JIT-compiles
    # into writable+executable memory, which the sandbox's MDWE (and the unit's
    # MemoryDenyWriteExecute=yes) refuses with a crash. The plain X11/KMS framebuffer needs none.
    put("SDL_FRAMEBUFFER_ACCELERATION", "0", force=True)
    # numpy's OpenBLAS starts its worker threads at import; the kernel sandbox (Landlock) must be
    # applied while the process has a single thread (kiosk.sandbox), so BLAS runs in the caller.
    put("OPENBLAS_NUM_THREADS", "1")
    # OpenCV's own decoder limit (default 2**30 pixels, 3 GB decoded): the kiosk checks image
    # headers first (kiosk.safe_input); this backs it up for formats it does not parse.
    put("OPENCV_IO_MAX_IMAGE_PIXELS", "40000000")
    _clean_library_path(env, notes)
    _remove_stale_scratch()

    scratch: Path | None
    if env.get("MPLCONFIGDIR"):
        scratch = Path(env["MPLCONFIGDIR"])
        if not scratch.exists():
            try:
                scratch.mkdir(mode=0o700, parents=True)
            except OSError as exc:
                notes.append(f"cannot create MPLCONFIGDIR {scratch}: {exc}")
    else:
        base, created, note = _private_ram_dir(env)
        if note:
            notes.append(note)
        scratch = None
        if base is not None:
            scratch = base / "matplotlib" if not created else base
            if not created:
                scratch.mkdir(mode=0o700, exist_ok=True)
            else:
                atexit.register(_remove_scratch, base)
                _scratch_created.append(base)
            put("MPLCONFIGDIR", str(scratch))
    in_ram = scratch is not None and ram_filesystem(scratch)
    if scratch is not None and not in_ram:
        notes.append(f"MPLCONFIGDIR {scratch} is not in RAM: matplotlib's font list cache is written there")
    return EnvironmentReport(scratch_dir=scratch, scratch_in_ram=in_ram, variables=set_vars,
                             notes=tuple(notes))


def _clean_library_path(env: MutableMapping[str, str], notes: list[str]) -> None:
    """Drop empty and relative entries of ``LD_LIBRARY_PATH`` (opencv-python leaves a trailing
    ``:``, which makes every child search the working folder for libraries)."""
    value = env.get("LD_LIBRARY_PATH")
    if value is None:
        return
    kept = [p for p in value.split(":") if p and os.path.isabs(p)]
    if ":".join(kept) != value:
        notes.append(f"LD_LIBRARY_PATH cleaned (empty or relative entries removed): {value!r}")
        if kept:
            env["LD_LIBRARY_PATH"] = ":".join(kept)
        else:
            del env["LD_LIBRARY_PATH"]


def _remove_stale_scratch(bases: Sequence[str] = ("/dev/shm",)) -> list[str]:
    """Remove ``kiosk-<pid>-*`` scratch folders whose process is gone (SIGKILL, watchdog abort)."""
    removed: list[str] = []
    uid = os.geteuid()
    for base in bases:
        try:
            names = os.listdir(base)
        except OSError:
            continue
        for name in names:
            parts = name.split("-")
            if len(parts) < 3 or parts[0] != "kiosk" or not parts[1].isdigit():
                continue
            path = os.path.join(base, name)
            try:
                if os.lstat(path).st_uid != uid or os.path.exists(f"/proc/{parts[1]}"):
                    continue
            except OSError:
                continue
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


_scratch_created: list[Path] = []


def release_scratch() -> None:
    """Delete the RAM scratch folder now (before the kernel sandbox, which forbids it later)."""
    while _scratch_created:
        _remove_scratch(_scratch_created.pop())


def _remove_scratch(path: Path) -> None:
    """atexit: delete a scratch folder we created (the guard lets its own clean-up through)."""
    with guard_exempt():
        shutil.rmtree(path, ignore_errors=True)
