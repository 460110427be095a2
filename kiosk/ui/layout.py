"""Screen geometry: fitting the camera image, placing dossier cards, easing them.

Card placement is a small deterministic greedy solver (no randomness), cheap enough to run
whenever a face moves. Its guarantees are *hard*: a placement it returns

* lies inside the free area (never clipped by the screen edge, the banner or a panel),
* keeps ``margin`` pixels from every face box in view (its own and everyone else's, anonymous
  boxes included), ``gap`` pixels from every other card and clear of every obstacle (buttons,
  the lesson panel, the consent panel, the strip of visitors who left),
* and its leader line (``leader``: from the face box to the card) crosses no other face.

A candidate that breaks one of these is never chosen; there is no "least bad" fallback.

When there is not room for everything, detail goes in an order a visitor can predict: faces
are served nearest first (largest box); then the farthest visitor's card steps down first,
full card → compact card → name tag, one step at a time, until everyone has a place; a face
that finds no place even for its name tag keeps its box only and is counted in a "+N more" tag
(``place_tag``). Cards prefer the right of the face (at eye level), then the left, then below
and above; the side a card had is kept while it still fits (hysteresis, so cards do not flip).

Trade-off: greedy is not optimal (an early card can take the spot a later one needed), but it
is predictable, fast and stable from frame to frame, which matters more on a live screen.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

Rect = tuple[int, int, int, int]  # x, y, w, h
Point = tuple[int, int]

SIDES: tuple[str, ...] = ("right", "left", "below", "above")
# Beside the face reads best (the card is at eye level with it); below and above are fallbacks.
_SIDE_COST: dict[str, float] = {"right": 0.0, "left": 5.0, "below": 80.0, "above": 100.0}
_SIDE_SWITCH_COST = 60.0
_SLIDE_STEPS = 8
MAX_PASSES = 16  # bound on the step-down passes (each pass is one greedy placement of every card)


def fit_rect(src_w: int, src_h: int, dst: Rect) -> Rect:
    """Largest rectangle with the source's aspect ratio centred in ``dst``."""
    dx, dy, dw, dh = dst
    scale = min(dw / src_w, dh / src_h)
    w, h = max(1, round(src_w * scale)), max(1, round(src_h * scale))
    return dx + (dw - w) // 2, dy + (dh - h) // 2, w, h


def overlaps(a: Rect, b: Rect, margin: int = 0) -> bool:
    """True when ``a`` and ``b`` (grown by ``margin`` on each side) share any area."""
    return (a[0] < b[0] + b[2] + margin and b[0] < a[0] + a[2] + margin
            and a[1] < b[1] + b[3] + margin and b[1] < a[1] + a[3] + margin)


def inside(a: Rect, area: Rect) -> bool:
    return a[0] >= area[0] and a[1] >= area[1] and a[0] + a[2] <= area[0] + area[2] and a[1] + a[3] <= area[1] + area[3]


def intersection_area(a: Rect, b: Rect) -> int:
    w = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    h = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    return max(0, w) * max(0, h)


def clamp_into(rect: Rect, area: Rect) -> Rect:
    x, y, w, h = rect
    ax, ay, aw, ah = area
    x = min(max(x, ax), ax + aw - w)
    y = min(max(y, ay), ay + ah - h)
    return x, y, w, h


def grow(rect: Rect, margin: int) -> Rect:
    return rect[0] - margin, rect[1] - margin, rect[2] + 2 * margin, rect[3] + 2 * margin


def leader(face: Rect, card: Rect, inset: int) -> tuple[Point, Point] | None:
    """The line from a face box to its card: from the middle of the box's facing side (a third
    down for side cards, at eye level) to the nearest point of the card's facing edge, ``inset``
    pixels from its corners. None when the card touches the box (no line needed)."""
    bx, by, bw, bh = face
    cx, cy, cw, ch = card
    eye = by + bh // 3
    if cx >= bx + bw:
        return (bx + bw, eye), (cx, min(max(eye, cy + inset), cy + ch - inset))
    if cx + cw <= bx:
        return (bx, eye), (cx + cw, min(max(eye, cy + inset), cy + ch - inset))
    mid = bx + bw // 2
    if cy >= by + bh:
        return (mid, by + bh), (min(max(mid, cx + inset), cx + cw - inset), cy)
    if cy + ch <= by:
        return (mid, by), (min(max(mid, cx + inset), cx + cw - inset), cy + ch)
    return None


