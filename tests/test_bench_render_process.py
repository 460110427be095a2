"""The bench's lossless synthetic scenes and file replays produced in a child process (kiosk.bench.render_process):
the same frames in the same order as rendering them in the capture thread, the scene's ground
truth still answered, and nothing left behind after close()."""
from __future__ import annotations

import functools
import os

import numpy as np
import pytest

from kiosk.bench.phases import make_source
from kiosk.bench.render_process import ProcessRenderedScene
from kiosk.bench.scenes import SyntheticScene
from kiosk.config import Config
from kiosk.models import default_demo_dir

PHOTOS = default_demo_dir()
# Missing photos FAIL these tests (never skip them): see modelkit and conftest.
needs_photos = pytest.mark.usefixtures("fetched_photos")


def _shm_exists(name: str) -> bool:
    return os.path.exists(os.path.join("/dev/shm", name.lstrip("/")))


@needs_photos
@pytest.mark.parametrize("spec", ["synthetic:8", "synthetic:churn"])
def test_child_renders_the_same_frames_in_order(spec: str) -> None:
    cfg = Config().with_overrides({"runtime.demo_dir": str(PHOTOS)}, origin="test")
    in_thread = make_source(spec, cfg, realtime=False)
    child = make_source(spec, cfg, realtime=False, render_process=True)
    assert isinstance(child, ProcessRenderedScene) and not isinstance(in_thread, ProcessRenderedScene)
    assert (child.name, child.fps, child.realtime) == (in_thread.name, in_thread.fps, False)
    in_thread.open()
    child.open()
    try:
        # More frames than the ring has slots: slots are handed back and reused in order.
        for index in range(12):
            a, b = in_thread.read(), child.read()
            assert b.flags.writeable and b.dtype == np.uint8 and b.shape == a.shape
            assert np.array_equal(a, b), f"frame {index} differs"
        # Ground truth comes from the local scene object (never opened in this process).
        assert child.people_at(1.0) == in_thread.people_at(1.0)
        shm_name = child._shm.name  # noqa: SLF001 - checking the clean-up below
        proc = child._proc  # noqa: SLF001
    finally:
        child.close()
        in_thread.close()
    assert proc.poll() is not None, "the rendering process is still running after close()"
    if os.path.isdir("/dev/shm"):
        assert not _shm_exists(shm_name), "the shared-memory ring was not unlinked"
    child.close()  # idempotent


def test_realtime_scenes_are_not_moved_to_a_child() -> None:
    scene = SyntheticScene.standing(PHOTOS, 2, realtime=True)
    with pytest.raises(ValueError, match="lossless"):
        ProcessRenderedScene(functools.partial(SyntheticScene.standing, PHOTOS, 2, realtime=True), scene)
    # make_source keeps paced scenes in the capture thread whatever render_process says.
    source = make_source("synthetic:2", Config(), realtime=True, render_process=True)
    assert isinstance(source, SyntheticScene)


def test_read_before_open_is_an_error() -> None:
    source = ProcessRenderedScene(functools.partial(SyntheticScene.standing, PHOTOS, 1),
                                  SyntheticScene.standing(PHOTOS, 1))
    with pytest.raises(RuntimeError, match="before open"):
        source.read()


def test_file_replay_decoded_in_a_child_matches_and_loops(tmp_path) -> None:  # noqa: ANN001
    import cv2

    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (96, 64))
    rng = np.random.default_rng(5)
    for _ in range(7):
        writer.write(rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
    writer.release()
    cfg = Config()
    in_thread = make_source(f"file:{path}", cfg, realtime=False)
    child = make_source(f"file:{path}", cfg, realtime=False, render_process=True)
    assert isinstance(child, ProcessRenderedScene)
    in_thread.open()
    child.open()
    try:
        assert child.fps == in_thread.fps == 12.0  # the file's rate, known once open
        for index in range(16):  # past the end: both loop
            assert np.array_equal(in_thread.read(), child.read()), f"frame {index} differs"
    finally:
        child.close()
        in_thread.close()


def test_a_source_that_fails_to_open_in_the_child_is_a_source_error(tmp_path) -> None:  # noqa: ANN001
    from kiosk.errors import SourceError

    path = tmp_path / "broken.mp4"
    path.write_bytes(b"not a video" * 100)
    child = make_source(f"file:{path}", Config(), realtime=False, render_process=True)
    with pytest.raises(SourceError):
        child.open()
    child.close()


def test_frames_rendered_ahead_never_take_more_than_a_quarter_of_available_memory() -> None:
    from kiosk.bench.render_process import AHEAD_BYTES, ahead_budget

    big = "MemTotal:       24000000 kB\nMemAvailable:   20000000 kB\n"
    small = "MemTotal:        1000000 kB\nMemAvailable:     600000 kB\n"  # a 1 GB Raspberry Pi
    assert ahead_budget(big) == AHEAD_BYTES
    assert ahead_budget(small) == 600000 * 1024 // 4 < AHEAD_BYTES
    assert ahead_budget("MemTotal: 1 kB\n") == AHEAD_BYTES  # no MemAvailable line: the cap
    assert ahead_budget("MemAvailable: many kB\n") == AHEAD_BYTES
    assert 0 < ahead_budget() <= AHEAD_BYTES  # this machine's /proc/meminfo
