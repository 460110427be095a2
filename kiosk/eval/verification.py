"""Verification metrics (pure functions, tested on synthetic scores)."""
from __future__ import annotations

import math
from typing import Any
import numpy as np
from kiosk.eval.common import json_round


# --------------------------------------------------------------------------------------------
# Verification metrics (pure functions, tested on synthetic scores)
# --------------------------------------------------------------------------------------------


def accuracy_at(scores: np.ndarray, same: np.ndarray, threshold: float) -> float:
    """Fraction of pairs decided right when ``score >= threshold`` means "same person"."""
    return float(np.mean((np.asarray(scores) >= threshold) == np.asarray(same, bool)))


def best_threshold(scores: np.ndarray, same: np.ndarray) -> tuple[float, float]:
    """(threshold, accuracy) maximising accuracy on these pairs.

    Candidates are the midpoints between consecutive distinct scores (plus one below the lowest
    and one above the highest), so the chosen threshold never sits exactly on a training score.
    The first best candidate (lowest threshold) wins ties.
    """
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same, bool)
    u = np.unique(scores)
    candidates = np.concatenate(([u[0] - 1e-6], (u[:-1] + u[1:]) / 2.0, [u[-1] + 1e-6]))
    gen = np.sort(scores[same])
    imp = np.sort(scores[~same])
    # genuine accepted: >= t; impostor rejected: < t
    tp = gen.size - np.searchsorted(gen, candidates, side="left")
    tn = np.searchsorted(imp, candidates, side="left")
    acc = (tp + tn) / scores.size
    i = int(np.argmax(acc))
    return float(candidates[i]), float(acc[i])


def cross_validated_accuracy(scores: np.ndarray, same: np.ndarray, folds: np.ndarray) -> dict[str, Any]:
    """Per held-out fold: threshold chosen on the other folds, accuracy on the held-out one.

    Returns ``{"mean", "sd", "per_fold", "thresholds", "folds"}``; ``sd`` is the sample standard
    deviation over folds (ddof=1; LFW papers often print the standard error, sd / sqrt(folds)).
    With a single fold cross-validation is impossible and ``mean`` is None.
    """
    folds = np.asarray(folds)
    ids = sorted(set(folds.tolist()))
    if len(ids) < 2:
        return {"mean": None, "sd": None, "per_fold": [], "thresholds": [], "folds": ids,
                "note": "cross-validation needs at least 2 folds"}
    accs, ths = [], []
    for f in ids:
        test = folds == f
        t, _ = best_threshold(scores[~test], same[~test])
        ths.append(t)
        accs.append(accuracy_at(scores[test], same[test], t))
    arr = np.array(accs)
    return {
        "mean": json_round(arr.mean()),
        "sd": json_round(arr.std(ddof=1)) if arr.size > 1 else None,
        "per_fold": [json_round(a) for a in accs],
        "thresholds": [json_round(t) for t in ths],
        "folds": ids,
    }


def tar_at_far(scores: np.ndarray, same: np.ndarray, far: float) -> dict[str, Any]:
    """True-accept rate at the threshold that accepts at most ``far`` x impostors.

    The threshold is set just above the (k+1)-th highest impostor score, k = floor(far x n), so
    at most k impostors pass. With n impostor pairs the smallest non-zero FAR is 1/n: when
    far < 1/n, k = 0 and the threshold is set by the single highest impostor score.
    """
    scores = np.asarray(scores, np.float64)
    same = np.asarray(same, bool)
    imp = np.sort(scores[~same])[::-1]
    gen = scores[same]
    if imp.size == 0 or gen.size == 0:
        return {"far_target": far, "threshold": None, "tar": None, "impostor_pairs": int(imp.size)}
    k = math.floor(far * imp.size)
    threshold = float(np.nextafter(imp[k], np.inf)) if k < imp.size else float(imp[-1])
    return {
        "far_target": far,
        "impostor_pairs": int(imp.size),
        "far_resolution": json_round(1.0 / imp.size, 6),
        "impostors_allowed": k,
        "threshold": json_round(threshold),
        "tar": json_round(float(np.mean(gen >= threshold))),
        "far_observed": json_round(float(np.mean(imp >= threshold)), 6),
    }


def distribution(values: np.ndarray) -> dict[str, float | None]:
    if values.size == 0:
        return {}
    q = np.percentile(values, [0, 5, 50, 95, 100])
    return {"min": json_round(q[0]), "p5": json_round(q[1]), "median": json_round(q[2]), "p95": json_round(q[3]), "max": json_round(q[4])}


