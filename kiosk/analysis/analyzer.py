"""One frame in, one Snapshot out: detection, tracking, embedding on schedule, re-identification.

This is the synchronous core of the inference thread. It has no thread of its own so that tests
and the benchmark can drive it frame by frame with any clock.

Embeddings are the expensive step (SFace is ~3x the detector's cost per face), so they are
computed only when due: a new track gets ``votes`` embeddings spaced ``sample_interval_s`` apart
until it is identified, an identified track one every ``refresh_interval_s``. At most
``MAX_EMBEDS_PER_FRAME`` are computed per frame, most overdue first, which bounds the frame time
when a group walks in at once.
"""
from __future__ import annotations

import logging
import queue
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from kiosk.analysis.attributes import AttributeEngine
from kiosk.analysis.budget import FrameBudget
from kiosk.config import Config
from kiosk.track.face_quality import face_quality
from kiosk.track.gallery import ForgottenVisitor, Gallery, Identification, Merge
from kiosk.track.tracker import Track, Tracker
from kiosk.types import (Attributes, Detection, DetectorInput, FaceView, Frame, Snapshot, StageTimes,
                         WatchlistMatch)
from kiosk.track.watchlist import Watchlist
from kiosk.track.watchlist_load import BackgroundLoader
from kiosk.privacy.policy import wipe

log = logging.getLogger(__name__)

MAX_EMBEDS_PER_FRAME = 2
FORGOTTEN_KEPT = 10_000
# A face must be at least this wide for an embedding worth comparing (SFace's crop is 112 px).
MIN_EMBED_FACE_PX = 32.0
# A due face that fails the quality gate (kiosk.track.face_quality) is tried again this much later.
QUALITY_RETRY_S = 0.1
# A visitor created new keeps being sampled this often (instead of every refresh_interval_s) for
# YOUNG_S after the decision: diverse templates sooner, and the evidence for a merge sooner if
# the decision was wrong.
YOUNG_SAMPLE_FACTOR = 2.0
YOUNG_S = 4.0
# Refreshes in a row that do not match the track's visitor: the track has most likely jumped to
# somebody else (a cut in edited video, two people crossing); it is identified afresh.
SWAP_MISSES = 2
# Merges stay listed in snapshots this long (pipeline seconds), so every consumer sees them.
MERGE_NOTICE_S = 30.0
# Time in view added per frame is capped: after a stall, the gap is not counted as attention.
_MAX_DT_S = 0.5

DetectFn = Callable[[np.ndarray], list[Detection]]
#: A detector that also takes the frame's network input made on the capture thread.
PreparedDetectFn = Callable[[np.ndarray, DetectorInput], list[Detection]]
EmbedFn = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]


@dataclass(slots=True)
class _TrackIdentity:
    visitor_id: int | None = None
    is_return: bool = False
    next_embed_s: float = 0.0
    last_t_s: float = 0.0
    watchlist: tuple[WatchlistMatch, ...] = ()
    consented: bool = True
    identified_s: float | None = None  # when the current id (or its "Welcome back") was given
    young_until_s: float = 0.0
    misses: int = 0


