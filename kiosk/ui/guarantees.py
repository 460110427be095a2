"""The mirror's promises, checked on what one frame actually drew (a ``FrameRecord``).

Used by the layout benchmark (``kiosk bench --layout``) on every frame of a replayed video, and
by the tests. Kinds of violation, each counted once per offending pair in a frame:

* ``face_covered``: a card, tag or departure note within ``record.face_margin`` of a face box;
* ``overlap``: two of them overlap, or one overlaps the banner, a button, the lesson panel or
  the consent panel;
* ``clipped``: one of them leaves the screen, or a text drawn in it runs past its edge (card
  and note texts are never shortened with "…": they wrap or the card grows);
* ``crossing_leader``: a card's leader line passes through another face's box.
"""
from __future__ import annotations

import itertools

from kiosk.ui.layout import Rect, inside, overlaps, segment_hits
from kiosk.ui.text import FrameRecord

KINDS: tuple[str, ...] = ("face_covered", "overlap", "clipped", "crossing_leader")


def notes_of(record: FrameRecord) -> dict[str, Rect]:
    """Everything the mirror puts over the picture: cards, free tags, departure notes."""
    out = {f"card:{k}": r for k, r in record.cards.items()}
    out.update({f"tag:{k}": r for k, r in record.tags.items()})
    out.update({f"note:{k}": r for k, r in record.chips.items()})
    return out


def violations(record: FrameRecord, size: tuple[int, int]) -> dict[str, int]:
    """Count of each kind of violation in one drawn frame."""
    counts = dict.fromkeys(KINDS, 0)
    notes = notes_of(record)
    faces = list(record.boxes.items())
    fixed = [r for r in (record.banner, record.panel, record.consent) if r is not None]
    fixed += list(record.buttons.values())
    screen = (0, 0, size[0], size[1])
    m = record.face_margin
    for rect in notes.values():
        counts["face_covered"] += sum(1 for _, f in faces if overlaps(rect, f, m))
        counts["overlap"] += sum(1 for o in fixed if overlaps(rect, o))
        if not inside(rect, screen):
            counts["clipped"] += 1
    for a, b in itertools.combinations(notes.values(), 2):
        if overlaps(a, b):
            counts["overlap"] += 1
    for text in record.texts:
        holder = next((r for r in notes.values() if overlaps(text.rect, r) and inside(text.rect[:2] + (1, 1), r)), None)
        if holder is not None and not inside(text.rect, _grow(holder, 1)):
            counts["clipped"] += 1
    for key, (a, b) in record.leaders.items():
        own = record.boxes.get(key)
        counts["crossing_leader"] += sum(1 for k, f in faces if k != key and f != own and segment_hits(a, b, f))
    return counts


def _grow(r: Rect, m: int) -> Rect:
    return r[0] - m, r[1] - m, r[2] + 2 * m, r[3] + 2 * m

