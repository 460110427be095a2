"""Which gender calibration? The candidates, compared by repeated cross-validation on the
calibration faces only (``kiosk eval fit-age-gender --compare-gender-methods``).

The test set (``utkface``, 200 faces) is too small to choose between calibrations: a perfectly
calibrated model scores an ECE anywhere from about 0.03 to 0.06 on it. So the choice is made on
``utkface_calib`` (2,050 faces) by ``repeats`` x ``folds``-fold cross-validation: every face gets a
prediction from a calibration fitted without it, and the pooled out-of-fold predictions are scored
by expected calibration error (the same 15-bin estimator as ``kiosk eval utkface``) and by
log-loss (a proper scoring rule: it rewards probabilities that are both calibrated and sharp).
Each method is also scored within each predicted age band and each labelled gender, because the
card puts "how sure" next to "right for N % of faces aged …".

All "band" methods use the band of the *predicted* age, as the kiosk does (it has no true age).
Per-band fits can be shrunk toward the all-ages fit (a ridge pull of strength k, in
:data:`SHRINK_STRENGTHS`), since some bands hold under 100 calibration faces. Because the target is
an ECE measured on the 200-face test set, each method is also scored on random 200-face subsets
of its out-of-fold predictions (``ece_on_200_faces``): the figure that test set would report, and
how much it scatters, estimated without touching the test set.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from kiosk.infer.uncertainty import AGE_BAND_EDGES, AGE_BAND_NAMES, log_sides, sigmoid, gender_log_odds
from kiosk.eval.age_gender_fit import expected_calibration_error, fit_beta, fit_beta_shrunk, fit_logistic, fit_platt

#: (z_train, y_train, band_train, years_train, z_test, band_test, years_test) -> P(male) on the test faces
Method = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]

#: The method the kiosk ships (``kiosk.infer.uncertainty.fit_gender``) and the one it replaced.
SHIPPED = "band_beta"
PREVIOUS = "band_platt"
_EPS = 1e-3
#: Strengths of the pull of per-band fits toward the all-ages fit (ridge weight, in faces' log-likelihood units).
SHRINK_STRENGTHS = (3.0, 10.0, 30.0, 100.0, 300.0)
#: The test set's size, for the ECE the "done when" measures (``kiosk eval utkface``: 200 faces).
TEST_FACES = 200
SUBSETS_PER_REPEAT = 40


def _temperature(z: np.ndarray, y: np.ndarray) -> float:
    """The single factor t minimising the log-loss of sigmoid(t * z) (grid search, 0.02-5)."""
    ts = np.exp(np.linspace(np.log(0.02), np.log(5.0), 400))
    nll = [float(np.sum(np.logaddexp(0.0, t * z) - y * t * z)) for t in ts]
    return float(ts[int(np.argmin(nll))])


def _isotonic(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators fit of y on z: (block centres, block means)."""
    order = np.argsort(z, kind="stable")
    vals: list[float] = []
    weights: list[float] = []
    left: list[float] = []
    right: list[float] = []
    for zi, yi in zip(z[order], y[order].astype(float)):
        vals.append(yi), weights.append(1.0), left.append(zi), right.append(zi)
        while len(vals) > 1 and vals[-2] >= vals[-1]:
            w = weights[-2] + weights[-1]
            v = (vals[-2] * weights[-2] + vals[-1] * weights[-1]) / w
            vals[-2:], weights[-2:], right[-2:], left[-2:] = [v], [w], [right[-1]], [left[-2]]
    return (np.asarray(left) + np.asarray(right)) / 2.0, np.asarray(vals)


def _per_band(fit_apply: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> Method:
    def method(zt: np.ndarray, yt: np.ndarray, bt: np.ndarray, _yrt: np.ndarray, ze: np.ndarray, be: np.ndarray,
               _yre: np.ndarray) -> np.ndarray:
        out = np.empty(ze.shape)
        for b in range(len(AGE_BAND_NAMES)):
            out[be == b] = fit_apply(zt[bt == b], yt[bt == b], ze[be == b])
        return out
    return method


def _global(fit_apply: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]) -> Method:
    return lambda zt, yt, _bt, _yrt, ze, _be, _yre: fit_apply(zt, yt, ze)


def _platt(zt: np.ndarray, yt: np.ndarray, ze: np.ndarray) -> np.ndarray:
    a, c = fit_platt(zt, yt)
    return sigmoid(a * ze + c)


