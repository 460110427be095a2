"""Validation of plain data against the schema, with pydantic's errors turned into operator messages.

The root model is a parameter, so this module sits below :mod:`kiosk.config.schema` (whose
:meth:`~kiosk.config.schema.Config.with_overrides` uses it) without an import cycle.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from kiosk.errors import ConfigError
from kiosk.config.source_spec import _BASE_DIR, _BASE_LABEL
from kiosk.config.messages import _yaml_value, Loc, _did_you_mean, _dotted, _format, _literal_choices, _number_hint, _range_suffix, _range_text, _show

_M = TypeVar("_M", bound=BaseModel)


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

_MAX_PROBLEMS = 20
def _validate(
    data: dict[str, Any],
    base_dir: Path | None,
    origin: str,
    *,
    lines: dict[Loc, _Where] | None,
    prior: list[_Problem],
    broken: set[Loc],
    root: type[_M],
    base_label: str = "the config file's folder",
) -> _M:
    """Validate ``data`` as a ``root`` (the :class:`~kiosk.config.schema.Config`, passed in so that this
    module sits below the schema); raise one :class:`ConfigError` with ``prior`` and all problems."""
    problems = list(prior)
    cfg: _M | None = None
    try:
        cfg = root.model_validate(data, context={_BASE_DIR: base_dir, _BASE_LABEL: base_label})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            for loc, anchor, message in _translate(error, root):
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


def _translate(error: Mapping[str, Any], root: type[BaseModel]) -> list[tuple[Loc, Anchor, str]]:
    """Turn one pydantic error into (location, anchor, operator message) triples."""
    kind: str = error["type"]
    loc: Loc = tuple(error["loc"])
    value = error.get("input")
    ctx: Mapping[str, Any] = error.get("ctx") or {}
    field = _field_at(loc, root)

    if kind == "cross_field":
        return [(tuple(p_loc), "value", message) for p_loc, message in ctx.get("problems", [])]
    if kind == "extra_forbidden":
        return [(loc, "key", _unknown_key_message(loc, root))]
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


def _field_at(loc: Loc, root: type[BaseModel]) -> FieldInfo | None:
    """The schema field addressed by ``loc`` (list indices skipped), or None."""
    model: type[BaseModel] | None = root
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


def _model_at(loc: Loc, root: type[BaseModel]) -> type[BaseModel] | None:
    model: type[BaseModel] = root
    for part in loc:
        field = model.model_fields.get(str(part))
        annotation = field.annotation if field else None
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return None
        model = annotation
    return model


def _unknown_key_message(loc: Loc, root: type[BaseModel]) -> str:
    key, parent = str(loc[-1]), loc[:-1]
    model = _model_at(parent, root)
    allowed = list(model.model_fields) if model else []
    top = not parent
    noun = "section" if top else "key"
    message = f"unknown {noun} '{key}'"
    close = _did_you_mean(key, allowed)
    home = [s for s, f in root.model_fields.items() if s != (parent[0] if parent else None)
            and key in f.annotation.model_fields]  # type: ignore[union-attr]
    if close:
        message += f"; did you mean '{close}'?"
    if home:
        message += f"{' Or move it:' if close else ';'} '{key}' belongs in section '{home[0]}'."
    elif not close:
        message += "."
    where = "sections" if top else f"keys in {_dotted(parent)}"
    return f"{message} Allowed {where}: {', '.join(allowed)}"


