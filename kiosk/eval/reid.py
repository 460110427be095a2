"""``kiosk eval reid``: does the kiosk recognise a returning visitor, and only them? Measured on video.

The kiosk's own pipeline (config defaults or ``--config``) runs over every frame of a video
(lossless replay: the capture thread hands over each frame, stamped ``index / fps``, exactly as
``kiosk run --source file:V`` with ``camera.realtime: false``). Each snapshot's faces are recorded
(track id, box, the visitor id and "welcome back" the screen would show); nothing else leaves the
pipeline (no embedding, no image).

Ground truth, one of:

* ``--truth T.csv`` (``person,visit,start_s,end_s,x,y,w,h``; one row per visit, the face box at
  the visit's middle): a track belongs to the visit whose time span contains most of its frames
  with a box overlapping the truth box (IoU >= ``--min-iou``). Visits are numbered per person in
  time order; visit 0 is a first visit, the others are returns.
* ``--refs A.png B.png``: reference photos of the people in the video (file stem = person,
  without a ``ref_`` prefix). The evaluation itself, outside the kiosk, embeds every third frame
  of each track with the same SFace model and labels that frame with the reference person of the
  highest cosine if it is >= ``--ref-threshold`` (else unknown: someone else, or too turned to
  tell). Frames rather than tracks are labelled because in edited video a track can run across a
  cut onto another person. Only ids per person and persons per id are reported (no visit truth).

Figures (truth mode):

* ``returns_recognised`` / ``returns``: a return visit whose track ends showing "Welcome back"
  with the id the person had before (an id their earlier visit ended with).
* ``false_welcome_backs`` / ``first_visits``: a first visit that was shown, at any frame, an id
  that an earlier visit of someone else ended with, or "Welcome back".
* ``ids_per_person``: mean over people of the number of distinct ids their tracks *ended* with
  (the counters' view; a track that was merged ends with the merged id).
  ``ids_shown_per_person``: the same over every id *shown* at any frame (the visitor's view).
* ``persons_per_id``: mean over ids of the number of people whose tracks ended with it.
* ``welcome_back_latency_s``: for recognised returns, first detection of the face to the first
  frame showing "Welcome back" (pipeline clock).
"""
from __future__ import annotations

import argparse
import csv
import logging
import math
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kiosk.errors import KioskError

log = logging.getLogger(__name__)

TRUTH_FIELDS = ("person", "visit", "start_s", "end_s", "x", "y", "w", "h")
#: Every n-th frame of each track is embedded to label it against reference photos.
REF_EVERY = 3


class ReidEvalError(KioskError):
    """Bad evaluation input (missing video, malformed truth file); exit code 2."""

    exit_code = 2


@dataclass(frozen=True, slots=True)
class TruthVisit:
    person: str
    visit: int  # 0-based, in time order per person
    start_s: float
    end_s: float
    box_xyxy: tuple[float, float, float, float]


@dataclass(slots=True)
class TrackRecord:
    """What the screen showed about one track, frame by frame (ids and flags only)."""

    track_id: int
    t_s: list[float] = field(default_factory=list)
    frame_index: list[int] = field(default_factory=list)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    landmarks: list[tuple[tuple[float, float], ...]] = field(default_factory=list)
    visitor_ids: list[int | None] = field(default_factory=list)
    is_return: list[bool] = field(default_factory=list)
    tentative: list[int | None] = field(default_factory=list)

    @property
    def final_id(self) -> int | None:
        for vid in reversed(self.visitor_ids):
            if vid is not None:
                return vid
        return None

    @property
    def shown_ids(self) -> set[int]:
        return {v for v in self.visitor_ids if v is not None}


def load_truth(path: Path) -> list[TruthVisit]:
    """Visits from ``truth.csv``; visit numbers are re-derived from time order per person."""
    if not path.is_file():
        raise ReidEvalError(f"{path}: no such truth file (expected CSV with {','.join(TRUTH_FIELDS)})")
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = [f for f in TRUTH_FIELDS if f not in (reader.fieldnames or [])]
        if missing:
            raise ReidEvalError(f"{path}: missing column(s) {', '.join(missing)}; "
                                f"expected header {','.join(TRUTH_FIELDS)}")
        rows = []
        for line, row in enumerate(reader, start=2):
            try:
                x, y, w, h = (float(row[k]) for k in ("x", "y", "w", "h"))
                rows.append((row["person"], float(row["start_s"]), float(row["end_s"]), (x, y, x + w, y + h)))
            except (TypeError, ValueError):
                raise ReidEvalError(f"{path}:{line}: expected numbers in start_s,end_s,x,y,w,h, got {row}") from None
    rows.sort(key=lambda r: r[1])
    count: dict[str, int] = defaultdict(int)
    visits = []
    for person, start, end, box in rows:
        visits.append(TruthVisit(person, count[person], start, end, box))
        count[person] += 1
    return visits