def _beta(zt: np.ndarray, yt: np.ndarray, ze: np.ndarray) -> np.ndarray:
    a, b, c = fit_beta(zt, yt)
    lm, lf = log_sides(ze)
    return sigmoid(a * lm + b * lf + c)


def _temp(zt: np.ndarray, yt: np.ndarray, ze: np.ndarray) -> np.ndarray:
    return sigmoid(_temperature(zt, yt) * ze)


def _iso(zt: np.ndarray, yt: np.ndarray, ze: np.ndarray) -> np.ndarray:
    centres, means = _isotonic(zt, yt)
    return np.clip(np.interp(ze, centres, means), _EPS, 1 - _EPS)


def _histogram(bins: int) -> Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]:
    """Equal-mass bins of the raw P(male); each bin predicts its share of men (ties share a bin)."""
    def fit_apply(zt: np.ndarray, yt: np.ndarray, ze: np.ndarray) -> np.ndarray:
        edges = np.unique(np.quantile(zt, np.linspace(0, 1, bins + 1)[1:-1]))
        it, ie = np.searchsorted(edges, zt, side="right"), np.searchsorted(edges, ze, side="right")
        share = np.array([yt[it == i].mean() if np.any(it == i) else yt.mean() for i in range(edges.size + 1)])
        return np.clip(share[ie], _EPS, 1 - _EPS)
    return fit_apply


def _band_beta_shrunk(strength: float) -> Method:
    """Beta calibration per band, each shrunk toward the beta fit on all training faces."""
    def method(zt: np.ndarray, yt: np.ndarray, bt: np.ndarray, _yrt: np.ndarray, ze: np.ndarray, be: np.ndarray,
               _yre: np.ndarray) -> np.ndarray:
        centre = fit_beta(zt, yt)
        lm, lf = log_sides(ze)
        out = np.empty(ze.shape)
        for b in range(len(AGE_BAND_NAMES)):
            a, f, c = fit_beta_shrunk(zt[bt == b], yt[bt == b], centre, strength)
            m = be == b
            out[m] = sigmoid(a * lm[m] + f * lf[m] + c)
        return out
    return method


def _band_platt_shrunk(strength: float) -> Method:
    """Platt scaling per band, each shrunk toward the Platt fit on all training faces."""
    def method(zt: np.ndarray, yt: np.ndarray, bt: np.ndarray, _yrt: np.ndarray, ze: np.ndarray, be: np.ndarray,
               _yre: np.ndarray) -> np.ndarray:
        centre = np.asarray(fit_platt(zt, yt))
        out = np.empty(ze.shape)
        for b in range(len(AGE_BAND_NAMES)):
            m = bt == b
            a, c = fit_logistic(np.stack([zt[m], np.ones(int(m.sum()))], axis=1), yt[m], l2=strength, centre=centre)
            a = max(a, 0.0)
            out[be == b] = sigmoid(a * ze[be == b] + c)
        return out
    return method


def _beta_band_bias(zt: np.ndarray, yt: np.ndarray, bt: np.ndarray, _yrt: np.ndarray, ze: np.ndarray,
                    be: np.ndarray, _yre: np.ndarray) -> np.ndarray:
    """One beta calibration for all faces with the predicted age band as a feature: shared
    slopes, one bias per band."""
    nb = len(AGE_BAND_NAMES)

    def features(z: np.ndarray, band: np.ndarray) -> np.ndarray:
        lm, lf = log_sides(z)
        return np.column_stack([lm, lf, np.eye(nb)[band]])

    w = fit_logistic(features(zt, bt), yt)
    if w[0] < 0 or w[1] > 0:
        return _beta(zt, yt, ze)
    return sigmoid(features(ze, be) @ w)


def _platt_with_age(zt: np.ndarray, yt: np.ndarray, _bt: np.ndarray, yrt: np.ndarray, ze: np.ndarray,
                    _be: np.ndarray, yre: np.ndarray) -> np.ndarray:
    """One Platt scaling whose slope and bias are quadratic in log(predicted age + 5): no band edges."""
    def features(z: np.ndarray, years: np.ndarray) -> np.ndarray:
        f = np.log(years + 5.0) - np.log(35.0)
        return np.column_stack([z, np.ones_like(z), f, z * f, f * f, z * f * f])

    from kiosk.eval.age_gender_fit import fit_logistic

    return sigmoid(features(ze, yre) @ fit_logistic(features(zt, yrt), yt))


