"""Fitting the age and gender calibrations, and measuring calibration (pure numpy).

Run by ``kiosk eval fit-age-gender`` and ``kiosk eval utkface``; the kiosk itself only reads the
fitted parameters (:mod:`kiosk.infer.uncertainty`, which explains the methods). Kept apart from it
so the runtime module holds what the pipeline calls and nothing the pipeline never runs.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from kiosk.age_bands import AGE_BAND_EDGES
from kiosk.infer.uncertainty import (
    AgeIntervalModel,
    GenderCalibrationModel,
    age_features,
    gender_log_odds,
    sigmoid,
    log_sides,
    DEFAULT_AGE_BIN_EDGES,
    DEFAULT_COVERAGE,
    DEFAULT_LOG_OFFSET_YEARS,
    DEFAULT_SCALE_FLOOR,
    AGE_BAND_NAMES,
)


def conformal_quantile(scores: np.ndarray, alpha: float) -> float:
    """The split-conformal quantile: the ceil((n+1)(1-alpha))-th smallest score (inf if n too small)."""
    s = np.sort(np.asarray(scores, np.float64))
    n = s.size
    k = math.ceil((n + 1) * (1.0 - alpha))
    return float(s[k - 1]) if 0 < k <= n else float("inf")


def fit_age_intervals(age_probs: np.ndarray, ages: np.ndarray, coverage: float = DEFAULT_COVERAGE,
                      bin_edges: Sequence[float] = DEFAULT_AGE_BIN_EDGES,
                      offset_years: float = DEFAULT_LOG_OFFSET_YEARS,
                      scale_floor: float = DEFAULT_SCALE_FLOOR) -> AgeIntervalModel:
    """Fit the conformal range on (N, 81) distributions and true ages in whole years (see the
    module doc), for the range as the card shows it: rounded to whole years, both ends included.

    Raises ValueError when a bin of predicted age holds fewer than 20 faces (its quantile would
    be unreliable): merge bins (fewer ``bin_edges``) or use more calibration faces.
    """
    ages = np.asarray(ages, np.float64)
    years, mean_z, spread = age_features(age_probs, offset_years)
    if years.shape != ages.shape:
        raise ValueError(f"{years.shape[0]} distributions but {ages.shape[0]} ages")
    # Labels are whole years and the card shows whole years (round(low) <= age <= round(high)), so
    # the range misses low when low >= age + 0.5 and misses high when high < age - 0.5.
    z_above = np.log(ages + 0.5 + offset_years)
    z_below = np.log(np.maximum(ages - 0.5, 0.0) + offset_years)
    scale = spread + scale_floor
    b = np.searchsorted(np.asarray(bin_edges, float), years, side="right")
    alpha = (1.0 - coverage) / 2.0
    q_low, q_high, counts = [], [], []
    for i in range(len(bin_edges) + 1):
        m = b == i
        n = int(m.sum())
        if n < 20:
            raise ValueError(f"age bin {i} (predicted {([0.0, *bin_edges])[i]:g}-"
                             f"{([*bin_edges, math.inf])[i]:g} y) has {n} calibration faces; need >= 20")
        q_low.append(conformal_quantile((mean_z[m] - z_above[m]) / scale[m], alpha))
        q_high.append(conformal_quantile((z_below[m] - mean_z[m]) / scale[m], alpha))
        counts.append(n)
    return AgeIntervalModel(coverage=coverage, offset_years=offset_years, scale_floor=scale_floor,
                            bin_edges=tuple(float(x) for x in bin_edges), q_low=tuple(q_low),
                            q_high=tuple(q_high), bin_counts=tuple(counts))


def fit_logistic(x: np.ndarray, y: np.ndarray, iterations: int = 100, l2: float = 1e-4,
                 centre: np.ndarray | None = None) -> np.ndarray:
    """Weights w maximising the likelihood of ``sigmoid(x @ w)`` for labels y in {0, 1}, less
    the ridge term ``l2 / 2 * |w - centre|^2`` (``centre`` 0 by default).

    Newton's method from ``centre`` with step halving (the likelihood is concave, but a full
    Newton step from an overconfident start can overshoot); a tiny ridge term keeps it defined for
    separable data. A large ``l2`` with a ``centre`` shrinks the fit toward those weights.
    """
    y = np.asarray(y, np.float64)
    c = np.zeros(x.shape[1]) if centre is None else np.asarray(centre, np.float64)

    def loss(w: np.ndarray) -> float:
        t = x @ w
        return float(np.sum(np.logaddexp(0.0, t) - y * t) + 0.5 * l2 * float((w - c) @ (w - c)))

    w = c.copy()
    current = loss(w)
    for _ in range(iterations):
        p = sigmoid(x @ w)
        grad = x.T @ (p - y) + l2 * (w - c)
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(x.shape[1])
        step = np.linalg.solve(hess, grad)
        t = 1.0
        while t > 1e-6 and loss(w - t * step) > current:
            t /= 2.0
        w = w - t * step
        new = loss(w)
        if current - new < 1e-12:
            break
        current = new
    return w


def fit_platt(z: np.ndarray, y: np.ndarray, iterations: int = 100, l2: float = 1e-4) -> tuple[float, float]:
    """(slope, bias) maximising the likelihood of ``sigmoid(slope * z + bias)`` for labels y in {0, 1}."""
    z = np.asarray(z, np.float64)
    w = fit_logistic(np.stack([z, np.ones_like(z)], axis=1), y, iterations, l2)
    return float(w[0]), float(w[1])


def fit_beta(z: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """(w_male, w_female, bias) of beta calibration on clipped log-odds z (see the module doc);
    Platt scaling (``w_male = -w_female``) when the free fit would not be monotone in z."""
    z = np.asarray(z, np.float64)
    lm, lf = log_sides(z)
    a, b, c = (float(v) for v in fit_logistic(np.stack([lm, lf, np.ones_like(z)], axis=1), y))
    if a < 0 or b > 0:
        slope, bias = fit_platt(z, y)
        slope = max(slope, 0.0)
        return slope, -slope, bias
    return a, b, c


def fit_beta_shrunk(z: np.ndarray, y: np.ndarray, centre: tuple[float, float, float],
                    strength: float) -> tuple[float, float, float]:
    """Beta calibration on z shrunk toward ``centre`` = (w_male, w_female, bias), e.g. the fit on
    all ages: maximum likelihood less ``strength / 2 * |params - centre|^2``. ``centre`` itself
    when the shrunk fit would not be monotone in z."""
    z = np.asarray(z, np.float64)
    lm, lf = log_sides(z)
    a, b, c = (float(v) for v in fit_logistic(np.stack([lm, lf, np.ones_like(z)], axis=1), y, l2=strength,
                                              centre=np.asarray(centre, np.float64)))
    if a < 0 or b > 0:
        return tuple(float(v) for v in centre)  # type: ignore[return-value]
    return a, b, c


def fit_gender(gender_probs: np.ndarray, is_male: np.ndarray, age_years: np.ndarray) -> GenderCalibrationModel:
    """Beta calibration per predicted age band, plus one for all ages; accuracies of the calibrated
    decisions on the same faces. Raises ValueError for a band with fewer than 20 faces."""
    z = gender_log_odds(gender_probs)
    lm, lf = log_sides(z)
    y = np.asarray(is_male, np.float64)
    b = np.searchsorted(np.asarray(AGE_BAND_EDGES), np.asarray(age_years, float), side="right")
    wm, wf, bias, acc, counts = [], [], [], [], []
    for i, name in enumerate(AGE_BAND_NAMES):
        m = b == i
        if int(m.sum()) < 20:
            raise ValueError(f"age band {name} has {int(m.sum())} calibration faces; need >= 20")
        a, f, c = fit_beta(z[m], y[m])
        wm.append(a)
        wf.append(f)
        bias.append(c)
        acc.append(float(np.mean((sigmoid(a * lm[m] + f * lf[m] + c) >= 0.5) == (y[m] == 1))))
        counts.append(int(m.sum()))
    oa, of, oc = fit_beta(z, y)
    return GenderCalibrationModel(w_male=tuple(wm), w_female=tuple(wf), bias=tuple(bias), accuracy=tuple(acc),
                                  counts=tuple(counts), overall_w_male=oa, overall_w_female=of, overall_bias=oc,
                                  overall_accuracy=float(np.mean((sigmoid(oa * lm + of * lf + oc) >= 0.5) == (y == 1))))


# --------------------------------------------------------------------------------------------
# Calibration metrics
# --------------------------------------------------------------------------------------------


def reliability_bins(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> list[dict[str, float]]:
    """Equal-width bins of confidence over [0, 1]: n, mean confidence and accuracy of the non-empty ones."""
    conf = np.asarray(confidence, np.float64)
    ok = np.asarray(correct, bool)
    idx = np.minimum((conf * bins).astype(int), bins - 1)
    out = []
    for i in range(bins):
        m = idx == i
        if m.any():
            out.append({"low": i / bins, "high": (i + 1) / bins, "n": int(m.sum()),
                        "confidence": float(conf[m].mean()), "accuracy": float(ok[m].mean())})
    return out


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 15) -> float:
    """ECE: the share-weighted gap |accuracy - confidence| over equal-width confidence bins
    (Guo et al. 2017; confidence = probability of the predicted label)."""
    conf = np.asarray(confidence, np.float64)
    if conf.size == 0:
        return float("nan")
    return float(sum(b["n"] * abs(b["accuracy"] - b["confidence"]) for b in reliability_bins(conf, correct, bins))
                 / conf.size)
