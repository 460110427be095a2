"""Per-track guesses: scheduling the attribute models and the face mesh, and smoothing their output.

The inference thread owns one :class:`AttributeEngine`. Each track gets a small state object
with its own schedule: age, gender, expression and quality every ``interval_s``, the face mesh
every ``mesh_interval_s``. At most ``max_faces_per_frame`` faces are updated per frame for each
of the two, most overdue first, so a group walking in cannot stall a frame.

Smoothing averages the models' *probability distributions* over the track with a time constant
(``alpha = 1 - exp(-dt / smoothing_s)``), then summarises the averaged distribution (expected
age and its calibrated range, the most likely gender and expression; ``kiosk.infer.uncertainty``)
and passes the summaries through a per-track hysteresis (``kiosk.infer.steady``), so what a card
shows settles within seconds and then moves only when the evidence leaves it. Averaging distributions
rather than summaries keeps the age range honest: a visitor who reads 25 in one frame and 45 in
the next gets a wide range, not a confident 35.

What the configuration switches off is never computed: its estimator is not even created.
"""
from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from kiosk.analysis.budget import FrameBudget
from kiosk.config import AttributesConfig
from kiosk.infer.steady import SteadyGuesses
from kiosk.track.tracker import Track
from kiosk.types import (AgeEstimate, Attributes, ExpressionEstimate, FaceState, Gaze,
                         GenderEstimate, HeadPose, Quality)

log = logging.getLogger(__name__)

# (image, landmarks per face) -> age probabilities (N, 81), or gender probabilities (N, 2)
ProbsFn = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]
# (image, boxes) -> expression probabilities (N, 7)
ExpressionFn = Callable[[np.ndarray, Sequence[tuple[float, float, float, float]]], np.ndarray]
QualityFn = Callable[[np.ndarray, tuple[float, float, float, float]], Quality]
MeshFn = Callable[[np.ndarray, tuple[float, float, float, float]], "np.ndarray | None"]
AgeSummary = Callable[[np.ndarray], AgeEstimate]
GenderSummary = Callable[[np.ndarray], GenderEstimate]
# (gender probabilities, the shown age in years or None) -> GenderEstimate (calibrated per age band)
GenderGivenAge = Callable[[np.ndarray, "float | None"], GenderEstimate]
ExpressionSummary = Callable[[np.ndarray], ExpressionEstimate]


class Ema:
    """Exponential moving average with a time constant in seconds (rate-independent)."""

    __slots__ = ("tau_s", "value", "t_s")

    def __init__(self, tau_s: float) -> None:
        self.tau_s = tau_s
        self.value: np.ndarray | None = None
        self.t_s = 0.0

    def update(self, x: np.ndarray, t_s: float) -> np.ndarray:
        if self.value is None or self.tau_s <= 0.0:
            self.value = np.array(x, dtype=np.float64)
        else:
            alpha = 1.0 - math.exp(-max(t_s - self.t_s, 0.0) / self.tau_s)
            self.value += alpha * (np.asarray(x, dtype=np.float64) - self.value)
        self.t_s = t_s
        return self.value


@dataclass
class Estimators:
    """The models a configuration asked for; ``None`` for what is switched off."""

    age: ProbsFn | None = None
    age_summary: AgeSummary | None = None
    gender: ProbsFn | None = None
    gender_summary: GenderSummary | None = None
    gender_given_age: GenderGivenAge | None = None  # preferred over gender_summary when set
    expression: ExpressionFn | None = None
    expression_summary: ExpressionSummary | None = None
    quality: QualityFn | None = None
    mesh: MeshFn | None = None
    signal_tracker: Callable[[], object] | None = None  # () -> FaceSignalTracker
    closers: list[Callable[[], None]] = field(default_factory=list)  # release model resources


@dataclass
class _TrackState:
    age: Ema
    gender: Ema
    expression: Ema
    quality: Ema
    signals: object | None  # FaceSignalTracker
    steady: SteadyGuesses
    next_attr_s: float
    next_mesh_s: float
    face: FaceState | None = None
    gaze: Gaze | None = None
    pose: HeadPose | None = None
    mesh_px: np.ndarray | None = None
    cached: Attributes | None = field(default=None, repr=False)


