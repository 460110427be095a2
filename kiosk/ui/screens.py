"""Whole-screen layers: the attract screen, the "mirror paused" note, the debug overlay.

Pure draw functions: (surface, context, view data) in, pixels and a ``FrameRecord`` out.

There is no staff-only screen: when the camera is missing or failing, visitors get the attract
screen with a short translated note that the mirror is paused (and can open every lesson);
the diagnosis for staff (the source's own message, attempts, how long) is in the log and the
F1 overlay, in English, where no visitor has to read it.
"""
from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.counters.figures import TodayFigures
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext, banner_height, draw_lock, draw_panel

ATTRACT_PAGE_S = 7.0  # when the attract screen needs two pages, each is shown this long


def draw_attract(target: pygame.Surface, ctx: DrawContext, figures: TodayFigures, image_rect: Rect | None,
                 bottom_px: int, note: str | None = None, now_s: float = 0.0) -> None:
    """Nobody in view (or the mirror paused: ``note``): an invitation, the privacy promise,
    today's counters. Everything at body size or larger; when it does not all fit (long
    languages, small screens) the promise and the counters take turns as two pages."""
    # long: the attract screen measures every block (title, promise, counters) before drawing any, to
    # centre them together; measuring and drawing share those heights
    theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
    w, h = ctx.size
    ctx.record.screen = "attract"
    draw_panel(target, ctx, (0, 0, w, h), fill=theme.shade, radius=0, border=False)
    top = banner_height(ctx) + round(h * 0.04)
    width = round(w * 0.84)
    x = (w - width) // 2
    cx = w // 2

    title = t.wrap(s.get("attract.title"), "display", width)
    if note is not None:
        invite, invite_colour = t.wrap(note, "title", width), theme.alert
    else:
        invite, invite_colour = t.wrap(s.get("attract.invite"), "title", width), theme.accent
    head_h = len(title) * t.line_height("display") + sc.pad + len(invite) * t.line_height("title") + round(sc.body * 1.0)

    # The promise, with a lock beside each line (repeated in the banner above).
    icon = round(sc.body * 0.8)
    promise = [s.get("attract.promise_stored"), s.get("attract.promise_sent"),
               s.get("attract.promise_forget", duration=s.duration(ctx.privacy.forget_after_s))]
    if ctx.privacy.consent == "required":
        promise.insert(0, s.get("attract.promise_consent", button=s.get("consent.button")))
    lh = t.line_height("body")
    promise_lines = [t.wrap(p, "body", width - icon - sc.pad) for p in promise]
    promise_h = sum(len(p) for p in promise_lines) * lh + round(sc.body * 1.0)

    # Today's counters: three figures with their labels, each value in the largest type that
    # fits its column ("not measured" must not run into its neighbour).
    unknown = s.get("attract.stat_unknown")
    stats = [
        (s.number(figures.visitors), s.get("attract.stat_visitors")),
        (s.clock(figures.median_dwell_s) if figures.median_dwell_s is not None else unknown, s.get("attract.stat_dwell")),
        (s.percent(figures.looked_share) if figures.looked_share is not None else unknown, s.get("attract.stat_looked")),
    ]
    col = width // 3
    role = next((r for r in ("display", "title") if all(t.size(v, r)[0] <= col - sc.pad for v, _ in stats)), "body_bold")
    values = [t.wrap(v, role, col - sc.pad) for v, _ in stats]
    labels = [t.wrap(label, "body", col - sc.pad) for _, label in stats]
    stats_h = (t.line_height("body_bold") + sc.pad // 2 + max(len(v) for v in values) * t.line_height(role)
               + max(len(lb) for lb in labels) * lh + sc.pad)
    hint = t.wrap(s.get("attract.touch"), "body_bold", width)
    hint_h = len(hint) * t.line_height("body_bold")

    room = bottom_px - top
    pages = [("promise", "today")]
    if head_h + promise_h + stats_h + hint_h > room:
        pages = [("promise",), ("today",)]
    page = pages[int(now_s // ATTRACT_PAGE_S) % len(pages)]

    y = top
    for line in title:
        y = t.draw(target, line, "display", theme.text, (cx, y), anchor="midtop").bottom
    y += sc.pad
    for line in invite:
        y = t.draw(target, line, "title", invite_colour, (cx, y), anchor="midtop").bottom
    y += round(sc.body * 1.0)
    if "promise" in page:
        widest = max(t.size(line, "body")[0] for p in promise_lines for line in p)
        px = max(x, cx - (widest + icon + sc.pad) // 2)
        for lines in promise_lines:
            for j, line in enumerate(lines):
                if j == 0:
                    draw_lock(target, (px + icon // 2, y + lh // 2), icon, theme.accent)
                t.draw(target, line, "body", theme.text, (px + icon + sc.pad, y))
                y += lh
        y += round(sc.body * 1.0)
    if "today" in page:
        t.draw(target, s.get("attract.today"), "body_bold", theme.muted, (cx, y), anchor="midtop")
        y += t.line_height("body_bold") + sc.pad // 2
        vh = max(len(v) for v in values) * t.line_height(role)
        for i in range(3):
            ccx = x + col * i + col // 2
            vy = y
            for line in values[i]:
                vy = t.draw(target, line, role, theme.text, (ccx, vy), anchor="midtop").bottom
            ly = y + vh
            for line in labels[i]:
                ly = t.draw(target, line, "body", theme.muted, (ccx, ly), anchor="midtop").bottom
        y += vh + max(len(lb) for lb in labels) * lh + sc.pad
    if y + hint_h <= bottom_px:
        hy = max(y, bottom_px - hint_h)
        for line in hint:
            hy = t.draw(target, line, "body_bold", theme.accent, (cx, hy), anchor="midtop").bottom


def draw_paused_note(target: pygame.Surface, ctx: DrawContext, note: str, area: Rect) -> None:
    """Where the mirror would be (beside a lesson): the camera icon and the short note."""
    theme, sc, t = ctx.theme, ctx.scale, ctx.text
    ax, ay, aw, ah = area
    width = aw - 4 * sc.pad
    lines = t.wrap(note, "body_bold", width)
    size = sc.display
    block = size + sc.pad + len(lines) * t.line_height("body_bold")
    y = ay + max(0, (ah - block) // 2)
    cx = ax + aw // 2
    _camera_icon(target, (cx, y + size // 2), size, theme.muted, crossed=True)
    y += size + sc.pad
    for line in lines:
        y = t.draw(target, line, "body_bold", theme.text, (cx, y), anchor="midtop").bottom


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
    camera: str = "ok"  # "ok", or the source's diagnosis while the mirror is paused


def draw_debug(target: pygame.Surface, ctx: DrawContext, info: DebugInfo) -> None:
    """The F1 overlay: every figure on its own line, wrapped to the screen (never off its edge)."""
    t, sc, theme = ctx.text, ctx.scale, ctx.theme
    items = [
        f"mode {info.mode}",
        f"camera {info.camera}",
        f"fps capture {info.capture_fps:.1f} · inference {info.inference_fps:.1f} · ui {info.ui_fps:.1f}",
        f"ms draw {info.draw_ms:.1f} · " + " · ".join(f"{k.removesuffix('_ms')} {v:.1f}" for k, v in info.stage_ms.items()),
        f"frames processed {info.frames_processed} · dropped {info.frames_dropped} · reconnects {info.reconnects}",
        f"faces {info.faces} · visitors remembered {info.visitors} · text renders {info.text_renders}",
    ]
    room = ctx.size[0] - 4 * sc.pad
    lines = [line for item in items for line in _wrap_mono(t, item, room)]
    lh = t.line_height("mono")
    wmax = max(t.size(line, "mono")[0] for line in lines)
    top = banner_height(ctx) + sc.pad
    rect = (sc.pad, top, wmax + 2 * sc.pad, lh * len(lines) + 2 * sc.pad)
    draw_panel(target, ctx, rect, fill=(0, 0, 0, 225))
    for i, line in enumerate(lines):
        t.draw(target, line, "mono", theme.text, (rect[0] + sc.pad, rect[1] + sc.pad + i * lh))
    ctx.record.debug = rect


def _wrap_mono(t, text: str, room: int) -> list[str]:  # noqa: ANN001
    """Word wrap that also breaks a word longer than a line (paths, messages) instead of cutting it."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        trial = f"{current} {word}" if current else word
        if t.size(trial, "mono")[0] <= room:
            current = trial
            continue
        if current:
            lines.append(current)
        while t.size(word, "mono")[0] > room:
            cut = max(1, len(word) * room // max(1, t.size(word, "mono")[0]))
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]
