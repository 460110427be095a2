"""Age-range and gender-probability calibration: fitting, measuring and charting (``kiosk eval``).

- ``kiosk eval fit-age-gender --root ../shared/evaldata/utkface_calib [--write]``
  (:mod:`kiosk.eval.fit_age_gender`) runs the
  kiosk's detection and age/gender models on the calibration crops, fits the conformal age range
  and the per-band gender beta calibration (:mod:`kiosk.infer.uncertainty`), reports 5-fold
  cross-validated coverage, width and calibration error on those same faces, and with
  ``--write`` stores the parameters in ``models/age_gender_calibration.yaml``.
- ``kiosk eval utkface`` (in :mod:`kiosk.eval.utkface`) measures the result on faces it was not
  fitted on; :func:`write_plots` draws its reliability diagram and coverage-by-age-band chart.

Nothing here runs in the kiosk itself; matplotlib is imported only for ``--plot``.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.infer.uncertainty import (
    AGE_BAND_NAMES,
    CALIBRATION_FILE,
    DEFAULT_AGE_BIN_EDGES,
    AgeGenderCalibration,
    age_estimate,
    calibration_for,
    gender_estimate,
)
from kiosk.eval.age_gender_fit import (
    expected_calibration_error,
    fit_age_intervals,
    fit_gender,
    reliability_bins,
)
from kiosk.types import AgeEstimate, GenderEstimate

log = logging.getLogger(__name__)

#: Folds for the cross-validated figures of ``fit-age-gender``.
CV_FOLDS = 5


def model_hashes(models: Any) -> tuple[str | None, str | None]:
    """sha256 of the age and gender model files the evaluation loads (from the manifest)."""
    try:
        from kiosk.models import ModelStore

        store = ModelStore(getattr(models, "models_dir", None))
        return store.entry("age").final_sha256, store.entry("gender").final_sha256
    except Exception as exc:  # noqa: BLE001 - a missing manifest means "cannot check", reported below
        log.warning("cannot read the model manifest (%s): calibration not tied to model files", exc)
        return None, None


def resolve_calibration(calibration: Any, models: Any) -> AgeGenderCalibration | None:
    """``"default"``: the repository's file if it matches the models; a path: that file; an
    ``AgeGenderCalibration`` as it is; None: none (the "before" figures)."""
    if calibration is None or isinstance(calibration, AgeGenderCalibration):
        return calibration
    age_sha, gender_sha = model_hashes(models)
    path = CALIBRATION_FILE if calibration == "default" else Path(calibration)
    return calibration_for(age_sha, gender_sha, path)


def kiosk_summaries(cal: AgeGenderCalibration | None) -> Callable[[np.ndarray, np.ndarray], tuple[AgeEstimate, GenderEstimate]]:
    """(age probs, gender probs) -> what the card would show, exactly as the kiosk computes it."""
    def summarise(age_probs: np.ndarray, gender_probs: np.ndarray) -> tuple[AgeEstimate, GenderEstimate]:
        age = age_estimate(cal, age_probs)
        return age, gender_estimate(cal, gender_probs, age.years)

    return summarise


# --------------------------------------------------------------------------------------------
# ECE in context: how much of it is noise at this sample size
# --------------------------------------------------------------------------------------------


def ece_context(records: list[dict[str, Any]], resamples: int = 1000, seed: int = 0) -> dict[str, Any]:
    """Bootstrap 90 % interval of the overall gender ECE, and the ECE a *perfectly* calibrated
    model would show on the same number of faces with the same confidences (labels drawn from
    them): with 200 faces and 15 bins, ECE is dominated by sampling noise near 0.05."""
    conf = np.array([r["gender_conf"] for r in records], np.float64)
    ok = np.array([r["gender_pred"] == r["gender"] for r in records])
    if conf.size == 0 or not np.isfinite(conf).all():
        return {}
    rng = np.random.default_rng(seed)
    boot, perfect = [], []
    for _ in range(resamples):
        i = rng.integers(0, conf.size, conf.size)
        boot.append(expected_calibration_error(conf[i], ok[i]))
        perfect.append(expected_calibration_error(conf, rng.random(conf.size) < conf))
    return {
        "n": int(conf.size),
        "ece": round(expected_calibration_error(conf, ok), 4),
        "bootstrap_ci90": [round(float(np.percentile(boot, 5)), 4), round(float(np.percentile(boot, 95)), 4)],
        "perfectly_calibrated_reference": {
            "median": round(float(np.median(perfect)), 4), "p90": round(float(np.percentile(perfect, 90)), 4),
            "meaning": "ECE of a perfectly calibrated model with these confidences on this many faces",
        },
        "reliability_bins": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in b.items()}
                             for b in reliability_bins(conf, ok)],
    }


# --------------------------------------------------------------------------------------------
# Charts
# --------------------------------------------------------------------------------------------


def write_plots(records: list[dict[str, Any]], summary: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Write ``gender_reliability.png`` and ``age_coverage_by_band.png`` into ``out_dir``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir.mkdir(parents=True, exist_ok=True)
    conf = np.array([r["gender_conf"] for r in records], np.float64)
    ok = np.array([r["gender_pred"] == r["gender"] for r in records])
    bins = reliability_bins(conf, ok)
    ece = expected_calibration_error(conf, ok)

    fig, ax = plt.subplots(figsize=(5.5, 5.0), dpi=100)
    ax.plot([0.5, 1.0], [0.5, 1.0], color="0.6", linestyle="--", label="perfect calibration")
    widths = [b["high"] - b["low"] for b in bins]
    ax.bar([b["low"] for b in bins], [b["accuracy"] for b in bins], width=widths, align="edge",
           color="#4c78a8", edgecolor="white", alpha=0.85, label="accuracy in bin")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o", color="#e45756",
            label="mean confidence vs accuracy")
    for b in bins:
        ax.annotate(str(b["n"]), (b["low"] + (b["high"] - b["low"]) / 2, min(b["accuracy"] + 0.02, 1.02)),
                    ha="center", fontsize=7, color="0.3")
    ax.set_xlim(0.5, 1.0)
    ax.set_ylim(0.0, 1.05)
    ax.set_xlabel("shown probability of the guessed gender (15 bins; n above bars)")
    ax.set_ylabel("share of guesses that were right")
    ax.set_title(f"Gender: reliability, {len(records)} faces, ECE {ece:.3f}")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    rel = out_dir / "gender_reliability.png"
    fig.savefig(rel)
    plt.close(fig)

    bands = summary.get("by_age_band", {})
    names = list(bands)
    cov = [bands[n]["age_in_interval"] for n in names]
    ci = [bands[n].get("age_in_interval_ci95") or [c, c] for n, c in zip(names, cov)]
    width = [bands[n]["age_interval_width_mean"] for n in names]
    fig, ax = plt.subplots(figsize=(6.5, 4.5), dpi=100)
    x = np.arange(len(names))
    ax.bar(x, cov, color="#4c78a8", alpha=0.85, label="true age inside the shown range")
    ax.errorbar(x, cov, yerr=[[c - lo for c, (lo, _) in zip(cov, ci)], [hi - c for c, (_, hi) in zip(cov, ci)]],
                fmt="none", ecolor="0.2", capsize=4, label="95 % interval (Wilson)")
    ax.axhline(0.8, color="#e45756", linestyle="--", label="stated 80 %")
    ax.axhspan(0.75, 0.85, color="#e45756", alpha=0.08)
    for xi, c, w, n in zip(x, cov, width, names):
        ax.annotate(f"{c:.0%}\nwidth {w:.0f} y\nn={bands[n]['n']}", (xi, 0.05), ha="center", fontsize=8, color="white")
    ax.set_xticks(x, [f"{n} y" for n in names])
    ax.set_ylim(0.0, 1.05)
    ax.set_ylabel("coverage")
    overall = summary.get("overall", {})
    ax.set_title(f"Age range: coverage by true age band (overall {overall.get('age_in_interval', float('nan')):.0%}, "
                 f"mean width {overall.get('age_interval_width_mean', float('nan')):.0f} y)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.09), ncol=3, fontsize=8, frameon=False)
    fig.tight_layout()
    covp = out_dir / "age_coverage_by_band.png"
    fig.savefig(covp)
    plt.close(fig)
    return {"reliability_diagram": str(rel), "coverage_by_age_band": str(covp)}


# --------------------------------------------------------------------------------------------
# fit-age-gender
# --------------------------------------------------------------------------------------------


def _fit(age_probs: np.ndarray, gender_probs: np.ndarray, ages: np.ndarray, is_male: np.ndarray,
         coverage: float) -> AgeGenderCalibration:
    age = fit_age_intervals(age_probs, ages, coverage=coverage, bin_edges=DEFAULT_AGE_BIN_EDGES)
    years = age_probs @ np.array([0.25] + [float(y) for y in range(1, 81)]) / age_probs.sum(axis=1)
    return AgeGenderCalibration(age=age, gender=fit_gender(gender_probs, is_male, years))


def _metrics(cal: AgeGenderCalibration, age_probs: np.ndarray, gender_probs: np.ndarray,
             ages: np.ndarray, genders: list[str], races: list[str]) -> list[dict[str, Any]]:
    summarise = kiosk_summaries(cal)
    out = []
    for ap, gp, age, gender, race in zip(age_probs, gender_probs, ages, genders, races):
        a, g = summarise(ap, gp)
        out.append({"age": float(age), "gender": gender, "race": race, "age_pred": a.years, "age_low": a.low,
                    "age_high": a.high, "gender_pred": g.value, "gender_conf": g.probability, "detected": True})
    return out


__all__ = ["AGE_BAND_NAMES", "CV_FOLDS", "ece_context", "kiosk_summaries", "model_hashes",
           "resolve_calibration", "write_plots"]
