"""The record a commercial face-analysis service would keep: Amazon Rekognition's ``FaceDetail``.

Field names and structure follow Rekognition's DetectFaces response (``FaceDetail``), filled from
the kiosk's own estimates, so visitors see the shape of what such a service returns. Mapping:

| FaceDetail field | kiosk source |
|---|---|
| ``BoundingBox`` {Width, Height, Left, Top} | tracked YuNet box, as ratios of the frame size |
| ``AgeRange`` {Low, High} | central interval of the age model's averaged distribution, whole years |
| ``Gender`` {Value, Confidence} | gender model: "Female"/"Male", probability x 100 |
| ``Emotions`` [{Type, Confidence}] | expression model, 7 FER2013 classes mapped below, probability x 100 |
| ``Smile``, ``EyesOpen``, ``MouthOpen`` {Value, Confidence} | face-mesh geometry (confidence: distance of the score from its decision threshold) |
| ``Pose`` {Roll, Yaw, Pitch} | head pose from the face mesh, degrees |
| ``EyeDirection`` {Yaw, Pitch} | iris position from the face mesh, degrees (no calibrated confidence, so none) |
| ``Quality`` {Brightness, Sharpness} | measured on the face crop, 0-100 |
| ``Landmarks`` [{Type, X, Y}] | YuNet's 5 points as ratios: eyeLeft, eyeRight, nose, mouthLeft, mouthRight |
| ``Confidence`` | detector score x 100 |

Expression classes map to Rekognition's emotion types as angry→ANGRY, disgust→DISGUSTED,
fear→FEAR, happy→HAPPY, sad→SAD, surprise→SURPRISED, neutral→CALM. Rekognition's CONFUSED has no
counterpart in the model and is left out rather than invented, as are Eyeglasses, Sunglasses,
Beard, Mustache and FaceOccluded, which the kiosk cannot estimate. A field whose estimate is off
in the configuration or not yet available is absent, never filled with a default.

"Left" and "right" in landmark names are the image's (the viewer's) left and right, as in
Rekognition's published sample responses, where ``eyeLeft`` has the smaller X: ``eyeLeft`` is
the subject's right eye.
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from kiosk.types import EXPRESSIONS, Attributes, FaceView

EMOTION_TYPES: dict[str, str] = {
    "angry": "ANGRY",
    "disgust": "DISGUSTED",
    "fear": "FEAR",
    "happy": "HAPPY",
    "sad": "SAD",
    "surprise": "SURPRISED",
    "neutral": "CALM",
}
"""The expression model's classes → Rekognition emotion types (CONFUSED has no source)."""

# YuNet's landmark order is: subject's right eye (image left), left eye, nose tip, subject's
# right mouth corner (image left), left mouth corner.
_LANDMARK_TYPES = ("eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight")

SCHEMA_PATH = Path(__file__).with_name("face_detail.schema.json")


def _pct(p: float) -> float:
    return round(min(max(p * 100.0, 0.0), 100.0), 2)


def _bool_confidence(score: float, threshold: float) -> float:
    """Confidence 50..100 from how far a 0..1 score lies from its decision threshold."""
    if score >= threshold:
        span = max(1.0 - threshold, 1e-6)
        return _pct(0.5 + 0.5 * (score - threshold) / span)
    span = max(threshold, 1e-6)
    return _pct(0.5 + 0.5 * (threshold - score) / span)


# Decision thresholds of the 0..1 mesh scores, used only to express a confidence; the booleans
# themselves come from the face-signal code that owns the thresholds.
_SMILE_THRESHOLD = 0.5
_EYES_THRESHOLD = 0.5
_MOUTH_THRESHOLD = 0.5


