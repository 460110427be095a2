"""The record a commercial face-analysis service would keep: Amazon Rekognition's ``FaceDetail``.

Field names and structure follow Rekognition's DetectFaces response (``FaceDetail``), filled from
the kiosk's own estimates, so visitors see the shape of what such a service returns. Mapping:

| FaceDetail field | kiosk source |
|---|---|
| ``BoundingBox`` {Width, Height, Left, Top} | tracked YuNet box, as ratios of the frame size |
| ``AgeRange`` {Low, High} | the calibrated 80 % range shown on the card, whole years (absent when uncalibrated) |
| ``Gender`` {Value, Confidence} | calibrated gender guess: "Female"/"Male", calibrated probability x 100 (absent when uncalibrated) |
| ``Emotions`` [{Type}] | the expression shown on the card, mapped below; no Confidence (see below) |
| ``Smile``, ``EyesOpen``, ``MouthOpen`` {Value} | face-mesh geometry; no Confidence (see below) |
| ``Pose`` {Roll, Yaw, Pitch} | head pose from the face mesh, degrees |
| ``EyeDirection`` {Yaw, Pitch} | iris position from the face mesh, degrees (no calibrated confidence, so none) |
| ``Quality`` {Brightness, Sharpness} | measured on the face crop, 0-100 |
| ``Landmarks`` [{Type, X, Y}] | YuNet's 5 points as ratios: eyeLeft, eyeRight, nose, mouthLeft, mouthRight |
| ``Confidence`` | absent (see below) |

**Confidence fields.** Rekognition's ``Confidence`` reads as a percentage chance of being right,
and visitors read it that way. The kiosk's screen rule is that a percentage is a calibrated
probability or it is not shown, so the record carries a ``Confidence`` only where the kiosk has
one that was measured to hold: ``Gender.Confidence`` is the calibrated probability the card
shows (``kiosk.infer.uncertainty``; reliability measured in docs/ACCURACY.md). The expression
model's softmax, the distance of a mesh score from its threshold and the detector's score are
not probabilities of anything that was measured here, so their ``Confidence`` members are left
out rather than filled with a number that looks like one; ``Emotions`` lists only the expression
the card shows. The age range is the card's calibrated 80 % range (Rekognition does not say what
share of people its ``AgeRange`` contains).

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

from kiosk.infer.uncertainty import shown_age_range, shown_probability
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
    shown = shown_age_range(a.age) if a.age is not None else None
    if shown is not None:
        record["AgeRange"] = {"Low": shown[0], "High": shown[1]}
    if a.face is not None:
        record["Smile"] = {"Value": a.face.smiling}
    if a.gender is not None and a.gender.calibrated:
        record["Gender"] = {"Value": a.gender.value.capitalize(),
                            "Confidence": _pct(shown_probability(a.gender.probability))}
    if a.face is not None:
        record["EyesOpen"] = {"Value": a.face.eyes_open}
        record["MouthOpen"] = {"Value": a.face.mouth_open}
    if a.expression is not None and a.expression.probabilities:
        record["Emotions"] = [{"Type": EMOTION_TYPES[a.expression.top]}]
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
                      "high": round(a.age.high, 1), "confidence": round(a.age.confidence, 3),
                      "range_coverage": a.age.coverage}
    if a.gender is not None:
        out["gender"] = {"value": a.gender.value, "probability": round(a.gender.probability, 3),
                         "calibrated": a.gender.calibrated}
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
