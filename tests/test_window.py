"""The plain window, drawn offscreen (SDL dummy driver): mirrored frame, boxes, visitor ids."""
from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from types import SimpleNamespace  # noqa: E402

import numpy as np  # noqa: E402
import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.capture.base import LatestFrame  # noqa: E402
from kiosk.config import config_from_mapping  # noqa: E402
from kiosk.types import FaceView, Frame, Snapshot  # noqa: E402
from kiosk.ui import window  # noqa: E402


@pytest.fixture(scope="module")
def pg():  # noqa: ANN201
    pygame.display.init()
    pygame.font.init()
    yield pygame
    pygame.quit()


def face(track_id: int, box: tuple[float, float, float, float], visitor: int | None) -> FaceView:
    return FaceView(track_id=track_id, box_xyxy=box, landmarks_px=((0.0, 0.0),) * 5, score=0.9,
                    visitor_id=visitor, visit_number=1, is_return=False, track_age_s=1.0,
                    time_in_view_s=1.0, last_visit_end_s=None)


def fake_pipeline(snapshot: Snapshot | None, image: np.ndarray) -> SimpleNamespace:
    slot = LatestFrame()
    slot.put(Frame(image, 0, 0.0))
    slot.set_status(True, "camera ok")
    return SimpleNamespace(slot=slot, snapshot=snapshot)


def test_fit_rect_keeps_aspect() -> None:
    assert window.fit_rect(640, 480, 1280, 720) == (160, 0, 960, 720)
    assert window.fit_rect(640, 480, 640, 480) == (0, 0, 640, 480)
    assert window.fit_rect(1920, 1080, 800, 800) == (0, 175, 800, 450)


def test_frame_is_mirrored_and_boxes_follow_the_mirror(pg) -> None:  # noqa: ANN001
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    image[:, :320] = (255, 0, 0)  # left half blue (BGR)
    snap = Snapshot(frame_index=0, t_s=0.0, frame_size=(640, 480),
                    faces=(face(1, (40.0, 100.0, 140.0, 200.0), 7),))
    screen = pg.Surface((640, 480))
    font = pg.font.Font(None, 24)
    window.draw(screen, font, config_from_mapping({}), fake_pipeline(snap, image))
    # Mirrored: the camera's blue left half is drawn on the right.
    assert screen.get_at((600, 400))[:3] == (0, 0, 255)
    assert screen.get_at((40, 400))[:3] == (0, 0, 0)
    # The face at x 40..140 in the camera image is boxed at x 500..600 on screen.
    assert screen.get_at((500, 150))[:3] == window._BOX_KNOWN
    assert screen.get_at((41, 150))[:3] != window._BOX_KNOWN


def test_unmirrored_config_and_pending_faces(pg) -> None:  # noqa: ANN001
    image = np.zeros((480, 640, 3), dtype=np.uint8)
    snap = Snapshot(frame_index=0, t_s=0.0, frame_size=(640, 480),
                    faces=(face(1, (40.0, 100.0, 140.0, 200.0), None),))
    screen = pg.Surface((640, 480))
    cfg = config_from_mapping({"ui": {"mirror": False}})
    window.draw(screen, pg.font.Font(None, 24), cfg, fake_pipeline(snap, image))
    assert screen.get_at((40, 150))[:3] == window._BOX_PENDING


def test_camera_unavailable_message_instead_of_a_frame(pg) -> None:  # noqa: ANN001
    slot = LatestFrame()
    slot.set_status(False, "Camera camera:0 is not delivering pictures")
    screen = pg.Surface((640, 480))
    screen.fill((9, 9, 9))
    window.draw(screen, pg.font.Font(None, 24), config_from_mapping({}),
                SimpleNamespace(slot=slot, snapshot=None))
    pixels = pg.surfarray.array3d(screen)
    assert (pixels == 255).all(axis=2).sum() > 50  # white message text on black