def _iou(a: Sequence[float], b: Sequence[float]) -> float:
    iw = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    ih = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def assign_tracks(tracks: Sequence[TrackRecord], visits: Sequence[TruthVisit], min_iou: float,
                  slack_s: float = 0.5) -> dict[int, int]:
    """track id -> index into ``visits``: the visit with most frames in its time span overlapping its box."""
    out: dict[int, int] = {}
    for tr in tracks:
        votes: dict[int, int] = defaultdict(int)
        for t, box in zip(tr.t_s, tr.boxes):
            for vi, v in enumerate(visits):
                if v.start_s - slack_s <= t <= v.end_s + slack_s and _iou(box, v.box_xyxy) >= min_iou:
                    votes[vi] += 1
        if votes:
            out[tr.track_id] = max(votes, key=votes.__getitem__)
    return out


def percentiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"n": 0, "p50": None, "p90": None, "max": None, "mean": None}
    a = np.asarray(values, dtype=np.float64)
    return {"n": int(len(a)), "p50": round(float(np.percentile(a, 50)), 3),
            "p90": round(float(np.percentile(a, 90)), 3), "max": round(float(a.max()), 3),
            "mean": round(float(a.mean()), 3)}


def _ratio(num: int, den: int) -> float | None:
    return round(num / den, 4) if den else None


def _per_person_ids(person_tracks: dict[str, list[TrackRecord]]) -> tuple[dict[str, list[int]], dict[str, list[int]]]:
    final = {p: sorted({t.final_id for t in trs if t.final_id is not None}) for p, trs in person_tracks.items()}
    shown = {p: sorted(set().union(*(t.shown_ids for t in trs))) if trs else [] for p, trs in person_tracks.items()}
    return final, shown


def _id_figures(person_tracks: dict[str, list[TrackRecord]]) -> dict[str, Any]:
    final, shown = _per_person_ids(person_tracks)
    people = [p for p in final if final[p]]
    persons_of: dict[int, set[str]] = defaultdict(set)
    for p, ids in final.items():
        for vid in ids:
            persons_of[vid].add(p)
    split = sorted(p for p in people if len(final[p]) > 1)
    merged = sorted(vid for vid, ps in persons_of.items() if len(ps) > 1)
    return {
        "persons": len(people),
        "ids": len(persons_of),
        "ids_per_person": round(float(np.mean([len(final[p]) for p in people])), 4) if people else None,
        "ids_shown_per_person": round(float(np.mean([len(shown[p]) for p in people])), 4) if people else None,
        "persons_per_id": round(float(np.mean([len(ps) for ps in persons_of.values()])), 4) if persons_of else None,
        "split_persons": split,
        "merged_ids": merged,
        "ids_by_person": {p: final[p] for p in sorted(final)},
    }


