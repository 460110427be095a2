"""Kernel sandbox for strict privacy mode: Landlock, seccomp, no_new_privs, MDWE.

The Python audit hook (:mod:`kiosk.privacy.guard`) only sees what Python code does through
the standard library; native code and a few plain-Python paths go around it. This module asks
the kernel itself to refuse, for the whole process (every thread, every native library, every
child), what strict privacy mode promises never happens:

- **Landlock** (Linux >= 5.13): no file or folder may be created, written, truncated, renamed,
  removed or linked anywhere, except the ``--report`` file (which is created empty before the
  sandbox, so the rule can name exactly that file), the aggregates folder when
  ``persist_aggregates`` is on, and character device nodes under ``/dev`` (camera, display,
  input, ``/dev/null``; not ``/dev/shm``, ``/dev/mqueue``, ``/dev/hugepages`` nor any block
  device). Reading stays allowed. ``execve`` of any file is refused (``EXECUTE`` handled
  without a rule), and with ABI >= 4 TCP ``bind``/``connect`` too.
- **seccomp** (``SECCOMP_FILTER_FLAG_TSYNC``: every thread, children inherit it): ``execve``,
  ``execveat``, ``ptrace``, ``process_vm_readv/writev``, ``io_uring_*`` (whose operations would
  bypass the socket rule), and the metadata writes Landlock does not cover (``chmod``,
  ``chown`` and ``*xattr`` families) fail with ``EPERM``; ``socket()`` is allowed only for ``AF_UNIX``
  (display, journal, sd_notify) and ``AF_NETLINK`` (device hot-plug), so no Internet, packet or
  raw socket exists; a system call made with another architecture's convention (i386 or x32
  on x86_64) kills the process.
- **no_new_privs** (needed by both), and **PR_SET_MDWE** (Linux >= 6.3, the
  ``MemoryDenyWriteExecute=`` of the unit, applied by the process itself): no memory mapping
  may become writable and executable.

Why a small ctypes module and not a binding. PyPI's ``landlock`` (pure Python, also ctypes
inside) and ``pyseccomp`` / Debian's ``python3-seccomp`` (libseccomp's Cython binding) are sound,
but: libseccomp's Python binding is not on PyPI as a wheel for the Pi/Jetson images (it is a
Debian package, outside the venv), ``pyseccomp`` loads ``libseccomp.so.2`` that the Jetson image
may lack, and ``landlock`` does not yet know ABI 5-7. What is needed is three Landlock system calls,
one ``seccomp()`` call and a 30-instruction BPF program; written here (syscall numbers and
structure layouts from the kernel's UAPI headers, the same on x86_64 and aarch64 for Landlock),
it adds no dependency, works the same in the venv and under systemd, and is tested instruction
by instruction for both architectures with a small BPF interpreter (tests/test_sandbox.py).

Threads. ``landlock_restrict_self`` restricts the calling thread only (ABI 7 has no TSYNC), and
later threads inherit it. :func:`apply_sandbox` therefore refuses Landlock when the process has
more than one thread; ``kiosk run`` applies it after its heavy imports (with
``OPENBLAS_NUM_THREADS=1`` so numpy starts no BLAS thread) and before any model session, the
pipeline or the window create threads. The seccomp filter is synchronised to all threads anyway.
"""
from __future__ import annotations

import ctypes
import errno
import os
import platform
import stat
import struct
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "SandboxError",
    "SandboxReport",
    "apply_sandbox",
    "build_seccomp_filter",
    "kernel_support",
    "landlock_abi",
    "status_fields",
]

# --- Landlock UAPI (include/uapi/linux/landlock.h); numbers shared by all architectures -------
_NR_LANDLOCK_CREATE_RULESET = 444
_NR_LANDLOCK_ADD_RULE = 445
_NR_LANDLOCK_RESTRICT_SELF = 446
_LANDLOCK_CREATE_RULESET_VERSION = 1
_LANDLOCK_RULE_PATH_BENEATH = 1

