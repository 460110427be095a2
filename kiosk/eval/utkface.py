"""``kiosk eval utkface``: age MAE and gender accuracy on padded tight crops, by gender, race and age band."""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
import cv2
import numpy as np
from kiosk.age_bands import AGE_BANDS, age_band
from kiosk.eval.common import EvalDataError, EvalModels, LandmarkFallback, NATIVE_INPUT_WIDTH, check_dir, open_csv, progress_bar, json_round, central_face, read_image


# --------------------------------------------------------------------------------------------
# UTKFace: age and gender
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UtkRow:
    path: str
    age: int
    gender: str
    race: str


def load_utkface(root: Path) -> list[UtkRow]:
    root = check_dir(root, "UTKFace")
    path = root / "labels.csv"
    rows = open_csv(path, ("path", "age", "gender", "race"))
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            age = int(row["age"])
        except (TypeError, ValueError):
            raise EvalDataError(f"{path}:{line}: age must be an integer, got {row['age']!r}") from None
        gender = (row["gender"] or "").strip().lower()
        if gender not in ("female", "male") or age < 0:
            raise EvalDataError(f"{path}:{line}: gender must be female or male and age >= 0, got {row['gender']!r}, {age}")
        if not (root / row["path"]).is_file():
            raise EvalDataError(f"{root / row['path']}: listed in {path} but not found")
        out.append(UtkRow(row["path"], age, gender, (row["race"] or "").strip() or "unknown"))
    return out


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """95 % Wilson score interval of a proportion (sane for small n and proportions near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def _group_stats(records: list[dict[str, Any]]) -> dict[str, Any]:
    """n, age MAE (+- standard error), mean signed error, range coverage and mean width, gender
    accuracy (95 % CI) and its expected calibration error (15 bins).

    Coverage and width are of the range *as the card shows it*: whole years
    (``round(low) <= age <= round(high)``, width ``round(high) - round(low)``)."""
    if not records:
        return {"n": 0}
    from kiosk.eval.age_gender_fit import expected_calibration_error

    err = np.array([r["age_pred"] - r["age"] for r in records], np.float64)
    correct = np.array([r["gender_pred"] == r["gender"] for r in records])
    low = np.array([round(r["age_low"]) for r in records], np.float64)
    high = np.array([round(r["age_high"]) for r in records], np.float64)
    ages = np.array([r["age"] for r in records], np.float64)
    inside = (low <= ages) & (ages <= high)
    conf = np.array([r.get("gender_conf", float("nan")) for r in records], np.float64)
    lo, hi = wilson_interval(int(correct.sum()), len(records))
    return {
        "n": len(records),
        "age_mae": json_round(float(np.abs(err).mean()), 2),
        "age_mae_se": json_round(float(np.abs(err).std(ddof=1) / math.sqrt(err.size)), 2) if err.size > 1 else None,
        "age_bias": json_round(float(err.mean()), 2),  # + : estimated older than labelled
        "age_in_interval": json_round(float(inside.mean()), 3),
        "age_in_interval_ci95": [json_round(v, 3) for v in wilson_interval(int(inside.sum()), len(records))],
        "age_interval_width_mean": json_round(float((high - low).mean()), 2),
        "gender_accuracy": json_round(float(correct.mean()), 3),
        "gender_accuracy_ci95": [json_round(lo, 3), json_round(hi, 3)],
        "gender_ece": json_round(expected_calibration_error(conf, correct), 4) if np.isfinite(conf).all() else None,
        "gender_confidence_mean": json_round(float(conf.mean()), 3) if np.isfinite(conf).all() else None,
    }


def utk_summary(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Overall and per gender / race / age band statistics of per-face records (adults: 20+)."""
    def by(key: Callable[[dict[str, Any]], str], subset: list[dict[str, Any]] = records) -> dict[str, Any]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in subset:
            groups.setdefault(key(r), []).append(r)
        return {k: _group_stats(v) for k, v in sorted(groups.items())}

    band_order = list(AGE_BANDS)
    bands = by(lambda r: age_band(r["age"]))
    adults = [r for r in records if r["age"] >= 20]
    return {
        "overall": _group_stats(records),
        "by_gender": by(lambda r: r["gender"]),
        "by_race": by(lambda r: r["race"]),
        "by_age_band": {b: bands[b] for b in band_order if b in bands},
        "adults_20_plus": {
            "overall": _group_stats(adults),
            "by_gender": by(lambda r: r["gender"], adults),
            "by_race": by(lambda r: r["race"], adults),
        },
    }


