"""The caveats behind each kind of guess: versioned, translated texts with their sources.

Files: ``assets/caveats/sources.yaml`` (language-neutral references) and
``assets/caveats/<code>.yaml`` (texts). Each guess on a dossier card carries the marker number
of its caveat (``CAVEAT_KINDS`` order, 1-based), and the lesson "Why these guesses are wrong"
lists the caveats under the same numbers, so the link does not depend on colour.

The kiosk's own measured accuracy goes into ``{slot}`` fields of each caveat's ``measured``
line; the values come from ``docs/ACCURACY.md`` through ``UiDeps.measured``. A slot without a
value is never guessed: the caveat then says where the measurement is documented instead.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from kiosk.ui.i18n import ASSETS_DIR, placeholders

CAVEATS_DIR = ASSETS_DIR / "caveats"

CAVEAT_KINDS: tuple[str, ...] = ("age", "gender", "expression", "attention", "reidentification", "watchlist")
"""Kinds of guess, in marker order: the card marker for ``kind`` is ``marker(kind)``."""

MEASURED_SLOTS: tuple[str, ...] = ("age_mae_years", "gender_accuracy_pct", "lfw_accuracy_pct")
"""Slot names the caveats may use for the kiosk's own figures (documented for the lead)."""


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


@lru_cache(maxsize=8)
def _load_language(code: str, directory: Path) -> dict:
    path = directory / f"{code}.yaml"
    if not path.is_file():
        path = directory / "en.yaml"
    return _read(path)


def load_caveats(code: str, measured: Mapping[str, str] | None = None,
                 directory: Path = CAVEATS_DIR) -> tuple[Caveat, ...]:
    """The caveats in language ``code`` (English if there is no such file), in marker order."""
    data = _load_language(code, directory)
    _, sources = load_sources(directory)
    measured = measured or {}
    out: list[Caveat] = []
    for kind in CAVEAT_KINDS:
        entry = data["kinds"][kind]
        template = str(entry.get("measured") or "")
        slots = placeholders(template)
        if template and slots and all(measured.get(s) for s in slots):
            line = template.format(**{s: measured[s] for s in slots})
        elif template:
            line = str(data["measured_missing"])
        else:
            line = ""
        out.append(Caveat(
            kind=kind, number=marker(kind), title=str(entry["title"]), text=str(entry["text"]),
            measured=line, sources=tuple(sources[k] for k in entry.get("sources", ())),
        ))
    return tuple(out)