FS_EXECUTE = 1 << 0
FS_WRITE_FILE = 1 << 1
FS_READ_FILE = 1 << 2
FS_READ_DIR = 1 << 3
FS_REMOVE_DIR = 1 << 4
FS_REMOVE_FILE = 1 << 5
FS_MAKE_CHAR = 1 << 6
FS_MAKE_DIR = 1 << 7
FS_MAKE_REG = 1 << 8
FS_MAKE_SOCK = 1 << 9
FS_MAKE_FIFO = 1 << 10
FS_MAKE_BLOCK = 1 << 11
FS_MAKE_SYM = 1 << 12
FS_REFER = 1 << 13  # ABI 2
FS_TRUNCATE = 1 << 14  # ABI 3
NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1

# Everything that changes the file system, plus execute. Reading is not handled (allowed).
# IOCTL_DEV (ABI 5) is not handled: the camera and the display need their ioctls.
_FS_HANDLED_ABI1 = (FS_EXECUTE | FS_WRITE_FILE | FS_REMOVE_DIR | FS_REMOVE_FILE | FS_MAKE_CHAR
                    | FS_MAKE_DIR | FS_MAKE_REG | FS_MAKE_SOCK | FS_MAKE_FIFO | FS_MAKE_BLOCK
                    | FS_MAKE_SYM)
_FILE_RIGHTS = FS_EXECUTE | FS_WRITE_FILE | FS_READ_FILE | FS_TRUNCATE  # allowed on a file rule


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1  # __attribute__((packed)) in the UAPI header: 12 bytes
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# --- seccomp (include/uapi/linux/seccomp.h, filter.h, audit.h) --------------------------------
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_ERRNO = 0x00050000
SECCOMP_RET_ALLOW = 0x7FFF0000
# classic BPF opcodes
_BPF_LD_W_ABS = 0x20  # BPF_LD | BPF_W | BPF_ABS
_BPF_JEQ_K = 0x15  # BPF_JMP | BPF_JEQ | BPF_K
_BPF_JGE_K = 0x35  # BPF_JMP | BPF_JGE | BPF_K
_BPF_RET_K = 0x06  # BPF_RET | BPF_K
# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_OFF_NR, _OFF_ARCH, _OFF_ARG0_LO = 0, 4, 16  # both architectures are little-endian

AF_UNIX, AF_NETLINK = 1, 16

ARCHES: dict[str, dict[str, Any]] = {
    "x86_64": {
        "audit_arch": 0xC000003E,  # AUDIT_ARCH_X86_64
        "x32_bit": 0x40000000,  # __X32_SYSCALL_BIT: x32 calls share the arch value
        "seccomp": 317,
        "deny": {"execve": 59, "execveat": 322, "ptrace": 101, "process_vm_readv": 310,
                 "process_vm_writev": 311, "io_uring_setup": 425, "io_uring_enter": 426,
                 "io_uring_register": 427,
                 # metadata Landlock (ABI 7) does not cover: modes, owners, extended attributes
                 "chmod": 90, "fchmod": 91, "fchmodat": 268, "fchmodat2": 452, "chown": 92,
                 "fchown": 93, "lchown": 94, "fchownat": 260, "setxattr": 188, "lsetxattr": 189,
                 "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198, "fremovexattr": 199,
                 "setxattrat": 463, "removexattrat": 466},
        "socket": 41,
    },
    "aarch64": {
        "audit_arch": 0xC00000B7,  # AUDIT_ARCH_AARCH64
        "x32_bit": None,
        "seccomp": 277,
        "deny": {"execve": 221, "execveat": 281, "ptrace": 117, "process_vm_readv": 270,
                 "process_vm_writev": 271, "io_uring_setup": 425, "io_uring_enter": 426,
                 "io_uring_register": 427,
                 "fchmod": 52, "fchmodat": 53, "fchmodat2": 452, "fchownat": 54, "fchown": 55,
                 "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14,
                 "lremovexattr": 15, "fremovexattr": 16, "setxattrat": 463, "removexattrat": 466},
        "socket": 198,
    },
}
_MACHINE_ALIASES = {"amd64": "x86_64", "arm64": "aarch64"}

# prctl
_PR_SET_NO_NEW_PRIVS = 38
_PR_GET_NO_NEW_PRIVS = 39
_PR_GET_SECCOMP = 21
_PR_SET_MDWE = 65
_PR_GET_MDWE = 66
_PR_MDWE_REFUSE_EXEC_GAIN = 1

# /dev folders that are file systems holding ordinary files, never device nodes.
_DEV_FILESYSTEMS = ("/dev/shm", "/dev/mqueue", "/dev/hugepages")


