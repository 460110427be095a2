"""Schema, part one: the per-stage sections (camera, detector, tracking, recognition, attributes,
privacy, watchlist). Strict pydantic models; every field has a description and bounds.

Over 500 lines on purpose: seven short classes, one per section, whose length is mostly the
operator-facing field descriptions that ``docs/CONFIG.md`` is generated from (``reference``), in
the order an operator reads them. A file per section would scatter that page across seven files.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, get_args
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from kiosk.config.source_spec import SourceSpec, _SOURCE_FORMS, _context_base, _no_blank_path, _resolve, parse_source
from kiosk.config.messages import _show
from kiosk.types import SAME_PERSON_COSINE


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
    scan_tile_px: int = Field(
        0,
        ge=0,
        le=4096,
        description=(
            "0 (off) or the side in camera pixels of the tiles the picture is cut into to look for "
            "distant faces at full resolution: one tile per frame, in rotation, plus a cheap zoomed "
            "look around each small face already found (kiosk/detect/room.py). Lets a large camera "
            "picture (1280x720, 1920x1080) see faces 15-60 px wide at camera rate; a new distant face "
            "is found within one rotation (tiles / fps seconds). Costs one tile's detection per frame. "
            "Set min_face_px low enough for those faces to count. Only used when the camera picture "
            "is wider than input_width."
        ),
    )

    @field_validator("scan_tile_px")
    @classmethod
    def _scan_tile_size(cls, value: int) -> int:
        if value and value < 64:
            raise ValueError(f"must be 0 (off) or at least 64 pixels, got {value}")
        return value


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
        SAME_PERSON_COSINE,
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
            "Embeddings (of faces good enough to compare) collected for a new face before deciding who "
            "it is; up to 3x as many when the evidence is unclear. More gives a steadier decision, but "
            "\"Welcome back\" appears later (about votes x sample_interval_s seconds)."
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

    kernel_enforcement: Literal["required", "best_effort", "off"] = Field(
        "required",
        description=(
            "How the kernel enforces strict mode (Landlock: no file written except the report and "
            "aggregates; seccomp: no program started, no Internet socket; no_new_privs). `required`: "
            "refuse to start (exit 2) on a kernel without Landlock or seccomp. `best_effort`: run with "
            "what the kernel offers and a warning for staff. `off`: only the in-process guard (tests)."
        ),
    )

    @field_validator("kernel_enforcement", mode="before")
    @classmethod
    def _off_is_text(cls, value: object) -> object:
        return "off" if value is False else value  # YAML reads a bare `off` as false

    persist_aggregates: bool = Field(
        False,
        description=(
            "true: the daily counters (visitors, time in view, share who looked at the screen, counts of "
            "the guesses shown; no ids, nothing finer than the date, small groups withheld) are written to "
            "`aggregates_file` every minute when they changed, and at stop, for `kiosk stats`. false: "
            "nothing at all is written."
        ),
    )
    state_dir: Path = Field(
        Path("/var/lib/kiosk"),
        strict=False,
        description=(
            "The one folder on disk the kiosk may ever write to, relative to this config file's "
            "folder: `aggregates_file` must be inside it (the unit's `StateDirectory`, "
            "/var/lib/kiosk). A path elsewhere (e.g. /etc/cron.d/x) is refused at start."
        ),
        json_schema_extra={"allowed": "folder path"},
    )
    aggregates_file: Path | None = Field(
        None,
        strict=False,
        description=(
            "File for those counters, relative to this config file's folder (e.g. "
            "/var/lib/kiosk/aggregates.json); it must be inside `state_dir`, and its folder must "
            "exist and be writable by the service."
        ),
        json_schema_extra={"allowed": "file path, or empty"},
    )

    @field_validator("state_dir", mode="before")
    @classmethod
    def _check_state_dir_text(cls, value: object) -> object:
        return _no_blank_path(value, "leave the value out for /var/lib/kiosk")

    @field_validator("state_dir", mode="after")
    @classmethod
    def _resolve_state_dir(cls, value: Path, info: ValidationInfo) -> Path:
        return _resolve(str(value), _context_base(info)[0])

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
        if self.aggregates_file is not None and not inside(self.aggregates_file, self.state_dir):
            raise ValueError(f"aggregates_file {self.aggregates_file} is outside the state folder "
                             f"{self.state_dir} (privacy.state_dir); the kiosk writes nowhere else: put it "
                             f"inside, e.g. {self.state_dir / 'aggregates.json'}")
        return self


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` is strictly inside ``folder``, after following symbolic links in both
    (a link in the state folder pointing to /etc does not make /etc part of it)."""
    real = Path(os.path.realpath(path))
    real_folder = Path(os.path.realpath(folder))
    return real != real_folder and real.is_relative_to(real_folder)


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
        SAME_PERSON_COSINE,
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
        from kiosk.paths import DEFAULT_WATCHLIST

        return DEFAULT_WATCHLIST


