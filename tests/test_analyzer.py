"""FaceAnalyzer driven frame by frame with scripted detections, scripted embeddings and a fake clock."""
from __future__ import annotations

import numpy as np

from kiosk.analysis.analyzer import MAX_EMBEDS_PER_FRAME, FaceAnalyzer
from kiosk.config import config_from_mapping
from kiosk.types import Detection, Frame

FPS = 10.0
# Texture, not a flat image: the quality gate (kiosk.track.face_quality) rightly refuses to embed
# a face with no detail at all.
IMAGE = np.random.default_rng(7).integers(0, 256, (480, 640, 3), dtype=np.uint8)


def unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).standard_normal(128).astype(np.float32)
    return v / np.linalg.norm(v)


class Script:
    """Who is where at each frame; embeddings of a person are noisy copies of their identity."""

    def __init__(self, timeline: dict[str, list[tuple[float, float, float]]]) -> None:
        # person -> list of (start_s, end_s, x) spans
        self.timeline = timeline
        self.identity = {p: unit(i) for i, p in enumerate(sorted(timeline))}
        self.rng = np.random.default_rng(0)
        self.embed_calls = 0
        self.t_s = 0.0

    def people(self, t_s: float) -> list[tuple[str, float]]:
        return [(p, x) for p, spans in self.timeline.items()
                for start, end, x in spans if start <= t_s < end]

    def detect(self, _image: np.ndarray) -> list[Detection]:
        out = []
        for person, x in self.people(self.t_s):
            lm = np.array([[x + 30, 140], [x + 70, 140], [x + 50, 160], [x + 35, 180], [x + 65, 180]],
                          dtype=np.float32)
            lm[0, 1] += sorted(self.timeline).index(person) * 1e-3  # tags the person for embed()
            out.append(Detection((x, 100.0, x + 100.0, 200.0), lm, 0.95))
        return out

    def embed(self, _image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
        self.embed_calls += 1
        rows = []
        for lm in landmarks:
            person = sorted(self.timeline)[round((lm[0, 1] - 140) * 1e3)]
            v = self.identity[person] + 0.05 * self.rng.standard_normal(128).astype(np.float32)
            rows.append(v / np.linalg.norm(v))
        return np.stack(rows).astype(np.float32)


def run(script: Script, cfg_overrides: dict, duration_s: float) -> tuple[FaceAnalyzer, list]:
    cfg = config_from_mapping(cfg_overrides)
    analyzer = FaceAnalyzer(cfg, script.detect, script.embed)
    snaps = []
    for i in range(int(duration_s * FPS)):
        script.t_s = i / FPS
        snaps.append(analyzer.process(Frame(IMAGE, i, script.t_s)))
    return analyzer, snaps


BASE = {"recognition": {"votes": 3, "sample_interval_s": 0.2, "refresh_interval_s": 2.0,
                        "visit_gap_s": 3.0},
        "tracking": {"max_missing_s": 1.0},
        "privacy": {"forget_after_s": 30.0}}


def test_two_visitors_and_a_welcome_back() -> None:
    script = Script({"alice": [(0.0, 5.0, 100.0), (12.0, 16.0, 120.0)],
                     "bob": [(3.0, 10.0, 400.0)]})
    analyzer, snaps = run(script, BASE, 18.0)
    ids_by_time = {round(s.t_s, 1): {f.visitor_id for f in s.faces} for s in snaps}
    alice_id = next(iter(ids_by_time[2.0] - {None}))
    bob_id = next(iter(ids_by_time[8.0] - {None}))
    assert alice_id != bob_id
    back = [f for s in snaps if 13.0 <= s.t_s < 16.0 for f in s.faces]
    assert back and all(f.visitor_id == alice_id and f.is_return and f.visit_number == 2 for f in back)
    assert back[0].last_visit_end_s is not None and 4.8 <= back[0].last_visit_end_s <= 5.0
    visitors = {v.visitor_id: v for v in snaps[-1].visitors}
    assert visitors[alice_id].visits == 2 and visitors[bob_id].visits == 1
    # Time in view is the sum of both visits (5 s + 4 s), measured on the frame clock.
    assert abs(visitors[alice_id].time_in_view_s - 9.0) < 0.3


def test_identified_after_votes_and_embedded_on_schedule_not_every_frame() -> None:
    script = Script({"alice": [(0.0, 10.0, 100.0)]})
    analyzer, snaps = run(script, BASE, 10.0)
    # Identified once 3 embeddings spaced 0.2 s apart are in (frames at 0.0, 0.2, 0.4).
    assert snaps[3].faces[0].visitor_id is None and snaps[4].faces[0].visitor_id is not None
    # 100 frames: 3 identification embeddings; a new visitor is then sampled every 0.4 s for
    # 4 s (0.8 ... 4.4: diverse templates, and merge evidence), then refreshed every 2 s (6.4, 8.4).
    assert analyzer.embeddings_computed == 15
    assert script.embed_calls == 15


def test_embedding_budget_per_frame() -> None:
    """Five people arriving in one frame never cost more than MAX_EMBEDS_PER_FRAME embeddings."""
    script = Script({f"p{i}": [(0.0, 5.0, 10.0 + 120.0 * i)] for i in range(5)})
    cfg = config_from_mapping(BASE)
    analyzer = FaceAnalyzer(cfg, script.detect, script.embed)
    before = 0
    for i in range(30):
        script.t_s = i / FPS
        analyzer.process(Frame(IMAGE, i, script.t_s))
        assert analyzer.embeddings_computed - before <= MAX_EMBEDS_PER_FRAME
        before = analyzer.embeddings_computed
    assert len({f.visitor_id for f in analyzer.process(Frame(IMAGE, 30, 3.0)).faces}) == 5


def test_recognition_disabled_never_embeds() -> None:
    script = Script({"alice": [(0.0, 3.0, 100.0)]})
    analyzer, snaps = run(script, {**BASE, "recognition": {"enabled": False}}, 3.0)
    assert script.embed_calls == 0 and len(analyzer.gallery) == 0
    assert all(f.visitor_id is None for s in snaps for f in s.faces)
    assert len({f.track_id for s in snaps for f in s.faces}) == 1


def test_visitor_forgotten_after_ttl_even_without_frames() -> None:
    script = Script({"alice": [(0.0, 2.0, 100.0)]})
    analyzer, _ = run(script, BASE, 2.0)
    templates = analyzer.gallery.visitors[0].templates
    analyzer.tick(2.0 + 29.0)
    assert len(analyzer.gallery) == 1
    analyzer.tick(2.0 + 31.0)  # camera stalled: time still passes, the visitor is erased
    assert len(analyzer.gallery) == 0 and not templates.any()
    assert [v.visits for v in analyzer.forgotten] == [1]


def test_close_erases_everything() -> None:
    script = Script({"alice": [(0.0, 2.0, 100.0)], "bob": [(0.0, 0.3, 400.0)]})
    analyzer, _ = run(script, BASE, 2.0)
    buffers = [v.templates for v in analyzer.gallery.visitors]
    analyzer.close()
    assert len(analyzer.gallery) == 0 and all(not b.any() for b in buffers)


def test_consent_required_computes_nothing_until_given_and_ends_with_the_track() -> None:
    from kiosk.analysis.attributes import AttributeEngine, Estimators

    calls = {"age": 0}

    def age(image: np.ndarray, landmarks: list) -> np.ndarray:
        calls["age"] += 1
        return np.full((len(landmarks), 81), 1 / 81)

    script = Script({"alice": [(0.0, 4.0, 100.0), (8.0, 10.0, 100.0)]})
    cfg = config_from_mapping({**BASE, "privacy": {"forget_after_s": 30.0, "consent": "required"}})
    engine = AttributeEngine(cfg.attributes, Estimators(age=age, age_summary=lambda p: None))
    analyzer = FaceAnalyzer(cfg, script.detect, script.embed, engine)

    def step(i: int):
        script.t_s = i / FPS
        return analyzer.process(Frame(IMAGE, i, script.t_s))

    before = [step(i) for i in range(20)]  # 2 s in view without consent
    assert script.embed_calls == 0 and calls["age"] == 0 and len(analyzer.gallery) == 0
    assert all(not f.consented and f.visitor_id is None for s in before for f in s.faces)
    analyzer.request_consent()  # e.g. from the UI thread
    after = [step(i) for i in range(20, 40)]
    assert script.embed_calls > 0 and calls["age"] > 0 and len(analyzer.gallery) == 1
    assert after[-1].faces[0].consented and after[-1].faces[0].visitor_id is not None
    embeds = script.embed_calls
    # She leaves (track ends) and comes back: consent ended with the track.
    back = [step(i) for i in range(40, 100)]
    assert script.embed_calls == embeds
    assert all(not f.consented for s in back for f in s.faces)


def test_consent_for_one_track_analyses_that_face_only() -> None:
    script = Script({"alice": [(0.0, 6.0, 100.0)], "bob": [(0.0, 6.0, 400.0)]})
    cfg = config_from_mapping({**BASE, "privacy": {"forget_after_s": 30.0, "consent": "required"}})
    analyzer = FaceAnalyzer(cfg, script.detect, script.embed)

    def step(i: int):
        script.t_s = i / FPS
        return analyzer.process(Frame(IMAGE, i, script.t_s))

    snap = [step(i) for i in range(5)][-1]
    bob = next(f.track_id for f in snap.faces if f.box_xyxy[0] > 300)
    analyzer.request_consent(bob)
    analyzer.request_consent(999)  # a track that is gone: grants nothing to anyone
    after = [step(i) for i in range(5, 40)][-1]
    assert {f.track_id: f.consented for f in after.faces} == {bob: True, next(f.track_id for f in after.faces if f.track_id != bob): False}
    assert len(analyzer.gallery) == 1
    analyzer.request_consent()  # no track given (the A key without a position): the largest waiting face
    last = [step(i) for i in range(40, 45)][-1]
    assert all(f.consented for f in last.faces)


def test_mesh_points_reach_the_snapshot_as_a_read_only_array() -> None:
    """The mesh's x, y in frame pixels arrive as one (478, 2) float32 array the screen cannot
    change (it is shared with the screen's thread), and faces holding meshes still compare and
    hash (the points are left out of ==)."""
    from dataclasses import replace

    from kiosk.analysis.attributes import AttributeEngine, Estimators

    def mesh(image: np.ndarray, box: tuple) -> np.ndarray:
        pts = np.zeros((478, 3), np.float32)
        pts[:, 0] = np.linspace(box[0], box[2], 478)
        pts[:, 1] = box[1]
        return pts

    script = Script({"alice": [(0.0, 2.0, 100.0)]})
    cfg = config_from_mapping(BASE)
    analyzer = FaceAnalyzer(cfg, script.detect, script.embed, AttributeEngine(cfg.attributes, Estimators(mesh=mesh)))
    snaps = []
    for i in range(5):
        script.t_s = i / FPS
        snaps.append(analyzer.process(Frame(IMAGE, i, script.t_s)))
    face = snaps[-1].faces[0]
    pts = face.attributes.mesh_px
    assert pts is not None and pts.shape == (478, 2) and pts.dtype == np.float32
    assert not pts.flags.writeable
    x1, y1, x2, _ = face.box_xyxy
    np.testing.assert_allclose(pts[[0, -1]], [(x1, y1), (x2, y1)], atol=1e-3)  # where the mesh put them
    other = replace(face.attributes, mesh_px=pts + 1.0)
    assert other == face.attributes and hash(other) == hash(face.attributes)
