"""Capture: the one-frame slot, the capture thread's fault handling, and the file sources.

The capture thread is driven by scripted fake sources (frames, faults, stalls, odd frames), so
every recovery path runs in well under a second per test and without a camera.
"""
from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.capture import open_source
from kiosk.capture.thread import BACKOFF_INITIAL_S, CaptureThread
from kiosk.capture.slot import LatestFrame
from kiosk.capture.source import Source
from kiosk.capture.files import ImageDirSource, VideoFileSource
from kiosk.capture.opencv_source import CameraSource, opencv_has_gstreamer
from kiosk.errors import SourceError
from kiosk.types import Frame

H, W = 24, 32
BLOCK = object()  # script item: block inside read() until released (a wedged driver)


def bgr(value: int = 100) -> np.ndarray:
    return np.full((H, W, 3), value, np.uint8)


def frame(i: int) -> Frame:
    return Frame(image=bgr(i % 256), index=i, t_s=float(i))


class FakeSource:
    """Plays a script: arrays are returned, exceptions raised, BLOCK blocks, the end is end of stream."""

    def __init__(self, items: Iterable[object], *, realtime: bool = True, fps: float = 100.0,
                 period_s: float = 0.002, release: threading.Event | None = None,
                 open_exc: BaseException | None = None, name: str = "fake") -> None:
        self.name = name
        self.fps = fps
        self.realtime = realtime
        self._items = iter(items)
        self._period_s = period_s
        self._release = release or threading.Event()
        self._open_exc = open_exc
        self.opened = 0
        self.closed = 0
        self.returned: list[np.ndarray] = []

    def open(self) -> None:
        self.opened += 1
        if self._open_exc is not None:
            raise self._open_exc

    def read(self) -> np.ndarray | None:
        time.sleep(self._period_s)
        item = next(self._items, None)
        if item is BLOCK:
            self._release.wait(30)
            raise OSError("released after blocking")
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, np.ndarray):
            self.returned.append(item)
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self.closed += 1


class Factory:
    """Hands out the given sources in order (the last one again and again); records open times."""

    def __init__(self, *sources: FakeSource) -> None:
        self._sources = list(sources)
        self.made: list[FakeSource] = []
        self.calls_s: list[float] = []

    def __call__(self) -> Source:
        self.calls_s.append(time.monotonic())
        src = self._sources.pop(0) if len(self._sources) > 1 else self._sources[0]
        self.made.append(src)
        return src


@pytest.fixture
def release() -> Iterable[threading.Event]:
    """Unblocks every BLOCKed fake at the end of a test, so no reader thread outlives it for long."""
    event = threading.Event()
    yield event
    event.set()