def score_truth(tracks: Sequence[TrackRecord], visits: Sequence[TruthVisit], min_iou: float) -> dict[str, Any]:
    """All figures of truth mode from the recorded tracks (pure: unit-tested without models)."""
    assignment = assign_tracks(tracks, visits, min_iou)
    by_visit: dict[int, list[TrackRecord]] = defaultdict(list)
    for tr in tracks:
        if tr.track_id in assignment:
            by_visit[assignment[tr.track_id]].append(tr)
    unassigned = [tr.track_id for tr in tracks if tr.track_id not in assignment]

    # ids each visit ended with, in time order: what "someone else's id" means for a later visit.
    ended_ids: list[tuple[float, str, set[int]]] = []
    for vi, v in enumerate(visits):
        ids = {t.final_id for t in by_visit.get(vi, []) if t.final_id is not None}
        ended_ids.append((v.end_s, v.person, ids))

    returns = recognised = first_visits = false_wb = missed_visits = 0
    latencies: list[float] = []
    per_visit: list[dict[str, Any]] = []
    for vi, v in enumerate(visits):
        trs = sorted(by_visit.get(vi, []), key=lambda t: t.t_s[0])
        if not trs:
            missed_visits += 1
        first_t = trs[0].t_s[0] if trs else None
        earlier_own: set[int] = set()
        earlier_other: set[int] = set()
        for end_s, person, ids in ended_ids:
            if end_s < v.start_s:
                (earlier_own if person == v.person else earlier_other).update(ids)
        record: dict[str, Any] = {"person": v.person, "visit": v.visit, "start_s": v.start_s,
                                  "tracks": [t.track_id for t in trs],
                                  "ids_shown": sorted(set().union(*(t.shown_ids for t in trs))) if trs else [],
                                  "final_ids": sorted({t.final_id for t in trs if t.final_id is not None})}
        if v.visit == 0:
            first_visits += 1
            wrong = any(
                (vid is not None and vid in earlier_other) or ret
                for t in trs for vid, ret in zip(t.visitor_ids, t.is_return))
            false_wb += int(wrong)
            record["false_welcome_back"] = wrong
        else:
            returns += 1
            ok = False
            latency = None
            if trs:
                last = trs[-1]
                ok = (last.final_id in earlier_own
                      and any(r for vid, r in zip(last.visitor_ids, last.is_return) if vid == last.final_id))
                if ok:
                    for t in trs:
                        hit = next((ts for ts, vid, r in zip(t.t_s, t.visitor_ids, t.is_return)
                                    if r and vid in earlier_own), None)
                        if hit is not None:
                            latency = hit - first_t  # type: ignore[operator]
                            break
            recognised += int(ok)
            if latency is not None:
                latencies.append(latency)
            record["recognised"] = ok
            record["latency_s"] = None if latency is None else round(latency, 3)
        per_visit.append(record)

    person_tracks: dict[str, list[TrackRecord]] = defaultdict(list)
    for vi, v in enumerate(visits):
        person_tracks[v.person].extend(by_visit.get(vi, []))
    ids = _id_figures(person_tracks)
    return {
        "returns": returns,
        "returns_recognised": recognised,
        "returns_recognised_rate": _ratio(recognised, returns),
        "first_visits": first_visits,
        "false_welcome_backs": false_wb,
        "false_welcome_back_rate": _ratio(false_wb, first_visits),
        **{k: ids[k] for k in ("ids_per_person", "ids_shown_per_person", "persons_per_id", "persons", "ids",
                               "split_persons", "merged_ids", "ids_by_person")},
        "welcome_back_latency_s": percentiles(latencies),
        "visits_without_track": missed_visits,
        "tracks": len(tracks),
        "tracks_unassigned": len(unassigned),
        "visits": per_visit,
    }


def score_refs(tracks: Sequence[TrackRecord], labels: dict[tuple[int, int], str | None]) -> dict[str, Any]:
    """Ids per person and persons per id from sampled frames labelled against reference photos.

    ``labels`` maps (track id, frame index) to a person or None. Frames, not whole tracks, are
    labelled because a track may run across a cut in edited video (then it shows one id on two
    people, which persons per id counts). The id of a sampled frame is the one shown then; a
    person's ids are those shown on their frames once the track was identified.
    """
    person_tracks: dict[str, list[TrackRecord]] = defaultdict(list)
    unknown = 0
    frames_by_person: dict[str, int] = defaultdict(int)
    id_on_unknown: dict[int, int] = defaultdict(int)
    for tr in tracks:
        pieces: dict[str, TrackRecord] = {}
        for k, fi in enumerate(tr.frame_index):
            if (tr.track_id, fi) not in labels:
                continue
            label = labels[(tr.track_id, fi)]
            if label is None:
                unknown += 1
                if tr.visitor_ids[k] is not None:
                    id_on_unknown[tr.visitor_ids[k]] += 1
                continue
            frames_by_person[label] += 1
            piece = pieces.setdefault(label, TrackRecord(tr.track_id))
            piece.t_s.append(tr.t_s[k])
            piece.frame_index.append(fi)
            piece.boxes.append(tr.boxes[k])
            piece.visitor_ids.append(tr.visitor_ids[k])
            piece.is_return.append(tr.is_return[k])
        for label, piece in pieces.items():
            person_tracks[label].append(piece)
    ids = _id_figures(person_tracks)
    # An id shown on a frame that is none of the reference people: someone else wearing it (a
    # track carried across a cut) or the person too turned to tell.
    return {**ids, "tracks": len(tracks), "frames_unlabelled": unknown,
            "ids_on_unlabelled_frames": {str(k): v for k, v in sorted(id_on_unknown.items())},
            "frames_by_person": dict(sorted(frames_by_person.items())),
            "tracks_by_person": {p: len(t) for p, t in sorted(person_tracks.items())}}