def segment_hits(a: Point, b: Point, rect: Rect) -> bool:
    """The segment a-b passes through the interior of ``rect`` (Liang-Barsky clipping)."""
    x0, y0 = a
    dx, dy = b[0] - x0, b[1] - y0
    rx, ry, rw, rh = rect
    t0, t1 = 0.0, 1.0
    for p, q in ((-dx, x0 - rx), (dx, rx + rw - x0), (-dy, y0 - ry), (dy, ry + rh - y0)):
        if p == 0:
            if q <= 0:
                return False
            continue
        t = q / p
        if p < 0:
            if t > t1:
                return False
            t0 = max(t0, t)
        else:
            if t < t0:
                return False
            t1 = min(t1, t)
    return t1 - t0 > 1e-9


@dataclass(frozen=True, slots=True)
class Scene:
    """What every card must keep clear of in one frame."""

    area: Rect  # cards lie inside it
    faces: tuple[Rect, ...]  # every face box in view, anonymous ones included
    obstacles: tuple[Rect, ...] = ()  # buttons, panels, the strip: never touched
    margin: int = 8  # around every face box
    gap: int = 8  # between cards
    inset: int = 6  # of the leader's end from the card's corners


def allowed(rect: Rect, face: Rect | None, scene: Scene, placed: Sequence[Rect] = (), margin: int | None = None,
            gap: int | None = None) -> bool:
    """``rect`` (the card of ``face``, or a free-standing tag when None) keeps every guarantee
    against ``scene`` and the cards ``placed`` before it."""
    g = scene.gap if gap is None else gap
    if any(overlaps(rect, p, g) for p in placed):
        return False
    return clear_of_scene(rect, face, scene, margin)


def clear_of_scene(rect: Rect, face: Rect | None, scene: Scene, margin: int | None = None) -> bool:
    """The part of ``allowed`` that does not depend on the other cards: inside the area, clear
    of every face box and obstacle, a leader line that crosses no other face. The solver
    computes it once per candidate and reuses it in every step-down pass."""
    m = scene.margin if margin is None else margin
    if not inside(rect, scene.area):
        return False
    if any(overlaps(rect, f, m) for f in scene.faces):
        return False
    if any(overlaps(rect, o) for o in scene.obstacles):
        return False
    if face is not None:
        line = leader(face, rect, scene.inset)
        if line is not None and any(f != face and segment_hits(*line, f) for f in scene.faces):
            return False
    return True


@dataclass(frozen=True, slots=True)
class CardRequest:
    """One face wanting a card. ``sizes`` are (w, h) per detail level, most detailed first
    (full card, compact card, name tag)."""

    key: str
    face: Rect
    sizes: tuple[tuple[int, int], ...]
    priority: float
    prefer_side: str | None = None


@dataclass(frozen=True, slots=True)
class Placement:
    key: str
    rect: Rect
    level: int
    side: str


