"""Re-identification gallery, held in RAM only.

A new track collects at least ``votes`` embeddings (of faces that passed the quality gate,
:mod:`kiosk.track.face_quality`) before anyone decides who it is: each embedding votes for the
remembered visitor whose templates it matches best at or above the cosine threshold, and the
track joins that visitor only with a strict majority. One blurred or half-turned frame therefore
cannot make a stranger "seen before". When the evidence is unclear (at least a third of the
embeddings match someone, or come within ``UNSURE_MARGIN`` of the threshold, but there is no
majority) the decision waits for more embeddings, up to ``MAX_VOTES_FACTOR`` x ``votes``; meanwhile the
screen may say "maybe visitor 0003?" (:meth:`Gallery.maybe`). Only then does the track become a
new visitor.

A decision can still be wrong, and the gallery corrects itself: a visitor created new in this
visit keeps gathering templates, and once a majority of them match someone remembered (who is
out of view) the two are merged (:meth:`Gallery.consider_merge`): the newer id disappears, the
older one continues with one more visit ("Welcome back"), and the newer one's template buffer
is zeroed. Templates are kept diverse: once a visitor's buffer is full, a new template replaces
the most redundant one (the one most similar to another), not the oldest.

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
#: An undecided track may collect up to this many times ``votes`` embeddings before it is
#: declared a new visitor.
MAX_VOTES_FACTOR = 3
#: Best similarities this close below the threshold are "maybe": worth waiting for more evidence.
UNSURE_MARGIN = 0.08


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

    def add_template(self, embedding: np.ndarray) -> bool:
        """Store ``embedding``; once the buffer is full, in place of the most redundant template.

        Redundancy of a template = its highest cosine to any other template. The new one goes in
        only if it is less redundant than the worst one already there, so the buffer keeps views
        that differ (angle, light, expression) instead of the last few near-identical frames.
        Returns whether it was stored. The replaced row is overwritten in place (no copy kept).
        """
        cap = len(self.templates)
        if self.n_templates < cap:
            self.templates[self.n_templates] = embedding
            self.n_templates += 1
            self.next_slot = self.n_templates % cap
            return True
        t = self.templates
        gram = t @ t.T
        np.fill_diagonal(gram, -np.inf)
        redundancy = gram.max(axis=1)
        worst = int(redundancy.argmax())
        new_sims = t @ embedding
        new_sims[worst] = -np.inf  # the new one would replace ``worst``: compare with the others
        if float(new_sims.max()) >= float(redundancy[worst]):
            return False
        t[worst] = embedding
        return True

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


@dataclass(frozen=True, slots=True)
class Merge:
    """A visitor found to be someone already remembered: ``from_id`` is now ``into_id``."""

    from_id: int
    into_id: int
    is_return: bool  # the merge makes this a new visit of ``into_id`` ("Welcome back")
    similarity: float


@dataclass(slots=True)
class _Pending:
    buffer: np.ndarray  # (votes * MAX_VOTES_FACTOR, D)
    count: int = 0
    maybe: int | None = None  # visitor the evidence leans to, while undecided


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
        self.merges = 0  # visitors found to be someone already remembered, since start

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

    def maybe(self, track_id: int) -> int | None:
        """The remembered visitor an undecided track resembles, if the evidence leans that way."""
        p = self._pending.get(track_id)
        return p.maybe if p else None

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
        """Add one embedding of an unidentified track; decide once the evidence is clear.

        Returns None while undecided: before ``votes`` embeddings, and after that while the
        evidence is unclear (see the module docstring), up to ``votes * MAX_VOTES_FACTOR``.
        """
        pending = self._pending.get(track_id)
        if pending is None:
            pending = _Pending(np.zeros((self.votes * MAX_VOTES_FACTOR, self.dim), dtype=np.float32))
            self._pending[track_id] = pending
        pending.buffer[pending.count] = embedding
        pending.count += 1
        if pending.count < self.votes:
            return None
        embeddings = pending.buffer[: pending.count]
        candidates = [v for v in self._visitors.values() if v.active_track is None]
        verdict, winner, won, similarity = self._weigh(embeddings, candidates)
        if verdict == "wait" and pending.count < len(pending.buffer):
            pending.maybe = winner.visitor_id if winner is not None else None
            return None
        if verdict == "match":
            assert winner is not None
            result = self._join(winner, track_id, embeddings[won], similarity, t_s, pending.count)
        else:
            result = self._create(track_id, embeddings, t_s)
        wipe(pending.buffer)
        del self._pending[track_id]
        return result

    def _weigh(self, embeddings: np.ndarray, candidates: list[Visitor]
               ) -> tuple[str, Visitor | None, np.ndarray, float]:
        """("match" | "new" | "wait", leading candidate, its winning rows, their mean cosine)."""
        none = np.zeros(len(embeddings), dtype=bool)
        if not candidates:
            return "new", None, none, 0.0
        sims = np.stack([v.best_similarity(embeddings) for v in candidates], axis=1)  # (n, C)
        best = sims.argmax(axis=1)
        best_sim = sims[np.arange(len(embeddings)), best]
        voters = best_sim >= self.match_threshold
        counts = np.bincount(best[voters], minlength=len(candidates))
        if counts.max() > 0:
            lead = int(counts.argmax())
        else:
            lead = int(sims.mean(axis=0).argmax())
        won = voters & (best == lead)
        similarity = float(best_sim[won].mean()) if won.any() else float(sims[:, lead].mean())
        if counts[lead] * 2 > len(embeddings):
            return "match", candidates[lead], won, similarity
        # Wait while at least a third of the evidence is at or near the threshold: a look-alike
        # frame among clear strangers' frames does not hold the decision up for long.
        unsure = best_sim >= self.match_threshold - UNSURE_MARGIN
        if int(unsure.sum()) * 3 < len(embeddings):
            return "new", None, none, 0.0
        return "wait", candidates[lead], won, similarity

    def _join(self, visitor: Visitor, track_id: int, embeddings: np.ndarray, similarity: float,
              t_s: float, n: int) -> Identification:
        is_return = self._begin_track(visitor, track_id, t_s)
        for e in embeddings:
            visitor.add_template(e)
        log.debug("track %d is visitor %d (similarity %.3f, %d/%d votes)",
                  track_id, visitor.visitor_id, similarity, len(embeddings), n)
        return Identification(visitor.visitor_id, is_new=False, is_return=is_return, similarity=similarity)

    def _create(self, track_id: int, embeddings: np.ndarray, t_s: float) -> Identification:
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

    def consider_merge(self, visitor_id: int, t_s: float) -> Merge | None:
        """Merge ``visitor_id`` into a remembered visitor if its templates now show it is them.

        Only a visitor on its first visit (created new, so possibly a missed "welcome back") is
        considered, against visitors first seen before it and out of view (someone in view is
        somebody else). The evidence is the same rule as for a new track, on all its templates:
        a strict majority, and at least ``votes`` of them, at or above the threshold. The merged
        visitor's time in view is added, its templates are offered to the older visitor, and its
        buffer is zeroed before it is dropped.
        """
        a = self._visitors.get(visitor_id)
        if a is None or a.visits != 1 or a.n_templates < self.votes:
            return None
        candidates = [v for v in self._visitors.values()
                      if v.active_track is None and v.visitor_id != visitor_id and v.first_seen_s < a.first_seen_s]
        if not candidates:
            return None
        own = a.templates[: a.n_templates]
        verdict, b, won, similarity = self._weigh(own, candidates)
        if verdict != "match" or b is None or int(won.sum()) < self.votes:
            return None
        track = a.active_track
        is_return = False
        if track is not None:
            is_return = a.visit_start_s - b.last_seen_s > self.visit_gap_s
            if is_return:
                b.previous_visit_end_s = b.last_seen_s
                b.visits += 1
                b.visit_start_s = a.visit_start_s
            b.active_track = track
        b.time_in_view_s += a.time_in_view_s
        b.last_seen_s = max(b.last_seen_s, a.last_seen_s)
        for e in own[won]:
            b.add_template(e)
        wipe(a.templates)
        a.n_templates = 0
        del self._visitors[visitor_id]
        self.merges += 1
        log.debug("visitor %d is visitor %d after all (similarity %.2f); merged", visitor_id, b.visitor_id,
                 similarity)
        return Merge(visitor_id, b.visitor_id, is_return, similarity)

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

    def similarity(self, visitor_id: int, embedding: np.ndarray) -> float | None:
        """Best cosine of ``embedding`` to the visitor's templates (None if unknown)."""
        visitor = self._visitors.get(visitor_id)
        if visitor is None:
            return None
        return float(visitor.best_similarity(embedding[None, :])[0])

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
                log.debug("visitor %d erased at shutdown", vid)
            else:
                log.debug("visitor %d forgotten after %.0f s out of view; templates erased",
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
