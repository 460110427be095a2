"""The operator's YAML configuration: schema, loading, and errors that point at the right line.

One YAML file configures the kiosk. The schema is strict (unknown or duplicate keys, wrong types
and out-of-range values are errors, never silently ignored) because the people who edit it are
exhibition staff on a Raspberry Pi, not programmers: a typo must stop the kiosk with a message
that says where and how to fix it, rather than run it with a default they did not choose.

Errors look like compiler errors, one per line, all of them at once::

    kiosk.yaml:7: camera.widht: unknown key 'widht'; did you mean 'width'? Allowed keys in camera: ...
    kiosk.yaml:12: detector.score_threshold: out of range: got 1.5, expected 0.3 to 0.99

Line numbers come from the YAML node tree (``yaml.compose``), not from re-parsing text: the line
of the offending *key* for unknown and duplicate keys, of the offending *value* for wrong types
and ranges, of the parent section's key for a missing required key.

Public API: :func:`load_config`, :func:`config_from_mapping`, :func:`main_check`,
:func:`override_source`, :meth:`Config.with_overrides`, :func:`parse_source`,
:func:`schema_markdown`. ``python -m kiosk.config markdown > docs/CONFIG.md`` regenerates the
reference (a test fails when it is out of date).
"""
from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal, get_args, get_origin

import annotated_types
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_core import PydanticCustomError

from kiosk.errors import EXIT_OK, EXIT_USAGE, ConfigError

__all__ = [
    "CameraConfig",
    "Config",
    "DetectorConfig",
    "IMAGE_SUFFIXES",
    "LoggingConfig",
    "PrivacyConfig",
    "PROVIDERS",
    "RecognitionConfig",
    "RuntimeConfig",
    "SourceSpec",
    "TrackingConfig",
    "UiConfig",
    "config_from_mapping",
    "load_config",
    "main_check",
    "override_source",
    "parse_source",
    "schema_markdown",
]

#: Image file endings an ``images:DIR`` source needs at least one of (files OpenCV can read).
IMAGE_SUFFIXES: tuple[str, ...] = (".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff")

Provider = Literal[
    "CPUExecutionProvider",
    "CUDAExecutionProvider",
    "TensorrtExecutionProvider",
    "CoreMLExecutionProvider",
    "OpenVINOExecutionProvider",
    "XnnpackExecutionProvider",
    "ArmNNExecutionProvider",
    "ACLExecutionProvider",
]
#: onnxruntime execution providers the config accepts, in the order documented.
PROVIDERS: tuple[str, ...] = get_args(Provider)

SourceKind = Literal["demo", "camera", "gst", "picamera2", "file", "images"]
_SOURCE_FORMS = "demo, camera:N (e.g. camera:0), gst:PIPELINE, picamera2, file:PATH, images:DIR"

# Where relative paths are resolved (the config file's folder, or the current directory for
# command-line overrides) and how messages name it: passed to validators as validation context.
_BASE_DIR = "base_dir"
_BASE_LABEL = "base_label"


# --------------------------------------------------------------------------------------------
# Capture source specs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceSpec:
    """A parsed ``camera.source``: what to open, with paths already absolute.

    ``str(spec)`` gives the normalised spec string stored in :attr:`CameraConfig.source`.
    """

    kind: SourceKind
    index: int | None = None  # camera:N
    pipeline: str | None = None  # gst:PIPELINE
    path: Path | None = None  # file:PATH, images:DIR

    def __str__(self) -> str:
        if self.kind == "camera":
            return f"camera:{self.index}"
        if self.kind == "gst":
            return f"gst:{self.pipeline}"
        if self.kind in ("file", "images"):
            return f"{self.kind}:{self.path}"
        return self.kind


def _resolve(path_text: str, base_dir: Path | None) -> Path:
    """Absolute, normalised path; relative paths are taken from ``base_dir`` (default: cwd).

    ``~`` is expanded. Symlinks are kept as written (``abspath``, not ``resolve``), so messages
    show the path the operator recognises.
    """
    path = Path(path_text).expanduser()
    if not path.is_absolute():
        path = (base_dir if base_dir is not None else Path.cwd()) / path
    return Path(os.path.abspath(path))


def parse_source(
    spec: str, base_dir: Path | None = None, *, check_paths: bool = True, base_label: str = "the config file's folder"
) -> SourceSpec:
    """Parse and check a capture source spec (``camera.source`` or the CLI's ``--source``).

    Accepted forms: ``demo``, ``camera:N`` (N = 0, 1, ... as in /dev/videoN), ``gst:PIPELINE``,
    ``picamera2``, ``file:PATH`` (a video file), ``images:DIR`` (a folder of images). PATH and
    DIR are resolved against ``base_dir`` (the config file's folder; default: the current
    directory). With ``check_paths`` the file or folder must exist (and the folder must hold at
    least one image); camera devices are *not* probed, so a config can be checked on another
    machine. ``base_label`` names ``base_dir`` in messages.

    Raises ``ValueError`` with an operator-facing message (no key path, no line).
    """
    text = spec.strip()
    kind, sep, arg = text.partition(":")
    if kind in ("demo", "picamera2"):
        if sep:
            raise ValueError(f"'{kind}' takes no ':' argument, got '{text}'; write just {kind}")
        return SourceSpec(kind=kind)  # type: ignore[arg-type]
    if kind == "camera" and sep:
        if arg.startswith("/dev/video") and arg[len("/dev/video"):].isdigit():
            raise ValueError(f"write camera:{arg[len('/dev/video'):]} for {arg}, got '{text}'")
        if not (arg.isascii() and arg.isdigit()) or len(arg) > 3:
            raise ValueError(
                f"camera:N needs N = the camera number (0 for /dev/video0, 1 for /dev/video1, ...), got '{text}'"
            )
        return SourceSpec(kind="camera", index=int(arg))
    if kind == "gst" and sep:
        if not arg.strip():
            raise ValueError("gst: needs a GStreamer pipeline after the colon, e.g. 'gst:v4l2src ! videoconvert ! appsink'")
        return SourceSpec(kind="gst", pipeline=arg.strip())
    if kind in ("file", "images") and sep:
        what = "a video file" if kind == "file" else "a folder of images"
        if not arg.strip():
            raise ValueError(f"{kind}: needs the path of {what} after the colon, e.g. '{kind}:{'clips/visit.mp4' if kind == 'file' else 'photos'}'")
        path = _resolve(arg.strip(), base_dir)
        if check_paths:
            _check_source_path(kind, arg.strip(), path, base_label)
        return SourceSpec(kind=kind, path=path)  # type: ignore[arg-type]
    if "://" in text:
        raise ValueError(
            f"unknown source '{text}'; for a network stream use gst:PIPELINE "
            "(e.g. 'gst:rtspsrc location=rtsp://... ! decodebin ! videoconvert ! appsink'). "
            f"Expected one of: {_SOURCE_FORMS}"
        )
    if kind in ("camera", "gst", "file", "images"):
        raise ValueError(f"'{kind}' needs ':' and a value, got '{text}'. Expected one of: {_SOURCE_FORMS}")
    close = _did_you_mean(kind, ["demo", "camera", "gst", "picamera2", "file", "images"])
    suggestion = f"; did you mean '{close}{sep}{arg}'?" if close else "."
    raise ValueError(f"unknown source '{text}'{suggestion} Expected one of: {_SOURCE_FORMS}")


