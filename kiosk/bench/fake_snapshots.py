"""Synthetic snapshots for screen tests, screenshots and the draw-time benchmark.

The estimators that fill ``Attributes`` and ``watchlist`` are built separately; until they run in
the pipeline, the screen is exercised with snapshots whose values are *made up but plausible*
(documented per person below). Nothing here is a measurement and nothing here is used by the
running kiosk.

``placeholder_fmr`` is an illustrative false-match-rate curve for tests and screenshots only:
the upper tail of a normal distribution of impostor cosine scores (mean 0.06, sd 0.09, chosen so
that OpenCV's SFace threshold 0.363 gives about 4e-4). The calibrated curve comes from
``kiosk.track.watchlist``; the screen labels figures from an uncalibrated curve "illustrative".
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace

from kiosk.age_bands import AGE_BANDS, age_band
from kiosk.types import (
    EXPRESSIONS,
    SAME_PERSON_COSINE,
    AgeEstimate,
    Attributes,
    ExpressionEstimate,
    FaceState,
    FaceView,
    Gaze,
    GenderEstimate,
    HeadPose,
    Quality,
    Snapshot,
    StageTimes,
    VisitorView,
    WatchlistMatch,
)

PLACEHOLDER_IMPOSTOR_MEAN = 0.06
PLACEHOLDER_IMPOSTOR_SD = 0.09
WATCHLIST_THRESHOLD = SAME_PERSON_COSINE  # OpenCV's SFace same-person threshold, used as the kiosk's mark


def placeholder_fmr(threshold: float) -> float:
    """Illustrative (not calibrated) false-match rate at a cosine threshold: P(impostor >= t)."""
    z = (threshold - PLACEHOLDER_IMPOSTOR_MEAN) / PLACEHOLDER_IMPOSTOR_SD
    return 0.5 * math.erfc(z / math.sqrt(2))


def expression(top: str, p: float) -> ExpressionEstimate:
    """Probabilities with ``top`` at ``p`` and the rest spread evenly."""
    rest = (1.0 - p) / (len(EXPRESSIONS) - 1)
    return ExpressionEstimate(tuple(p if e == top else rest for e in EXPRESSIONS))


@dataclass(frozen=True, slots=True)
class Persona:
    """Made-up but plausible guesses for one demo person (what such models typically say)."""

    age: float
    age_low: float
    age_high: float
    gender: str
    gender_p: float
    expression: str
    expression_p: float
    at_screen: bool
    watchlist: tuple[tuple[str, float], ...]


PERSONAS: dict[str, Persona] = {
    # Ranges as wide as the calibrated 80 % ranges are at these ages; gender probabilities as
    # calibrated ones (which rarely exceed 0.95); see kiosk/infer/uncertainty.py.
    "astronaut": Persona(39, 29, 53, "female", 0.91, "happy", 0.71, True,
                         (("Portrait 0173", 0.27), ("Portrait 0098", 0.21), ("Portrait 0311", 0.17))),
    "obama": Persona(52, 40, 67, "male", 0.95, "neutral", 0.58, False,
                     (("Portrait 0412", 0.31), ("Portrait 0027", 0.24), ("Portrait 0150", 0.19))),
    "biden": Persona(63, 50, 76, "male", 0.93, "happy", 0.64, True,
                     (("Portrait 0236", 0.41), ("Portrait 0412", 0.29), ("Portrait 0009", 0.22))),
    "visitor": Persona(31, 22, 44, "female", 0.81, "surprise", 0.44, True,
                       (("Portrait 0311", 0.24), ("Portrait 0173", 0.18), ("Portrait 0066", 0.15))),
}


# Gender accuracy measured per age band: rounded from models/age_gender_calibration.yaml.
_BAND_ACCURACY = dict(zip(AGE_BANDS, (0.68, 0.84, 0.93, 0.95, 0.87), strict=True))


def landmarks_for(box: tuple[float, float, float, float]) -> tuple[tuple[float, float], ...]:
    """Five plausible YuNet points inside a face box (eyes, nose tip, mouth corners)."""
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    return ((x0 + 0.32 * w, y0 + 0.40 * h), (x0 + 0.68 * w, y0 + 0.40 * h), (x0 + 0.50 * w, y0 + 0.58 * h),
            (x0 + 0.36 * w, y0 + 0.76 * h), (x0 + 0.64 * w, y0 + 0.76 * h))


def attributes_for(persona: Persona, time_in_view_s: float, full: bool = True) -> Attributes:
    """Attributes for a persona; ``full`` False leaves the slow estimators "not yet known"."""
    age = AgeEstimate(persona.age, persona.age_low, persona.age_high, 0.12, coverage=0.8)
    if not full:
        return Attributes(age=age)
    blinks = int(time_in_view_s * 0.22)
    band = age_band(persona.age)
    return Attributes(
        age=age,
        gender=GenderEstimate(persona.gender, persona.gender_p, calibrated=True, band=band, band_accuracy=_BAND_ACCURACY[band]),
        expression=expression(persona.expression, persona.expression_p),
        pose=HeadPose(4.0 if persona.at_screen else 24.0, -3.0, 1.5),
        gaze=Gaze(2.0 if persona.at_screen else 21.0, -4.0, persona.at_screen, time_in_view_s * (0.7 if persona.at_screen else 0.2)),
        face=FaceState(True, 0.8, blinks, 13.0, 0.7 if persona.expression == "happy" else 0.1,
                       persona.expression == "happy", False, 0.1),
        quality=Quality(62.0, 71.0),
    )


def face_view(track_id: int, box: tuple[float, float, float, float], visitor_id: int | None, persona: Persona,
              time_in_view_s: float = 12.0, visit_number: int = 1, is_return: bool = False,
              track_age_s: float | None = None, last_visit_end_s: float | None = None,
              full: bool = True, threshold: float = WATCHLIST_THRESHOLD) -> FaceView:
    return FaceView(
        track_id=track_id, box_xyxy=box, landmarks_px=landmarks_for(box), score=0.92, visitor_id=visitor_id,
        visit_number=visit_number, is_return=is_return,
        track_age_s=time_in_view_s if track_age_s is None else track_age_s,
        time_in_view_s=time_in_view_s, last_visit_end_s=last_visit_end_s,
        attributes=attributes_for(persona, time_in_view_s, full),
        watchlist=tuple(WatchlistMatch(n, s, s >= threshold) for n, s in persona.watchlist) if full else (),
    )


def anonymous(face: FaceView) -> FaceView:
    """The face as the analyzer reports it before consent (``privacy.consent: required``): box,
    landmarks and time in view from the detector and tracker, and nothing else."""
    return replace(face, visitor_id=None, visit_number=1, is_return=False, last_visit_end_s=None,
                   time_in_view_s=face.track_age_s, attributes=Attributes(), watchlist=(), consented=False)


def visitor_view(face: FaceView, t_s: float, forget_after_s: float = 300.0) -> VisitorView:
    assert face.visitor_id is not None
    return VisitorView(visitor_id=face.visitor_id, first_seen_s=t_s - face.time_in_view_s, last_seen_s=t_s,
                       visits=face.visit_number, time_in_view_s=face.time_in_view_s, in_view=True,
                       forget_at_s=t_s + forget_after_s)


def gone_visitor(visitor_id: int, last_seen_s: float, forget_after_s: float = 300.0, visits: int = 1) -> VisitorView:
    return VisitorView(visitor_id=visitor_id, first_seen_s=last_seen_s - 20.0, last_seen_s=last_seen_s,
                       visits=visits, time_in_view_s=20.0, in_view=False, forget_at_s=last_seen_s + forget_after_s)


def snapshot(frame_index: int, t_s: float, faces: tuple[FaceView, ...], frame_size: tuple[int, int] = (640, 480),
             gone: tuple[VisitorView, ...] = (), forget_after_s: float = 300.0) -> Snapshot:
    """A snapshot with ``faces`` in view and ``gone`` visitors remembered but not in view."""
    visitors = tuple(visitor_view(f, t_s, forget_after_s) for f in faces if f.visitor_id is not None) + gone
    return Snapshot(frame_index=frame_index, t_s=t_s, frame_size=frame_size, faces=faces, visitors=visitors,
                    times=StageTimes(detect_ms=4.1, track_ms=0.3, embed_ms=11.8, total_ms=17.2),
                    inference_fps=9.5, frames_processed=frame_index, frames_dropped=frame_index // 3)


def four_faces(frame_size: tuple[int, int] = (640, 480), t_s: float = 100.0, frame_index: int = 10) -> Snapshot:
    """Four visitors side by side (the benchmark's and the layout tests' crowded case)."""
    fw, fh = frame_size
    names = ("astronaut", "obama", "biden", "visitor")
    faces = []
    for i, name in enumerate(names):
        cx = fw * (0.14 + 0.24 * i)
        size = fh * (0.22 - 0.025 * i)
        cy = fh * (0.40 + 0.03 * (i % 2))
        box = (cx - size * 0.4, cy - size / 2, cx + size * 0.4, cy + size / 2)
        faces.append(face_view(i + 1, box, 40 + i, PERSONAS[name], time_in_view_s=10.0 + 7 * i,
                               visit_number=1 + (i == 2) * 2, is_return=(i == 2), track_age_s=30.0,
                               last_visit_end_s=t_s - 250.0 if i == 2 else None))
    return snapshot(frame_index, t_s, tuple(faces), frame_size)


class DemoStory:
    """Snapshots for the built-in demo scene, from its ground truth instead of the models.

    Faces come from ``DemoScene.people_at`` (exact boxes), identities from the scene's labels
    (each person keeps one visitor id), visits from the gaps in their presence, and the guesses
    from ``PERSONAS``. Pipeline time is scene time. This drives the screenshots and end-to-end
    screen tests with real camera pictures while the estimators are not yet in the pipeline.
    """

    VISITOR_IDS: dict[str, int] = {"obama": 1, "astronaut": 2, "biden": 3}

    def __init__(self, scene: object, step_s: float = 0.1, visit_gap_s: float = 3.0,
                 forget_after_s: float = 300.0, loop_s: float = 48.0,
                 consented: frozenset[str] | None = None) -> None:
        self.scene = scene
        self.forget_after_s = forget_after_s
        # None: everyone is analysed (consent implied); else only these labels have consented
        # (the others are anonymous boxes and, never identified, are never remembered).
        self.consented = consented
        self.frame_size = (int(scene.width), int(scene.height))  # type: ignore[attr-defined]
        # Presence intervals per label, sampled once over one loop of the timeline.
        self.intervals: dict[str, list[list[float]]] = {}
        t = 0.0
        while t <= loop_s:
            for label, _ in scene.people_at(t):  # type: ignore[attr-defined]
                spans = self.intervals.setdefault(label, [])
                if spans and t - spans[-1][1] <= visit_gap_s:
                    spans[-1][1] = t
                else:
                    spans.append([t, t])
            t = round(t + step_s, 6)

    def snapshot(self, t_s: float, frame_index: int) -> Snapshot:
        faces: list[FaceView] = []
        gone: list[VisitorView] = []
        for label, box in self.scene.people_at(t_s):  # type: ignore[attr-defined]
            spans = [s for s in self.intervals.get(label, []) if s[0] <= t_s]
            if not spans:
                continue
            current = spans[-1]
            before = spans[:-1]
            in_view_s = sum(e - s for s, e in before) + (t_s - current[0])
            vid = self.VISITOR_IDS.get(label, 9)
            face = face_view(
                vid * 10, box, vid, PERSONAS.get(label, PERSONAS["visitor"]), time_in_view_s=in_view_s,
                visit_number=len(spans), is_return=len(spans) > 1, track_age_s=t_s - current[0],
                last_visit_end_s=before[-1][1] if before else None, full=(t_s - current[0]) > 1.0)
            faces.append(face if self.consented is None or label in self.consented else anonymous(face))
        present = {f.visitor_id for f in faces}
        for label, spans in self.intervals.items():
            if self.consented is not None and label not in self.consented:
                continue
            vid = self.VISITOR_IDS.get(label, 9)
            past = [s for s in spans if s[1] < t_s]
            if vid in present or not past or t_s - past[-1][1] > self.forget_after_s:
                continue
            gone.append(gone_visitor(vid, past[-1][1], self.forget_after_s, visits=len(past)))
        return snapshot(frame_index, t_s, tuple(faces), self.frame_size, tuple(gone), self.forget_after_s)