def face_detail(face: FaceView, frame_size: tuple[int, int]) -> dict[str, Any]:
    """The FaceDetail-shaped record for one face (fields the kiosk cannot estimate are absent)."""
    width, height = frame_size
    x0, y0, x1, y1 = face.box_xyxy
    record: dict[str, Any] = {
        "BoundingBox": {
            "Width": round((x1 - x0) / width, 4),
            "Height": round((y1 - y0) / height, 4),
            "Left": round(x0 / width, 4),
            "Top": round(y0 / height, 4),
        },
    }
    a = face.attributes
    if a.age is not None:
        record["AgeRange"] = {"Low": int(round(a.age.low)), "High": int(round(a.age.high))}
    if a.face is not None:
        record["Smile"] = {"Value": a.face.smiling,
                           "Confidence": _bool_confidence(a.face.smile, _SMILE_THRESHOLD)}
    if a.gender is not None:
        record["Gender"] = {"Value": a.gender.value.capitalize(),
                            "Confidence": _pct(a.gender.probability)}
    if a.face is not None:
        record["EyesOpen"] = {"Value": a.face.eyes_open,
                              "Confidence": _bool_confidence(a.face.eye_openness, _EYES_THRESHOLD)}
        record["MouthOpen"] = {"Value": a.face.mouth_open,
                               "Confidence": _bool_confidence(a.face.mouth_openness,
                                                              _MOUTH_THRESHOLD)}
    if a.expression is not None:
        emotions = [
            {"Type": EMOTION_TYPES[name], "Confidence": _pct(p)}
            for name, p in zip(EXPRESSIONS, a.expression.probabilities)
        ]
        record["Emotions"] = sorted(emotions, key=lambda e: -e["Confidence"])
    record["Landmarks"] = [
        {"Type": kind, "X": round(x / width, 4), "Y": round(y / height, 4)}
        for kind, (x, y) in zip(_LANDMARK_TYPES, face.landmarks_px)
    ]
    if a.pose is not None:
        record["Pose"] = {"Roll": round(a.pose.roll_deg, 2), "Yaw": round(a.pose.yaw_deg, 2),
                          "Pitch": round(a.pose.pitch_deg, 2)}
    if a.quality is not None:
        record["Quality"] = {"Brightness": round(a.quality.brightness, 2),
                             "Sharpness": round(a.quality.sharpness, 2)}
    record["Confidence"] = _pct(face.score)
    if a.gaze is not None:
        # No Confidence: the kiosk has no calibrated one for gaze, and Rekognition marks the
        # member optional; leaving it out is more honest than borrowing another score.
        record["EyeDirection"] = {"Yaw": round(a.gaze.yaw_deg, 2),
                                  "Pitch": round(a.gaze.pitch_deg, 2)}
    return record


@lru_cache(maxsize=1)
def face_detail_schema() -> dict[str, Any]:
    """The JSON Schema the records are validated against (kiosk/analysis/face_detail.schema.json)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def attributes_summary(a: Attributes) -> dict[str, Any]:
    """The kiosk's own guesses in plain terms (for the run report); absent when unknown.

    Never includes the face-mesh points: they outline the face and could redraw it.
    """
    out: dict[str, Any] = {}
    if a.age is not None:
        out["age"] = {"years": round(a.age.years, 1), "low": round(a.age.low, 1),
                      "high": round(a.age.high, 1), "confidence": round(a.age.confidence, 3)}
    if a.gender is not None:
        out["gender"] = {"value": a.gender.value, "probability": round(a.gender.probability, 3)}
    if a.expression is not None:
        out["expression"] = {"top": a.expression.top,
                             "probabilities": {n: round(p, 3) for n, p in
                                               zip(EXPRESSIONS, a.expression.probabilities)}}
    if a.pose is not None:
        out["pose_deg"] = {"yaw": round(a.pose.yaw_deg, 1), "pitch": round(a.pose.pitch_deg, 1),
                           "roll": round(a.pose.roll_deg, 1)}
    if a.gaze is not None:
        out["gaze"] = {"yaw_deg": round(a.gaze.yaw_deg, 1), "pitch_deg": round(a.gaze.pitch_deg, 1),
                       "at_screen": a.gaze.at_screen, "attention_s": round(a.gaze.attention_s, 2)}
    if a.face is not None:
        out["face"] = {"eyes_open": a.face.eyes_open, "blinks": a.face.blinks,
                       "blinks_per_min": round(a.face.blinks_per_min, 1),
                       "smiling": a.face.smiling, "mouth_open": a.face.mouth_open}
    if a.quality is not None:
        out["quality"] = {"brightness": round(a.quality.brightness, 1),
                          "sharpness": round(a.quality.sharpness, 1)}
    return out