class FaceAnalyzer:
    """Turns frames into Snapshots. Owns the tracker, the gallery and per-track schedules.

    ``detect(image)`` returns detections in frame pixels; ``embed(image, landmarks_list)``
    returns one L2-normalised embedding row per face. Both are injected so the analyzer can be
    tested with scripted detections and embeddings.

    ``prepare`` (with the real detector): makes a frame's detector input; the pipeline runs it on
    the capture thread (``Frame.detector_input``), and frames that carry one are detected with
    ``detect(image, detector_input)``. Without it, frames are detected with ``detect(image)``.
    """

    def __init__(self, cfg: Config, detect: DetectFn | PreparedDetectFn, embed: EmbedFn | None,
                 attributes: AttributeEngine | None = None,
                 watchlist: Watchlist | None = None,
                 prepare: Callable[[np.ndarray], DetectorInput] | None = None) -> None:
        rec = cfg.recognition
        self.cfg = cfg
        self.detect = detect
        self.prepare = prepare
        self.watchlist = watchlist
        # Embeddings serve re-identification and the watchlist search; with both off, none is
        # ever computed.
        self.embed = embed if (rec.enabled or watchlist is not None or cfg.watchlist.enabled) else None
        #: Set by the pipeline when the watchlist loads in the background (its status for the lesson).
        self.watchlist_loader: BackgroundLoader | None = None
        self.attributes = attributes
        self.tracker = Tracker(cfg.tracking.iou_threshold, cfg.tracking.max_missing_s)
        self.gallery = Gallery(
            match_threshold=rec.match_threshold,
            votes=rec.votes,
            templates_per_visitor=rec.templates_per_visitor,
            visit_gap_s=rec.visit_gap_s,
            forget_after_s=cfg.privacy.forget_after_s,
        )
        self._ident: dict[int, _TrackIdentity] = {}
        # Counters of erased visitors for the run report; bounded so that a kiosk running for
        # months does not grow (the daily aggregates keep the long-term counts).
        self.forgotten: deque[ForgottenVisitor] = deque(maxlen=FORGOTTEN_KEPT)
        # A live camera films real visitors: once forgotten, nothing says when they came or
        # left (their first/last seen times become NaN); recorded material keeps them for tests.
        self.keep_visitor_times = not cfg.camera.source_spec.live
        self.embeddings_computed = 0
        self.quality_rejected = 0
        self._merges: deque[tuple[float, Merge]] = deque()
        self.consent_required = cfg.privacy.consent == "required"
        # Consent requests arrive from the UI thread; the inference thread applies them to the
        # faces in view at the next frame.
        self._consent_requests: queue.SimpleQueue[int | None] = queue.SimpleQueue()
        # One per-frame time budget across embedding, attributes and mesh (kiosk/analysis/budget.py).
        self.budget = FrameBudget(cfg.runtime.frame_budget_ms)

    def request_consent(self, track_id: int | None = None) -> None:
        """A visitor touched "Analyse me": from the next frame on, the face of track ``track_id``
        is analysed, and nobody else (None: the largest face in view that has not consented,
        the visitor nearest the screen). Safe to call from any thread. Consent belongs to a
        track and ends with it."""
        self._consent_requests.put(track_id)

    def _grant_consent(self, track_id: int | None, active: Sequence[Track], t_s: float) -> None:
        """Consent for one person: the track asked for, or the largest waiting face."""
        waiting = [t for t in active if not self._ident[t.track_id].consented]
        if track_id is not None:
            chosen = next((t for t in waiting if t.track_id == track_id), None)
        else:
            chosen = max(waiting, key=lambda t: (t.box[2] - t.box[0]) * (t.box[3] - t.box[1]), default=None)
        if chosen is None:
            log.debug("consent request for track %s: no such face waiting; nobody is analysed", track_id)
            return
        ident = self._ident[chosen.track_id]
        ident.consented = True
        ident.next_embed_s = t_s
        log.debug("consent given for track %d", chosen.track_id)

    def process(self, frame: Frame) -> Snapshot:
        t0 = time.perf_counter()
        if frame.detector_input is not None and self.prepare is not None:
            detections = self.detect(frame.image, frame.detector_input)  # type: ignore[call-arg]
        else:
            detections = self.detect(frame.image)  # type: ignore[call-arg]
        t1 = time.perf_counter()
        update = self.tracker.update(detections, frame.t_s)
        for track in update.ended:
            self._end_track(track)
        for track in update.new:
            self._ident[track.track_id] = _TrackIdentity(
                next_embed_s=frame.t_s, last_t_s=frame.t_s, consented=not self.consent_required)
        while not self._consent_requests.empty():
            self._grant_consent(self._consent_requests.get_nowait(), update.active, frame.t_s)
        # Only consented faces are analysed: the rest are anonymous boxes, nothing computed.
        analysed = [t for t in update.active if self._ident[t.track_id].consented]
        if self.attributes is not None:
            for track in analysed:
                if not self.attributes.has_track(track.track_id):
                    self.attributes.start_track(track.track_id, frame.t_s)
        for track in update.active:
            ident = self._ident[track.track_id]
            if ident.visitor_id is not None:
                dt = min(frame.t_s - ident.last_t_s, _MAX_DT_S)
                self.gallery.seen(ident.visitor_id, frame.t_s, dt)
            ident.last_t_s = frame.t_s
        t2 = time.perf_counter()
        self.budget.start()
        # Without re-identification, faces are embedded only once a watchlist is there to search
        # (it may still be loading in the background).
        if self.embed is not None and (self.cfg.recognition.enabled or self.watchlist is not None):
            self._embed_due(frame, analysed)
        self._remember(self.gallery.expire(frame.t_s))
        t3 = time.perf_counter()
        attributes_ms = mesh_ms = 0.0
        if self.attributes is not None:
            self.attributes.update(frame.image, analysed, frame.t_s, self.budget)
            attributes_ms = self.attributes.last_attributes_ms
            mesh_ms = self.attributes.last_mesh_ms
        faces = tuple(self._face_view(t, frame.t_s) for t in update.active)
        times = StageTimes(
            detect_ms=(t1 - t0) * 1e3,
            track_ms=(t2 - t1) * 1e3,
            embed_ms=(t3 - t2) * 1e3,
            attributes_ms=attributes_ms,
            mesh_ms=mesh_ms,
            total_ms=(time.perf_counter() - t0) * 1e3,
        )
        return Snapshot(
            frame_index=frame.index,
            t_s=frame.t_s,
            frame_size=(frame.width, frame.height),
            faces=faces,
            visitors=self.gallery.views(frame.t_s),
            times=times,
            merges=self._recent_merges(frame.t_s),
        )

    def _remember(self, gone: list[ForgottenVisitor]) -> None:
        """Keep the counters of erased visitors for the run report (without times when live)."""
        if not self.keep_visitor_times:
            nan = float("nan")
            gone = [replace(v, first_seen_s=nan, last_seen_s=nan) for v in gone]
        self.forgotten.extend(gone)

    def tick(self, t_s: float) -> None:
        """Advance time without a frame (camera stalled): visitors are still forgotten on time."""
        for track in self.tracker.update([], t_s).ended:
            self._end_track(track)
        self._remember(self.gallery.expire(t_s))

    def close(self) -> None:
        """Erase everything held about visitors (shutdown)."""
        for track in self.tracker.end_all():
            self._end_track(track)
        self._remember(self.gallery.clear())
        if self.attributes is not None:
            self.attributes.close()
        if self.watchlist_loader is not None:
            self.watchlist_loader.close()  # its thread must not be inside a model while the process exits
        if self.watchlist is not None:
            self.watchlist.close()

    # -- internals -------------------------------------------------------------------------------
    def _end_track(self, track: Track) -> None:
        if self.attributes is not None:
            self.attributes.end_track(track.track_id)
        ident = self._ident.pop(track.track_id, None)
        self.gallery.track_ended(track.track_id, ident.visitor_id if ident else None)

    def _embed_due(self, frame: Frame, active: Sequence[Track]) -> None:
        rec = self.cfg.recognition
        due = [
            t for t in active
            if self._ident[t.track_id].next_embed_s <= frame.t_s
            and (t.box[2] - t.box[0]) >= MIN_EMBED_FACE_PX
        ]
        if not due:
            return
        due.sort(key=lambda t: self._ident[t.track_id].next_embed_s)
        overdue_s = frame.t_s - self._ident[due[0].track_id].next_embed_s
        good: list[Track] = []
        for t in due:
            if len(good) >= MAX_EMBEDS_PER_FRAME:
                break
            quality = face_quality(frame.image, t.box, t.landmarks_px, t.score)
            if quality.ok or self.watchlist is not None and not rec.enabled:
                good.append(t)
            else:
                # Not worth comparing (turned, blurred, small, occluded): wait for a better view
                # rather than let this frame vote.
                self._ident[t.track_id].next_embed_s = frame.t_s + QUALITY_RETRY_S
                self.quality_rejected += 1
        if not good:
            return
        due = good[:self.budget.allow("embed", len(good), overdue_s)]
        if not due:
            return
        assert self.embed is not None
        t0 = time.perf_counter()
        embeddings = self.embed(frame.image, [t.landmarks_px for t in due])
        self.budget.spent("embed", len(due), (time.perf_counter() - t0) * 1e3)
        self.embeddings_computed += len(due)
        wl = self.cfg.watchlist
        for track, emb in zip(due, embeddings):
            ident = self._ident[track.track_id]
            if self.watchlist is not None:
                ident.watchlist = self.watchlist.search(emb, wl.threshold, wl.top_k)
            if not rec.enabled:
                ident.next_embed_s = frame.t_s + rec.refresh_interval_s
            elif ident.visitor_id is None:
                ident.next_embed_s = frame.t_s + rec.sample_interval_s
                result = self.gallery.add_pending(track.track_id, emb, frame.t_s)
                if result is not None:
                    self._identified(track, ident, result, frame.t_s)
            else:
                self._refresh(track, ident, emb, frame.t_s)
        # The embeddings array is a temporary of this frame; erase it rather than leave it to
        # the allocator.
        wipe(embeddings)

    def _refresh(self, track: Track, ident: _TrackIdentity, emb: np.ndarray, t_s: float) -> None:
        rec = self.cfg.recognition
        assert ident.visitor_id is not None
        young = t_s < ident.young_until_s
        ident.next_embed_s = t_s + (rec.sample_interval_s * YOUNG_SAMPLE_FACTOR if young else rec.refresh_interval_s)
        if self.gallery.refresh(ident.visitor_id, emb):
            ident.misses = 0
            merge = self.gallery.consider_merge(ident.visitor_id, t_s)
            if merge is not None:
                self._merged(merge, t_s)
            return
        ident.misses += 1
        ident.next_embed_s = t_s + rec.sample_interval_s  # check again soon
        if ident.misses >= SWAP_MISSES:
            log.debug("track %d no longer looks like visitor %d; identifying it afresh",
                     track.track_id, ident.visitor_id)
            self.gallery.track_ended(track.track_id, ident.visitor_id)
            ident.visitor_id = None
            ident.is_return = False
            ident.identified_s = None
            ident.misses = 0

    def _merged(self, merge: Merge, t_s: float) -> None:
        for ident in self._ident.values():
            if ident.visitor_id == merge.from_id:
                ident.visitor_id = merge.into_id
                ident.is_return = merge.is_return
                ident.identified_s = t_s  # the screen tells the story from here: "Welcome back"
                ident.young_until_s = 0.0
        self._merges.append((t_s, merge))
        if merge.is_return:
            log.debug("visitor %d is back (found on a second look, similarity %.2f)", merge.into_id, merge.similarity)

    def _recent_merges(self, t_s: float) -> tuple[tuple[int, int], ...]:
        while self._merges and t_s - self._merges[0][0] > MERGE_NOTICE_S:
            self._merges.popleft()
        return tuple((m.from_id, m.into_id) for _, m in self._merges)

    def _identified(self, track: Track, ident: _TrackIdentity, result: Identification,
                    t_s: float) -> None:
        ident.visitor_id = result.visitor_id
        ident.is_return = result.is_return
        ident.identified_s = t_s
        ident.misses = 0
        if result.is_new:
            ident.young_until_s = t_s + YOUNG_S
            ident.next_embed_s = t_s + self.cfg.recognition.sample_interval_s * YOUNG_SAMPLE_FACTOR
        else:
            ident.next_embed_s = t_s + self.cfg.recognition.refresh_interval_s
        # The time the track was in view before it was identified counts too.
        self.gallery.seen(result.visitor_id, t_s, min(track.age_s(t_s), 10.0))
        if result.is_return:
            log.debug("visitor %d is back (similarity %.2f)", result.visitor_id, result.similarity)
        elif result.is_new:
            log.debug("new visitor %d", result.visitor_id)

    def _face_view(self, track: Track, t_s: float) -> FaceView:
        ident = self._ident[track.track_id]
        visitor = self.gallery.get(ident.visitor_id) if ident.visitor_id is not None else None
        return FaceView(
            track_id=track.track_id,
            # tolist() converts in C to the same Python floats as float() per element.
            box_xyxy=tuple(np.asarray(track.box, dtype=np.float64).tolist()),  # type: ignore[arg-type]
            landmarks_px=tuple(map(tuple, np.asarray(track.landmarks_px).reshape(-1, 2).tolist())),
            score=float(track.score),
            visitor_id=ident.visitor_id,
            maybe_visitor_id=(self.gallery.maybe(track.track_id) if ident.visitor_id is None else None),
            identified_age_s=(t_s - ident.identified_s if ident.identified_s is not None else None),
            visit_number=visitor.visits if visitor else 1,
            is_return=ident.is_return,
            track_age_s=track.age_s(t_s),
            time_in_view_s=visitor.time_in_view_s if visitor else track.age_s(t_s),
            last_visit_end_s=visitor.previous_visit_end_s if visitor else None,
            attributes=(self.attributes.view(track.track_id) if self.attributes is not None
                        else Attributes()),
            watchlist=ident.watchlist,
            consented=ident.consented,
        )
