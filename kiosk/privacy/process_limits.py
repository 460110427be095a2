"""The process's own limits, set by :func:`kiosk.privacy.guard.install_guard` (Linux only).

- ``prctl(PR_SET_DUMPABLE, 0)``: no core dump, and no other process of the same user can ptrace
  the kiosk or read its memory; ``RLIMIT_CORE`` (0, 0) as well;
- ``prctl(PR_SET_NO_NEW_PRIVS, 1)``: nothing started later could gain privileges;
- ``mlockall``: no frame is paged out to swap, when that cannot make later allocations fail.

Each function returns whether it worked and, if not, a note for the guard's report.
"""
from __future__ import annotations

import ctypes
import os
import sys
from typing import Any

__all__ = ["libc", "lock_memory", "set_not_dumpable", "zero_core_limit"]

# prctl(2) options and mlockall(2) flags (Linux ABI constants; identical on x86_64 and aarch64).
_PR_SET_DUMPABLE = 4
_PR_GET_DUMPABLE = 3
_PR_SET_NO_NEW_PRIVS = 38
_MCL_CURRENT = 1
_MCL_FUTURE = 2
_MCL_ONFAULT = 4


def libc() -> Any | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        # CDLL(None): the symbols already loaded into the process (glibc or musl). Not
        # ctypes.util.find_library, which starts /sbin/ldconfig and gcc.
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def set_not_dumpable(libc: Any) -> tuple[bool, bool, str | None]:
    """(dumpable off, no_new_privs on, note)."""
    if libc is None:
        return False, False, "prctl: not Linux"
    prctl = libc.prctl
    prctl.restype = ctypes.c_int
    prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
    notes = []
    off = prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0) == 0 and prctl(_PR_GET_DUMPABLE, 0, 0, 0, 0) == 0
    if not off:
        notes.append(f"PR_SET_DUMPABLE failed: {os.strerror(ctypes.get_errno())}")
    nnp = prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0
    if not nnp:
        notes.append(f"PR_SET_NO_NEW_PRIVS failed: {os.strerror(ctypes.get_errno())}")
    return off, nnp, "; ".join(notes) or None


def zero_core_limit() -> tuple[bool, str | None]:
    try:
        import resource
    except ImportError:
        return False, "resource module unavailable"
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    except (OSError, ValueError) as exc:
        return False, f"RLIMIT_CORE: {exc}"
    return resource.getrlimit(resource.RLIMIT_CORE) == (0, 0), None


def lock_memory(libc: Any) -> tuple[bool, str | None]:
    """mlockall when it cannot make later allocations fail; (locked, note)."""
    if libc is None:
        return False, "mlockall: not Linux"
    import resource

    soft, _hard = resource.getrlimit(resource.RLIMIT_MEMLOCK)
    if soft != resource.RLIM_INFINITY and os.geteuid() != 0:
        return False, (f"memory not locked: RLIMIT_MEMLOCK is {soft // 1024} KiB (the unit's "
                       "LimitMEMLOCK=infinity allows it; MemorySwapMax=0 keeps frames off swap)")
    mlockall = libc.mlockall
    mlockall.restype = ctypes.c_int
    mlockall.argtypes = [ctypes.c_int]
    # MCL_ONFAULT (Linux >= 4.4): lock pages as they are touched, so huge virtual reservations
    # (thread stacks, allocator arenas) are not all faulted in at once.
    if mlockall(_MCL_CURRENT | _MCL_FUTURE | _MCL_ONFAULT) == 0:
        return True, None
    err = ctypes.get_errno()
    if mlockall(_MCL_CURRENT | _MCL_FUTURE) == 0:
        return True, None
    return False, f"mlockall failed: {os.strerror(ctypes.get_errno() or err)}"
