"""``kiosk eval calibrate``: cosine thresholds for SFace false-match rates, from different-person pairs.

A false-match rate (FMR) of 1e-4 needs far more than LFW's 900 different-person pairs: with n
pairs the smallest measurable non-zero rate is 1/n, and a threshold estimated from k exceeding
pairs is only as good as those k. So every image of the LFW folder is embedded once (identity =
its folder name) and *every* pair of images of different identities is scored: 2,320 images of
1,241 people give ~2.7 million pairs. Optional official portraits (identity = the name in
``metadata.csv``) add portrait-vs-LFW pairs, the situation of the watchlist lesson (a camera
picture against official portraits), and portrait-vs-portrait pairs. Identities present in both
sets (same normalised name) are never paired.

Faces are found the way the kiosk finds them: LFW images by the live detector settings (the face
nearest the centre; an image without a detection is skipped, as the kiosk would never embed it),
portraits by :func:`kiosk.track.watchlist.portrait_detector` (largest face).

Per rate r the threshold is the k-th highest impostor score, k = floor(r x n): exactly k pairs
score at or above it. The pairs are not independent (each image is in thousands of them), so
the spread of each threshold is estimated by an **identity bootstrap**: identities are
resampled with replacement, each pair weighted by the product of its two identities' draw
counts, and the weighted threshold recomputed; the 5th-95th percentiles are reported.

The result is stored in ``models/manifest.yaml`` under ``calibration: sface:`` (with
``--write-manifest``) and read by :func:`kiosk.track.fmr_calibration.load_calibration`.

Just over 500 lines: one command, its measurement and the manifest section it writes (the
``Writing models/manifest.yaml`` banner).
"""
from __future__ import annotations

import datetime as _dt
import logging
import math
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.eval.lfw import EmbeddedImages, embed_images
from kiosk.eval.common import EvalDataError, EvalModels, progress_bar, json_round, central_face, read_image
from kiosk import paths
from kiosk.types import SAME_PERSON_COSINE
from kiosk.config.source_spec import IMAGE_SUFFIXES
from kiosk.privacy.policy import wipe
from kiosk.errors import WatchlistError
from kiosk.track.fmr_calibration import rate_key
from kiosk.track.watchlist import embed_detection, largest_face, list_portraits, portrait_detector

log = logging.getLogger(__name__)

#: Rates stored when enough pairs exceed them (at least MIN_EXCEEDING).
RATES: tuple[float, ...] = (1e-1, 1e-2, 1e-3, 1e-4, 1e-5, 1e-6)
MIN_EXCEEDING = 10
#: The tail fit (rates too small to count directly) uses the empirical thresholds from this rate
#: down to the smallest rate with MIN_EXCEEDING pairs.
TAIL_FIT_FROM = 1e-3
TAIL_FIT_POINTS = 12
#: The tail fit stops where fewer than this many pairs exceed the threshold. Below ~50 pairs the
#: LFW tail is dominated by label noise (one person filed under two spellings, near-duplicate
#: news photos): 8 "different-person" pairs score above 0.69, which no fit of the real impostor
#: distribution should follow (see docs/ACCURACY.md).
TAIL_MIN_PAIRS = 50
_SOURCES = ("lfw", "portraits")


