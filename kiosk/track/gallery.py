"""Re-identification gallery, held in RAM only.

A new track collects a few embeddings (``votes``) before anyone decides who it is: each
embedding votes for the remembered visitor whose templates it matches best at or above the
cosine threshold, and the track joins that visitor only with a strict majority. One blurred or
half-turned frame therefore cannot make a stranger "seen before". Without a majority the track
becomes a new visitor.

Every embedding lives in a buffer preallocated per visitor (or per pending track). When a
visitor is forgotten (``forget_after_s`` after they were last seen) or a pending track ends,
the buffer is overwritten with zeros in place before it is dropped, so no copy of a face
template outlives the privacy promise in this process's memory.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from kiosk.privacy.policy import wipe
from kiosk.types import VisitorView

log = logging.getLogger(__name__)

EMBEDDING_DIM = 128


@dataclass(slots=True)
class Visitor:
    """A remembered person. Owned by the inference thread's gallery."""

    visitor_id: int
    first_seen_s: float
    last_seen_s: float
    templates: np.ndarray  # (templates_per_visitor, D) float32, zero rows unused
    n_templates: int = 0
    next_slot: int = 0
    visits: int = 1
    time_in_view_s: float = 0.0
    active_track: int | None = None
    visit_start_s: float = 0.0
    previous_visit_end_s: float | None = None

    def add_template(self, embedding: np.ndarray) -> None:
        """Store ``embedding``, replacing the oldest template once the buffer is full."""
        self.templates[self.next_slot] = embedding
        self.next_slot = (self.next_slot + 1) % len(self.templates)
        self.n_templates = min(self.n_templates + 1, len(self.templates))

    def best_similarity(self, embeddings: np.ndarray) -> np.ndarray:
        """For each row of ``embeddings`` (N, D) its highest cosine to any of this visitor's templates."""
        if self.n_templates == 0:
            return np.full(len(embeddings), -1.0, dtype=np.float32)
        return (embeddings @ self.templates[: self.n_templates].T).max(axis=1)


@dataclass(frozen=True, slots=True)
class Identification:
    """Who a track turned out to be."""

    visitor_id: int
    is_new: bool
    is_return: bool  # a new visit by a remembered visitor (not a continuation of the last one)
    similarity: float  # mean best cosine of the winning votes; 0 for a new visitor


@dataclass(frozen=True, slots=True)
class ForgottenVisitor:
    """What remains of a visitor after erasure: counters only, no template."""

    visitor_id: int
    visits: int
    time_in_view_s: float
    first_seen_s: float
    last_seen_s: float


@dataclass(slots=True)
class _Pending:
    buffer: np.ndarray  # (votes, D)
    count: int = 0