def _check_source_path(kind: str, given: str, path: Path, base_label: str) -> None:
    shown = f"'{given}'" if given == str(path) else f"'{given}' (looked for {path})"
    relative = "" if Path(given).expanduser().is_absolute() else f"; relative paths start at {base_label}"
    if kind == "file":
        if not path.exists():
            raise ValueError(f"video file {shown} not found{relative}")
        if not path.is_file():
            raise ValueError(f"{shown} is not a file; for a folder of images use images:{given}")
        return
    if not path.exists():
        raise ValueError(f"image folder {shown} not found{relative}")
    if not path.is_dir():
        raise ValueError(f"{shown} is not a folder; for a video file use file:{given}")
    try:
        has_images = any(p.suffix.lower() in IMAGE_SUFFIXES for p in path.iterdir() if p.is_file())
    except OSError as exc:
        raise ValueError(f"image folder {shown} cannot be read: {exc.strerror or exc}") from None
    if not has_images:
        raise ValueError(f"image folder {shown} holds no images ({', '.join(IMAGE_SUFFIXES)})")


def _no_blank_path(value: object, hint: str) -> object:
    """Refuse a path written as blank text (``key: ""``); ``hint`` says what to write instead."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(f"empty text; {hint}")
    return value


def _context_base(info: ValidationInfo) -> tuple[Path | None, str]:
    """The folder relative paths start at, and how messages name it (from the validation context)."""
    context = info.context if isinstance(info.context, Mapping) else {}
    base = context.get(_BASE_DIR)
    return (Path(base) if base is not None else None), str(context.get(_BASE_LABEL, "the config file's folder"))


# --------------------------------------------------------------------------------------------
# Schema
# --------------------------------------------------------------------------------------------


class _Section(BaseModel):
    """Common model settings: unknown keys rejected, immutable, no silent type coercion."""

    # strict: "640" (text) is not 640 and 1 is not true; YAML already gives numbers and
    # booleans their types, so a quoted value is almost always a mistake worth reporting.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class CameraConfig(_Section):
    """Where frames come from and how fast."""

    source: str = Field(
        "demo",
        description=(
            "Where the pictures come from. `demo`: built-in scene made from the demo photos (no camera needed). "
            "`camera:N`: USB / V4L2 camera N (camera:0 is /dev/video0). `gst:PIPELINE`: a GStreamer pipeline "
            "ending in appsink. `picamera2`: the Raspberry Pi camera module. `file:PATH`: a video file. "
            "`images:DIR`: a folder of photos shown one after another. PATH and DIR are relative to this "
            "config file's folder and must exist; camera devices are only checked when the kiosk starts."
        ),
        json_schema_extra={"allowed": "`demo`, `camera:N`, `gst:PIPELINE`, `picamera2`, `file:PATH`, `images:DIR`"},
    )
    width: int = Field(
        640,
        ge=160,
        le=3840,
        description=(
            "Picture width in pixels asked of the camera (the driver may pick the nearest size it supports; "
            "the demo scene is drawn at this size). Larger shows distant faces in more detail but costs "
            "CPU in every stage; 640 suits a Raspberry Pi."
        ),
    )
    height: int = Field(480, ge=120, le=2160, description="Picture height in pixels asked of the camera; see `width`.")
    fps: int = Field(
        30,
        ge=1,
        le=120,
        description=(
            "Frames per second asked of the camera, and the replay speed of `file:`, `images:` and `demo` "
            "sources when `realtime` is true. More gives smoother video but analysis rarely keeps up beyond "
            "15-30 on a Pi; the newest frame is always analysed and older ones are skipped."
        ),
    )
    realtime: bool = Field(
        True,
        description=(
            "true: `file:`, `images:` and `demo` sources play at `fps` like a live camera, skipping frames "
            "the analysis cannot keep up with (what visitors should see). false: every frame is analysed, "
            "as fast as the computer allows, none skipped (for testing and measurements). Live cameras "
            "always run in real time."
        ),
    )
    loop: bool = Field(
        True,
        description=(
            "For `file:` and `images:` sources: true starts again from the beginning at the end (for an "
            "unattended exhibit); false stops the kiosk when the source ends."
        ),
    )
    stall_timeout_s: float = Field(
        3.0,
        ge=0.5,
        le=60.0,
        description=(
            "Seconds without a new frame (twice that while the source is being opened) after which "
            "the source counts as failed: the screen says the "
            "camera is unavailable and the kiosk reopens it (after 0.5 s, then every second). "
            "Short recovers an unplugged or frozen camera quickly; too short gives false alarms with "
            "slow cameras or long exposures in dim rooms."
        ),
    )

    @field_validator("source", mode="before")
    @classmethod
    def _check_source(cls, value: object, info: ValidationInfo) -> str:
        if isinstance(value, bool) or not isinstance(value, str):
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                raise ValueError(f"expected text such as 'camera:{value}', got {_show(value)}; write camera:{value}")
            raise ValueError(f"expected text, one of: {_SOURCE_FORMS}; got {_show(value)}")
        base_dir, base_label = _context_base(info)
        return str(parse_source(value, base_dir, base_label=base_label))

    @property
    def source_spec(self) -> SourceSpec:
        """The parsed :attr:`source` (paths are already absolute; existence is not re-checked)."""
        return parse_source(self.source, check_paths=False)


class DetectorConfig(_Section):
    """Face detection (YuNet)."""

    input_width: int = Field(
        320,
        ge=96,
        le=1920,
        description=(
            "Width in pixels the picture is shrunk to before looking for faces; the height keeps the "
            "picture's proportions and is rounded up to a multiple of 32. Smaller is faster but misses "
            "faces further away (a face must be roughly 10 pixels wide after shrinking); larger finds "
            "distant faces and costs time."
        ),
    )
    score_threshold: float = Field(
        0.75,
        ge=0.3,
        le=0.99,
        description=(
            "How sure the detector must be that something is a face (0-1). Lower finds more faces "
            "(small, turned away, badly lit) and more false boxes on posters and patterns; higher only "
            "clear faces. OpenCV's default 0.9 drops distant faces; 0.7-0.8 suits a kiosk."
        ),
    )
    nms_iou_threshold: float = Field(
        0.3,
        ge=0.05,
        le=0.95,
        description=(
            "Two candidate boxes that overlap more than this (intersection over union, 0-1) count as the "
            "same face and only the better one is kept. Lower removes duplicates more eagerly but can "
            "merge two faces cheek to cheek; higher can leave two boxes on one face."
        ),
    )
    top_k: int = Field(
        50,
        ge=1,
        le=5000,
        description=(
            "At most this many face candidates per frame, best first, go into the overlap check. Each "
            "face yields several candidates, so keep it a few times the largest group you expect; "
            "higher costs a little time in crowded frames."
        ),
    )
    min_face_px: int = Field(
        40,
        ge=8,
        le=2000,
        description=(
            "Faces narrower than this many pixels (in the camera picture) are ignored. Small faces give "
            "unreliable recognition and guesses; lower notices people further away, higher only "
            "analyses people close to the screen."
        ),
    )


class TrackingConfig(_Section):
    """Following a face from frame to frame."""

    iou_threshold: float = Field(
        0.3,
        ge=0.01,
        le=0.95,
        description=(
            "A face found in a new frame continues an existing track when its box overlaps the track's "
            "last box at least this much (intersection over union, 0-1). Lower follows fast movement "
            "but may swap two people who pass each other; higher starts new tracks (and new "
            "recognition work) more often."
        ),
    )
    max_missing_s: float = Field(
        1.0,
        ge=0.1,
        le=30.0,
        description=(
            "A face not found for this many seconds ends its track. Longer bridges moments when the "
            "detector loses a face (turned head, someone walking past); shorter frees the box sooner "
            "when people leave. Must not exceed `privacy.forget_after_s`."
        ),
    )


class RecognitionConfig(_Section):
    """Recognising returning visitors (SFace embeddings kept in RAM only)."""

    enabled: bool = Field(
        True,
        description=(
            "true: returning visitors are recognised (\"Welcome back\", \"seen before\") by comparing face "
            "embeddings kept in RAM until forgotten. false: every face is a stranger and nothing about "
            "a face outlives its track; also saves CPU."
        ),
    )
    match_threshold: float = Field(
        0.363,
        ge=0.0,
        le=1.0,
        description=(
            "Cosine similarity (0-1) at or above which two faces count as the same person. 0.363 is "
            "OpenCV's threshold for SFace. Higher: fewer strangers greeted as returning visitors but "
            "more returning visitors missed; lower: the opposite."
        ),
    )
    votes: int = Field(
        3,
        ge=1,
        le=15,
        description=(
            "Embeddings collected for a new face before deciding who it is. More gives a steadier "
            "decision, but \"Welcome back\" appears later (about votes x sample_interval_s seconds)."
        ),
    )
    sample_interval_s: float = Field(
        0.15,
        ge=0.02,
        le=5.0,
        description=(
            "Seconds between those embeddings. Very short gives near-identical samples (little gained "
            "from voting); longer delays the decision."
        ),
    )
    refresh_interval_s: float = Field(
        2.0,
        ge=0.2,
        le=120.0,
        description=(
            "Seconds between re-checks of a face already identified (catches a track that jumped to "
            "another person, and adds fresh views of the visitor). Shorter catches mix-ups sooner and "
            "costs CPU (about 12 ms per face on a small PC)."
        ),
    )
    templates_per_visitor: int = Field(
        8,
        ge=1,
        le=64,
        description=(
            "Embeddings kept per visitor (different angles and light). More recognises visitors more "
            "reliably from new angles; matching takes slightly longer and more is held in RAM."
        ),
    )
    visit_gap_s: float = Field(
        3.0,
        ge=0.0,
        le=3600.0,
        description=(
            "Someone back within this many seconds continues the same visit (no \"Welcome back\", not "
            "counted as a new visit): someone who turned away or was hidden for a moment. Longer merges "
            "real short returns into one visit; 0: every reappearance is a new visit. Must not exceed "
            "`privacy.forget_after_s`."
        ),
    )


class AttributesConfig(_Section):
    """The guesses shown on each visitor's card: age, gender, expression, head pose, gaze, eyes, mouth."""

    age: bool = Field(
        True,
        description=(
            "Estimate apparent age (age model, about 1 ms per face). false: never computed, not shown."
        ),
    )
    gender: bool = Field(
        True,
        description=(
            "Guess gender as the model's binary female/male output, to show how such systems "
            "misgender people. false: never computed, not shown."
        ),
    )
    expression: bool = Field(
        True,
        description=(
            "Estimate facial expression (7 classes). An expression is not an emotion; the EU AI Act "
            "restricts emotion inference in workplaces and schools. false: never computed, not shown."
        ),
    )
    mesh: bool = Field(
        True,
        description=(
            "Run MediaPipe's face mesh for head pose, gaze (looking at the screen), blinks, smile and "
            "open mouth (about 4 ms per face). false: none of these is computed or shown."
        ),
    )
    quality: bool = Field(
        True,
        description="Measure brightness and sharpness of each face (cheap; shown in the record).",
    )
    interval_s: float = Field(
        0.5,
        ge=0.05,
        le=30.0,
        description=(
            "Seconds between age, gender, expression and quality updates for one face. Shorter follows "
            "changes sooner and costs CPU; the card shows values averaged over `smoothing_s` anyway."
        ),
    )
    mesh_interval_s: float = Field(
        0.1,
        ge=0.0,
        le=5.0,
        description=(
            "Seconds between face-mesh updates for one face (0: every frame). Blinks last 0.1-0.4 s, so "
            "above about 0.1 s blinks are missed; shorter costs about 4 ms per face per update."
        ),
    )
    smoothing_s: float = Field(
        2.0,
        ge=0.0,
        le=60.0,
        description=(
            "Time constant in seconds over which a face's guesses are averaged (0: show the latest raw "
            "guess). Longer gives calmer cards that react slower when the visitor changes expression."
        ),
    )
    gaze_threshold_deg: float = Field(
        20.0,
        ge=5.0,
        le=45.0,
        description=(
            "Half-angle in degrees around the camera within which a gaze counts as looking at the "
            "screen (20: a 55-inch screen at 1.5 m plus the error of iris-based gaze). Lower misses "
            "glances at the screen's edges; higher counts people looking past the kiosk."
        ),
    )
    mesh_smoothing_s: float = Field(
        0.25,
        ge=0.0,
        le=5.0,
        description=(
            "Time constant in seconds of the head-pose, gaze, smile and mouth smoothing (0: raw). "
            "Longer is calmer but lags; the 2 s of `smoothing_s` would be too slow for gaze."
        ),
    )
    max_faces_per_frame: int = Field(
        2,
        ge=1,
        le=16,
        description=(
            "At most this many faces get attribute or mesh updates per frame, most overdue first. "
            "Bounds the frame time when a group arrives; higher catches up faster but can stutter."
        ),
    )


