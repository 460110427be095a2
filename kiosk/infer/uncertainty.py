"""Calibrated uncertainty for the age and gender guesses: what makes the card's numbers true.

The age and gender models' own numbers are not what they look like. The central 80 % of the age
model's distribution contained the labelled age for only about a third of test faces, and the
gender model's softmax says "100 %" where it is right 70-90 % of the time. This module turns the
raw outputs into numbers that have been *measured to hold* on labelled faces the models were not
trained on (``utkface_calib``; results are reported on the disjoint ``utkface`` set):

**Age: an 80 % range by split conformal prediction** (normalised, asymmetric, Mondrian by
predicted age). From the 81-class distribution ``p`` the kiosk computes the expected age ``E``
(the shown number, unchanged), and in ``z = log(age + 5)`` space the distribution's mean ``m``
and spread ``s``. On the calibration faces, separately for each bin of predicted age ``E``, the
scores ``(m - z_true) / (s + floor)`` and ``(z_true - m) / (s + floor)`` give two quantiles
``q_low`` and ``q_high`` (the 90th percentiles with the finite-sample ``ceil((n+1)(1-a))/n``
correction), so the range is::

    low  = exp(m - q_low  * (s + floor)) - 5
    high = exp(m + q_high * (s + floor)) - 5

and misses on each side 10 % of the time for faces like the calibration faces: 80 % inside. The
choices, each checked by 5-fold cross-validation on the calibration set only (not on the test
set): the log scale makes a child's range a few years and an 70-year-old's a few decades, as the
errors are; the spread ``s`` makes the range wider where the model is unsure (the floor keeps a
confidently wrong one-hot output from getting a zero-width range); the bins of predicted age
follow the model's regression to the middle (teenagers guessed older, people over 60 younger),
so a range is not centred on the guess but shifted towards where the truth lies; separate lower
and upper quantiles let it be lopsided. What it does *not* guarantee: 80 % for every group. The
guarantee is on average over faces like the calibration set; per age band, gender and race it is
measured and reported (``kiosk eval utkface``), and groups where it fails are named in the
caveats.

**Gender: beta calibration per predicted age band** (Kull, Silva Filho and Flach 2017). With
``z = log(p_male / p_female)`` clipped to +-20 and ``q_m = sigmoid(z)``, ``q_f = sigmoid(-z)``, the
calibrated ``P(male) = sigmoid(a_b * log q_m + b_b * log q_f + c_b)``, ``(a_b, b_b, c_b)`` fitted by
maximum likelihood on the calibration faces in predicted age band ``b`` (0-12, 13-19, 20-39,
40-59, 60+). Platt scaling is the special case ``a = -b``; the extra freedom lets the two sides
differ, as they do for this model: its most confident "female" outputs (log-odds below -16, 267
calibration faces) are right 98 % of the time, its "male" outputs above +8 (145 faces) 99 %, and
one slope for both sides showed "100 % sure" where 98 % was true. Chosen over per-band Platt (the
previous method), isotonic regression, histogram binning and Platt with the predicted age as a
continuous feature by repeated 5-fold cross-validation on the calibration set only (lower
log-loss, no worse calibration error; docs/ACCURACY.md). A fit whose weights would make the
probability fall as ``z`` rises (``a < 0`` or ``b > 0``) is replaced by Platt scaling. Per band, because
the model is far more overconfident on children (right for ~70 %) than on adults (~94 %): one
global temperature would leave children's percentages too high, and the card would then show
"92 % sure" beside "right for 69 % of faces like yours", two numbers that contradict each other.
The shown label is the more probable one *after* calibration. Each band also stores the
measured accuracy ("how often it is right for faces like yours") on the calibration faces.

**Expression: words, not numbers.** No labelled data is at hand to calibrate it, so the card
says "clearly" or "perhaps" (:func:`expression_word`) and shows no percentage.

Parameters live in ``models/age_gender_calibration.yaml`` (derived numbers only; no images),
written by ``kiosk eval fit-age-gender`` and tied to the sha256 of the model files they were
fitted for: with other model files the kiosk refuses the parameters and shows neither a range
nor a percentage (an uncalibrated number is worse than none).
"""
from __future__ import annotations

import bisect
import functools
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from kiosk.age_bands import AGE_BAND_EDGES, AGE_BANDS, band_index
from kiosk.paths import REPO_ROOT
from kiosk.types import AgeEstimate, ExpressionEstimate, GenderEstimate

