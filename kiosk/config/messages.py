"""How config problems are worded: value display, ranges, "did you mean", ``FILE:LINE: path: message``.

The bottom of :mod:`kiosk.config`: pure text helpers shared by the schema validators, the
error translation and the docs generator.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any, Literal, get_args, get_origin
import annotated_types
import yaml
from pydantic.fields import FieldInfo


Loc = tuple[str | int, ...]
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

