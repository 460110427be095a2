"""``kiosk eval watchlist``: 1:N search accuracy of a watchlist, in the terms NIST uses (NISTIR 8271).

An operator runs it on their own watchlist before opening::

    kiosk eval watchlist --gallery DIR --probes probes.csv [--threshold 0.363] [--visitors-per-day 500] [--json]

- **Gallery** ``DIR``: one or more images per person; the person is the sub-folder's name
  (``DIR/Ada_Lovelace/1.jpg``) or, for images directly in ``DIR``, the file's stem. Each image is
  embedded the way the kiosk embeds a portrait (largest face, ``kiosk.watchlist_load``: bad
  files skipped with their reason). A person's score for a search is their best image's score.
- **Probes** ``probes.csv``: ``path,person`` (paths relative to the CSV's folder or absolute);
  ``person`` empty for someone who is not on the watchlist (a *non-mated* search), else the
  gallery person it shows (a *mated* search). Each probe is embedded from its largest face.

Reported (rates as fractions):

- ``rank1_hit_rate``: mated searches whose best-scoring gallery person is the right one, at any
  score (NIST's rank-1 identification rate with no threshold);
- ``at_threshold``: at the operator's threshold T, ``fnir`` = mated searches whose mate is not the
  rank-1 candidate at a score >= T (a missed hit), ``fpir`` = non-mated searches with any
  candidate at >= T (a false alarm), and ``expected_false_alarms_per_day`` = FPIR x visitors
  per day (every visitor is a non-mated search: visitors are not on the watchlist);
- ``at_fpir_0.01`` / ``at_fpir_0.001``: the threshold at which FPIR is 1 % / 0.1 % (from the
  non-mated searches' top scores) and FNIR there. A rate p needs at least 1/p non-mated
  searches to be resolved; with fewer, ``resolved`` is false and the figures are bounds only.

Rank-1 is used for FNIR because the lesson shows the best candidate first; NIST also reports
FNIR at larger ranks for investigative use. Human-readable text by default, JSON with ``--json``.
"""
from __future__ import annotations

import argparse
import csv
import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.eval.common import EvalDataError, EvalModels, json_round as _round
from kiosk.privacy.policy import wipe
from kiosk.track.watchlist import IMAGE_SUFFIXES, embed_detection, largest_face, portrait_detector
from kiosk.track.watchlist_load import read_portrait

log = logging.getLogger(__name__)

FPIR_TARGETS = (0.01, 0.001)
DEFAULT_VISITORS_PER_DAY = 500


@dataclass
class Embedded:
    embeddings: np.ndarray  # (n, D) unit rows
    labels: list[str]
    paths: list[str]
    skipped: list[tuple[str, str]]


def gallery_images(folder: Path) -> list[tuple[Path, str]]:
    """(image, person) for every image: person = sub-folder name, or file stem at the top level."""
    folder = Path(folder)
    if not folder.is_dir():
        raise EvalDataError(f"{folder}: gallery folder not found; give a folder of images (one person per "
                            "sub-folder, or one image per person named after them)")
    out = []
    for p in sorted(folder.rglob("*")):
        if p.suffix.lower() not in IMAGE_SUFFIXES or not p.is_file():
            continue
        rel = p.relative_to(folder)
        person = rel.parts[0] if len(rel.parts) > 1 else p.stem
        out.append((p, person))
    if not out:
        raise EvalDataError(f"{folder}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in it or its sub-folders")
    return out


def read_probes(csv_path: Path) -> list[tuple[Path, str]]:
    path = Path(csv_path)
    if not path.is_file():
        raise EvalDataError(f"{path}: probe list not found; expected a CSV with columns path,person")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        if not {"path", "person"} <= set(reader.fieldnames or []):
            raise EvalDataError(f"{path}: expected columns path,person, got {','.join(reader.fieldnames or [])}")
        rows = []
        for line, r in enumerate(reader, start=2):
            rel = (r.get("path") or "").strip()
            if not rel:
                raise EvalDataError(f"{path}:{line}: empty path")
            p = Path(rel)
            rows.append((p if p.is_absolute() else path.parent / p, (r.get("person") or "").strip()))
    if not rows:
        raise EvalDataError(f"{path}: no probes")
    return rows


