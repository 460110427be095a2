"""The watchlist's false-match calibration: the rate at which two different people score at or
above a cosine threshold, measured once on LFW (``kiosk eval calibrate``) and stored in
``models/manifest.yaml``; read here for the kiosk, the threshold lesson and the evaluations.
"""
from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from kiosk import paths
from kiosk.errors import WatchlistError

log = logging.getLogger(__name__)

__all__ = ["FmrCalibration", "load_calibration", "rate_key", "similarity_percent"]


@dataclass(frozen=True)
class FmrCalibration:
    """Measured cosine thresholds for false-match rates, and the rate at any threshold.

    ``points`` are ``(threshold, fmr)`` pairs sorted by threshold, with the rate strictly
    falling: at ``threshold`` a fraction ``fmr`` of the calibration's different-person pairs
    scored ``>= threshold``.

    :meth:`false_match_rate` interpolates **log-linearly**: ``log10(fmr)`` is a straight line in
    the threshold between neighbouring calibrated points. Impostor-score tails fall roughly
    exponentially in the cosine over these ranges, so a log-linear line stays within the same
    decade where a linear one would be off by orders of magnitude halfway between 1e-2 and 1e-3.
    Outside the calibrated range the end segments are extended (capped at 1.0); beyond the
    strictest point that is an extrapolation (tails usually fall faster than that, so it tends
    to *over*-state the rate), which :meth:`is_calibrated` lets a display mark.
    """

    points: tuple[tuple[float, float], ...]
    impostor_pairs: int = 0
    data: str = ""
    command: str = ""
    #: Smallest rate counted directly (at least 10 impostor pairs above it); points for smaller
    #: rates come from the tail fit of ``kiosk eval calibrate`` (0: every point was counted).
    measured_down_to: float = 0.0

    def __post_init__(self) -> None:
        if len(self.points) < 2:
            raise ValueError(f"a calibration needs at least 2 (threshold, fmr) points, got {len(self.points)}")
        for (t0, r0), (t1, r1) in zip(self.points, self.points[1:]):
            if not (t1 > t0 and 0.0 < r1 < r0 <= 1.0):
                raise ValueError(
                    "calibration points must have rising thresholds and falling rates in (0, 1], got "
                    f"({t0}, {r0}) then ({t1}, {r1})"
                )

    @classmethod
    def from_mapping(
        cls, fmr_thresholds: Mapping[Any, Any], impostor_pairs: int = 0, data: str = "", command: str = "",
        measured_down_to: float = 0.0,
    ) -> FmrCalibration:
        """Build from ``{"1e-2": threshold, ...}`` as stored in the manifest (keys: rates)."""
        try:
            points = sorted((float(t), float(r)) for r, t in fmr_thresholds.items())
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fmr_thresholds must map rates to cosine thresholds: {exc}") from None
        return cls(points=tuple(points), impostor_pairs=int(impostor_pairs), data=str(data), command=str(command),
                   measured_down_to=float(measured_down_to))

    @property
    def calibrated_range(self) -> tuple[float, float]:
        """Lowest and highest calibrated threshold."""
        return self.points[0][0], self.points[-1][0]

    def is_calibrated(self, threshold: float) -> bool:
        """True if ``threshold`` lies between points that were counted (interpolated, not
        extrapolated beyond the end points or from the tail fit)."""
        low, high = self.calibrated_range
        if self.measured_down_to > 0:
            high = min(high, self.threshold_for(self.measured_down_to))
        return low <= threshold <= high

    def false_match_rate(self, threshold: float) -> float:
        """Fraction of different-person comparisons expected to score ``>= threshold`` (0..1).

        Monotone non-increasing in ``threshold``; see the class docstring for interpolation and
        extrapolation.
        """
        t = float(threshold)
        pts = self.points
        if t <= pts[0][0]:
            seg = (pts[0], pts[1])
        elif t >= pts[-1][0]:
            seg = (pts[-2], pts[-1])
        else:
            i = next(i for i in range(1, len(pts)) if t <= pts[i][0])
            seg = (pts[i - 1], pts[i])
        (t0, r0), (t1, r1) = seg
        slope = (math.log10(r1) - math.log10(r0)) / (t1 - t0)
        return min(1.0, 10.0 ** (math.log10(r0) + slope * (t - t0)))

    def threshold_for(self, rate: float) -> float:
        """The cosine threshold at which the false-match rate is ``rate`` (inverse of the above)."""
        if not 0.0 < rate <= 1.0:
            raise ValueError(f"rate must be in (0, 1], got {rate}")
        lr = math.log10(rate)
        pts = self.points
        if rate >= pts[0][1]:
            seg = (pts[0], pts[1])
        elif rate <= pts[-1][1]:
            seg = (pts[-2], pts[-1])
        else:
            i = next(i for i in range(1, len(pts)) if rate >= pts[i][1])
            seg = (pts[i - 1], pts[i])
        (t0, r0), (t1, r1) = seg
        slope = (math.log10(r1) - math.log10(r0)) / (t1 - t0)
        return t0 + (lr - math.log10(r0)) / slope


def rate_key(rate: float) -> str:
    """``1e-3`` -> ``"1e-3"``: how rates are written as keys in the manifest and in reports."""
    mantissa, exponent = f"{rate:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def _default_manifest() -> Path:
    return paths.MODELS_MANIFEST


@cache
def _load_calibration_cached(manifest: Path, model: str) -> FmrCalibration | None:
    import yaml

    try:
        raw = yaml.safe_load(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        log.warning("%s missing: no false-match calibration", manifest)
        return None
    section = (raw or {}).get("calibration", {}) if isinstance(raw, dict) else {}
    entry = section.get(model) if isinstance(section, dict) else None
    if not isinstance(entry, dict) or not isinstance(entry.get("fmr_thresholds"), dict):
        log.warning("%s has no calibration.%s.fmr_thresholds: false-match rates unavailable", manifest, model)
        return None
    try:
        return FmrCalibration.from_mapping(
            entry["fmr_thresholds"],
            impostor_pairs=int(entry.get("impostor_pairs", 0)),
            data=str(entry.get("data", "")),
            command=str(entry.get("command", "")),
            measured_down_to=float(entry.get("measured_down_to", 0.0) or 0.0),
        )
    except ValueError as exc:
        raise WatchlistError(f"{manifest}: calibration.{model}: {exc} (re-run `kiosk eval calibrate`)") from None


def load_calibration(model: str = "sface", manifest: Path | None = None) -> FmrCalibration | None:
    """The ``calibration: <model>:`` section of ``models/manifest.yaml``, or None if absent.

    Cached per process (the manifest is part of the source tree). A malformed section raises
    :class:`WatchlistError`.
    """
    return _load_calibration_cached(Path(manifest) if manifest is not None else _default_manifest(), model)


def similarity_percent(score: float) -> float:
    """A cosine shown on a 0-100 scale: ``clip(score, 0, 1) * 100``.

    For display only. It is **not** Amazon Rekognition's "similarity %": that is a different
    model's undocumented score, and no conversion between the two exists. Compare thresholds
    by their false-match rates (:meth:`FmrCalibration.false_match_rate`), never by this number:
    80 % here (cosine 0.8) is far stricter than Rekognition's 80 % default.
    """
    return float(min(1.0, max(0.0, score)) * 100.0)
