"""The aggregates file: its format, the paths it is written to, and reading and checking it.

:class:`~kiosk.counters.daily.Aggregates` counts and writes the file (``write_json``);
:class:`~kiosk.counters.persister.Persister` decides when; this module says what a valid file
is. :func:`read_aggregates` reads and checks one (``kiosk stats``, and resuming today's counts
after a restart): JSON syntax with line and column, every key and type with the line where
possible, and the relations between the counts.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kiosk.errors import EXIT_USAGE, KioskError

__all__ = ["FORMAT", "NOTE", "VERSION", "AggregatesFileError", "allowed_paths", "format_file", "fsync_dir",
           "read_aggregates", "temp_path"]

FORMAT = "surveillance-mirror-aggregates"
VERSION = 1
NOTE = "Counts only; no person can be identified from this file."


def allowed_paths(path: Path) -> list[Path]:
    """The paths :meth:`kiosk.counters.daily.Aggregates.write_json` writes: ``path`` and its temporary file.

    Pass them to ``kiosk.privacy.guard.install_guard(allow_write_paths=...)``. The guard allows
    existing folders wholesale, so a folder is refused here (the allow-list must stay exactly two
    files). Raises ``ValueError`` for a folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path} is a folder; privacy.aggregates_file must name a file")
    return [path, temp_path(path)]


def temp_path(path: Path) -> Path:
    """``<path>.tmp``: a fixed name, because the privacy guard allow-lists exact file names."""
    path = Path(path)
    return path.with_name(path.name + ".tmp")


def format_file(data: Mapping[str, Any]) -> str:
    """JSON with one line per day: small, diff-able, and error messages can name a day's line."""
    head = {k: v for k, v in data.items() if k != "days"}
    lines = ["{"]
    for k, v in head.items():
        lines.append(f" {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)},")
    days = [json.dumps(d, ensure_ascii=False) for d in data["days"]]
    lines.append(' "days": [')
    lines.extend(f"  {d}," for d in days[:-1])
    if days:
        lines.append(f"  {days[-1]}")
    lines.append(" ]")
    lines.append("}")
    return "\n".join(lines) + "\n"


