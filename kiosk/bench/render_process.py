"""A synthetic scene rendered ahead in a child process, for the bench's lossless phases.

Why: :class:`~kiosk.bench.scenes.SyntheticScene` composites each frame with a dozen OpenCV
calls (~4-5 ms of CPU per frame with 8 people, spread over OpenCV's thread pool, i.e. both
cores of this machine). Rendered on the pipeline's capture thread, the next frame is drawn
exactly while the inference thread detects faces in the current one (the lossless hand-off
wakes the reader then), so the renderer takes CPU from the analysis at every frame. Measured
with 8 people (``kiosk bench --source synthetic:8``, load ~5): ``cv2.resize`` in YuNet's
preprocessing took 2.6-3.8 ms of wall time per frame for 0.6-0.7 ms of the inference thread's
CPU time, the YuNet decoding 1.2-1.4 ms for 0.4 ms; the detect stage 6-9 ms against 4.3-4.6 ms
with the same frames served from memory. Rendering in a child process in lock-step with the
consumer did not help (the contention is for the cores, not the GIL). A camera costs the
kiosk next to nothing per frame; the renderer is a bench artefact that made the analyzer's
cost look higher than it is.

Here the same scene class renders, in order, in a child interpreter (``python -m
kiosk.bench.render_process``, started with :mod:`subprocess`, so no ``__main__`` is
re-imported) at the lowest CPU priority with OpenCV on one thread, up to ``AHEAD_BYTES`` of
frames (at most a quarter of the available memory) ahead of the consumer (a 300-frame run is rendered within its first seconds), and hands
them over through a small ring of shared-memory slots. The capture thread only waits on a pipe
(GIL released) and copies the finished frame out, as it would copy a camera's buffer. Frames
are identical to the in-thread ones (same class, same index sequence;
tests/test_bench_render_process.py compares them). The child stops when its pipe closes.
"""
from __future__ import annotations

import os
import pickle
import select
import struct
import subprocess
import sys
from multiprocessing import shared_memory
from pathlib import Path
from typing import Any, BinaryIO, Callable

import numpy as np

from kiosk.errors import SourceError

__all__ = ["ProcessRenderedScene"]

#: Frames passed to the consumer at a time (shared-memory slots of one frame each).
SLOTS = 3
#: Memory the child may fill with frames rendered ahead (~570 frames at 640x480): a
#: 300-frame bench is rendered within its first seconds, at the lowest priority. Never more
#: than a quarter of the memory available when the bench starts (:func:`ahead_budget`), so a
#: bench on a 1-2 GB Raspberry Pi does not push the kiosk's own memory into swap.
AHEAD_BYTES = 512 * 1024 * 1024
#: The share of available memory the frames rendered ahead may take.
AHEAD_SHARE = 0.25


def ahead_budget(meminfo: str | None = None, cap: int = AHEAD_BYTES) -> int:
    """Bytes of frames the child may render ahead: ``cap``, or a quarter of ``MemAvailable``
    (``/proc/meminfo``; ``meminfo`` gives its text, for tests) when that is less. Where the
    figure cannot be read, ``cap``."""
    if meminfo is None:
        try:
            with open("/proc/meminfo", encoding="ascii") as f:
                meminfo = f.read()
        except OSError:
            return cap
    for line in meminfo.splitlines():
        if line.startswith("MemAvailable:"):
            try:
                available_kib = int(line.split()[1])
            except (IndexError, ValueError):
                return cap
            return max(0, min(cap, int(available_kib * 1024 * AHEAD_SHARE)))
    return cap
#: Seconds to wait for the child's first frame (a new interpreter imports numpy and OpenCV and
#: prepares the scene's photos first) and for any later one.
_START_TIMEOUT_S = 60.0
_FRAME_TIMEOUT_S = 30.0
_WORD = struct.Struct("<i")
_END, _ERROR, _STOP = -1, -2, -1