log = logging.getLogger(__name__)

CALIBRATION_FILE = REPO_ROOT / "models" / "age_gender_calibration.yaml"
FORMAT_VERSION = 2
#: Older files this kiosk still reads (version 1: per-band Platt scaling, ``slope``/``bias``).
READABLE_VERSIONS = (1, 2)

#: Years represented by the age model's 81 classes (same as ``kiosk.infer.age_gender.AGE_YEARS``).
AGE_YEARS = np.array([0.25] + [float(y) for y in range(1, 81)], dtype=np.float64)
AGE_YEARS.flags.writeable = False

#: Age bands used for "faces like yours" and the per-band gender calibration (by *predicted* age):
#: ``kiosk.age_bands.AGE_BANDS`` (their one home), under this module's name for them.
AGE_BAND_NAMES = AGE_BANDS

#: Default interval settings (chosen by cross-validation on the calibration set; see the module doc).
DEFAULT_COVERAGE = 0.8
DEFAULT_LOG_OFFSET_YEARS = 5.0
DEFAULT_SCALE_FLOOR = 0.2
DEFAULT_AGE_BIN_EDGES: tuple[float, ...] = (6.0, 12.0, 18.0, 24.0, 30.0, 38.0, 46.0, 54.0, 62.0)
#: The shown range never claims more than this (UTKFace labels go to 116; the model stops at 80).
MAX_RANGE_YEARS = 100.0

#: Expression word scale: the top class's share at or above which the card says "clearly".
EXPRESSION_CLEAR_AT = 0.6


def shown_age_range(age: AgeEstimate) -> tuple[int, int] | None:
    """The whole-year range a card or record may show, or None: only a calibrated range
    (``coverage`` set) that is at least one year wide once rounded (never "28 (28-28)")."""
    if age.coverage is None:
        return None
    low, high = int(round(age.low)), int(round(age.high))
    return (low, high) if high > low else None


#: The most certainty a card or record may claim for a calibrated probability. The calibration is
#: fitted on 2,050 faces and checked on 200: no such set can vouch that a guess is right more than
#: 99 times in 100, so "100 % sure" (a rounded 0.997) would claim what was never measured.
MAX_SHOWN_PROBABILITY = 0.99


def shown_probability(probability: float) -> float:
    """A calibrated probability as a card or record may show it: at most 99 %."""
    return min(float(probability), MAX_SHOWN_PROBABILITY)


def expression_word(estimate: ExpressionEstimate) -> str:
    """``"clear"`` when the top expression has at least :data:`EXPRESSION_CLEAR_AT` of the
    model's (uncalibrated) weight, else ``"perhaps"``. Words, because there is no labelled data
    to say how often "80 %" would be right; the threshold is a reading aid, not a probability."""
    return "clear" if max(estimate.probabilities) >= EXPRESSION_CLEAR_AT else "perhaps"


# --------------------------------------------------------------------------------------------
# Features of the raw model outputs
# --------------------------------------------------------------------------------------------


def _norm(p: np.ndarray, size: int, what: str) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.shape[-1] != size:
        raise ValueError(f"expected {size} {what} probabilities, got {p.shape[-1]}")
    total = p.sum(axis=-1, keepdims=True)
    if not np.all(np.isfinite(total)) or np.any(total <= 0) or np.any(p < 0):
        raise ValueError(f"{what} probabilities must be non-negative, finite and not all zero")
    return p / total


def _norm_one(p: np.ndarray | Sequence[float], size: int, what: str) -> list[float]:
    """:func:`_norm` of one distribution, as a list of Python floats (same checks, same errors)."""
    values = np.asarray(p, dtype=np.float64).reshape(-1).tolist()
    if len(values) != size:
        raise ValueError(f"expected {size} {what} probabilities, got {len(values)}")
    if not all(map(math.isfinite, values)) or min(values) < 0 or (total := math.fsum(values)) <= 0:
        raise ValueError(f"{what} probabilities must be non-negative, finite and not all zero")
    return [v / total for v in values]


