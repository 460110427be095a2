"""The mirror: face boxes, dossier cards that follow their faces, and the visitors who left.

``MirrorOverlay`` is the only stateful part of the drawing code: it remembers where each card
was drawn so cards glide instead of jumping (exponential easing, frame-rate independent), keeps
a card at its place for a moment when its visitor leaves (it turns into the countdown), then
sends it to the memory strip at the bottom, where the countdown runs until the pipeline forgets
the visitor and "erased" is shown briefly.

Every frame: the layout solver (``kiosk.ui.layout``) computes non-overlapping targets inside the
free area; the drawn positions ease towards them; any drawn card that would overlap another or
leave the area snaps to its target (so the guarantee holds in every frame, not only at rest).

Faces without consent (``FaceView.consented`` False, ``privacy.consent: required``) get only an
anonymous box: a plain thin rectangle, no name, no card, no landmarks; nothing about them was
computed, and the screen shows nothing that could suggest otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import pygame

from kiosk.types import FaceView, Snapshot
from kiosk.ui.dossier import LEVELS, CardContent, CardLine, card_content, card_key
from kiosk.ui.image import box_to_display, frame_to_display
from kiosk.ui.layout import CardRequest, Rect, clamp_into, ease_rect, inside, overlaps, place_cards, resolve_overlaps
from kiosk.ui.memory import Departure
from kiosk.ui.text import Layer
from kiosk.ui.widgets import DrawContext, draw_face_box, draw_marker, draw_panel, draw_progress, marker_radius

CARD_TAU_S = 0.16  # card glide time constant
BOX_TAU_S = 0.05  # face box smoothing: enough to calm detector jitter, small enough not to lag
FADE_IN_S = 0.3
FADE_OUT_S = 0.5
HOLD_MISSING_S = 0.7  # a face the detector missed for a frame or two keeps its card and box


def face_key(face: FaceView) -> str:
    """The overlay's key for a face: its card key, or ``a<track>`` for an anonymous (not
    consented) face, so a face that consents starts a fresh card rather than inheriting one."""
    return card_key(face) if face.consented else f"a{face.track_id}"


@dataclass
class _CardState:
    key: str
    rect: Rect
    side: str
    level: int
    alpha: float = 0.0
    visitor_id: int | None = None
    face: Rect | None = None
    layer: Layer | None = None
    layer_key: tuple | None = None


@dataclass
class _Leaving:
    """A card whose face has gone: first held in place as a countdown, then moved to the strip."""

    visitor_id: int
    rect: Rect
    since_s: float


@dataclass
class MirrorFrame:
    """What ``MirrorOverlay.update`` decided for this display frame (drawn by ``draw``)."""

    boxes: dict[str, tuple[Rect, bool, str]] = field(default_factory=dict)  # key -> (rect, identified, label)
    anonymous: set[str] = field(default_factory=set)  # keys of boxes of faces without consent
    cards: dict[str, tuple[Rect, int, float]] = field(default_factory=dict)  # key -> (rect, level, alpha)
    contents: dict[str, CardContent] = field(default_factory=dict)
    leaving: dict[int, tuple[Rect, float]] = field(default_factory=dict)  # visitor -> (rect, alpha)
    chips: dict[int, Rect] = field(default_factory=dict)
    more: int = 0
    more_rect: Rect | None = None


class MirrorOverlay:
    """Card layout and animation state across display frames."""

    def __init__(self) -> None:
        self._cards: dict[str, _CardState] = {}
        self._boxes: dict[str, Rect] = {}
        self._track_key: dict[int, str] = {}
        self._leaving: dict[int, _Leaving] = {}
        self._chip_rects: dict[int, Rect] = {}
        self._last_s: float | None = None
        self._seen: dict[str, tuple[FaceView, float]] = {}  # key -> (last FaceView, UI time)
        self._layout_key: tuple | None = None
        self._layout: dict = {}
        self._contents: dict[tuple, CardContent] = {}
        self._size_cache: dict[tuple, tuple[tuple[int, int], ...]] = {}
        self.solver_runs = 0
        self._departure_layers: dict[tuple, Layer] = {}

    # --- card sizes -----------------------------------------------------------------------------

    @staticmethod
    def card_width_limit(ctx: DrawContext) -> int:
        return min(round(ctx.size[0] * 0.4), round(ctx.scale.body * 15))

    def card_size(self, ctx: DrawContext, content: CardContent, level: int) -> tuple[int, int]:
        t, sc = ctx.text, ctx.scale
        lines = content.lines_at(level)
        mr = marker_radius(sc)
        widths = [t.size(content.title, "title")[0]] + [t.size(l.text, _role(l))[0] + 3 * mr for l in lines]
        w = min(self.card_width_limit(ctx), max(widths) + 2 * sc.pad + sc.line_px * 2)
        rows = sum(len(_wrap_card_line(ctx, l, self._text_width(ctx, w, l))) for l in lines)
        h = 2 * sc.pad + t.line_height("title") + rows * t.line_height("body")
        if lines:
            h += sc.pad // 2
        return w, h

    def _content(self, ctx: DrawContext, face: FaceView, snap: Snapshot) -> CardContent:
        """Card words, built once per snapshot and face (not once per display frame)."""
        key = (snap.frame_index, snap.t_s, face.track_id, face.visitor_id, ctx.strings.code)
        content = self._contents.get(key)
        if content is None:
            if len(self._contents) > 64:
                self._contents.clear()
            content = self._contents[key] = card_content(face, snap.t_s, ctx.strings, ctx.settings.welcome_s)
        return content

    def _sizes(self, ctx: DrawContext, content: CardContent) -> tuple[tuple[int, int], ...]:
        key = (content, ctx.scale.body, ctx.size)
        sizes = self._size_cache.get(key)
        if sizes is None:
            if len(self._size_cache) > 256:
                self._size_cache.clear()
            sizes = self._size_cache[key] = tuple(self.card_size(ctx, content, lvl) for lvl in range(LEVELS))
        return sizes

    @staticmethod
    def _text_width(ctx: DrawContext, card_w: int, line: CardLine) -> int:
        sc = ctx.scale
        inner = card_w - (sc.pad + sc.line_px) - sc.pad
        return inner - (3 * marker_radius(sc) if line.marker else 0)

    # --- per-frame update ------------------------------------------------------------------------

    def update(self, ctx: DrawContext, now_s: float, snap: Snapshot | None, image_rect: Rect,
               area: Rect, obstacles: list[Rect], departures: list[Departure], strip: Rect,
               settle: bool = False) -> MirrorFrame:
        """Decide boxes, cards and chips for this display frame. ``settle``: skip the animation
        (cards at their targets, fully opaque), for single-frame renders."""
        dt = 0.0 if self._last_s is None else max(0.0, min(0.25, now_s - self._last_s))
        self._last_s = now_s
        if settle:
            dt = 1e6
        s = ctx.settings
        out = MirrorFrame()
        faces: list[FaceView] = list(snap.faces) if snap is not None else []
        # Hold faces missing from this snapshot for a moment (detector flicker), unless their
        # visitor is already counted as departed.
        departed_ids = {d.visitor_id for d in departures}
        current = {face_key(f) for f in faces}
        for f in faces:
            self._seen[face_key(f)] = (f, now_s)
        for key, (f, seen_s) in list(self._seen.items()):
            if key in current:
                continue
            if now_s - seen_s > HOLD_MISSING_S or f.visitor_id in departed_ids or snap is None or settle:
                del self._seen[key]
            elif not any(face_key(g) == key or g.track_id == f.track_id for g in faces):
                faces.append(f)
        present: set[str] = set()
        requests: list[CardRequest] = []
        for face in faces:
            key = face_key(face)
            # A track that just got its visitor id keeps its card (position and fade).
            old = self._track_key.get(face.track_id)
            if old is not None and old != key and old in self._cards and key not in self._cards:
                self._cards[key] = self._cards.pop(old)
                self._cards[key].key = key
                if old in self._boxes:
                    self._boxes[key] = self._boxes.pop(old)
            self._track_key[face.track_id] = key
            present.add(key)
            target_box = box_to_display(face.box_xyxy, snap.frame_size, image_rect, s.mirror)  # type: ignore[union-attr]
            box = self._boxes.get(key)
            box = target_box if box is None or settle else ease_rect(box, target_box, dt, BOX_TAU_S)
            self._boxes[key] = box
            if not face.consented:
                # Only the box: no content is built, no card is placed, no name is drawn.
                out.boxes[key] = (box, False, "")
                out.anonymous.add(key)
                continue
            content = self._content(ctx, face, snap)  # type: ignore[arg-type]
            out.contents[key] = content
            label = content.title
            out.boxes[key] = (box, face.visitor_id is not None, label)
            if face.visitor_id is not None:
                self._leaving.pop(face.visitor_id, None)
            sizes = self._sizes(ctx, content)
            prev = self._cards.get(key)
            # Layout from the snapshot's box (changes ~10 times a second), not the eased one
            # (changes every frame): the solver then runs only when something really moved.
            requests.append(CardRequest(key, target_box, sizes, priority=float(target_box[2] * target_box[3]),
                                        prefer_side=prev.side if prev else None))
        self._track_key = {f.track_id: face_key(f) for f in faces}
        for key in [k for k in self._boxes if k not in present]:
            del self._boxes[key]

        # Cards whose face is gone: identified visitors turn into countdowns, others fade out.
        departing = {d.visitor_id: d for d in departures}
        for key, card in list(self._cards.items()):
            if key in present:
                continue
            vid = card.visitor_id
            if vid is not None and vid in departing and vid not in self._leaving:
                self._leaving[vid] = _Leaving(vid, card.rect, now_s)
                del self._cards[key]
                continue
            card.alpha -= dt / FADE_OUT_S
            if card.alpha <= 0:
                del self._cards[key]
        for vid in [v for v in self._leaving if v not in departing]:
            del self._leaving[vid]

        # Departures: held in place for leave_hold_s, then in the strip.
        held_rects: list[Rect] = []
        chip_size = self.chip_size(ctx)
        strip_order = [d for d in departures
                       if d.visitor_id not in self._leaving
                       or now_s - self._leaving[d.visitor_id].since_s >= s.leave_hold_s]
        step = chip_size[0] + ctx.scale.gap
        slots = max(0, (strip[2] + ctx.scale.gap) // step)
        shown, out.more = strip_order[:slots], 0
        if len(strip_order) > slots:
            # Room for the "+N more" tag after as many chips as fit beside it.
            k = slots
            while k > 1 and k * step + self.more_size(ctx, len(strip_order) - k)[0] > strip[2]:
                k -= 1
            shown, out.more = strip_order[:k], len(strip_order) - k
        for i, dep in enumerate(shown):
            target = (strip[0] + i * (chip_size[0] + ctx.scale.gap), strip[1] + strip[3] - chip_size[1], *chip_size)
            cur = self._chip_rects.get(dep.visitor_id)
            if cur is None:
                leaving = self._leaving.get(dep.visitor_id)
                cur = (leaving.rect[0], leaving.rect[1], *chip_size) if leaving else target
            cur = target if settle else ease_rect(cur, target, dt, CARD_TAU_S * 1.5)
            self._chip_rects[dep.visitor_id] = cur
            out.chips[dep.visitor_id] = cur
        if out.more:
            mw, mh = self.more_size(ctx, out.more)
            if len(shown) * step + mw <= strip[2]:
                out.more_rect = (strip[0] + len(shown) * step, strip[1] + strip[3] - mh, mw, mh)
            else:
                out.more = 0  # not even the tag fits (very narrow screens): the chips say enough
        for vid in [v for v in self._chip_rects if v not in out.chips]:
            del self._chip_rects[vid]
        chip_rects = list(out.chips.values()) + ([out.more_rect] if out.more_rect else [])
        for vid, leaving in self._leaving.items():
            if vid in out.chips or now_s - leaving.since_s >= s.leave_hold_s:
                continue
            rect = clamp_into((leaving.rect[0], leaving.rect[1], *chip_size), area)
            if any(overlaps(rect, r) for r in held_rects + chip_rects + list(obstacles)):
                continue  # no free spot where the card was: straight to the strip
            held_rects.append(rect)
            age = now_s - leaving.since_s
            out.leaving[vid] = (rect, 1.0 - 0.25 * min(1.0, age / max(0.01, s.leave_hold_s)))

        # Layout: chips, held countdowns and buttons are fixed obstacles for the live cards.
        fixed = list(obstacles) + held_rects + chip_rects
        layout_key = (tuple(requests), area, tuple(fixed), ctx.scale.gap)
        if layout_key != self._layout_key:
            self._layout_key = layout_key
            self._layout = place_cards(requests, area, fixed, gap=ctx.scale.gap)
            self.solver_runs += 1
        placements = self._layout
        targets: dict[str, Rect] = {}
        drawn: dict[str, Rect] = {}
        for key, p in placements.items():
            card = self._cards.get(key)
            if card is None or card.level != p.level:
                # New card, or new size: start at the target (a size change cannot glide).
                card = self._cards.get(key) or _CardState(key, p.rect, p.side, p.level)
                card.rect = p.rect
            card.level, card.side = p.level, p.side
            face = next(f for f in faces if face_key(f) == key)
            card.visitor_id = face.visitor_id
            card.rect = p.rect if settle else ease_rect(card.rect, p.rect, dt, CARD_TAU_S)
            card.alpha = 1.0 if settle else min(1.0, card.alpha + dt / FADE_IN_S)
            self._cards[key] = card
            targets[key] = p.rect
            drawn[key] = card.rect
        # The invariant: no overlap, inside the area, also while gliding.
        resolved = resolve_overlaps(drawn, targets, area)
        for key, rect in resolved.items():
            if any(overlaps(rect, f) for f in fixed) or not inside(rect, area):
                rect = targets[key]
            self._cards[key].rect = rect
            out.cards[key] = (rect, self._cards[key].level, self._cards[key].alpha)
        # Faces without a placement this frame lose their card (it fades out).
        for key in present:
            if key not in placements and key in self._cards:
                self._cards[key].alpha = max(0.0, self._cards[key].alpha - dt / FADE_OUT_S)
        return out

    @staticmethod
    def chip_size(ctx: DrawContext) -> tuple[int, int]:
        """One size for every countdown chip in a language: wide enough for its longest text."""
        t, sc, s = ctx.text, ctx.scale, ctx.strings
        texts = [(s.get("card.left", id="0000"), "body_bold"), (s.get("card.erased", id="0000"), "body_bold"),
                 (s.get("card.forgotten_in", time="44:44"), "body"), (s.get("card.erasing"), "body"),
                 (s.get("card.erased_detail"), "body")]
        need = max(t.size(text, role)[0] for text, role in texts) + 2 * sc.pad
        w = min(max(need, round(sc.body * 9)), round(sc.body * 16))
        h = 2 * sc.pad + t.line_height("body_bold") + t.line_height("body") + sc.pad // 2 + max(4, sc.body // 5)
        return w, h

    @staticmethod
    def more_size(ctx: DrawContext, n: int) -> tuple[int, int]:
        text = ctx.strings.plural("memory.more", n)
        return ctx.text.size(text, "body_bold")[0] + 2 * ctx.scale.pad, MirrorOverlay.chip_size(ctx)[1]

    # --- drawing ---------------------------------------------------------------------------------

    def draw(self, target: pygame.Surface, ctx: DrawContext, frame: MirrorFrame, departures: list[Departure],
             pipeline_now_s: float | None, snap: Snapshot | None, image_rect: Rect) -> None:
        theme, sc = ctx.theme, ctx.scale
        for key, (box, identified, label) in frame.boxes.items():
            if key in frame.anonymous:
                # A plain rectangle: neither the identified corners nor the "identifying" dashes.
                pygame.draw.rect(target, theme.muted, box, max(1, sc.line_px))
                ctx.record.boxes[key] = box
                continue
            colour = theme.accent if identified else theme.pending
            draw_face_box(target, box, colour, sc.line_px, identified)
            ctx.record.boxes[key] = box
            if key in frame.cards:
                self._draw_leader(target, ctx, box, frame.cards[key][0], colour)
            else:
                # No room for a card: at least the name, above the box, if it is free there.
                tw, th = ctx.text.size(label, "body_bold")
                tag = (box[0], box[1] - th - sc.pad, tw + sc.pad, th + sc.pad // 2)
                if tag[1] >= 0 and not any(overlaps(tag, c[0]) for c in frame.cards.values()):
                    draw_panel(target, ctx, tag)
                    ctx.text.draw(target, label, "body_bold", colour, (tag[0] + sc.pad // 2, tag[1] + sc.pad // 4))
        if ctx.settings.show_landmarks and snap is not None:
            for face in snap.faces:
                if face.attributes.mesh_px or not face.consented:
                    continue  # the mesh is drawn into the image itself (see CameraImage.surface)
                for lx, ly in face.landmarks_px:
                    px, py = frame_to_display(lx, ly, snap.frame_size, image_rect, ctx.settings.mirror)
                    pygame.draw.circle(target, theme.accent, (round(px), round(py)), max(2, sc.line_px))
        for key, (rect, level, alpha) in frame.cards.items():
            content = frame.contents[key]
            layer = self._card_layer(ctx, key, content, level, rect[2:])
            layer.blit_to(target, rect[:2], ctx.record, alpha=int(255 * max(0.0, min(1.0, alpha))))
            ctx.record.cards[key] = rect
            ctx.record.card_levels[key] = level
        by_id = {d.visitor_id: d for d in departures}
        for vid, (rect, alpha) in frame.leaving.items():
            dep = by_id.get(vid)
            if dep is not None:
                self._draw_departure(target, ctx, dep, rect, pipeline_now_s, alpha, held=True)
        for vid, rect in frame.chips.items():
            dep = by_id.get(vid)
            if dep is not None:
                self._draw_departure(target, ctx, dep, rect, pipeline_now_s, 0.92, held=False)
        if frame.more and frame.more_rect:
            draw_panel(target, ctx, frame.more_rect)
            x, y, w, h = frame.more_rect
            ctx.text.draw(target, ctx.strings.plural("memory.more", frame.more), "body_bold", theme.text,
                          (x + w // 2, y + h // 2), anchor="center")
            ctx.record.chips["more"] = frame.more_rect

    def _draw_leader(self, target: pygame.Surface, ctx: DrawContext, box: Rect, card: Rect, colour: tuple) -> None:
        bx, by, bw, bh = box
        cx, cy, cw, ch = card
        if cx >= bx + bw:
            a, b = (bx + bw, by + bh // 3), (cx, min(max(by + bh // 3, cy + ctx.scale.pad), cy + ch - ctx.scale.pad))
        elif cx + cw <= bx:
            a, b = (bx, by + bh // 3), (cx + cw, min(max(by + bh // 3, cy + ctx.scale.pad), cy + ch - ctx.scale.pad))
        elif cy >= by + bh:
            a, b = (bx + bw // 2, by + bh), (min(max(bx + bw // 2, cx + ctx.scale.pad), cx + cw - ctx.scale.pad), cy)
        elif cy + ch <= by:
            a, b = (bx + bw // 2, by), (min(max(bx + bw // 2, cx + ctx.scale.pad), cx + cw - ctx.scale.pad), cy + ch)
        else:
            return
        pygame.draw.line(target, colour, a, b, max(1, ctx.scale.line_px // 2))

    def _card_layer(self, ctx: DrawContext, key: str, content: CardContent, level: int,
                    size: tuple[int, int]) -> Layer:
        card = self._cards.get(key)
        cache_key = (content, level, size, ctx.theme.name, ctx.strings.code)
        if card is not None and card.layer is not None and card.layer_key == cache_key:
            return card.layer
        layer = self._render_card(ctx, content, level, size)
        if card is not None:
            card.layer, card.layer_key = layer, cache_key
        return layer

    def _render_card(self, ctx: DrawContext, content: CardContent, level: int, size: tuple[int, int]) -> Layer:
        theme, sc, t = ctx.theme, ctx.scale, ctx.text
        w, h = size
        surf = pygame.Surface((w, h), pygame.SRCALPHA)
        layer = Layer(surf)
        draw_panel(surf, ctx, (0, 0, w, h))
        edge = theme.accent if content.identified else theme.pending
        pygame.draw.rect(surf, edge, (0, sc.pad // 2, max(3, sc.line_px), h - sc.pad), border_radius=2)
        x = sc.pad + sc.line_px
        inner = w - x - sc.pad
        y = sc.pad
        t.draw(surf, t.ellipsize(content.title, "title", inner), "title", theme.text, (x, y), layer=layer)
        y += t.line_height("title") + sc.pad // 2
        mr = marker_radius(sc)
        lh = t.line_height("body")
        for line in content.lines_at(level):
            colour = theme.muted if line.style == "muted" else theme.alert if line.style == "alert" else theme.text
            role = _role(line)
            rows = _wrap_card_line(ctx, line, self._text_width(ctx, w, line))
            if line.style == "welcome":
                tw = max(t.size(r, role)[0] for r in rows)
                pygame.draw.rect(surf, theme.accent, (x - sc.pad // 3, y, tw + 2 * (sc.pad // 3), lh * len(rows)),
                                 border_radius=lh // 4)
                colour = theme.accent_text
            if line.marker:
                draw_marker(surf, t, line.marker, (w - sc.pad - mr, y + lh // 2), theme.muted, mr, layer=layer)
            for i, row in enumerate(rows):
                t.draw(surf, row, role, colour, (x + (sc.pad if i else 0), y), layer=layer)
                y += lh
        return layer

    def _draw_departure(self, target: pygame.Surface, ctx: DrawContext, dep: Departure, rect: Rect,
                        pipeline_now_s: float | None, alpha: float, held: bool) -> None:
        theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
        if dep.erased_ui_s is not None:
            title, line, fraction = s.get("card.erased", id=f"{dep.visitor_id:04d}"), s.get("card.erased_detail"), 0.0
        else:
            remaining = dep.remaining_s(pipeline_now_s)
            title = s.get("card.left", id=f"{dep.visitor_id:04d}")
            line = s.get("card.forgotten_in", time=s.clock(math.ceil(remaining))) if remaining > 0 else s.get("card.erasing")
            fraction = remaining / max(1.0, ctx.settings.forget_after_s)
        key = (title, line, int(fraction * 200), rect[2], rect[3], theme.name)
        layer = self._departure_layers.get(key)
        if layer is None:
            w, h = rect[2], rect[3]
            layer = Layer(pygame.Surface((w, h), pygame.SRCALPHA))
            draw_panel(layer.surface, ctx, (0, 0, w, h))
            x, y, inner = sc.pad, sc.pad, w - 2 * sc.pad
            t.draw(layer.surface, t.ellipsize(title, "body_bold", inner), "body_bold", theme.text, (x, y), layer=layer)
            y += t.line_height("body_bold")
            t.draw(layer.surface, t.ellipsize(line, "body", inner), "body", theme.muted, (x, y), layer=layer)
            y += t.line_height("body") + sc.pad // 2
            draw_progress(layer.surface, (x, y, inner, max(4, sc.body // 5)), fraction, theme.accent, theme.panel_border)
            if len(self._departure_layers) > 64:
                self._departure_layers.clear()
            self._departure_layers[key] = layer
        layer.blit_to(target, rect[:2], ctx.record, alpha=int(255 * alpha))
        ctx.record.chips[f"v{dep.visitor_id}"] = rect


def _role(line: CardLine) -> str:
    return "body_bold" if line.style in ("alert", "welcome") else "body"


def _wrap_card_line(ctx: DrawContext, line: CardLine, width: int) -> list[str]:
    """A card line wrapped to at most two rows (the second indented), never cut mid-word
    unless a single word is too long."""
    role = _role(line)
    t = ctx.text
    if t.size(line.text, role)[0] <= width:
        return [line.text]
    label, sep, value = line.text.partition(": ")
    if sep and t.size(label + ":", role)[0] <= width:
        # "Label: value" breaks after the label: reads better than a break inside the value.
        return [label + ":", t.ellipsize(value, role, width - ctx.scale.pad)]
    rows = t.wrap(line.text, role, width)
    if len(rows) <= 1:
        return rows or [""]
    rest = " ".join(rows[1:])
    return [rows[0], t.ellipsize(rest, role, width - ctx.scale.pad)]


def strip_rect(ctx: DrawContext, left_px: int, right_px: int) -> Rect:
    """Where the chips of departed visitors go: along the bottom, between the buttons."""
    h = MirrorOverlay.chip_size(ctx)[1]
    return left_px, ctx.size[1] - ctx.scale.pad - h, max(0, right_px - left_px), h
