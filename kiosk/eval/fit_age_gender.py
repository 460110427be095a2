"""``kiosk eval fit-age-gender``: fit the card's 80 % age range and the gender probability
calibration on labelled UTKFace-format crops (e.g. ``utkface_calib``), with 5-fold cross-validated
figures; the helpers live in :mod:`kiosk.eval.age_gender`, the face loop in :mod:`kiosk.eval.utkface`.
``--compare-gender-methods`` adds the cross-validated comparison of gender calibrations that chose
the shipped one (:mod:`kiosk.eval.gender_methods`).
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.eval.age_gender import CV_FOLDS, _fit, _metrics, model_hashes
from kiosk.eval.common import EvalDataError
from kiosk.age_bands import age_band
from kiosk.eval.utkface import utk_faces, utk_summary
from kiosk.infer.uncertainty import DEFAULT_COVERAGE, AgeGenderCalibration, save_calibration


def fit_age_gender(root: Path, models: Any, pad: float = 0.5, det_score: float = 0.75, progress: bool = False,
                   coverage: float = DEFAULT_COVERAGE, write: Path | None = None,
                   compare_gender_methods: bool = False) -> dict[str, Any]:
    """Fit both calibrations on ``root`` (UTKFace labels.csv format); see the module doc."""
    from kiosk.infer.age_gender import AgeGenderEstimator

    started = time.perf_counter()
    estimator = AgeGenderEstimator(models.session("age"), models.session("gender"))

    def run(image: np.ndarray, landmarks: np.ndarray) -> Any:
        return estimator.distributions(image, [landmarks])[0]

    rows, faces, meta = utk_faces(root, models, run, pad=pad, det_score=det_score, progress=progress)
    age_probs = np.stack([d.age_probs for _, _, d in faces])
    gender_probs = np.stack([d.gender_probs for _, _, d in faces])
    ages = np.array([r.age for r, _, _ in faces], np.float64)
    genders = [r.gender for r, _, _ in faces]
    is_male = np.array([g == "male" for g in genders])
    try:
        cal = _fit(age_probs, gender_probs, ages, is_male, coverage)
    except ValueError as exc:
        raise EvalDataError(f"{root}: cannot calibrate on these faces: {exc}") from None
    # Cross-validated figures on the calibration faces (each fold fitted on the other folds).
    fold = np.random.default_rng(0).permutation(len(rows)) % CV_FOLDS
    races = [r.race for r, _, _ in faces]
    cv_records: list[dict[str, Any]] = [{}] * len(rows)
    for k in range(CV_FOLDS):
        train, test = fold != k, fold == k
        part = _fit(age_probs[train], gender_probs[train], ages[train], is_male[train], coverage)
        idx = np.flatnonzero(test)
        for i, rec in zip(idx, _metrics(part, age_probs[test], gender_probs[test], ages[test],
                                        [genders[j] for j in idx], [races[j] for j in idx])):
            cv_records[i] = rec
    age_sha, gender_sha = model_hashes(models)
    cal = AgeGenderCalibration(
        age=cal.age, gender=cal.gender, age_model_sha256=age_sha or "", gender_model_sha256=gender_sha or "",
        fitted_on={"dataset": Path(root).name, "faces": len(rows),
                   "command": f"kiosk eval fit-age-gender --root ../shared/evaldata/{Path(root).name} --write",
                   "pad": pad, "det_score": det_score,
                   "detection_failures": meta["detection_failures"]["images"]})
    result: dict[str, Any] = {
        "dataset": "utkface_calib", "root": str(root), "images": len(rows), **meta,
        "calibration": cal.to_dict(),
        "cross_validated": {"folds": CV_FOLDS, **utk_summary(cv_records)},
        "uncalibrated_on_these_faces": utk_summary(_metrics(None, age_probs, gender_probs, ages, genders, races)),
        "age_bands_by_true_age": sorted({age_band(a) for a in ages}),
    }
    if compare_gender_methods:
        from kiosk.eval.gender_methods import compare_gender_methods as compare
        from kiosk.infer.uncertainty import age_features

        result["gender_method_comparison"] = compare(gender_probs, is_male, age_features(age_probs)[0])
    if write is not None:
        result["written"] = str(save_calibration(cal, write))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


__all__ = ["fit_age_gender"]