def _read_exact(stream: BinaryIO, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _read_exact_fd(fd: int, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def _child_main() -> int:
    """Child process: render frames in order, ahead of the consumer, and pass them through the
    shared-memory slots the parent hands back."""
    import cv2
    from collections import deque
    from multiprocessing import resource_tracker

    # The lowest priority and one core: the renderer only uses time the analysis leaves idle.
    os.nice(19)
    cv2.setNumThreads(1)
    inp, out = sys.stdin.fileno(), sys.stdout.buffer
    size = _WORD.unpack(_read_exact_fd(inp, _WORD.size))[0]
    make_scene, slots, ahead_bytes = pickle.loads(_read_exact_fd(inp, size))

    def send(word: int, message: bytes = b"") -> None:
        out.write(_WORD.pack(word) + (_WORD.pack(len(message)) + message if word == _ERROR else b""))
        out.flush()

    try:
        scene = make_scene()
        scene.open()
        first = scene.read()
    except Exception as exc:  # noqa: BLE001 - reported to the parent, which raises SourceError
        send(_ERROR, f"{type(exc).__name__}: {exc}".encode())
        return 1
    if first is None or first.ndim != 3 or first.shape[2] != 3 or first.dtype != np.uint8:
        send(_ERROR, f"first frame is {getattr(first, 'shape', None)} {getattr(first, 'dtype', None)}, "
                     f"expected HxWx3 uint8".encode())
        return 1
    shape = first.shape
    # Header: frame size and the source's rate (a file's is known only once it is open).
    try:
        out.write(_WORD.pack(shape[0]) + _WORD.pack(shape[1]) + struct.pack("<d", float(scene.fps)))
        out.flush()
        name_len = _WORD.unpack(_read_exact_fd(inp, _WORD.size))[0]
        shm = shared_memory.SharedMemory(name=_read_exact_fd(inp, name_len).decode())
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        scene.close()
        return 0
    # Attaching registers the segment with this process's resource tracker (Python < 3.13),
    # which would unlink it at exit: the parent owns and unlinks it.
    resource_tracker.unregister(shm._name, "shared_memory")  # type: ignore[attr-defined]
    ahead = max(1, int(ahead_bytes) // first.nbytes)
    ring = np.ndarray((slots,) + tuple(shape), np.uint8, buffer=shm.buf)
    try:
        free = list(range(slots))
        rendered: deque[np.ndarray] = deque([first])  # in order, not yet handed over
        ended = False
        while True:
            while free and rendered:
                slot = free.pop(0)
                ring[slot] = rendered.popleft()
                send(slot)
            if ended and not rendered:
                send(_END)
                return 0
            can_render = not ended and len(rendered) < ahead
            # Slots handed back first; otherwise render the next frame ahead, or wait.
            if select.select([inp], [], [], 0.0 if can_render else None)[0]:
                word = _WORD.unpack(_read_exact_fd(inp, _WORD.size))[0]
                if word == _STOP:
                    return 0
                free.append(word)
                continue
            image = scene.read()
            if image is None:
                ended = True
            elif image.shape != tuple(shape) or image.dtype != np.uint8:
                send(_ERROR, f"rendered frame is {image.shape} {image.dtype}, expected {tuple(shape)} uint8".encode())
                return 1
            else:
                rendered.append(image)
    except (EOFError, BrokenPipeError, KeyboardInterrupt):
        return 0
    finally:
        scene.close()
        del ring
        shm.close()


class ProcessRenderedScene:
    """A lossless Source whose frames ``make_scene()`` renders (or decodes) in a child process.

    ``make_scene`` must be picklable (e.g. ``functools.partial(SyntheticScene.standing, ...)``
    or a ``partial`` of :func:`kiosk.capture.open_source` for a ``file:`` replay) and build an
    unopened, non-realtime source; ``scene`` is a local instance of the same (never opened
    here) that answers everything but ``open``/``read``/``close`` (name, ground truth such as
    ``people_at``). ``fps`` is the child's source's rate once open.
    """

    def __init__(self, make_scene: Callable[[], Any], scene: Any, slots: int = SLOTS,
                 ahead_bytes: int | None = None) -> None:
        if getattr(scene, "realtime", False):
            raise ValueError("ProcessRenderedScene is for lossless playback (realtime=False)")
        self._make_scene = make_scene
        self._scene = scene
        self._slots = int(slots)
        self._ahead_bytes = ahead_budget() if ahead_bytes is None else int(ahead_bytes)
        self._shape: tuple[int, int, int] | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._shm: shared_memory.SharedMemory | None = None
        self._ring: np.ndarray | None = None
        self._started = False
        self.name: str = scene.name
        self.fps: float = scene.fps
        self.realtime: bool = False

    def __getattr__(self, attr: str) -> Any:
        # Only reached for attributes not set in __init__: ground truth and metadata of the scene.
        if attr.startswith("_"):
            raise AttributeError(attr)
        return getattr(self._scene, attr)

    def open(self) -> None:
        self.close()
        env = dict(os.environ)
        # The child imports this very package (a worktree or an installed copy alike).
        root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join([root] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        self._proc = subprocess.Popen(
            [sys.executable, "-B", "-m", "kiosk.bench.render_process"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env, bufsize=0)  # unbuffered: select() sees every word
        payload = pickle.dumps((self._make_scene, self._slots, self._ahead_bytes))
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._proc.stdin.write(_WORD.pack(len(payload)) + payload)
        self._proc.stdin.flush()
        # The child opens the source and reads its first frame: its size and rate come back.
        height = self._recv_word(_START_TIMEOUT_S)
        if height == _ERROR:
            self._raise_error()
        width = self._recv_word(_FRAME_TIMEOUT_S)
        (fps,) = struct.unpack("<d", _read_exact(self._proc.stdout, 8))
        self._shape = (height, width, 3)
        self.fps = fps
        self._shm = shared_memory.SharedMemory(create=True, size=self._slots * height * width * 3)
        self._ring = np.ndarray((self._slots,) + self._shape, np.uint8, buffer=self._shm.buf)
        name = self._shm.name.encode()
        self._proc.stdin.write(_WORD.pack(len(name)) + name)
        self._proc.stdin.flush()
        self._started = False

    def _raise_error(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        length = self._recv_word(_FRAME_TIMEOUT_S)
        raise SourceError(f"{self.name}: {_read_exact(self._proc.stdout, length).decode(errors='replace')}")

    def _recv_word(self, timeout_s: float) -> int:
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
        if not ready:
            raise SourceError(f"{self.name}: the rendering process sent no frame within {timeout_s:.0f} s")
        try:
            return _WORD.unpack(_read_exact(proc.stdout, _WORD.size))[0]
        except EOFError:
            code = proc.poll()
            raise SourceError(f"{self.name}: the rendering process ended (exit code {code})") from None

    def read(self) -> np.ndarray | None:
        if self._proc is None or self._ring is None:
            raise RuntimeError("ProcessRenderedScene.read() before open()")
        slot = self._recv_word(_FRAME_TIMEOUT_S if self._started else _START_TIMEOUT_S)
        self._started = True
        if slot == _END:
            return None
        if slot == _ERROR:
            self._raise_error()
        image = self._ring[slot].copy()
        assert self._proc.stdin is not None
        self._proc.stdin.write(_WORD.pack(slot))
        self._proc.stdin.flush()
        return image

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                assert proc.stdin is not None
                proc.stdin.write(_WORD.pack(_STOP))
                proc.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
            try:
                proc.wait(timeout=5.0)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5.0)
            if proc.stdout is not None:
                proc.stdout.close()
        self._ring = None
        if self._shm is not None:
            self._shm.close()
            self._shm.unlink()
            self._shm = None


if __name__ == "__main__":
    raise SystemExit(_child_main())
