"""Schema, part two: runtime, ui and logging sections and the root :class:`Config`."""
from __future__ import annotations

import re

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError
from kiosk.config.source_spec import _context_base, _no_blank_path, _resolve
from kiosk.config.sections import AttributesConfig, CameraConfig, DetectorConfig, PrivacyConfig, Provider, RecognitionConfig, TrackingConfig, WatchlistConfig, _Section
from kiosk.config.messages import _num
from kiosk.paths import default_demo_dir, default_models_dir
from kiosk.config.validation import _Problem, _validate


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
    frame_budget_ms: float = Field(
        20.0,
        ge=0.0,
        le=1000.0,
        description=(
            "Milliseconds per frame that recognition, attributes and the face mesh may spend together "
            "after detection (0 = no shared budget, only the per-frame caps). Work that does not fit "
            "waits for the next frame, so a group walking in does not make one slow frame: lower keeps "
            "the overlay closer to the camera, higher finishes a group's first analysis sooner. The "
            "first piece of work in a frame always runs. On slow devices raise it (a Pi 4's single face "
            "embedding takes ~80 ms)."
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
        return default_models_dir()

    @property
    def demo_dir_resolved(self) -> Path:
        """:attr:`demo_dir`, or the folder ``kiosk models fetch`` puts the demo photos in."""
        if self.demo_dir is not None:
            return self.demo_dir
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
    arc: bool = Field(
        True,
        description=(
            "true: beside the mirror, a short arc of screens (at most 30 words each) walks the visitor in "
            "front through their file as it is written, what a company would keep, the watchlist moment, "
            "the forgetting when they leave, why the kiosk exists and a question, and offers a take-home "
            "QR code of their record (plain text, no link; nothing is kept). false: the timed lesson "
            "rotation (`lesson_after_s`, `lesson_rotate_s`) instead."
        ),
    )
    exhibition_link: str | None = Field(
        None,
        description=(
            "A web address (https://...) shown as a second QR code beside the visitor's take-home record, "
            "e.g. the exhibition's page. Leave it out for none (the default): the record's own code holds "
            "only text and never a link."
        ),
        json_schema_extra={"allowed": "http(s) address up to 200 characters, or empty"},
    )
    max_fps: int = Field(
        60,
        ge=10,
        le=240,
        description=(
            "Most screen redraws per second. The screen is drawn only when something new arrives (a "
            "camera frame; a snapshot or movement with the next frame), so while the camera is slower "
            "than this, a higher value costs no drawing, it only notices each frame sooner. Lower leaves "
            "CPU for the analysis on a Raspberry Pi (30 is plenty there); higher makes movement smoother "
            "on fast screens without a camera picture (lessons, attract screen)."
        ),
    )

    @field_validator("exhibition_link", mode="after")
    @classmethod
    def _check_link(cls, value: str | None) -> str | None:
        if value is None:
            return None
        text = value.strip()
        if not re.fullmatch(r"https?://[^\s]{3,193}", text):
            raise ValueError(f"expected an http:// or https:// address of at most 200 characters without spaces, "
                             f"got {value!r}; leave the key out for no link")
        return text

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
            "including timings and per-visitor events such as \"new visitor 3\" (a timeline of who "
            "came when: for troubleshooting only); INFO: start, stop and counters, no per-visitor "
            "line; WARNING: problems only; ERROR: failures only. Logs never contain pictures or "
            "embeddings."
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
        return _validate(data, base_dir, origin, lines=None, prior=prior, broken=set(), root=Config, base_label=label)


