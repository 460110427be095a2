"""Immutable values that flow between the kiosk's stages.

capture thread  -> Frame
inference thread: Frame -> [Detection] -> tracker/gallery -> Snapshot
main thread     <- Snapshot (read-only; the UI never mutates it)

Conventions: boxes are ``xyxy`` in frame pixels, images are BGR ``uint8`` until the UI, times
are seconds on the pipeline clock (``*_s``). Embeddings never appear in these types: they stay
inside the inference thread's tracker and gallery (see ``kiosk.privacy.policy``).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class DetectorInput:
    """The detector's network input for one frame, made on the capture thread.

    ``blob`` is the ``[1, 3, H, W]`` float32 BGR input (read-only): the frame shrunk to
    ``resized_w`` x ``resized_h`` (``input_width`` wide) and zero-padded to multiples of 32, as
    :meth:`kiosk.detect.yunet.YuNetDetector.preprocess` makes it. The capture thread makes it
    while the inference thread is busy with the previous frame, the way picamera2 hands over a
    low-resolution stream beside the full one; a detector uses it only if it would have made
    exactly this input itself (same width and size), and makes its own otherwise.
    """

    input_width: int
    resized_w: int
    resized_h: int
    blob: np.ndarray


@dataclass(frozen=True, slots=True)
class Frame:
    """One camera image.

    ``image`` is HxWx3 uint8 BGR, C-contiguous and marked read-only, so stages can share it
    without copying. ``t_s`` is the capture time on the pipeline clock: monotonic seconds for
    live and paced sources, ``index / fps`` for sources replayed as fast as possible, so that
    tracking and forgetting behave the same whatever the processing speed.
    """

    image: np.ndarray
    index: int
    t_s: float
    #: Made on the capture thread when the analyzer asks for it (``FaceAnalyzer.prepare``).
    detector_input: DetectorInput | None = None

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True, slots=True)
class Detection:
    """One face found by the detector.

    ``landmarks_px`` is (5, 2) float32 in YuNet's order: subject's right eye (image left),
    left eye, nose tip, right mouth corner, left mouth corner.
    """

    box_xyxy: tuple[float, float, float, float]
    landmarks_px: np.ndarray
    score: float

    @property
    def width_px(self) -> float:
        return self.box_xyxy[2] - self.box_xyxy[0]

    @property
    def height_px(self) -> float:
        return self.box_xyxy[3] - self.box_xyxy[1]


EXPRESSIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
"""The expression model's 7 classes (FER2013), in its output order."""


@dataclass(frozen=True, slots=True)
class AgeEstimate:
    """Apparent age in years: the expected value and a range around it.

    ``coverage`` is the share of faces whose true age the range was *measured* to contain (0.8
    for the conformal range of ``kiosk.infer.uncertainty``); None when the range is only the
    model's own central interval, which no card may present as an "80 % range".
    """

    years: float
    low: float
    high: float
    confidence: float  # probability of the most likely class
    coverage: float | None = None


@dataclass(frozen=True, slots=True)
class GenderEstimate:
    """The model's binary guess (it knows only 'female' / 'male') and its probability.

    ``calibrated``: ``probability`` is a calibrated one (``kiosk.infer.uncertainty``), so it may
    be shown as a percentage; otherwise it is the raw softmax and is never shown. ``band`` and
    ``band_accuracy``: the predicted age band and how often the guess was right for faces in it
    on labelled test faces ("how often it is right for faces like yours").
    """

    value: str
    probability: float
    calibrated: bool = False
    band: str | None = None
    band_accuracy: float | None = None


@dataclass(frozen=True, slots=True)
class ExpressionEstimate:
    """Probabilities of the 7 expression classes, in ``EXPRESSIONS`` order. Not an emotion."""

    probabilities: tuple[float, ...]

    @property
    def top(self) -> str:
        return EXPRESSIONS[max(range(len(self.probabilities)), key=self.probabilities.__getitem__)]


@dataclass(frozen=True, slots=True)
class HeadPose:
    """Degrees; yaw > 0: the subject turns to their left (image right), pitch > 0: looks up."""

    yaw_deg: float
    pitch_deg: float
    roll_deg: float


@dataclass(frozen=True, slots=True)
class Gaze:
    """Eye direction in degrees (same signs as HeadPose) and whether it meets the screen."""

    yaw_deg: float
    pitch_deg: float
    at_screen: bool
    attention_s: float  # accumulated time this track looked at the screen


