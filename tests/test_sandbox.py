"""The kernel sandbox of strict privacy mode (kiosk.privacy.sandbox): the BPF program on both
architectures, and the red team: every known way around the Python guard, tried inside a running
kiosk, is refused by the kernel - and succeeds when the sandbox is switched off.

The kiosk runs in child processes only: the test runner itself is never sandboxed.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.privacy import sandbox

REPO = Path(__file__).resolve().parents[1]
HARNESS = REPO / "tests" / "redteam_kiosk.py"


# --- the BPF program, interpreted, for x86_64 and aarch64 -----------------------------------

@pytest.mark.parametrize("arch", sorted(sandbox.ARCHES))
def test_seccomp_filter_decisions(arch: str) -> None:
    spec = sandbox.ARCHES[arch]
    prog = sandbox.build_seccomp_filter(arch)
    assert len(prog) < 256
    run = lambda nr, *args, a=spec["audit_arch"]: sandbox.run_bpf(prog, sandbox.seccomp_data(nr, a, args))  # noqa: E731
    eperm = sandbox.SECCOMP_RET_ERRNO | errno.EPERM
    for name, nr in spec["deny"].items():
        assert run(nr) == eperm, name
    sock = spec["socket"]
    assert run(sock, sandbox.AF_UNIX) == sandbox.SECCOMP_RET_ALLOW
    assert run(sock, sandbox.AF_NETLINK) == sandbox.SECCOMP_RET_ALLOW
    for family in (2, 10, 17, 3):  # AF_INET, AF_INET6, AF_PACKET, AF_AX25
        assert run(sock, family) == sandbox.SECCOMP_RET_ERRNO | errno.EAFNOSUPPORT
    # ordinary calls pass: read, write, openat, mmap, clone (numbers differ per arch)
    ordinary = {"x86_64": (0, 1, 257, 9, 56), "aarch64": (63, 64, 56, 222, 220)}[arch]
    for nr in ordinary:
        assert run(nr) == sandbox.SECCOMP_RET_ALLOW, nr
    # another architecture's calling convention kills the process
    other = [s["audit_arch"] for k, s in sandbox.ARCHES.items() if k != arch] + [0x40000003]  # i386
    for a in other:
        assert run(0, a=a) == sandbox.SECCOMP_RET_KILL_PROCESS
    if spec["x32_bit"]:
        assert run(spec["x32_bit"] | 1) == sandbox.SECCOMP_RET_KILL_PROCESS


def test_kernel_support_is_reported() -> None:
    support = sandbox.kernel_support()
    assert set(support) >= {"landlock_abi", "seccomp", "mdwe", "arch"}
    if os.environ.get("CI"):  # the CI machine's kernel offers both (Landlock ABI 7)
        assert support["landlock_abi"] >= 1 and support["seccomp"]


# --- the red team ------------------------------------------------------------------------------

def _redteam(tmp_path: Path, *kiosk_args: str, env: dict[str, str] | None = None,
             timeout: float = 180) -> dict:
    work = tmp_path / "target"
    work.mkdir()
    (work / "existing").write_text("x")
    full_env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
    proc = subprocess.run([sys.executable, str(HARNESS), str(work), "run", "--source", "demo", *kiosk_args],
                          cwd=REPO, capture_output=True, text=True, timeout=timeout, env=full_env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("REDTEAM ")]
    assert lines, f"no red-team result (exit {proc.returncode}):\n{proc.stderr[-3000:]}"
    result = json.loads(lines[-1][len("REDTEAM "):])
    result["files"] = sorted(p.name for p in work.iterdir())
    result["stderr"] = proc.stderr
    return result


ATTACKS = ("dir_fd_open", "dir_fd_mkdir", "sqlite_file", "fork_exec", "multiprocessing_spawn",
           "mkfifo", "chmod", "ctypes_open_write", "dev_shm_write", "o_tmpfile", "inet_socket",
           "inet6_socket", "packet_socket", "exec")


def _config(tmp_path: Path, enforcement: str) -> Path:
    cfg = tmp_path / "kiosk.yaml"
    cfg.write_text(f"privacy:\n  kernel_enforcement: '{enforcement}'\n", encoding="utf-8")
    return cfg


def _check(result: dict, sandboxed: bool) -> None:
    attacks = result["attacks"]
    assert set(attacks) == set(ATTACKS)
    if sandboxed:
        succeeded = {k: v for k, v in attacks.items() if v["ok"]}
        assert not succeeded, succeeded
        # refused by the kernel: EACCES (Landlock), EPERM / EAFNOSUPPORT (seccomp), or no effect
        for name, v in attacks.items():
            assert v["errno"] in (errno.EACCES, errno.EPERM, errno.EAFNOSUPPORT, None), (name, v)
        assert result["files"] == ["existing"]
        for task, status in result["threads"].items():
            assert status == {"Seccomp": "2", "NoNewPrivs": "1"}, (task, status)
        assert "kernel sandbox: Landlock ABI" in result["stderr"]
    else:
        failed = {k: v for k, v in attacks.items() if not v["ok"]}
        assert not failed, failed


@pytest.mark.parametrize("enforcement", ["required", "off"])
def test_redteam_headless(tmp_path: Path, enforcement: str) -> None:
    """Sandbox on: every bypass is refused by the kernel. Off: every one of them works."""
    result = _redteam(tmp_path, "--config", str(_config(tmp_path, enforcement)), "--headless")
    _check(result, sandboxed=enforcement == "required")


def test_redteam_with_a_window(tmp_path: Path) -> None:
    if shutil.which("Xvfb") is None:
        if os.environ.get("CI"):
            pytest.fail("Xvfb is not installed; CI must install the xvfb package for this test")
        pytest.skip("Xvfb is not installed (apt install xvfb)")
    from tests.test_ui_xvfb import start_xvfb
    xvfb, display = start_xvfb()
    try:
        result = _redteam(tmp_path, "--config", str(_config(tmp_path, "required")),
                          env={"DISPLAY": display, "SDL_VIDEODRIVER": "x11", "REDTEAM_DELAY_S": "4"})
    finally:
        xvfb.terminate()
        xvfb.wait(timeout=10)
    _check(result, sandboxed=True)
    assert "MDWE on" in result["stderr"]


def test_running_kiosk_status_shows_seccomp_and_no_new_privs() -> None:
    """From outside: /proc/<pid>/status of a running kiosk (every thread) says Seccomp 2, NoNewPrivs 1."""
    proc = subprocess.Popen([sys.executable, "-m", "kiosk", "run", "--source", "demo", "--headless"],
                            cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        deadline = time.monotonic() + 90
        threads: dict[str, dict[str, str]] = {}
        while time.monotonic() < deadline and proc.poll() is None:
            fields = sandbox.status_fields(proc.pid)
            tasks = os.listdir(f"/proc/{proc.pid}/task")
            if fields.get("Seccomp") == "2" and len(tasks) > 3:  # models loaded, pipeline running
                threads = {t: sandbox.status_fields(f"{proc.pid}/task/{t}") for t in tasks}
                break
            time.sleep(0.2)
        assert threads, "the kiosk never reached Seccomp: 2 with its threads running"
        for task, status in threads.items():
            if status:  # a thread may have ended between listdir and open
                assert status.get("Seccomp") == "2" and status.get("NoNewPrivs") == "1", (task, status)
        top = sandbox.status_fields(proc.pid)
        assert top["Seccomp"] == "2" and top["NoNewPrivs"] == "1"
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


_NO_KERNEL = ("import sys, kiosk.privacy.sandbox as s\n"
              "s.landlock_abi = lambda: 0\n"
              "from kiosk.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")


def test_required_refuses_to_start_without_kernel_support(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _NO_KERNEL, "run", "--source", "demo", "--headless",
                           "--max-frames", "5", "--config", str(_config(tmp_path, "required"))],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert "needs the kernel sandbox" in proc.stderr and "no Landlock" in proc.stderr
    assert "best_effort" in proc.stderr and "Traceback" not in proc.stderr


def test_best_effort_runs_with_a_warning_for_staff(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-c", _NO_KERNEL, "run", "--source", "demo", "--headless",
                           "--max-frames", "5", "--config", str(_config(tmp_path, "best_effort"))],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "STAFF: strict privacy mode runs WITHOUT full kernel enforcement" in proc.stderr
    assert "seccomp active" in proc.stderr  # what the kernel offers is still applied


def test_report_must_be_a_file_path(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "kiosk", "run", "--source", "demo", "--headless",
                           "--max-frames", "5", "--report", str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 2 and "is a folder; give a file path" in proc.stderr, proc.stderr[-2000:]
