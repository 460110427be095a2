"""Who has left and when they will be forgotten, as the screen tells it.

The pipeline publishes remembered visitors (``VisitorView``: in view or not, ``forget_at_s``
on the pipeline clock) and drops them when their time is up. This module turns that into what
the screen shows: a countdown for each visitor who left, "erased" for a short while after the
pipeline dropped them, and nothing about a visitor who came back (their card says "Welcome
back" instead).

``PipelineClock`` estimates the pipeline clock between snapshots (snapshot time + UI time
elapsed since it arrived), so countdowns tick smoothly at display rate while inference runs
at its own pace, and keep ticking when the camera stalls.
"""
from __future__ import annotations

from dataclasses import dataclass

from kiosk.types import Snapshot


class PipelineClock:
    """Pipeline-clock "now" extrapolated from the newest snapshot and the UI clock."""

    def __init__(self) -> None:
        self._snap_t_s: float | None = None
        self._ui_at_snap_s = 0.0
        self._frame = -1

    def observe(self, snap: Snapshot, ui_now_s: float) -> None:
        if snap.frame_index != self._frame:
            self._frame = snap.frame_index
            self._snap_t_s = snap.t_s
            self._ui_at_snap_s = ui_now_s

    def now(self, ui_now_s: float) -> float | None:
        if self._snap_t_s is None:
            return None
        return self._snap_t_s + max(0.0, ui_now_s - self._ui_at_snap_s)


@dataclass(slots=True)
class Departure:
    """A visitor who left: forgotten at ``forget_at_s`` (pipeline clock); erased once dropped."""

    visitor_id: int
    forget_at_s: float
    left_ui_s: float
    last_seen_s: float
    erased_ui_s: float | None = None

    def remaining_s(self, pipeline_now_s: float | None) -> float:
        if pipeline_now_s is None:
            return 0.0
        return max(0.0, self.forget_at_s - pipeline_now_s)


class ForgetTracker:
    """Departures derived from successive snapshots (call ``observe`` with every new one)."""

    def __init__(self, erased_hold_s: float = 4.0) -> None:
        self.erased_hold_s = erased_hold_s
        self._departures: dict[int, Departure] = {}
        self._frame = -1

    def observe(self, snap: Snapshot, ui_now_s: float) -> None:
        if snap.frame_index == self._frame:
            return
        self._frame = snap.frame_index
        in_faces = {f.visitor_id for f in snap.faces if f.visitor_id is not None}
        remembered: set[int] = set()
        for v in snap.visitors:
            remembered.add(v.visitor_id)
            if v.in_view or v.visitor_id in in_faces:
                self._departures.pop(v.visitor_id, None)  # back before being forgotten
                continue
            dep = self._departures.get(v.visitor_id)
            if dep is None or dep.erased_ui_s is not None:
                self._departures[v.visitor_id] = Departure(v.visitor_id, v.forget_at_s, ui_now_s, v.last_seen_s)
            else:
                dep.forget_at_s = v.forget_at_s
                dep.last_seen_s = v.last_seen_s
        for from_id, _into in snap.merges:
            # Merged into an older visitor: not erased, just one person with one id now.
            self._departures.pop(from_id, None)
        for vid, dep in self._departures.items():
            if vid not in remembered and dep.erased_ui_s is None:
                dep.erased_ui_s = ui_now_s

    def departures(self, ui_now_s: float) -> list[Departure]:
        """Visitors just erased (shown briefly, so they come first), then those counting down,
        most recently seen first."""
        for vid in [v for v, d in self._departures.items()
                    if d.erased_ui_s is not None and ui_now_s - d.erased_ui_s > self.erased_hold_s]:
            del self._departures[vid]
        return sorted(self._departures.values(), key=lambda d: (d.erased_ui_s is None, -d.last_seen_s, d.visitor_id))

    def get(self, visitor_id: int) -> Departure | None:
        return self._departures.get(visitor_id)
