"""Tracker and re-identification gallery with scripted detections and a fake clock."""
from __future__ import annotations

import numpy as np
import pytest

from kiosk.track.gallery import Gallery
from kiosk.track.tracker import Tracker, iou
from kiosk.types import Detection


def det(x: float, y: float, size: float = 100.0, score: float = 0.9) -> Detection:
    lm = np.array([[x + 30, y + 40], [x + 70, y + 40], [x + 50, y + 60],
                   [x + 35, y + 80], [x + 65, y + 80]], dtype=np.float32)
    return Detection((x, y, x + size, y + size), lm, score)


def unit(seed: int, dim: int = 128) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
    return v / np.linalg.norm(v)


def near(base: np.ndarray, seed: int, noise: float = 0.3) -> np.ndarray:
    """An embedding of the same person: cosine to ``base`` around 0.95."""
    v = base + noise * unit(seed) * 0.3
    return (v / np.linalg.norm(v)).astype(np.float32)


# -- tracker ---------------------------------------------------------------------------------

def test_iou_values() -> None:
    a = (0.0, 0.0, 10.0, 10.0)
    b = [(0.0, 0.0, 10.0, 10.0), (5.0, 0.0, 15.0, 10.0), (20.0, 20.0, 30.0, 30.0)]
    np.testing.assert_allclose([iou(a, x) for x in b], [1.0, 50 / 150, 0.0], rtol=1e-6)


def test_ids_stable_while_two_faces_move() -> None:
    tr = Tracker(iou_threshold=0.3, max_missing_s=1.0)
    ids_left, ids_right = set(), set()
    for i in range(30):
        t = i / 25
        up = tr.update([det(50 + 3 * i, 100), det(400 - 3 * i, 120)], t)
        by_x = sorted(up.active, key=lambda tk: tk.box[0])
        ids_left.add(by_x[0].track_id)
        ids_right.add(by_x[1].track_id)
    assert len(ids_left) == 1 and len(ids_right) == 1 and ids_left != ids_right


def test_motion_prediction_keeps_id_of_fast_face() -> None:
    """A face moving 60 px per frame has IoU < 0.3 with its last box; prediction bridges it."""
    tr = Tracker(iou_threshold=0.3, max_missing_s=1.0)
    ids = set()
    for i in range(12):
        up = tr.update([det(20 + 60 * i, 100)], i / 10)
        ids.add(up.active[0].track_id)
    assert len(ids) == 1


def test_missed_frames_within_lifetime_keep_id_and_longer_gap_ends_track() -> None:
    tr = Tracker(iou_threshold=0.3, max_missing_s=1.0)
    first = tr.update([det(100, 100)], 0.0).active[0].track_id
    assert tr.update([], 0.5).ended == ()
    assert tr.update([det(102, 100)], 0.9).active[0].track_id == first
    up = tr.update([], 2.0)  # unseen for 1.1 s > max_missing_s
    assert [t.track_id for t in up.ended] == [first]
    assert tr.update([det(102, 100)], 2.1).active[0].track_id != first


def test_lifetime_is_seconds_not_frames() -> None:
    """Many frames in a short time do not end a track; few frames over a long time do."""
    tr = Tracker(iou_threshold=0.3, max_missing_s=1.0)
    tr.update([det(100, 100)], 0.0)
    for i in range(1, 200):
        assert tr.update([], i * 0.004).ended == ()  # 200 empty frames within 0.8 s
    assert len(tr.update([], 1.01).ended) == 1


@pytest.mark.parametrize("kwargs", [dict(iou_threshold=0.0, max_missing_s=1.0),
                                    dict(iou_threshold=0.3, max_missing_s=0.0)])
def test_tracker_rejects_bad_arguments(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="must be"):
        Tracker(**kwargs)


# -- gallery ---------------------------------------------------------------------------------

def make_gallery(**overrides: float) -> Gallery:
    params = dict(match_threshold=0.363, votes=3, templates_per_visitor=4, visit_gap_s=5.0,
                  forget_after_s=300.0)
    params.update(overrides)
    return Gallery(**params)  # type: ignore[arg-type]


