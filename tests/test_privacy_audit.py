"""tools/privacy_audit.sh: a whole headless session under strace writes no file and uses no
network; a variant with a debugging cv2.imwrite is caught.

strace is required: under CI (CI=true) a missing strace fails the test (the CI script installs
it with `apt-get install -y strace`); elsewhere the test is skipped with the install command.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from systemkit import require_tool


pytestmark = [pytest.mark.slow, pytest.mark.system]
REPO = Path(__file__).resolve().parent.parent
AUDIT = REPO / "tools" / "privacy_audit.sh"
PYTHON = REPO / ".venv" / "bin" / "python"


def _require_strace() -> None:
    require_tool("strace", "sudo apt-get install -y strace")


def _audit(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "NOTIFY_SOCKET"}
    return subprocess.run([str(AUDIT), *args], cwd=cwd, env=env, check=False, capture_output=True, text=True,
                          timeout=180)


def test_script_is_valid_bash() -> None:
    assert subprocess.run(["bash", "-n", str(AUDIT)], check=False, capture_output=True).returncode == 0
    if shutil.which("shellcheck"):
        proc = subprocess.run(["shellcheck", str(AUDIT)], check=False, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout


def test_headless_demo_session_passes_the_audit(tmp_path: Path) -> None:
    _require_strace()
    config = tmp_path / "kiosk.yaml"
    config.write_text("camera:\n  realtime: false\nlogging:\n  level: DEBUG\n")
    proc = _audit("--frames", "150", "--config", str(config))
    out = proc.stdout + proc.stderr
    # Whatever the verdict: nothing the run loaded needs writable+executable memory, so the unit's
    # MemoryDenyWriteExecute=yes is compatible (onnxruntime, MediaPipe/XNNPACK, OpenCV, no JIT).
    wx = re.search(r"MemoryDenyWriteExecute would refuse\): (\d+) of (\d+) mmap calls", out)
    assert wx and wx.group(1) == "0" and int(wx.group(2)) > 100, out
    assert proc.returncode == 0, out
    assert "privacy audit: PASS" in out
    assert "violations: 0" in out
    assert '"frames": 150' in out  # the session really ran to the end (its report, on stdout)


def test_a_debugging_imwrite_fails_the_audit(tmp_path: Path) -> None:
    """A variant of the run that saves one frame half-way (what a debugging leftover does)."""
    _require_strace()
    leak = tmp_path / "leaked_frame.png"
    script = tmp_path / "leaky_kiosk.py"
    script.write_text(textwrap.dedent(f'''
        import sys, time
        from kiosk.privacy.environment import prepare_environment
        prepare_environment()  # as `kiosk run` does: the only violation left is the debugging write
        import cv2
        from kiosk.config import config_from_mapping
        from kiosk.models import ModelStore
        from kiosk.pipeline import Pipeline
        from kiosk.analysis.build import build_analyzer

        cfg = config_from_mapping({{"camera": {{"source": "demo", "realtime": False}}}})
        pipeline = Pipeline(cfg, build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved)),
                            max_frames=30)

        def debug_dump(snap):
            if snap.frames_processed == 15:
                cv2.imwrite({str(leak)!r}, pipeline.slot.peek().image)

        pipeline.subscribe(debug_dump)
        pipeline.start()
        while pipeline.running():
            time.sleep(0.02)
        pipeline.stop()
        sys.exit(1 if pipeline.error else 0)
    '''))
    proc = _audit("--", str(PYTHON), str(script))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1, out
    assert "privacy audit: FAIL" in out
    assert f"file written/created: {leak}" in out
    assert "violations: 1\n" in out
    assert leak.exists()  # the trace saw a real write (nothing enforced it in this variant)


def test_missing_strace_is_reported_with_the_fix(tmp_path: Path) -> None:
    # PATH without strace: the script must say how to install it and exit 2.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("env", "dirname", "sed", "mktemp", "rm", "mkdir", "cat", "tail", "head", "cp"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    proc = subprocess.run(["/bin/bash", str(AUDIT)], env={"PATH": str(bin_dir)}, check=False, capture_output=True,
                          text=True, timeout=30)
    assert proc.returncode == 2
    assert "apt-get install -y strace" in proc.stderr


def test_the_visitor_arc_with_the_take_home_code_passes_the_audit(tmp_path: Path) -> None:
    """A 60-second visitor through the real pipeline on offscreen kiosk screens (tools/arc_session.py):
    dossier, record, watchlist, the take-home QR code shown for 4 s, the forgetting. Nothing
    about the code (or anything else) may reach a file or the network."""
    import json
    import sys

    from kiosk.models import default_demo_dir

    _require_strace()
    gallery = tmp_path / "watchlist"  # made before the trace starts; the traced run only reads it
    gallery.mkdir()
    for name in ("astronaut.png", "biden.jpg"):
        (gallery / name).symlink_to(Path(default_demo_dir()) / name)
    proc = _audit("--", sys.executable, str(REPO / "tools" / "arc_session.py"), "--languages", "en", "--fps", "5",
                  "--watchlist", str(gallery))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "privacy audit: PASS" in out and "violations: 0" in out, out
    report = json.loads(next(line for line in out.splitlines() if '"takehome_frames"' in line).strip())
    assert report["takehome_frames"]["en"] >= 10, out  # the code really was on screen
    steps = [s for _, s in report["steps"]["en"]]
    assert "arc:takehome" in steps and "arc:forgetting" in steps, steps


def _audit_python(code: str, tmp_path: Path) -> str:
    """Audit a small Python program (no kiosk): its output; asserts the audit failed (exit 1)."""
    import sys

    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(code))
    proc = _audit("--", sys.executable, str(script))
    out = proc.stdout + proc.stderr
    assert proc.returncode == 1 and "privacy audit: FAIL" in out, out
    return out


def test_a_native_write_to_dev_shm_fails_the_audit(tmp_path: Path) -> None:
    """/dev/shm is a RAM file system whose files outlive the process: it counts as disk (a whole
    frame written there natively passed the audit when all of /dev was allowed)."""
    _require_strace()
    name = f"/dev/shm/kiosk-audit-frame-{os.getpid()}"
    out = _audit_python(f'''
        import ctypes, os
        libc = ctypes.CDLL(None, use_errno=True)
        fd = libc.open({name!r}.encode(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        assert fd >= 0, ctypes.get_errno()
        frame = bytes(640 * 480 * 3)
        libc.write(fd, frame, len(frame))
        libc.close(fd)
        libc.unlink({name!r}.encode())
        with open("/dev/null", "w") as fh:  # a character device: allowed
            fh.write("x")
    ''', tmp_path)
    assert f"file written/created: {name}" in out, out
    assert f"unlink: {name}" in out, out
    assert "/dev/null x1" in out and "file written/created: /dev/null" not in out, out
    assert not Path(name).exists()


def test_at_paths_tmp_and_home_are_resolved_and_count_as_disk(tmp_path: Path) -> None:
    """*at() calls against a directory descriptor, relative paths after chdir, /tmp and $HOME."""
    _require_strace()
    target = tmp_path / "target"
    target.mkdir()
    out = _audit_python(f'''
        import os
        d = os.open({str(target)!r}, os.O_RDONLY)
        fd = os.open("via-dirfd", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=d); os.close(fd)
        os.mkdir("dir-via-dirfd", dir_fd=d)
        os.mkfifo("fifo-via-dirfd", dir_fd=d)
        os.chdir("/dev")
        fd = os.open("shm/kiosk-audit-relative", os.O_WRONLY | os.O_CREAT, 0o600); os.close(fd)
        os.unlink("shm/kiosk-audit-relative")
        os.chdir({str(target)!r})
        os.rename("via-dirfd", "renamed")
        home = os.environ["HOME"]
        os.makedirs(os.path.join(home, ".cache"))
        open(os.path.join(home, ".cache", "x"), "w").close()
    ''', tmp_path)
    for violation in (f"file written/created: {target}/via-dirfd", f"mkdirat: {target}/dir-via-dirfd",
                      f"mknodat: {target}/fifo-via-dirfd", "file written/created: /dev/shm/kiosk-audit-relative",
                      "unlink: /dev/shm/kiosk-audit-relative", f"rename: {target}/via-dirfd -> {target}/renamed",
                      "/.cache/x", "left in the empty HOME"):
        assert violation in out, (violation, out)
    assert "so /tmp, /dev/shm, /dev/mqueue and $HOME are disk" in out


def test_windowed_demo_session_passes_the_audit() -> None:
    """The kiosk with its real window (X11 on an Xvfb the audit starts): Mesa's shader cache,
    SDL's D-Bus and MediaPipe write nothing; only the display's socket is used."""
    _require_strace()
    require_tool("Xvfb", "sudo apt-get install -y xvfb")
    proc = _audit("--window", "--frames", "60")
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "privacy audit: PASS" in out and "violations: 0" in out, out
    assert re.search(r"/tmp/\.X11-unix/X\d+/", out), out  # the display socket, allowed by name
    assert "dbus-launch" not in out, out
    assert '"frames": 60' in out, out  # the windowed session ran to its end
