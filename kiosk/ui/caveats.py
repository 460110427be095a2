"""The caveats behind each kind of guess: versioned, translated texts with their sources.

Files: ``assets/caveats/sources.yaml`` (language-neutral references) and
``assets/caveats/<code>.yaml`` (texts). Each guess on a dossier card carries the marker number
of its caveat (``CAVEAT_KINDS`` order, 1-based), and the lesson "Why these guesses are wrong"
lists the caveats under the same numbers, so the link does not depend on colour.

The kiosk's own measured accuracy goes into ``{slot}`` fields of each caveat's ``measured``
sentences. The figures are copied from ``docs/ACCURACY.md`` into ``assets/caveats/measured.yaml``
(versioned, one place, each with the command that measured it), read by :func:`load_measured` and
passed in through ``UiDeps.measured`` (``kiosk.ui.build.build_deps`` does that). Numbers are formatted per
language here ("87.5%" / "87,5 %"). A sentence whose slots have no value is left out, never
guessed; when none is left, the caveat says where the measurement is documented instead.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from kiosk.ui.i18n import ASSETS_DIR, load_strings, placeholders

log = logging.getLogger(__name__)

CAVEATS_DIR = ASSETS_DIR / "caveats"
MEASURED_FILE = CAVEATS_DIR / "measured.yaml"

CAVEAT_KINDS: tuple[str, ...] = ("age", "gender", "expression", "attention", "reidentification", "watchlist")
"""Kinds of guess, in marker order: the card marker for ``kind`` is ``marker(kind)``."""

MEASURED_SLOTS: tuple[str, ...] = (
    "age_mae_years", "age_range_coverage_pct", "age_range_width_years", "age_range_children_pct",
    "age_range_over60_pct", "age_range_others_pct", "gender_calibration_gap_points",
    "gender_accuracy_pct", "gender_children_pct", "gender_asian_pct", "gender_adults_pct",
    "lfw_accuracy_pct",
    "reid_split_pct", "reid_returns", "reid_merge_pct", "reid_first_visits",
)
"""Slot names the caveats may use for the kiosk's own figures (``assets/caveats/measured.yaml``)."""


def marker(kind: str) -> int:
    """The 1-based marker number of a kind of guess."""
    return CAVEAT_KINDS.index(kind) + 1


@dataclass(frozen=True, slots=True)
class Source:
    key: str
    cite: str
    reference: str
    url: str
    supports: str


@dataclass(frozen=True, slots=True)
class MeasuredFigure:
    """One of the kiosk's own figures: a number, its decimals, and where it comes from.

    ``value`` is in the slot's unit (years, or percent for slots ending ``_pct``); ``doc`` is the
    text of docs/ACCURACY.md it was copied from and ``command`` the command that measured it.
    """

    value: float
    decimals: int
    doc: str = ""
    command: str = ""


Measured = Mapping[str, "str | MeasuredFigure"]
"""Slot name -> an already formatted text, or a figure formatted per language."""


@dataclass(frozen=True, slots=True)
class Caveat:
    kind: str
    number: int
    title: str
    text: str
    measured: str  # already filled, or the "see docs/ACCURACY.md" sentence, or "" (none)
    sources: tuple[Source, ...]


def _read(path: Path) -> dict:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read caveats: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


@lru_cache(maxsize=4)
def load_sources(directory: Path = CAVEATS_DIR) -> tuple[int, dict[str, Source]]:
    """``(version, {key: Source})`` from sources.yaml."""
    data = _read(directory / "sources.yaml")
    sources = {key: Source(key=key, cite=str(v["cite"]), reference=str(v["reference"]),
                           url=str(v["url"]), supports=str(v["supports"]))
               for key, v in data["sources"].items()}
    return int(data["version"]), sources


@lru_cache(maxsize=4)
def load_measured(path: Path = MEASURED_FILE) -> dict[str, MeasuredFigure]:
    """The kiosk's measured figures from ``measured.yaml``, keyed by slot (see ``MEASURED_SLOTS``).

    Raises ValueError naming the file and the entry when it is malformed or uses an unknown slot:
    a figure must never silently go missing from the lesson because of a typo.
    """
    data = _read(path)
    figures = data.get("figures")
    if not isinstance(figures, dict) or not isinstance(data.get("version"), int):
        raise ValueError(f"{path}: expected `version: <int>` and a `figures:` mapping")
    out: dict[str, MeasuredFigure] = {}
    for slot, entry in figures.items():
        if slot not in MEASURED_SLOTS:
            raise ValueError(f"{path}: figure {slot!r} is not a caveat slot; expected one of {', '.join(MEASURED_SLOTS)}")
        try:
            out[slot] = MeasuredFigure(value=float(entry["value"]), decimals=int(entry.get("decimals", 0)),
                                       doc=str(entry.get("doc", "")), command=str(entry.get("command", "")))
        except (TypeError, KeyError, ValueError) as exc:
            raise ValueError(f"{path}: figure {slot!r}: expected value (number) and decimals (int): {exc}") from exc
    return out


def format_measured(code: str, slot: str, value: str | MeasuredFigure) -> str:
    """A slot value as language ``code`` writes it: percent for ``*_pct`` slots, else a number."""
    if isinstance(value, str):
        return value
    strings = load_strings(code)
    if slot.endswith("_pct"):
        return strings.percent(value.value / 100.0, value.decimals)
    return strings.number(value.value, value.decimals)


def _measured_sentences(entry: Mapping) -> list[str]:
    raw = entry.get("measured") or []
    return [str(raw)] if isinstance(raw, str) else [str(x) for x in raw if x]


@lru_cache(maxsize=8)
def _load_language(code: str, directory: Path) -> dict:
    path = directory / f"{code}.yaml"
    if not path.is_file():
        path = directory / "en.yaml"
    return _read(path)


def load_caveats(code: str, measured: Measured | None = None,
                 directory: Path = CAVEATS_DIR) -> tuple[Caveat, ...]:
    """The caveats in language ``code`` (English if there is no such file), in marker order.

    Each caveat's ``measured`` sentences (a string or a list in the YAML) are kept only when
    ``measured`` has a value for every slot they use; none kept gives ``measured_missing``.
    """
    data = _load_language(code, directory)
    _, sources = load_sources(directory)
    measured = measured or {}
    lang = code if (directory / f"{code}.yaml").is_file() else "en"
    out: list[Caveat] = []
    for kind in CAVEAT_KINDS:
        entry = data["kinds"][kind]
        templates = _measured_sentences(entry)
        kept = []
        for template in templates:
            slots = placeholders(template)
            if slots and all(measured.get(s) for s in slots):
                kept.append(template.format(**{s: format_measured(lang, s, measured[s]) for s in slots}))
        if kept:
            line = " ".join(kept)
        elif templates:
            line = str(data["measured_missing"])
        else:
            line = ""
        out.append(Caveat(
            kind=kind, number=marker(kind), title=str(entry["title"]), text=str(entry["text"]),
            measured=line, sources=tuple(sources[k] for k in entry.get("sources", ())),
        ))
    return tuple(out)