class SandboxError(RuntimeError):
    """The kernel sandbox could not be applied as required."""


@dataclass
class SandboxReport:
    """Which kernel protections are active in this process (after :func:`apply_sandbox`)."""

    landlock_abi: int = 0
    landlock: bool = False
    seccomp: bool = False
    no_new_privs: bool = False
    mdwe: bool = False
    writable: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        return self.landlock and self.seccomp and self.no_new_privs

    def summary(self) -> str:
        parts = [f"Landlock ABI {self.landlock_abi} {'active' if self.landlock else 'NOT active'}",
                 f"seccomp {'active' if self.seccomp else 'NOT active'}",
                 f"no_new_privs {'on' if self.no_new_privs else 'off'}",
                 f"MDWE {'on' if self.mdwe else 'off'}"]
        text = "kernel sandbox: " + ", ".join(parts)
        if self.landlock:
            text += "; writable: " + (", ".join(self.writable) or "nothing") + " (+ /dev character devices)"
        if self.notes:
            text += " (" + "; ".join(self.notes) + ")"
        return text


# --------------------------------------------------------------------------------------------
# low-level calls
# --------------------------------------------------------------------------------------------

_libc_cache: Any = None


def _libc() -> Any:
    global _libc_cache
    if _libc_cache is None:
        lib = ctypes.CDLL(None, use_errno=True)
        lib.syscall.restype = ctypes.c_long
        lib.prctl.restype = ctypes.c_int
        lib.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
        _libc_cache = lib
    return _libc_cache


def _syscall(nr: int, *args: Any) -> int:
    ctypes.set_errno(0)
    result = _libc().syscall(ctypes.c_long(nr), *args)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(result)


def _prctl(option: int, arg2: int = 0) -> int:
    ctypes.set_errno(0)
    result = _libc().prctl(option, arg2, 0, 0, 0)
    if result < 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))
    return int(result)


def machine() -> str:
    m = platform.machine().lower()
    return _MACHINE_ALIASES.get(m, m)


def landlock_abi() -> int:
    """The kernel's Landlock ABI version; 0 when Landlock is missing or disabled."""
    if not sys.platform.startswith("linux"):
        return 0
    try:
        return _syscall(_NR_LANDLOCK_CREATE_RULESET, None, ctypes.c_size_t(0),
                        ctypes.c_uint32(_LANDLOCK_CREATE_RULESET_VERSION))
    except OSError:
        return 0


def seccomp_available() -> bool:
    """True when the kernel has seccomp filters and this architecture has a filter here."""
    if not sys.platform.startswith("linux") or machine() not in ARCHES:
        return False
    try:
        _prctl(_PR_GET_SECCOMP)
    except OSError:
        return False
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            return any(line.startswith("Seccomp:") for line in fh)
    except OSError:
        return False


def mdwe_available() -> bool:
    try:
        _prctl(_PR_GET_MDWE)
        return True
    except OSError:
        return False


def kernel_support() -> dict[str, Any]:
    """What the running kernel offers (for ``kiosk doctor``), without changing anything."""
    return {"landlock_abi": landlock_abi(), "seccomp": seccomp_available(),
            "mdwe": mdwe_available(), "arch": machine()}


def status_fields(pid: int | str = "self") -> dict[str, str]:
    """``Seccomp``, ``NoNewPrivs`` and ``Seccomp_filters`` of ``/proc/PID/status``."""
    out: dict[str, str] = {}
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            for line in fh:
                key, _, value = line.partition(":")
                if key in ("Seccomp", "NoNewPrivs", "Seccomp_filters"):
                    out[key] = value.strip()
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------------------------
# seccomp filter
# --------------------------------------------------------------------------------------------

