"""Strict privacy mode: the guard refuses writes, sockets and programs, and a whole demo run
(pipeline + window) under the audit-hook recorder makes none.

Audit hooks cannot be removed, so everything that installs the guard runs in a subprocess. The
subprocess reports over a pipe the test opened before starting it (``pass_fds``), so the
reporting channel is neither a file nor a socket and is not part of what is measured.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from kiosk.privacy.policy import find_biometric_leaks

REPO = Path(__file__).resolve().parent.parent

# Runs the kiosk pipeline on the demo scene the way `kiosk run` does (prepare_environment first,
# install_guard after models and source are set up), optionally with the window (SDL dummy
# driver), optionally with a deliberate leak half-way. argv: OUT_FD FRAMES LEAK_DIR|- MODE UI
HARNESS = textwrap.dedent('''
    import json, logging, os, sys, time
    from pathlib import Path

    from kiosk.privacy.environment import prepare_environment
    from kiosk.privacy.guard import Recorder, install_guard
    env_report = prepare_environment()

    out_fd, frames, leak_dir, mode, ui = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
    logging.basicConfig(level=logging.DEBUG, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from kiosk.config import config_from_mapping
    from kiosk.models import ModelStore
    from kiosk.pipeline import Pipeline
    from kiosk.analysis.build import build_analyzer
    from kiosk.cli.report import build_report

    cfg = config_from_mapping({
        "camera": {"source": "demo", "realtime": False},
        "ui": {"fullscreen": False, "width": 640, "height": 360},
        "logging": {"level": "DEBUG"},
    })
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    pipeline = Pipeline(cfg, analyzer, max_frames=frames)

    if leak_dir != "-":
        # What a debugging leftover would do half-way through a run.
        import socket
        import cv2
        import numpy as np

        def leak(snap):
            if snap.frames_processed != frames // 2:
                return
            frame = pipeline.slot.peek()
            cv2.imwrite(str(Path(leak_dir) / "frame.png"), frame.image)
            with open(Path(leak_dir) / "frame.raw", "wb") as fh:
                fh.write(frame.image.tobytes())
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.sendto(b"x", ("127.0.0.1", 9))
            s.close()
            logging.getLogger("kiosk.debug").debug("embedding %s", np.random.rand(128).astype(np.float32))

        pipeline.subscribe(leak)

    recorder = Recorder() if mode == "record" else None
    guard = install_guard(recorder=recorder)
    started = time.monotonic()
    pipeline.start()
    if ui == "ui":
        from kiosk.ui.window import run_window
        run_window(cfg, pipeline)
    else:
        while pipeline.running():
            time.sleep(0.02)
    pipeline.stop()
    stats = pipeline.inference.stats
    report = build_report(
        source=cfg.camera.source, frames=stats.frames, dropped=pipeline.slot.dropped,
        wall_s=time.monotonic() - started, started_s=started, first_frame_s=stats.first_frame_s,
        clock_origin_s=stats.first_frame_t_s or 0.0, stage_ms=stats.stage_ms,
        max_faces=stats.max_faces, embeddings_computed=analyzer.embeddings_computed,
        visitors=analyzer.forgotten)
    payload = {
        "events": recorder.as_dicts() if recorder else [],
        "guard": guard.summary(),
        "dumpable_off": guard.dumpable_off, "core_limit_zero": guard.core_limit_zero,
        "scratch_dir": str(env_report.scratch_dir), "scratch_in_ram": env_report.scratch_in_ram,
        "frames": stats.frames, "embeddings": analyzer.embeddings_computed,
        "error": repr(pipeline.error) if pipeline.error else None,
        "report": report,
    }
    os.write(out_fd, json.dumps(payload).encode())
''')


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "MPLCONFIGDIR")}
    env.update(SDL_VIDEODRIVER="dummy", SDL_AUDIODRIVER="dummy", PYTHONDONTWRITEBYTECODE="1")
    env.update(extra)
    return env


def run_harness(tmp_path: Path, frames: int, *, leak: bool = False, ui: bool = False) -> tuple[dict[str, Any], str]:
    """Run HARNESS in recorder mode; return (payload, stderr)."""
    script = tmp_path / "harness.py"
    script.write_text(HARNESS)
    leak_dir = tmp_path / "leaks"
    leak_dir.mkdir(exist_ok=True)
    read_fd, write_fd = os.pipe()
    try:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(write_fd), str(frames), str(leak_dir) if leak else "-",
             "record", "ui" if ui else "headless"],
            cwd=REPO, env=_env(), pass_fds=(write_fd,), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        os.close(write_fd)
        write_fd = -1
        chunks = []
        while chunk := os.read(read_fd, 1 << 16):
            chunks.append(chunk)
        _out, err = proc.communicate(timeout=120)
    finally:
        os.close(read_fd)
        if write_fd >= 0:
            os.close(write_fd)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(b"".join(chunks)), err


@pytest.fixture(scope="module")
def clean_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], str]:
    """300 demo frames through pipeline and window, with the recorder, DEBUG logging."""
    return run_harness(tmp_path_factory.mktemp("clean"), 300, ui=True)


def test_demo_run_under_the_recorder_writes_nothing_and_opens_no_socket(clean_run: tuple[dict[str, Any], str]) -> None:
    payload, _err = clean_run
    assert payload["error"] is None
    assert payload["frames"] == 300
    assert payload["embeddings"] > 0  # the run really analysed faces
    assert payload["report"]["visitor_count"] >= 1
    assert payload["events"] == [], payload["events"]
    assert "strict privacy guard (record)" in payload["guard"]
    assert payload["dumpable_off"] and payload["core_limit_zero"]


def test_library_caches_go_to_ram(clean_run: tuple[dict[str, Any], str]) -> None:
    payload, _ = clean_run
    assert payload["scratch_in_ram"], payload["scratch_dir"]


def test_debug_log_and_report_of_a_demo_run_hold_no_pixels_or_embeddings(clean_run: tuple[dict[str, Any], str]) -> None:
    payload, err = clean_run
    assert " DEBUG " in err  # DEBUG logging really was on
    assert find_biometric_leaks(err) == []
    assert find_biometric_leaks(json.dumps(payload["report"], indent=2)) == []


def test_a_leaking_run_is_caught(tmp_path: Path) -> None:
    """The same harness with a debugging leftover: every kind of leak shows up."""
    payload, err = run_harness(tmp_path, 40, leak=True)
    events = {(e["event"], Path(e["detail"].split(" (mode")[0]).name if "/" in e["detail"] else e["detail"])
              for e in payload["events"]}
    assert ("cv2.imwrite", "frame.png") in events
    assert ("open", "frame.raw") in events
    assert ("socket.__new__", "socket family AF_INET") in events
    assert ("socket.sendto", "address ('127.0.0.1', 9)") in events
    assert all(e["thread"] == "inference" for e in payload["events"])
    assert find_biometric_leaks(err), "the logged embedding was not detected"


# --- enforcement, one operation at a time --------------------------------------------------

ENFORCE = textwrap.dedent('''
    import json, os, socket, subprocess, sys
    from pathlib import Path
    import cv2
    import numpy as np
    from kiosk.privacy.guard import GuardRefusal, install_guard

    tmp = Path(sys.argv[1])
    allowed = tmp / "report.json"
    guard = install_guard([allowed], lock_memory=False)
    image = np.zeros((8, 8, 3), np.uint8)
    ops = {
        "open_w": lambda: open(tmp / "a.txt", "w"),
        "open_a": lambda: open(tmp / "a.txt", "a"),
        "open_x": lambda: open(tmp / "new.txt", "x"),
        "open_rplus": lambda: open(tmp / "existing.txt", "r+"),
        "os_open_creat": lambda: os.open(tmp / "b.txt", os.O_WRONLY | os.O_CREAT),
        "path_write_text": lambda: (tmp / "c.txt").write_text("x"),
        "np_save": lambda: np.save(tmp / "d.npy", image),
        "ndarray_tofile": lambda: image.tofile(tmp / "e.bin"),
        "cv2_imwrite": lambda: cv2.imwrite(str(tmp / "f.png"), image),
        "cv2_videowriter": lambda: cv2.VideoWriter(str(tmp / "g.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (8, 8)),
        "rename": lambda: os.rename(tmp / "existing.txt", tmp / "moved.txt"),
        "replace": lambda: os.replace(tmp / "existing.txt", tmp / "moved.txt"),
        "remove": lambda: os.remove(tmp / "existing.txt"),
        "unlink": lambda: os.unlink(tmp / "existing.txt"),
        "mkdir": lambda: os.mkdir(tmp / "dir"),
        "rmdir": lambda: os.rmdir(tmp / "emptydir"),
        "truncate": lambda: os.truncate(tmp / "existing.txt", 0),
        "shm": lambda: open("/dev/shm/kiosk-guard-test", "w"),
        "inet": lambda: socket.socket(socket.AF_INET, socket.SOCK_STREAM),
        "inet6": lambda: socket.socket(socket.AF_INET6, socket.SOCK_DGRAM),
        "dns": lambda: socket.getaddrinfo("example.org", 443),
        "subprocess": lambda: subprocess.run(["true"]),
        "system": lambda: os.system("true"),
        "execv": lambda: os.execv("/bin/true", ["true"]),
        "sqlite_file": lambda: __import__("sqlite3").connect(str(tmp / "db.sqlite")),
        # Allowed:
        "read": lambda: open(tmp / "existing.txt").read(),
        "devnull": lambda: open(os.devnull, "w").write("x"),
        "report_path": lambda: allowed.write_text("{}"),
        "unix_socket": lambda: socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM).close(),
        "sqlite_memory": lambda: __import__("sqlite3").connect(":memory:").close(),
        "imencode": lambda: cv2.imencode(".png", image),
    }
    result = {}
    for name, op in ops.items():
        try:
            op()
            result[name] = "allowed"
        except GuardRefusal:
            result[name] = "refused"
        except Exception as exc:
            result[name] = f"other: {type(exc).__name__}: {exc}"
    import resource
    result["_core"] = list(resource.getrlimit(resource.RLIMIT_CORE))
    result["_files"] = sorted(p.name for p in tmp.iterdir())
    try:
        install_guard()
        result["_second"] = "installed twice"
    except RuntimeError:
        result["_second"] = "refused"
    print(json.dumps(result))
''')

REFUSED = ["open_w", "open_a", "open_x", "open_rplus", "os_open_creat", "path_write_text", "np_save",
           "ndarray_tofile", "cv2_imwrite", "cv2_videowriter", "rename", "replace", "remove", "unlink",
           "mkdir", "rmdir", "truncate", "shm", "inet", "inet6", "dns", "subprocess", "system", "execv",
           "sqlite_file"]
ALLOWED = ["read", "devnull", "report_path", "unix_socket", "sqlite_memory", "imencode"]


@pytest.fixture(scope="module")
def enforced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("enforce")
    (tmp / "existing.txt").write_text("keep me")
    (tmp / "emptydir").mkdir()
    script = tmp.parent / "enforce_script.py"
    script.write_text(ENFORCE)
    proc = subprocess.run([sys.executable, str(script), str(tmp)], cwd=REPO, env=_env(),
                          check=False, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["_stderr"] = proc.stderr
    return result


@pytest.mark.parametrize("op", REFUSED)
def test_guard_refuses(enforced: dict[str, Any], op: str) -> None:
    assert enforced[op] == "refused"


@pytest.mark.parametrize("op", ALLOWED)
def test_guard_allows(enforced: dict[str, Any], op: str) -> None:
    assert enforced[op] == "allowed"


def test_refused_operations_left_no_trace_on_disk(enforced: dict[str, Any]) -> None:
    # Only what the test created, plus the allow-listed report.
    assert enforced["_files"] == ["emptydir", "existing.txt", "report.json"]
    assert not Path("/dev/shm/kiosk-guard-test").exists()


def test_core_dumps_off_and_guard_installs_once(enforced: dict[str, Any]) -> None:
    assert enforced["_core"] == [0, 0]
    assert enforced["_second"] == "refused"


def test_each_refusal_is_logged_once_with_what_was_refused(enforced: dict[str, Any]) -> None:
    err = enforced["_stderr"]
    assert "strict privacy mode refused cv2.imwrite" in err
    assert "f.png" in err


def test_prepare_environment_keeps_matplotlib_out_of_home(tmp_path: Path) -> None:
    """matplotlib (imported by MediaPipe) writes its font cache to RAM, never to $HOME."""
    home = tmp_path / "home"
    home.mkdir()
    code = textwrap.dedent('''
        import json, os
        from kiosk.privacy.environment import prepare_environment
        report = prepare_environment()
        import matplotlib.pyplot  # noqa: F401  (what mediapipe.solutions imports)
        print(json.dumps({"dir": os.environ["MPLCONFIGDIR"], "ram": report.scratch_in_ram,
                          "files": sorted(os.listdir(os.environ["MPLCONFIGDIR"])),
                          "telemetry": os.environ["ORT_DISABLE_TELEMETRY"]}))
    ''')
    env = _env(HOME=str(home), ORT_DISABLE_TELEMETRY="0")
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, check=False, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ram"]
    assert any(f.startswith("fontlist") for f in out["files"])  # the cache went there
    assert out["telemetry"] == "1"  # forced, whatever the environment said
    assert list(home.iterdir()) == []
    assert not Path(out["dir"]).exists()  # the scratch folder is removed at exit


# --- the leak detector itself ---------------------------------------------------------------

def test_leak_detector_finds_embeddings_pixels_and_blobs() -> None:
    import base64

    rng = np.random.default_rng(0)
    assert find_biometric_leaks(f"visitor 3 embedding {rng.random(128).astype(np.float32)}")
    assert find_biometric_leaks(str(rng.random(128).tolist()))
    assert find_biometric_leaks(repr(np.zeros((480, 640, 3), np.uint8)))
    assert find_biometric_leaks(base64.b64encode(rng.bytes(96)).decode())
    assert find_biometric_leaks(repr(rng.bytes(64)))
    assert find_biometric_leaks(rng.bytes(80).hex())


def test_leak_detector_passes_ordinary_log_lines() -> None:
    lines = [
        "2026-11-22 03:25:21,868 INFO kiosk.analysis.analyzer: new visitor 2",
        "loaded face_recognition_sface_2021dec_stripped.onnx with ['CPUExecutionProvider'], 1 intra-op threads",
        "face_detection_yunet_2023mar.onnx: sha256 " + "0123456789abcdef" * 4 + " ok",
        "box (120, 40, 260, 210) score 0.93 landmarks 5",
        '{"stage_ms": {"detect": {"mean": 4.1, "p50": 3.9, "p95": 6.2}}, "fps": 58.3}',
    ]
    assert find_biometric_leaks("\n".join(lines)) == []
