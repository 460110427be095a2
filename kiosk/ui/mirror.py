"""The mirror: face boxes, dossier cards that follow their faces, and the visitors who left.

``MirrorOverlay`` is the only stateful part of the drawing code. ``update`` decides one display
frame in five phases, each its own method:

1. ``_faces_in_view``: the snapshot's faces, plus a face the detector missed for a moment
   (``HOLD_MISSING_S``, a fraction of a second: after a scene cut old boxes vanish at once).
2. ``_boxes_and_requests``: a box per face at its snapshot position, and the card each
   consented face wants (words built once per snapshot, sizes from a fixed line structure).
3. ``_departure_strip``: visitors who left, as countdown notes in their own strip along the
   bottom, in slots that cover no face; what does not fit is counted in "+N more".
4. ``_solve``: the layout solver (``kiosk.ui.layout``) places cards that keep clear of every
   face, each other, the banner, the buttons, the panels and the strip, with leader lines that
   cross no other face; full card → compact card → name tag → "+N more in view".
5. ``_animate``: drawn positions glide towards the solver's targets; a gliding card that would
   break a guarantee snaps to its target, so the guarantees hold in every frame, not only at
   rest. A card whose face is gone is removed with it (no fading card over someone else).

Cards scale with the picture: when a lesson panel shrinks the mirror, cards are drawn with a
type scale reduced in proportion (``card_context``).

Faces without consent (``FaceView.consented`` False, ``privacy.consent: required``) get only an
anonymous box: a plain thin rectangle, no name, no card, no landmarks; nothing about them was
computed, and the screen shows nothing that could suggest otherwise. Cards keep clear of their
boxes too.

Just over 500 lines: one class, ``MirrorOverlay``, and the helpers of its cards and strip.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import pygame

from kiosk.types import FaceView, Snapshot
from kiosk.ui.dossier import LEVELS, CardContent, CardLine, card_content, card_key, in_view_text
from kiosk.ui.image import box_to_display, frame_to_display
from kiosk.ui.layout import (CardRequest, Placement, Rect, Scene, allowed, ease_rect, follow, leader, place_cards, place_tag,
                             resolve_overlaps)
from kiosk.ui.memory import Departure
from kiosk.ui.text import Layer, TextRenderer
from kiosk.ui.theme import TypeScale
from kiosk.ui.widgets import DrawContext, draw_face_box, draw_marker, draw_panel, draw_progress, marker_radius

CARD_TAU_S = 0.16  # card glide time constant
FADE_IN_S = 0.3
HOLD_MISSING_S = 0.25  # a face the detector missed for a frame keeps its box; gone after that
FOLLOW_MAX_S = 0.25  # a layout follows swaying faces at most this long, then it is solved anew
CARD_SCALE_STEP = 0.1  # card type scales in steps (each step is one set of fonts)
MIN_CARD_SCALE = 0.5


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
    layer: Layer | None = None
    layer_key: tuple | None = None


@dataclass
class MirrorFrame:
    """What ``MirrorOverlay.update`` decided for this display frame (drawn by ``draw``)."""

    boxes: dict[str, tuple[Rect, bool, str]] = field(default_factory=dict)  # key -> (rect, identified, label)
    anonymous: set[str] = field(default_factory=set)  # keys of boxes of faces without consent
    cards: dict[str, tuple[Rect, int, float]] = field(default_factory=dict)  # key -> (rect, level, alpha)
    contents: dict[str, CardContent] = field(default_factory=dict)
    leaders: dict[str, tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=dict)
    chips: dict[int, tuple[Rect, float]] = field(default_factory=dict)  # visitor -> (rect, alpha)
    more: int = 0  # visitors who left and have no note in the strip
    more_rect: Rect | None = None
    hidden: int = 0  # faces in view without a card ("+N more in view")
    hidden_rect: Rect | None = None
    margin: int = 0
    card_ctx: DrawContext | None = None
    animating: bool = False  # a card still glides or fades in, or a face just lost is still held


class MirrorOverlay:
    """Card layout and animation state across display frames."""

    def __init__(self) -> None:
        self._cards: dict[str, _CardState] = {}
        self._track_key: dict[int, str] = {}
        self._last_s: float | None = None
        self._seen: dict[str, tuple[FaceView, float]] = {}  # key -> (last FaceView, UI time)
        self._layout_key: tuple | None = None
        self._layout: dict[str, Placement] = {}
        self._contents: dict[tuple, CardContent] = {}
        self._size_cache: dict[tuple, tuple[tuple[int, int], ...]] = {}
        self._heights: dict[tuple[str, int], list[int]] = {}  # card key -> tallest height per level while in view
        self._chip_since: dict[int, float] = {}
        self._texts: dict[tuple, TextRenderer] = {}
        self._widths: dict[tuple, int] = {}
        self.solver_runs = 0
        self.layout_follows = 0  # layouts moved with their faces instead of solved anew
        self._solved_layout: dict[str, Placement] = {}
        self._solved_boxes: dict[str, Rect] = {}
        self._solved_rest: tuple | None = None
        self._solved_s = 0.0  # UI time of the last full solve
        self._departure_layers: dict[tuple, Layer] = {}

    # --- card type scale -----------------------------------------------------------------------

    def card_context(self, ctx: DrawContext, factor: float) -> DrawContext:
        """``ctx`` with the type scale of cards drawn over a picture ``factor`` times its full
        size (1 on the plain mirror, smaller beside a lesson panel)."""
        f = max(MIN_CARD_SCALE, min(1.0, round(factor / CARD_SCALE_STEP) * CARD_SCALE_STEP))
        if f >= 1.0:
            return ctx
        scale = TypeScale.for_screen(round(min(ctx.size) * f), ctx.ui.text_scale, ctx.theme)
        text = self._texts.get((scale, ctx.size))
        if text is None:
            text = self._texts[(scale, ctx.size)] = TextRenderer(scale)
        text.record = ctx.record
        return dataclasses.replace(ctx, scale=scale, text=text)

    # --- card sizes -----------------------------------------------------------------------------

    @staticmethod
    def card_width_limit(ctx: DrawContext) -> int:
        return min(round(ctx.size[0] * 0.4), round(ctx.scale.body * 18))

    def card_width(self, ctx: DrawContext, level: int = 0) -> int:
        """One width for every full card (``level`` 0) and one for every compact card (1) of a
        language and scale: wide enough for the longest value each of its lines can take (so
        "happy · 100 %" and "angry · 44 %" have the same number of rows), within
        ``card_width_limit`` and never narrower than the longest word (no word is ever cut)."""
        key = (ctx.strings.code, ctx.scale.body, ctx.size, level)
        w = self._widths.get(key)
        if w is None:
            t, sc, s = ctx.text, ctx.scale, ctx.strings
            mr = marker_radius(sc)
            pct = s.percent(1.0)
            compact = [s.get("card.age", years=100), s.get("card.age_no_range", years=100),
                       s.get("card.age_range", coverage=s.percent(0.8), low=100, high=100),
                       s.get("card.age_pending"), s.get("card.gender_pending"), s.get("card.gender_sure", confidence=pct),
                       s.get("card.expression_pending"), s.get("card.first_visit"),
                       s.get("card.maybe_visitor", id="0000"),
                       s.plural("card.seen_before", 99, ago=s.duration(59 * 60))]
            compact += [s.get("card.gender", value=s.get(k)) for k in s.keys if k.startswith("gender.")]
            compact += [s.get(f"card.expression_{word}", value=s.get(k))
                        for k in s.keys if k.startswith("expression.") for word in ("clear", "perhaps")]
            full = compact + [s.get("card.gender_right", accuracy=pct, band="40–59"), s.get("card.looking_yes"), s.get("card.looking_no"), s.get("card.looking_pending"),
                              s.get("card.blinks", count=999, rate=99), s.get("card.blinks_pending"),
                              in_view_text(s, 3599.0, 3599.0, 2), s.get("card.watchlist", name="—", score=pct)]
            samples = full if level <= 0 else compact
            titles = [s.get("card.visitor", id="0000"), s.get("card.identifying")]
            need = max([t.size(x, "title")[0] for x in titles] + [t.size(x, "body")[0] + 3 * mr for x in samples])
            word = max(t.size(wd, "body_bold")[0] for x in full for wd in x.split()) + sc.pad + 3 * mr
            limit = max(self.card_width_limit(ctx), word)
            w = self._widths[key] = min(limit, need) + 2 * sc.pad + sc.line_px
        return w

    def card_size(self, ctx: DrawContext, content: CardContent, level: int) -> tuple[int, int]:
        t, sc = ctx.text, ctx.scale
        lines = content.lines_at(level)
        if not lines:  # the name tag: just the title
            return t.size(content.title, "title")[0] + 2 * sc.pad + sc.line_px, 2 * sc.pad + t.line_height("title")
        w = self.card_width(ctx, level)
        rows = sum(len(_wrap_card_line(ctx, l, self._text_width(ctx, w, l))) for l in lines)
        h = 2 * sc.pad + t.line_height("title") + rows * t.line_height("body") + sc.pad // 2
        return w, h

    def _content(self, ctx: DrawContext, face: FaceView, snap: Snapshot) -> CardContent:
        """Card words, built once per snapshot and face (not once per display frame)."""
        key = (snap.frame_index, snap.t_s, face.track_id, face.visitor_id, ctx.strings.code)
        content = self._contents.get(key)
        if content is None:
            if len(self._contents) > 64:
                self._contents.clear()
            content = self._contents[key] = card_content(face, snap.t_s, ctx.strings, ctx.ui.welcome_s, ctx.portraits)
        return content

    def _sizes(self, ctx: DrawContext, key: str, content: CardContent) -> tuple[tuple[int, int], ...]:
        """Sizes per level; a card never gets shorter while its face is in view (no jumps)."""
        ck = (content, ctx.scale.body, ctx.size)
        sizes = self._size_cache.get(ck)
        if sizes is None:
            if len(self._size_cache) > 256:
                self._size_cache.clear()
            sizes = self._size_cache[ck] = tuple(self.card_size(ctx, content, lvl) for lvl in range(LEVELS))
        hk = (key, ctx.scale.body)
        tallest = self._heights.get(hk)
        if tallest is None or len(tallest) != len(sizes):
            tallest = self._heights[hk] = [h for _, h in sizes]
        for i, (_, h) in enumerate(sizes):
            tallest[i] = max(tallest[i], h)
        return tuple((w, tallest[i]) for i, (w, _) in enumerate(sizes))

    @staticmethod
    def _text_width(ctx: DrawContext, card_w: int, line: CardLine) -> int:
        sc = ctx.scale
        inner = card_w - (sc.pad + sc.line_px) - sc.pad
        return inner - (3 * marker_radius(sc) if line.marker else 0)

    # --- per-frame update ------------------------------------------------------------------------

    def update(self, ctx: DrawContext, now_s: float, snap: Snapshot | None, image_rect: Rect,
               area: Rect, obstacles: list[Rect], departures: list[Departure], strip: Rect,
               settle: bool = False, card_scale: float = 1.0) -> MirrorFrame:
        """Decide boxes, cards and notes for this display frame (phases: module docstring).
        ``settle``: skip the animation (cards at their targets, fully opaque), for single-frame
        renders. ``card_scale``: the picture's size relative to the full mirror."""
        dt = 0.0 if self._last_s is None else max(0.0, min(0.25, now_s - self._last_s))
        self._last_s = now_s
        if settle:
            dt = 1e6
        out = MirrorFrame()
        cctx = self.card_context(ctx, card_scale)
        out.card_ctx = cctx
        out.margin = max(4, cctx.scale.gap)
        faces = self._faces_in_view(now_s, snap, departures, settle)
        out.animating = len(faces) > (len(snap.faces) if snap is not None else 0)  # held: gone after a moment
        requests = self._boxes_and_requests(ctx, cctx, faces, snap, image_rect, out)
        boxes = tuple(b for b, _, _ in out.boxes.values())
        self._departure_strip(ctx, now_s, departures, strip, boxes, list(obstacles), out, settle)
        fixed = list(obstacles) + [r for r, _ in out.chips.values()] + ([out.more_rect] if out.more_rect else [])
        scene = Scene(area, boxes, tuple(fixed), out.margin, cctx.scale.gap, inset=cctx.scale.pad)
        placements = self._solve(requests, scene, {k: b for k, (b, _, _) in out.boxes.items()})
        self._animate(placements, scene, {face_key(f): f for f in faces}, dt, settle, out)
        hidden = [r.key for r in requests if r.key not in out.cards]
        if hidden:
            out.hidden = len(hidden)
            out.hidden_rect = place_tag(self.hidden_size(cctx, len(hidden)), scene,
                                        [r for r, _, _ in out.cards.values()])
        return out

    def _faces_in_view(self, now_s: float, snap: Snapshot | None, departures: list[Departure],
                       settle: bool) -> list[FaceView]:
        """Phase 1: the snapshot's faces, and for ``HOLD_MISSING_S`` a face it just lost
        (detector flicker), unless its visitor is already counted as departed."""
        faces: list[FaceView] = list(snap.faces) if snap is not None else []
        departed_ids = {d.visitor_id for d in departures}
        current = {face_key(f) for f in faces}
        for f in faces:
            self._seen[face_key(f)] = (f, now_s)
        for key, (f, seen_s) in list(self._seen.items()):
            if key in current:
                continue
            if now_s - seen_s > HOLD_MISSING_S or f.visitor_id in departed_ids or snap is None or settle:
                del self._seen[key]
            elif not any(g.track_id == f.track_id for g in faces):
                faces.append(f)
        return faces

    def _boxes_and_requests(self, ctx: DrawContext, cctx: DrawContext, faces: list[FaceView],
                            snap: Snapshot | None, image_rect: Rect, out: MirrorFrame) -> list[CardRequest]:
        """Phase 2: a box per face (where the snapshot saw it: no lag behind the face, nothing
        left behind after a scene cut) and the card request of each consented face."""
        requests: list[CardRequest] = []
        present: set[str] = set()
        for face in faces:
            key = face_key(face)
            # A track that just got its visitor id keeps its card (position and fade).
            old = self._track_key.get(face.track_id)
            if old is not None and old != key and old in self._cards and key not in self._cards:
                self._cards[key] = self._cards.pop(old)
                self._cards[key].key = key
            present.add(key)
            box = box_to_display(face.box_xyxy, snap.frame_size, image_rect, ctx.ui.mirror)  # type: ignore[union-attr]
            if not face.consented:
                # Only the box: no content is built, no card is placed, no name is drawn.
                out.boxes[key] = (box, False, "")
                out.anonymous.add(key)
                continue
            content = self._content(ctx, face, snap)  # type: ignore[arg-type]
            out.contents[key] = content
            out.boxes[key] = (box, face.visitor_id is not None, content.title)
            prev = self._cards.get(key)
            requests.append(CardRequest(key, box, self._sizes(cctx, key, content), priority=float(box[2] * box[3]),
                                        prefer_side=prev.side if prev else None))
        self._track_key = {f.track_id: face_key(f) for f in faces}
        # Cards whose face is gone go with it: a card left behind would sit on whoever comes next.
        for key in [k for k in self._cards if k not in present]:
            del self._cards[key]
        for hk in [hk for hk in self._heights if hk[0] not in present]:
            del self._heights[hk]
        return requests

    def _departure_strip(self, ctx: DrawContext, now_s: float, departures: list[Departure], strip: Rect,
                         boxes: tuple[Rect, ...], obstacles: list[Rect], out: MirrorFrame, settle: bool) -> None:
        """Phase 3: visitors who left, as notes in the strip along the bottom (their own place:
        never on the mirror, where they could land on someone present). Slots that would touch
        a face are skipped; when notes outnumber free slots the last free one says "+N more"
        (with a single free slot: the newest note only)."""
        chip_w, chip_h = self.chip_size(ctx)
        step = chip_w + ctx.scale.gap
        scene = Scene(strip, boxes, tuple(obstacles), out.margin, ctx.scale.gap)
        slots: list[Rect] = []
        for i in range(max(0, (strip[2] + ctx.scale.gap) // step)):
            rect = (strip[0] + i * step, strip[1] + strip[3] - chip_h, chip_w, chip_h)
            if allowed(rect, None, scene, slots, gap=0):
                slots.append(rect)
        shown = departures
        if len(departures) > len(slots):
            # The last free slot counts the rest; with a single slot (a narrow strip beside a
            # lesson) the newest note is worth more than a count of notes nobody can see.
            shown = departures[:max(1, len(slots) - 1)]
            if len(slots) >= 2:
                out.more = len(departures) - len(shown)
                out.more_rect = slots[len(shown)]
        for dep, rect in zip(shown, slots):
            since = self._chip_since.setdefault(dep.visitor_id, now_s)
            alpha = 1.0 if settle else min(1.0, 0.2 + (now_s - since) / FADE_IN_S)
            out.chips[dep.visitor_id] = (rect, 0.92 * alpha)
        for vid in [v for v in self._chip_since if v not in out.chips]:
            del self._chip_since[vid]

    def _solve(self, requests: list[CardRequest], scene: Scene, boxes: dict[str, Rect]) -> dict[str, Placement]:
        """Phase 4: the solver, run only when a face, a card's size or an obstacle changed; while
        the faces have only swayed a little since it last ran (and nothing else changed), its
        cards move with their faces (``kiosk.ui.layout.follow``: within ``scene.gap`` pixels,
        every guarantee checked), for at most ``FOLLOW_MAX_S``: the greedy solver can step a
        card down for a single frame where a face is one pixel from fitting, and such a moment
        is not kept for longer than that."""
        requests = sorted(requests, key=lambda r: r.key)  # the solver's answer ignores their order
        layout_key = (tuple(requests), scene)
        if layout_key == self._layout_key:
            return self._layout
        self._layout_key = layout_key
        rest = (scene.area, scene.obstacles, scene.margin, scene.gap, scene.inset,
                tuple((r.key, r.sizes) for r in requests))
        if rest == self._solved_rest and self._last_s is not None and self._last_s - self._solved_s < FOLLOW_MAX_S:
            moved = follow(self._solved_layout, self._solved_boxes, boxes, scene, scene.gap)
            if moved is not None:
                self._layout = moved
                self.layout_follows += 1
                return moved
        self._layout = place_cards(requests, scene.area, scene.obstacles, gap=scene.gap, faces=scene.faces,
                                   margin=scene.margin, inset=scene.inset)
        self._solved_layout, self._solved_boxes, self._solved_rest = self._layout, dict(boxes), rest
        self._solved_s = self._last_s if self._last_s is not None else 0.0
        self.solver_runs += 1
        return self._layout

    def _animate(self, placements: dict[str, Placement], scene: Scene, faces: dict[str, FaceView],
                 dt: float, settle: bool, out: MirrorFrame) -> None:
        """Phase 5: glide towards the targets; snap whatever would break a guarantee mid-glide."""
        targets: dict[str, Rect] = {}
        drawn: dict[str, Rect] = {}
        for key, p in placements.items():
            card = self._cards.get(key)
            if card is None or card.level != p.level or card.rect[2:] != p.rect[2:]:
                # New card, or new size: start at the target (a size change cannot glide).
                card = card or _CardState(key, p.rect, p.side, p.level)
                card.rect = p.rect
            card.level, card.side = p.level, p.side
            card.visitor_id = faces[key].visitor_id
            card.rect = p.rect if settle else ease_rect(card.rect, p.rect, dt, CARD_TAU_S)
            card.alpha = 1.0 if settle else min(1.0, card.alpha + dt / FADE_IN_S)
            self._cards[key] = card
            targets[key] = p.rect
            drawn[key] = card.rect
        face_of = {key: out.boxes[key][0] for key in placements}

        def ok(key: str, rect: Rect) -> bool:
            return allowed(rect, face_of[key], scene)

        resolved = resolve_overlaps(drawn, targets, scene.area, scene.gap, ok)
        for key in [k for k in self._cards if k not in placements]:
            del self._cards[key]  # no room this frame: the card goes (the face keeps its box)
        for key, rect in resolved.items():
            card = self._cards[key]
            card.rect = rect
            out.cards[key] = (rect, card.level, card.alpha)
            out.animating = out.animating or rect != targets[key] or card.alpha < 1.0
            line = leader(face_of[key], rect, scene.inset)
            if line is not None:
                out.leaders[key] = line

    @staticmethod
    def chip_size(ctx: DrawContext) -> tuple[int, int]:
        """One size for every note of a visitor who left, in a language: wide enough for its
        longest text."""
        t, sc, s = ctx.text, ctx.scale, ctx.strings
        texts = [(s.get("card.left", id="0000"), "body_bold"), (s.get("card.erased", id="0000"), "body_bold"),
                 (s.get("card.forgotten_in", time="44:44"), "body"), (s.get("card.erasing"), "body"),
                 (s.get("card.erased_detail"), "body"), (s.plural("memory.more", 99), "body_bold")]
        need = max(t.size(text, role)[0] for text, role in texts) + 2 * sc.pad
        w = max(need, round(sc.body * 9))
        h = 2 * sc.pad + t.line_height("body_bold") + t.line_height("body") + sc.pad // 2 + max(4, sc.body // 5)
        return w, h

    @staticmethod
    def hidden_size(ctx: DrawContext, n: int) -> tuple[int, int]:
        text = ctx.strings.plural("card.more_in_view", n)
        return ctx.text.size(text, "body_bold")[0] + 2 * ctx.scale.pad, ctx.text.line_height("body_bold") + ctx.scale.pad

    # --- drawing ---------------------------------------------------------------------------------

    def draw(self, target: pygame.Surface, ctx: DrawContext, frame: MirrorFrame, departures: list[Departure],
             pipeline_now_s: float | None, snap: Snapshot | None, image_rect: Rect) -> None:
        theme, sc = ctx.theme, ctx.scale
        cctx = frame.card_ctx or ctx
        ctx.record.face_margin = max(2, frame.margin // 2)
        for key, (box, identified, _) in frame.boxes.items():
            ctx.record.boxes[key] = box
            if key in frame.anonymous:
                # A plain rectangle: neither the identified corners nor the "identifying" dashes.
                pygame.draw.rect(target, theme.muted, box, max(1, sc.line_px))
                continue
            colour = theme.accent if identified else theme.pending
            draw_face_box(target, box, colour, sc.line_px, identified)
            line = frame.leaders.get(key)
            if line is not None:
                pygame.draw.line(target, colour, line[0], line[1], max(1, sc.line_px // 2))
                ctx.record.leaders[key] = line
        if ctx.ui.show_landmarks and snap is not None:
            for face in snap.faces:
                if face.attributes.mesh_px is not None or not face.consented:
                    continue  # the mesh is drawn into the image itself (see CameraImage.surface)
                for lx, ly in face.landmarks_px:
                    px, py = frame_to_display(lx, ly, snap.frame_size, image_rect, ctx.ui.mirror)
                    pygame.draw.circle(target, theme.accent, (round(px), round(py)), max(2, sc.line_px))
        for key, (rect, level, alpha) in frame.cards.items():
            content = frame.contents[key]
            layer = self._card_layer(cctx, key, content, level, rect[2:])
            layer.blit_to(target, rect[:2], ctx.record, alpha=int(255 * max(0.0, min(1.0, alpha))))
            ctx.record.cards[key] = rect
            ctx.record.card_levels[key] = level
        if frame.hidden and frame.hidden_rect is not None:
            self._draw_tag(target, cctx, ctx.strings.plural("card.more_in_view", frame.hidden), frame.hidden_rect)
            ctx.record.tags["more_in_view"] = frame.hidden_rect
        by_id = {d.visitor_id: d for d in departures}
        for vid, (rect, alpha) in frame.chips.items():
            dep = by_id.get(vid)
            if dep is not None:
                self._draw_departure(target, ctx, dep, rect, pipeline_now_s, alpha)
        if frame.more and frame.more_rect:
            self._draw_tag(target, ctx, ctx.strings.plural("memory.more", frame.more), frame.more_rect)
            ctx.record.chips["more"] = frame.more_rect

    @staticmethod
    def _draw_tag(target: pygame.Surface, ctx: DrawContext, text: str, rect: Rect) -> None:
        draw_panel(target, ctx, rect)
        x, y, w, h = rect
        ctx.text.draw(target, text, "body_bold", ctx.theme.text, (x + w // 2, y + h // 2), anchor="center")

    def _card_layer(self, ctx: DrawContext, key: str, content: CardContent, level: int,
                    size: tuple[int, int]) -> Layer:
        card = self._cards.get(key)
        cache_key = (content, level, size, ctx.theme.name, ctx.strings.code, ctx.scale.body)
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
        y = sc.pad
        t.draw(surf, content.title, "title", theme.text, (x, y), layer=layer)
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
                        pipeline_now_s: float | None, alpha: float) -> None:
        theme, sc, t, s = ctx.theme, ctx.scale, ctx.text, ctx.strings
        if dep.erased_ui_s is not None:
            title, line, fraction = s.get("card.erased", id=f"{dep.visitor_id:04d}"), s.get("card.erased_detail"), 0.0
        else:
            remaining = dep.remaining_s(pipeline_now_s)
            title = s.get("card.left", id=f"{dep.visitor_id:04d}")
            line = s.get("card.forgotten_in", time=s.clock(math.ceil(remaining))) if remaining > 0 else s.get("card.erasing")
            fraction = remaining / max(1.0, ctx.privacy.forget_after_s)
        key = (title, line, int(fraction * 200), rect[2], rect[3], theme.name)
        layer = self._departure_layers.get(key)
        if layer is None:
            w, h = rect[2], rect[3]
            layer = Layer(pygame.Surface((w, h), pygame.SRCALPHA))
            draw_panel(layer.surface, ctx, (0, 0, w, h))
            x, y, inner = sc.pad, sc.pad, w - 2 * sc.pad
            t.draw(layer.surface, title, "body_bold", theme.text, (x, y), layer=layer)
            y += t.line_height("body_bold")
            t.draw(layer.surface, line, "body", theme.muted, (x, y), layer=layer)
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
    """A card line in as many rows as it needs (the rows after the first indented); never cut.
    "Label: value" breaks after the label: reads better than a break inside the value."""
    role = _role(line)
    t = ctx.text
    if t.size(line.text, role)[0] <= width:
        return [line.text]
    label, sep, value = line.text.partition(": ")
    if sep and t.size(label + ":", role)[0] <= width:
        return [label + ":", *t.wrap(value, role, width - ctx.scale.pad)]
    rows = t.wrap(line.text, role, width)
    return rows[:1] + t.wrap(" ".join(rows[1:]), role, width - ctx.scale.pad) if len(rows) > 1 else rows or [""]


def strip_rect(ctx: DrawContext, left_px: int, right_px: int, bottom_px: int | None = None) -> Rect:
    """Where the notes of departed visitors go: along the bottom of the mirror, between the buttons."""
    h = MirrorOverlay.chip_size(ctx)[1]
    bottom = ctx.size[1] if bottom_px is None else bottom_px
    return left_px, bottom - ctx.scale.pad - h, max(0, right_px - left_px), h
