"""The threshold lesson's scale: false-match rates, the ACLU's figure, and the slider positions.

Pure arithmetic (no pygame), shared by the screen state and the lesson.

The slider is this kiosk's own **false-match rate per comparison** on a log scale, from 1 in 100
(lenient, left) to 1 in 1,000,000 (strict, right); its positions are the rates the kiosk's
calibration measured (``models/manifest.yaml``, ``kiosk eval calibrate``) plus one mark: the
rate of the ACLU's 2018 test, 28 false matches in 535 x 25,000 comparisons. At that mark, "535
members of Congress against 25,000 photos" gives 28 false matches by construction, so the
figure and the ACLU sentence beside it agree. Rekognition's own "80 %" or "99 %" are points on a
different model's undocumented scale and are never put on this slider: AWS publishes no
false-match rate for either setting.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

CONGRESS_MEMBERS = 535
ACLU_DATABASE_SIZE = 25_000
"""Photos in the arrest-photo database of the ACLU's 2018 test."""
ACLU_FALSE_MATCHES = 28
ACLU_FMR = ACLU_FALSE_MATCHES / (CONGRESS_MEMBERS * ACLU_DATABASE_SIZE)
"""28 / 13,375,000 = 2.09e-6 false matches per comparison (assuming each was one false pair)."""

LENIENT_LOG10 = -2.0
STRICT_LOG10 = -6.0
SLIDER_RATES: tuple[float, ...] = (1e-2, 1e-3, 1e-4, 1e-5, ACLU_FMR, 1e-6)
"""Where the slider stops, lenient to strict. Touch and keys snap to these."""
AUTO_RATES: tuple[float, ...] = (1e-2, ACLU_FMR, 1e-6)
"""The positions the lesson steps through by itself (lenient, the ACLU's, strict), one per dwell."""
AUTO_DWELL_S = 8.0
"""Seconds the slider holds each automatic position: long enough to read the figures."""


def fraction_for_rate(rate: float) -> float:
    """Position along the slider (0 lenient .. 1 strict) of a false-match rate (log scale)."""
    lr = math.log10(max(rate, 1e-300))
    return min(1.0, max(0.0, (LENIENT_LOG10 - lr) / (LENIENT_LOG10 - STRICT_LOG10)))


def rate_for_fraction(fraction: float) -> float:
    f = min(1.0, max(0.0, fraction))
    return 10.0 ** (LENIENT_LOG10 + (STRICT_LOG10 - LENIENT_LOG10) * f)


POSITIONS: tuple[float, ...] = tuple(fraction_for_rate(r) for r in SLIDER_RATES)


def snap(fraction: float) -> float:
    """The slider position nearest ``fraction``."""
    return min(POSITIONS, key=lambda p: abs(p - fraction))


def step(fraction: float, direction: int) -> float:
    """The next position stricter (``direction`` > 0) or more lenient (< 0) than ``fraction``."""
    i = POSITIONS.index(snap(fraction))
    return POSITIONS[min(len(POSITIONS) - 1, max(0, i + (1 if direction > 0 else -1)))]


def expected_false_matches(rate: float, comparisons: float) -> float:
    """Base rate: false-match rate per comparison x comparisons = expected false matches."""
    return rate * comparisons


def congress_false_matches(rate: float) -> float:
    """What this kiosk would produce searching 535 members of Congress against 25,000 photos."""
    return expected_false_matches(rate, CONGRESS_MEMBERS * ACLU_DATABASE_SIZE)


def one_in(rate: float) -> int:
    """``1 / rate`` rounded to two significant digits (1 in 480,000), for display."""
    if rate <= 0:
        return 0
    n = 1.0 / rate
    digits = max(0, int(math.floor(math.log10(n))) - 1)
    return int(round(n / 10 ** digits) * 10 ** digits)


BIAS_FILE = Path(__file__).resolve().parents[2] / "assets" / "watchlist" / "demographics.yaml"


def load_bias(path: Path = BIAS_FILE) -> dict[str, Any] | None:
    """The kiosk's own highest-to-lowest group false-match ratio (``kiosk eval demographics``,
    copied into ``assets/watchlist/demographics.yaml``), or None when absent or malformed."""
    try:
        import yaml

        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        lesson = data["lesson"]
        return {"rate": float(lesson["rate"]), "high": str(lesson["high"]), "low": str(lesson["low"]),
                "ratio": float(lesson["ratio"])}
    except (OSError, KeyError, TypeError, ValueError) as exc:
        log.warning("no demographic false-match figure for the lesson (%s): %s", path, exc)
        return None