class PrivacyConfig(_Section):
    """What the kiosk may keep, and for how long."""

    mode: Literal["strict"] = Field(
        "strict",
        description=(
            "`strict`: pictures, faces and embeddings stay in RAM only; nothing is written to disk or sent "
            "anywhere. The only mode so far."
        ),
    )
    consent: Literal["implied", "required"] = Field(
        "implied",
        description=(
            "`implied`: everyone in view is analysed (put up the signage from docs/LEGAL.md). "
            "`required`: until a visitor touches \"analyse me\" (or presses A), only an anonymous box "
            "is drawn around their face: no embedding, no guess, no memory of them. Consent covers the "
            "faces in view at that moment and ends when they leave. Use `required` where the law asks "
            "for explicit consent to biometric processing (e.g. the EU's GDPR Art. 9)."
        ),
    )
    forget_after_s: float = Field(
        300.0,
        ge=10.0,
        le=86400.0,
        description=(
            "A visitor not seen for this many seconds is erased (embeddings overwritten with zeros, "
            "record deleted); visitors see this countdown. Shorter is more private and gives fewer "
            "\"Welcome back\" moments; longer recognises people after longer breaks. The privacy "
            "promise on screen quotes this value."
        ),
    )

    persist_aggregates: bool = Field(
        False,
        description=(
            "true: the daily counters (visitors, time in view, share who looked at the screen, counts of "
            "the guesses shown; no ids, nothing finer than the date, small groups withheld) are written to "
            "`aggregates_file` every minute when they changed, and at stop, for `kiosk stats`. false: "
            "nothing at all is written."
        ),
    )
    aggregates_file: Path | None = Field(
        None,
        strict=False,
        description=(
            "File for those counters, relative to this config file's folder (e.g. "
            "/var/lib/kiosk/aggregates.json); its folder must exist and be writable by the service."
        ),
        json_schema_extra={"allowed": "file path, or empty"},
    )

    @field_validator("aggregates_file", mode="before")
    @classmethod
    def _check_aggregates_text(cls, value: object) -> object:
        return _no_blank_path(value, "leave the value out when persist_aggregates is false")

    @field_validator("aggregates_file", mode="after")
    @classmethod
    def _resolve_aggregates_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = _resolve(str(value), _context_base(info)[0])
        if path.is_dir():
            raise ValueError(f"{path} is a folder; give a file name in it, e.g. {path / 'aggregates.json'}")
        if not path.parent.is_dir():
            raise ValueError(f"folder {path.parent} does not exist; create it (writable by the service)")
        return path

    @model_validator(mode="after")
    def _file_needed(self) -> PrivacyConfig:
        if self.persist_aggregates and self.aggregates_file is None:
            raise ValueError("persist_aggregates is true but no aggregates_file is given; add "
                             "`aggregates_file: /var/lib/kiosk/aggregates.json` or set it to false")
        return self