def age_features(age_probs: np.ndarray, offset_years: float = DEFAULT_LOG_OFFSET_YEARS
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(expected years, mean and spread in log(age + offset)) of (..., 81) distributions."""
    p = _norm(age_probs, AGE_YEARS.size, "age")
    z = np.log(AGE_YEARS + offset_years)
    mean_z = p @ z
    spread = np.sqrt(np.maximum(p @ (z * z) - mean_z * mean_z, 0.0))
    return p @ AGE_YEARS, mean_z, spread


def gender_log_odds(gender_probs: np.ndarray) -> np.ndarray:
    """log(p_male / p_female) of (..., 2) (female, male) outputs, clipped to +-20."""
    p = _norm(gender_probs, 2, "gender")
    with np.errstate(divide="ignore"):
        z = np.log(p[..., 1]) - np.log(p[..., 0])
    return np.clip(z, -20.0, 20.0)


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


# --------------------------------------------------------------------------------------------
# The fitted models
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AgeIntervalModel:
    """Conformal age range (see the module doc); ``q_low[i]``/``q_high[i]`` per predicted-age bin."""

    coverage: float
    offset_years: float
    scale_floor: float
    bin_edges: tuple[float, ...]  # inner edges on expected years; len(q_low) == len(bin_edges) + 1
    q_low: tuple[float, ...]
    q_high: tuple[float, ...]
    bin_counts: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not (len(self.q_low) == len(self.q_high) == len(self.bin_edges) + 1):
            raise ValueError(f"age interval: {len(self.bin_edges)} bin edges need {len(self.bin_edges) + 1} "
                             f"q_low and q_high values, got {len(self.q_low)} and {len(self.q_high)}")
        if list(self.bin_edges) != sorted(self.bin_edges):
            raise ValueError(f"age interval: bin edges must increase, got {list(self.bin_edges)}")

    def ranges(self, age_probs: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(expected years, low, high) for (N, 81) distributions; the expected age is always inside."""
        years, mean_z, spread = age_features(np.atleast_2d(age_probs), self.offset_years)
        b = np.searchsorted(np.asarray(self.bin_edges), years, side="right")
        scale = spread + self.scale_floor
        low = np.exp(mean_z - np.asarray(self.q_low)[b] * scale) - self.offset_years
        high = np.exp(mean_z + np.asarray(self.q_high)[b] * scale) - self.offset_years
        low = np.clip(np.minimum(low, years), 0.0, MAX_RANGE_YEARS)
        high = np.clip(np.maximum(high, years), 0.0, MAX_RANGE_YEARS)
        return years, low, high

    def range_of_one(self, p: Sequence[float]) -> tuple[float, float, float]:
        """:meth:`ranges` of one normalised distribution (81 floats), in Python floats.

        The card's summary is one face at a time: on 81 numbers NumPy's per-call overhead was
        most of the cost. The same arithmetic, the sums in another order (tested against :meth:`ranges`).
        """
        years_t, z_t, zz_t = _log_age_tables(self.offset_years)
        years = sum(map(float.__mul__, p, years_t))
        mean_z = sum(map(float.__mul__, p, z_t))
        spread = math.sqrt(max(sum(map(float.__mul__, p, zz_t)) - mean_z * mean_z, 0.0))
        b = bisect.bisect_right(self.bin_edges, years)
        scale = spread + self.scale_floor
        low = math.exp(mean_z - self.q_low[b] * scale) - self.offset_years
        high = math.exp(mean_z + self.q_high[b] * scale) - self.offset_years
        low = min(max(min(low, years), 0.0), MAX_RANGE_YEARS)
        high = min(max(max(high, years), 0.0), MAX_RANGE_YEARS)
        return years, low, high


@functools.lru_cache(maxsize=4)
def _log_age_tables(offset_years: float) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """The age classes' years, ``z = log(years + offset)`` and ``z * z``, as float tuples."""
    z = np.log(AGE_YEARS + offset_years)
    return tuple(AGE_YEARS.tolist()), tuple(z.tolist()), tuple((z * z).tolist())


def _logaddexp0(x: float) -> float:
    """``np.logaddexp(0.0, x)`` of one float: log(1 + exp(x)) without overflow."""
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))


