"""``kiosk eval demographics``: the kiosk's false-match rate per demographic group, at the slider's rates.

    kiosk eval demographics --root ../shared/evaldata/utkface --root ../shared/evaldata/utkface_calib

NIST's demographic study (NISTIR 8280) found false-match rates differing between groups by
factors of 10 to 100 for many algorithms, at one fixed threshold; the ACLU's false matches fell
disproportionately on people of colour. This measures the same thing for the kiosk's own model:

- images: UTKFace crops listed in each ``--root``'s ``labels.csv`` (labelled age, gender, race);
  only adults (``--min-age``, default 18: the watchlist lesson is about adults, and children's
  faces are known to false-match far more often, which would swamp the comparison);
- each crop is padded (UTKFace crops are tight), its face found and embedded the kiosk's way;
- **assumption: every crop is a different person.** UTKFace has no identity labels; a person
  who appears twice makes a same-person pair counted as a false match (this can only *raise* a
  group's rate);
- groups: labelled race x gender; impostor pairs are all pairs *within* a group (NIST's
  demographic FMR is also within-group: people are most often confused with similar-looking
  people);
- thresholds: those of the kiosk's calibration (``models/manifest.yaml``) for the slider's rates;
- intervals: 90 % bootstrap over images within the group (``--bootstrap`` resamples).

With ~200 adults per group (~20,000 pairs) a group rate is resolved down to about 1e-3; at
stricter settings the counts are a handful of pairs and the intervals say so.
"""
from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.eval.common import EvalDataError, EvalModels, central_face, json_round as _round, progress_bar as _progress, read_image
from kiosk.eval.utkface import _pad, load_utkface
from kiosk.privacy.policy import wipe
from kiosk.track.fmr_calibration import load_calibration, rate_key
from kiosk.track.watchlist import embed_detection

log = logging.getLogger(__name__)

RATES = (1e-2, 1e-3, 1e-4)


def group_fmr(emb: np.ndarray, thresholds: dict[float, float], resamples: int, seed: int = 0) -> dict[str, Any]:
    """Within-group impostor FMR at each threshold, with a 90 % bootstrap over images."""
    n = emb.shape[0]
    sim = emb @ emb.T
    iu, ju = np.triu_indices(n, k=1)
    s = sim[iu, ju]
    out: dict[str, Any] = {"images": n, "pairs": int(s.size)}
    rng = np.random.default_rng(seed)
    draws = {r: [] for r in thresholds}
    for _ in range(resamples):
        w = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        pw = w[iu] * w[ju]
        total = pw.sum()
        for r, t in thresholds.items():
            draws[r].append(float(pw[s >= t].sum() / total) if total > 0 else np.nan)
    for r, t in thresholds.items():
        k = int((s >= t).sum())
        lo, hi = (np.nanpercentile(draws[r], [5, 95]) if resamples else (np.nan, np.nan))
        out[rate_key(r)] = {"threshold": t, "false_matches": k, "fmr": _round(k / max(1, s.size), 6),
                            "ci90": [_round(float(lo), 6), _round(float(hi), 6)]}
    return out


def evaluate_demographics(roots: list[Path], models: EvalModels, min_age: int = 18, pad: float = 0.5,
                          bootstrap: int = 200, progress: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    cal = load_calibration("sface")
    if cal is None:
        raise EvalDataError("no false-match calibration in models/manifest.yaml; run `kiosk eval calibrate` first")
    thresholds = {r: round(cal.threshold_for(r), 4) for r in RATES}
    detector = models.detector(640, 0.75, 0.3, 5000)
    embedder = models.embedder()
    groups: dict[str, list[np.ndarray]] = {}
    skipped = 0
    for root in roots:
        for row in _progress([r for r in load_utkface(root) if r.age >= min_age], progress, Path(root).name):
            image = _pad(read_image(Path(root) / row.path), pad)
            face = central_face(detector.detect(image), image.shape[1], image.shape[0])
            if face is None:
                skipped += 1
                continue
            e = embed_detection(image, face, embedder)
            groups.setdefault(f"{row.race} {row.gender}", []).append(e / max(float(np.linalg.norm(e)), 1e-12))
            wipe(image)
    result: dict[str, Any] = {"dataset": "demographics", "roots": [str(r) for r in roots], "min_age": min_age,
                              "assumption": "each crop is a different person (UTKFace has no identity labels)",
                              "thresholds": {rate_key(r): t for r, t in thresholds.items()},
                              "no_face": skipped, "groups": {}}
    for name in sorted(groups):
        emb = np.stack(groups[name]).astype(np.float32)
        result["groups"][name] = group_fmr(emb, thresholds, bootstrap)
        wipe(emb)
    ratios = {}
    for r in RATES:
        key = rate_key(r)
        rates = {g: v[key]["fmr"] for g, v in result["groups"].items() if v[key]["false_matches"] >= 5}
        if len(rates) >= 2 and min(rates.values()) > 0:
            hi = max(rates, key=rates.get)
            lo = min(rates, key=rates.get)
            ratios[key] = {"highest": hi, "lowest": lo, "ratio": _round(rates[hi] / rates[lo], 2),
                           "note": "groups with at least 5 false-match pairs"}
    result["highest_to_lowest"] = ratios
    result["seconds"] = round(time.perf_counter() - started, 1)
    return result


def add_parser(esub: Any, common: Any) -> None:
    d = esub.add_parser("demographics", help="false-match rate per race x gender group at the slider's rates (UTKFace)")
    d.add_argument("--root", type=Path, action="append", required=True,
                   help="UTKFace folder with labels.csv (repeatable)")
    d.add_argument("--min-age", type=int, default=18, help="only faces labelled at least this old (default 18)")
    d.add_argument("--pad", type=float, default=0.5, help="black border per side before detecting (default 0.5)")
    d.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples (default 200)")
    common(d)


def run(args: argparse.Namespace, models: EvalModels, progress: bool) -> dict[str, Any]:
    return evaluate_demographics(args.root, models, args.min_age, args.pad, args.bootstrap, progress)
