"""The kernel sandbox's self-test, for ``kiosk doctor``: apply it in a throw-away process and try.

``kiosk doctor`` cannot apply the sandbox to itself (it starts ``systemd-analyze`` and other
checks afterwards), so it runs :func:`main` in a fresh single-threaded child: the child applies
:func:`kiosk.privacy.sandbox.apply_sandbox` exactly as ``kiosk run`` does (best effort, so that it
reports what it got instead of stopping), then attempts what the sandbox must refuse - creating a
file in a folder the parent made for it, opening an Internet socket, starting a program - and
prints one JSON line: which protections became active and how each attempt ended.
"""
from __future__ import annotations

import errno
import json
import os
import socket
import subprocess
import sys
from typing import Any

from kiosk.privacy.sandbox import apply_sandbox, kernel_support

ALLOWED = "allowed"


def _outcome(exc: OSError | None) -> str:
    if exc is None:
        return ALLOWED
    return errno.errorcode.get(exc.errno or 0, str(exc.errno))


def attempts(target_dir: str) -> dict[str, str]:
    """Try a file creation, an Internet socket and a program start; how each ended."""
    out: dict[str, str] = {}
    try:
        fd = os.open(os.path.join(target_dir, "written-under-the-sandbox"),
                     os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        os.close(fd)
        out["file_create"] = _outcome(None)
    except OSError as exc:
        out["file_create"] = _outcome(exc)
    try:
        socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
        out["inet_socket"] = _outcome(None)
    except OSError as exc:
        out["inet_socket"] = _outcome(exc)
    try:
        subprocess.run(["/bin/true"], check=False, timeout=10, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out["program_start"] = _outcome(None)
    except OSError as exc:
        out["program_start"] = _outcome(exc)
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -c 'from kiosk.privacy.selftest import main; main()' TARGET_DIR``: one JSON line."""
    args = sys.argv[1:] if argv is None else argv
    result: dict[str, Any] = {"support": kernel_support()}
    report = apply_sandbox((), (), mode="best_effort")
    result.update(landlock_abi=report.landlock_abi, landlock=report.landlock, seccomp=report.seccomp,
                  no_new_privs=report.no_new_privs, mdwe=report.mdwe, notes=list(report.notes))
    result["attempts"] = attempts(args[0])
    print(json.dumps(result), flush=True)
    return 0
