"""Screen geometry: fitting the camera image, placing dossier cards, easing them.

Card placement is a small deterministic greedy solver (no randomness, no iteration to
convergence), cheap enough to run every frame for a handful of faces:

1. Faces are served in priority order (nearest = largest box first), so the visitor closest to
   the screen gets the full dossier when space runs out.
2. For each face and each detail level (full card, compact card, name only), candidate
   positions are generated right of, left of, below and above the face, then slid along that
   side; each is clamped into the free area.
3. A candidate is valid when it lies inside the area and keeps ``gap`` pixels from every card
   placed before and every obstacle (leaving cards, the memory strip). Among the valid ones the
   cheapest wins: distance from the face + a heavy penalty for covering any face + a small
   penalty for switching sides (hysteresis, so cards do not flip back and forth). If the best
   spot at one level covers a face, the next smaller level is tried: the mirror stays visible.
4. If some card finds no place even as a name tag, the whole pass is repeated with every card
   one level more compact, and the pass that places the most cards wins. A face whose card
   still finds no place keeps only its box label: cards never overlap and never leave the area.

Trade-off: greedy is not optimal (an early card can take the spot a later one needed), but it
is predictable, fast and stable from frame to frame, which matters more on a live screen.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

Rect = tuple[int, int, int, int]  # x, y, w, h

SIDES: tuple[str, ...] = ("right", "left", "below", "above")
# Beside the face reads best (the card is at eye level with it); below and above are fallbacks.
_SIDE_COST: dict[str, float] = {"right": 0.0, "left": 5.0, "below": 80.0, "above": 100.0}
_FACE_COVER_COST = 4000.0
_SIDE_SWITCH_COST = 60.0
_SLIDE_STEPS = 8
_ACCEPTABLE_COVER = 0.05  # share of a face a card may cover before a smaller card is tried


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


@dataclass(frozen=True, slots=True)
class CardRequest:
    """One face wanting a card. ``sizes`` are (w, h) per detail level, most detailed first."""

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


def _place_pass(requests: Sequence[CardRequest], min_levels: Mapping[str, int], area: Rect,
                obstacles: Sequence[Rect], faces: Sequence[Rect], gap: int) -> dict[str, Placement]:
    placed: dict[str, Placement] = {}
    blocked: list[Rect] = list(obstacles)
    for req in requests:
        fcx, fcy = req.face[0] + req.face[2] / 2, req.face[1] + req.face[3] / 2
        # Most detailed level whose best spot covers no face; failing that, the spot covering
        # the least face area (a smaller card hides less of the mirror).
        chosen: tuple[float, int, str, Rect] | None = None
        for level in range(min_levels.get(req.key, 0), len(req.sizes)):
            w, h = req.sizes[level]
            if w > area[2] or h > area[3] or w <= 0 or h <= 0:
                continue
            best: tuple[float, float, str, Rect] | None = None
            for side, rect, ideal in _candidates(req.face, w, h, area, gap):
                if not inside(rect, area) or any(overlaps(rect, b, gap) for b in blocked):
                    continue
                # Distance of the card's top-left from where it ideally sits, and of its centre
                # from the face: keeps cards close to and beside their face.
                cost = _SIDE_COST[side] + math.hypot(rect[0] - ideal[0], rect[1] - ideal[1])
                cost += 0.25 * math.hypot(rect[0] + w / 2 - fcx, rect[1] + h / 2 - fcy)
                cover = 0.0
                for face in faces:
                    covered = intersection_area(rect, face)
                    if covered:
                        cover += covered / max(1, face[2] * face[3])
                cost += _FACE_COVER_COST * cover
                if req.prefer_side is not None and side != req.prefer_side:
                    cost += _SIDE_SWITCH_COST
                if best is None or cost < best[0]:
                    best = (cost, cover, side, rect)
            if best is None:
                continue
            if chosen is None or best[1] < chosen[0] - 1e-9:
                chosen = (best[1], level, best[2], best[3])
            if best[1] <= _ACCEPTABLE_COVER:
                break
        if chosen is not None:
            placed[req.key] = Placement(req.key, chosen[3], chosen[1], chosen[2])
            blocked.append(chosen[3])
    return placed


def place_cards(requests: Sequence[CardRequest], area: Rect, obstacles: Sequence[Rect] = (),
                gap: int = 8) -> dict[str, Placement]:
    """Non-overlapping card rectangles inside ``area``, beside their faces where possible.

    Returns a placement per request that got a card (missing keys: no room even for a name
    tag). Deterministic: the same input gives the same output.
    """
    ordered = sorted(requests, key=lambda r: (-r.priority, r.key))
    faces = [r.face for r in ordered]
    best: dict[str, Placement] = {}
    max_levels = max((len(r.sizes) for r in ordered), default=0)
    for floor in range(max_levels):
        result = _place_pass(ordered, {r.key: min(floor, len(r.sizes) - 1) for r in ordered},
                             area, obstacles, faces, gap)
        if len(result) > len(best):
            best = result
        if len(best) == len(ordered):
            break
    return best


def ease(current: float, target: float, dt_s: float, tau_s: float) -> float:
    """Exponential approach of ``current`` to ``target`` with time constant ``tau_s``
    (frame-rate independent: the same motion at 30 and 60 fps)."""
    if tau_s <= 0 or dt_s <= 0:
        return target if tau_s <= 0 else current
    return target + (current - target) * math.exp(-dt_s / tau_s)


def ease_rect(current: Rect, target: Rect, dt_s: float, tau_s: float) -> Rect:
    return tuple(int(round(ease(c, t, dt_s, tau_s))) for c, t in zip(current, target))  # type: ignore[return-value]


def resolve_overlaps(drawn: dict[str, Rect], targets: Mapping[str, Rect], area: Rect, gap: int = 0) -> dict[str, Rect]:
    """Eased positions, except that any card overlapping another or leaving ``area`` snaps to its
    target (targets are non-overlapping by construction), so the invariant holds every frame."""
    out = dict(drawn)
    for _ in range(len(out) + 1):
        bad: set[str] = {k for k, r in out.items() if not inside(r, area)}
        keys = sorted(out)
        for i, a in enumerate(keys):
            for b in keys[i + 1:]:
                if overlaps(out[a], out[b]):
                    bad.update(k for k in (a, b) if out[k] != targets.get(k, out[k]))
        if not bad:
            break
        for k in bad:
            out[k] = targets.get(k, out[k])
    return out