def _candidates(face: Rect, w: int, h: int, area: Rect, gap: int) -> list[tuple[str, Rect, tuple[int, int]]]:
    """(side, rect clamped into the area, ideal top-left before clamping) in a fixed order."""
    fx, fy, fw, fh = face
    ax, ay, aw, ah = area
    out: list[tuple[str, Rect, tuple[int, int]]] = []
    for side in SIDES:
        if side in ("right", "left"):
            x = fx + fw + gap if side == "right" else fx - gap - w
            ideal = (x, fy)
            ys = [fy, fy + (fh - h) // 2, fy + fh - h]
            span = max(0, ah - h)
            ys += [ay + round(span * i / _SLIDE_STEPS) for i in range(_SLIDE_STEPS + 1)]
            positions = [(x, y) for y in ys]
        else:
            y = fy + fh + gap if side == "below" else fy - gap - h
            ideal = (fx + (fw - w) // 2, y)
            xs = [fx + (fw - w) // 2, fx, fx + fw - w]
            span = max(0, aw - w)
            xs += [ax + round(span * i / _SLIDE_STEPS) for i in range(_SLIDE_STEPS + 1)]
            positions = [(x, y) for x in xs]
        seen: set[Rect] = set()
        for x, y in positions:
            rect = clamp_into((x, y, w, h), area)
            if rect not in seen:  # clamping makes many slide positions coincide
                seen.add(rect)
                out.append((side, rect, ideal))
    return out


def _scored(req: CardRequest, w: int, h: int, scene: Scene) -> list[tuple[float, str, Rect]]:
    """The candidates of ``req``'s card at size ``w`` x ``h``, cheapest first (the first in
    candidate order among equals: a stable sort)."""
    fcx, fcy = req.face[0] + req.face[2] / 2, req.face[1] + req.face[3] / 2
    scored: list[tuple[float, str, Rect]] = []
    for side, rect, ideal in _candidates(req.face, w, h, scene.area, scene.gap):
        # Distance of the card's top-left from where it ideally sits, and of its centre
        # from the face: keeps cards close to and beside their face.
        cost = _SIDE_COST[side] + math.hypot(rect[0] - ideal[0], rect[1] - ideal[1])
        cost += 0.25 * math.hypot(rect[0] + w / 2 - fcx, rect[1] + h / 2 - fcy)
        if req.prefer_side is not None and side != req.prefer_side:
            cost += _SIDE_SWITCH_COST
        scored.append((cost, side, rect))
    scored.sort(key=lambda c: c[0])
    return scored


class _CandidateCache:
    """Per ``place_cards`` call: each card's candidates per level, cheapest first, and which of
    them are clear of the scene (``clear_of_scene``), found once and shared by every step-down
    pass. Only the check against the cards placed before it differs from pass to pass."""

    def __init__(self, scene: Scene) -> None:
        self.scene = scene
        # (card, level) -> [scored candidates, how many were checked, the clear ones among those]
        self._lists: dict[tuple[str, int], tuple[list[tuple[float, str, Rect]], list[int], list[tuple[float, str, Rect]]]] = {}

    def clear(self, req: CardRequest, level: int) -> Iterator[tuple[float, str, Rect]]:
        """The candidates clear of the scene, cheapest first; checked lazily, each at most once."""
        entry = self._lists.get((req.key, level))
        if entry is None:
            w, h = req.sizes[level]
            entry = self._lists[(req.key, level)] = (_scored(req, w, h, self.scene), [0], [])
        scored, checked, ok = entry
        i = 0
        while True:
            if i < len(ok):
                yield ok[i]
                i += 1
            elif checked[0] < len(scored):
                c = scored[checked[0]]
                checked[0] += 1
                if clear_of_scene(c[2], req.face, self.scene):
                    ok.append(c)
            else:
                return


def _place_pass(requests: Sequence[CardRequest], min_levels: Mapping[str, int], scene: Scene,
                states: list[tuple[dict[str, Placement], list[Rect]]] | None = None,
                start: int = 0, cache: _CandidateCache | None = None) -> dict[str, Placement]:
    """One greedy placement of every request, in order. ``states[i]`` (kept up to date when
    given) is what was placed before request ``i``: a pass whose first ``start`` requests have
    the same levels as in the pass that filled ``states`` resumes from ``states[start]`` (the
    greedy placement of a prefix depends only on that prefix), with the same result.
    ``cache``: candidates and their scene checks shared with the other passes of one solve."""
    if states is not None and 0 < start < len(states):
        del states[start + 1:]
        placed, rects = dict(states[start][0]), list(states[start][1])
    else:
        start = 0
        placed, rects = {}, []
        if states is not None:
            states[:] = [({}, [])]
    cache = cache if cache is not None else _CandidateCache(scene)
    gap = scene.gap
    for req in requests[start:]:
        for level in range(min_levels.get(req.key, 0), len(req.sizes)):
            w, h = req.sizes[level]
            if w > scene.area[2] or h > scene.area[3] or w <= 0 or h <= 0:
                continue
            # The cheapest allowed candidate: checked cheapest first, so the guarantees (the
            # expensive part) are tested only until one passes instead of for every candidate.
            best = next((c for c in cache.clear(req, level) if not any(overlaps(c[2], r, gap) for r in rects)), None)
            if best is not None:
                placed[req.key] = Placement(req.key, best[2], level, best[1])
                rects.append(best[2])
                break
        if states is not None:
            states.append((dict(placed), list(rects)))
    return placed


def place_cards(requests: Sequence[CardRequest], area: Rect, obstacles: Sequence[Rect] = (),
                gap: int = 8, faces: Sequence[Rect] | None = None, margin: int | None = None,
                inset: int | None = None) -> dict[str, Placement]:
    """Card rectangles that keep every guarantee of the module docstring.

    ``faces``: every face box in view (default: the requests' faces); ``margin`` around them
    (default ``gap``); ``inset`` of the leader lines' ends (default ``gap // 2``). Returns a placement per request that got a card; a missing key means no
    room even for the name tag. Deterministic: the same input gives the same output.
    """
    ordered = sorted(requests, key=lambda r: (-r.priority, r.key))
    all_faces = tuple(faces) if faces is not None else tuple(r.face for r in ordered)
    scene = Scene(area, all_faces, tuple(obstacles), gap if margin is None else margin, gap,
                  inset=max(2, gap // 2) if inset is None else inset)
    min_levels = {r.key: 0 for r in ordered}
    best: dict[str, Placement] = {}
    # Step-down ladder: the farthest visitor first, one level at a time, until everyone fits.
    ladder = [r for r in reversed(ordered) for _ in range(len(r.sizes) - 1)]
    states: list[tuple[dict[str, Placement], list[Rect]]] = []
    cache = _CandidateCache(scene)
    start = 0  # the passes share the placements before the first face whose level changed
    for step in range(min(MAX_PASSES, len(ladder) + 1)):
        result = _place_pass(ordered, min_levels, scene, states, start, cache)
        if len(result) > len(best):
            best = result
        if len(best) == len(ordered) or step >= len(ladder):
            break
        # Lower the detail of the lowest-priority face that still has a level to give.
        for index in range(len(ordered) - 1, -1, -1):
            req = ordered[index]
            if min_levels[req.key] < len(req.sizes) - 1:
                min_levels[req.key] += 1
                start = index
                break
    return best


def follow(placements: Mapping[str, Placement], solved: Mapping[str, Rect], faces: Mapping[str, Rect],
           scene: Scene, tolerance: int) -> dict[str, Placement] | None:
    """The ``placements`` that ``place_cards`` chose for the face boxes ``solved``, brought up to
    date for the boxes ``faces`` (both: every box in view by key, anonymous ones included) - or
    None, and the caller solves anew. For the same cards only (the caller checks that no card
    changed its size: a bigger card may need a lower level, or leave no room for another).

    Only when no face came or went and no edge of any box moved more than ``tolerance`` pixels
    since the solve. Each card keeps its level and side and moves with the edge of its face it
    sits beside (``_anchor_shift``, as the solver's ideal positions do), or, if that breaks a
    guarantee, stays where it was solved; if both break one (``allowed``: against the scene and
    the cards before it), None.

    Faces sway and detections jitter by a few pixels from one snapshot to the next; for such a
    scene the solver would give the same cards beside the same faces, at the cost of a full
    solve (several milliseconds with eight faces, on the thread that also hands the GIL to the
    analysis). Bounding the drift by ``tolerance`` keeps the answer close to the solver's own;
    checking every guarantee keeps them hard."""
    if solved.keys() != faces.keys():
        return None
    for key, (x, y, w, h) in faces.items():
        sx, sy, sw, sh = solved[key]
        if max(abs(x - sx), abs(y - sy), abs(x + w - sx - sw), abs(y + h - sy - sh)) > tolerance:
            return None
    out: dict[str, Placement] = {}
    rects: list[Rect] = []
    for key, p in placements.items():
        dx, dy = _anchor_shift(p.side, faces[key], solved[key])
        x, y, cw, ch = p.rect
        rect = next((r for r in ((x + dx, y + dy, cw, ch), p.rect) if allowed(r, faces[key], scene, rects)), None)
        if rect is None:
            return None
        rects.append(rect)
        out[key] = Placement(key, rect, p.level, p.side)
    return out


def _anchor_shift(side: str, face: Rect, solved: Rect) -> tuple[int, int]:
    """How far a card on ``side`` of a face moves when the face's box goes from ``solved`` to
    ``face``: with the box's facing edge across, with its top (beside) or centre (above, below)
    along, as ``_candidates`` places a card's ideal position."""
    (x, y, w, h), (sx, sy, sw, sh) = face, solved
    if side == "right":
        return x + w - sx - sw, y - sy
    if side == "left":
        return x - sx, y - sy
    dx = round(x + w / 2 - sx - sw / 2)
    return dx, (y + h - sy - sh if side == "below" else y - sy)


def place_tag(size: tuple[int, int], scene: Scene, placed: Sequence[Rect]) -> Rect | None:
    """A free spot for a small tag ("+N more"): along the top of the area, then along its
    bottom, left to right; None if nowhere is free."""
    w, h = size
    ax, ay, aw, ah = scene.area
    if w > aw or h > ah:
        return None
    span = max(0, aw - w)
    for y in (ay, ay + ah - h):
        for i in range(_SLIDE_STEPS * 2 + 1):
            rect = (ax + round(span * i / (_SLIDE_STEPS * 2)), y, w, h)
            if allowed(rect, None, scene, placed):
                return rect
    return None


def ease(current: float, target: float, dt_s: float, tau_s: float) -> float:
    """Exponential approach of ``current`` to ``target`` with time constant ``tau_s``
    (frame-rate independent: the same motion at 30 and 60 fps)."""
    if tau_s <= 0 or dt_s <= 0:
        return target if tau_s <= 0 else current
    return target + (current - target) * math.exp(-dt_s / tau_s)


def ease_rect(current: Rect, target: Rect, dt_s: float, tau_s: float) -> Rect:
    """``ease`` per coordinate, in whole pixels, and always arriving: where the eased step would
    round back to where it is (the last few pixels: a card or the picture would otherwise stop
    1-6 px short of its place for good, and never be at rest), it moves one pixel on."""
    out = []
    for c, t in zip(current, target):
        v = int(round(ease(c, t, dt_s, tau_s)))
        if v == c != t and dt_s > 0:
            v = c + (1 if t > c else -1)
        out.append(v)
    return tuple(out)  # type: ignore[return-value]


def resolve_overlaps(drawn: dict[str, Rect], targets: Mapping[str, Rect], area: Rect, gap: int = 0,
                     ok: Callable[[str, Rect], bool] | None = None) -> dict[str, Rect]:
    """Eased positions, except that any card overlapping another, leaving ``area`` or failing
    ``ok`` (faces, obstacles, leader lines) snaps to its target (targets keep every guarantee by
    construction), so the guarantees hold in every frame, also while cards glide."""
    out = dict(drawn)
    for _ in range(len(out) + 1):
        bad: set[str] = {k for k, r in out.items()
                         if out[k] != targets.get(k, out[k]) and (not inside(r, area) or (ok is not None and not ok(k, r)))}
        keys = sorted(out)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if overlaps(out[a], out[b], gap):
                    bad.update(k for k in (a, b) if out[k] != targets.get(k, out[k]))
        if not bad:
            break
        for k in bad:
            out[k] = targets.get(k, out[k])
    return out