def embed_all(items: list[tuple[Path, str]], detector: Any, embedder: Any, progress: bool, desc: str) -> Embedded:
    from kiosk.eval.common import progress_bar as _progress

    rows, labels, paths, skipped = [], [], [], []
    for path, label in _progress(items, progress, desc):
        image, _data, reason = read_portrait(path)
        if image is None:
            skipped.append((str(path), reason or "not a readable image"))
            log.warning("%s %s skipped: %s", desc, path, reason)
            continue
        try:
            face = largest_face(detector.detect(image))
            if face is None:
                skipped.append((str(path), "no face found"))
                log.warning("%s %s skipped: no face found", desc, path)
                continue
            e = embed_detection(image, face, embedder)
            rows.append(e / max(float(np.linalg.norm(e)), 1e-12))
            labels.append(label)
            paths.append(str(path))
        finally:
            wipe(image)
    emb = np.stack(rows).astype(np.float32) if rows else np.zeros((0, 128), np.float32)
    return Embedded(emb, labels, paths, skipped)


def search_scores(gallery: Embedded, probes: Embedded) -> tuple[np.ndarray, list[str]]:
    """(n_probes, n_people) best score per gallery person, and the people in column order."""
    people = sorted(set(gallery.labels))
    col = {p: i for i, p in enumerate(people)}
    sim = probes.embeddings @ gallery.embeddings.T
    out = np.full((sim.shape[0], len(people)), -np.inf, np.float32)
    for j, label in enumerate(gallery.labels):
        c = col[label]
        np.maximum(out[:, c], sim[:, j], out=out[:, c])
    return out, people


def metrics(scores: np.ndarray, people: list[str], probe_labels: list[str], threshold: float,
            visitors_per_day: int) -> dict[str, Any]:
    """NIST 1:N figures from a (probes x people) score matrix; see the module docstring."""
    labels = np.array(probe_labels, dtype=object)
    mated = labels != ""
    known = set(people)
    unknown_mates = sorted({str(x) for x in labels[mated]} - known)
    if unknown_mates:
        raise EvalDataError(f"probe person(s) not in the gallery: {', '.join(unknown_mates[:5])}"
                            f"{' ...' if len(unknown_mates) > 5 else ''} (leave person empty for someone not on the list)")
    top = scores.argmax(axis=1) if scores.size else np.zeros(0, int)
    top_score = scores.max(axis=1) if scores.size else np.zeros(0)
    col = {p: i for i, p in enumerate(people)}
    mate_col = np.array([col[str(x)] if x else -1 for x in labels])
    m_idx = np.flatnonzero(mated)
    n_idx = np.flatnonzero(~mated)
    hit1 = top[m_idx] == mate_col[m_idx]
    mate_score = scores[m_idx, mate_col[m_idx]] if m_idx.size else np.zeros(0)
    nm_top = np.sort(top_score[n_idx])[::-1]

    def fnir(t: float) -> float | None:
        return float(np.mean(~(hit1 & (mate_score >= t)))) if m_idx.size else None

    def fpir(t: float) -> float | None:
        return float(np.mean(nm_top >= t)) if n_idx.size else None

    out: dict[str, Any] = {
        "gallery_people": len(people),
        "mated_searches": int(m_idx.size),
        "nonmated_searches": int(n_idx.size),
        "rank1_hit_rate": _round(float(hit1.mean()), 4) if m_idx.size else None,
        "at_threshold": {
            "threshold": threshold,
            "fnir": _round(fnir(threshold), 4),
            "fpir": _round(fpir(threshold), 4),
            "visitors_per_day": visitors_per_day,
            "expected_false_alarms_per_day": (_round(fpir(threshold) * visitors_per_day, 1)
                                              if n_idx.size else None),
        },
    }
    for p in FPIR_TARGETS:
        key = f"at_fpir_{p:g}"
        if not n_idx.size:
            out[key] = None
            continue
        # The lowest threshold (on the 4-decimal grid it is reported on) whose FPIR stays <= p:
        # just above the (floor(p*n)+1)-th highest non-mated top score.
        k = math.floor(p * n_idx.size)
        t = (math.floor(float(nm_top[k]) * 1e4) + 1) / 1e4 if k < nm_top.size else float(nm_top[-1])
        out[key] = {"threshold": _round(t, 4), "fnir": _round(fnir(t), 4), "fpir": _round(fpir(t), 4),
                    "resolved": n_idx.size >= math.ceil(1 / p)}
    return out