METHODS: dict[str, tuple[str, Method]] = {
    "uncalibrated": ("the model's softmax", lambda zt, yt, bt, yrt, ze, be, yre: sigmoid(ze)),
    "global_temperature": ("one temperature for all faces", _global(_temp)),
    "global_platt": ("one Platt scaling for all faces", _global(_platt)),
    "global_isotonic": ("isotonic regression for all faces", _global(_iso)),
    "global_histogram15": ("histogram binning, 15 equal-mass bins", _global(_histogram(15))),
    "global_beta": ("beta calibration for all faces", _global(_beta)),
    "platt_with_age": ("one Platt scaling with the predicted age as a (quadratic) feature", _platt_with_age),
    "band_temperature": ("a temperature per predicted age band", _per_band(_temp)),
    "band_platt": ("Platt scaling per predicted age band (before)", _per_band(_platt)),
    "band_isotonic": ("isotonic regression per predicted age band", _per_band(_iso)),
    "band_beta": ("beta calibration per predicted age band (shipped)", _per_band(_beta)),
    "beta_band_bias": ("one beta calibration, the predicted age band as a feature (one bias per band)",
                       _beta_band_bias),
    **{f"band_beta_shrunk{k:g}": (f"beta calibration per predicted age band, shrunk toward all ages (strength {k:g})",
                                  _band_beta_shrunk(k)) for k in SHRINK_STRENGTHS},
    **{f"band_platt_shrunk{k:g}": (f"Platt scaling per predicted age band, shrunk toward all ages (strength {k:g})",
                                   _band_platt_shrunk(k)) for k in SHRINK_STRENGTHS},
}


def _subset_eces(conf: np.ndarray, ok: np.ndarray, rng: np.random.Generator, size: int = TEST_FACES,
                 subsets: int = SUBSETS_PER_REPEAT) -> list[float]:
    """ECE on ``subsets`` random subsets of ``size`` faces (without replacement): the figure a
    test set of that size would report, and its spread."""
    out = []
    for _ in range(subsets):
        idx = rng.choice(conf.size, size=min(size, conf.size), replace=False)
        out.append(expected_calibration_error(conf[idx], ok[idx]))
    return out


def _scores(p: np.ndarray, y: np.ndarray, band: np.ndarray, rng: np.random.Generator | None = None) -> dict[str, Any]:
    conf = np.maximum(p, 1 - p)
    ok = (p >= 0.5) == (y == 1)
    pc = np.clip(p, 1e-6, 1 - 1e-6)
    loss = -(y * np.log(pc) + (1 - y) * np.log(1 - pc))
    return {
        "ece": expected_calibration_error(conf, ok), "log_loss": float(loss.mean()),
        "accuracy": float(ok.mean()), "confidence_mean": float(conf.mean()),
        "ece_by_band": [expected_calibration_error(conf[band == b], ok[band == b]) for b in range(len(AGE_BAND_NAMES))],
        "ece_by_gender": [expected_calibration_error(conf[y == g], ok[y == g]) for g in (0, 1)],
        "accuracy_by_gender": [float(ok[y == g].mean()) for g in (0, 1)],
        "_loss": loss,
        "_ece_subsets": _subset_eces(conf, ok, rng) if rng is not None else [],
    }


