"""Frame buffers that held a face: which are overwritten, and when (docs/PRIVACY.md, "Frame buffers").

- The screen's conversions of a camera frame (display-size picture, blurred copy, surfaces, the
  "You" crop of the threshold lesson) are overwritten with zeros as soon as the next frame is
  converted (``kiosk.ui.image.CameraImage.release``).
- The frames themselves are not held by anything in the pipeline beyond the next frames: the
  one-frame slot, the analyzer and the run statistics keep no reference to an older frame.
"""
from __future__ import annotations

import gc
import os
import weakref

import numpy as np
import pytest

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
import pygame  # noqa: E402

from kiosk.capture.slot import LatestFrame  # noqa: E402
from kiosk.types import Frame  # noqa: E402
from kiosk.ui.image import CameraImage  # noqa: E402

SIZE = (320, 240)
BOX = (100.0, 60.0, 200.0, 180.0)


def _face_frame(index: int) -> Frame:
    """A frame whose pixels are never zero, so any surviving copy shows."""
    rng = np.random.default_rng(index)
    return Frame(rng.integers(1, 256, (480, 640, 3), dtype=np.uint8), index, index / 25)


@pytest.fixture(params=["no display", "display"])
def display(request: pytest.FixtureRequest):  # noqa: ANN201
    pygame.display.init()
    if request.param == "display":
        pygame.display.set_mode((640, 480))  # surfaces are then converted to the display's format
    yield request.param
    pygame.display.quit()


def _all_zero(surface: pygame.Surface) -> bool:
    return not pygame.surfarray.array3d(surface).any()


def test_the_previous_frames_screen_buffers_are_zeroed_by_the_next_frame(display: str) -> None:
    image = CameraImage()
    first = _face_frame(1)
    rgb = image.rgb(first, SIZE, mirror=True)
    plain = image.surface(first, SIZE, mirror=True)
    blurred = image.surface(first, SIZE, mirror=True, blur_rects=[(40, 30, 60, 60)])
    you = image.crop(first, BOX, 64, mirror=True, blur=False)
    assert rgb.any() and not _all_zero(plain) and not _all_zero(blurred) and not _all_zero(you)
    # While the frame is current, the cached picture stays as it was (drawn at 60 Hz).
    assert image.surface(first, SIZE, mirror=True) is plain and not _all_zero(plain)

    image.surface(_face_frame(2), SIZE, mirror=True)  # the next camera frame
    assert not rgb.any(), "display-size picture of the previous frame left in RAM"
    assert _all_zero(plain) and _all_zero(blurred), "surfaces of the previous frame left in RAM"
    assert _all_zero(you), "the 'You' crop of the previous frame left in RAM"


def test_a_blurred_copy_is_zeroed_when_the_next_one_is_made(display: str) -> None:
    image = CameraImage()
    frame = _face_frame(3)
    first = image.surface(frame, SIZE, mirror=False, blur_rects=[(40, 30, 60, 60)])
    assert not _all_zero(first)
    image.surface(frame, SIZE, mirror=False, blur_rects=[(50, 30, 60, 60)])  # next display frame
    assert _all_zero(first)
    image.release()  # shutdown or the screen going away
    assert image._rgb is None and image._crop is None


def test_no_frame_is_held_beyond_the_next_ones_by_the_slot_and_the_analyzer() -> None:
    """Frames pass through the slot into the analyzer (a detector that finds a face in every
    frame); a weak reference to each image shows when the last reference to it is gone."""
    from kiosk.analysis.analyzer import FaceAnalyzer
    from kiosk.config import config_from_mapping
    from kiosk.types import Detection

    from kiosk.detect.yunet import DetectorInputMaker

    def detect(image: np.ndarray, prepared: object = None) -> list[Detection]:
        lm = np.array([[130, 100], [170, 100], [150, 120], [135, 140], [165, 140]], dtype=np.float32)
        return [Detection(BOX, lm, 0.9)]

    maker = DetectorInputMaker(320)
    analyzer = FaceAnalyzer(config_from_mapping({"recognition": {"enabled": False},
                                                 "watchlist": {"enabled": False}}), detect, None, prepare=maker)
    slot = LatestFrame()
    refs = []
    for i in range(20):
        frame = _face_frame(i)
        frame = Frame(frame.image, frame.index, frame.t_s, detector_input=maker(frame.image))  # as the capture thread
        refs.append(weakref.ref(frame.image))
        refs.append(weakref.ref(frame.detector_input.blob))
        slot.put(frame)
        del frame
        taken = slot.get(timeout_s=0.1)
        assert taken is not None
        analyzer.process(taken)
        del taken
    gc.collect()
    alive = [i // 2 for i, r in enumerate(refs) if r() is not None]
    assert alive == [19, 19], f"frames or their detector inputs still referenced: {alive} (only the newest, in the slot, may be)"