class Gallery:
    """Remembered visitors and the embeddings of tracks still being identified.

    Not thread-safe by design: the inference thread owns it and publishes views.
    """

    def __init__(
        self,
        match_threshold: float,
        votes: int,
        templates_per_visitor: int,
        visit_gap_s: float,
        forget_after_s: float,
        dim: int = EMBEDDING_DIM,
    ) -> None:
        if votes < 1:
            raise ValueError(f"votes must be >= 1, got {votes}")
        if templates_per_visitor < 1:
            raise ValueError(f"templates_per_visitor must be >= 1, got {templates_per_visitor}")
        if forget_after_s <= 0:
            raise ValueError(f"forget_after_s must be > 0 seconds, got {forget_after_s}")
        self.match_threshold = match_threshold
        self.votes = votes
        self.templates_per_visitor = templates_per_visitor
        self.visit_gap_s = visit_gap_s
        self.forget_after_s = forget_after_s
        self.dim = dim
        self._visitors: dict[int, Visitor] = {}
        self._pending: dict[int, _Pending] = {}
        self._next_id = 1

    # -- queries -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._visitors)

    def get(self, visitor_id: int) -> Visitor | None:
        return self._visitors.get(visitor_id)

    @property
    def visitors(self) -> tuple[Visitor, ...]:
        return tuple(self._visitors.values())

    def pending_count(self, track_id: int) -> int:
        p = self._pending.get(track_id)
        return p.count if p else 0

    def views(self, t_s: float) -> tuple[VisitorView, ...]:
        return tuple(
            VisitorView(
                visitor_id=v.visitor_id,
                first_seen_s=v.first_seen_s,
                last_seen_s=v.last_seen_s,
                visits=v.visits,
                time_in_view_s=v.time_in_view_s,
                in_view=v.active_track is not None,
                forget_at_s=v.last_seen_s + self.forget_after_s,
            )
            for v in self._visitors.values()
        )

    # -- identification ------------------------------------------------------------------------
    def add_pending(self, track_id: int, embedding: np.ndarray, t_s: float) -> Identification | None:
        """Add one embedding of an unidentified track; decide once ``votes`` embeddings are in."""
        pending = self._pending.get(track_id)
        if pending is None:
            pending = _Pending(np.zeros((self.votes, self.dim), dtype=np.float32))
            self._pending[track_id] = pending
        pending.buffer[pending.count] = embedding
        pending.count += 1
        if pending.count < self.votes:
            return None
        result = self._decide(track_id, pending.buffer, t_s)
        wipe(pending.buffer)
        del self._pending[track_id]
        return result

    def _decide(self, track_id: int, embeddings: np.ndarray, t_s: float) -> Identification:
        candidates = [v for v in self._visitors.values() if v.active_track is None]
        if candidates:
            sims = np.stack([v.best_similarity(embeddings) for v in candidates], axis=1)  # (votes, C)
            best = sims.argmax(axis=1)
            best_sim = sims[np.arange(len(embeddings)), best]
            voters = best_sim >= self.match_threshold
            counts = np.bincount(best[voters], minlength=len(candidates))
            winner = int(counts.argmax())
            if counts[winner] * 2 > len(embeddings):
                visitor = candidates[winner]
                won = voters & (best == winner)
                similarity = float(best_sim[won].mean())
                is_return = self._begin_track(visitor, track_id, t_s)
                for e in embeddings[won]:
                    visitor.add_template(e)
                log.debug("track %d is visitor %d (similarity %.3f, %d/%d votes)",
                          track_id, visitor.visitor_id, similarity, counts[winner], len(embeddings))
                return Identification(visitor.visitor_id, is_new=False, is_return=is_return,
                                      similarity=similarity)
        visitor = Visitor(
            visitor_id=self._next_id,
            first_seen_s=t_s,
            last_seen_s=t_s,
            templates=np.zeros((self.templates_per_visitor, self.dim), dtype=np.float32),
            active_track=track_id,
            visit_start_s=t_s,
        )
        self._next_id += 1
        for e in embeddings:
            visitor.add_template(e)
        self._visitors[visitor.visitor_id] = visitor
        log.debug("track %d is new visitor %d", track_id, visitor.visitor_id)
        return Identification(visitor.visitor_id, is_new=True, is_return=False, similarity=0.0)

    def _begin_track(self, visitor: Visitor, track_id: int, t_s: float) -> bool:
        """Attach a track to a remembered visitor; True when this starts a new visit."""
        visitor.active_track = track_id
        if t_s - visitor.last_seen_s > self.visit_gap_s:
            visitor.previous_visit_end_s = visitor.last_seen_s
            visitor.visits += 1
            visitor.visit_start_s = t_s
            return True
        return False

    def refresh(self, visitor_id: int, embedding: np.ndarray) -> bool:
        """Offer a fresh embedding of an identified track; stored only if it still matches.

        A refresh that does not match the visitor's templates is not stored: it is more likely
        a blurred frame or a tracker swap than a change of face, and storing it would let one
        visitor's templates drift towards another's.
        """
        visitor = self._visitors.get(visitor_id)
        if visitor is None:
            return False
        sim = float(visitor.best_similarity(embedding[None, :])[0])
        if sim >= self.match_threshold:
            visitor.add_template(embedding)
            return True
        log.debug("refresh for visitor %d rejected (similarity %.3f)", visitor_id, sim)
        return False

    # -- presence ------------------------------------------------------------------------------
    def seen(self, visitor_id: int, t_s: float, dt_s: float) -> None:
        """The visitor's track was seen at ``t_s``; ``dt_s`` is the time in view to add."""
        visitor = self._visitors.get(visitor_id)
        if visitor is None:
            return
        visitor.last_seen_s = max(visitor.last_seen_s, t_s)
        visitor.time_in_view_s += max(dt_s, 0.0)

    def track_ended(self, track_id: int, visitor_id: int | None) -> None:
        """A track left the frame: release its visitor and erase any embeddings still pending."""
        pending = self._pending.pop(track_id, None)
        if pending is not None:
            wipe(pending.buffer)
        if visitor_id is not None:
            visitor = self._visitors.get(visitor_id)
            if visitor is not None and visitor.active_track == track_id:
                visitor.active_track = None

    def expire(self, t_s: float) -> list[ForgottenVisitor]:
        """Erase visitors out of view for longer than ``forget_after_s``; zero their templates first."""
        gone: list[ForgottenVisitor] = []
        for vid in [vid for vid, v in self._visitors.items()
                    if v.active_track is None and t_s - v.last_seen_s >= self.forget_after_s]:
            v = self._visitors.pop(vid)
            wipe(v.templates)
            v.n_templates = 0
            gone.append(ForgottenVisitor(v.visitor_id, v.visits, v.time_in_view_s,
                                         v.first_seen_s, v.last_seen_s))
            if t_s == float("inf"):
                log.info("visitor %d erased at shutdown", vid)
            else:
                log.info("visitor %d forgotten after %.0f s out of view; templates erased",
                         vid, t_s - v.last_seen_s)
        return gone

    def clear(self) -> list[ForgottenVisitor]:
        """Erase everything (shutdown)."""
        for p in self._pending.values():
            wipe(p.buffer)
        self._pending.clear()
        for v in self._visitors.values():
            v.active_track = None
        return self.expire(float("inf"))
