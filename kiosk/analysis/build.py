"""The composition root: configuration + verified model files -> a wired :class:`FaceAnalyzer`.

This is the one place that decides which estimators exist (what the configuration switches off
is never constructed, so never computed) and the one place that asks for onnxruntime sessions
(:func:`_session`, over :func:`kiosk.models.create_session`, the one session factory). The
threading module (:mod:`kiosk.pipeline`) receives a finished analyzer and knows nothing of models.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.analysis.attributes import AttributeEngine, Estimators
from kiosk.config import Config
from kiosk.detect.align import align_face
from kiosk.detect.yunet import YuNetDetector
from kiosk.infer.embed import SFaceEmbedder
from kiosk.models import ModelStore, create_session
from kiosk.privacy.policy import wipe
from kiosk.track.watchlist import Watchlist, load_calibration, portrait_detector

log = logging.getLogger(__name__)


def _session(cfg: Config, store: ModelStore, name: str) -> Any:
    """A verified model's onnxruntime session with the configured providers and threads."""
    rt = cfg.runtime
    return create_session(store.require(name), list(rt.providers), rt.intra_op_threads)


def build_analyzer(cfg: Config, store: ModelStore) -> FaceAnalyzer:
    """Load and verify the models the configuration needs and wire them into an analyzer."""
    det_cfg = cfg.detector
    detector = YuNetDetector(
        _session(cfg, store, "yunet"),
        input_width=det_cfg.input_width,
        score_threshold=det_cfg.score_threshold,
        nms_iou_threshold=det_cfg.nms_iou_threshold,
        top_k=det_cfg.top_k,
        min_face_px=det_cfg.min_face_px,
    )
    embed = None
    watchlist = None
    if cfg.recognition.enabled or cfg.watchlist.enabled:
        embedder = SFaceEmbedder(_session(cfg, store, "sface"))
        if cfg.watchlist.enabled:
            watchlist = build_watchlist(cfg, store, embedder)

        def embed(image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
            crops = [align_face(image, lm) for lm in landmarks]
            out = embedder.embed(crops)
            for crop in crops:  # aligned face crops are erased as soon as they are used
                wipe(crop)
            return out

    return FaceAnalyzer(cfg, detector.detect, embed, build_attributes(cfg, store), watchlist)


def build_watchlist(cfg: Config, store: ModelStore, embedder: object) -> Watchlist:
    """Embed the operator's portrait folder at start-up (held in RAM only)."""
    assert cfg.watchlist.dir is not None  # the config refuses enabled without a folder
    detector = portrait_detector(_session(cfg, store, "yunet"))
    watchlist = Watchlist.from_folder(cfg.watchlist.dir, detector, embedder,
                                      calibration=load_calibration("sface"))
    log.info("watchlist: %d portraits from %s (%d skipped)", watchlist.size, cfg.watchlist.dir,
             len(watchlist.skipped))
    return watchlist


def build_attributes(cfg: Config, store: ModelStore) -> AttributeEngine | None:
    """Create only the estimators the configuration switches on (what is off is never computed).

    The estimator modules are imported only when switched on (as they always were): a kiosk
    with an estimator off does not load its code or its dependencies.
    """
    ac = cfg.attributes
    est = Estimators()
    if ac.age or ac.gender:
        from kiosk.infer.age_gender import AgeGenderEstimator, age_summary, gender_summary
        ag = AgeGenderEstimator(
            _session(cfg, store, "age") if ac.age else None,
            _session(cfg, store, "gender") if ac.gender else None,
        )
        if ac.age:
            est.age, est.age_summary = ag.age_probs, age_summary
        if ac.gender:
            est.gender, est.gender_summary = ag.gender_probs, gender_summary
        _use_calibration(est, store, ac.age, ac.gender)
    if ac.expression:
        from kiosk.infer.expression import ExpressionEstimator, expression_summary
        ex = ExpressionEstimator(_session(cfg, store, "expression"))
        est.expression, est.expression_summary = ex.probabilities, expression_summary
    if ac.quality:
        from kiosk.infer.quality import face_quality
        est.quality = face_quality
    if ac.mesh:
        from kiosk.infer.face_signals import FaceSignalTracker
        from kiosk.infer.mesh import FaceMesher
        mesher = FaceMesher()
        est.mesh = mesher.run
        est.closers.append(mesher.close)
        est.signal_tracker = lambda: FaceSignalTracker(look_threshold_deg=ac.gaze_threshold_deg,
                                                       smoothing_tau_s=ac.mesh_smoothing_s)
    engine = AttributeEngine(ac, est)
    return engine if engine.active else None


def _use_calibration(est: Estimators, store: ModelStore, age: bool, gender: bool) -> None:
    """Swap in the calibrated summaries (80 % range, calibrated gender probability) when
    ``models/age_gender_calibration.yaml`` was fitted for these model files; otherwise the cards
    show the age without a range and the gender without a percentage (kiosk.infer.uncertainty)."""
    from kiosk.infer.uncertainty import age_estimate, calibration_for, gender_estimate

    cal = calibration_for(store.entry("age").final_sha256 if age else None,
                          store.entry("gender").final_sha256 if gender else None)
    if age:
        est.age_summary = lambda p: age_estimate(cal, p)
    if gender:
        est.gender_given_age = lambda p, years: gender_estimate(cal, p, years)
