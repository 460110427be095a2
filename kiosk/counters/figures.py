"""Today's headline figures (the attract screen): visitors, median time in view, share who looked.

They come from the one daily counter (:meth:`kiosk.counters.daily.Aggregates.today`), the same
counts ``kiosk stats`` reads from the aggregates file, so the two never disagree: the visitor
count and the share who looked are the file's, and the median time in view lies in the dwell bin
``kiosk stats`` names as the "typical stay".

The median needs more than the file's seven dwell bins to be worth showing as a time, so the
counter also keeps, for today only and in RAM only, a finer histogram: :data:`FINE_BIN_S`-second
bins up to an hour, then one overflow bin. Every edge of ``DWELL_BINS_S`` is a multiple of
:data:`FINE_BIN_S`, so each fine bin lies inside one file bin, and the median of the fine
histogram falls in the file's median bin. It is never written: the file format is unchanged.
A day resumed from the file knows only its file bins; :func:`fine_from_coarse` puts each of those
visitors in the fine bin at the middle of its file bin (the median stays in the right file bin).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

#: Width of the fine dwell bins (seconds); divides every edge of ``DWELL_BINS_S``.
FINE_BIN_S = 5
#: Fine bins up to an hour; longer stays go to one overflow bin (index ``FINE_BINS``).
FINE_BINS = 720


@dataclass(frozen=True, slots=True)
class TodayFigures:
    """What the attract screen shows; counts only."""

    visitors: int
    median_dwell_s: float | None  # None without visitors
    looked_share: float | None  # None when no visitor's gaze was measured


def fine_bin(dwell_s: float) -> int:
    """Index of the fine bin holding a time in view."""
    return min(FINE_BINS, int(max(0.0, dwell_s) // FINE_BIN_S))


def fine_from_coarse(coarse: Sequence[int], edges_s: Sequence[int]) -> list[int]:
    """A fine histogram with each coarse bin's count at the middle of that bin (the last,
    open bin: at its lower edge)."""
    fine = [0] * (FINE_BINS + 1)
    for i, count in enumerate(coarse):
        low = edges_s[i]
        middle = (low + edges_s[i + 1]) / 2 if i + 1 < len(edges_s) else low
        fine[fine_bin(middle)] += count
    return fine


def median_dwell_s(fine: Sequence[int]) -> float | None:
    """Lower median of a fine histogram, at its bin's centre; None when it is empty."""
    total = sum(fine)
    if total <= 0:
        return None
    rank = (total + 1) // 2
    acc = 0
    for i, count in enumerate(fine):
        acc += count
        if acc >= rank:
            return (i + 0.5) * FINE_BIN_S
    return (len(fine) - 0.5) * FINE_BIN_S


def today_figures(visitors: int, fine: Sequence[int], looked: int, gaze_measured: int) -> TodayFigures:
    return TodayFigures(visitors=visitors, median_dwell_s=median_dwell_s(fine),
                        looked_share=(looked / gaze_measured) if gaze_measured else None)