def log_sides(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(log q_male, log q_female) of clipped log-odds z: -softplus(-z), -softplus(z)."""
    return -np.logaddexp(0.0, -z), -np.logaddexp(0.0, z)


@dataclass(frozen=True)
class GenderCalibrationModel:
    """Beta calibration of the gender output per predicted age band (see the module doc):
    ``P(male) = sigmoid(w_male * log q_m + w_female * log q_f + bias)`` per band."""

    w_male: tuple[float, ...]  # per AGE_BAND_NAMES
    w_female: tuple[float, ...]
    bias: tuple[float, ...]
    accuracy: tuple[float, ...]  # measured on the calibration faces, calibrated decisions
    counts: tuple[int, ...]
    # For a kiosk with the age model switched off: one set of weights and accuracy for all faces.
    overall_w_male: float = 1.0
    overall_w_female: float = -1.0
    overall_bias: float = 0.0
    overall_accuracy: float = float("nan")

    def __post_init__(self) -> None:
        n = len(AGE_BAND_NAMES)
        if not (len(self.w_male) == len(self.w_female) == len(self.bias) == len(self.accuracy) == n):
            raise ValueError(f"gender calibration: expected {n} w_male, w_female, bias and accuracy values (one per "
                             f"age band {', '.join(AGE_BAND_NAMES)})")
        for a, b in zip((*self.w_male, self.overall_w_male), (*self.w_female, self.overall_w_female)):
            if a < 0 or b > 0:
                raise ValueError(f"gender calibration: w_male must be >= 0 and w_female <= 0 (got {a}, {b}): "
                                 "otherwise the probability would fall as the model grows surer")

    @classmethod
    def from_platt(cls, slope: Sequence[float], bias: Sequence[float], accuracy: Sequence[float],
                   counts: Sequence[int] = (), overall_slope: float = 1.0, overall_bias: float = 0.0,
                   overall_accuracy: float = float("nan")) -> GenderCalibrationModel:
        """Platt scaling ``sigmoid(slope * z + bias)`` in this form (``w_male = -w_female = slope``)."""
        return cls(w_male=tuple(float(a) for a in slope), w_female=tuple(-float(a) for a in slope),
                   bias=tuple(float(c) for c in bias), accuracy=tuple(float(x) for x in accuracy),
                   counts=tuple(int(x) for x in counts), overall_w_male=float(overall_slope),
                   overall_w_female=-float(overall_slope), overall_bias=float(overall_bias),
                   overall_accuracy=float(overall_accuracy))

    def p_male(self, gender_probs: np.ndarray, age_years: np.ndarray | float | None) -> np.ndarray:
        """Calibrated P(male) of (N, 2) outputs; ``age_years`` None uses the all-ages parameters."""
        z = gender_log_odds(np.atleast_2d(gender_probs))
        lm, lf = log_sides(z)
        if age_years is None:
            return sigmoid(self.overall_w_male * lm + self.overall_w_female * lf + self.overall_bias)
        b = np.searchsorted(np.asarray(AGE_BAND_EDGES), np.broadcast_to(np.asarray(age_years, float), z.shape),
                            side="right")
        return sigmoid(np.asarray(self.w_male)[b] * lm + np.asarray(self.w_female)[b] * lf + np.asarray(self.bias)[b])

    def p_male_of_one(self, p_female: float, p_male: float, age_years: float | None) -> float:
        """:meth:`p_male` of one face's normalised (female, male) pair, in Python floats (the
        same arithmetic as the array version; per-call NumPy overhead dominated it)."""
        if p_male <= 0.0:
            z = -20.0
        elif p_female <= 0.0:
            z = 20.0
        else:
            z = min(max(math.log(p_male) - math.log(p_female), -20.0), 20.0)
        lm, lf = -_logaddexp0(-z), -_logaddexp0(z)
        if age_years is None:
            x = self.overall_w_male * lm + self.overall_w_female * lf + self.overall_bias
        else:
            b = bisect.bisect_right(AGE_BAND_EDGES, float(age_years))
            x = self.w_male[b] * lm + self.w_female[b] * lf + self.bias[b]
        return 1.0 / (1.0 + math.exp(-x)) if x > -709.0 else 0.0  # NumPy's sigmoid: exp overflows to inf, 1/inf = 0


@dataclass(frozen=True)
class AgeGenderCalibration:
    """Both calibrations, the model files they belong to, and where they were fitted."""

    age: AgeIntervalModel | None
    gender: GenderCalibrationModel | None
    age_model_sha256: str = ""
    gender_model_sha256: str = ""
    fitted_on: dict[str, Any] = field(default_factory=dict)
    version: int = FORMAT_VERSION

    # -- what the pipeline calls ----------------------------------------------------------------

    def age_summary(self, age_probs: np.ndarray) -> AgeEstimate:
        """Expected age with the calibrated range (``coverage`` set), from one distribution."""
        if self.age is None:
            raise RuntimeError("no age calibration loaded")
        p = _norm_one(age_probs, AGE_YEARS.size, "age")
        years, low, high = self.age.range_of_one(p)
        return AgeEstimate(years=years, low=low, high=high, confidence=max(p), coverage=self.age.coverage)

    def gender_summary(self, gender_probs: np.ndarray, age_years: float | None = None) -> GenderEstimate:
        """The calibrated guess: label, calibrated probability, and the accuracy measured for its
        predicted age band (``age_years`` None: for all ages)."""
        if self.gender is None:
            raise RuntimeError("no gender calibration loaded")
        p_female, p_male = _norm_one(gender_probs, 2, "gender")
        pm = self.gender.p_male_of_one(p_female, p_male, age_years)
        value, prob = ("male", pm) if pm >= 0.5 else ("female", 1.0 - pm)
        if age_years is None:
            band, acc = None, self.gender.overall_accuracy
        else:
            i = band_index(age_years)
            band, acc = AGE_BAND_NAMES[i], self.gender.accuracy[i]
        return GenderEstimate(value=value, probability=prob, calibrated=True, band=band,
                              band_accuracy=None if not math.isfinite(acc) else float(acc))

    # -- file ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": self.version, "fitted_on": dict(self.fitted_on),
                               "age_model_sha256": self.age_model_sha256,
                               "gender_model_sha256": self.gender_model_sha256}
        if self.age is not None:
            a = self.age
            out["age_interval"] = {
                "method": "split conformal, normalised by the spread in log(age + offset), Mondrian by predicted age",
                "coverage": a.coverage, "offset_years": a.offset_years, "scale_floor": a.scale_floor,
                "bin_edges_years": [float(x) for x in a.bin_edges],
                "q_low": [round(float(x), 5) for x in a.q_low], "q_high": [round(float(x), 5) for x in a.q_high],
                "bin_counts": [int(x) for x in a.bin_counts],
            }
        if self.gender is not None:
            g = self.gender
            out["gender"] = {
                "method": "beta calibration per predicted age band: P(male) = sigmoid(w_male * log q_m + "
                          "w_female * log q_f + bias), q = softmax of the clipped log-odds",
                "age_bands": list(AGE_BAND_NAMES),
                "w_male": [round(float(x), 5) for x in g.w_male],
                "w_female": [round(float(x), 5) for x in g.w_female],
                "bias": [round(float(x), 5) for x in g.bias],
                "accuracy": [round(float(x), 4) for x in g.accuracy], "counts": [int(x) for x in g.counts],
                "overall": {"w_male": round(g.overall_w_male, 5), "w_female": round(g.overall_w_female, 5),
                            "bias": round(g.overall_bias, 5), "accuracy": round(g.overall_accuracy, 4)},
            }
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "calibration") -> AgeGenderCalibration:
        try:
            version = int(data["version"])
            if version not in READABLE_VERSIONS:
                raise ValueError(f"format version {version}, this kiosk reads {', '.join(map(str, READABLE_VERSIONS))}")
            age = None
            if data.get("age_interval"):
                a = data["age_interval"]
                age = AgeIntervalModel(
                    coverage=float(a["coverage"]), offset_years=float(a["offset_years"]),
                    scale_floor=float(a["scale_floor"]), bin_edges=tuple(float(x) for x in a["bin_edges_years"]),
                    q_low=tuple(float(x) for x in a["q_low"]), q_high=tuple(float(x) for x in a["q_high"]),
                    bin_counts=tuple(int(x) for x in a.get("bin_counts", ())))
                if not 0.0 < age.coverage < 1.0:
                    raise ValueError(f"age_interval.coverage must be in (0, 1), got {age.coverage}")
            gender = None
            if data.get("gender"):
                g = data["gender"]
                if tuple(g.get("age_bands", AGE_BAND_NAMES)) != AGE_BAND_NAMES:
                    raise ValueError(f"gender.age_bands must be {list(AGE_BAND_NAMES)}, got {g.get('age_bands')}")
                ov = g.get("overall", {})
                floats = lambda key: tuple(float(x) for x in g[key])  # noqa: E731
                if version == 1:  # per-band Platt scaling
                    gender = GenderCalibrationModel.from_platt(
                        floats("slope"), floats("bias"), floats("accuracy"), tuple(int(x) for x in g.get("counts", ())),
                        float(ov.get("slope", 1.0)), float(ov.get("bias", 0.0)), float(ov.get("accuracy", float("nan"))))
                else:
                    gender = GenderCalibrationModel(
                        w_male=floats("w_male"), w_female=floats("w_female"), bias=floats("bias"),
                        accuracy=floats("accuracy"), counts=tuple(int(x) for x in g.get("counts", ())),
                        overall_w_male=float(ov.get("w_male", 1.0)), overall_w_female=float(ov.get("w_female", -1.0)),
                        overall_bias=float(ov.get("bias", 0.0)), overall_accuracy=float(ov.get("accuracy", float("nan"))))
            return cls(age=age, gender=gender, age_model_sha256=str(data.get("age_model_sha256", "")),
                       gender_model_sha256=str(data.get("gender_model_sha256", "")),
                       fitted_on=dict(data.get("fitted_on") or {}), version=version)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{where}: malformed age/gender calibration ({type(exc).__name__}: {exc}); "
                             "re-create it with `kiosk eval fit-age-gender --root ../shared/evaldata/utkface_calib "
                             "--write`") from None


_HEADER = """\
# Calibration of the age range and the gender probability shown on the kiosk's cards.
# Derived numbers only (no images, no per-face data). Written by
#   kiosk eval fit-age-gender --root ../shared/evaldata/utkface_calib --write
# and read at start-up by kiosk/infer/uncertainty.py, which refuses it for model files with other
# sha256 values. Method and measured results: kiosk/infer/uncertainty.py, docs/ACCURACY.md.
"""


def save_calibration(cal: AgeGenderCalibration, path: Path = CALIBRATION_FILE) -> Path:
    path = Path(path)
    text = _HEADER + yaml.safe_dump(cal.to_dict(), sort_keys=False, allow_unicode=True, width=100)
    path.write_text(text, encoding="utf-8")
    return path


def load_calibration(path: Path = CALIBRATION_FILE) -> AgeGenderCalibration:
    """Read the calibration file (ValueError naming the file when it is missing or malformed)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read the age/gender calibration ({exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return AgeGenderCalibration.from_dict(data, str(path))


def calibration_for(age_sha256: str | None, gender_sha256: str | None,
                    path: Path = CALIBRATION_FILE) -> AgeGenderCalibration | None:
    """The calibration if it was fitted for these model files, else None (logged).

    A part whose model hash differs is dropped (its numbers would describe another model); the
    card then shows that guess without a range or percentage.
    """
    try:
        cal = load_calibration(path)
    except ValueError as exc:
        log.warning("%s; the cards show no age range and no gender percentage", exc)
        return None
    age, gender = cal.age, cal.gender
    if age is not None and age_sha256 is not None and cal.age_model_sha256 != age_sha256:
        log.warning("%s: fitted for age model %s…, loaded %s…: no calibrated age range", path,
                    cal.age_model_sha256[:12], age_sha256[:12])
        age = None
    if gender is not None and gender_sha256 is not None and cal.gender_model_sha256 != gender_sha256:
        log.warning("%s: fitted for gender model %s…, loaded %s…: no gender percentage", path,
                    cal.gender_model_sha256[:12], gender_sha256[:12])
        gender = None
    if age is None and gender is None:
        return None
    return AgeGenderCalibration(age=age, gender=gender, age_model_sha256=cal.age_model_sha256,
                                gender_model_sha256=cal.gender_model_sha256, fitted_on=cal.fitted_on)


# --------------------------------------------------------------------------------------------
# What the kiosk shows (shared by the pipeline and the evaluation, so both measure the same thing)
# --------------------------------------------------------------------------------------------


def age_estimate(cal: AgeGenderCalibration | None, age_probs: np.ndarray) -> AgeEstimate:
    """The calibrated age estimate, or with no calibration the model's own (``coverage`` None)."""
    if cal is not None and cal.age is not None:
        return cal.age_summary(age_probs)
    from kiosk.infer.age_gender import age_summary

    return age_summary(age_probs)


def gender_estimate(cal: AgeGenderCalibration | None, gender_probs: np.ndarray,
                    age_years: float | None) -> GenderEstimate:
    """The calibrated gender estimate for a face of apparent age ``age_years`` (None: unknown),
    or with no calibration the model's softmax (``calibrated`` False: never shown as a percentage)."""
    if cal is not None and cal.gender is not None:
        return cal.gender_summary(gender_probs, age_years)
    from kiosk.infer.age_gender import gender_summary

    return gender_summary(gender_probs)
