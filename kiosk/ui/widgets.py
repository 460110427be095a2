"""Small drawing pieces shared by the screens: panels, buttons, caveat markers, face boxes, the
privacy banner. Each takes the target surface and a ``DrawContext`` and records what it drew."""
from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.ui.i18n import Strings
from kiosk.ui.portrait_names import SHOW_NAMES, PortraitNames
from kiosk.config import PrivacyConfig, UiConfig
from kiosk.ui.text import FrameRecord, Layer, Rect, TextRenderer
from kiosk.ui.theme import Colour, ColourA, Theme, TypeScale


@dataclass
class DrawContext:
    """Everything a draw function needs besides the surface and its own view data."""

    theme: Theme
    scale: TypeScale
    text: TextRenderer
    strings: Strings
    record: FrameRecord
    ui: UiConfig
    size: tuple[int, int]
    portraits: PortraitNames = SHOW_NAMES  # how watchlist portraits are called (watchlist.show_names)
    privacy: PrivacyConfig = PrivacyConfig()  # forget_after_s and consent, quoted by the promise


_panel_cache: dict[tuple[int, int, ColourA, int, Colour | None, int], pygame.Surface] = {}


def panel_surface(w: int, h: int, fill: ColourA, radius: int, border: Colour | None = None,
                  border_px: int = 0) -> pygame.Surface:
    """A rounded, possibly translucent rectangle (cached: panels are redrawn every frame)."""
    key = (w, h, tuple(fill), radius, tuple(border) if border else None, border_px)  # type: ignore[arg-type]
    surf = _panel_cache.get(key)
    if surf is None:
        if radius == 0:
            # Square panels: a plain surface with one alpha value blits several times faster
            # than per-pixel alpha (the lesson panel and the banner are large).
            surf = pygame.Surface((max(1, w), max(1, h)))
            surf.fill(fill[:3])
            if len(fill) > 3 and fill[3] < 255:
                surf.set_alpha(fill[3])
        else:
            surf = pygame.Surface((max(1, w), max(1, h)), pygame.SRCALPHA)
            pygame.draw.rect(surf, fill, surf.get_rect(), border_radius=radius)
        if border and border_px:
            pygame.draw.rect(surf, border, surf.get_rect(), width=border_px, border_radius=radius)
        if len(_panel_cache) > 256:
            _panel_cache.clear()
        _panel_cache[key] = surf
    return surf


def draw_panel(target: pygame.Surface, ctx: DrawContext, rect: Rect, fill: ColourA | None = None,
               radius: int | None = None, border: bool = True) -> None:
    theme = ctx.theme
    r = ctx.scale.pad // 2 if radius is None else radius
    surf = panel_surface(rect[2], rect[3], fill or theme.panel, r,
                         theme.panel_border if border else None, theme.panel_border_px if border else 0)
    target.blit(surf, rect[:2])


_backed_cache: dict[tuple, pygame.Surface] = {}


def draw_side_panel(target: pygame.Surface, ctx: DrawContext, rect: Rect) -> None:
    """The lesson's or the arc's panel beside the mirror. Where nothing is under it yet but the
    screen's plain background (the camera picture, ``ctx.record.image``, does not reach it), the
    translucent panel is blended onto that background once and then copied opaque, the same
    pixels at a fraction of the cost of blending it again in every frame; while the picture
    glides under it (a panel opening or closing), it is blended over the picture."""
    image = ctx.record.image
    if image is not None and (image[0] < rect[0] + rect[2] and rect[0] < image[0] + image[2]
                              and image[1] < rect[1] + rect[3] and rect[1] < image[1] + image[3]):
        draw_panel(target, ctx, rect, radius=0)
        return
    theme = ctx.theme
    key = (rect[2], rect[3], tuple(theme.panel), tuple(theme.background), tuple(theme.panel_border),
           theme.panel_border_px, pygame.display.get_surface() is not None)
    surf = _backed_cache.get(key)
    if surf is None:
        surf = pygame.Surface((max(1, rect[2]), max(1, rect[3])))
        surf.fill(theme.background)
        surf.blit(panel_surface(rect[2], rect[3], theme.panel, 0, theme.panel_border, theme.panel_border_px), (0, 0))
        if pygame.display.get_surface() is not None:
            surf = surf.convert()
        if len(_backed_cache) > 16:
            _backed_cache.clear()
        _backed_cache[key] = surf
    target.blit(surf, rect[:2])