def evaluate_watchlist(gallery_dir: Path, probes_csv: Path, models: EvalModels, threshold: float,
                       visitors_per_day: int = DEFAULT_VISITORS_PER_DAY, progress: bool = False) -> dict[str, Any]:
    started = time.perf_counter()
    g_items = gallery_images(gallery_dir)
    p_items = read_probes(probes_csv)
    detector = portrait_detector(models.session("yunet"))
    embedder = models.embedder()
    gallery = embed_all(g_items, detector, embedder, progress, "gallery")
    if not gallery.labels:
        raise EvalDataError(f"{gallery_dir}: no face found in any gallery image")
    probes = embed_all(p_items, detector, embedder, progress, "probes")
    scores, people = search_scores(gallery, probes)
    result = {
        "dataset": "watchlist",
        "gallery": str(gallery_dir),
        "probes": str(probes_csv),
        "gallery_images": len(gallery.labels),
        "skipped": {"gallery": [f"{p}: {why}" for p, why in gallery.skipped],
                    "probes": len(probes.skipped)},
        **metrics(scores, people, probes.labels, threshold, visitors_per_day),
        "seconds": round(time.perf_counter() - started, 1),
    }
    wipe(gallery.embeddings)
    wipe(probes.embeddings)
    return result


def add_parser(esub: Any, common: Any) -> None:
    wl = esub.add_parser("watchlist", help="1:N search of a probe list against a gallery folder (NIST terms)")
    wl.add_argument("--gallery", type=Path, required=True,
                    help="folder: one sub-folder per person, or one image per person named after them")
    wl.add_argument("--probes", type=Path, required=True,
                    help="CSV path,person (person empty: not on the list); paths relative to the CSV")
    wl.add_argument("--threshold", type=float, default=None,
                    help="cosine threshold (default: watchlist.threshold of --config, else 0.363)")
    wl.add_argument("--config", type=Path, default=None, help="kiosk config whose watchlist.threshold to use")
    wl.add_argument("--visitors-per-day", type=int, default=DEFAULT_VISITORS_PER_DAY,
                    help=f"visitors a day, for the expected false alarms (default {DEFAULT_VISITORS_PER_DAY})")
    wl.add_argument("--json", action="store_true", help="print JSON (default: a short text summary)")
    common(wl)


def run(args: argparse.Namespace, models: EvalModels, progress: bool) -> dict[str, Any]:
    threshold = args.threshold
    if threshold is None:
        from kiosk.config import load_config

        threshold = float(load_config(args.config).watchlist.threshold)
    if not -1.0 <= threshold <= 1.0:
        raise EvalDataError(f"--threshold must be a cosine in -1..1, got {threshold}")
    if args.visitors_per_day < 0:
        raise EvalDataError(f"--visitors-per-day must be >= 0, got {args.visitors_per_day}")
    return evaluate_watchlist(args.gallery, args.probes, models, threshold, args.visitors_per_day, progress)


def summary(r: dict[str, Any]) -> str:
    """The human-readable report (``--json`` prints the dict instead)."""
    def pct(v: float | None) -> str:
        return "n/a" if v is None else f"{100 * v:.1f} %"

    at = r["at_threshold"]
    lines = [
        f"gallery: {r['gallery_people']} people ({r['gallery_images']} images); searches: "
        f"{r['mated_searches']} mated, {r['nonmated_searches']} non-mated",
        f"rank-1 hit rate: {pct(r['rank1_hit_rate'])}",
        f"at threshold {at['threshold']:g}: FNIR {pct(at['fnir'])} (mates missed), FPIR {pct(at['fpir'])} "
        f"(strangers matched); {at['visitors_per_day']} visitors a day -> about "
        f"{at['expected_false_alarms_per_day']} false alarms a day",
    ]
    for p in FPIR_TARGETS:
        e = r.get(f"at_fpir_{p:g}")
        if e:
            note = "" if e["resolved"] else f" (not resolved: fewer than {math.ceil(1 / p):,} non-mated searches)"
            lines.append(f"at FPIR {100 * p:g} %: threshold {e['threshold']:g}, FNIR {pct(e['fnir'])}{note}")
    if r["skipped"]["gallery"] or r["skipped"]["probes"]:
        lines.append(f"skipped: {len(r['skipped']['gallery'])} gallery image(s), {r['skipped']['probes']} probe(s)")
    return "\n".join(lines)
