"""docs/CONFIG.md is generated from the schema, so it cannot drift (a test compares them)."""
from __future__ import annotations

from typing import get_origin
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from kiosk.config.schema import Config
from kiosk.config.messages import _literal_choices, _range_text, _yaml_value


# Reference documentation (docs/CONFIG.md is generated from the schema, so it cannot drift)
# --------------------------------------------------------------------------------------------


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
        "<!-- Generated from kiosk/config/ by schema_markdown(); do not edit by hand.",
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