class WatchlistConfig(_Section):
    """Searching each visitor against a folder of portraits, to show how watchlists misidentify."""

    enabled: bool = Field(
        True,
        description=(
            "true: every visitor is compared with the portraits in `dir` and the closest ones are shown "
            "with their scores, as a police watchlist search would. Needs face embeddings."
        ),
    )
    dir: Path | None = Field(
        None,
        strict=False,
        description=(
            "Folder of portrait photos (one face each; jpg/png), relative to this config file's folder. "
            "Empty: the 134 public-domain NASA astronaut portraits that ship with the kiosk "
            "(assets/watchlist/nasa). Optional `metadata.csv` with columns path,name gives display names "
            "(else the file name). Use public-domain portraits (e.g. official portraits); embeddings are "
            "held in RAM only."
        ),
        json_schema_extra={"allowed": "folder path, or empty"},
    )
    threshold: float = Field(
        0.363,
        ge=0.0,
        le=1.0,
        description=(
            "Cosine score at or above which a portrait is declared a \"match\". 0.363 (SFace's usual "
            "threshold) falsely matches about 1 in 1,200 stranger pairs as measured (docs/ACCURACY.md); "
            "lower is more lenient (more false matches), higher stricter."
        ),
    )
    top_k: int = Field(
        3,
        ge=1,
        le=10,
        description="How many of the closest portraits are shown per visitor.",
    )
    show_names: bool = Field(
        True,
        description=(
            "true: the lesson names the portraits a visitor resembles (public figures, e.g. the shipped "
            "astronauts). false: it numbers them (\"Portrait 17\"), for watchlists of people who should "
            "not be named on screen."
        ),
    )

    @field_validator("dir", mode="before")
    @classmethod
    def _check_dir_text(cls, value: object) -> object:
        return _no_blank_path(value, "leave the value out to switch the watchlist off")

    @field_validator("dir", mode="after")
    @classmethod
    def _resolve_watchlist_dir(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        path = _resolve(str(value), _context_base(info)[0])
        if not path.is_dir():
            raise ValueError(f"folder not found: {path}; give a folder of portrait photos")
        return path

    @property
    def dir_resolved(self) -> Path:
        """:attr:`dir`, or the shipped NASA portraits when it is empty."""
        if self.dir is not None:
            return self.dir
        from kiosk.watchlist_load import DEFAULT_WATCHLIST  # lazy: keeps importing the config cheap

        return DEFAULT_WATCHLIST


class RuntimeConfig(_Section):
    """Where models live and how they run (onnxruntime)."""

    models_dir: Path | None = Field(
        None,
        strict=False,
        description=(
            "Folder with the model files, relative to this config file's folder. Empty: the folder "
            "that `kiosk models fetch` fills (models/files in the project). Its contents are checked "
            "when the kiosk starts (`kiosk models verify`)."
        ),
        json_schema_extra={"allowed": "folder path, or empty"},
    )
    demo_dir: Path | None = Field(
        None,
        strict=False,
        description=(
            "Folder with the photos the `demo` source is made of, relative to this config file's "
            "folder. Empty: the photos `kiosk models fetch` downloads (assets/demo/photos)."
        ),
        json_schema_extra={"allowed": "folder path, or empty"},
    )
    providers: tuple[Provider, ...] = Field(
        ("CPUExecutionProvider",),
        strict=False,
        min_length=1,
        description=(
            "onnxruntime execution providers to use, in order of preference; each listed once. "
            "CPUExecutionProvider works everywhere; the others need an onnxruntime build and hardware "
            "that support them (e.g. CUDA/TensorRT on NVIDIA Jetson)."
        ),
    )
    intra_op_threads: int = Field(
        1,
        ge=1,
        le=16,
        description=(
            "CPU threads each model may use. 1 leaves cores for the camera, the screen and the other "
            "models (best on a 4-core Pi); more can speed up a single large model on a machine with "
            "spare cores."
        ),
    )

    @field_validator("models_dir", "demo_dir", mode="before")
    @classmethod
    def _check_path_text(cls, value: object) -> object:
        return _no_blank_path(value, "leave the value out (nothing after the colon) to use the default folder")

    @field_validator("models_dir", "demo_dir", mode="after")
    @classmethod
    def _resolve_dir(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        if value is None:
            return None
        base_dir, base_label = _context_base(info)
        path = _resolve(str(value), base_dir)
        if info.field_name == "models_dir" and not path.is_dir():
            given = str(value)
            shown = f"'{given}'" if given == str(path) else f"'{given}' (looked for {path})"
            relative = "" if Path(given).expanduser().is_absolute() else f"; relative paths start at {base_label}"
            raise ValueError(f"models folder {shown} not found{relative}. To fill it: kiosk models fetch --models-dir {path}")
        return path

    @property
    def models_dir_resolved(self) -> Path:
        """:attr:`models_dir`, or the folder ``kiosk models fetch`` fills when it is empty."""
        if self.models_dir is not None:
            return self.models_dir
        from kiosk.models import default_models_dir  # lazy: keeps importing the config cheap

        return default_models_dir()

    @property
    def demo_dir_resolved(self) -> Path:
        """:attr:`demo_dir`, or the folder ``kiosk models fetch`` puts the demo photos in."""
        if self.demo_dir is not None:
            return self.demo_dir
        from kiosk.models import default_demo_dir  # lazy: keeps importing the config cheap

        return default_demo_dir()

    @field_validator("providers", mode="after")
    @classmethod
    def _no_duplicates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        repeated = sorted({p for p in value if value.count(p) > 1}, key=value.index)
        if repeated:
            raise ValueError(f"lists {', '.join(repeated)} more than once; list each provider once")
        return value


class UiConfig(_Section):
    """The screen."""

    fullscreen: bool = Field(
        True,
        description=(
            "true: the kiosk fills the screen at the screen's own resolution (for the exhibit). false: "
            "a window of `width` x `height` (for setting up and testing)."
        ),
    )
    width: int = Field(1280, ge=320, le=7680, description="Window width in pixels when `fullscreen` is false.")
    height: int = Field(720, ge=240, le=4320, description="Window height in pixels when `fullscreen` is false.")
    mirror: bool = Field(
        True,
        description=(
            "true: the picture is flipped left-right like a mirror, which is what visitors expect when "
            "they see themselves; text is never flipped. false: shows the camera's own view."
        ),
    )
    show_landmarks: bool = Field(
        False,
        description="Draw the five face points the system measures (eyes, nose tip, mouth corners). Instructive but busier.",
    )
    language: Literal["en", "de", "es"] = Field(
        "en",
        description="Language of all text on screen: `en` (English), `de` (Deutsch), `es` (Español).",
    )
    languages: tuple[Literal["en", "de", "es"], ...] = Field(
        ("en", "de", "es"),
        strict=False,
        min_length=1,
        description=(
            "Languages offered by the on-screen language button, in button order; must include "
            "`language`. One entry hides the button."
        ),
    )
    theme: Literal["default", "high_contrast"] = Field(
        "default",
        description="`default`, or `high_contrast` (white on black, thicker lines) for low vision and bright rooms.",
    )
    blur_faces: bool = Field(
        False,
        description=(
            "true: every detected face is pixelated on screen (for crowded venues); the analysis still "
            "runs and the cards still show. A face the detector misses is not blurred."
        ),
    )
    text_scale: float = Field(
        1.0,
        ge=0.75,
        le=2.5,
        description=(
            "Multiplies all type sizes (body text is 1/30 of the screen height at 1.0, readable from 2 m on "
            "a 55-inch screen). Larger for big rooms or low vision; smaller fits more on small screens."
        ),
    )
    attract_after_s: float = Field(
        5.0,
        ge=1.0,
        le=3600.0,
        description="Seconds with nobody in view before the attract screen (invitation, privacy promise, today's counts).",
    )
    lesson_after_s: float = Field(
        12.0,
        ge=2.0,
        le=3600.0,
        description="Seconds of plain mirror before a lesson opens by itself.",
    )
    lesson_rotate_s: float = Field(
        20.0,
        ge=4.0,
        le=600.0,
        description="Seconds a lesson stays open by itself (also the threshold slider's sweep period).",
    )
    interaction_hold_s: float = Field(
        45.0,
        ge=5.0,
        le=3600.0,
        description="After a touch or key press, seconds before the screen changes by itself.",
    )
    welcome_s: float = Field(6.0, ge=0.0, le=60.0,
                             description="Seconds \"Welcome back!\" stays on a returning visitor's card.")
    leave_hold_s: float = Field(3.0, ge=0.0, le=60.0,
                                description="Seconds a leaving visitor's countdown stays where their card was.")
    erased_hold_s: float = Field(4.0, ge=0.0, le=60.0,
                                 description="Seconds \"erased\" shows after a visitor is forgotten.")
    debug_overlay: bool = Field(
        False,
        description="Start with the operator overlay on (frame rates, stage times, dropped frames); F1 toggles it.",
    )
    max_fps: int = Field(
        60,
        ge=10,
        le=240,
        description=(
            "Most screen redraws per second. Lower leaves CPU for the analysis on a Raspberry Pi (30 is "
            "plenty there); higher makes movement smoother on fast screens."
        ),
    )

    @model_validator(mode="after")
    def _language_offered(self) -> UiConfig:
        if len(set(self.languages)) != len(self.languages):
            raise ValueError("languages lists a language twice; list each once")
        if self.language not in self.languages:
            raise ValueError(f"language {self.language!r} is not in languages {list(self.languages)}; "
                             "add it to languages or choose one of them")
        return self


class LoggingConfig(_Section):
    """Messages written to the system journal."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description=(
            "How much the kiosk writes to the journal (`journalctl -u kiosk`). DEBUG: everything, "
            "including timings (for troubleshooting); INFO: start, stop and summaries; WARNING: "
            "problems only; ERROR: failures only. Logs never contain pictures or embeddings."
        ),
    )


class Config(_Section):
    """The whole configuration. Immutable; build it with :func:`load_config`."""

    # Section defaults are shared instances: safe because every section is frozen.

    camera: CameraConfig = Field(CameraConfig(), description="Where frames come from and how fast.")
    detector: DetectorConfig = Field(DetectorConfig(), description="Finding faces in each frame (YuNet).")
    tracking: TrackingConfig = Field(TrackingConfig(), description="Following each face from frame to frame.")
    recognition: RecognitionConfig = Field(
        RecognitionConfig(),
        description="Recognising returning visitors by face embeddings (SFace), kept in RAM only.",
    )
    attributes: AttributesConfig = Field(
        AttributesConfig(),
        description="The guesses shown on each card (age, gender, expression, pose, gaze, eyes, mouth).",
    )
    privacy: PrivacyConfig = Field(PrivacyConfig(), description="What the kiosk may keep, and for how long.")
    watchlist: WatchlistConfig = Field(
        WatchlistConfig(),
        description="Searching visitors against a folder of portraits (the false-match lesson).",
    )
    runtime: RuntimeConfig = Field(RuntimeConfig(), description="Where the models are and how they run (onnxruntime).")
    ui: UiConfig = Field(UiConfig(), description="The screen.")
    logging: LoggingConfig = Field(LoggingConfig(), description="Messages written to the system journal.")

    @model_validator(mode="after")
    def _check_consistency(self) -> Config:
        # Checks that involve two sections; each names the key to change (see _translate).
        problems: list[tuple[tuple[str, ...], str]] = []
        forget = self.privacy.forget_after_s
        if self.recognition.visit_gap_s > forget:
            problems.append((
                ("recognition", "visit_gap_s"),
                f"{_num(self.recognition.visit_gap_s)} is longer than privacy.forget_after_s ({_num(forget)}): "
                "a visitor would be forgotten before the visit could continue; make it at most "
                f"{_num(forget)}",
            ))
        if self.tracking.max_missing_s > forget:
            problems.append((
                ("tracking", "max_missing_s"),
                f"{_num(self.tracking.max_missing_s)} is longer than privacy.forget_after_s ({_num(forget)}): "
                "visitors would be erased while still tracked; make it at most "
                f"{_num(forget)}",
            ))
        if problems:
            raise PydanticCustomError("cross_field", "{message}", {"message": problems[0][1], "problems": problems})
        return self

    def with_overrides(
        self, updates: Mapping[str, Any], *, base_dir: Path | None = None, origin: str = "<override>"
    ) -> Config:
        """A validated copy with ``updates`` applied; keys are dotted paths like ``"ui.fullscreen"``.

        Unlike ``model_copy(update=...)`` this re-validates everything, so bounds and source
        checks hold. Relative paths in ``updates`` resolve against ``base_dir`` (default: the
        current directory, which is right for command-line flags). Raises :class:`ConfigError`
        with lines ``ORIGIN: key.path: message``.
        """
        data: dict[str, Any] = self.model_dump()
        prior: list[_Problem] = []
        for dotted, value in updates.items():
            *sections, key = dotted.split(".")
            target: Any = data
            for part in sections:
                target = target.get(part) if isinstance(target, dict) else None
            if isinstance(target, dict):
                target[key] = value
            else:
                prior.append(_Problem(None, dotted, f"no such section; sections: {', '.join(Config.model_fields)}"))
        label = "the current directory" if base_dir is None else str(base_dir)
        return _validate(data, base_dir, origin, lines=None, prior=prior, broken=set(), base_label=label)


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------

Loc = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class _Where:
    """1-based lines of a key and of its value in the file."""

    key_line: int
    value_line: int


@dataclass(frozen=True, slots=True)
class _Problem:
    line: int | None
    path: str
    message: str


def load_config(path: Path | str | None) -> Config:
    """Read, check and return the configuration in ``path``; ``None`` gives all defaults.

    Relative paths inside the file are resolved against the file's folder. Every problem in the
    file is reported at once: raises :class:`ConfigError` whose ``str()`` is one
    ``FILE:LINE: key.path: message`` line per problem, sorted by line (``FILE:LINE: message``
    for YAML syntax errors, ``FILE: message`` when the file cannot be read at all).
    """
    if path is None:
        return Config()
    origin = str(path)
    file_path = Path(path)
    text = _read_text(file_path, origin)
    base_dir = Path(os.path.abspath(file_path)).parent
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        raise ConfigError(_syntax_message(origin, exc)) from None
    except yaml.YAMLError as exc:  # unmarked (rare): still no traceback
        raise ConfigError(f"{origin}: YAML error: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{origin}: the file nests too deeply to be a kiosk configuration") from None
    if root is None:
        raise ConfigError(f"{origin}:1: the file is empty (no settings); copy kiosk.example.yaml and edit it")
    if not isinstance(root, yaml.MappingNode):
        sections = ", ".join(f"{name}:" for name in Config.model_fields)
        message = f"the file must be a mapping of sections ({sections}), got {_node_kind(root)}; see kiosk.example.yaml"
        raise ConfigError(_format(origin, _line(root), "", message))
    builder = _TreeBuilder()
    try:
        data = builder.build(root, ())
    except RecursionError:
        raise ConfigError(f"{origin}: the file nests too deeply to be a kiosk configuration") from None
    builder.lines[()] = _Where(_line(root), _line(root))
    return _validate(data, base_dir, origin, lines=builder.lines, prior=builder.problems, broken=builder.broken)


def config_from_mapping(data: Mapping[str, Any], base_dir: Path | None = None) -> Config:
    """Check a plain mapping (as from ``yaml.safe_load`` or code) and return the configuration.

    Relative paths resolve against ``base_dir`` (default: the current directory). Raises
    :class:`ConfigError` with lines ``<mapping>: key.path: message`` (no line numbers).
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"<mapping>: expected a mapping of sections, got {_show(data)}")
    label = "the current directory" if base_dir is None else str(base_dir)
    return _validate(dict(data), base_dir, "<mapping>", lines=None, prior=[], broken=set(), base_label=label)


def override_source(cfg: Config, spec: str) -> Config:
    """``cfg`` with ``camera.source`` replaced by ``spec`` (the CLI's ``--source``), checked.

    Relative paths in ``spec`` resolve against the current directory, as a shell user expects.
    Raises :class:`ConfigError` (exit code 2) with a line ``--source: camera.source: message``.
    """
    return cfg.with_overrides({"camera.source": spec}, origin="--source")


def main_check(path: Path) -> int:
    """``kiosk check-config FILE``: print every problem to stderr and return 2, or print a
    one-line summary to stdout and return 0. Never shows a traceback."""
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # a bug in this checker must still not look like a crash to an operator
        print(f"{path}: internal error while checking ({type(exc).__name__}: {exc}); please report this", file=sys.stderr)
        return EXIT_USAGE
    print(f"{path}: OK ({_summary(cfg)})")
    return EXIT_OK


def _summary(cfg: Config) -> str:
    cam, rec = cfg.camera, cfg.recognition
    recognition = f"recognition on (threshold {_num(rec.match_threshold)})" if rec.enabled else "recognition off"
    screen = "fullscreen" if cfg.ui.fullscreen else f"window {cfg.ui.width}x{cfg.ui.height}"
    return (
        f"source {cam.source}, {cam.width}x{cam.height} at {cam.fps} fps, detector width {cfg.detector.input_width}, "
        f"{recognition}, forget after {_num(cfg.privacy.forget_after_s)} s, {screen}, "
        f"providers {','.join(cfg.runtime.providers)}"
    )


_MAX_BYTES = 1_000_000
_MAX_PROBLEMS = 20


def _read_text(file_path: Path, origin: str) -> str:
    try:
        raw = file_path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{origin}: config file not found (looked for {os.path.abspath(file_path)}); "
                          "start from kiosk.example.yaml") from None
    except IsADirectoryError:
        raise ConfigError(f"{origin}: is a folder, not a config file; give the path of the .yaml file") from None
    except PermissionError:
        raise ConfigError(f"{origin}: cannot read the config file: permission denied; "
                          "make it readable by the user the kiosk runs as") from None
    except OSError as exc:
        raise ConfigError(f"{origin}: cannot read the config file: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise ConfigError(f"{origin}: the file is {len(raw) / 1e6:.1f} MB, too big for a kiosk configuration "
                          f"(at most {_MAX_BYTES / 1e6:.0f} MB); is this the right file?")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ConfigError(f"{origin}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          "save the file as UTF-8 in a plain-text editor") from None


def _syntax_message(origin: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    quoted = exc.context == "while scanning a quoted scalar" and exc.context_mark is not None
    if quoted:
        mark = exc.context_mark  # the end of the file is where YAML noticed, not where the quote is
    line = mark.line + 1 if mark is not None else None
    problem = exc.problem or exc.context or "invalid YAML"
    message = f"YAML syntax error: {problem}"
    if exc.context and exc.problem and exc.context_mark is not None and not quoted:
        message += f" ({exc.context} on line {exc.context_mark.line + 1})"
    elif exc.context and exc.problem:
        message += f" ({exc.context})"
    flow = {"while parsing a flow sequence": "[]", "while parsing a flow mapping": "{}"}.get(exc.context or "")
    if quoted:
        hint = "the quote opened on this line is never closed: add the closing quote"
    elif flow and exc.context_mark is not None:
        hint = (f"the '{flow[0]}' on line {exc.context_mark.line + 1} needs a closing '{flow[1]}', "
                "and the items in it are separated by ','")
    elif "'\\t'" in problem:
        hint = "indent with spaces, never tabs"
    elif "another document" in problem:
        hint = "keep a single document: remove the extra '---'"
    else:
        hint = "check the indentation and the 'key: value' form on this line and the one before"
    return _format(origin, line, "", f"{message}; {hint}")


class _TreeBuilder:
    """Turns a composed YAML node tree into plain data, recording lines and duplicate keys.

    PyYAML's own constructor keeps the last of two equal keys without a word; here the node
    tree is walked directly so that duplicates, non-text keys and merge keys are reported.
    """

    def __init__(self) -> None:
        self.lines: dict[Loc, _Where] = {}
        self.problems: list[_Problem] = []
        self.broken: set[Loc] = set()  # paths already reported; later errors under them are noise
        self._scalars = yaml.SafeLoader("")
        self._stack: set[int] = set()

    def build(self, node: yaml.Node, path: Loc) -> Any:
        if id(node) in self._stack:
            self._report(path, _line(node), "refers to itself through an alias (*name); write the value out", broken=True)
            return None
        if isinstance(node, yaml.ScalarNode):
            try:
                return self._scalars.construct_object(node, deep=True)
            except yaml.MarkedYAMLError as exc:
                self._report(path, _line(node), f"cannot read this value: {exc.problem}", broken=True)
            except Exception as exc:  # e.g. 2024-13-45 parsed as a date: ValueError
                self._report(path, _line(node), f"cannot read this value ({node.value!r}): {exc}; quote it if it is text",
                             broken=True)
            return None
        self._stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                items = []
                for index, item in enumerate(node.value):
                    self.lines[path + (index,)] = _Where(_line(item), _line(item))
                    items.append(self.build(item, path + (index,)))
                return items
            assert isinstance(node, yaml.MappingNode)
            return self._mapping(node, path)
        finally:
            self._stack.discard(id(node))

    def _mapping(self, node: yaml.MappingNode, path: Loc) -> dict[str, Any]:
        out: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            key_line = _line(key_node)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self._report(path, key_line, "merge keys ('<<') are not supported; write the keys out in full")
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                self._report(path, key_line, f"a key must be a plain word such as 'width', got {_node_kind(key_node)}")
                continue
            # The key's text as written: 'yes:' or '1:' stay the words 'yes' and '1' (an unknown
            # key), rather than becoming True or 1 and producing a confusing type message.
            key = key_node.value
            child = path + (key,)
            if key in first_line:
                self._report(child, key_line, f"duplicate key '{key}' (first on line {first_line[key]}); "
                             "YAML would silently use the last one, so delete one of them")
            else:
                first_line[key] = key_line
            self.lines[child] = _Where(key_line, _line(value_node))
            out[key] = self.build(value_node, child)
        return out

    def _report(self, path: Loc, line: int, message: str, *, broken: bool = False) -> None:
        if broken:  # the value became None: a schema error about it would only repeat this one
            self.broken.add(path)
        self.problems.append(_Problem(line, _dotted(path), message))


def _validate(
    data: dict[str, Any],
    base_dir: Path | None,
    origin: str,
    *,
    lines: dict[Loc, _Where] | None,
    prior: list[_Problem],
    broken: set[Loc],
    base_label: str = "the config file's folder",
) -> Config:
    """Validate ``data``; raise one :class:`ConfigError` with ``prior`` and all schema problems."""
    problems = list(prior)
    cfg: Config | None = None
    try:
        cfg = Config.model_validate(data, context={_BASE_DIR: base_dir, _BASE_LABEL: base_label})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            for loc, anchor, message in _translate(error):
                if anchor != "key" and any(loc[: len(b)] == b for b in broken):
                    continue
                problems.append(_Problem(_locate(lines, loc, anchor), _dotted(loc), message))
    if problems:
        unique = list(dict.fromkeys(_format(origin, p.line, p.path, p.message) for p in sorted(problems, key=_sort_key)))
        if len(unique) > _MAX_PROBLEMS:
            rest = len(unique) - _MAX_PROBLEMS
            unique = unique[:_MAX_PROBLEMS] + [f"{origin}: and {rest} more problems (not shown); fix the ones above and check again"]
        raise ConfigError("\n".join(unique))
    assert cfg is not None
    return cfg


def _sort_key(problem: _Problem) -> tuple[int, str]:
    return (problem.line or 0, problem.path)


# Which line an error points at: the key (unknown / duplicate), the value (type, range), or the
# parent section's key (a required key is missing: it has no line of its own).
Anchor = Literal["key", "value", "parent"]


def _translate(error: Mapping[str, Any]) -> list[tuple[Loc, Anchor, str]]:
    """Turn one pydantic error into (location, anchor, operator message) triples."""
    kind: str = error["type"]
    loc: Loc = tuple(error["loc"])
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    field = _field_at(loc)

    if kind == "cross_field":
        return [(tuple(p_loc), "value", message) for p_loc, message in ctx.get("problems", [])]
    if kind == "extra_forbidden":
        return [(loc, "key", _unknown_key_message(loc))]
    if kind == "missing":
        parent = _dotted(loc[:-1]) or "the top level"
        return [(loc, "parent", f"required key '{loc[-1]}' is missing; add it under {parent}")]
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        return [(loc, "value", f"out of range: got {_show(value)}, expected {_range_text(field, ctx)}")]
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return [(loc, "value", f"expected a whole number{_range_suffix(field)}, got {_show(value)}{_number_hint(value)}")]
    if kind in ("float_type", "float_parsing", "finite_number"):
        return [(loc, "value", f"expected a number{_range_suffix(field)}, got {_show(value)}{_number_hint(value)}")]
    if kind in ("bool_type", "bool_parsing"):
        return [(loc, "value", f"expected true or false, got {_show(value)}")]
    if kind in ("string_type", "str_type"):
        return [(loc, "value", f"expected text, got {_show(value)}")]
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        name = _dotted(loc)
        if value is None:
            return [(loc, "value", f"the section is empty; put keys under '{name}:' or delete that line to use the defaults")]
        hint = ""
        if isinstance(value, str) and (m := re.match(r"^(\w+):(\S.*)$", value.strip())):
            hint = f"; put a space after the colon: '{m[1]}: {m[2]}'"
        return [(loc, "value", f"expected a section (keys indented under '{name}:'), got {_show(value)}{hint}")]
    if kind == "literal_error":
        choices = _literal_choices(field.annotation if field else None)
        hint = _did_you_mean(value, choices) if isinstance(value, str) else None
        suggestion = f"; did you mean '{hint}'?" if hint else ""
        expected = choices[0] if len(choices) == 1 else "one of " + ", ".join(choices)
        shown = _show(value)
        if isinstance(value, bool):
            shown = shown[:-1] + "; YAML reads yes, no, on and off as true/false, so quote them where text is meant)"
        return [(loc, "value", f"expected {expected}, got {shown}{suggestion}")]
    if kind in ("tuple_type", "list_type"):
        example = _yaml_value(field.default) if field else "[...]"
        return [(loc, "value", f"expected a list such as {example}, got {_show(value)}")]
    if kind == "too_short":
        example = _yaml_value(field.default) if field else "[...]"
        return [(loc, "value", f"the list is empty; list at least one, e.g. {example}")]
    if kind == "path_type":
        return [(loc, "value", f"expected a folder path, got {_show(value)}")]
    if kind in ("value_error", "assertion_error"):
        return [(loc, "value", str(ctx.get("error", error["msg"])))]
    return [(loc, "value", f"{error['msg']}, got {_show(value)}")]


def _locate(lines: dict[Loc, _Where] | None, loc: Loc, anchor: Anchor) -> int | None:
    """The 1-based line for an error at ``loc``, or None without a line map (or no such line)."""
    if lines is None:
        return None
    if anchor == "parent":
        loc = loc[:-1]
    where = lines.get(loc)
    if where is not None:
        return where.key_line if anchor in ("key", "parent") else where.value_line
    for end in range(len(loc) - 1, -1, -1):  # not in the file (a default): nearest ancestor that is
        where = lines.get(loc[:end])
        if where is not None:
            return where.key_line
    return None


def _field_at(loc: Loc) -> FieldInfo | None:
    """The schema field addressed by ``loc`` (list indices skipped), or None."""
    model: type[BaseModel] | None = Config
    field: FieldInfo | None = None
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        annotation = field.annotation
        model = annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    return field


def _model_at(loc: Loc) -> type[BaseModel] | None:
    model: type[BaseModel] = Config
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _unknown_key_message(loc: Loc) -> str:
    key, parent = str(loc[-1]), loc[:-1]
    model = _model_at(parent)
    allowed = list(model.model_fields) if model else []
    top = not parent
    noun = "section" if top else "key"
    message = f"unknown {noun} '{key}'"
    close = _did_you_mean(key, allowed)
    home = [s for s, f in Config.model_fields.items() if s != (parent[0] if parent else None)
            and key in f.annotation.model_fields]  # type: ignore[union-attr]
    if close:
        message += f"; did you mean '{close}'?"
    if home:
        message += f"{' Or move it:' if close else ';'} '{key}' belongs in section '{home[0]}'."
    elif not close:
        message += "."
    where = "sections" if top else f"keys in {_dotted(parent)}"
    return f"{message} Allowed {where}: {', '.join(allowed)}"


def _did_you_mean(word: object, choices: Iterable[str]) -> str | None:
    """The closest choice to ``word`` (case-insensitive), if any is reasonably close."""
    if not isinstance(word, str) or not word:
        return None
    by_lower = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[match[0]] if match else None


def _literal_choices(annotation: Any) -> list[str]:
    """The values of the first ``Literal`` inside ``annotation`` (e.g. in ``tuple[Literal[...], ...]``)."""
    if annotation is None:
        return []
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    for arg in get_args(annotation):
        found = _literal_choices(arg)
        if found:
            return found
    return []


def _bounds(field: FieldInfo | None) -> tuple[float | None, float | None]:
    low: float | None = None
    high: float | None = None
    for meta in field.metadata if field else ():
        if isinstance(meta, annotated_types.Ge):
            low = float(meta.ge)  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Gt):
            low = float(meta.gt)  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Le):
            high = float(meta.le)  # type: ignore[arg-type]
        elif isinstance(meta, annotated_types.Lt):
            high = float(meta.lt)  # type: ignore[arg-type]
    return low, high