# -- running the pipeline -------------------------------------------------------------------------

def record_video(video: Path, config: Path | None, models_dir: Path | None = None,
                 slow_factor: float = 1.0, realtime: bool = False) -> tuple[list[TrackRecord], dict[str, Any]]:
    """Run the kiosk's pipeline over ``video``; per-track records and run counters.

    Lossless by default (every frame). ``realtime``: the video is paced at its fps like a camera
    and frames the analyser cannot keep up with are dropped, as in the kiosk; times are then
    taken from the frame index (video time), so the truth still applies.
    """
    from kiosk.capture.files import VideoFileSource
    from kiosk.config import load_config
    from kiosk.models import ModelStore
    from kiosk.analysis.build import build_analyzer
    from kiosk.pipeline import Pipeline

    if not video.is_file():
        raise ReidEvalError(f"{video}: no such video file")
    cfg = load_config(config)
    overrides: dict[str, Any] = {"camera.source": f"file:{video}", "camera.realtime": realtime, "camera.loop": False}
    if models_dir is not None:
        overrides["runtime.models_dir"] = str(models_dir)
    cfg = cfg.with_overrides(overrides, origin="kiosk eval reid")
    analyzer = build_analyzer(cfg, ModelStore(cfg.runtime.models_dir_resolved))
    if slow_factor != 1.0:
        from kiosk.bench.slowdown import slow_down
        slow_down(analyzer, slow_factor)
    records: dict[int, TrackRecord] = {}
    probe = VideoFileSource(video, realtime=realtime, loop=False)
    probe.open()
    fps = probe.fps
    probe.close()

    def observe(snap: Any) -> None:
        for f in snap.faces:
            tr = records.get(f.track_id)
            if tr is None:
                tr = records[f.track_id] = TrackRecord(f.track_id)
            tr.t_s.append(snap.frame_index / fps)
            tr.frame_index.append(snap.frame_index)
            tr.boxes.append(f.box_xyxy)
            tr.landmarks.append(f.landmarks_px)
            tr.visitor_ids.append(f.visitor_id)
            tr.is_return.append(f.is_return)
            tr.tentative.append(getattr(f, "tentative_id", None))

    pipeline = Pipeline(cfg, analyzer,
                        source_factory=lambda: VideoFileSource(video, realtime=realtime, loop=False))
    pipeline.subscribe(observe)
    pipeline.start()
    while not pipeline.inference.done.wait(0.2):
        if pipeline.error is not None:
            break
    pipeline.stop()
    if pipeline.error is not None:
        raise pipeline.error
    run = {"mode": "realtime" if realtime else "lossless", "frames": pipeline.inference.stats.frames,
           "frames_dropped": pipeline.slot.dropped, "embeddings_computed": analyzer.embeddings_computed,
           "visitors_counted": len({v.visitor_id for v in analyzer.forgotten}),
           "merges": getattr(analyzer.gallery, "merges", 0)}
    return sorted(records.values(), key=lambda t: t.track_id), run


def label_tracks(video: Path, tracks: Sequence[TrackRecord], refs: Sequence[Path], threshold: float,
                 models_dir: Path | None = None) -> tuple[dict[int, str | None], dict[str, Any]]:
    """Label each track with the reference person it resembles most (evaluation-side, not the kiosk)."""
    import cv2

    from kiosk.detect.align import align_face
    from kiosk.eval.common import EvalModels, central_face, read_image

    models = EvalModels(models_dir=models_dir)
    det = models.detector(8192, 0.6, 0.3, 50)
    emb = models.embedder()
    ref_vecs = []
    names = []
    for path in refs:
        image = read_image(path)
        faces = det.detect(image)
        face = central_face(faces, image.shape[1], image.shape[0])
        if face is None:
            raise ReidEvalError(f"{path}: no face found in the reference photo")
        ref_vecs.append(emb.embed([align_face(image, np.asarray(face.landmarks_px, np.float32))])[0])
        names.append(path.stem.removeprefix("ref_"))
    ref = np.stack(ref_vecs)
    wanted: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for tr in tracks:
        for k in range(0, len(tr.frame_index), REF_EVERY):
            wanted[tr.frame_index[k]].append((tr.track_id, np.asarray(tr.landmarks[k], np.float32)))
    labels: dict[tuple[int, int], str | None] = {}
    cap = cv2.VideoCapture(str(video))
    index = 0
    try:
        while wanted:
            ok, image = cap.read()
            if not ok:
                break
            for track_id, lm in wanted.pop(index, []):
                sims = ref @ emb.embed([align_face(image, lm)])[0]
                best = int(sims.argmax())
                labels[(track_id, index)] = names[best] if sims[best] >= threshold else None
            index += 1
    finally:
        cap.release()
    return labels, {"refs": names, "ref_threshold": threshold, "frames_labelled": len(labels)}


