"""Tests for kiosk.config: exact operator-facing error lines, path resolution, API, docs."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from kiosk.config import Config, SourceSpec, config_from_mapping, load_config, override_source, parse_source, schema_markdown
from kiosk.cli.check_config import main_check
from kiosk.errors import EXIT_OK, EXIT_USAGE, ConfigError

REPO = Path(__file__).resolve().parents[1]
BAD = Path(os.path.abspath(Path(__file__).parent / "configs" / "bad"))
EXAMPLE = REPO / "kiosk.example.yaml"
BAD_CASES = sorted(p.stem for p in BAD.glob("*.yaml"))


def expected_for(name: str) -> str:
    return (BAD / f"{name}.expected").read_text(encoding="utf-8").rstrip("\n").replace("{dir}", str(BAD))


# ---------------------------------------------------------------------------------------------
# Table-driven: every tests/configs/bad/NAME.yaml fails with exactly NAME.expected
# ---------------------------------------------------------------------------------------------


def test_every_bad_fixture_has_an_expectation_and_vice_versa() -> None:
    expectations = sorted(p.stem for p in BAD.glob("*.expected"))
    assert BAD_CASES == expectations
    assert len(BAD_CASES) >= 11


@pytest.mark.parametrize("name", BAD_CASES)
def test_bad_config_reports_exact_lines(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    with pytest.raises(ConfigError) as info:
        load_config(f"{name}.yaml")
    assert str(info.value) == expected_for(name)
    assert info.value.exit_code == EXIT_USAGE


@pytest.mark.parametrize("name", BAD_CASES)
def test_main_check_prints_errors_and_exits_2(
    name: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(BAD)
    assert main_check(Path(f"{name}.yaml")) == EXIT_USAGE
    out, err = capsys.readouterr()
    assert out == ""
    assert err == expected_for(name) + "\n"
    assert "Traceback" not in err


# The brief's named cases, spelled out so that a reader sees the format without opening files.
@pytest.mark.parametrize(
    ("name", "first_line"),
    [
        ("unknown_key_nested", "unknown_key_nested.yaml:7: detector.score_treshold: unknown key 'score_treshold'; "
                               "did you mean 'score_threshold'? Allowed keys in detector: input_width, "
                               "score_threshold, nms_iou_threshold, top_k, min_face_px, scan_tile_px"),
        ("duplicate_key", "duplicate_key.yaml:6: camera.fps: duplicate key 'fps' (first on line 4); "
                          "YAML would silently use the last one, so delete one of them"),
        ("wrong_type", "wrong_type.yaml:3: camera.fps: expected a whole number from 1 to 120, got 'fast' (text)"),
        ("out_of_range", "out_of_range.yaml:4: detector.score_threshold: out of range: got 1.5, expected 0.3 to 0.99"),
        ("bad_enum", "bad_enum.yaml:3: logging.level: expected one of DEBUG, INFO, WARNING, ERROR, got 'info' (text); "
                     "did you mean 'INFO'?"),
        ("empty", "empty.yaml:1: the file is empty (no settings); copy kiosk.example.yaml and edit it"),
    ],
)
def test_named_cases(name: str, first_line: str) -> None:
    assert expected_for(name).splitlines()[0] == first_line


def test_several_errors_are_all_reported_in_line_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(BAD)
    with pytest.raises(ConfigError) as info:
        load_config("several_errors.yaml")
    lines = str(info.value).splitlines()
    assert [int(line.split(":")[1]) for line in lines] == [4, 5, 7, 10, 12, 15]


def test_error_file_name_is_the_path_as_given(tmp_path: Path) -> None:
    (tmp_path / "k.yaml").write_text("ui:\n  max_fps: 5\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "k.yaml")
    assert str(info.value) == f"{tmp_path / 'k.yaml'}:2: ui.max_fps: out of range: got 5, expected 10 to 240"


def test_missing_config_file_names_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as info:
        load_config("nope.yaml")
    assert str(info.value) == (
        f"nope.yaml: config file not found (looked for {tmp_path / 'nope.yaml'}); start from kiosk.example.yaml"
    )


def test_a_folder_is_not_a_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is a folder, not a config file"):
        load_config(tmp_path)


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"# ok\ncamera:\n  source: caf\xe9\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == f"{path}:3: not UTF-8 text (byte 0xe9); save the file as UTF-8 in a plain-text editor"


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes("\ufeffui:\n  fullscreen: false\n".encode())
    assert load_config(path).ui.fullscreen is False


def test_value_that_yaml_cannot_construct_is_reported_once(tmp_path: Path) -> None:
    path = tmp_path / "date.yaml"
    path.write_text("camera:\n  source: 2024-13-45\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}:2: camera.source: cannot read this value ('2024-13-45'): month must be in 1..12; quote it if it is text"
    )


# ---------------------------------------------------------------------------------------------
# Good configurations, paths, API
# ---------------------------------------------------------------------------------------------


def test_example_config_loads_and_suits_the_demo() -> None:
    cfg = load_config(EXAMPLE)
    assert cfg.camera.source == "demo"
    assert cfg.ui.fullscreen is True


def test_example_config_sets_every_field() -> None:
    root = yaml.compose(EXAMPLE.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
    present = {
        (section.value, key.value)
        for section, body in root.value
        for key, _ in body.value
    }
    wanted = {
        (section, name)
        for section, field in Config.model_fields.items()
        for name in field.annotation.model_fields  # type: ignore[union-attr]
    }
    assert wanted - present == set()


def test_example_config_values_are_the_defaults() -> None:
    # The example documents the defaults in its comments; keep the values in step with them.
    assert load_config(EXAMPLE) == load_config(None)


def test_main_check_ok_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main_check(EXAMPLE) == EXIT_OK
    out, err = capsys.readouterr()
    assert err == ""
    assert out == (
        f"{EXAMPLE}: OK (source demo, 640x480 at 30 fps, detector width 320, recognition on (threshold 0.363), "
        "forget after 300 s, fullscreen, providers CPUExecutionProvider)\n"
    )


def test_check_in_a_fresh_process_exits_2_without_traceback() -> None:
    code = "import sys; from pathlib import Path; from kiosk.cli.check_config import main_check; sys.exit(main_check(Path(sys.argv[1])))"
    for path, status in [(BAD / "several_errors.yaml", 2), (BAD / "syntax_error.yaml", 2), (EXAMPLE, 0),
                         (BAD / "does_not_exist.yaml", 2)]:
        proc = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, cwd=REPO)
        assert proc.returncode == status, proc.stderr
        assert "Traceback" not in proc.stderr


def test_none_gives_all_defaults() -> None:
    cfg = load_config(None)
    assert cfg == Config()
    assert cfg.camera.source == "demo"
    assert (cfg.camera.width, cfg.camera.height, cfg.camera.fps) == (640, 480, 30)
    assert cfg.detector.score_threshold == 0.75
    assert cfg.recognition.match_threshold == 0.363
    assert cfg.privacy.forget_after_s == 300
    assert cfg.runtime.providers == ("CPUExecutionProvider",)
    assert cfg.runtime.models_dir is None and cfg.runtime.demo_dir is None
    assert cfg.logging.level == "INFO"


def test_resolved_dirs_fall_back_to_the_fetch_locations(tmp_path: Path) -> None:
    from kiosk.models import default_demo_dir, default_models_dir

    runtime = load_config(None).runtime
    assert runtime.models_dir_resolved == default_models_dir()
    assert runtime.demo_dir_resolved == default_demo_dir()
    (tmp_path / "m").mkdir()  # a models folder must exist (kiosk models fetch --models-dir fills it)
    set_dirs = config_from_mapping({"runtime": {"models_dir": "m", "demo_dir": "d"}}, base_dir=tmp_path).runtime
    assert (set_dirs.models_dir_resolved, set_dirs.demo_dir_resolved) == (tmp_path / "m", tmp_path / "d")


def test_config_is_frozen() -> None:
    cfg = load_config(None)
    with pytest.raises(ValidationError):
        cfg.camera.width = 800  # type: ignore[misc]


def test_relative_paths_resolve_against_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    site = tmp_path / "site"
    (site / "clips").mkdir(parents=True)
    (site / "clips" / "visit.mp4").write_bytes(b"")
    (site / "photos").mkdir()
    (site / "photos" / "a.PNG").write_bytes(b"")
    (tmp_path / "models").mkdir()
    (site / "kiosk.yaml").write_text(
        "camera:\n  source: file:clips/visit.mp4\nruntime:\n  models_dir: ../models\n  demo_dir: photos\n",
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)  # the working directory must not matter
    cfg = load_config("site/kiosk.yaml")
    assert cfg.camera.source == f"file:{site / 'clips' / 'visit.mp4'}"
    assert cfg.camera.source_spec == SourceSpec(kind="file", path=site / "clips" / "visit.mp4")
    assert cfg.runtime.models_dir == tmp_path / "models"
    assert cfg.runtime.demo_dir == site / "photos"

    (site / "kiosk.yaml").write_text("camera:\n  source: images:photos\n", encoding="utf-8")
    assert load_config(site / "kiosk.yaml").camera.source_spec == SourceSpec(kind="images", path=site / "photos")


def test_images_folder_without_images_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "k.yaml").write_text("camera:\n  source: images:empty\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path / "k.yaml")
    assert str(info.value) == (
        f"{tmp_path / 'k.yaml'}:2: camera.source: image folder 'empty' (looked for {tmp_path / 'empty'}) "
        "holds no images (.jpg, .jpeg, .png, .bmp, .webp, .tif, .tiff)"
    )


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("demo", SourceSpec(kind="demo")),
        ("picamera2", SourceSpec(kind="picamera2")),
        ("camera:0", SourceSpec(kind="camera", index=0)),
        ("camera:12", SourceSpec(kind="camera", index=12)),
        ("gst:videotestsrc ! videoconvert ! appsink", SourceSpec(kind="gst", pipeline="videotestsrc ! videoconvert ! appsink")),
    ],
)
def test_parse_source_accepts(spec: str, parsed: SourceSpec) -> None:
    assert parse_source(spec) == parsed
    assert str(parsed) == spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("camera", "'camera' needs ':' and a value"),
        ("camera:", "camera:N needs N = the camera number"),
        ("camera:-1", "camera:N needs N = the camera number"),
        ("camera:/dev/video2", "write camera:2 for /dev/video2"),
        ("Demo", "did you mean 'demo'?"),
        ("picamera2:0", "'picamera2' takes no ':' argument"),
        ("gst:  ", "gst: needs a GStreamer pipeline"),
        ("file:", "file: needs the path of a video file"),
        ("rtsp://cam.local/stream", "for a network stream use gst:PIPELINE"),
    ],
)
def test_parse_source_rejects(spec: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_source(spec)


def test_config_from_mapping_reports_without_lines() -> None:
    with pytest.raises(ConfigError) as info:
        config_from_mapping({"camera": {"width": 5}, "ui": {"colour": "red"}})
    assert str(info.value) == (
        "<mapping>: camera.width: out of range: got 5, expected 160 to 3840\n"
        "<mapping>: ui.colour: unknown key 'colour'. Allowed keys in ui: fullscreen, width, height, mirror, "
        "show_landmarks, language, languages, theme, blur_faces, text_scale, attract_after_s, lesson_after_s, lesson_rotate_s, interaction_hold_s, welcome_s, leave_hold_s, erased_hold_s, debug_overlay, arc, exhibition_link, max_fps"
    )


def test_config_from_mapping_resolves_against_base_dir(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    cfg = config_from_mapping({"runtime": {"models_dir": "m"}}, base_dir=tmp_path)
    assert cfg.runtime.models_dir == tmp_path / "m"


def test_override_source_validates_relative_to_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "clip.mp4").write_bytes(b"")
    monkeypatch.chdir(tmp_path)
    cfg = load_config(EXAMPLE)
    changed = override_source(cfg, "file:clip.mp4")
    assert changed.camera.source == f"file:{tmp_path / 'clip.mp4'}"
    assert changed.ui == cfg.ui and cfg.camera.source == "demo"
    assert override_source(cfg, "camera:1").camera.source_spec.index == 1
    with pytest.raises(ConfigError) as info:
        override_source(cfg, "file:missing.mp4")
    assert str(info.value) == (
        f"--source: camera.source: video file 'missing.mp4' (looked for {tmp_path / 'missing.mp4'}) not found; "
        "relative paths start at the current directory"
    )


def test_with_overrides_revalidates() -> None:
    cfg = load_config(None)
    assert cfg.with_overrides({"ui.fullscreen": False, "camera.fps": 15}).camera.fps == 15
    with pytest.raises(ConfigError) as info:
        cfg.with_overrides({"camera.fps": 500, "colour.x": 1})
    assert str(info.value) == (
        "<override>: camera.fps: out of range: got 500, expected 1 to 120\n"
        "<override>: colour.x: no such section; sections: camera, detector, tracking, recognition, attributes, privacy, watchlist, "
        "runtime, ui, logging"
    )


# ---------------------------------------------------------------------------------------------
# Schema hygiene and generated docs
# ---------------------------------------------------------------------------------------------


def _fields() -> list[tuple[str, str, FieldInfo]]:
    out: list[tuple[str, str, FieldInfo]] = []
    for section, field in Config.model_fields.items():
        model = field.annotation
        assert isinstance(model, type) and issubclass(model, BaseModel)
        assert model.model_config.get("extra") == "forbid" and model.model_config.get("frozen") is True
        out += [(section, name, f) for name, f in model.model_fields.items()]
    return out


def test_every_field_is_described_and_numbers_are_bounded() -> None:
    for section, name, field in _fields():
        assert field.description and len(field.description) > 20, f"{section}.{name}"
        if field.annotation in (int, float):
            kinds = {type(m).__name__ for m in field.metadata}
            assert {"Ge", "Le"} <= kinds, f"{section}.{name} needs ge= and le="


def test_docs_config_md_is_up_to_date() -> None:
    docs = REPO / "docs" / "CONFIG.md"
    assert docs.read_text(encoding="utf-8") == schema_markdown(), (
        "docs/CONFIG.md is stale; run: .venv/bin/python -m kiosk.config markdown > docs/CONFIG.md"
    )