def normalise_name(name: str) -> str:
    """Identity key shared by LFW folder names (``Sally_Ride``) and display names ("Sally Ride")."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def lfw_images(lfw_root: Path) -> list[tuple[str, str]]:
    """(path relative to ``lfw_root``, identity) for every image in ``<root>/lfw/<identity>/``.

    ``lfw_root`` may also be the folder of identity folders itself.
    """
    root = Path(lfw_root)
    if not root.is_dir():
        raise EvalDataError(f"{root}: LFW folder not found")
    base = root / "lfw" if (root / "lfw").is_dir() else root
    out = []
    for ident in sorted(p for p in base.iterdir() if p.is_dir()):
        for img in sorted(ident.iterdir()):
            if img.is_file() and img.suffix.lower() in IMAGE_SUFFIXES:
                out.append((img.relative_to(root).as_posix(), ident.name))
    identities = {i for _, i in out}
    if len(identities) < 2:
        raise EvalDataError(f"{base}: expected one folder of images per person (at least 2 people), found {len(identities)}")
    return out


def listed_images(csv_path: Path) -> list[tuple[str, str]]:
    """(path relative to the CSV's folder, identity) from an ``images.csv`` with ``path,person``.

    For extra impostor material such as ``lfw_calib/images.csv`` (LFW people in no verification
    fold).
    """
    path = Path(csv_path)
    if path.is_dir():
        path = path / "images.csv"
    if not path.is_file():
        raise EvalDataError(f"{path}: image list not found; expected a CSV with columns path,person")
    import csv as _csv

    with path.open(newline="", encoding="utf-8") as fh:
        reader = _csv.DictReader(fh)
        if not {"path", "person"} <= set(reader.fieldnames or []):
            raise EvalDataError(f"{path}: expected columns path,person, got {','.join(reader.fieldnames or [])}")
        rows = [(r["path"].strip(), r["person"].strip()) for r in reader if r.get("path") and r.get("person")]
    if not rows:
        raise EvalDataError(f"{path}: no rows")
    return rows


def tail_fit(thresholds: np.ndarray, rates: np.ndarray) -> tuple[float, float]:
    """Least-squares line ``log10(rate) = a + b * threshold`` through empirical tail points.

    Impostor cosine tails of SFace fall close to exponentially over the measured range (a straight
    line in log10(rate) against the threshold: see docs/ACCURACY.md), so the line is extended to
    rates too small to count directly. Returns ``(a, b)`` (b < 0).
    """
    t = np.asarray(thresholds, dtype=np.float64)
    lr = np.log10(np.asarray(rates, dtype=np.float64))
    ok = np.isfinite(t)
    b, a = np.polyfit(t[ok], lr[ok], 1)
    return float(a), float(b)


def _top_pairs(a: np.ndarray, b: np.ndarray, scores: np.ndarray, k: int) -> list[tuple[int, int, float]]:
    return [(int(a[i]), int(b[i]), float(scores[i])) for i in range(min(k, a.size))]


def tail_grid(n: int, min_exceeding: int = MIN_EXCEEDING, start: float = TAIL_FIT_FROM,
              points: int = TAIL_FIT_POINTS) -> tuple[float, ...]:
    """Log-spaced rates from ``start`` down to the smallest rate that ``min_exceeding`` pairs resolve."""
    low = min_exceeding / n
    if low >= start:
        return ()
    return tuple(float(r) for r in np.geomspace(start, low, points))


def thresholds_for_rates(scores_desc: np.ndarray, rates: tuple[float, ...] = RATES) -> dict[float, tuple[float, int]]:
    """rate -> (threshold, k) with k = floor(rate x n) pairs scoring >= threshold.

    ``scores_desc`` must be sorted highest first. Rates with k < 1 are left out.
    """
    n = scores_desc.size
    out = {}
    for r in rates:
        k = math.floor(r * n)
        if k >= 1:
            out[r] = (float(scores_desc[k - 1]), k)
    return out


def _weighted_thresholds(scores_desc: np.ndarray, weights_desc: np.ndarray, rates: tuple[float, ...]) -> list[float]:
    cum = np.cumsum(weights_desc, dtype=np.float64)
    total = cum[-1]
    out = []
    for r in rates:
        # highest-first prefix whose weight stays within r x total
        idx = int(np.searchsorted(cum, r * total, side="right")) - 1
        out.append(float(scores_desc[max(idx, 0)]) if total > 0 else float("nan"))
    return out


def identity_bootstrap(
    scores_desc: np.ndarray, id_a: np.ndarray, id_b: np.ndarray, n_ids: int, rates: tuple[float, ...], resamples: int,
    seed: int = 0, extrapolate: tuple[float, ...] = (), grid: tuple[float, ...] = (),
) -> dict[float, tuple[float, float]]:
    """5th-95th percentile of each rate's threshold over identity resamples (see module docstring).

    ``extrapolate``: rates whose threshold comes from the tail fit (:func:`tail_fit` over the
    thresholds at ``grid``); each resample refits the line, so the interval includes the fit's
    sensitivity to which people happen to be in the tail.
    """
    if resamples <= 0 or not (rates or extrapolate):
        return {}
    rng = np.random.default_rng(seed)
    all_rates = tuple(rates) + tuple(grid)
    draws = np.empty((resamples, len(rates) + len(extrapolate)))
    for b in range(resamples):
        w = np.bincount(rng.integers(0, n_ids, n_ids), minlength=n_ids).astype(np.float32)
        th = _weighted_thresholds(scores_desc, w[id_a] * w[id_b], all_rates)
        draws[b, :len(rates)] = th[:len(rates)]
        if extrapolate:
            a, slope = tail_fit(np.array(th[len(rates):]), np.array(grid))
            draws[b, len(rates):] = [(math.log10(r) - a) / slope for r in extrapolate]
    lo, hi = np.nanpercentile(draws, [5, 95], axis=0)
    keys = tuple(rates) + tuple(extrapolate)
    return {r: (float(lo[i]), float(hi[i])) for i, r in enumerate(keys)}


def _embed_portraits(folder: Path, models: EvalModels, progress: bool) -> tuple[list[np.ndarray], list[str], list[str]]:
    try:
        entries = list_portraits(folder)
    except WatchlistError as exc:
        raise EvalDataError(str(exc)) from None
    detector = portrait_detector(models.session("yunet"))
    embedder = models.embedder()
    rows, names, skipped = [], [], []
    for path, name in progress_bar(entries, progress, "portraits"):
        image = read_image(path)
        face = largest_face(detector.detect(image))
        if face is None:
            skipped.append(path.relative_to(folder).as_posix())
            continue
        rows.append(embed_detection(image, face, embedder))
        names.append(name)
    return rows, names, skipped


def calibrate(
    lfw_root: Path,
    portraits: Path | None,
    models: EvalModels,
    det_score: float = 0.75,
    bootstrap: int = 200,
    progress: bool = False,
    rates: tuple[float, ...] = RATES,
    min_exceeding: int = MIN_EXCEEDING,
    report_thresholds: tuple[float, ...] = (SAME_PERSON_COSINE,),
    extra_lists: Sequence[Path] = (),
) -> dict[str, Any]:
    """Measure thresholds for ``rates``; the JSON-ready result with a ``manifest_section``.

    A rate is *measured* only when at least ``min_exceeding`` impostor pairs score at or above
    its threshold (fewer would make the threshold one or two pairs' noise). Smaller rates are
    *extrapolated*: a straight line in log10(rate) against the threshold is fitted to the
    empirical tail from ``TAIL_FIT_FROM`` down to ``min_exceeding`` pairs (:func:`tail_fit`) and
    extended; the manifest says which rates are extrapolated (``extrapolated``), and the
    identity bootstrap refits the line in every resample for their intervals.

    ``extra_lists``: image lists (``images.csv``: ``path,person``, paths relative to the CSV's
    folder) whose images join the impostor set, e.g. ``lfw_calib/images.csv``.
    """
    # long: one measurement, embeddings to manifest section; its phases share a dozen large arrays (the
    # embeddings are wiped as soon as they are stacked), and a split must be shown to leave a full LFW
    # calibration's output unchanged, which the test data cannot show
    started = time.perf_counter()
    lfw = lfw_images(lfw_root)
    detector = models.detector(8192, det_score, 0.3, 5000)
    embedder = models.embedder()
    # Misses are *skipped* (not embedded from a fallback): the kiosk never embeds an undetected face.
    embedded: EmbeddedImages = embed_images(
        lfw_root, [p for p, _ in lfw], detector, embedder, choose=central_face, progress=progress, desc="lfw"
    )
    missed = set(embedded.failed)
    keys, idents, sources = [], [], []
    rows: list[np.ndarray] = []
    for rel, ident in lfw:
        if rel in missed:
            continue
        rows.append(embedded.embeddings[rel])
        keys.append(rel)
        idents.append(normalise_name(ident))
        sources.append(0)
    extra_info = []
    extra_wipe: list[EmbeddedImages] = []
    for listing in extra_lists:
        listing = Path(listing)
        csv_path = listing / "images.csv" if listing.is_dir() else listing
        items = listed_images(csv_path)
        extra_emb = embed_images(csv_path.parent, [p for p, _ in items], detector, embedder,
                                 choose=central_face, progress=progress, desc=csv_path.parent.name)
        extra_missed = set(extra_emb.failed)
        seen = set(keys)
        added = 0
        for rel, person in items:
            key = f"{csv_path.parent.name}/{rel}"
            if rel in extra_missed or key in seen:
                continue
            rows.append(extra_emb.embeddings[rel])
            keys.append(key)
            idents.append(normalise_name(person))
            sources.append(0)
            added += 1
        extra_wipe.append(extra_emb)  # wiped once the matrix is stacked (the rows are these arrays)
        extra_info.append({"list": str(csv_path), "images": len(items), "embedded": added,
                           "people": len({normalise_name(p) for _, p in items}), "no_face": len(extra_missed)})
    portrait_info: dict[str, Any] | None = None
    shared_names: set[str] = set()
    if portraits is not None:
        p_rows, p_names, p_skipped = _embed_portraits(Path(portraits), models, progress)
        lfw_names = set(idents)
        shared_names = {normalise_name(n) for n in p_names} & lfw_names
        for p_row, name in zip(p_rows, p_names):
            rows.append(p_row)
            keys.append(name)
            idents.append(normalise_name(name))
            sources.append(1)
        portrait_info = {"folder": str(portraits), "embedded": len(p_rows), "skipped_no_face": p_skipped,
                         "people": len({normalise_name(n) for n in p_names}),
                         "names_also_in_lfw": sorted(shared_names)}

    emb = np.stack(rows).astype(np.float32)
    embedded.wipe()
    for extra in extra_wipe:
        extra.wipe()
    id_names = sorted(set(idents))
    id_index = {n: i for i, n in enumerate(id_names)}
    ids = np.array([id_index[n] for n in idents], np.int32)
    src = np.array(sources, np.int8)

    sim = emb @ emb.T
    wipe(emb)
    # The watchlist lesson directly: each LFW image as a visitor searched against all portraits
    # (never against a portrait of the same name); its best score decides whether it "matches".
    probe_best = None
    if (src == 1).any():
        block = sim[np.ix_(src == 0, src == 1)].copy()
        block[ids[src == 0][:, None] == ids[src == 1][None, :]] = -1.0
        probe_best = block.max(axis=1)
        del block
    iu, ju = np.triu_indices(len(ids), k=1)
    s = sim[iu, ju]
    del sim
    different = ids[iu] != ids[ju]
    genuine = s[~different & (src[iu] == 0) & (src[ju] == 0)]
    imp_a, imp_b, imp_s = iu[different], ju[different], s[different]
    subset = (src[imp_a] + src[imp_b]).astype(np.int8)  # 0 lfw-lfw, 1 lfw-portrait, 2 portrait-portrait
    del iu, ju, s, different

    order = np.argsort(-imp_s, kind="stable")
    scores_desc = imp_s[order]
    imp_a_desc, imp_b_desc = imp_a[order[:64]], imp_b[order[:64]]
    a_desc, b_desc = ids[imp_a[order]], ids[imp_b[order]]
    subset_desc = subset[order]
    n = scores_desc.size
    empirical = thresholds_for_rates(scores_desc, rates)
    pooled = {r: v for r, v in empirical.items() if v[1] >= min_exceeding}
    extrapolate = tuple(r for r in rates if r not in pooled and r < min(pooled, default=1.0))
    grid = tail_grid(n, max(min_exceeding, TAIL_MIN_PAIRS)) if extrapolate else ()
    fitted: dict[float, float] = {}
    tail: dict[str, Any] | None = None
    if extrapolate and len(grid) >= 3:
        grid_t = np.array([t for t, _k in thresholds_for_rates(scores_desc, grid).values()])
        a, slope = tail_fit(grid_t, np.array(grid))
        fitted = {r: (math.log10(r) - a) / slope for r in extrapolate}
        resid = np.log10(np.array(grid)) - (a + slope * grid_t)
        tail = {
            "method": ("least-squares line log10(FMR) = a + b * threshold through the empirical thresholds at "
                       f"{len(grid)} log-spaced rates from {grid[0]:.0e} to {grid[-1]:.1e} "
                       f"({max(min_exceeding, TAIL_MIN_PAIRS)} pairs), extended to smaller rates"),
            "a": json_round(a, 4), "b_per_cosine": json_round(slope, 3),
            "max_abs_residual_decades": json_round(float(np.abs(resid).max()), 3),
            "measured_down_to": float(f"{grid[-1]:.3g}"),
            "top_impostor_pairs": [
                [keys[i], keys[j], json_round(float(v))] for i, j, v in _top_pairs(imp_a_desc, imp_b_desc, scores_desc, 15)],
            "empirical": {rate_key(r): {"threshold": json_round(empirical[r][0]), "exceeding_pairs": empirical[r][1]}
                          for r in extrapolate if r in empirical},
        }
    else:
        extrapolate = ()
    ci = identity_bootstrap(scores_desc, a_desc, b_desc, len(id_names), tuple(pooled), bootstrap,
                            extrapolate=tuple(fitted), grid=grid if fitted else ())

    subset_names = ("lfw_vs_lfw", "lfw_vs_portraits", "portraits_vs_portraits")
    per_rate = {}
    for r, (t, k) in pooled.items():
        above = scores_desc >= t
        row: dict[str, Any] = {
            "threshold": json_round(t),
            "exceeding_pairs": int(above.sum()),
            "identities_in_exceeding_pairs": int(np.unique(np.concatenate((a_desc[above], b_desc[above]))).size),
            "ci90_identity_bootstrap": [json_round(ci[r][0]), json_round(ci[r][1])] if r in ci else None,
            "tar_lfw_same_person_pairs": json_round(float(np.mean(genuine >= t))) if genuine.size else None,
            "observed_fmr_by_subset": {},
        }
        if probe_best is not None:
            row["lfw_probes_with_a_false_portrait_match"] = json_round(float(np.mean(probe_best >= t)))
        for code, name in enumerate(subset_names):
            m = subset_desc == code
            if m.any():
                row["observed_fmr_by_subset"][name] = {
                    "pairs": int(m.sum()), "exceeding": int((above & m).sum()),
                    "fmr": json_round(float((above & m).sum() / m.sum()), 7),
                }
        per_rate[rate_key(r)] = row
    for r, t in fitted.items():
        above = scores_desc >= t
        per_rate[rate_key(r)] = {
            "threshold": json_round(t), "extrapolated": True,
            "exceeding_pairs": int(above.sum()),
            "ci90_identity_bootstrap": [json_round(ci[r][0]), json_round(ci[r][1])] if r in ci else None,
            "tar_lfw_same_person_pairs": json_round(float(np.mean(genuine >= t))) if genuine.size else None,
        }

    subset_names_all = subset_names
    at_thresholds = {}
    for t in report_thresholds:
        above = scores_desc >= t
        entry: dict[str, Any] = {"exceeding_pairs": int(above.sum()), "fmr": json_round(float(above.mean()), 7)}
        for code, name in enumerate(subset_names_all):
            m = subset_desc == code
            if m.any():
                entry[f"fmr_{name}"] = json_round(float((above & m).sum() / m.sum()), 7)
        if genuine.size:
            entry["tar_lfw_same_person_pairs"] = json_round(float(np.mean(genuine >= t)))
        if probe_best is not None:
            entry["lfw_probes_with_a_false_portrait_match"] = json_round(float(np.mean(probe_best >= t)))
        at_thresholds[f"{t:g}"] = entry

    by_subset = {}
    for code, name in enumerate(subset_names):
        m = subset_desc == code
        if not m.any():
            continue
        th = thresholds_for_rates(scores_desc[m], rates)
        by_subset[name] = {
            "pairs": int(m.sum()),
            "thresholds": {rate_key(r): {"threshold": json_round(t), "exceeding_pairs": k} for r, (t, k) in th.items()},
            "max_score": json_round(float(scores_desc[m][0])),
        }

    n_lfw_ids = len({i for i, s_ in zip(idents, sources) if s_ == 0})
    data = (
        f"SFace cosines of all {n:,} different-identity pairs among {len(keys):,} face images: "
        f"{sum(1 for s_ in sources if s_ == 0):,} LFW images of {n_lfw_ids:,} people "
        f"({len(lfw) - len(missed):,} from {Path(lfw_root).name}"
        + "".join(f", {i['embedded']:,} of {i['people']:,} people from {Path(i['list']).parent.name}"
                  for i in extra_info)
        + f"; {len(missed) + sum(i['no_face'] for i in extra_info)} skipped: no face at detector score {det_score})"
    )
    if portrait_info:
        data += (f" and {portrait_info['embedded']} official portraits of {portrait_info['people']} people "
                 f"(pairs between the same name in both sets excluded: {len(shared_names)} names)")
    command = (f"kiosk eval calibrate --lfw-root {lfw_root}"
               + "".join(f" --extra-impostors {Path(x)}" for x in extra_lists)
               + (f" --portraits {portraits}" if portraits else ""))
    thresholds_all = {rate_key(r): json_round(t) for r, (t, _k) in pooled.items()}
    thresholds_all.update({rate_key(r): json_round(t) for r, t in fitted.items()})
    section = {
        "fmr_thresholds": thresholds_all,
        "impostor_pairs": int(n),
        "exceeding_pairs": {rate_key(r): k for r, (_t, k) in pooled.items()},
        "ci90": {rate_key(r): [json_round(ci[r][0]), json_round(ci[r][1])] for r in ci},
        "data": data,
        **({"extrapolated": {rate_key(r): "tail fit" for r in fitted},
            "measured_down_to": tail["measured_down_to"],
            "tail_fit": tail["method"]} if tail else {}),
        "command": command + " --write-manifest",
        "measured": _dt.date.today().isoformat(),
    }
    return {
        "dataset": "calibration",
        "lfw_root": str(lfw_root),
        "lfw_images": len(lfw),
        "lfw_people": len({i for _, i in lfw}),
        "lfw_no_face": len(missed),
        "portraits": portrait_info,
        "extra_impostors": extra_info,
        "tail_fit": tail,
        "impostor_pairs": int(n),
        "same_person_pairs_lfw": int(genuine.size),
        "detector_score": det_score,
        "bootstrap_resamples": bootstrap,
        "rates": per_rate,
        "at_thresholds": at_thresholds,
        "by_subset": by_subset,
        "impostor_scores": {
            "max": json_round(float(scores_desc[0])),
            "median": json_round(float(scores_desc[n // 2])),
        },
        "manifest_section": section,
        "seconds": round(time.perf_counter() - started, 1),
    }


# --------------------------------------------------------------------------------------------
# Writing models/manifest.yaml
# --------------------------------------------------------------------------------------------


def _yaml_scalar(value: Any) -> str:
    import yaml

    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def render_section(section: dict[str, Any], model: str = "sface") -> str:
    """The ``calibration:`` block as YAML text (flow-style maps keep it short and diff-friendly)."""
    lines = [
        "# False-match calibration (kiosk/eval/calibrate.py, read by kiosk/track/watchlist.py): cosine thresholds",
        "# at which a fraction <rate> of different-person pairs score >= threshold. Re-measure with `command`.",
        "calibration:",
        f"  {model}:",
    ]
    for key, value in section.items():
        if isinstance(value, dict):
            inner = ", ".join(f'"{k}": {_yaml_scalar(v)}' for k, v in value.items())
            lines.append(f"    {key}: {{{inner}}}")
        else:
            lines.append(f"    {key}: {_yaml_scalar(value)}")
    return "\n".join(lines) + "\n"


def write_manifest_calibration(result: dict[str, Any], manifest: Path | None = None, model: str = "sface") -> Path:
    """Replace (or append) the top-level ``calibration:`` block of the models manifest.

    Text-level edit so the rest of the file (its comments and layout) stays byte-identical: the
    old block runs from its ``calibration:`` line (and the comment lines directly above it)
    to the next top-level key.
    """
    path = Path(manifest) if manifest is not None else paths.MODELS_MANIFEST
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.splitlines(keepends=True)
    start = next((i for i, ln in enumerate(lines) if re.match(r"^calibration:\s*(#.*)?$", ln)), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if re.match(r"^[A-Za-z_]", lines[i])), len(lines))
        while start > 0 and lines[start - 1].startswith("#"):
            start -= 1
        lines = lines[:start] + lines[end:]
    body = "".join(lines).rstrip("\n")
    new = (body + "\n\n" if body else "") + render_section(result["manifest_section"], model)
    path.write_text(new, encoding="utf-8")
    # The loader caches per process; a fresh read must see the new values.
    from kiosk.track.fmr_calibration import _load_calibration_cached

    _load_calibration_cached.cache_clear()
    return path
