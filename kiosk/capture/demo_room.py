"""The demo scene's room: wall, paintings, spotlights, bench, parquet, and the kiosk's own counter
in front of everyone (see :mod:`kiosk.capture.demo`).
"""
from __future__ import annotations


import cv2
import numpy as np

from kiosk.capture.demo_script import FACE_Y, LEDGE_TOP, REF_H, REF_W


def build_room(w: int, h: int) -> tuple[np.ndarray, np.ndarray]:
    """The background (wall, paintings, bench, floor) and the counter strip in front of everyone.

    Drawn in 640x480 units scaled to the frame, then softened (the wall is out of focus behind
    the visitors, the counter even more so, being closest to the lens).
    """
    # long: a drawing script (wall, paintings, bench, floor, counter) in 640x480 units, read top to
    # bottom like the room it paints; its helpers are the two scaling closures at the top
    sx, sy = w / REF_W, h / REF_H

    def p(x: float, y: float) -> tuple[int, int]:
        return int(round(x * sx)), int(round(y * sy))

    def s(v: float) -> int:
        return max(1, int(round(v * min(sx, sy))))

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    xn, yn = xx / w, yy / h
    floor_y = 0.69

    # Wall: warm off-white, darker towards the floor and the sides.
    top_c, low_c = np.array([196, 208, 218], np.float32), np.array([150, 164, 178], np.float32)
    wall_t = np.clip(yn / floor_y, 0, 1)[..., None]
    room = top_c * (1 - wall_t) + low_c * wall_t
    room *= (1.0 - 0.10 * ((xn - 0.5) * 2) ** 2)[..., None]

    # Parquet floor with planks converging to the vanishing point at eye level.
    f_t = np.clip((yn - floor_y) / (1 - floor_y), 0, 1)[..., None]
    floor = np.array([62, 104, 150], np.float32) * (1.05 - 0.35 * f_t)
    room = np.where((yn >= floor_y)[..., None], floor, room)
    room = room.astype(np.uint8)
    vx, vy = p(320, FACE_Y * REF_H)
    for bx in np.linspace(-900, 1540, 26):
        x1, y1 = p(bx, REF_H)
        # line from the vanishing point, clipped to the floor region below
        t = (floor_y * h - vy) / max(1, (y1 - vy))
        x0 = int(vx + (x1 - vx) * t)
        cv2.line(room, (x0, int(floor_y * h)), (x1, y1), (48, 84, 122), s(1), cv2.LINE_AA)
    # skirting board
    cv2.rectangle(room, p(0, floor_y * REF_H - 9), p(640, floor_y * REF_H), (226, 230, 233), -1)
    cv2.line(room, p(0, floor_y * REF_H), p(640, floor_y * REF_H), (120, 128, 136), s(1), cv2.LINE_AA)

    # Light pools of the track spots on the wall (additive, soft).
    light: np.ndarray = np.zeros((h, w), np.float32)
    for cx, cy, rx, ry in ((120, 140, 120, 150), (330, 130, 140, 165), (540, 140, 115, 150)):
        cv2.ellipse(light, p(cx, cy), (s(rx), s(ry)), 0, 0, 360, (1.0,), -1)
    light = cv2.GaussianBlur(light, (0, 0), 40 * min(sx, sy))
    room = np.clip(room.astype(np.float32) + light[..., None] * np.array([22, 30, 38], np.float32), 0, 255)
    room = room.astype(np.uint8)

    # Ceiling track with spot fixtures.
    cv2.rectangle(room, p(0, 0), p(640, 7), (70, 70, 72), -1)
    for cx in (95, 145, 305, 355, 515, 565):
        cv2.rectangle(room, p(cx - 7, 6), p(cx + 7, 22), (40, 40, 42), -1)
        cv2.circle(room, p(cx, 22), s(5), (200, 225, 240), -1)

    def painting(x0: float, y0: float, x1: float, y1: float, frame_c: tuple[int, int, int]) -> None:
        shadow: np.ndarray = np.zeros((h, w), np.float32)
        cv2.rectangle(shadow, p(x0 + 5, y0 + 7), p(x1 + 5, y1 + 9), (1.0,), -1)
        shadow = cv2.GaussianBlur(shadow, (0, 0), 6 * min(sx, sy))
        room[:] = (room.astype(np.float32) * (1 - 0.45 * shadow[..., None])).astype(np.uint8)
        cv2.rectangle(room, p(x0, y0), p(x1, y1), frame_c, -1)
        cv2.rectangle(room, p(x0, y0), p(x1, y1), tuple(int(c * 0.6) for c in frame_c), s(1))

    # Left: a landscape (sky, sun, hills, lake), drawn on its own canvas so nothing spills.
    painting(38, 78, 202, 206, (60, 130, 170))
    a0, a1 = p(48, 88), p(192, 196)
    sky = np.linspace(0, 1, a1[1] - a0[1], dtype=np.float32)[:, None, None]
    canvas = (np.array([235, 200, 150], np.float32) * (1 - sky)
              + np.array([210, 225, 240], np.float32) * sky).astype(np.uint8)
    canvas = np.ascontiguousarray(np.repeat(canvas, a1[0] - a0[0], axis=1))

    def q(x: float, y: float) -> tuple[int, int]:  # painting coordinates, ref units from its corner
        return int(round(x * sx)), int(round(y * sy))

    cv2.circle(canvas, q(112, 30), s(12), (170, 225, 250), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, q(42, 102), (s(80), s(48)), 0, 180, 360, (70, 125, 90), -1, cv2.LINE_AA)
    cv2.ellipse(canvas, q(117, 108), (s(70), s(38)), 0, 180, 360, (60, 110, 75), -1, cv2.LINE_AA)
    cv2.rectangle(canvas, q(0, 90), q(144, 108), (120, 95, 60), -1)
    room[a0[1]:a1[1], a0[0]:a1[0]] = canvas
    # Centre: a colour-field painting (two soft blocks on red).
    painting(262, 52, 398, 252, (40, 40, 44))
    c0, c1 = p(270, 60), p(390, 244)
    block = np.zeros((c1[1] - c0[1], c1[0] - c0[0], 3), np.uint8)
    block[:] = (40, 45, 150)
    bh = block.shape[0]
    cv2.rectangle(block, (s(10), s(10)), (block.shape[1] - s(10), int(bh * 0.48)), (40, 110, 215), -1)
    cv2.rectangle(block, (s(10), int(bh * 0.56)), (block.shape[1] - s(10), bh - s(12)), (35, 30, 95), -1)
    room[c0[1]:c1[1], c0[0]:c1[0]] = cv2.GaussianBlur(block, (0, 0), 2.5 * min(sx, sy))
    # Right: a grid of primaries.
    painting(462, 84, 604, 214, (235, 235, 235))
    g0, g1 = p(470, 92), p(596, 206)
    room[g0[1]:g1[1], g0[0]:g1[0]] = (238, 240, 242)
    cv2.rectangle(room, p(470, 92), p(520, 150), (40, 40, 200), -1)
    cv2.rectangle(room, p(560, 165), p(596, 206), (160, 70, 20), -1)
    cv2.rectangle(room, p(470, 185), p(500, 206), (40, 200, 235), -1)
    for (xa, ya, xb, yb) in ((520, 92, 520, 206), (560, 92, 560, 206), (470, 150, 596, 150),
                             (470, 185, 560, 185), (500, 185, 500, 206), (560, 165, 596, 165)):
        cv2.line(room, p(xa, ya), p(xb, yb), (25, 25, 25), s(3))
    # Wall labels beside each painting.
    for lx, ly in ((208, 180), (404, 222), (610, 190)):
        cv2.rectangle(room, p(lx, ly), p(lx + 22, ly + 16), (238, 240, 240), -1)
        for k in range(3):
            cv2.line(room, p(lx + 3, ly + 4 + 4 * k), p(lx + 18 - 5 * (k == 2), ly + 4 + 4 * k), (140, 140, 140), 1)
    # A bench against the far wall.
    cv2.rectangle(room, p(232, 318), p(408, 328), (58, 62, 66), -1)
    cv2.rectangle(room, p(232, 318), p(408, 320), (96, 100, 104), -1)
    for lx in (244, 392):
        cv2.rectangle(room, p(lx, 328), p(lx + 6, 352), (40, 42, 45), -1)

    room = cv2.GaussianBlur(room, (0, 0), 1.1 * min(sx, sy))
    # Lens vignetting.
    vignette = 1.0 - 0.22 * (((xn - 0.5) / 0.7) ** 2 + ((yn - 0.5) / 0.7) ** 2)
    room = (room.astype(np.float32) * vignette[..., None]).astype(np.uint8)

    # The kiosk's own counter top, nearest the lens (so the most out of focus): oak with grain
    # running across, a lit far edge, darker towards the lens, and a small tent card on it.
    top = int(round(LEDGE_TOP * h))
    ledge_h = h - top
    pad = s(10)
    rng = np.random.default_rng(3)
    r = np.linspace(0, 1, ledge_h + 2 * pad, dtype=np.float32)[:, None, None]
    band = np.array([96, 138, 178], np.float32) * (1.0 - 0.45 * r)
    band = np.repeat(band, w, axis=1)
    grain = cv2.GaussianBlur(rng.normal(0, 1, (ledge_h + 2 * pad, w)).astype(np.float32), (0, 0),
                             sigmaX=30 * sx, sigmaY=0.8 * sy)
    band *= (1.0 + 0.9 * grain)[..., None]
    band[: pad] = room[top - pad: top].astype(np.float32)  # blends into the room when blurred
    band[pad: pad + s(2)] = (150, 184, 214)  # the lit far edge
    card = np.array([p(520, 392), p(600, 392), p(606, 428), p(514, 428)], np.int32)
    card[:, 1] += pad - top
    cv2.fillConvexPoly(band, card, (232, 236, 238))
    for k, length in enumerate((62, 48, 56)):
        y = int(round((400 + 8 * k) * sy)) + pad - top
        cv2.line(band, (int(528 * sx), y), (int((528 + length) * sx), y), (90, 90, 95), s(2))
    band = cv2.GaussianBlur(band, (0, 0), 2.2 * min(sx, sy))
    ledge = band[pad: pad + ledge_h]
    ledge = (ledge * vignette[top:, :, None]).clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(room), np.ascontiguousarray(ledge)
