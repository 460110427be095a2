"""One per-frame time budget shared by embedding, attributes and the face mesh.

Each of the three has its own schedule (``recognition.*_interval_s``, ``attributes.interval_s``,
``attributes.mesh_interval_s``) and its own per-frame cap. On their own they line up: when a
group walks in, every new track is due for an embedding, attributes and a mesh on the same
frame, and that frame takes the sum (with 8 faces: two SFace runs ~30 ms + two attribute sets
+ two meshes ~15 ms on the x86 machine, 5x that on a Pi 4). That frame is what the
capture-to-overlay p95 measures.

The budget spreads such bursts over the next frames instead: after detection, the analysis of a
frame may spend ``runtime.frame_budget_ms`` on scheduled work. Each kind of work asks, before it
runs, how many faces fit in what is left, using its own running estimate of milliseconds per
face (updated after every run). Work that does not fit stays due and runs on the next frame, a
few tens of milliseconds later; nothing is skipped, only spread. The first work of a frame
always gets one face, so every kind progresses even when one face costs more than the budget
(a Pi 4's SFace); and a kind whose work has been waiting longer than ``STARVING_S`` gets one
face regardless (nothing starves behind a busy neighbour).

0 switches the budget off (only the per-frame caps apply, as before).
"""
from __future__ import annotations

import time
from collections.abc import Callable

#: Initial ms-per-face estimates (x86 development machine, docs/PERFORMANCE.md); replaced by
#: measurements after the first runs.
INITIAL_MS_PER_FACE: dict[str, float] = {"embed": 15.0, "attributes": 3.0, "mesh": 7.0}
#: Weight of the newest measurement in the running estimate.
_ALPHA = 0.3
#: Work due for longer than this gets one face even when the budget is spent.
STARVING_S = 1.0


class FrameBudget:
    """Per-frame allowance for scheduled per-face work (see the module docstring).

    Owned by the inference thread. ``start()`` at the beginning of a frame's scheduled work;
    ``allow(kind, wanted, overdue_s)`` before a run; ``spent(kind, faces, ms)`` after it.
    """

    def __init__(self, budget_ms: float, clock: Callable[[], float] | None = None) -> None:
        if budget_ms < 0:
            raise ValueError(f"budget_ms must be >= 0 (0 = off), got {budget_ms}")
        self.budget_ms = float(budget_ms)
        self._clock = clock or time.perf_counter
        self.ms_per_face: dict[str, float] = dict(INITIAL_MS_PER_FACE)
        self._t0 = self._clock()
        self._ran = 0
        self.deferred = 0  # faces whose work was pushed to a later frame (counter for the bench)

    @property
    def enabled(self) -> bool:
        return self.budget_ms > 0

    def start(self) -> None:
        """A new frame's scheduled work begins now."""
        self._t0 = self._clock()
        self._ran = 0

    def elapsed_ms(self) -> float:
        return (self._clock() - self._t0) * 1e3

    def allow(self, kind: str, wanted: int, overdue_s: float = 0.0) -> int:
        """How many of ``wanted`` faces of ``kind`` may run now (0..wanted)."""
        if wanted <= 0:
            return 0
        if not self.enabled:
            return wanted
        remaining = self.budget_ms - self.elapsed_ms()
        per_face = max(self.ms_per_face.get(kind, 5.0), 0.05)
        n = int(remaining // per_face) if remaining > 0 else 0
        if n < 1 and (self._ran == 0 or overdue_s >= STARVING_S):
            n = 1
        n = min(n, wanted)
        self.deferred += wanted - n
        return n

    def spent(self, kind: str, faces: int, ms: float) -> None:
        """Record a run: ``faces`` faces of ``kind`` took ``ms``."""
        if faces <= 0:
            return
        self._ran += faces
        per_face = ms / faces
        old = self.ms_per_face.get(kind)
        self.ms_per_face[kind] = per_face if old is None else (1 - _ALPHA) * old + _ALPHA * per_face
