"""The room detection strategy: scan tiles, zoom around small faces, merge (kiosk/detect/room.py).

Scenes are built from the fetched demo photos: one near face (large) and small, distant faces
pasted into a large camera frame. No evaluation data is needed.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from kiosk.detect.room import RoomDetector, Tile, scan_tiles
from kiosk.detect.yunet import YuNetDetector
from modelkit import photo, session

SCORE, IOU, TOP_K = 0.75, 0.3, 50


def _face_crop(name: str) -> np.ndarray:
    """A photo's face with some context, found by YuNet at native size."""
    image = photo(name)
    det = YuNetDetector(session("yunet"), 4096, 0.6, IOU, TOP_K, 0)
    d = det.detect(image)[0]
    x1, y1, x2, y2 = d.box_xyxy
    w = x2 - x1
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    side = w * 2.0
    xa, ya = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    xb, yb = int(min(image.shape[1], cx + side / 2)), int(min(image.shape[0], cy + side / 2))
    return image[ya:yb, xa:xb], w / (xb - xa)


def _scene(size: tuple[int, int], faces: list[tuple[str, int, int, int]]) -> tuple[np.ndarray, list[tuple[float, float, float, float]]]:
    """A grey frame with each (photo, x, y, face_width_px) pasted; returns the frame and the face boxes (approx.)."""
    w, h = size
    frame = np.full((h, w, 3), 90, np.uint8)
    boxes = []
    for name, x, y, face_w in faces:
        crop, share = _face_crop(name)
        side = max(8, int(round(face_w / share)))
        patch = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
        frame[y:y + side, x:x + side] = patch
        c = side / 2
        boxes.append((x + c - face_w / 2, y + c - face_w / 2, x + c + face_w / 2, y + c + face_w / 2))
    return frame, boxes


def _found(dets: list, box: tuple[float, float, float, float]) -> bool:
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    return any(d.box_xyxy[0] <= cx <= d.box_xyxy[2] and d.box_xyxy[1] <= cy <= d.box_xyxy[3] for d in dets)


# ------------------------------------------------------------------------------------- tiles

@pytest.mark.parametrize("w,h,tile,min_ov", [(1920, 1080, 480, 0), (1920, 1080, 480, 200), (1280, 720, 640, 96),
                                             (640, 480, 640, 0), (1000, 333, 256, 50)])
def test_scan_tiles_cover_the_frame_with_equal_overlapping_tiles(w: int, h: int, tile: int, min_ov: int) -> None:
    tiles = scan_tiles(w, h, tile, min_overlap_px=min_ov)
    sizes = {(t.x1 - t.x0, t.y1 - t.y0) for t in tiles}
    assert len(sizes) == 1, sizes  # one input shape for onnxruntime
    tw, th = sizes.pop()
    assert tw == min(tile, w) and th == min(tile, h)
    covered = np.zeros((h, w), bool)
    for t in tiles:
        assert 0 <= t.x0 < t.x1 <= w and 0 <= t.y0 < t.y1 <= h
        covered[t.y0:t.y1, t.x0:t.x1] = True
    assert covered.all()
    xs = sorted({t.x0 for t in tiles})
    for a, b in zip(xs, xs[1:]):
        assert (a + tw) - b >= min(min_ov, tw / 2) - 1  # neighbours overlap by at least min_ov


def test_scan_tiles_rejects_a_nonpositive_size() -> None:
    with pytest.raises(ValueError, match="tile_px"):
        scan_tiles(100, 100, 0)


# ------------------------------------------------------------------------------------- detector

def test_off_or_small_frames_is_exactly_the_single_pass() -> None:
    frame, _ = _scene((640, 480), [("obama.jpg", 200, 100, 120)])
    single = YuNetDetector(session("yunet"), 320, SCORE, IOU, TOP_K, 20)
    for tile_px in (0, 640):
        room = RoomDetector(session("yunet"), 320 if tile_px == 0 else 640, SCORE, IOU, TOP_K, 20, tile_px)
        ref = single if tile_px == 0 else YuNetDetector(session("yunet"), 640, SCORE, IOU, TOP_K, 20)
        got = room.detect(frame)
        want = ref.detect(frame)
        assert not room.active
        assert [d.box_xyxy for d in got] == [d.box_xyxy for d in want]


