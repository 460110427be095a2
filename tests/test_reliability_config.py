"""Config corpus (issue 6, item 3): every malformed configuration in tests/configs/bad/ stops the
kiosk with exit 2 and ``FILE:LINE: key.path: message`` lines that point at the right line and
say how to fix it; never a traceback.

tests/test_config.py compares each fixture's output with its ``.expected`` file, in process.
This file adds what a golden file cannot show by itself:

* that each reported line really is the line of the offending key or value (read from the
  fixture), and that each message carries a hint;
* ``kiosk check-config`` as the operator runs it, in a fresh process, for a sample of fixtures;
* Windows line endings and a byte-order mark: accepted, with line numbers unchanged (decided:
  editors on Windows write them and there is nothing ambiguous about them, so refusing them
  would only make operators fight their editor);
* fuzzing of ``check-config`` with YAML-like junk: exit 0 or 2, never a crash;
* files too big to be a configuration, and error floods, answered quickly and briefly.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kiosk.config import load_config
from kiosk.cli.check_config import main_check
from kiosk.errors import EXIT_OK, EXIT_USAGE, ConfigError

REPO = Path(__file__).resolve().parents[1]
BAD = Path(os.path.abspath(Path(__file__).parent / "configs" / "bad"))
EXAMPLE = REPO / "kiosk.example.yaml"
CASES = sorted(p.stem for p in BAD.glob("*.yaml"))

# FILE:LINE: key.path: message (key.path is optional: syntax errors, whole-file problems).
LINE_RE = re.compile(r"^(?P<file>[^:\s]+\.yaml):(?P<line>\d+): (?:(?P<path>[A-Za-z_]\w*(?:\.\w+)*(?:\[\d+\])?): )?(?P<msg>.+)$")
# Words that introduce what to do or what is allowed: every message must have one.
HINTS = ("expected", "did you mean", "allowed", "write ", "delete", "remove", "indent", "save the file",
         "copy kiosk.example.yaml", "see kiosk.example.yaml", "check the", "make it", "list ", "put ", "add ",
         "needs ", "relative paths start at")

def expected_for(directory: Path, name: str) -> str:
    return (directory / f"{name}.expected").read_text(encoding="utf-8").rstrip("\n").replace("{dir}", str(directory))


def fixture_lines(name: str, directory: Path = BAD) -> list[str]:
    """The fixture's lines as an editor shows them (any line ending, BOM dropped, any encoding)."""
    return (directory / f"{name}.yaml").read_bytes().decode("utf-8-sig", errors="replace").splitlines()


def config_error(name: str, directory: Path, monkeypatch: pytest.MonkeyPatch) -> ConfigError:
    monkeypatch.chdir(directory)
    with pytest.raises(ConfigError) as info:
        load_config(f"{name}.yaml")
    return info.value


# --- the corpus ---------------------------------------------------------------------------------------

def test_the_corpus_covers_the_issue() -> None:
    assert len(CASES) >= 30
    kinds = {
        "YAML syntax": ["syntax_error", "tab_indent", "stray_colon", "deeper_indent", "two_documents"],
        "wrong types": ["wrong_type", "quoted_bool", "quoted_number", "list_for_number", "float_for_int",
                        "bool_for_number", "wrong_type_section"],
        "out of range": ["out_of_range", "negative_number", "huge_numbers"],
        "unknown keys": ["unknown_section", "unknown_key_nested", "key_in_wrong_section", "section_wrong_case"],
        "duplicate keys": ["duplicate_key", "duplicate_section", "duplicate_provider"],
        "missing files": ["missing_source_file", "missing_images_dir"],
        "empty": ["empty", "comments_only", "empty_section", "null_value", "empty_providers"],
        "not a mapping": ["top_level_list", "plain_text_file", "section_not_mapping", "providers_not_list"],
        "bad enums": ["bad_enum", "bad_provider", "bad_log_level", "bad_source_spec"],
        "encodings and line endings": ["not_utf8", "bom_with_error", "crlf_line_endings"],
    }
    missing = {kind: [n for n in names if n not in CASES] for kind, names in kinds.items()}
    assert not any(missing.values()), missing
    assert (BAD / "crlf_line_endings.yaml").read_bytes().count(b"\r\n") == 4  # not normalised by an editor
    assert (BAD / "bom_with_error.yaml").read_bytes().startswith(b"\xef\xbb\xbf")


