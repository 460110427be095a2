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
from dataclasses import dataclass

import numpy as np

from kiosk.analysis.attributes import AttributeEngine
from kiosk.analysis.budget import FrameBudget
from kiosk.config import Config
from kiosk.track.gallery import ForgottenVisitor, Gallery, Identification
from kiosk.track.tracker import Track, Tracker
from kiosk.types import (Attributes, Detection, FaceView, Frame, Snapshot, StageTimes,
                         WatchlistMatch)
from kiosk.track.watchlist import Watchlist
from kiosk.privacy.policy import wipe

log = logging.getLogger(__name__)

MAX_EMBEDS_PER_FRAME = 2
FORGOTTEN_KEPT = 10_000
# A face must be at least this wide for an embedding worth comparing (SFace's crop is 112 px).
MIN_EMBED_FACE_PX = 32.0
# Time in view added per frame is capped: after a stall, the gap is not counted as attention.
_MAX_DT_S = 0.5

DetectFn = Callable[[np.ndarray], list[Detection]]
EmbedFn = Callable[[np.ndarray, Sequence[np.ndarray]], np.ndarray]


@dataclass(slots=True)
class _TrackIdentity:
    visitor_id: int | None = None
    is_return: bool = False
    next_embed_s: float = 0.0
    last_t_s: float = 0.0
    watchlist: tuple[WatchlistMatch, ...] = ()
    consented: bool = True


class FaceAnalyzer:
    """Turns frames into Snapshots. Owns the tracker, the gallery and per-track schedules.

    ``detect(image)`` returns detections in frame pixels; ``embed(image, landmarks_list)``
    returns one L2-normalised embedding row per face. Both are injected so the analyzer can be
    tested with scripted detections and embeddings.
    """

    def __init__(self, cfg: Config, detect: DetectFn, embed: EmbedFn | None,
                 attributes: AttributeEngine | None = None,
                 watchlist: Watchlist | None = None) -> None:
        rec = cfg.recognition
        self.cfg = cfg
        self.detect = detect
        self.watchlist = watchlist
        # Embeddings serve re-identification and the watchlist search; with both off, none is
        # ever computed.
        self.embed = embed if (rec.enabled or watchlist is not None) else None
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
        self.embeddings_computed = 0
        self.consent_required = cfg.privacy.consent == "required"
        # Consent requests arrive from the UI thread; the inference thread applies them to the
        # faces in view at the next frame.
        self._consent_requests: queue.SimpleQueue[float] = queue.SimpleQueue()
        # One per-frame time budget across embedding, attributes and mesh (kiosk/analysis/budget.py).
        self.budget = FrameBudget(cfg.runtime.frame_budget_ms)

    def request_consent(self) -> None:
        """A visitor touched "analyse me": the faces in view at the next frame are analysed.

        Safe to call from any thread. Consent belongs to a track and ends with it.
        """
        self._consent_requests.put(time.monotonic())

    def process(self, frame: Frame) -> Snapshot:
        t0 = time.perf_counter()
        detections = self.detect(frame.image)
        t1 = time.perf_counter()
        update = self.tracker.update(detections, frame.t_s)
        for track in update.ended:
            self._end_track(track)
        for track in update.new:
            self._ident[track.track_id] = _TrackIdentity(
                next_embed_s=frame.t_s, last_t_s=frame.t_s, consented=not self.consent_required)
        granted = False
        while not self._consent_requests.empty():
            self._consent_requests.get_nowait()
            granted = True
        if granted:
            for track in update.active:
                ident = self._ident[track.track_id]
                if not ident.consented:
                    ident.consented = True
                    ident.next_embed_s = frame.t_s
                    log.info("consent given for track %d", track.track_id)
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
        if self.embed is not None:
            self._embed_due(frame, analysed)
        self.forgotten.extend(self.gallery.expire(frame.t_s))
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
        )

    def tick(self, t_s: float) -> None:
        """Advance time without a frame (camera stalled): visitors are still forgotten on time."""
        for track in self.tracker.update([], t_s).ended:
            self._end_track(track)
        self.forgotten.extend(self.gallery.expire(t_s))

    def close(self) -> None:
        """Erase everything held about visitors (shutdown)."""
        for track in self.tracker.end_all():
            self._end_track(track)
        self.forgotten.extend(self.gallery.clear())
        if self.attributes is not None:
            self.attributes.close()
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
        due = due[:self.budget.allow("embed", min(len(due), MAX_EMBEDS_PER_FRAME), overdue_s)]
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
                ident.next_embed_s = frame.t_s + rec.refresh_interval_s
                self.gallery.refresh(ident.visitor_id, emb)
        # The embeddings array is a temporary of this frame; erase it rather than leave it to
        # the allocator.
        wipe(embeddings)

    def _identified(self, track: Track, ident: _TrackIdentity, result: Identification,
                    t_s: float) -> None:
        ident.visitor_id = result.visitor_id
        ident.is_return = result.is_return
        ident.next_embed_s = t_s + self.cfg.recognition.refresh_interval_s
        # The time the track was in view before it was identified counts too.
        self.gallery.seen(result.visitor_id, t_s, min(track.age_s(t_s), 10.0))
        if result.is_return:
            log.info("visitor %d is back (similarity %.2f)", result.visitor_id, result.similarity)
        elif result.is_new:
            log.info("new visitor %d", result.visitor_id)

    def _face_view(self, track: Track, t_s: float) -> FaceView:
        ident = self._ident[track.track_id]
        visitor = self.gallery.get(ident.visitor_id) if ident.visitor_id is not None else None
        return FaceView(
            track_id=track.track_id,
            box_xyxy=tuple(float(v) for v in track.box),  # type: ignore[arg-type]
            landmarks_px=tuple((float(x), float(y)) for x, y in track.landmarks_px),
            score=float(track.score),
            visitor_id=ident.visitor_id,
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
