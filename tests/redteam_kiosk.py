"""Run ``kiosk run`` and, once it is running, try every known way around strict privacy mode.

Used by tests/test_sandbox_redteam.py as ``python tests/redteam_kiosk.py OUT_DIR kiosk-args...``.
The Python audit hook is replaced by a no-op here, so that every refusal seen comes from the
kernel sandbox (Landlock, seccomp) and not from the second layer. The attacks run in a thread
started after the pipeline started (so inside the sandboxed process, in a thread it inherits);
the results are printed as one ``REDTEAM {json}`` line on stdout, then the kiosk is stopped.
"""
from __future__ import annotations

import ctypes
import errno
import json
import multiprocessing
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from types import SimpleNamespace

OUT = sys.argv[1]


def _result(fn):  # noqa: ANN001, ANN202
    try:
        value = fn()
    except OSError as exc:
        return {"ok": False, "errno": exc.errno, "error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "errno": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"ok": bool(value), "errno": None, "error": None if value else "no effect"}


def attacks() -> dict:
    d = OUT
    frame = bytes(640 * 480 * 3)

    def dir_fd_open():
        fd = os.open(d, os.O_RDONLY)
        try:
            os.close(os.open("dirfd-file", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd))
        finally:
            os.close(fd)
        return os.path.exists(os.path.join(d, "dirfd-file"))

    def dir_fd_mkdir():
        fd = os.open(d, os.O_RDONLY)
        try:
            os.mkdir("dirfd-dir", dir_fd=fd)
        finally:
            os.close(fd)
        return os.path.isdir(os.path.join(d, "dirfd-dir"))

    def sqlite_file():
        con = sqlite3.connect(f"file:{d}/db.sqlite?mode=rwc", uri=True)
        con.execute("create table t (x)")
        con.commit()
        con.close()
        return os.path.getsize(os.path.join(d, "db.sqlite")) > 0

    def fork_exec():  # subprocess -> _posixsubprocess.fork_exec -> execve
        subprocess.run(["/bin/sh", "-c", f"echo x > {d}/exec-file"], check=True)
        return os.path.exists(os.path.join(d, "exec-file"))

    def multiprocessing_spawn():
        p = multiprocessing.get_context("spawn").Process(target=os.mkdir, args=(f"{d}/spawn-dir",))
        p.start()
        p.join(60)
        return os.path.isdir(f"{d}/spawn-dir")

    def mkfifo():
        os.mkfifo(f"{d}/fifo")
        return True

    def chmod():
        os.chmod(f"{d}/existing", 0o777)
        return (os.stat(f"{d}/existing").st_mode & 0o777) == 0o777

    def ctypes_write():
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.open(f"{d}/ctypes-file".encode(), os.O_WRONLY | os.O_CREAT, 0o644)
        if fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, os.strerror(e))
        libc.write(fd, frame, len(frame))
        libc.close(fd)
        return os.path.getsize(f"{d}/ctypes-file") == len(frame)

    shm = f"/dev/shm/kiosk-redteam-{os.getpid()}"

    def dev_shm_write():
        with open(shm, "wb") as fh:
            fh.write(frame)
        return os.path.getsize(shm) == len(frame)

    def o_tmpfile():
        fd = os.open(d, os.O_TMPFILE | os.O_RDWR, 0o600)
        os.write(fd, frame)
        os.close(fd)
        return True

    def inet_socket():
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM).close()
        return True

    def inet6_socket():
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM).close()
        return True

    def packet_socket():
        socket.socket(socket.AF_PACKET, socket.SOCK_RAW).close()
        return True

    def exec_self():  # execve in a forked child of the kiosk
        pid = os.fork()
        if pid == 0:
            try:
                os.execv("/bin/true", ["/bin/true"])
            except OSError as exc:
                os._exit(100 + (exc.errno or 0) % 100)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise OSError(code - 100, f"execve failed in the child: {os.strerror(code - 100)}")
        return True

    out = {}
    for name, fn in [("dir_fd_open", dir_fd_open), ("dir_fd_mkdir", dir_fd_mkdir),
                     ("sqlite_file", sqlite_file), ("fork_exec", fork_exec),
                     ("multiprocessing_spawn", multiprocessing_spawn), ("mkfifo", mkfifo),
                     ("chmod", chmod), ("ctypes_open_write", ctypes_write),
                     ("dev_shm_write", dev_shm_write), ("o_tmpfile", o_tmpfile),
                     ("inet_socket", inet_socket), ("inet6_socket", inet6_socket),
                     ("packet_socket", packet_socket), ("exec", exec_self)]:
        out[name] = _result(fn)
    try:
        os.remove(shm)
    except OSError:
        pass
    return out


def main() -> int:
    # This harness imports kiosk.pipeline (numpy) before kiosk.cli.main runs prepare_environment:
    # keep numpy from starting its BLAS thread, as prepare_environment would.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    import kiosk.pipeline as pipeline_mod
    import kiosk.privacy.guard as guard_mod

    guard_mod.install_guard = lambda *a, **k: SimpleNamespace(summary=lambda: "audit hook left out (red-team)")
    original_start = pipeline_mod.Pipeline.start

    def start(self):  # noqa: ANN001, ANN202
        original_start(self)

        def go() -> None:
            time.sleep(float(os.environ.get("REDTEAM_DELAY_S", "2")))
            status = {}
            for task in os.listdir("/proc/self/task"):
                with open(f"/proc/self/task/{task}/status", encoding="ascii") as fh:
                    fields = dict(line.split(":", 1) for line in fh if ":" in line)
                status[task] = {k: fields[k].strip() for k in ("Seccomp", "NoNewPrivs") if k in fields}
            result = {"attacks": attacks(), "threads": status}
            sys.stdout.write("REDTEAM " + json.dumps(result) + "\n")
            sys.stdout.flush()
            self.stop_event.set()

        threading.Thread(target=go, name="redteam", daemon=True).start()

    pipeline_mod.Pipeline.start = start
    from kiosk.cli import main as kiosk_main
    return kiosk_main(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