def utk_faces(
    root: Path, models: EvalModels, run: Callable[[np.ndarray, np.ndarray], Any], pad: float = 0.5,
    det_score: float = 0.75, progress: bool = False,
) -> tuple[list[UtkRow], list[tuple[UtkRow, bool, Any]], dict[str, Any]]:
    """Detect the labelled face of every UTKFace crop and call ``run(image, landmarks)`` on it.

    Returns the rows, ``(row, detected, run's result)`` per image in file order, and the
    detection bookkeeping for the report. Images where nothing is detected use the median
    landmark geometry of the detected ones (after all have been detected).
    """
    rows = load_utkface(root)
    detector = models.detector(NATIVE_INPUT_WIDTH, det_score, 0.3, 5000)
    fallback = LandmarkFallback()
    results: dict[int, tuple[UtkRow, bool, Any]] = {}
    pending: list[tuple[int, UtkRow, np.ndarray]] = []
    faces_per_image: dict[int, int] = {}
    for i, row in enumerate(progress_bar(rows, progress, "utkface")):
        image = _pad(read_image(Path(root) / row.path), pad)
        h, w = image.shape[:2]
        dets = detector.detect(image)
        faces_per_image[len(dets)] = faces_per_image.get(len(dets), 0) + 1
        face = central_face(dets, w, h)
        if face is None:
            pending.append((i, row, image))
            continue
        fallback.add(face.landmarks_px, w, h)
        results[i] = (row, True, run(image, np.asarray(face.landmarks_px, np.float32)))
    for i, row, image in pending:
        h, w = image.shape[:2]
        results[i] = (row, False, run(image, np.asarray(fallback.landmarks(w, h), np.float32)))
    meta = {
        "faces_detected_per_image": {str(k): v for k, v in sorted(faces_per_image.items())},
        "detection_failures": {
            "images": len(pending),
            "fallback": f"median landmarks ({fallback.source})",
            "files": [r.path for _, r, _ in pending][:20],
        },
    }
    return rows, [results[i] for i in range(len(rows))], meta


def evaluate_utkface(
    root: Path,
    models: EvalModels,
    pad: float = 0.5,
    det_score: float = 0.75,
    progress: bool = False,
    estimator: Any = None,
    calibration: Any = "default",
    plot_dir: Path | None = None,
) -> dict[str, Any]:
    """Age and gender through the kiosk's estimator on UTKFace crops padded by ``pad`` x size per side.

    UTKFace crops are tight (the face fills the 200x200 image); YuNet, trained on faces in
    scenes, misses or mislocates many of them unpadded, so each crop is padded with a black
    border first. With the kiosk's estimator, the raw distributions go through the same
    calibration the kiosk uses (``calibration``: ``"default"`` = ``models/age_gender_calibration.yaml``
    when it matches the model files, an ``AgeGenderCalibration``, or None for the models' own
    numbers: the "before" figures). A stub ``estimator`` with only ``estimate(image, [landmarks])``
    is used as it is. ``plot_dir``: also write the reliability diagram and the coverage chart.
    """
    started = time.perf_counter()
    from kiosk.eval.age_gender import ece_context, kiosk_summaries, resolve_calibration, write_plots

    if estimator is None:
        try:
            from kiosk.infer.age_gender import AgeGenderEstimator
        except ImportError as exc:
            raise EvalDataError(f"the age/gender estimator is not available in this build ({exc})") from None
        estimator = AgeGenderEstimator(models.session("age"), models.session("gender"))
    cal = resolve_calibration(calibration, models)
    if hasattr(estimator, "distributions"):
        summarise = kiosk_summaries(cal)

        def run(image: np.ndarray, landmarks: np.ndarray) -> Any:
            d = estimator.distributions(image, [landmarks])[0]
            return summarise(d.age_probs, d.gender_probs)
    else:
        def run(image: np.ndarray, landmarks: np.ndarray) -> Any:
            return estimator.estimate(image, [landmarks])[0]

    rows, faces, meta = utk_faces(root, models, run, pad=pad, det_score=det_score, progress=progress)
    records = [_utk_record(row, age, gender, detected) for row, detected, (age, gender) in faces]
    detected = [r for r in records if r["detected"]]
    result = {
        "dataset": "utkface",
        "root": str(root),
        "images": len(rows),
        "padding": f"{pad:g} x crop size of black border on each side before detecting",
        "detector": {"input_width": "native", "score_threshold": det_score, "face_choice": "nearest the image centre"},
        **meta,
        "calibration": _calibration_note(cal, estimator),
        "all_faces": utk_summary(records),
        "detected_only": utk_summary(detected),
        "age_bands": list(AGE_BANDS),
    }
    result["gender_ece_context"] = ece_context(records)
    if plot_dir is not None:
        result["plots"] = write_plots(records, result["all_faces"], Path(plot_dir))
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def _calibration_note(cal: Any, estimator: Any) -> dict[str, Any]:
    if not hasattr(estimator, "distributions"):
        return {"age": "as the estimator returned it", "gender": "as the estimator returned it"}
    if cal is None:
        return {"age": "the model's own central 80 % interval (uncalibrated)",
                "gender": "the model's softmax (uncalibrated)"}
    return {"age": f"conformal {cal.age.coverage:.0%} range" if cal.age else "the model's own central interval",
            "gender": "beta calibration per predicted age band" if cal.gender else "the model's softmax",
            "fitted_on": cal.fitted_on}


def _pad(image: np.ndarray, pad: float) -> np.ndarray:
    if pad <= 0:
        return image
    h, w = image.shape[:2]
    py, px = round(h * pad), round(w * pad)
    return cv2.copyMakeBorder(image, py, py, px, px, cv2.BORDER_CONSTANT, value=(0, 0, 0))


def _utk_record(row: UtkRow, age: Any, gender: Any, detected: bool) -> dict[str, Any]:
    return {
        "path": row.path,
        "age": row.age,
        "gender": row.gender,
        "race": row.race,
        "age_pred": float(age.years),
        "age_low": float(age.low),
        "age_high": float(age.high),
        "gender_pred": str(gender.value).lower(),
        "gender_conf": float(gender.probability),
        "detected": detected,
    }


