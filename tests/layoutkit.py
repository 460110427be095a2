"""A reference for the card layout tests: ``place_cards``' step-down ladder, written plainly."""
from __future__ import annotations

import random
from collections.abc import Callable

from kiosk.ui import layout
from kiosk.ui.layout import CardRequest, Placement, Rect, Scene

PassFn = Callable[[list[CardRequest], dict[str, int], Scene], dict[str, Placement]]


def ladder_reference(requests: list[CardRequest], scene: Scene, run_pass: PassFn) -> dict[str, Placement]:
    """The placements ``place_cards`` should find: passes at rising size levels (the lowest
    priority steps down first), every pass run from scratch with ``run_pass(ordered, levels,
    scene)``, the pass placing the most cards kept."""
    ordered = sorted(requests, key=lambda r: (-r.priority, r.key))
    levels = {r.key: 0 for r in ordered}
    ladder = [r for r in reversed(ordered) for _ in range(len(r.sizes) - 1)]
    best: dict[str, Placement] = {}
    for step in range(min(layout.MAX_PASSES, len(ladder) + 1)):
        placed = run_pass(ordered, levels, scene)
        if len(placed) > len(best):
            best = placed
        if len(best) == len(ordered) or step >= len(ladder):
            break
        for req in reversed(ordered):
            if levels[req.key] < len(req.sizes) - 1:
                levels[req.key] += 1
                break
    return best


def random_requests(rng: random.Random, area: Rect, sizes: tuple[tuple[int, int], ...]
                    ) -> tuple[list[Rect], list[CardRequest]]:
    """1-8 square faces of 60-240 px anywhere in ``area``, and a card request for each (bigger
    faces first, a random preferred side)."""
    faces = []
    for _ in range(rng.randint(1, 8)):
        w = rng.randint(60, 240)
        faces.append((rng.randint(area[0], area[0] + area[2] - w), rng.randint(area[1], area[1] + area[3] - w), w, w))
    requests = [CardRequest(f"f{i}", f, sizes, float(f[2] * f[3]),
                            prefer_side=rng.choice([None, "right", "left", "below", "above"]))
                for i, f in enumerate(faces)]
    return faces, requests
