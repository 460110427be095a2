"""One track's face signals over time: smoothed pose and gaze, blinks, attention time.

The single measurements (:func:`kiosk.infer.face_signals.measure`) and every threshold live in
:mod:`kiosk.infer.face_signals`; this module adds what needs memory of earlier meshes.
"""
from __future__ import annotations

import math
from collections import deque

import numpy as np

from kiosk.infer.face_signals import (BLINK_MAX_S, BLINK_WINDOW_S, EYES_CLOSED_BELOW, EYES_OPEN_ABOVE,
                                      LOOK_THRESHOLD_DEG, MAX_DT_S, MIN_BLINK_RATE_S, MOUTH_OPEN_THRESHOLD,
                                      SMILE_THRESHOLD, SMOOTHING_TAU_S, FaceSignals, looks_at_screen, measure)
from kiosk.types import FaceState, Gaze, HeadPose

__all__ = ["FaceSignalTracker"]


def _wrap_deg(angle: float) -> float:
    return (angle + 180.0) % 360.0 - 180.0


class FaceSignalTracker:
    """One track's face signals over time: smoothed pose and gaze, blinks, attention time.

    Call :meth:`update` with each new mesh of the track (at whatever rate the analyzer runs the
    mesh; blinks need about 10 updates per second to be seen at all, since a blink lasts
    0.1-0.4 s). Not thread-safe; lives in the inference thread with its track.

    - **Blinks**: eye openness (:func:`eye_openness`) with hysteresis: closed below
      ``closed_below``, open again above ``open_above``. A closed phase counts as one blink if
      the eyes reopen within ``blink_max_s`` of the first closed sample. The measured duration
      is at most one update interval longer than the real one. A track that starts with closed
      eyes does not count its first reopening.
    - **Blinks per minute**: blinks in the last ``blink_window_s`` (60 s) divided by the time
      the track has been observed within that window, but never by less than
      ``min_rate_window_s`` (10 s), so one blink in the first second reads 6/min, not 60/min.
      A sliding window follows changes (people blink less while reading the screen) where a
      lifetime average would not.
    - **Attention**: the time between two updates is added when the previous update looked at
      the screen (zero-order hold), capped at ``max_dt_s`` per gap.
    - **Smoothing**: pose, gaze, smile and mouth openness follow an exponential moving average
      with ``alpha = 1 - exp(-dt / smoothing_tau_s)``: independent of the update rate, 63 %
      of a step after one time constant, and a long gap resets to the new value. 0 disables it.
      ``at_screen`` is decided on the smoothed gaze. The eye openness is reported unsmoothed
      (a blink must show).
    """

    def __init__(
        self,
        *,
        look_threshold_deg: float = LOOK_THRESHOLD_DEG,
        smoothing_tau_s: float = SMOOTHING_TAU_S,
        closed_below: float = EYES_CLOSED_BELOW,
        open_above: float = EYES_OPEN_ABOVE,
        blink_max_s: float = BLINK_MAX_S,
        max_dt_s: float = MAX_DT_S,
        blink_window_s: float = BLINK_WINDOW_S,
        min_rate_window_s: float = MIN_BLINK_RATE_S,
    ) -> None:
        if not 0.0 < look_threshold_deg <= 180.0:
            raise ValueError(f"look_threshold_deg must be in (0, 180], got {look_threshold_deg}")
        if smoothing_tau_s < 0.0:
            raise ValueError(f"smoothing_tau_s must be >= 0, got {smoothing_tau_s}")
        if not 0.0 <= closed_below < open_above <= 1.0:
            raise ValueError(
                f"need 0 <= closed_below < open_above <= 1, got closed_below={closed_below}, open_above={open_above}"
            )
        for name, value in (("blink_max_s", blink_max_s), ("max_dt_s", max_dt_s), ("blink_window_s", blink_window_s)):
            if value <= 0.0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if not 0.0 < min_rate_window_s <= blink_window_s:
            raise ValueError(f"min_rate_window_s must be in (0, blink_window_s={blink_window_s}], got {min_rate_window_s}")
        self.look_threshold_deg = float(look_threshold_deg)
        self.smoothing_tau_s = float(smoothing_tau_s)
        self.closed_below = float(closed_below)
        self.open_above = float(open_above)
        self.blink_max_s = float(blink_max_s)
        self.max_dt_s = float(max_dt_s)
        self.blink_window_s = float(blink_window_s)
        self.min_rate_window_s = float(min_rate_window_s)

        self._first_t_s: float | None = None
        self._last_t_s: float | None = None
        self._pose: HeadPose | None = None
        self._gaze = (0.0, 0.0)
        self._smile = 0.0
        self._mouth = 0.0
        self._at_screen = False
        self._eyes_open = True
        self._closed_since_s: float | None = None
        self._blink_times_s: deque[float] = deque()
        self.blinks = 0
        self.attention_s = 0.0

    @property
    def pose(self) -> HeadPose | None:
        """The smoothed head pose after the last update (None before the first)."""
        return self._pose

    def update(self, t_s: float, points: np.ndarray) -> tuple[FaceState, Gaze]:
        """Take one mesh of this track at time ``t_s`` (pipeline seconds, non-decreasing)."""
        return self.update_signals(t_s, measure(points))

    def update_signals(self, t_s: float, signals: FaceSignals) -> tuple[FaceState, Gaze]:
        """:meth:`update` from an already computed :func:`measure` (also the tests' entry point)."""
        t_s = float(t_s)
        if self._last_t_s is None:
            self._first_t_s = t_s
            dt = 0.0
            alpha = 1.0
            # Open or closed from the first sample; closed from the start is not a blink.
            self._eyes_open = signals.eye_openness >= self.closed_below
        else:
            dt = t_s - self._last_t_s
            if dt < 0.0:
                raise ValueError(f"t_s went backwards: {t_s} after {self._last_t_s}")
            alpha = 1.0 if self.smoothing_tau_s == 0.0 else 1.0 - math.exp(-dt / self.smoothing_tau_s)
            if self._at_screen:
                self.attention_s += min(dt, self.max_dt_s)
            self._update_blinks(t_s, signals.eye_openness)
        self._last_t_s = t_s
        self._smooth(signals, alpha)
        self._at_screen = looks_at_screen(self._gaze[0], self._gaze[1], self.look_threshold_deg)

        face = FaceState(
            eyes_open=self._eyes_open,
            eye_openness=float(signals.eye_openness),
            blinks=self.blinks,
            blinks_per_min=self._blinks_per_min(t_s),
            smile=self._smile,
            smiling=self._smile >= SMILE_THRESHOLD,
            mouth_open=self._mouth >= MOUTH_OPEN_THRESHOLD,
            mouth_openness=self._mouth,
        )
        gaze_state = Gaze(
            yaw_deg=self._gaze[0], pitch_deg=self._gaze[1], at_screen=self._at_screen, attention_s=self.attention_s
        )
        return face, gaze_state

    # -- internals -------------------------------------------------------------------------------
    def _update_blinks(self, t_s: float, openness: float) -> None:
        if self._eyes_open:
            if openness < self.closed_below:
                self._eyes_open = False
                self._closed_since_s = t_s
        elif openness > self.open_above:
            self._eyes_open = True
            if self._closed_since_s is not None and t_s - self._closed_since_s <= self.blink_max_s:
                self.blinks += 1
                self._blink_times_s.append(t_s)
            self._closed_since_s = None

    def _blinks_per_min(self, t_s: float) -> float:
        while self._blink_times_s and self._blink_times_s[0] <= t_s - self.blink_window_s:
            self._blink_times_s.popleft()
        assert self._first_t_s is not None
        observed_s = min(self.blink_window_s, t_s - self._first_t_s)
        return 60.0 * len(self._blink_times_s) / max(observed_s, self.min_rate_window_s)

    def _smooth(self, signals: FaceSignals, alpha: float) -> None:
        raw = signals.pose
        old = self._pose
        if old is None or alpha >= 1.0:
            self._pose = raw
            self._gaze = (signals.gaze_yaw_deg, signals.gaze_pitch_deg)
            self._smile = signals.smile
            self._mouth = signals.mouth_openness
            return
        # Angles move along the short way round (roll near +-180 would otherwise swing through 0).
        self._pose = HeadPose(
            yaw_deg=_wrap_deg(old.yaw_deg + alpha * _wrap_deg(raw.yaw_deg - old.yaw_deg)),
            pitch_deg=old.pitch_deg + alpha * (raw.pitch_deg - old.pitch_deg),
            roll_deg=_wrap_deg(old.roll_deg + alpha * _wrap_deg(raw.roll_deg - old.roll_deg)),
        )
        gy, gp = self._gaze
        self._gaze = (
            _wrap_deg(gy + alpha * _wrap_deg(signals.gaze_yaw_deg - gy)),
            gp + alpha * (signals.gaze_pitch_deg - gp),
        )
        self._smile += alpha * (signals.smile - self._smile)
        self._mouth += alpha * (signals.mouth_openness - self._mouth)
