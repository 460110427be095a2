"""Today's counters for the attract screen: visitors, median time in view, share who looked.

Counters only. While a visitor is remembered by the pipeline the aggregate holds two numbers
for their id (longest time in view seen, whether they ever looked at the screen); when the
pipeline forgets the visitor those two numbers are folded into the day's counters and the id is
dropped. What remains is a visitor count, a "looked" count and a dwell-time histogram — nothing
that refers to a person. Everything resets at local midnight and lives in RAM only.

The median comes from the histogram (10-second bins up to an hour, then one overflow bin), so it
is exact to the bin; that is precise enough for a headline figure and keeps memory constant.

Faces without consent (``privacy.consent: required``) are not counted: the kiosk promises that
nothing about them is computed, and a dwell time is something about them.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from kiosk.types import Snapshot

BIN_S = 10.0
BINS = 360  # one hour; longer stays go to the overflow bin
_MIN_ANONYMOUS_TRACK_S = 2.0


@dataclass(slots=True)
class _Live:
    dwell_s: float = 0.0
    looked: bool = False
    measured_gaze: bool = False


@dataclass(frozen=True, slots=True)
class TodayFigures:
    visitors: int
    median_dwell_s: float | None
    looked_share: float | None  # None when no visitor's gaze was measured


class DailyAggregate:
    """Counts visitors seen in the snapshots the screen receives (call ``observe`` per new one).

    With ``recognition_enabled`` False there are no visitor ids; unidentified tracks that stay
    at least 2 s are counted instead (a person walking past twice then counts twice).
    """

    def __init__(self, recognition_enabled: bool = True,
                 today: Callable[[], dt.date] = dt.date.today) -> None:
        self.recognition_enabled = recognition_enabled
        self._today = today
        self._day = today()
        self._reset()

    def _reset(self) -> None:
        self.visitors_done = 0
        self.looked_done = 0
        self.gaze_measured_done = 0
        self.hist = [0] * (BINS + 1)
        self._live: dict[str, _Live] = {}
        self._last_frame = -1

    def observe(self, snap: Snapshot) -> None:
        """Update from a snapshot (repeated snapshots are ignored)."""
        if snap.frame_index == self._last_frame:
            return
        self._last_frame = snap.frame_index
        day = self._today()
        if day != self._day:
            self._day = day
            self._reset()
            self._last_frame = snap.frame_index
        seen: set[str] = set()
        for face in snap.faces:
            if not face.consented:
                continue
            if face.visitor_id is not None:
                key = f"v{face.visitor_id}"
                # The track counted before identification becomes this visitor.
                self._live.pop(f"t{face.track_id}", None)
            elif not self.recognition_enabled:
                key = f"t{face.track_id}"
            else:
                continue
            seen.add(key)
            live = self._live.setdefault(key, _Live())
            live.dwell_s = max(live.dwell_s, face.time_in_view_s)
            gaze = face.attributes.gaze
            if gaze is not None:
                live.measured_gaze = True
                live.looked = live.looked or gaze.at_screen
        remembered = {f"v{v.visitor_id}" for v in snap.visitors}
        for key in list(self._live):
            gone = key not in remembered if key.startswith("v") else key not in seen
            if gone:
                self._finish(key)

    def _finish(self, key: str) -> None:
        live = self._live.pop(key)
        if key.startswith("t") and live.dwell_s < _MIN_ANONYMOUS_TRACK_S:
            return
        self.visitors_done += 1
        self.hist[self._bin(live.dwell_s)] += 1
        if live.measured_gaze:
            self.gaze_measured_done += 1
            self.looked_done += int(live.looked)

    @staticmethod
    def _bin(dwell_s: float) -> int:
        return min(BINS, int(max(0.0, dwell_s) // BIN_S))

    def figures(self) -> TodayFigures:
        """Today's figures, including visitors still remembered."""
        live = [v for k, v in self._live.items()
                if k.startswith("v") or v.dwell_s >= _MIN_ANONYMOUS_TRACK_S]
        hist = list(self.hist)
        for v in live:
            hist[self._bin(v.dwell_s)] += 1
        total = sum(hist)
        median: float | None = None
        if total:
            # Lower median of the binned values, reported at the bin's centre.
            rank = (total + 1) // 2
            acc = 0
            for i, count in enumerate(hist):
                acc += count
                if acc >= rank:
                    median = (i + 0.5) * BIN_S
                    break
        measured = self.gaze_measured_done + sum(v.measured_gaze for v in live)
        looked = self.looked_done + sum(v.looked for v in live)
        return TodayFigures(visitors=total, median_dwell_s=median,
                            looked_share=(looked / measured) if measured else None)
