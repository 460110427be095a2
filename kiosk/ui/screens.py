"""Whole-screen layers: the attract screen, the camera-unavailable screen, the debug overlay.

Pure draw functions: (surface, context, view data) in, pixels and a ``FrameRecord`` out.
"""
from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.ui.aggregate import TodayFigures
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext, banner_height, draw_lock, draw_panel


def draw_attract(target: pygame.Surface, ctx: DrawContext, figures: TodayFigures, image_rect: Rect | None,
                 bottom_px: int) -> None:
    """Nobody in view: the camera image shaded, an invitation, the promise, today's counters."""
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    w, h = ctx.size
    ctx.record.screen = "attract"
    draw_panel(target, ctx, (0, 0, w, h), fill=theme.shade, radius=0, border=False)
    top = banner_height(sc) + round(h * 0.05)
    width = round(w * 0.8)
    x = (w - width) // 2
    cx = w // 2

    y = top
    for line in t.wrap(s.get("attract.title"), "display", width):
        y = t.draw(target, line, "display", theme.text, (cx, y), anchor="midtop").bottom
    y += sc.pad
    for line in t.wrap(s.get("attract.invite"), "title", width):
        y = t.draw(target, line, "title", theme.accent, (cx, y), anchor="midtop").bottom
    y += round(sc.body * 1.2)

    # The promise, with a lock beside each line (repeated in the banner above).
    icon = round(sc.body * 0.8)
    promise = [s.get("attract.promise_stored"), s.get("attract.promise_sent"),
               s.get("attract.promise_forget", duration=s.duration(ctx.settings.forget_after_s))]
    if ctx.settings.consent_required:
        promise.insert(0, s.get("attract.promise_consent", button=s.get("consent.button")))
    lh = t.line_height("body")
    widest = max(t.size(p, "body")[0] for p in promise)
    px = max(x, cx - (widest + icon + sc.pad) // 2)
    for p in promise:
        for j, line in enumerate(t.wrap(p, "body", width - icon - sc.pad)):
            if j == 0:
                draw_lock(target, (px + icon // 2, y + lh // 2), icon, theme.accent)
            t.draw(target, line, "body", theme.text, (px + icon + sc.pad, y))
            y += lh
    y += round(sc.body * 1.0)

    # Today's counters: three big figures with their labels.
    t.draw(target, s.get("attract.today"), "body_bold", theme.muted, (cx, y), anchor="midtop")
    y += t.line_height("body_bold") + sc.pad // 2
    unknown = s.get("attract.stat_unknown")
    stats = [
        (s.number(figures.visitors), s.get("attract.stat_visitors")),
        (s.clock(figures.median_dwell_s) if figures.median_dwell_s is not None else unknown, s.get("attract.stat_dwell")),
        (s.percent(figures.looked_share) if figures.looked_share is not None else unknown, s.get("attract.stat_looked")),
    ]
    col = width // 3
    box_h = t.line_height("display") + t.line_height("small") * 2 + sc.pad
    if y + box_h > bottom_px:  # small screens: smaller figures rather than overlapping the buttons
        role = "title"
    else:
        role = "display"
    for i, (value, label) in enumerate(stats):
        ccx = x + col * i + col // 2
        r = t.draw(target, value, role, theme.text, (ccx, y), anchor="midtop")
        ly = r.bottom
        for line in t.wrap(label, "small", col - sc.pad)[:2]:
            ly = t.draw(target, line, "small", theme.muted, (ccx, ly), anchor="midtop").bottom
    y += t.line_height(role) + 2 * t.line_height("small") + sc.pad
    hint = s.get("attract.touch")
    if y + t.line_height("body_bold") <= bottom_px:
        t.draw(target, hint, "body_bold", theme.accent, (cx, max(y, bottom_px - t.line_height("body_bold"))), anchor="midtop")


def draw_camera_unavailable(target: pygame.Surface, ctx: DrawContext, message: str, retries: int,
                            down_for_s: float, starting: bool) -> None:
    """No pictures: say so, say the kiosk keeps trying, and tell staff what to check."""
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    w, h = ctx.size
    ctx.record.screen = "camera"
    target.fill(theme.background)
    width = round(w * 0.72)
    x = (w - width) // 2
    cx = w // 2
    y = banner_height(sc) + round(h * 0.08)
    _camera_icon(target, (cx, y + sc.display // 2), sc.display, theme.accent, crossed=not starting)
    y += sc.display + sc.pad
    title = s.get("camera.starting") if starting else s.get("camera.title")
    for line in t.wrap(title, "display" if t.size(title, "display")[0] <= width else "title", width):
        role = "display" if t.size(title, "display")[0] <= width else "title"
        y = t.draw(target, line, role, theme.text, (cx, y), anchor="midtop").bottom
    if starting:
        return
    y += sc.pad
    for line in t.wrap(s.get("camera.body"), "body", width):
        y = t.draw(target, line, "body", theme.text, (cx, y), anchor="midtop").bottom
    y += round(sc.body * 1.2)
    # Staff box.
    items = [s.get("camera.staff_plug"), s.get("camera.staff_busy"), s.get("camera.staff_restart")]
    details = s.get("camera.details", message=message, retries=retries, duration=s.duration(down_for_s))
    inner = width - 2 * sc.pad
    bullet = round(sc.body * 0.9)
    box_h = (2 * sc.pad + t.line_height("body_bold")
             + sum(t.wrapped_height(i, "body", inner - bullet) for i in items)
             + sc.pad // 2 + t.wrapped_height(details, "small", inner))
    draw_panel(target, ctx, (x, y, width, box_h))
    yy = y + sc.pad
    t.draw(target, s.get("camera.staff_title"), "body_bold", theme.accent, (x + sc.pad, yy))
    yy += t.line_height("body_bold")
    for item in items:
        pygame.draw.circle(target, theme.text, (x + sc.pad + bullet // 3, yy + t.line_height("body") // 2), max(3, sc.body // 7))
        yy += t.draw_wrapped(target, item, "body", theme.text, (x + sc.pad + bullet, yy), inner - bullet)
    yy += sc.pad // 2
    t.draw_wrapped(target, details, "small", theme.muted, (x + sc.pad, yy), inner)


def _camera_icon(target: pygame.Surface, center: tuple[int, int], size: int, colour: tuple, crossed: bool) -> None:
    cx, cy = center
    lw = max(2, size // 14)
    body = pygame.Rect(0, 0, round(size * 0.9), round(size * 0.58))
    body.center = (cx, cy + size // 12)
    pygame.draw.rect(target, colour, body, lw, border_radius=size // 10)
    bump = pygame.Rect(0, 0, size // 3, size // 7)
    bump.midbottom = (cx - size // 8, body.top + 1)
    pygame.draw.rect(target, colour, bump, lw, border_radius=size // 20)
    pygame.draw.circle(target, colour, body.center, round(size * 0.19), lw)
    if crossed:
        pygame.draw.line(target, colour, (body.left - size // 10, body.bottom + size // 10),
                         (body.right + size // 10, body.top - size // 4), lw + 1)


@dataclass
class DebugInfo:
    """Operator figures (English only: not for visitors)."""

    capture_fps: float
    inference_fps: float
    ui_fps: float
    draw_ms: float
    stage_ms: dict[str, float]  # every field of the snapshot's StageTimes, whatever stages exist
    frames_processed: int
    frames_dropped: int
    reconnects: int
    faces: int
    visitors: int
    mode: str
    text_renders: int


def draw_debug(target: pygame.Surface, ctx: DrawContext, info: DebugInfo) -> None:
    t, sc, theme = ctx.text, ctx.scale, ctx.theme
    lines = [
        f"mode {info.mode}",
        f"fps  capture {info.capture_fps:5.1f}  inference {info.inference_fps:5.1f}  ui {info.ui_fps:5.1f}",
        f"ms   draw {info.draw_ms:5.1f}  " + "  ".join(f"{k.removesuffix('_ms')} {v:5.1f}" for k, v in info.stage_ms.items()),
        f"frames processed {info.frames_processed}  dropped {info.frames_dropped}  reconnects {info.reconnects}",
        f"faces {info.faces}  visitors remembered {info.visitors}  text renders {info.text_renders}",
    ]
    lh = t.line_height("mono")
    wmax = max(t.size(line, "mono")[0] for line in lines)
    rect = (sc.pad, banner_height(sc) + sc.pad, wmax + 2 * sc.pad, lh * len(lines) + 2 * sc.pad)
    draw_panel(target, ctx, rect, fill=(0, 0, 0, 225))
    for i, line in enumerate(lines):
        t.draw(target, line, "mono", theme.text, (rect[0] + sc.pad, rect[1] + sc.pad + i * lh))
    ctx.record.debug = rect