class AttributeEngine:
    """Schedules and smooths the per-track guesses; owned by the inference thread."""

    def __init__(self, cfg: AttributesConfig, estimators: Estimators) -> None:
        self.cfg = cfg
        self.est = estimators
        self._tracks: dict[int, _TrackState] = {}
        self.last_attributes_ms = 0.0
        self.last_mesh_ms = 0.0
        self.model_calls = 0

    @property
    def active(self) -> bool:
        e = self.est
        return any(f is not None for f in (e.age, e.gender, e.expression, e.quality, e.mesh))

    def start_track(self, track_id: int, t_s: float) -> None:
        tau = self.cfg.smoothing_s
        self._tracks[track_id] = _TrackState(
            age=Ema(tau), gender=Ema(tau), expression=Ema(tau), quality=Ema(tau),
            signals=self.est.signal_tracker() if self.est.signal_tracker else None,
            steady=SteadyGuesses(), next_attr_s=t_s, next_mesh_s=t_s,
        )

    def has_track(self, track_id: int) -> bool:
        return track_id in self._tracks

    def end_track(self, track_id: int) -> None:
        self._tracks.pop(track_id, None)

    def update(self, image: np.ndarray, tracks: Sequence[Track], t_s: float,
               frame_budget: FrameBudget | None = None) -> None:
        """Run what is due for the tracks seen in this frame (within the per-frame caps and the
        frame's shared time budget, :mod:`kiosk.analysis.budget`)."""
        self.last_attributes_ms = self.last_mesh_ms = 0.0
        if not self.active or not tracks:
            return
        cap = self.cfg.max_faces_per_frame
        fb = frame_budget or FrameBudget(0.0)
        states = [(t, self._tracks[t.track_id]) for t in tracks if t.track_id in self._tracks]

        due = sorted((ts for ts in states if ts[1].next_attr_s <= t_s), key=lambda ts: ts[1].next_attr_s)
        if due and (self.est.age or self.est.gender or self.est.expression or self.est.quality):
            n = fb.allow("attributes", min(len(due), cap), t_s - due[0][1].next_attr_s)
            if n:
                t0 = time.perf_counter()
                self._update_models(image, due[:n], t_s)
                self.last_attributes_ms = (time.perf_counter() - t0) * 1e3
                fb.spent("attributes", n, self.last_attributes_ms)

        if self.est.mesh is not None:
            due = sorted((ts for ts in states if ts[1].next_mesh_s <= t_s), key=lambda ts: ts[1].next_mesh_s)
            if due:
                n = fb.allow("mesh", min(len(due), cap), t_s - due[0][1].next_mesh_s)
                if n:
                    t0 = time.perf_counter()
                    self._update_mesh(image, due[:n], t_s)
                    self.last_mesh_ms = (time.perf_counter() - t0) * 1e3
                    fb.spent("mesh", n, self.last_mesh_ms)

    def _update_models(self, image: np.ndarray, due: list[tuple[Track, _TrackState]], t_s: float) -> None:
        boxes = [tuple(float(v) for v in t.box) for t, _ in due]
        landmarks = [t.landmarks_px for t, _ in due]
        if self.est.age is not None:
            self.model_calls += 1
            for (_, st), probs in zip(due, self.est.age(image, landmarks)):
                st.age.update(probs, t_s)
        if self.est.gender is not None:
            self.model_calls += 1
            for (_, st), probs in zip(due, self.est.gender(image, landmarks)):
                st.gender.update(probs, t_s)
        if self.est.expression is not None:
            exprs = self.est.expression(image, boxes)  # type: ignore[arg-type]
            self.model_calls += 1
            for (_, st), e in zip(due, exprs):
                st.expression.update(e, t_s)
        if self.est.quality is not None:
            for (_, st), box in zip(due, boxes):
                q = self.est.quality(image, box)  # type: ignore[arg-type]
                st.quality.update(np.array([q.brightness, q.sharpness]), t_s)
        for _, st in due:
            st.next_attr_s = t_s + self.cfg.interval_s
            self._step_shown(st, t_s)
            st.cached = None

    def _step_shown(self, st: _TrackState, t_s: float) -> None:
        """Summarise the averages and pass them through the track's hysteresis (kiosk.infer.steady)."""
        e = self.est
        age = e.age_summary(st.age.value) if e.age_summary and st.age.value is not None else None
        shown_age = st.steady.step_age(t_s, age)
        gender = None
        if st.gender.value is not None:
            if e.gender_given_age is not None:
                gender = e.gender_given_age(st.gender.value, shown_age.years if shown_age is not None else None)
            elif e.gender_summary is not None:
                gender = e.gender_summary(st.gender.value)
        st.steady.step_gender(t_s, gender)
        expression = (e.expression_summary(st.expression.value)
                      if e.expression_summary and st.expression.value is not None else None)
        st.steady.step_expression(t_s, expression)

    def _update_mesh(self, image: np.ndarray, due: list[tuple[Track, _TrackState]], t_s: float) -> None:
        assert self.est.mesh is not None
        for track, st in due:
            st.next_mesh_s = t_s + self.cfg.mesh_interval_s
            points = self.est.mesh(image, tuple(float(v) for v in track.box))  # type: ignore[arg-type]
            self.model_calls += 1
            if points is None:
                continue
            if st.signals is not None:
                st.face, st.gaze = st.signals.update(t_s, points)  # type: ignore[attr-defined]
                st.pose = st.signals.pose  # type: ignore[attr-defined]
            mesh_px = np.ascontiguousarray(points[:, :2])
            mesh_px.flags.writeable = False  # shared with the screen's thread through the snapshot
            st.mesh_px = mesh_px
            st.cached = None

    def close(self) -> None:
        """Forget every track's state and release the estimators (shutdown)."""
        self._tracks.clear()
        for close in self.est.closers:
            close()
        self.est.closers.clear()

    def view(self, track_id: int) -> Attributes:
        """The smoothed guesses for a track (an empty Attributes for an unknown track)."""
        st = self._tracks.get(track_id)
        if st is None:
            return Attributes()
        if st.cached is not None:
            return st.cached
        # The shown guesses are the held ones (settled, with hysteresis), not the latest average.
        age, gender, expression = st.steady.age.value, st.steady.gender.value, st.steady.expression.value
        quality = (Quality(float(st.quality.value[0]), float(st.quality.value[1]))
                   if st.quality.value is not None else None)
        st.cached = Attributes(age=age, gender=gender, expression=expression, pose=st.pose,
                               gaze=st.gaze, face=st.face, quality=quality, mesh_px=st.mesh_px)
        return st.cached