@pytest.mark.parametrize("name", CASES)
def test_each_error_points_at_the_right_line_with_a_hint(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    error = config_error(name, BAD, monkeypatch)
    assert error.exit_code == EXIT_USAGE
    text = str(error)
    assert "Traceback" not in text and "internal error" not in text
    source = fixture_lines(name)
    for line in text.splitlines():
        m = LINE_RE.match(line)
        assert m, f"not FILE:LINE: [key.path: ]message: {line!r}"
        assert m["file"] == f"{name}.yaml"
        number = int(m["line"])
        assert 1 <= number <= max(1, len(source)), line
        assert any(h in m["msg"].lower() for h in HINTS), f"no hint in: {line!r}"
        path = m["path"]
        if path is None:
            continue
        at = source[number - 1]
        if path.endswith("]"):  # a list item: its own line, in block or flow style
            assert at.lstrip().startswith("-") or "[" in at, (line, at)
        else:  # the key itself (unknown, duplicate, type, range: the key and its value share the line)
            key = path.rsplit(".", 1)[-1]
            assert re.match(rf"^\s*{re.escape(key)}\s*:", at) or (number > 1 and key in source[number - 2]), (line, at)


# Syntax, encoding, duplicate, structure and path errors, as an operator runs the command.
SAMPLE = ["syntax_error", "not_utf8", "duplicate_key", "crlf_line_endings", "missing_source_file"]


def test_check_config_command_in_a_fresh_process() -> None:
    for name in SAMPLE:
        proc = subprocess.run([sys.executable, "-m", "kiosk", "check-config", f"{name}.yaml"], cwd=BAD,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == EXIT_USAGE, (name, proc.stderr)
        assert proc.stdout == "" and "Traceback" not in proc.stderr
        assert proc.stderr == expected_for(BAD, name) + "\n", name


# --- line endings and byte-order marks: accepted ------------------------------------------------------

def _variants(text: str) -> dict[str, bytes]:
    return {
        "lf": text.encode(),
        "crlf": text.replace("\n", "\r\n").encode(),
        "bom_crlf": b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode(),
        "cr_only": text.replace("\n", "\r").encode(),  # classic Mac OS; YAML treats CR as a line break too
    }


def test_windows_line_endings_and_bom_give_the_same_config(tmp_path: Path) -> None:
    reference = load_config(EXAMPLE)
    for kind, data in _variants(EXAMPLE.read_text(encoding="utf-8")).items():
        path = tmp_path / f"{kind}.yaml"
        path.write_bytes(data)
        assert load_config(path) == reference, kind


def test_windows_line_endings_keep_line_numbers(tmp_path: Path) -> None:
    text = "# comment\ncamera:\n  source: demo\n\n  fps: 500\nui:\n  colour: red\n"
    outputs = {}
    for kind, data in _variants(text).items():
        path = tmp_path / "k.yaml"
        path.write_bytes(data)
        with pytest.raises(ConfigError) as info:
            load_config(path)
        outputs[kind] = str(info.value)
    assert len(set(outputs.values())) == 1, outputs
    assert [line.split(":")[1] for line in outputs["lf"].splitlines()] == ["5", "7"]


# --- check-config never crashes ------------------------------------------------------------------------

_EXAMPLE_LINES = [line for line in EXAMPLE.read_text(encoding="utf-8").splitlines() if line.strip()]
_JUNK = st.one_of(st.text(alphabet=":-[]{}\"'\t #&*!|>%@`,?\\~=\r", max_size=8),
                  st.sampled_from(["yes", "0x1F", "1e9", ".inf", "<<: *a", "&a", "!!python/object:os.system", "---"]))


@settings(max_examples=60, deadline=None, database=None)
@given(lines=st.lists(st.one_of(st.sampled_from(_EXAMPLE_LINES), _JUNK,
                                st.builds(lambda a, b: a + b, st.sampled_from(_EXAMPLE_LINES), _JUNK)),
                      max_size=25))
def test_fuzz_check_config_exits_0_or_2_and_never_crashes(lines: list[str], tmp_path_factory: pytest.TempPathFactory) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "k.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main_check(path)
    assert code in (EXIT_OK, EXIT_USAGE)
    assert "internal error" not in err.getvalue() and "Traceback" not in err.getvalue(), err.getvalue()
    # (Every line starting with the path is not asserted here: multi-line values break that today;
    # see the pending fixtures multiline_value and multiline_section.)
    assert err.getvalue().startswith(f"{path}") or code == EXIT_OK


def test_a_huge_file_is_refused_quickly(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    body = "ui:\n  fullscreen: false\n" + "# padding padding padding padding padding padding padding\n" * 25_000
    path.write_text(body[:1_200_000].rsplit("\n", 1)[0] + "\n", encoding="utf-8")
    assert 1_150_000 < path.stat().st_size <= 1_200_000
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}: the file is {path.stat().st_size / 1e6:.1f} MB, too big for a kiosk configuration (at most 1 MB); "
        "is this the right file?")


def test_a_flood_of_errors_is_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "many.yaml"
    path.write_text("camera:\n" + "".join(f"  key_{i}: {i}\n" for i in range(200)), encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    lines = str(info.value).splitlines()
    assert len(lines) == 21
    assert [int(line.split(":")[1]) for line in lines[:20]] == list(range(2, 22))
    assert lines[20] == f"{path}: and 180 more problems (not shown); fix the ones above and check again"