def compare_gender_methods(gender_probs: np.ndarray, is_male: np.ndarray, age_years: np.ndarray,
                           repeats: int = 10, folds: int = 5, seed: int = 0) -> dict[str, Any]:
    """Repeated k-fold cross-validated scores of every method in :data:`METHODS` (see the module doc).

    Per method: the mean and spread over repeats of the pooled out-of-fold ECE and log-loss, the
    mean per-band / per-gender ECE and accuracy, and the paired per-face log-loss difference to
    :data:`PREVIOUS` with its standard error (faces are the unit that varies between data sets).
    Also the ECE a perfectly calibrated model would show on this many faces, for scale.
    """
    z = gender_log_odds(gender_probs)
    y = np.asarray(is_male, np.float64)
    years = np.asarray(age_years, np.float64)
    band = np.searchsorted(np.asarray(AGE_BAND_EDGES), years, side="right")
    n = z.size
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in METHODS}
    for r in range(repeats):
        fold = np.random.default_rng(seed + r).permutation(n) % folds
        preds = {name: np.empty(n) for name in METHODS}
        for k in range(folds):
            tr, te = fold != k, fold == k
            for name, (_, method) in METHODS.items():
                preds[name][te] = method(z[tr], y[tr], band[tr], years[tr], z[te], band[te], years[te])
        for name in METHODS:
            # The same subsets for every method (paired comparison): one generator per repeat.
            runs[name].append(_scores(preds[name], y, band, np.random.default_rng(10_000 + seed + r)))
    base_loss = np.mean([s["_loss"] for s in runs[PREVIOUS]], axis=0)
    out: dict[str, Any] = {}
    for name, (label, _) in METHODS.items():
        s = runs[name]
        diff = np.mean([x["_loss"] for x in s], axis=0) - base_loss
        sub = np.concatenate([x["_ece_subsets"] for x in s])  # ECE on test-sized subsets, all repeats
        out[name] = {
            "what": label,
            "ece": round(float(np.mean([x["ece"] for x in s])), 4),
            "ece_sd_over_repeats": round(float(np.std([x["ece"] for x in s])), 4),
            "log_loss": round(float(np.mean([x["log_loss"] for x in s])), 4),
            "log_loss_minus_previous": round(float(diff.mean()), 4),
            "log_loss_minus_previous_se": round(float(diff.std(ddof=1) / np.sqrt(n)), 4),
            "accuracy": round(float(np.mean([x["accuracy"] for x in s])), 4),
            f"ece_on_{TEST_FACES}_faces": {
                "mean": round(float(np.mean(sub)), 4),
                "p10": round(float(np.percentile(sub, 10)), 4), "p90": round(float(np.percentile(sub, 90)), 4),
                "share_at_most_0.05": round(float(np.mean(sub <= 0.05)), 3),
                "subsets": int(sub.size)},
            "confidence_mean": round(float(np.mean([x["confidence_mean"] for x in s])), 4),
            "ece_by_predicted_age_band": dict(zip(AGE_BAND_NAMES, (round(float(v), 4) for v in
                                                                    np.mean([x["ece_by_band"] for x in s], axis=0)))),
            "ece_by_gender": dict(zip(("female", "male"), (round(float(v), 4) for v in
                                                           np.mean([x["ece_by_gender"] for x in s], axis=0)))),
            "accuracy_by_gender": dict(zip(("female", "male"), (round(float(v), 4) for v in
                                                                np.mean([x["accuracy_by_gender"] for x in s], axis=0)))),
        }
    return {
        "faces": n, "repeats": repeats, "folds": folds, "shipped": SHIPPED, "previous": PREVIOUS,
        "perfectly_calibrated_ece": _perfectly_calibrated_ece(z, y, band, years, folds, seed),
        "methods": out,
    }


def _perfectly_calibrated_ece(z: np.ndarray, y: np.ndarray, band: np.ndarray, years: np.ndarray,
                              folds: int, seed: int) -> dict[str, Any]:
    """Scale: ECE of a model that is perfectly calibrated by construction (labels drawn from the
    previous method's out-of-fold confidences) on this many faces, and on test-sized subsets."""
    n = z.size
    rng = np.random.default_rng(seed)
    fold = rng.permutation(n) % folds
    p_prev = np.empty(n)
    for k in range(folds):
        tr, te = fold != k, fold == k
        p_prev[te] = METHODS[PREVIOUS][1](z[tr], y[tr], band[tr], years[tr], z[te], band[te], years[te])
    conf = np.maximum(p_prev, 1 - p_prev)
    draws = rng.random((500, n)) < conf
    perfect = [expected_calibration_error(conf, d) for d in draws]
    perfect_small = []
    for d in draws:
        idx = rng.choice(n, size=min(TEST_FACES, n), replace=False)
        perfect_small.append(expected_calibration_error(conf[idx], d[idx]))
    by_band = {name: round(float(np.median([expected_calibration_error(conf[band == b], d[band == b])
                                            for d in draws])), 4)
               for b, name in enumerate(AGE_BAND_NAMES)}
    return {"median": round(float(np.median(perfect)), 4),
            "p90": round(float(np.percentile(perfect, 90)), 4),
            "median_by_predicted_age_band": by_band,
            f"on_{TEST_FACES}_faces": {
                "mean": round(float(np.mean(perfect_small)), 4),
                "median": round(float(np.median(perfect_small)), 4),
                "p90": round(float(np.percentile(perfect_small, 90)), 4),
                "share_at_most_0.05": round(float(np.mean(np.asarray(perfect_small) <= 0.05)), 3)}}


__all__ = ["METHODS", "PREVIOUS", "SHIPPED", "SHRINK_STRENGTHS", "TEST_FACES", "compare_gender_methods"]