def build_seccomp_filter(arch: str, errno_value: int = errno.EPERM) -> list[tuple[int, int, int, int]]:
    """The BPF program for ``arch`` as (code, jt, jf, k) tuples (see the module doc)."""
    spec = ARCHES[arch]
    ret_errno = SECCOMP_RET_ERRNO | (errno_value & 0xFFFF)
    ret_afno = SECCOMP_RET_ERRNO | errno.EAFNOSUPPORT
    # Instructions reference labels; resolved to relative offsets below.
    prog: list[tuple[int, Any, Any, int]] = [
        (_BPF_LD_W_ABS, 0, 0, _OFF_ARCH),
        (_BPF_JEQ_K, 0, "kill", spec["audit_arch"]),
        (_BPF_LD_W_ABS, 0, 0, _OFF_NR),
    ]
    if spec["x32_bit"] is not None:
        prog.append((_BPF_JGE_K, "kill", 0, spec["x32_bit"]))
    for nr in spec["deny"].values():
        prog.append((_BPF_JEQ_K, "errno", 0, nr))
    prog += [
        (_BPF_JEQ_K, 0, "allow", spec["socket"]),
        (_BPF_LD_W_ABS, 0, 0, _OFF_ARG0_LO),  # socket(domain, ...): domain is an int
        (_BPF_JEQ_K, "allow", 0, AF_UNIX),
        (_BPF_JEQ_K, "allow", 0, AF_NETLINK),
        (_BPF_RET_K, 0, 0, ret_afno),
    ]
    labels = {"allow": len(prog), "errno": len(prog) + 1, "kill": len(prog) + 2}
    prog += [(_BPF_RET_K, 0, 0, SECCOMP_RET_ALLOW), (_BPF_RET_K, 0, 0, ret_errno),
             (_BPF_RET_K, 0, 0, SECCOMP_RET_KILL_PROCESS)]
    out = []
    for i, (code, jt, jf, k) in enumerate(prog):
        jt = labels[jt] - i - 1 if isinstance(jt, str) else jt
        jf = labels[jf] - i - 1 if isinstance(jf, str) else jf
        assert 0 <= jt < 256 and 0 <= jf < 256
        out.append((code, jt, jf, k))
    return out


def run_bpf(prog: Sequence[tuple[int, int, int, int]], data: bytes) -> int:
    """Interpret a seccomp BPF program on a ``struct seccomp_data`` (for tests and doctor)."""
    acc, pc = 0, 0
    while True:
        code, jt, jf, k = prog[pc]
        if code == _BPF_LD_W_ABS:
            acc = struct.unpack_from("<I", data, k)[0]
        elif code == _BPF_JEQ_K:
            pc += jt if acc == k else jf
        elif code == _BPF_JGE_K:
            pc += jt if acc >= k else jf
        elif code == _BPF_RET_K:
            return k
        else:
            raise ValueError(f"unknown BPF opcode {code:#x}")
        pc += 1


def seccomp_data(nr: int, arch: int, args: Sequence[int] = ()) -> bytes:
    full = list(args) + [0] * (6 - len(args))
    return struct.pack("<iIQ6Q", nr, arch, 0, *full)


def _install_seccomp(arch: str) -> None:
    prog = build_seccomp_filter(arch)

    class SockFilter(ctypes.Structure):
        _fields_ = [("code", ctypes.c_uint16), ("jt", ctypes.c_uint8), ("jf", ctypes.c_uint8),
                    ("k", ctypes.c_uint32)]

    class SockFprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(SockFilter))]

    filters = (SockFilter * len(prog))(*[SockFilter(*ins) for ins in prog])
    fprog = SockFprog(len(prog), ctypes.cast(filters, ctypes.POINTER(SockFilter)))
    result = _syscall(ARCHES[arch]["seccomp"], ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
                      ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC), ctypes.byref(fprog))
    if result != 0:  # with TSYNC, a positive value is the id of a thread that could not sync
        raise OSError(errno.EBUSY, f"thread {result} could not take the seccomp filter")


# --------------------------------------------------------------------------------------------
# Landlock
# --------------------------------------------------------------------------------------------