def test_room_finds_distant_faces_the_single_pass_misses_and_keeps_them_every_frame() -> None:
    size = (1920, 1080)
    frame, boxes = _scene(size, [("obama.jpg", 800, 300, 260),      # near visitor
                                 ("biden.jpg", 100, 80, 30),         # distant, top left
                                 ("astronaut.png", 1500, 700, 34),   # distant, bottom right
                                 ("obama2.jpg", 1000, 900, 28)])     # distant, bottom
    single = YuNetDetector(session("yunet"), 320, SCORE, IOU, TOP_K, 12).detect(frame)
    assert _found(single, boxes[0])
    assert not any(_found(single, b) for b in boxes[1:]), "the scene no longer tests distant faces"

    room = RoomDetector(session("yunet"), 320, SCORE, IOU, TOP_K, 12, 480)
    assert room.active is False  # set up on the first frame
    rotation = None
    for i in range(40):
        dets = room.detect(frame)
        rotation = len(room.tiles)
        if i >= rotation:  # after one full rotation: every face, on every frame (zoom pass)
            assert all(_found(dets, b) for b in boxes), (i, [d.box_xyxy for d in dets])
            assert room.last.zoomed_faces >= 3
        # Never two boxes for one face.
        centres = [((d.box_xyxy[0] + d.box_xyxy[2]) / 2, (d.box_xyxy[1] + d.box_xyxy[3]) / 2) for d in dets]
        for a in range(len(centres)):
            for b in range(a + 1, len(centres)):
                assert np.hypot(centres[a][0] - centres[b][0], centres[a][1] - centres[b][1]) > 10
    assert rotation is not None and rotation > 1
    assert room.last.calls == 3  # base + one tile + one mosaic for all zoomed faces
    for d in room.detect(frame):
        assert d.landmarks_px.shape == (5, 2) and not d.landmarks_px.flags.writeable
        x1, y1, x2, y2 = d.box_xyxy
        assert 0 <= x1 < x2 <= size[0] and 0 <= y1 < y2 <= size[1]
        # Landmarks in frame pixels, inside (or right at) the box.
        assert np.all(d.landmarks_px[:, 0] > x1 - 0.2 * (x2 - x1)) and np.all(d.landmarks_px[:, 0] < x2 + 0.2 * (x2 - x1))


def test_a_face_that_leaves_is_forgotten_by_the_zoom_pass() -> None:
    frame, boxes = _scene((1920, 1080), [("biden.jpg", 300, 300, 32)])
    room = RoomDetector(session("yunet"), 320, SCORE, IOU, TOP_K, 12, 480)
    for _ in range(len(scan_tiles(1920, 1080, 480, min_overlap_px=400)) + 20):
        room.detect(frame)
        if room.last.zoomed_faces:
            break
    assert room.last.zoomed_faces == 1
    empty = np.full_like(frame, 90)
    for _ in range(10):
        dets = room.detect(empty)
    assert dets == [] and room.last.zoomed_faces == 0


def test_a_new_frame_size_resets_the_rotation() -> None:
    room = RoomDetector(session("yunet"), 320, SCORE, IOU, TOP_K, 12, 480)
    room.detect(np.zeros((1080, 1920, 3), np.uint8))
    big = len(room.tiles)
    room.detect(np.zeros((720, 1280, 3), np.uint8))
    assert 1 < len(room.tiles) < big
    assert isinstance(room.tiles[0], Tile)
    with pytest.raises(ValueError, match="scan_tile_px"):
        RoomDetector(session("yunet"), 320, SCORE, IOU, TOP_K, 12, -1)