def fsync_dir(folder: Path) -> None:
    """Make the rename durable across a power cut (best effort; not every file system can)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class AggregatesFileError(KioskError):
    """An aggregates file is missing or invalid; one ``FILE[:LINE]: key: message`` line per problem."""

    exit_code = EXIT_USAGE


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


_Count = Annotated[int, Field(ge=0)]


class _WatchlistCounts(_Section):
    searched: _Count
    matched: _Count
    threshold: float | None = Field(ge=0.0, le=1.0)


class _DayCounts(_Section):
    date: str = Field(pattern=r"^\d{4}-\d{2}-\d{2}$")
    visitors: _Count
    analysed: _Count
    looked: _Count
    gaze_measured: _Count
    dwell_histogram: list[_Count]
    age: dict[str, _Count] | None
    gender: dict[str, _Count] | None
    expression: dict[str, _Count] | None
    watchlist: _WatchlistCounts | None


class _File(_Section):
    format: Literal["surveillance-mirror-aggregates"]
    version: Literal[1]
    note: str
    dwell_bins_s: list[_Count] = Field(min_length=1)
    min_group: int = Field(ge=1)
    days: list[_DayCounts]


_Loc = tuple[str | int, ...]


class _DuplicateKey(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _DuplicateKey(f"the key {k!r} appears twice in one object")
        out[k] = v
    return out


def _refuse_constant(name: str) -> float:
    raise ValueError(f"{name} is not a number JSON allows")


def read_aggregates(path: Path) -> dict[str, Any]:
    """Read and check an aggregates file; return its content (plain JSON types).

    Checks the JSON syntax (line and column), every key and type (``days[2].visitors: ...`` with
    the line where possible), and the relations between counts (e.g. the dwell histogram sums
    to the visitors, dates strictly increase). Raises :class:`AggregatesFileError` listing every
    problem, one per line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise AggregatesFileError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise AggregatesFileError(f"{path}: is a folder, not an aggregates file") from None
    except UnicodeDecodeError as exc:
        raise AggregatesFileError(f"{path}: not a text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise AggregatesFileError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    if not text.strip():
        raise AggregatesFileError(f"{path}: the file is empty")
    try:
        raw = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise AggregatesFileError(f"{path}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}") from None
    except ValueError as exc:  # a duplicate key or NaN/Infinity; json gives no position here
        raise AggregatesFileError(f"{path}: not a valid aggregates file: {exc}") from None
    if not isinstance(raw, dict):
        raise AggregatesFileError(f"{path}:1: expected a JSON object {{...}} at the top, got {_kind(raw)}")
    problems: list[tuple[_Loc, str]] = []
    try:
        _File.model_validate(raw)
    except ValidationError as exc:
        for error in exc.errors():
            problems.append((tuple(error["loc"]), _message(error)))
    if not problems:
        problems = _relations(raw)
    if problems:
        lines = _line_map(text)
        out = []
        for loc, message in problems:
            line = _find_line(lines, loc)
            head = f"{path}:{line}" if line is not None else str(path)
            out.append(f"{head}: {_dotted(loc) or 'top level'}: {message}")
        raise AggregatesFileError("\n".join(out))
    return raw


def _relations(data: Mapping[str, Any]) -> list[tuple[_Loc, str]]:
    """Checks between values that the types alone cannot express."""
    problems: list[tuple[_Loc, str]] = []
    bins = data["dwell_bins_s"]
    if bins[0] != 0 or any(b <= a for a, b in zip(bins, bins[1:])):
        problems.append((("dwell_bins_s",), f"must start at 0 and increase, got {bins}"))
    previous: dt.date | None = None
    for i, day in enumerate(data["days"]):
        loc: _Loc = ("days", i)
        try:
            date = dt.date.fromisoformat(day["date"])
        except ValueError:
            problems.append((loc + ("date",), f"not a calendar date: {day['date']!r}"))
            continue
        if previous is not None and date <= previous:
            problems.append((loc + ("date",), f"{day['date']} does not come after {previous.isoformat()}; "
                             "days must be in order, each once"))
        previous = date
        hist = day["dwell_histogram"]
        if len(hist) != len(bins):
            problems.append((loc + ("dwell_histogram",),
                             f"has {len(hist)} counts, dwell_bins_s has {len(bins)} bins"))
        elif sum(hist) != day["visitors"]:
            problems.append((loc + ("dwell_histogram",),
                             f"counts sum to {sum(hist)}, but visitors is {day['visitors']}"))
        for name, limit in (("analysed", "visitors"), ("gaze_measured", "visitors"),
                            ("looked", "gaze_measured")):
            if day[name] > day[limit]:
                problems.append((loc + (name,), f"{day[name]} is more than {limit} ({day[limit]})"))
        for name in ("age", "gender", "expression"):
            counts = day[name]
            if counts is not None and sum(counts.values()) > day["analysed"]:
                problems.append((loc + (name,), f"counts sum to {sum(counts.values())}, more than the "
                                 f"{day['analysed']} analysed visitors"))
        wl = day["watchlist"]
        if wl is not None:
            if wl["searched"] > day["visitors"]:
                problems.append((loc + ("watchlist", "searched"),
                                 f"{wl['searched']} is more than visitors ({day['visitors']})"))
            if wl["matched"] > wl["searched"]:
                problems.append((loc + ("watchlist", "matched"),
                                 f"{wl['matched']} is more than searched ({wl['searched']})"))
    return problems


_EXPECTED = {
    "int_type": "expected a whole number",
    "float_type": "expected a number",
    "string_type": "expected text",
    "dict_type": "expected an object {...}",
    "model_type": "expected an object {...}",
    "list_type": "expected a list [...]",
    "string_pattern_mismatch": "expected a date written YYYY-MM-DD",
    "too_short": "must not be empty",
}


def _message(error: Mapping[str, Any]) -> str:
    """A pydantic error in an operator's words."""
    kind = error["type"]
    ctx = error.get("ctx") or {}
    got = _show(error.get("input"))
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        return "unknown key (not part of an aggregates file)"
    if kind == "literal_error":
        return f"must be {ctx.get('expected', '?')}, got {got}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {got}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {got}"
    if kind in _EXPECTED:
        return f"{_EXPECTED[kind]}, got {got}"
    return f"{error['msg']}, got {got}"


def _show(value: Any) -> str:
    if isinstance(value, (dict, list)):
        return _kind(value)
    text = json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "true/false",
            type(None): "null"}.get(type(value), "a number")


def _dotted(loc: _Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _line_map(text: str) -> dict[_Loc, int] | None:
    """1-based line of every key (and list item) in the JSON text, via YAML's node tree.

    JSON as this module writes it is valid YAML, and ``yaml.compose`` keeps positions, which
    ``json`` does not. A hand-edited file YAML cannot read gives messages without line numbers.
    """
    try:
        root = yaml.compose(re.sub(r"\t", " ", text))
    except yaml.YAMLError:
        return None
    lines: dict[_Loc, int] = {}

    def walk(node: yaml.Node, loc: _Loc) -> None:
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                sub = loc + (str(key_node.value),)
                lines[sub] = key_node.start_mark.line + 1
                walk(value_node, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[loc + (i,)] = item.start_mark.line + 1
                walk(item, loc + (i,))

    if root is not None:
        lines[()] = root.start_mark.line + 1
        walk(root, ())
    return lines


def _find_line(lines: dict[_Loc, int] | None, loc: _Loc) -> int | None:
    if lines is None:
        return None
    for end in range(len(loc), -1, -1):  # a missing key: the nearest enclosing object's line
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None
