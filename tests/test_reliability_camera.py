"""Camera faults (issue 6, item 1): unplugged, wedged and garbage-spewing cameras, end to end.

tests/test_capture.py covers the capture thread's single recovery paths (one fault, one stall,
the backoff's first steps, stop while blocked). This file adds what a week-long exhibition
meets: long outages (the backoff is capped so the kiosk resumes within 2 s of the camera coming
back, and the log does not fill up), cameras that deliver only unusable pictures, hangs inside
``open()``, and above all the whole :class:`~kiosk.pipeline.Pipeline` (capture + inference with
the real YuNet detector) resuming by itself after each fault, without a restart.

The 2 s figure is the issue's acceptance criterion, so it is asserted here; the mechanism that
makes it hold (the capped backoff) is asserted separately without wall-clock bounds.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import cv2
import numpy as np
import pytest

from fakes import Disconnect, FaultyCamera, Frames, Garbage, Stall, odd_arrays
from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.capture import thread as capture_thread
from kiosk.capture.thread import BACKOFF_INITIAL_S, BACKOFF_MAX_S, CaptureThread
from kiosk.capture.slot import LatestFrame
from kiosk.config import config_from_mapping
from kiosk.pipeline import Pipeline
from kiosk.types import Snapshot
from modelkit import photo, require_model

RESUME_LIMIT_S = 2.0  # issue 6: "when the camera comes back, the kiosk resumes within 2 s"


def wait_until(cond: Callable[[], bool], timeout_s: float, step_s: float = 0.005) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step_s)
    return cond()


@pytest.fixture
def stop() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


# --- the fake itself ------------------------------------------------------------------------------

def test_faulty_camera_plays_its_script_across_reopens() -> None:
    garbage = np.zeros((3,), np.uint8)
    cam = FaultyCamera([Frames(2), Garbage([garbage]), Disconnect(0.2), Frames(1)], realtime=False, then="end")
    first = cam()
    first.open()
    assert [int(first.read()[0, 0, 0]) for _ in range(2)] == [0, 1]  # type: ignore[index]
    assert first.read() is garbage
    with pytest.raises(OSError, match="unplugged"):
        first.read()
    first.close()
    second = cam()
    with pytest.raises(OSError, match="cannot open it: camera unplugged"):
        second.open()  # still unplugged: a fresh open fails too
    assert wait_until(lambda: cam.state == "ok", 1.0)
    assert cam.recovered_s is not None
    third = cam()
    third.open()
    assert int(third.read()[0, 0, 0]) == 2  # type: ignore[index]
    assert third.read() is None  # then="end"
    third.close()
    assert (cam.opens, cam.failed_opens, cam.closes, cam.serial, cam.garbage_served) == (2, 1, 2, 3, 1)


def test_faulty_camera_stall_blocks_reads_until_resumed() -> None:
    cam = FaultyCamera([Frames(1), Stall()], realtime=False)
    src = cam()
    src.open()
    src.read()
    got: list[object] = []
    reader = threading.Thread(target=lambda: got.append(src.read()), daemon=True)
    reader.start()
    reader.join(0.2)
    assert reader.is_alive() and cam.blocked_reads == 1  # wedged
    cam.resume()
    reader.join(1.0)
    assert not reader.is_alive() and isinstance(got[0], np.ndarray)


# --- capture thread: what test_capture.py does not cover ------------------------------------------

def test_backoff_is_capped_so_a_returning_camera_is_picked_up_quickly(stop: threading.Event) -> None:
    """Opens while unplugged: 0.5 s, then every BACKOFF_MAX_S (1 s), never the old 10 s."""
    assert BACKOFF_MAX_S <= 1.0  # + open + first frame must stay within the 2 s promise
    cam = FaultyCamera(realtime=True)
    cam.unplug()
    slot = LatestFrame()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=1.0)
    cap.start()
    assert wait_until(lambda: cam.failed_opens >= 4, 4.5)
    opens = [t for t, what in cam.events if what == "open failed"]
    gaps = np.diff(opens[:4])
    assert gaps[0] == pytest.approx(BACKOFF_INITIAL_S, abs=0.15)
    assert gaps[1:] == pytest.approx([BACKOFF_MAX_S] * 2, abs=0.2)
    st = slot.status()
    assert not st.ok and "unplugged" in st.message and "Reopening in 1.0 s" in st.message
    cam.plug()
    assert wait_until(lambda: slot.status().ok, BACKOFF_MAX_S + 1.0)
    assert cap.error is None and cap.is_alive()


def test_long_outage_logs_a_few_warnings_then_the_recovery(stop: threading.Event,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    # Fast backoff so that 30 attempts take a fraction of a second.
    monkeypatch.setattr(capture_thread, "BACKOFF_INITIAL_S", 0.005)
    monkeypatch.setattr(capture_thread, "BACKOFF_MAX_S", 0.01)
    cam = FaultyCamera(realtime=True)
    cam.unplug()
    slot = LatestFrame()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=1.0)
    with caplog.at_level(logging.DEBUG, logger="kiosk.capture.thread"):
        cap.start()
        assert wait_until(lambda: cam.failed_opens >= 30, 5.0)
        cam.plug()
        assert wait_until(lambda: slot.status().ok, 2.0)
        time.sleep(0.05)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3, [r.getMessage() for r in warnings]  # attempts 1-3, then once a minute
    assert "logged once a minute" in warnings[-1].getMessage()
    assert sum("unplugged" in r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG) >= 25
    back = [r.getMessage() for r in caplog.records if "delivers frames again" in r.getMessage()]
    assert len(back) == 1 and "reopen attempt" in back[0]
    assert cap.reconnects >= 30 and slot.status().reconnects == cap.reconnects


def test_a_camera_delivering_only_garbage_counts_as_failed_and_says_why(stop: threading.Event) -> None:
    # 1.2 s of unusable pictures at 100 fps (read only while a source is open: ~2.5 s in all).
    junk = [np.zeros((4, 4, 2), np.uint8)] * 120
    cam = FaultyCamera([Frames(3), Garbage(junk), Frames(10_000)], realtime=True, fps=100.0)
    slot = LatestFrame()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=0.5)
    cap.start()
    assert wait_until(lambda: slot.status().ok, 1.0)
    assert wait_until(lambda: not slot.status().ok, 2.0)
    st = slot.status()
    assert "delivered only unusable pictures" in st.message and "unsupported channel count 2" in st.message
    assert "Reopening" in st.message and cap.skipped >= 40
    # Once the garbage is over the stream is picked up again (after a reopen or two).
    assert wait_until(lambda: slot.status().ok, 4.0)
    # Every junk picture was read; a few died with the abandoned readers' queues, the rest counted.
    assert cap.error is None and cam.garbage_served == 120 and 100 <= cap.skipped <= 120


def test_occasional_garbage_is_skipped_without_a_reconnect(stop: threading.Event) -> None:
    odd = [arr for arr, usable in odd_arrays().values() if not usable]
    cam = FaultyCamera([Frames(5), Garbage(odd), Frames(5), Garbage(odd), Frames(5)], realtime=False, then="end")
    slot = LatestFrame()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=1.0)
    cap.start()
    got = []
    while (f := slot.get(2.0)) is not None:
        got.append(f.index)
    cap.join(1.0)
    assert got == list(range(15)) and cap.skipped == 2 * len(odd)
    assert cap.reconnects == 0 and cap.finished and cap.error is None


def test_a_hang_inside_open_is_a_stall_too(stop: threading.Event) -> None:
    cam = FaultyCamera(realtime=True)
    cam.stall(opens=True)
    slot = LatestFrame()
    cap = CaptureThread(cam, slot, stop, stall_timeout_s=0.5)
    cap.start()
    assert wait_until(lambda: cap.reconnects >= 1, 1.5)
    assert "stalled while opening it" in slot.status().message
    cam.resume()
    assert wait_until(lambda: slot.status().ok, BACKOFF_MAX_S + 1.5)
    t0 = time.monotonic()
    stop.set()
    cap.join(0.6)
    assert not cap.is_alive() and time.monotonic() - t0 < 0.6


# --- the whole pipeline resumes by itself -----------------------------------------------------------

def _astronaut() -> np.ndarray:
    image = photo("astronaut.png")  # fails (never skips) when the photo is missing
    return cv2.resize(image, (320, 320), interpolation=cv2.INTER_AREA)


@pytest.fixture(scope="module")
def detect() -> Callable[[np.ndarray], list]:
    from kiosk.detect.yunet import YuNetDetector
    from kiosk.models import create_session

    session = create_session(require_model("yunet"), ["CPUExecutionProvider"], 1)  # fails if missing
    detector = YuNetDetector(session, input_width=320, score_threshold=0.75, nms_iou_threshold=0.3,
                             top_k=50, min_face_px=20)
    return detector.detect


FAULTS = {
    # fault -> (how to break the camera, how to mend it)
    "unplugged": (lambda cam: cam.unplug(), lambda cam: cam.plug()),
    "wedged": (lambda cam: cam.stall(), lambda cam: cam.resume()),
    "wedged_open": (lambda cam: cam.stall(opens=True), lambda cam: cam.resume()),
}


# 2 s: long enough for the backoff to reach its cap (0.5 s stall + 0.5 s and 1 s waits), so the
# camera comes back while the kiosk waits the longest it ever waits between attempts.
@pytest.mark.parametrize(("fault", "outage_s"), [("unplugged", 2.0), ("wedged", 2.0), ("wedged_open", 0.6)])
def test_pipeline_resumes_within_2_s_of_the_camera_coming_back(fault: str, outage_s: float,
                                                               detect: Callable[[np.ndarray], list]) -> None:
    image = _astronaut()
    cam = FaultyCamera(realtime=True, fps=30.0, image=lambda serial: image, name="camera:0")
    cfg = config_from_mapping({"camera": {"stall_timeout_s": 0.5}})
    snapshots: list[Snapshot] = []
    pipeline = Pipeline(cfg, FaceAnalyzer(cfg, detect, None), source_factory=cam)
    capture, inference = pipeline.capture, pipeline.inference
    pipeline.start()
    try:
        assert wait_until(lambda: pipeline.snapshot is not None and pipeline.snapshot.frame_index >= 5, 5.0)
        assert pipeline.slot.status().ok and len(pipeline.snapshot.faces) == 1  # type: ignore[union-attr]

        break_camera, mend_camera = FAULTS[fault]
        break_camera(cam)
        # The operator is told, in words, while the kiosk keeps running.
        assert wait_until(lambda: not pipeline.slot.status().ok, 2.0)
        status = pipeline.slot.status()
        if fault == "unplugged":
            assert "unplugged" in status.message
        else:
            assert "No frame from camera:0" in status.message and "Check that the camera is connected" in status.message
        assert "Reopening in" in status.message
        time.sleep(outage_s)
        assert pipeline.running() and pipeline.error is None
        last = pipeline.snapshot
        assert last is not None

        mend_camera(cam)
        assert cam.recovered_s is not None
        resumed = wait_until(lambda: pipeline.slot.status().ok and pipeline.snapshot is not None
                             and pipeline.snapshot.frame_index > last.frame_index + 2, RESUME_LIMIT_S + 3.0)
        took_s = time.monotonic() - cam.recovered_s
        assert resumed, pipeline.slot.status()
        assert took_s < RESUME_LIMIT_S, f"resumed {took_s:.2f} s after the camera came back"
        snapshots.append(pipeline.snapshot)  # type: ignore[arg-type]
        assert len(snapshots[-1].faces) == 1  # analysed, not just captured
        # Same threads throughout: nothing was restarted.
        assert pipeline.capture is capture and pipeline.inference is inference
        assert capture.is_alive() and inference.is_alive() and pipeline.error is None
        assert capture.reconnects >= 1 and pipeline.slot.status().reconnects == capture.reconnects
    finally:
        pipeline.stop()
        cam.resume()
        cam.plug()
    assert not capture.is_alive() and not inference.is_alive()


def test_pipeline_survives_garbage_between_good_frames(detect: Callable[[np.ndarray], list]) -> None:
    image = _astronaut()
    odd = [arr for arr, _ in odd_arrays().values()]
    cam = FaultyCamera([Frames(5), Garbage(odd), Frames(5), Garbage(odd), Frames(5)], realtime=False,
                       then="end", image=lambda serial: image)
    cfg = config_from_mapping({})
    pipeline = Pipeline(cfg, FaceAnalyzer(cfg, detect, None), source_factory=cam)
    pipeline.start()
    assert pipeline.inference.done.wait(20)
    pipeline.stop()
    table = odd_arrays()
    usable = sum(ok for _, ok in table.values())
    # Usable but not already HxWx3 uint8: these must have been converted (the rest only copied).
    needs_conversion = sum(ok and not (a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3)  # type: ignore[union-attr]
                           for a, ok in table.values())
    assert pipeline.error is None and pipeline.capture.finished
    assert pipeline.inference.stats.frames == 15 + 2 * usable
    assert pipeline.capture.skipped == 2 * (len(odd) - usable)
    assert pipeline.capture.converted == 2 * needs_conversion
    assert pipeline.capture.reconnects == 0
    assert pipeline.snapshot is not None and len(pipeline.snapshot.faces) == 1