def identify(g: Gallery, track_id: int, embeddings: list[np.ndarray], t_s: float):
    result = None
    for i, e in enumerate(embeddings):
        result = g.add_pending(track_id, e, t_s + 0.1 * i)
        if i < len(embeddings) - 1:
            assert result is None, "decided before all votes were in"
    return result


def test_new_visitor_then_return_visit_is_recognised() -> None:
    g = make_gallery()
    alice, bob = unit(1), unit(2)
    r1 = identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    assert r1.is_new and r1.visitor_id == 1
    g.seen(1, 5.0, 5.0)
    g.track_ended(1, 1)
    r2 = identify(g, 2, [near(bob, s) for s in (20, 21, 22)], 6.0)
    assert r2.is_new and r2.visitor_id == 2
    r3 = identify(g, 3, [near(alice, s) for s in (30, 31, 32)], 20.0)
    assert not r3.is_new and r3.visitor_id == 1 and r3.is_return
    assert r3.similarity > 0.8
    assert g.get(1).visits == 2 and g.get(1).previous_visit_end_s == 5.0


def test_one_matching_frame_is_not_enough() -> None:
    """Voting: 1 of 3 embeddings matching a visitor does not make a stranger 'seen before'."""
    g = make_gallery()
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    g.track_ended(1, 1)
    stranger = unit(3)
    for i, e in enumerate([near(alice, 40), near(stranger, 41), near(stranger, 42)]):
        assert g.add_pending(2, e, 30.0 + 0.1 * i) is None
    # Unclear evidence: the decision waits, and the screen may say "maybe visitor 0001?".
    assert g.maybe(2) == 1 and g.pending_count(2) == 3
    r = g.add_pending(2, near(stranger, 43), 30.4)
    assert r is not None and r.is_new and r.visitor_id == 2 and g.maybe(2) is None


def test_visitor_in_view_cannot_be_claimed_by_another_track() -> None:
    g = make_gallery()
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)  # still in view (track 1)
    r = identify(g, 2, [near(alice, s) for s in (13, 14, 15)], 1.0)
    assert r.is_new


def test_return_within_visit_gap_continues_the_visit() -> None:
    g = make_gallery(visit_gap_s=5.0)
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    g.seen(1, 2.0, 2.0)
    g.track_ended(1, 1)
    r = identify(g, 2, [near(alice, s) for s in (13, 14, 15)], 4.0)  # back after 2 s
    assert r.visitor_id == 1 and not r.is_return and g.get(1).visits == 1


def test_ttl_erases_visitor_and_zeroes_template_buffer() -> None:
    g = make_gallery(forget_after_s=60.0)
    identify(g, 1, [near(unit(1), s) for s in (10, 11, 12)], 0.0)
    g.seen(1, 10.0, 10.0)
    buffer = g.get(1).templates  # keep a reference: the memory that held the face template
    assert np.abs(buffer).sum() > 0
    g.track_ended(1, 1)
    assert g.expire(69.9) == [] and len(g) == 1  # 59.9 s out of view: still remembered
    gone = g.expire(70.0)
    assert [v.visitor_id for v in gone] == [1] and gone[0].time_in_view_s == 10.0
    assert len(g) == 0
    assert not buffer.any(), "template buffer was not zeroed before it was dropped"


def test_visitor_in_view_is_never_expired() -> None:
    g = make_gallery(forget_after_s=60.0)
    identify(g, 1, [near(unit(1), s) for s in (10, 11, 12)], 0.0)
    assert g.expire(1000.0) == []  # track 1 still active


def test_pending_embeddings_zeroed_when_track_ends_undecided() -> None:
    g = make_gallery()
    g.add_pending(7, unit(1), 0.0)
    pending_buffer = g._pending[7].buffer
    assert pending_buffer.any()
    g.track_ended(7, None)
    assert not pending_buffer.any() and g.pending_count(7) == 0


