"""Steady numbers: what a card shows settles, then moves only when the evidence leaves it.

The per-track averages (``kiosk.analysis.attributes``) still drift a little with every model update: the
same still photo read 36, then 49, then 43 within one visit before this existed. A card that
keeps changing its mind teaches the wrong lesson (that the number tracks something real from
moment to moment), so each shown guess goes through a small hysteresis:

1. **Settling**: for :data:`SETTLE_S` seconds after a track's first estimate, the card shows
   the current (averaged) estimate, so it fills in and converges quickly (well within 3 s).
2. **Holding**: after that, the shown value is kept until the new evidence *disagrees* with it
   for :data:`CONFIRM_S` seconds in a row, then the card takes the new estimate at once:

   - age: the current expected age lies outside the *shown* range (the shown range is a
     calibrated 80 % range, so a face that does not change stays inside it);
   - gender: the calibrated guess names the other label, or its probability is
     :data:`PROBABILITY_STEP` or more away from the shown one, or the age band it refers to
     ("faces like yours") changed;
   - expression: the top expression or its word ("clearly" / "perhaps") changed.

Only what is shown is held; the averages underneath keep following every model update, so a
real change (another person under the same track, a new expression) shows after ``CONFIRM_S``.
Every shown value is one the calibrated estimator produced at some moment, never an invented
blend, so its range and percentage keep their measured meaning.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from kiosk.types import AgeEstimate, ExpressionEstimate, GenderEstimate

#: Seconds after a track's first estimate during which the card follows every update.
SETTLE_S = 2.5
#: Seconds the evidence must disagree with the shown value, without a break, before it moves.
CONFIRM_S = 1.0
#: Change of a shown (calibrated) gender probability that counts as new evidence.
PROBABILITY_STEP = 0.05

T = TypeVar("T")


@dataclass
class Held(Generic[T]):
    """One shown value with its hysteresis state."""

    value: T | None = None
    first_s: float = 0.0
    disagree_since_s: float | None = None
    changes_after_settling: int = 0

    def step(self, t_s: float, candidate: T | None, disagrees: bool,
             settle_s: float = SETTLE_S, confirm_s: float = CONFIRM_S) -> T | None:
        """Feed the current estimate at time ``t_s``; returns what to show."""
        if candidate is None:
            return self.value
        if self.value is None:
            self.value, self.first_s, self.disagree_since_s = candidate, t_s, None
        elif t_s - self.first_s < settle_s:
            self.value, self.disagree_since_s = candidate, None
        elif disagrees:
            if self.disagree_since_s is None:
                self.disagree_since_s = t_s
            if t_s - self.disagree_since_s >= confirm_s:
                self.value, self.disagree_since_s = candidate, None
                self.changes_after_settling += 1
        else:
            self.disagree_since_s = None
        return self.value


def age_disagrees(shown: AgeEstimate | None, candidate: AgeEstimate) -> bool:
    return shown is not None and not (shown.low <= candidate.years <= shown.high)


def gender_disagrees(shown: GenderEstimate | None, candidate: GenderEstimate) -> bool:
    if shown is None:
        return False
    return (candidate.value != shown.value or candidate.band != shown.band
            or candidate.calibrated != shown.calibrated
            or abs(candidate.probability - shown.probability) >= PROBABILITY_STEP)


def expression_disagrees(shown: ExpressionEstimate | None, candidate: ExpressionEstimate) -> bool:
    from kiosk.infer.uncertainty import expression_word

    if shown is None:
        return False
    return candidate.top != shown.top or expression_word(candidate) != expression_word(shown)


class SteadyGuesses:
    """The shown age, gender and expression of one track (owned by the inference thread)."""

    __slots__ = ("age", "gender", "expression", "settle_s", "confirm_s")

    def __init__(self, settle_s: float = SETTLE_S, confirm_s: float = CONFIRM_S) -> None:
        self.settle_s = settle_s
        self.confirm_s = confirm_s
        self.age: Held[AgeEstimate] = Held()
        self.gender: Held[GenderEstimate] = Held()
        self.expression: Held[ExpressionEstimate] = Held()

    def step_age(self, t_s: float, candidate: AgeEstimate | None) -> AgeEstimate | None:
        return self.age.step(t_s, candidate, candidate is not None and age_disagrees(self.age.value, candidate),
                             self.settle_s, self.confirm_s)

    def step_gender(self, t_s: float, candidate: GenderEstimate | None) -> GenderEstimate | None:
        return self.gender.step(t_s, candidate,
                                candidate is not None and gender_disagrees(self.gender.value, candidate),
                                self.settle_s, self.confirm_s)

    def step_expression(self, t_s: float, candidate: ExpressionEstimate | None) -> ExpressionEstimate | None:
        return self.expression.step(
            t_s, candidate, candidate is not None and expression_disagrees(self.expression.value, candidate),
            self.settle_s, self.confirm_s)