def _device_nodes(root: str = "/dev") -> Iterable[str]:
    """Character device nodes below /dev (not in its RAM file systems; no symlinks)."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames[:] = [d for d in dirnames if os.path.join(dirpath, d) not in _DEV_FILESYSTEMS]
        for name in filenames:
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISCHR(st.st_mode):
                yield path


def _landlock(abi: int, rules: Sequence[tuple[str, int]]) -> None:
    handled_fs = _FS_HANDLED_ABI1
    if abi >= 2:
        handled_fs |= FS_REFER
    if abi >= 3:
        handled_fs |= FS_TRUNCATE
    attr = _RulesetAttr(handled_fs, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0, 0)
    size = 8 if abi < 4 else 16  # no scope: X11 uses abstract Unix sockets
    ruleset = _syscall(_NR_LANDLOCK_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size),
                       ctypes.c_uint32(0))
    try:
        for path, access in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
            except OSError:
                continue  # a device that vanished
            try:
                is_dir = stat.S_ISDIR(os.fstat(fd).st_mode)
                allowed = (access if is_dir else access & _FILE_RIGHTS) & handled_fs
                beneath = _PathBeneathAttr(allowed, fd)
                _syscall(_NR_LANDLOCK_ADD_RULE, ctypes.c_int(ruleset),
                         ctypes.c_int(_LANDLOCK_RULE_PATH_BENEATH), ctypes.byref(beneath),
                         ctypes.c_uint32(0))
            finally:
                os.close(fd)
        _syscall(_NR_LANDLOCK_RESTRICT_SELF, ctypes.c_int(ruleset), ctypes.c_uint32(0))
    finally:
        os.close(ruleset)


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


# --------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------

def apply_sandbox(write_files: Sequence[Path] = (), write_dirs: Sequence[Path] = (), *,
                  mode: str = "required", mdwe: bool = True) -> SandboxReport:
    """Restrict this process (and all it starts) for the rest of its life.

    ``write_files``: existing files that may be written and truncated (not created, renamed or
    removed). ``write_dirs``: folders in which files may be created, written, renamed and removed
    (the aggregates folder). ``mode``: ``required`` raises :class:`SandboxError` when Landlock,
    seccomp or no_new_privs cannot be applied; ``best_effort`` applies what it can and lists the
    rest in ``notes``; ``off`` does nothing. MDWE is always best effort (Linux >= 6.3).
    """
    report = SandboxReport()
    if mode == "off":
        report.notes.append("privacy.kernel_enforcement is off")
        return report
    report.landlock_abi = landlock_abi()
    arch = machine()
    try:
        _prctl(_PR_SET_NO_NEW_PRIVS, 1)
        report.no_new_privs = _prctl(_PR_GET_NO_NEW_PRIVS) == 1
    except OSError as exc:
        report.notes.append(f"no_new_privs: {exc.strerror}")

    if report.landlock_abi < 1:
        report.notes.append("the kernel has no Landlock (Linux >= 5.13 with lsm=landlock)")
    elif (threads := thread_count()) > 1:
        report.notes.append(f"Landlock would cover only 1 of {threads} threads: apply before threads start")
    else:
        rules: list[tuple[str, int]] = [(p, FS_WRITE_FILE) for p in _device_nodes()]
        writable: list[str] = []
        for f in write_files:
            rules.append((os.path.realpath(f), FS_WRITE_FILE | FS_TRUNCATE))
            writable.append(os.path.realpath(f))
        for d in write_dirs:
            rules.append((os.path.realpath(d), FS_WRITE_FILE | FS_TRUNCATE | FS_MAKE_REG | FS_REMOVE_FILE))
            writable.append(os.path.realpath(d).rstrip("/") + "/")
        try:
            _landlock(report.landlock_abi, rules)
            report.landlock = True
            report.writable = tuple(writable)
        except OSError as exc:
            report.notes.append(f"Landlock: {exc.strerror}")

    if arch not in ARCHES:
        report.notes.append(f"no seccomp filter for architecture {arch}")
    elif not seccomp_available():
        report.notes.append("the kernel has no seccomp filters (CONFIG_SECCOMP_FILTER)")
    else:
        try:
            _install_seccomp(arch)
            report.seccomp = status_fields().get("Seccomp") == "2"
        except OSError as exc:
            report.notes.append(f"seccomp: {exc.strerror}")

    if mdwe:
        try:
            _prctl(_PR_SET_MDWE, _PR_MDWE_REFUSE_EXEC_GAIN)
            report.mdwe = True
        except OSError as exc:
            report.notes.append(f"MDWE: {exc.strerror} (Linux >= 6.3)")

    if mode == "required" and not report.complete:
        raise SandboxError(
            "strict privacy mode needs the kernel sandbox, and it is not complete here: "
            + "; ".join(report.notes)
            + ". Use a kernel with Landlock and seccomp, or set privacy.kernel_enforcement: "
            "best_effort (runs with a warning on screen) in the config.")
    return report
