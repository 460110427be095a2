"""A plain pygame window: the mirrored camera image with face boxes and visitor ids.

The main thread draws the newest camera frame at display rate and overlays the newest
Snapshot; it never waits for inference. Keys: Esc or Q quits.
"""
from __future__ import annotations

import logging
import os

import cv2
import numpy as np

from kiosk.config import Config
from kiosk.pipeline import Pipeline
from kiosk.types import Snapshot

log = logging.getLogger(__name__)

_BOX_KNOWN = (80, 220, 120)
_BOX_PENDING = (240, 200, 60)
_TEXT_BG = (0, 0, 0)


def fit_rect(src_w: int, src_h: int, dst_w: int, dst_h: int) -> tuple[int, int, int, int]:
    """Largest rectangle with the source's aspect ratio centred in the destination: x, y, w, h."""
    scale = min(dst_w / src_w, dst_h / src_h)
    w, h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    return (dst_w - w) // 2, (dst_h - h) // 2, w, h


def run_window(cfg: Config, pipeline: Pipeline) -> None:
    """Run the window until the user quits or the pipeline stops."""
    os.environ.setdefault("PYGAME_HIDE_SUPPORT_PROMPT", "1")
    import pygame

    pygame.display.init()
    pygame.font.init()
    try:
        flags = pygame.FULLSCREEN if cfg.ui.fullscreen else 0
        size = (0, 0) if cfg.ui.fullscreen else (cfg.ui.width, cfg.ui.height)
        screen = pygame.display.set_mode(size, flags)
        pygame.display.set_caption("Surveillance Mirror")
        pygame.mouse.set_visible(not cfg.ui.fullscreen)
        font = pygame.font.Font(None, max(20, screen.get_height() // 24))
        clock = pygame.time.Clock()
        while pipeline.running():
            for event in pygame.event.get():
                if event.type == pygame.QUIT or (
                        event.type == pygame.KEYDOWN and event.key in (pygame.K_ESCAPE, pygame.K_q)):
                    return
            draw(screen, font, cfg, pipeline)
            pygame.display.flip()
            clock.tick(cfg.ui.max_fps)
    finally:
        pygame.quit()


def draw(screen, font, cfg: Config, pipeline: Pipeline) -> None:  # noqa: ANN001 (pygame types)
    import pygame

    screen.fill((0, 0, 0))
    frame = pipeline.slot.peek()
    status = pipeline.slot.status()
    sw, sh = screen.get_size()
    if frame is None or not status.ok:
        message = status.message if not status.ok else "Waiting for the camera…"
        text = font.render(message, True, (255, 255, 255))
        screen.blit(text, text.get_rect(center=(sw // 2, sh // 2)))
        return
    x0, y0, w, h = fit_rect(frame.width, frame.height, sw, sh)
    rgb = cv2.cvtColor(cv2.resize(frame.image, (w, h), interpolation=cv2.INTER_LINEAR),
                       cv2.COLOR_BGR2RGB)
    if cfg.ui.mirror:
        rgb = cv2.flip(rgb, 1)
    surface = pygame.image.frombuffer(np.ascontiguousarray(rgb).data, (w, h), "RGB")
    screen.blit(surface, (x0, y0))
    snap = pipeline.snapshot
    if snap is not None:
        draw_faces(screen, font, cfg, snap, (x0, y0, w, h))


def draw_faces(screen, font, cfg: Config, snap: Snapshot,  # noqa: ANN001
               rect: tuple[int, int, int, int]) -> None:
    import pygame

    x0, y0, w, h = rect
    fw, fh = snap.frame_size
    sx, sy = w / fw, h / fh
    for face in snap.faces:
        bx0, by0, bx1, by1 = face.box_xyxy
        if cfg.ui.mirror:
            bx0, bx1 = fw - bx1, fw - bx0
        box = pygame.Rect(x0 + bx0 * sx, y0 + by0 * sy, (bx1 - bx0) * sx, (by1 - by0) * sy)
        known = face.visitor_id is not None
        colour = _BOX_KNOWN if known else _BOX_PENDING
        pygame.draw.rect(screen, colour, box, width=3)
        label = (f"Visitor {face.visitor_id:04d} · visit {face.visit_number}" if known
                 else "identifying…")
        text = font.render(label, True, colour, _TEXT_BG)
        screen.blit(text, (box.x, max(0, box.y - text.get_height() - 4)))
        if cfg.ui.show_landmarks:
            for lx, ly in face.landmarks_px:
                if cfg.ui.mirror:
                    lx = fw - lx
                pygame.draw.circle(screen, colour, (x0 + lx * sx, y0 + ly * sy), 3)

