"""The composition root: configuration + verified model files -> a wired :class:`FaceAnalyzer`.

This is the one place that decides which estimators exist (what the configuration switches off
is never constructed, so never computed) and the one place that asks for onnxruntime sessions
(:func:`_session`, over :func:`kiosk.models.create_session`, the one session factory). The
threading module (:mod:`kiosk.pipeline`) receives a finished analyzer, or (``kiosk run``) a function that
builds one on its inference thread, and knows nothing of models.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from kiosk.analysis.analyzer import FaceAnalyzer
from kiosk.analysis.attributes import AttributeEngine, Estimators
from kiosk.config import Config
from kiosk.detect.align import align_face
from kiosk.detect.room import RoomDetector
from kiosk.detect.yunet import DetectorInputMaker, YuNetDetector
from kiosk.infer.embed import SFaceEmbedder
from kiosk.models import ModelStore, create_session
from kiosk.privacy.policy import wipe
from kiosk.track.fmr_calibration import load_calibration
from kiosk.track.watchlist import Watchlist, portrait_detector

log = logging.getLogger(__name__)


def _session(cfg: Config, store: ModelStore, name: str) -> Any:
    """A verified model's onnxruntime session with the configured providers and threads."""
    rt = cfg.runtime
    return create_session(store.require(name), list(rt.providers), rt.intra_op_threads)


def needed_models(cfg: Config) -> list[str]:
    """The model names :func:`build_analyzer` loads for ``cfg`` (what is switched off is not)."""
    names = ["yunet"]
    if cfg.recognition.enabled or cfg.watchlist.enabled:
        names.append("sface")
    ac = cfg.attributes
    names += [name for name, on in (("age", ac.age), ("gender", ac.gender), ("expression", ac.expression)) if on]
    return names


def build_analyzer(cfg: Config, store: ModelStore) -> FaceAnalyzer:
    """Load and verify the models the configuration needs and wire them into an analyzer."""
    det_cfg = cfg.detector
    det_session = _session(cfg, store, "yunet")
    detector: YuNetDetector | RoomDetector
    if det_cfg.scan_tile_px:
        # Base pass + rotating full-resolution scan + zoom around small faces (kiosk/detect/room.py).
        detector = RoomDetector(det_session, det_cfg.input_width, det_cfg.score_threshold,
                                det_cfg.nms_iou_threshold, det_cfg.top_k, det_cfg.min_face_px,
                                det_cfg.scan_tile_px)
    else:
        detector = YuNetDetector(
            det_session,
            input_width=det_cfg.input_width,
            score_threshold=det_cfg.score_threshold,
            nms_iou_threshold=det_cfg.nms_iou_threshold,
            top_k=det_cfg.top_k,
            min_face_px=det_cfg.min_face_px,
        )
    embed = None
    loader = None
    if cfg.recognition.enabled or cfg.watchlist.enabled:
        embedder = SFaceEmbedder(_session(cfg, store, "sface"))
        if cfg.watchlist.enabled:
            loader = start_watchlist(cfg, store, embedder)

        def embed(image: np.ndarray, landmarks: list[np.ndarray]) -> np.ndarray:
            crops = [align_face(image, lm) for lm in landmarks]
            out = embedder.embed(crops)
            for crop in crops:  # aligned face crops are erased as soon as they are used
                wipe(crop)
            return out

    # The capture thread makes each frame's detector input (kiosk.pipeline), unless the model
    # has a fixed input size (then the detector makes its own: DetectorInputMaker's docstring).
    base = detector.base if isinstance(detector, RoomDetector) else detector
    prepare = (DetectorInputMaker(det_cfg.input_width)
               if base.fixed_w is None and base.fixed_h is None else None)
    analyzer = FaceAnalyzer(cfg, detector.detect, embed, build_attributes(cfg, store),
                            loader.watchlist if loader is not None else None, prepare=prepare)
    if loader is not None:
        analyzer.watchlist_loader = loader
        # Background load: the inference thread picks the watchlist up at its next search.
        loader.attach(lambda wl: setattr(analyzer, "watchlist", wl))
    return analyzer


def start_watchlist(cfg: Config, store: ModelStore, embedder: object) -> object:
    """The watchlist from its stored embeddings (instant), or embedded in the background
    (``kiosk.track.watchlist_load``): start-up never waits for the portraits."""
    from kiosk.track.watchlist_load import BackgroundLoader, model_hashes

    return BackgroundLoader(
        cfg.watchlist.dir_resolved, cfg.runtime.models_dir_resolved, model_hashes(store),
        lambda: portrait_detector(_session(cfg, store, "yunet")), embedder, load_calibration("sface"))


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
        from kiosk.infer.face_signal_tracker import FaceSignalTracker
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