def _range_text(field: FieldInfo | None, ctx: Mapping[str, Any] | None = None) -> str:
    low, high = _bounds(field)
    if low is not None and high is not None:
        return f"{_num(low)} to {_num(high)}"
    if low is not None:
        return f"at least {_num(low)}"
    if high is not None:
        return f"at most {_num(high)}"
    ctx = ctx or {}
    for name, word in (("ge", "at least"), ("gt", "more than"), ("le", "at most"), ("lt", "less than")):
        if name in ctx:
            return f"{word} {_num(ctx[name])}"
    return "a value in range"


def _range_suffix(field: FieldInfo | None) -> str:
    low, high = _bounds(field)
    return f" from {_num(low)} to {_num(high)}" if low is not None and high is not None else ""


def _number_hint(value: object) -> str:
    if isinstance(value, str):
        text = value.strip()
        if text.endswith("%"):
            return "; write a fraction, e.g. 0.75 for 75%"
        if re.match(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$", text):
            return f"; YAML reads {text} as text: write the number out in digits"
        if text[:1].isdigit() or text[:1] in "-+.":
            return "; write the number alone, without units or quotes"
    return ""


def _num(value: float | int) -> str:
    """Numbers as an operator writes them: 60 not 60.0, 0.363 not 0.36299999."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _show(value: object) -> str:
    """A received value, described so that its YAML type is clear."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return f"{'true' if value else 'false'} (a true/false value)"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        text = value if len(value) <= 60 else value[:57] + "..."
        return f"'{text}' (text)"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a section of keys"
    if isinstance(value, date):
        return f"{value.isoformat()} (a date; quote it if it is text)"
    return repr(value)


def _node_kind(node: yaml.Node) -> str:
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    return f"'{node.value}'" if node.value else "an empty value"


def _line(node: yaml.Node) -> int:
    return int(node.start_mark.line) + 1


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _format(origin: str, line: int | None, path: str, message: str) -> str:
    message = message.replace("\r", "\\r").replace("\n", "\\n")  # one line per problem, always
    head = f"{origin}:{line}" if line is not None else origin
    return f"{head}: {path}: {message}" if path else f"{head}: {message}"


# --------------------------------------------------------------------------------------------
# Reference documentation (docs/CONFIG.md is generated from the schema, so it cannot drift)
# --------------------------------------------------------------------------------------------


def _yaml_value(value: object) -> str:
    if value is None:
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _num(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


def _allowed(field: FieldInfo) -> str:
    extra = field.json_schema_extra
    if isinstance(extra, dict) and "allowed" in extra:
        return str(extra["allowed"])
    annotation = field.annotation
    choices = _literal_choices(annotation)
    if get_origin(annotation) is tuple and choices:
        return "list of: " + ", ".join(f"`{c}`" for c in choices)
    if choices:
        return ", ".join(f"`{c}`" for c in choices)
    if annotation is bool:
        return "`true`, `false`"
    kind = "whole number" if annotation is int else "number"
    return f"{kind}, {_range_text(field)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def schema_markdown() -> str:
    """The configuration reference (docs/CONFIG.md) as Markdown, generated from the schema."""
    out = [
        "# Configuration reference",
        "",
        "<!-- Generated from kiosk/config.py by schema_markdown(); do not edit by hand.",
        "     Regenerate: .venv/bin/python -m kiosk.config markdown > docs/CONFIG.md -->",
        "",
        "The kiosk reads one YAML file (`kiosk run --config FILE`); `kiosk.example.yaml` is a fully",
        "commented example to copy. Check a file without starting the kiosk:",
        "",
        "```",
        "kiosk check-config /etc/kiosk/kiosk.yaml",
        "```",
        "",
        "It prints one line per problem, all problems at once, as `FILE:LINE: key.path: message`,",
        "and exits with 2 (systemd does not restart the kiosk for a bad configuration); otherwise",
        "it prints a one-line summary and exits with 0.",
        "",
        "Rules: every section and key is optional (a missing one takes the default below); unknown",
        "or repeated keys are errors; numbers must lie within the allowed range; `true`/`false` and",
        "numbers are written without quotes. Relative paths are taken from the folder that holds",
        "the configuration file. An empty file is an error (copy `kiosk.example.yaml` instead).",
        "Two values depend on another section: `tracking.max_missing_s` and",
        "`recognition.visit_gap_s` must not exceed `privacy.forget_after_s`.",
    ]
    for section, section_field in Config.model_fields.items():
        model = section_field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        out += ["", f"## `{section}`", "", section_field.description or "", "",
                "| key | default | allowed | meaning and trade-off |", "|---|---|---|---|"]
        for name, field in model.model_fields.items():
            default = "*(empty)*" if field.default is None else f"`{_cell(_yaml_value(field.default))}`"
            out.append(f"| `{name}` | {default} | {_cell(_allowed(field))} | {_cell(field.description or '')} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:] == ["markdown"]:
        sys.stdout.write(schema_markdown())
    elif len(sys.argv) == 3 and sys.argv[1] == "check":
        raise SystemExit(main_check(Path(sys.argv[2])))
    else:
        print("usage: python -m kiosk.config markdown | check FILE", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)