def test_refresh_only_stores_matching_embeddings() -> None:
    g = make_gallery(templates_per_visitor=8)
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    assert g.get(1).n_templates == 3
    assert g.refresh(1, near(alice, 50)) is True
    assert g.refresh(1, unit(99)) is False
    assert g.get(1).n_templates == 4


def test_template_ring_buffer_is_bounded() -> None:
    g = make_gallery(templates_per_visitor=4)
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    for s in range(20):
        g.refresh(1, near(alice, 100 + s))
    assert g.get(1).n_templates == 4 and g.get(1).templates.shape == (4, 128)


def test_clear_erases_everything() -> None:
    g = make_gallery()
    identify(g, 1, [near(unit(1), s) for s in (10, 11, 12)], 0.0)
    buffer = g.get(1).templates
    g.add_pending(2, unit(5), 0.0)
    pending = g._pending[2].buffer
    gone = g.clear()
    assert len(gone) == 1 and len(g) == 0
    assert not buffer.any() and not pending.any()


# -- evidence, merging, diverse templates ----------------------------------------------------

def blend(a: np.ndarray, b: np.ndarray, wa: float) -> np.ndarray:
    """A face between two looks: cosine to ``a`` grows with ``wa``."""
    v = wa * a + (1.0 - wa) * b
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_a_missed_return_is_merged_later_and_its_buffer_zeroed() -> None:
    """Alice comes back turned away (her first embeddings resemble nobody: a new visitor 2); as
    she turns to the camera her later templates match visitor 1, who is out of view: visitor 2
    is merged into 1 with a new visit ("Welcome back"), and visitor 2's buffer is zeroed."""
    g = make_gallery(templates_per_visitor=8, visit_gap_s=5.0)
    alice, away = unit(1), unit(50)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    g.seen(1, 5.0, 5.0)
    g.track_ended(1, 1)
    r = identify(g, 2, [blend(alice, away, w) for w in (0.1, 0.12, 0.14)], 30.0)
    assert r.is_new and r.visitor_id == 2
    a_buffer = g.get(2).templates
    merge = None
    for k, w in enumerate((0.3, 0.45, 0.6, 0.75, 0.9, 0.95, 1.0, 1.0)):
        g.refresh(2, blend(alice, away, w) if w < 1 else near(alice, 60 + k))
        merge = merge or g.consider_merge(2, 31.0 + k)
    assert merge is not None and (merge.from_id, merge.into_id) == (2, 1) and merge.is_return
    assert g.get(2) is None and len(g) == 1 and g.merges == 1
    v = g.get(1)
    assert v.visits == 2 and v.active_track == 2 and v.previous_visit_end_s == 5.0
    assert not a_buffer.any(), "the merged visitor's template buffer was not zeroed"


def test_no_merge_with_someone_in_view_or_on_thin_evidence() -> None:
    g = make_gallery(templates_per_visitor=8)
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)  # alice still in view (track 1)
    identify(g, 2, [unit(s) for s in (70, 71, 72)], 1.0)  # somebody else: new visitor 2
    g.refresh(2, near(alice, 80))
    assert g.consider_merge(2, 2.0) is None  # visitor 1 is in view: a different person
    g.track_ended(1, 1)
    assert g.consider_merge(2, 3.0) is None  # 1 matching template of 3: no majority


def test_templates_stay_diverse_once_the_buffer_is_full() -> None:
    g = make_gallery(templates_per_visitor=4)
    alice = unit(1)
    identify(g, 1, [near(alice, s) for s in (10, 11, 12)], 0.0)
    profile = blend(alice, unit(90), 0.75)  # a different view of her, still matching
    assert g.refresh(1, profile)
    for s in range(20):  # twenty near-identical frontal frames do not push the other view out
        g.refresh(1, near(alice, 100 + s, noise=0.01))
    t = g.get(1).templates
    assert g.get(1).n_templates == 4
    assert float((t @ profile).max()) > 0.999, "the distinct view was replaced by a redundant one"
