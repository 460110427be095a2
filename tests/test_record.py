"""The Rekognition-style FaceDetail record: structure, mapping, absent fields, schema."""
from __future__ import annotations

import jsonschema
import pytest

from kiosk.analysis.record import EMOTION_TYPES, face_detail, face_detail_schema
from kiosk.types import (EXPRESSIONS, AgeEstimate, Attributes, ExpressionEstimate, FaceState,
                         FaceView, Gaze, GenderEstimate, HeadPose, Quality)

FRAME = (640, 480)
LANDMARKS = ((300.0, 200.0), (340.0, 200.0), (320.0, 225.0), (305.0, 250.0), (335.0, 250.0))


def face(attributes: Attributes = Attributes()) -> FaceView:
    return FaceView(track_id=1, box_xyxy=(280.0, 160.0, 360.0, 280.0), landmarks_px=LANDMARKS,
                    score=0.93, visitor_id=4, visit_number=2, is_return=True, track_age_s=3.0,
                    time_in_view_s=40.0, last_visit_end_s=10.0, attributes=attributes)


FULL = Attributes(
    age=AgeEstimate(years=34.2, low=27.6, high=41.4, confidence=0.08, coverage=0.8),
    gender=GenderEstimate("female", 0.87, calibrated=True, band="20-39", band_accuracy=0.93),
    expression=ExpressionEstimate((0.01, 0.0, 0.02, 0.81, 0.03, 0.05, 0.08)),
    pose=HeadPose(yaw_deg=-12.5, pitch_deg=4.0, roll_deg=1.5),
    gaze=Gaze(yaw_deg=-3.0, pitch_deg=-2.0, at_screen=True, attention_s=5.0),
    face=FaceState(eyes_open=True, eye_openness=0.8, blinks=3, blinks_per_min=12.0, smile=0.9,
                   smiling=True, mouth_open=False, mouth_openness=0.1),
    quality=Quality(brightness=61.0, sharpness=83.0),
)


def test_full_record_validates_and_maps_every_field() -> None:
    rec = face_detail(face(FULL), FRAME)
    jsonschema.validate(rec, face_detail_schema())
    assert rec["BoundingBox"] == {"Width": 0.125, "Height": 0.25, "Left": 0.4375, "Top": 0.3333}
    assert rec["AgeRange"] == {"Low": 28, "High": 41}
    assert rec["Gender"] == {"Value": "Female", "Confidence": 87.0}
    # Only calibrated probabilities become a Confidence (see kiosk/analysis/record.py): the expression is the
    # one the card shows, without the model's uncalibrated softmax.
    assert rec["Emotions"] == [{"Type": "HAPPY"}]
    assert set(EMOTION_TYPES.values()) >= {e["Type"] for e in rec["Emotions"]}
    assert rec["Smile"] == {"Value": True} and rec["MouthOpen"] == {"Value": False}
    assert rec["Pose"] == {"Roll": 1.5, "Yaw": -12.5, "Pitch": 4.0}
    assert rec["EyeDirection"] == {"Yaw": -3.0, "Pitch": -2.0}
    assert rec["Quality"] == {"Brightness": 61.0, "Sharpness": 83.0}
    assert "Confidence" not in rec  # the detector's score is no probability


def test_uncalibrated_guesses_give_no_range_and_no_confidence() -> None:
    raw = Attributes(age=AgeEstimate(34.2, 34.0, 34.4, 0.9), gender=GenderEstimate("female", 1.0))
    rec = face_detail(face(raw), FRAME)
    jsonschema.validate(rec, face_detail_schema())
    assert "AgeRange" not in rec and "Gender" not in rec


def test_landmarks_are_ratios_in_image_left_right_order() -> None:
    rec = face_detail(face(), FRAME)
    marks = {m["Type"]: (m["X"], m["Y"]) for m in rec["Landmarks"]}
    assert list(marks) == ["eyeLeft", "eyeRight", "nose", "mouthLeft", "mouthRight"]
    assert marks["eyeLeft"][0] < marks["eyeRight"][0]  # as in Rekognition's sample responses
    assert marks["nose"] == (0.5, round(225 / 480, 4))


def test_unknown_estimates_are_absent_not_invented() -> None:
    rec = face_detail(face(), FRAME)
    jsonschema.validate(rec, face_detail_schema())
    assert set(rec) == {"BoundingBox", "Landmarks"}
    only_age = face_detail(face(Attributes(age=FULL.age)), FRAME)
    assert set(only_age) == {"BoundingBox", "AgeRange", "Landmarks"}


@pytest.mark.parametrize("field, value", [
    ("Eyeglasses", {"Value": False, "Confidence": 99.0}),
    ("Beard", {"Value": False, "Confidence": 99.0}),
])
def test_schema_refuses_fields_the_kiosk_cannot_estimate(field: str, value: dict) -> None:
    rec = face_detail(face(FULL), FRAME)
    rec[field] = value
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(rec, face_detail_schema())


def test_expression_mapping_covers_every_model_class() -> None:
    assert set(EMOTION_TYPES) == set(EXPRESSIONS)
    assert len(set(EMOTION_TYPES.values())) == len(EXPRESSIONS)
