"""Strict privacy mode, enforced in the process: no file writes, no network, no core dumps.

Two functions, called at two moments of start-up::

    prepare_environment()        # first thing in main(), before onnxruntime/mediapipe/matplotlib
    ... load config, models, open sources, build the pipeline ...
    install_guard(allow_write_paths=[report_path])   # then start the threads

:func:`~kiosk.privacy.environment.prepare_environment` (in :mod:`kiosk.privacy.environment`)
stops libraries from writing where they would by default: Python byte code, onnxruntime
telemetry, matplotlib's font cache (imported by MediaPipe's solutions package; it is rebuilt in
RAM at every start), and quietens glog/absl. It must run before those libraries are imported
because they read the environment at import.

:func:`install_guard` then makes the rest of the process lifetime fail closed:

- a ``sys.addaudithook`` hook refuses, with :class:`GuardRefusal` (a ``PermissionError``, so
  libraries that handle an unwritable disk degrade instead of crashing), every Python-level
  ``open`` for writing / appending / creating, ``os.rename/replace/remove/unlink/mkdir/rmdir``,
  links, ``truncate``, ``sqlite3.connect`` to a file, every socket that is not ``AF_UNIX``,
  ``connect``/``bind``/``sendto`` to non-Unix addresses, DNS look-ups, and starting programs
  (``subprocess``, ``os.system``, ``os.exec*``, ``os.posix_spawn``, ``os.spawn*``);
  writes to ``/dev`` device nodes (camera, display; not ``/dev/shm``) and to the operator's
  ``allow_write_paths`` (the ``--report`` file) remain possible;
- OpenCV's and pygame's C-level file writers (``cv2.imwrite``, ``cv2.imwritemulti``,
  ``cv2.VideoWriter``, ``pygame.image.save``) are replaced by refusing wrappers, because C code
  writes without raising audit events;
- ``prctl(PR_SET_DUMPABLE, 0)``: no core dump, and other processes of the same user cannot
  ptrace the kiosk or read its ``/proc/PID/mem``; ``RLIMIT_CORE`` is set to (0, 0) as well;
- ``prctl(PR_SET_NO_NEW_PRIVS, 1)``: nothing started later could gain privileges;
- ``mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)`` when ``RLIMIT_MEMLOCK`` is unlimited
  (the unit sets ``LimitMEMLOCK=infinity``) or the process may lock without limit: no frame is
  paged out to swap. With a finite limit, ``MCL_FUTURE`` would turn later allocations into
  failures, so it is skipped and reported; ``MemorySwapMax=0`` in the unit is then the guarantee.

What this cannot do: C and C++ code (onnxruntime, OpenCV internals, SDL, libcamera) calls the
kernel directly and raises no audit events, and ``ctypes`` can do anything. Those are covered by
the operating system (``ProtectSystem=strict`` makes every file read-only, ``PrivateNetwork=yes``
removes the network, ``RestrictAddressFamilies`` refuses Internet sockets) and checked by
``tools/privacy_audit.sh``, which traces every system call of a whole session. The audit hook
adds a clear, early error for the Python code, which is where a debugging leftover would be.

Audit hooks cannot be removed (PEP 578), so :func:`install_guard` works once per process; tests
run it in a subprocess. For tests, pass ``recorder=Recorder()``: every event that would be
refused is recorded and allowed instead.

Ordering in ``kiosk run`` (why): ``prepare_environment()`` before any heavy import (libraries
read the environment at import); config load, model sessions (including MediaPipe, whose import
builds matplotlib's font cache) and the pipeline with its source are set up *before*
``install_guard`` (they read files, probe devices and may write caches: all before the first
frame exists); ``install_guard`` before ``pipeline.start()`` (from the first frame on, nothing
may be written); the ``--report`` file is allow-listed rather than opened early, so a run that
fails leaves no empty report behind. Driver modules imported lazily by a source on reconnect
(Picamera2) should be imported before the guard too.
"""
from __future__ import annotations

import logging
import os
import socket
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kiosk.privacy import process_limits

log = logging.getLogger(__name__)

__all__ = [
    "GuardEvent",
    "GuardRefusal",
    "GuardReport",
    "Recorder",
    "guard_installed",
    "install_guard",
    "guard_exempt",
]

# Writing to these device-tree paths is allowed: they are device nodes (camera, DRM, input, tty,
# /dev/null), not files. /dev/shm and /dev/mqueue are file systems and are not exempt.
_DEV_PREFIX = "/dev/"
_DEV_FILESYSTEMS = ("/dev/shm/", "/dev/mqueue/")

_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND



class GuardRefusal(PermissionError):
    """Strict privacy mode refused an operation (a file write, a network socket, a program start)."""