def draw_marker(target: pygame.Surface, text: TextRenderer, number: int, center: tuple[int, int],
                colour: Colour, radius: int, layer: Layer | None = None) -> None:
    """A caveat marker: the caveat's number in a ring (a shape and a number, not a colour)."""
    width = max(1, radius // 6)
    pygame.draw.circle(target, colour, center, radius, width=width)
    text.draw(target, str(number), "small_bold", colour, center, anchor="center", layer=layer)


def marker_radius(scale: TypeScale) -> int:
    return max(7, round(scale.small * 0.62))


def draw_face_box(target: pygame.Surface, rect: Rect, colour: Colour, width: int, identified: bool) -> None:
    """Identified faces get solid corner brackets; faces still being identified a dashed box
    (the difference is in the shape, so it does not rely on colour)."""
    x, y, w, h = rect
    if w < 4 or h < 4:
        return
    if identified:
        arm = max(6, min(w, h) // 4)
        for cx, cy, dx, dy in ((x, y, 1, 1), (x + w, y, -1, 1), (x, y + h, 1, -1), (x + w, y + h, -1, -1)):
            pygame.draw.line(target, colour, (cx, cy), (cx + dx * arm, cy), width)
            pygame.draw.line(target, colour, (cx, cy), (cx, cy + dy * arm), width)
    else:
        dash = max(6, min(w, h) // 8)
        for x0, y0, x1, y1 in ((x, y, x + w, y), (x, y + h, x + w, y + h), (x, y, x, y + h), (x + w, y, x + w, y + h)):
            length = max(abs(x1 - x0), abs(y1 - y0))
            for start in range(0, length, 2 * dash):
                end = min(length, start + dash)
                if x0 == x1:
                    pygame.draw.line(target, colour, (x0, y0 + start), (x0, y0 + end), width)
                else:
                    pygame.draw.line(target, colour, (x0 + start, y0), (x0 + end, y0), width)


def draw_lock(target: pygame.Surface, center: tuple[int, int], size: int, colour: Colour) -> None:
    """A padlock icon drawn from shapes (the font has no lock glyph)."""
    cx, cy = center
    body_w, body_h = round(size * 0.8), round(size * 0.55)
    body = pygame.Rect(0, 0, body_w, body_h)
    body.midbottom = (cx, cy + size // 2)
    pygame.draw.rect(target, colour, body, border_radius=max(1, size // 10))
    shackle = pygame.Rect(0, 0, round(size * 0.56), round(size * 0.7))
    shackle.midtop = (cx, cy - size // 2)
    pygame.draw.arc(target, colour, shackle, 0, 3.1416, max(2, size // 7))
    pygame.draw.line(target, colour, (shackle.left + max(1, size // 14), shackle.centery),
                     (shackle.left + max(1, size // 14), body.top), max(2, size // 7))
    pygame.draw.line(target, colour, (shackle.right - max(1, size // 14) - 1, shackle.centery),
                     (shackle.right - max(1, size // 14) - 1, body.top), max(2, size // 7))


def banner_height(ctx: DrawContext) -> int:
    """The banner's height for this screen and language: one line of body type, or as many as
    the promise needs (it grows rather than shrinking its text)."""
    return banner_layout(ctx)[0]


def banner_layout(ctx: DrawContext) -> tuple[int, tuple[str, ...], str]:
    """(height, lines, role) of the privacy banner. Body type always: bold on one line if it
    fits, else regular on one line, else two lines broken at a " · " between promises (or more
    lines, word-wrapped, on narrow portrait screens). Never shrunk, never cut."""
    sc, t = ctx.scale, ctx.text
    w = ctx.size[0]
    message = banner_message(ctx)
    room = w - 3 * sc.pad - round(sc.body * 0.9)
    key = (message, room, sc.body)
    cached = _banner_cache.get(key)
    if cached is not None:
        return cached
    lines: list[str] = [message]
    role = "body_bold"
    if t.size(message, role)[0] > room:
        role = "body"
    if t.size(message, role)[0] > room:
        lines = _two_lines(t, message, role, room) or t.wrap(message, role, room)
    h = max(round(sc.body * 1.9), len(lines) * t.line_height(role) + sc.pad)
    out = (h, tuple(lines), role)
    if len(_banner_cache) > 64:
        _banner_cache.clear()
    _banner_cache[key] = out
    return out


_banner_cache: dict[tuple, tuple[int, tuple[str, ...], str]] = {}


def banner_message(ctx: DrawContext) -> str:
    duration = ctx.strings.duration(ctx.privacy.forget_after_s)
    if ctx.privacy.consent == "required":
        return ctx.strings.get("banner.text_consent", duration=duration, button=ctx.strings.get("consent.button"))
    return ctx.strings.get("banner.text", duration=duration)


def draw_banner(target: pygame.Surface, ctx: DrawContext) -> Rect:
    """The privacy promise across the top of every screen (``banner_layout``). With
    ``privacy.consent: required`` it starts with "Nothing is analysed until you touch “Analyse me”"."""
    w, _ = ctx.size
    h, lines, role = banner_layout(ctx)
    rect = (0, 0, w, h)
    draw_panel(target, ctx, rect, fill=ctx.theme.banner, radius=0, border=False)
    pygame.draw.line(target, ctx.theme.accent, (0, h - 1), (w, h - 1), max(1, ctx.scale.line_px // 2))
    icon = round(ctx.scale.body * 0.9)
    t = ctx.text
    tw = max(t.size(line, role)[0] for line in lines)
    x = max(ctx.scale.pad, (w - tw - icon - ctx.scale.pad) // 2)
    draw_lock(target, (x + icon // 2, h // 2), icon, ctx.theme.accent)
    lh = t.line_height(role)
    top = h // 2 - lh * len(lines) // 2
    for i, line in enumerate(lines):
        t.draw(target, line, role, ctx.theme.text, (x + icon + ctx.scale.pad, top + i * lh + lh // 2), anchor="midleft")
    ctx.record.banner = rect
    return rect


def _two_lines(text: TextRenderer, message: str, role: str, room: int) -> list[str]:
    """``message`` as two lines within ``room``: the most balanced break at a " · ", else a word
    wrap; [] if it needs more than two lines."""
    parts = message.split(" · ")
    best: list[str] = []
    best_w = room + 1
    for k in range(1, len(parts)):
        pair = [" · ".join(parts[:k]) + " ·", " · ".join(parts[k:])]  # the dot stays, ending line 1
        widest = max(text.size(p, role)[0] for p in pair)
        if widest < best_w:
            best, best_w = pair, widest
    if best_w <= room:
        return best
    wrapped = text.wrap(message, role, room)
    return wrapped if len(wrapped) == 2 else []


def button_size(ctx: DrawContext, label: str) -> tuple[int, int]:
    """Touch targets at least 1/13 of the screen height: about 4 cm on a 43-inch screen, far
    above the usual 9 mm minimum for touch targets, and easy to hit while standing."""
    h = max(round(min(ctx.size) / 13), ctx.text.line_height("body_bold") + ctx.scale.pad)
    return max(h * 2, ctx.text.size(label, "body_bold")[0] + 2 * ctx.scale.pad + h // 2), h


def draw_button(target: pygame.Surface, ctx: DrawContext, key: str, label: str, rect: Rect,
                primary: bool = False, icon: str | None = None, role: str = "body_bold") -> Rect:
    """A touch button; its rectangle is recorded for hit-testing and tests. ``role``: the label's
    type (``title`` for the one button a visitor must find, "Analyse me")."""
    theme = ctx.theme
    fill: ColourA = (*theme.accent, 255) if primary else theme.button
    draw_panel(target, ctx, rect, fill=fill, radius=rect[3] // 2, border=not primary)
    colour = theme.accent_text if primary else theme.text
    x, y, w, h = rect
    if icon == "next":
        _chevron(target, (x + w - h // 2, y + h // 2), h // 6, colour, 1)
        ctx.text.draw(target, label, role, colour, (x + (w - h // 3) // 2, y + h // 2), anchor="center")
    elif icon == "previous":
        _chevron(target, (x + h // 2, y + h // 2), h // 6, colour, -1)
        ctx.text.draw(target, label, role, colour, (x + (w + h // 3) // 2, y + h // 2), anchor="center")
    elif icon == "globe":
        _globe(target, (x + h // 2, y + h // 2), h // 4, colour)
        ctx.text.draw(target, label, role, colour, (x + (w + h // 2) // 2, y + h // 2), anchor="center")
    else:
        ctx.text.draw(target, label, role, colour, (x + w // 2, y + h // 2), anchor="center")
    ctx.record.buttons[key] = rect
    return rect


def _chevron(target: pygame.Surface, center: tuple[int, int], size: int, colour: Colour, direction: int) -> None:
    cx, cy = center
    pts = [(cx - direction * size // 2, cy - size), (cx + direction * size // 2, cy), (cx - direction * size // 2, cy + size)]
    pygame.draw.lines(target, colour, False, pts, max(2, size // 3))


def _globe(target: pygame.Surface, center: tuple[int, int], r: int, colour: Colour) -> None:
    w = max(2, r // 5)
    pygame.draw.circle(target, colour, center, r, w)
    pygame.draw.ellipse(target, colour, pygame.Rect(center[0] - r // 2, center[1] - r, r, 2 * r), w)
    pygame.draw.line(target, colour, (center[0] - r, center[1]), (center[0] + r, center[1]), w)


def draw_progress(target: pygame.Surface, rect: Rect, fraction: float, colour: Colour, back: Colour) -> None:
    """A thin bar: the full width is the whole time, the filled part what remains."""
    x, y, w, h = rect
    pygame.draw.rect(target, back, rect, border_radius=h // 2)
    fill = int(round(w * min(1.0, max(0.0, fraction))))
    if fill > 0:
        pygame.draw.rect(target, colour, (x, y, fill, h), border_radius=h // 2)
