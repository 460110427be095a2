"""The shared per-frame time budget (kiosk/analysis/budget.py)."""
from __future__ import annotations

import pytest

from kiosk.analysis.budget import STARVING_S, FrameBudget


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_off_allows_everything() -> None:
    b = FrameBudget(0.0)
    b.start()
    assert not b.enabled and b.allow("embed", 5) == 5


def test_a_burst_is_spread_over_frames_and_nothing_is_lost() -> None:
    clock = Clock()
    b = FrameBudget(20.0, clock)
    b.ms_per_face.update(embed=15.0, mesh=7.0, attributes=3.0)
    b.start()
    assert b.allow("embed", 2) == 1          # the first work of a frame always gets one face
    clock.t += 0.015
    b.spent("embed", 1, 15.0)
    assert b.allow("attributes", 2) == 1     # 5 ms left: one attribute set (3 ms)
    clock.t += 0.003
    b.spent("attributes", 1, 3.0)
    assert b.allow("mesh", 2) == 0           # 2 ms left: the meshes wait for the next frame
    assert b.deferred == 1 + 1 + 2
    b.start()                                # next frame: the deferred work fits
    assert b.allow("mesh", 2) == 2


def test_first_work_always_runs_even_above_the_budget() -> None:
    clock = Clock()
    b = FrameBudget(10.0, clock)
    b.ms_per_face["embed"] = 80.0            # a Pi 4's SFace
    b.start()
    assert b.allow("embed", 2) == 1
    clock.t += 0.08
    b.spent("embed", 1, 80.0)
    assert b.allow("mesh", 1) == 0
    assert b.allow("mesh", 1, overdue_s=STARVING_S) == 1  # starving work gets one face anyway


def test_estimates_follow_measurements() -> None:
    b = FrameBudget(20.0)
    for _ in range(30):
        b.spent("mesh", 2, 4.0)
    assert b.ms_per_face["mesh"] == pytest.approx(2.0, rel=1e-3)
    with pytest.raises(ValueError):
        FrameBudget(-1.0)