@dataclass(frozen=True)
class GuardEvent:
    """One operation the guard refused (or, with a recorder, would have refused)."""

    event: str  # the audit event, e.g. "open", "socket.__new__", "cv2.imwrite"
    detail: str  # what it was about: a path, an address family, a command
    thread: str


class Recorder:
    """Collects :class:`GuardEvent` s instead of refusing them (for tests). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._events: list[GuardEvent] = []

    def add(self, event: GuardEvent) -> None:
        with self._lock:
            self._events.append(event)

    @property
    def events(self) -> list[GuardEvent]:
        with self._lock:
            return list(self._events)

    def as_dicts(self) -> list[dict[str, str]]:
        """The events as plain dicts (for ``json.dumps`` to a pre-opened fd)."""
        return [{"event": e.event, "detail": e.detail, "thread": e.thread} for e in self.events]


@dataclass(frozen=True)
class GuardReport:
    """What :func:`install_guard` managed to enable. Log :meth:`summary` at start-up."""

    mode: str  # "enforce" or "record"
    audit_hook: bool
    allow_write_paths: tuple[str, ...]
    patched_writers: tuple[str, ...]
    dumpable_off: bool
    core_limit_zero: bool
    no_new_privs: bool
    memory_locked: bool
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> str:
        """One line: which protections are active, and why any is not."""
        on = [name for name, active in (
            ("audit hook", self.audit_hook),
            ("C writers patched", bool(self.patched_writers)),
            ("not dumpable", self.dumpable_off),
            ("core size 0", self.core_limit_zero),
            ("no new privileges", self.no_new_privs),
            ("memory locked", self.memory_locked),
        ) if active]
        off = [name for name, active in (
            ("not dumpable", self.dumpable_off),
            ("core size 0", self.core_limit_zero),
            ("no new privileges", self.no_new_privs),
            ("memory locked", self.memory_locked),
        ) if not active]
        text = f"strict privacy guard ({self.mode}): " + ", ".join(on)
        if off:
            text += "; not active: " + ", ".join(off)
        if self.allow_write_paths:
            text += "; writable: " + ", ".join(self.allow_write_paths)
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


# --------------------------------------------------------------------------------------------
# The audit hook
# --------------------------------------------------------------------------------------------

_tls = threading.local()
_install_lock = threading.Lock()
_installed: GuardReport | None = None


class guard_exempt:
    """Context manager: the guard's own bookkeeping (and clean-up, e.g. the RAM scratch folder of
    :mod:`kiosk.privacy.environment`) is not checked by the hook."""

    def __enter__(self) -> None:
        _tls.busy = getattr(_tls, "busy", 0) + 1

    def __exit__(self, *_exc: object) -> None:
        _tls.busy -= 1


def _as_path(value: Any) -> str | None:
    """A path argument as text; None for an int (an fd that is already open)."""
    if isinstance(value, int):
        return None
    if isinstance(value, bytes):
        return os.fsdecode(value)
    return os.fspath(value)


class _Policy:
    """Decides whether an audit event is allowed; returns None (allowed) or what it was about."""

    def __init__(self, allow_write_paths: Sequence[Path]) -> None:
        self.allowed_files: set[str] = set()
        self.allowed_dirs: list[str] = []
        for p in allow_write_paths:
            resolved = os.path.realpath(os.path.abspath(os.fspath(p)))
            if os.path.isdir(resolved):
                self.allowed_dirs.append(resolved.rstrip("/") + "/")
            else:
                self.allowed_files.add(resolved)
        self.handlers: dict[str, Callable[[tuple[Any, ...]], str | None]] = {
            "open": self._open,
            "os.rename": lambda a: self._paths_writable(a[0], a[1]),  # also os.replace
            "os.link": lambda a: self._paths_writable(a[1]),
            "os.symlink": lambda a: self._paths_writable(a[1]),
            "os.remove": lambda a: self._paths_writable(a[0]),  # also os.unlink
            "os.rmdir": lambda a: self._paths_writable(a[0]),
            "os.mkdir": lambda a: self._paths_writable(a[0]),
            "os.truncate": lambda a: self._paths_writable(a[0]),
            "shutil.rmtree": lambda a: self._paths_writable(a[0]),
            "sqlite3.connect": self._sqlite,
            "socket.__new__": self._socket_new,
            "socket.connect": self._socket_address,
            "socket.bind": self._socket_address,
            "socket.sendto": self._socket_address,
            "socket.sendmsg": self._socket_address,
            "socket.getaddrinfo": lambda a: f"name look-up {a[0]!r}",
            "socket.gethostbyname": lambda a: f"name look-up {a[0]!r}",
            "socket.gethostbyname_ex": lambda a: f"name look-up {a[0]!r}",
            "socket.gethostbyaddr": lambda a: f"name look-up {a[0]!r}",
            "socket.getnameinfo": lambda a: f"name look-up {a[0]!r}",
            "subprocess.Popen": lambda a: f"start program {a[0] or a[1]!r}",
            "os.system": lambda a: f"start program via shell {a[0]!r}",
            "os.exec": lambda a: f"start program {a[0]!r}",
            "os.posix_spawn": lambda a: f"start program {a[0]!r}",
            "os.spawn": lambda a: f"start program {a[1]!r}",
            "urllib.Request": lambda a: f"URL {a[0]!r}",
            "http.client.connect": lambda a: f"HTTP connection to {a[1]!r}",
            "ftplib.connect": lambda a: f"FTP connection to {a[1]!r}",
            "smtplib.connect": lambda a: f"SMTP connection to {a[1]!r}",
            "webbrowser.open": lambda a: f"browser {a[0]!r}",
        }

    def writable(self, raw: Any) -> bool:
        """May this path be written? Device nodes and the allow-list only; fds always."""
        path = _as_path(raw)
        if path is None:
            return True
        resolved = os.path.realpath(os.path.abspath(path))
        if resolved.startswith(_DEV_PREFIX) and not (resolved + "/").startswith(_DEV_FILESYSTEMS):
            return True
        if resolved in self.allowed_files:
            return True
        return any(resolved.startswith(d) for d in self.allowed_dirs)

    def _paths_writable(self, *raws: Any) -> str | None:
        bad = [str(_as_path(r)) for r in raws if not self.writable(r)]
        return ", ".join(bad) if bad else None

    def _open(self, args: tuple[Any, ...]) -> str | None:
        path, mode, flags = (tuple(args) + (None, None, None))[:3]
        writing = False
        if isinstance(mode, str) and any(c in mode for c in "wax+"):
            writing = True
        if isinstance(flags, int) and flags & _WRITE_FLAGS:
            writing = True
        if not writing or self.writable(path):
            return None
        return f"{_as_path(path)} (mode {mode if mode is not None else oct(flags or 0)})"

    @staticmethod
    def _sqlite(args: tuple[Any, ...]) -> str | None:
        database = args[0] if args else None
        if isinstance(database, str) and (database == ":memory:" or "mode=memory" in database):
            return None
        return f"database {database!r}"

    @staticmethod
    def _socket_new(args: tuple[Any, ...]) -> str | None:
        family: Any = args[1] if len(args) > 1 else None
        if family == socket.AF_UNIX:
            return None
        try:
            name = socket.AddressFamily(family).name
        except (ValueError, TypeError):
            name = str(family)
        return f"socket family {name}"

    @staticmethod
    def _socket_address(args: tuple[Any, ...]) -> str | None:
        address = args[1] if len(args) > 1 else None
        # AF_UNIX addresses are str/bytes (paths, abstract names); None = connected socket.
        if address is None or isinstance(address, (str, bytes, bytearray)):
            return None
        return f"address {address!r}"


class _Hook:
    """The audit hook: cheap dict look-up for the few events it cares about."""

    def __init__(self, policy: _Policy, recorder: Recorder | None) -> None:
        self.policy = policy
        self.recorder = recorder
        self.refusals: dict[tuple[str, str], int] = {}

    def __call__(self, event: str, args: tuple[Any, ...]) -> None:
        handler = self.policy.handlers.get(event)
        busy: int = getattr(_tls, "busy", 0)
        if handler is None or busy:
            return
        _tls.busy = busy + 1
        try:
            detail = handler(args)
        except Exception as exc:  # noqa: BLE001 - arguments we cannot read: refuse (fail closed)
            detail = f"unreadable arguments {args!r:.200} ({type(exc).__name__})"
        finally:
            _tls.busy -= 1
        if detail is not None:
            self.refuse(event, detail)

    def refuse(self, event: str, detail: str) -> None:
        """Record (recorder mode) or raise GuardRefusal, logging each distinct refusal once."""
        item = GuardEvent(event=event, detail=detail, thread=threading.current_thread().name)
        if self.recorder is not None:
            self.recorder.add(item)
            return
        key = (event, detail)
        count = self.refusals.get(key, 0)
        if len(self.refusals) < 1000 or key in self.refusals:  # bounded: a loop cannot grow it
            self.refusals[key] = count + 1
        if count == 0 and not getattr(_tls, "logging", False):
            _tls.logging = True
            try:  # logging may itself raise audit events (and be refused): never recurse
                log.error("strict privacy mode refused %s: %s (thread %s)", event, detail, item.thread)
            except Exception:  # noqa: BLE001, S110 - a failing log handler must not mask the refusal
                pass
            finally:
                _tls.logging = False
        raise GuardRefusal(f"strict privacy mode refuses {event}: {detail}")


# --------------------------------------------------------------------------------------------
# C-level writers
# --------------------------------------------------------------------------------------------


def _wrap_writer(owner: Any, attr: str, label: str, hook: _Hook, path_index: int) -> bool:
    """Replace ``owner.attr`` by a wrapper that checks its path argument with the hook's policy.

    A path (str, bytes, PathLike) must be writable under the policy; a file object passes (its
    opening was checked); anything else, including a missing argument, is refused.
    """
    original = getattr(owner, attr, None)
    if original is None or getattr(original, "_kiosk_guarded", False):
        return False

    def guarded(*args: Any, **kwargs: Any) -> Any:
        target = args[path_index] if len(args) > path_index else kwargs.get("filename", kwargs.get("file"))
        if isinstance(target, (str, bytes, os.PathLike)):
            allowed = hook.policy.writable(target)
        else:
            allowed = target is not None and hasattr(target, "write")
        if not allowed:
            hook.refuse(label, str(_as_path(target) if isinstance(target, (str, bytes, os.PathLike)) else target))
        return original(*args, **kwargs)

    guarded._kiosk_guarded = True  # type: ignore[attr-defined]
    guarded.__doc__ = getattr(original, "__doc__", None)
    setattr(owner, attr, guarded)
    return True


def _patch_c_writers(hook: _Hook) -> tuple[str, ...]:
    """Guard the C-level image/video writers of libraries already imported.

    ``cv2.VideoWriter`` becomes a function (``isinstance`` checks against it stop working); a
    ``VideoWriter()`` made without a file name is refused, since its ``open()`` could not be checked.
    """
    patched: list[str] = []
    targets = [("cv2", ("imwrite", "imwritemulti", "imwriteanimation", "VideoWriter"), 0),
               ("pygame.image", ("save", "save_extended"), 1)]
    for module_name, attrs, path_index in targets:
        module = sys.modules.get(module_name)
        if module is None:
            continue
        for attr in attrs:
            if _wrap_writer(module, attr, f"{module_name}.{attr}", hook, path_index):
                patched.append(f"{module_name}.{attr}")
    return tuple(patched)


# --------------------------------------------------------------------------------------------
# Public entry point
# --------------------------------------------------------------------------------------------


def guard_installed() -> GuardReport | None:
    """The report of the guard installed in this process, or None."""
    return _installed


def install_guard(allow_write_paths: Sequence[Path] = (), *, recorder: Recorder | None = None,
                  lock_memory: bool = True) -> GuardReport:
    """Enforce strict privacy mode for the rest of the process lifetime (fails closed).

    Call once, after the configuration is loaded, the models are loaded (sessions created) and
    the pipeline (with its source) is constructed, and before its threads start: everything
    that legitimately reads or probes files is done by then, and no frame exists yet.

    ``allow_write_paths``: files (exact) or existing folders (with everything below) that may
    still be written; the CLI passes the ``--report`` file here (an operator-requested output of
    counters). With ``recorder``, would-be refusals are recorded and allowed (tests only).
    ``lock_memory=False`` skips ``mlockall``.

    Raises RuntimeError when called a second time in the same process (audit hooks cannot be
    removed, and a second set of rules would silently combine with the first).
    """
    global _installed
    with _install_lock:
        if _installed is not None:
            raise RuntimeError("the privacy guard is already installed in this process")
        policy = _Policy(allow_write_paths)
        hook = _Hook(policy, recorder)
        notes: list[str] = []
        libc = process_limits.libc()
        dumpable_off, nnp, note = process_limits.set_not_dumpable(libc)
        if note:
            notes.append(note)
        core_zero, note = process_limits.zero_core_limit()
        if note:
            notes.append(note)
        locked = False
        if lock_memory:
            locked, note = process_limits.lock_memory(libc)
            if note:
                notes.append(note)
        patched = _patch_c_writers(hook)
        sys.addaudithook(hook)
        allowed = tuple(sorted(policy.allowed_files)) + tuple(policy.allowed_dirs)
        _installed = GuardReport(
            mode="record" if recorder is not None else "enforce", audit_hook=True,
            allow_write_paths=allowed, patched_writers=patched, dumpable_off=dumpable_off,
            core_limit_zero=core_zero, no_new_privs=nnp, memory_locked=locked, notes=tuple(notes))
        log.info("%s", _installed.summary())
        return _installed