@dataclass(frozen=True, slots=True)
class FaceState:
    """Eyes and mouth from the face mesh."""

    eyes_open: bool
    eye_openness: float  # 0..1
    blinks: int
    blinks_per_min: float
    smile: float  # 0..1
    smiling: bool
    mouth_open: bool
    mouth_openness: float  # 0..1


@dataclass(frozen=True, slots=True)
class Quality:
    """Image quality of the face crop, 0..100 (Rekognition's scale)."""

    brightness: float
    sharpness: float


@dataclass(frozen=True, slots=True)
class Attributes:
    """Everything guessed about one tracked face; a field is None when it is off or not yet known."""

    age: AgeEstimate | None = None
    gender: GenderEstimate | None = None
    expression: ExpressionEstimate | None = None
    pose: HeadPose | None = None
    gaze: Gaze | None = None
    face: FaceState | None = None
    quality: Quality | None = None
    # Face-mesh points in frame pixels, (478, 2) float32, read-only; for drawing. An array, not
    # tuples: 478 tuples per mesh cost the inference thread ~0.2 ms and the screen converted
    # them back to an array to draw them (docs/PERFORMANCE.md, "Cost over the floor, round 5").
    # Left out of == and hash (an array has neither in the dataclass sense).
    mesh_px: np.ndarray | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class WatchlistMatch:
    """One watchlist portrait close to a visitor: cosine score, and whether it passes the threshold."""

    name: str
    score: float
    passes: bool


@dataclass(frozen=True, slots=True)
class FaceView:
    """What the UI and the report may know about one face in view.

    ``visitor_id`` is None while the track is still being identified (or when re-identification
    is off). ``visit_number`` counts this visitor's visits including the current one.
    """

    track_id: int
    box_xyxy: tuple[float, float, float, float]
    landmarks_px: tuple[tuple[float, float], ...]
    score: float
    visitor_id: int | None
    visit_number: int
    is_return: bool
    track_age_s: float
    time_in_view_s: float
    last_visit_end_s: float | None
    attributes: Attributes = field(default_factory=Attributes)
    watchlist: tuple[WatchlistMatch, ...] = ()
    consented: bool = True  # False: privacy.consent is "required" and this visitor has not agreed
    # While undecided: the remembered visitor the evidence leans to ("maybe visitor 0003?").
    maybe_visitor_id: int | None = None
    # Seconds since ``visitor_id`` (and ``is_return``) was given; a later merge restarts it.
    identified_age_s: float | None = None


@dataclass(frozen=True, slots=True)
class VisitorView:
    """A remembered visitor as the UI and the report may see it (no embedding)."""

    visitor_id: int
    first_seen_s: float
    last_seen_s: float
    visits: int
    time_in_view_s: float
    in_view: bool
    forget_at_s: float


@dataclass(frozen=True, slots=True)
class StageTimes:
    """Milliseconds spent per stage on the most recent processed frame."""

    detect_ms: float = 0.0
    track_ms: float = 0.0
    embed_ms: float = 0.0
    attributes_ms: float = 0.0  # age, gender, expression, quality
    mesh_ms: float = 0.0  # face mesh and the signals derived from it
    watchlist_ms: float = 0.0
    total_ms: float = 0.0


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Everything the inference thread concluded about one frame; published whole, never mutated."""

    frame_index: int
    t_s: float
    frame_size: tuple[int, int]  # (width, height)
    faces: tuple[FaceView, ...] = ()
    visitors: tuple[VisitorView, ...] = ()
    times: StageTimes = field(default_factory=StageTimes)
    inference_fps: float = 0.0
    frames_processed: int = 0
    frames_dropped: int = 0
    # Recent corrections (from_id, into_id): a visitor found to be someone already remembered.
    merges: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class SourceStatus:
    """What the UI shows about the camera (published by the capture thread through the frame slot).

    ``since_s`` is the ``time.monotonic()`` at which ``ok`` last changed (so the UI can say
    "camera lost for 40 s"); ``reconnects`` counts reopen attempts after faults since start.
    """

    ok: bool
    message: str
    since_s: float
    reconnects: int


#: OpenCV's published cosine threshold for "same person" with SFace: the default of
#: ``recognition.match_threshold`` and ``watchlist.threshold``, the fixed threshold ``kiosk eval lfw``
#: reports accuracy at, and a rate ``kiosk eval calibrate`` always reports. One home for the number.
SAME_PERSON_COSINE = 0.363