@pytest.fixture
def stop() -> Iterable[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


def wait_until(cond: Callable[[], bool], timeout_s: float, step_s: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step_s)
    return cond()


def drain(slot: LatestFrame, timeout_s: float = 5.0, delay_s: float = 0.0) -> list[Frame]:
    """Take frames until the slot is closed (the capture thread ended)."""
    out: list[Frame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        f = slot.get(0.05)
        if f is not None:
            out.append(f)
            if delay_s:
                time.sleep(delay_s)
        elif slot.closed:
            break
    return out


# --- LatestFrame ---------------------------------------------------------------------------------

def test_slot_overwrites_and_counts_drops() -> None:
    slot = LatestFrame()
    slot.put(frame(0))
    slot.put(frame(1))  # frame 0 was never taken
    slot.put(frame(2))
    got = slot.get(0.1)
    assert got is not None and got.index == 2
    assert (slot.dropped, slot.delivered) == (2, 1)
    slot.put(frame(3))  # frame 2 was taken: no drop
    assert slot.dropped == 2


def test_slot_never_returns_a_frame_twice_and_times_out() -> None:
    slot = LatestFrame()
    slot.put(frame(5))
    assert slot.get(0.1).index == 5  # type: ignore[union-attr]
    t0 = time.monotonic()
    assert slot.get(0.15) is None
    waited = time.monotonic() - t0
    assert 0.13 <= waited < 0.5
    assert slot.peek().index == 5  # type: ignore[union-attr]  # the UI can still draw it
    assert slot.delivered == 1


def test_slot_notifies_only_a_waiting_thread(stop: threading.Event) -> None:
    """put/get notify the Condition only when the other side waits in it (issue 17's hand-off)."""
    slot = LatestFrame()
    calls: list[int] = []
    real_notify_all = slot._cond.notify_all
    slot._cond.notify_all = lambda: (calls.append(1), real_notify_all())[1]  # type: ignore[method-assign]
    slot.put(frame(0))  # nobody waits in get()
    assert slot.get(0.1).index == 0  # type: ignore[union-attr]  # nobody waits in put_wait()
    assert slot.put_wait(frame(1), stop)  # the slot was free: no wait, nobody to wake
    assert calls == []
    # A producer blocked in put_wait() is woken by get() (and then stores its frame) ...
    producer = threading.Thread(target=slot.put_wait, args=(frame(2), stop))
    producer.start()
    deadline = time.monotonic() + 2.0
    while slot._producers_waiting == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert slot.get(0.1).index == 1  # type: ignore[union-attr]
    producer.join(2.0)
    assert calls == [1] and not producer.is_alive()
    # ... and a consumer blocked in get() by put().
    assert slot.get(0.1).index == 2  # type: ignore[union-attr]
    threading.Timer(0.05, slot.put, args=(frame(3),)).start()
    assert slot.get(2.0).index == 3  # type: ignore[union-attr]
    assert len(calls) == 2


def test_slot_get_wakes_on_put_from_another_thread() -> None:
    slot = LatestFrame()
    threading.Timer(0.05, slot.put, args=(frame(7),)).start()
    t0 = time.monotonic()
    got = slot.get(2.0)
    assert got is not None and got.index == 7
    assert time.monotonic() - t0 < 0.5


def test_slot_put_wait_is_lossless(stop: threading.Event) -> None:
    slot = LatestFrame()

    def produce() -> None:
        for i in range(40):
            assert slot.put_wait(frame(i), stop)

    t = threading.Thread(target=produce)
    t.start()
    got: list[int] = []
    while len(got) < 40:
        f = slot.get(1.0)
        assert f is not None
        got.append(f.index)
        if len(got) % 7 == 0:
            time.sleep(0.01)  # a slow consumer must not lose frames
    t.join(1.0)
    assert got == list(range(40))
    assert slot.dropped == 0


def test_slot_put_wait_blocks_until_taken_and_honours_stop(stop: threading.Event) -> None:
    slot = LatestFrame()
    assert slot.put_wait(frame(0), stop)  # slot empty: immediate
    result: list[bool] = []
    t = threading.Thread(target=lambda: result.append(slot.put_wait(frame(1), stop)))
    t.start()
    time.sleep(0.1)
    assert t.is_alive()  # frame 0 not taken yet
    stop.set()
    t.join(0.5)
    assert not t.is_alive() and result == [False]
    assert slot.get(0.1).index == 0  # type: ignore[union-attr]


def test_slot_close_wakes_the_consumer() -> None:
    slot = LatestFrame()
    threading.Timer(0.05, slot.close).start()
    t0 = time.monotonic()
    assert slot.get(5.0) is None
    assert time.monotonic() - t0 < 0.5
    assert slot.closed


def test_slot_status_since_moves_only_when_ok_changes() -> None:
    slot = LatestFrame()
    first = slot.status()
    assert not first.ok
    slot.set_status(False, "still starting")
    assert slot.status().since_s == first.since_s
    time.sleep(0.01)
    slot.set_status(True, "receiving", reconnects=3)
    st = slot.status()
    assert st.ok and st.since_s > first.since_s and st.reconnects == 3 and st.message == "receiving"


# --- CaptureThread ---------------------------------------------------------------------------------

def test_capture_recovers_from_a_device_fault(stop: threading.Event) -> None:
    faulty = FakeSource(itertools.chain(itertools.repeat(bgr(), 5), [OSError("USB camera unplugged")]))
    healthy = FakeSource(itertools.repeat(bgr()))
    factory = Factory(faulty, healthy)
    slot = LatestFrame()
    cap = CaptureThread(factory, slot, stop, stall_timeout_s=2.0)
    cap.start()
    seen: list[tuple[bool, str, int]] = []

    def record() -> bool:
        st = slot.status()
        if not seen or seen[-1][:2] != (st.ok, st.message):
            seen.append((st.ok, st.message, st.reconnects))
        return len(factory.made) >= 2 and st.ok and slot.peek() is not None and slot.peek().index > 10  # type: ignore[union-attr]

    assert wait_until(record, 3.0, step_s=0.002)
    faults = [s for s in seen if not s[0] and "unplugged" in s[1]]
    assert faults, seen
    assert "Reopening in 0.5 s" in faults[0][1]
    oks = [i for i, s in enumerate(seen) if s[0]]
    assert oks[0] < seen.index(faults[0]) < oks[-1]  # ok -> not ok -> ok again
    assert slot.status().reconnects == 1 == cap.reconnects
    assert faulty.closed == 1
    # indices keep counting across the reconnect
    stop.set()
    cap.join(0.5)
    assert not cap.is_alive() and cap.error is None


def test_capture_detects_a_stall_and_reopens(stop: threading.Event, release: threading.Event) -> None:
    stall_s = 0.3
    wedged = FakeSource(itertools.chain(itertools.repeat(bgr(), 3), [BLOCK]), release=release)
    healthy = FakeSource(itertools.repeat(bgr()))
    slot = LatestFrame()
    cap = CaptureThread(Factory(wedged, healthy), slot, stop, stall_timeout_s=stall_s)
    cap.start()
    assert wait_until(lambda: slot.status().ok, 1.0)
    assert wait_until(lambda: not slot.status().ok, stall_s + 1.0)
    noticed = time.monotonic()
    last = slot.peek()
    assert last is not None and last.index == 2
    # t_s is the monotonic stamp of the last frame before the stall
    assert stall_s - 0.02 <= noticed - last.t_s <= stall_s + 0.25
    st = slot.status()
    assert "No frame from fake for" in st.message and "Reopening" in st.message
    # the fresh source takes over after the backoff
    assert wait_until(lambda: slot.status().ok, BACKOFF_INITIAL_S + 1.0)
    assert wait_until(lambda: slot.peek().index > 5, 1.0)  # type: ignore[union-attr]
    assert cap.reconnects == 1


def test_capture_stops_within_half_a_second_even_when_read_blocks(stop: threading.Event,
                                                                   release: threading.Event) -> None:
    slot = LatestFrame()
    cap = CaptureThread(Factory(FakeSource([bgr(), BLOCK], release=release)), slot, stop, stall_timeout_s=30.0)
    cap.start()
    assert wait_until(lambda: slot.peek() is not None, 1.0)
    time.sleep(0.05)  # now blocked inside read()
    t0 = time.monotonic()
    stop.set()
    cap.join(0.5)
    assert not cap.is_alive()
    assert time.monotonic() - t0 < 0.5
    assert slot.closed


def test_capture_stops_within_half_a_second_while_streaming(stop: threading.Event) -> None:
    slot = LatestFrame()
    cap = CaptureThread(Factory(FakeSource(itertools.repeat(bgr()))), slot, stop, stall_timeout_s=1.0)
    cap.start()
    assert wait_until(lambda: slot.peek() is not None and slot.peek().index > 20, 2.0)  # type: ignore[union-attr]
    t0 = time.monotonic()
    stop.set()
    cap.join(0.5)
    assert not cap.is_alive() and time.monotonic() - t0 < 0.5
    assert cap.error is None and not cap.finished


def test_capture_stops_within_half_a_second_during_backoff(stop: threading.Event) -> None:
    slot = LatestFrame()
    broken = FakeSource([], open_exc=OSError("no such device"))
    cap = CaptureThread(Factory(broken), slot, stop, stall_timeout_s=1.0)
    cap.start()
    assert wait_until(lambda: cap.reconnects >= 1, 1.0)
    t0 = time.monotonic()
    stop.set()
    cap.join(0.5)
    assert not cap.is_alive() and time.monotonic() - t0 < 0.5


def test_capture_backs_off_exponentially(stop: threading.Event) -> None:
    factory = Factory(FakeSource([], open_exc=OSError("cannot open camera /dev/video0")))
    slot = LatestFrame()
    cap = CaptureThread(factory, slot, stop, stall_timeout_s=1.0)
    cap.start()
    assert wait_until(lambda: len(factory.calls_s) >= 3, 2.5)
    gaps = np.diff(factory.calls_s[:3])
    assert gaps[0] == pytest.approx(0.5, abs=0.15)
    assert gaps[1] == pytest.approx(1.0, abs=0.2)
    st = slot.status()
    assert not st.ok and "/dev/video0" in st.message and st.reconnects >= 2
    assert slot.peek() is None


def test_source_error_ends_the_thread_with_the_error(stop: threading.Event) -> None:
    slot = LatestFrame()
    bad = FakeSource([], open_exc=SourceError("picamera2 is not installed"))
    cap = CaptureThread(Factory(bad), slot, stop, stall_timeout_s=1.0)
    cap.start()
    cap.join(1.0)
    assert not cap.is_alive()
    assert isinstance(cap.error, SourceError)
    assert not slot.status().ok and "picamera2 is not installed" in slot.status().message
    assert slot.closed and not cap.finished and cap.reconnects == 0


def test_source_error_from_the_factory_is_fatal_too(stop: threading.Event) -> None:
    def factory() -> Source:
        raise SourceError("unknown capture source 'camra:0'")

    cap = CaptureThread(factory, LatestFrame(), stop, stall_timeout_s=1.0)
    cap.start()
    cap.join(1.0)
    assert not cap.is_alive() and isinstance(cap.error, SourceError)


def test_unexpected_exception_is_recorded_and_logged_once(stop: threading.Event,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    slot = LatestFrame()
    buggy = FakeSource([bgr(), ValueError("bug in the driver wrapper")])
    cap = CaptureThread(Factory(buggy), slot, stop, stall_timeout_s=1.0)
    with caplog.at_level(logging.ERROR, logger="kiosk.capture.thread"):
        cap.start()
        cap.join(1.0)
    assert not cap.is_alive()
    assert isinstance(cap.error, ValueError)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None
    assert "fake" in errors[0].getMessage()


def test_end_of_stream_sets_finished_and_closes_the_slot(stop: threading.Event) -> None:
    slot = LatestFrame()
    cap = CaptureThread(Factory(FakeSource([bgr(1), bgr(2), bgr(3)], realtime=False, fps=10.0)),
                        slot, stop, stall_timeout_s=1.0)
    cap.start()
    frames = drain(slot)
    cap.join(1.0)
    assert cap.finished and cap.error is None and not cap.is_alive()
    assert [f.index for f in frames] == [0, 1, 2]
    assert [f.t_s for f in frames] == pytest.approx([0.0, 0.1, 0.2])  # virtual clock
    assert slot.dropped == 0


def test_max_frames_stops_after_that_many(stop: threading.Event) -> None:
    slot = LatestFrame()
    cap = CaptureThread(Factory(FakeSource(itertools.repeat(bgr()), realtime=False)), slot, stop,
                        stall_timeout_s=1.0, max_frames=7)
    cap.start()
    frames = drain(slot)
    cap.join(1.0)
    assert cap.finished and len(frames) == 7 and cap.frames_delivered == 7


def test_non_realtime_sources_are_lossless_with_a_slow_consumer(stop: threading.Event) -> None:
    slot = LatestFrame()
    src = FakeSource((bgr(i) for i in range(30)), realtime=False, fps=30.0, period_s=0.0)
    cap = CaptureThread(Factory(src), slot, stop, stall_timeout_s=0.3)
    cap.start()
    frames = drain(slot, delay_s=0.02)  # 30 x 20 ms = 0.6 s > stall timeout: waiting on us is no stall
    assert [f.index for f in frames] == list(range(30))
    assert [int(f.image[0, 0, 0]) for f in frames] == list(range(30))
    assert slot.dropped == 0 and cap.reconnects == 0 and cap.finished


def test_realtime_sources_drop_stale_frames(stop: threading.Event) -> None:
    slot = LatestFrame()
    src = FakeSource((bgr(i % 256) for i in range(150)), realtime=True, period_s=0.001)
    cap = CaptureThread(Factory(src), slot, stop, stall_timeout_s=1.0)
    cap.start()
    frames = drain(slot, delay_s=0.02)
    idx = [f.index for f in frames]
    assert idx == sorted(set(idx)) and slot.dropped > 0
    assert slot.dropped + slot.delivered == 150 or slot.dropped + slot.delivered == 149  # last may be untaken
    t = [f.t_s for f in frames]
    assert all(b > a for a, b in zip(t, t[1:], strict=False))  # monotonic clock stamps


def test_odd_frames_are_converted_or_skipped(stop: threading.Event) -> None:
    gray = np.full((H, W), 77, np.uint8)
    gray1 = np.full((H, W, 1), 78, np.uint8)
    bgra = np.zeros((H, W, 4), np.uint8)
    bgra[:] = (10, 20, 30, 255)
    u16 = np.full((H, W, 3), 200 << 8, np.uint16)
    f01 = np.full((H, W, 3), 0.5, np.float32)
    strided = np.full((H, 2 * W, 3), 9, np.uint8)[:, ::2]
    items: list[object] = [gray, np.zeros((0, 0, 3), np.uint8), gray1, "not an image", bgra,
                           np.zeros((4,), np.uint8), u16, np.zeros((H, W, 2), np.uint8), f01, strided, bgr(5)]
    src = FakeSource(items, realtime=False, fps=20.0)
    slot = LatestFrame()
    cap = CaptureThread(Factory(src), slot, stop, stall_timeout_s=1.0)
    cap.start()
    frames = drain(slot)
    cap.join(1.0)
    assert cap.error is None and cap.finished
    assert len(frames) == 7 and cap.skipped == 4 and cap.converted == 5
    for f in frames:
        img = f.image
        assert img.shape == (H, W, 3) and img.dtype == np.uint8
        assert img.flags.c_contiguous and not img.flags.writeable
    firsts = [tuple(int(v) for v in f.image[0, 0]) for f in frames]
    assert firsts == [(77, 77, 77), (78, 78, 78), (10, 20, 30), (200, 200, 200), (127, 127, 127), (9, 9, 9), (5, 5, 5)]
    assert [f.index for f in frames] == list(range(7))
    # the source's own arrays are copied, never frozen under it
    assert all(a.flags.writeable for a in src.returned)


# --- file sources ----------------------------------------------------------------------------------

def write_images(directory: Path, n: int) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        img = np.full((30 + i, 40, 3), 40 * (i + 1), np.uint8)  # sizes differ: delivered natively
        path = directory / f"img_{i:02d}.png"
        cv2.imwrite(str(path), img)
        paths.append(path)
    (directory / "notes.txt").write_text("not an image")
    (directory / "broken.jpg").write_bytes(b"definitely not a jpeg")
    return paths


def test_images_dir_plays_in_name_order_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    write_images(tmp_path / "imgs", 3)
    src = open_source(f"images:{tmp_path / 'imgs'}", width=640, height=480, fps=20.0, realtime=False,
                      loop=False, demo_dir=tmp_path)
    assert isinstance(src, ImageDirSource) and not src.realtime
    src.open()
    with caplog.at_level(logging.WARNING):
        got = [src.read() for _ in range(4)]
    src.close()
    assert got[3] is None
    imgs = [g for g in got[:3] if g is not None]
    assert [int(i[0, 0, 0]) for i in imgs] == [40, 80, 120]
    assert [i.shape for i in imgs] == [(30, 40, 3), (31, 40, 3), (32, 40, 3)]  # native sizes
    assert "broken.jpg" in caplog.text


def test_images_dir_loops_and_paces(tmp_path: Path) -> None:
    write_images(tmp_path / "imgs", 2)
    src = ImageDirSource(tmp_path / "imgs", fps=25.0, realtime=True, loop=True)
    src.open()
    t0 = time.monotonic()
    vals = [int(src.read()[0, 0, 0]) for _ in range(6)]  # type: ignore[index]
    elapsed = time.monotonic() - t0
    src.close()
    assert vals == [40, 80, 40, 80, 40, 80]
    assert 5 / 25 - 0.02 <= elapsed < 5 / 25 + 0.2  # five frame periods after the first


def test_images_dir_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such directory"):
        ImageDirSource(tmp_path / "missing", fps=10, realtime=False, loop=False)
    (tmp_path / "empty").mkdir()
    with pytest.raises(SourceError, match="no images found"):
        ImageDirSource(tmp_path / "empty", fps=10, realtime=False, loop=False)
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "x.png").write_bytes(b"nope")
    src = ImageDirSource(tmp_path / "bad", fps=10, realtime=False, loop=True)
    src.open()
    with pytest.raises(SourceError, match="could be decoded"):
        src.read()


def write_video(path: Path, n: int, fps: float) -> None:
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (64, 48))
    assert writer.isOpened()
    for i in range(n):
        writer.write(np.full((48, 64, 3), 20 * i + 10, np.uint8))
    writer.release()


def test_video_file_reads_all_frames_then_ends(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    write_video(path, 8, 12.5)
    src = open_source(f"file:{path}", width=640, height=480, fps=30.0, realtime=False, loop=False,
                      demo_dir=tmp_path)
    assert isinstance(src, VideoFileSource)
    src.open()
    assert src.fps == pytest.approx(12.5)  # the file's own rate wins over the configured one
    frames = []
    while (img := src.read()) is not None:
        frames.append(img)
    src.close()
    assert len(frames) == 8 and frames[0].shape == (48, 64, 3)
    assert [int(round(f.mean())) for f in frames] == pytest.approx([20 * i + 10 for i in range(8)], abs=4)


def test_video_file_loops_and_paces(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    write_video(path, 3, 25.0)
    src = VideoFileSource(path, realtime=True, loop=True)
    src.open()
    t0 = time.monotonic()
    means = [int(round(src.read().mean())) for _ in range(7)]  # type: ignore[union-attr]
    elapsed = time.monotonic() - t0
    src.close()
    assert means == pytest.approx([10, 30, 50, 10, 30, 50, 10], abs=4)
    assert 6 / 25 - 0.02 <= elapsed < 6 / 25 + 0.25


def test_video_file_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such video file"):
        VideoFileSource(tmp_path / "nope.mp4", realtime=False, loop=False)
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(SourceError, match="cannot decode"):
        VideoFileSource(junk, realtime=False, loop=False).open()


def test_capture_thread_replays_a_file_on_the_virtual_clock(tmp_path: Path, stop: threading.Event) -> None:
    path = tmp_path / "clip.avi"
    write_video(path, 10, 20.0)
    slot = LatestFrame()

    def factory() -> Source:
        return open_source(f"file:{path}", width=64, height=48, fps=25.0, realtime=False, loop=False,
                           demo_dir=tmp_path)

    cap = CaptureThread(factory, slot, stop, stall_timeout_s=2.0)
    cap.start()
    frames = drain(slot, delay_s=0.005)
    cap.join(1.0)
    assert cap.finished and cap.error is None
    assert [f.index for f in frames] == list(range(10))
    assert [f.t_s for f in frames] == pytest.approx([i / 20.0 for i in range(10)])


# --- open_source and the device sources ------------------------------------------------------------

@pytest.mark.parametrize("spec", ["", "webcam", "camera", "camera:", "camera:x", "camera:-1", "file:",
                                  "images:", "rtsp://cam.local/stream", "demo:1"])
def test_bad_specs_list_the_accepted_forms(spec: str, tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        open_source(spec, width=640, height=480, fps=25.0, realtime=True, loop=True, demo_dir=tmp_path)
    msg = str(err.value)
    assert "camera:N" in msg


def test_camera_spec_with_a_device_path_gets_a_hint(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="write camera:2"):
        open_source("camera:/dev/video2", width=640, height=480, fps=25.0, realtime=True, loop=True,
                    demo_dir=tmp_path)


def test_missing_camera_is_a_retryable_error_that_says_what_to_check(tmp_path: Path) -> None:
    src = open_source("camera:87", width=640, height=480, fps=25.0, realtime=False, loop=False, demo_dir=tmp_path)
    assert isinstance(src, CameraSource) and src.realtime  # cameras are always realtime
    with pytest.raises(OSError) as err:
        src.open()
    msg = str(err.value)
    assert "/dev/video87" in msg and "ls /dev/video*" in msg and "video" in msg
    src.close()


@pytest.mark.skipif(opencv_has_gstreamer(), reason="this OpenCV has GStreamer")
def test_gst_without_gstreamer_explains_and_suggests_alternatives(tmp_path: Path) -> None:
    with pytest.raises(SourceError) as err:
        open_source("gst:videotestsrc ! appsink", width=640, height=480, fps=25.0, realtime=True, loop=True,
                    demo_dir=tmp_path)
    msg = str(err.value)
    assert "without GStreamer" in msg and "camera:N" in msg and "picamera2" in msg


def test_picamera2_missing_is_a_source_error_with_the_install_command(tmp_path: Path) -> None:
    try:
        import picamera2  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("picamera2 is installed here")
    src = open_source("picamera2", width=640, height=480, fps=25.0, realtime=True, loop=True, demo_dir=tmp_path)
    with pytest.raises(SourceError, match="sudo apt install python3-picamera2"):
        src.open()


def test_missing_file_and_folder_specs(tmp_path: Path) -> None:
    for spec in (f"file:{tmp_path / 'x.mp4'}", f"images:{tmp_path / 'nothing'}"):
        with pytest.raises(SourceError):
            open_source(spec, width=640, height=480, fps=25.0, realtime=True, loop=True, demo_dir=tmp_path)
