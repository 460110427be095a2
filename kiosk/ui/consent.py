"""The consent panel: "Analyse me", for ``privacy.consent: required``.

While a face in view has not consented (``FaceView.consented`` False), the mirror shows it only
as an anonymous box, and this panel sits at the bottom of the camera picture: one sentence saying
what touching does and that nothing is computed before, and one large button. Touching it (or
the A key) calls the pipeline's ``request_consent()``; the faces in view at the next processed
frame are analysed from then on, until they leave.

Consent is per person: a touch of the button consents the waiting face nearest the touch (a
visitor touching their own box consents that face); the A key consents the largest waiting
face (the visitor nearest the screen). Nobody else in view is analysed: each visitor decides
for themselves (``choose_consenter``).

The button is larger than the other buttons (title type, at least 1/9 of the screen height):
it is the one action the visitor must find without help. After a touch it says "One moment…"
until the pipeline's next snapshots show the faces analysed (or ``FEEDBACK_S`` passes: a face
too small or gone by then stays anonymous, and the button comes back).
"""
from __future__ import annotations

from dataclasses import dataclass

import pygame

from kiosk.types import FaceView, Snapshot
from kiosk.ui.text import Rect
from kiosk.ui.widgets import DrawContext, draw_button, draw_panel

FEEDBACK_S = 3.0
"""How long the button says "One moment…" after a touch while faces are still anonymous."""


def needs_consent(snap: Snapshot | None) -> bool:
    """A face in view has not consented (only ever true with ``privacy.consent: required``)."""
    return snap is not None and any(not f.consented for f in snap.faces)


def waiting_faces(snap: Snapshot | None) -> list[FaceView]:
    return [f for f in snap.faces if not f.consented] if snap is not None else []


def choose_consenter(snap: Snapshot | None, boxes: dict[str, Rect], pos: tuple[int, int] | None) -> int | None:
    """The track id of the one visitor a consent gesture is from: with a touch at ``pos``, the
    waiting face whose box (display rectangle, ``boxes["a<track>"]``) contains it or, failing
    that, is nearest to it; without a position (the A key), the largest waiting face. None when
    nobody is waiting."""
    waiting = waiting_faces(snap)
    if not waiting:
        return None
    if pos is None or not any(f"a{f.track_id}" in boxes for f in waiting):
        return max(waiting, key=lambda f: ((f.box_xyxy[2] - f.box_xyxy[0]) * (f.box_xyxy[3] - f.box_xyxy[1]),
                                          -f.track_id)).track_id
    px, py = pos

    def distance(f: FaceView) -> float:
        r = boxes.get(f"a{f.track_id}")
        if r is None:
            return float("inf")
        dx = max(r[0] - px, 0, px - (r[0] + r[2]))
        dy = max(r[1] - py, 0, py - (r[1] + r[3]))
        return float(dx * dx + dy * dy)

    return min(waiting, key=lambda f: (distance(f), f.track_id)).track_id


@dataclass(frozen=True, slots=True)
class ConsentLayout:
    panel: Rect
    button: Rect
    lines: tuple[str, ...]
    role: str  # of the explanation


def layout_consent(ctx: DrawContext, area: Rect, bottom_px: int, label: str) -> ConsentLayout:
    """The panel centred in ``area`` (the camera picture's part of the screen), its bottom edge
    at ``bottom_px`` (above the buttons and the memory strip). The explanation is in body type,
    wrapped to as many lines as it needs."""
    sc, t = ctx.scale, ctx.text
    explain = ctx.strings.get("consent.explain")
    ax, _, aw, _ = area
    width = min(aw - 2 * sc.pad, max(round(ctx.size[0] * 0.7), round(sc.body * 20)))
    inner = width - 2 * sc.pad
    role = "body"  # body type always: the panel grows a line rather than shrinking its words
    lines = t.wrap(explain, role, inner)
    bh = max(round(min(ctx.size) / 9), t.line_height("title") + sc.pad)
    widest_label = max(t.size(label, "title")[0], t.size(ctx.strings.get("consent.wait"), "title")[0])
    bw = min(inner, widest_label + 2 * sc.pad + bh // 2)
    height = sc.pad + len(lines) * t.line_height(role) + sc.pad // 2 + bh + sc.pad
    x = ax + (aw - width) // 2
    y = bottom_px - height
    button = (x + (width - bw) // 2, y + height - sc.pad - bh, bw, bh)
    return ConsentLayout((x, y, width, height), button, tuple(lines), role)


def draw_consent(target: pygame.Surface, ctx: DrawContext, lay: ConsentLayout, label: str) -> None:
    """The panel, the explanation and the button (recorded as ``buttons["consent"]``)."""
    sc, t, theme = ctx.scale, ctx.text, ctx.theme
    draw_panel(target, ctx, lay.panel)
    x, y, w, _ = lay.panel
    lh = t.line_height(lay.role)
    y += sc.pad
    for line in lay.lines:
        t.draw(target, line, lay.role, theme.text, (x + w // 2, y), anchor="midtop")
        y += lh
    draw_button(target, ctx, "consent", label, lay.button, primary=True, role="title")