def evaluate_reid(args: argparse.Namespace) -> dict[str, Any]:
    if args.truth is None and not args.refs:
        raise ReidEvalError("give --truth T.csv (visits) or --refs PHOTO... (people in the video)")
    tracks, run = record_video(args.video, args.config, args.models_dir, slow_factor=args.slow_analyser,
                               realtime=args.realtime)
    result: dict[str, Any] = {"video": str(args.video), "config": str(args.config) if args.config else "defaults",
                              **run}
    if args.slow_analyser != 1.0:
        result["slow_analyser"] = args.slow_analyser
    if args.truth is not None:
        visits = load_truth(args.truth)
        result["truth"] = str(args.truth)
        result.update(score_truth(tracks, visits, args.min_iou))
    else:
        labels, info = label_tracks(args.video, tracks, args.refs, args.ref_threshold, args.models_dir)
        result.update(info)
        result.update(score_refs(tracks, labels))
    return result


def summary(result: dict[str, Any]) -> str:
    """A few sentences a person can read."""
    lines = [f"{result['video']} ({result['mode']}): {result['frames']} frames analysed, "
             f"{result['frames_dropped']} dropped, {result['tracks']} tracks, "
             f"{result['embeddings_computed']} embeddings"]
    if "returns" in result:
        lat = result["welcome_back_latency_s"]
        lines.append(f"returns recognised:   {result['returns_recognised']} / {result['returns']}"
                     + (f"  ({100 * result['returns_recognised_rate']:.1f} %)" if result["returns"] else ""))
        lines.append(f"false welcome-backs:  {result['false_welcome_backs']} / {result['first_visits']} first visits")
        lines.append(f"welcome-back latency: p50 {lat['p50']} s, p90 {lat['p90']} s, max {lat['max']} s")
        lines.append(f"visits without a track: {result['visits_without_track']}; "
                     f"tracks not on any visit: {result['tracks_unassigned']}")
    else:
        lines.append(f"sampled frames by person: {result['frames_by_person']}; "
                     f"unlabelled: {result['frames_unlabelled']} (someone else, or a face too turned to tell)")
        lines.append(f"ids shown on unlabelled frames: {result['ids_on_unlabelled_frames']}")
    lines.append(f"ids per person:       {result['ids_per_person']} (ids shown at any moment: "
                 f"{result['ids_shown_per_person']}); persons per id: {result['persons_per_id']}")
    lines.append(f"ids by person:        {result['ids_by_person']}")
    if result.get("split_persons"):
        lines.append(f"split (more than one id): {', '.join(result['split_persons'])}")
    if result.get("merged_ids"):
        lines.append(f"merged (one id, several people): {', '.join(map(str, result['merged_ids']))}")
    return "\n".join(lines)


def add_reid_parser(esub: Any, common: Any) -> None:
    p = esub.add_parser("reid", help="re-identification on a video: returns recognised, false welcome-backs, "
                                     "ids per person, welcome-back latency")
    p.add_argument("--video", type=Path, required=True, help="video file, replayed losslessly")
    p.add_argument("--truth", type=Path, default=None, help="truth.csv: person,visit,start_s,end_s,x,y,w,h")
    p.add_argument("--refs", type=Path, nargs="+", default=[], help="reference photos of the people (no --truth)")
    p.add_argument("--config", type=Path, default=None, help="kiosk config YAML (default: built-in defaults)")
    p.add_argument("--min-iou", type=float, default=0.3, help="track box vs truth box overlap (default 0.3)")
    p.add_argument("--ref-threshold", type=float, default=0.3, help="cosine to label a track by --refs (default 0.3)")
    p.add_argument("--realtime", action="store_true",
                   help="pace the video at its fps like a camera (frames the analyser misses are dropped); "
                        "default: lossless, every frame")
    p.add_argument("--slow-analyser", type=float, default=1.0, help=argparse.SUPPRESS)
    p.add_argument("--json", action="store_true", help="print the result as JSON instead of a summary")
    common(p)


def print_result(result: dict[str, Any], as_json: bool) -> None:
    import json

    if as_json:
        print(json.dumps(result, indent=2))
    else:
        print(summary(result))

