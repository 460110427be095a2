"""Visitor-facing strings from ``assets/i18n/<code>.yaml``, with plurals and number formats.

One YAML file per language, nested keys addressed with dots (``card.age``). Placeholders are
``str.format`` fields (``{years}``); keys ending ``_one`` / ``_other`` are plural forms
(the rule "exactly 1 → one" is right for English, German and Spanish; a language with other
plural categories would add them here). A key missing in a translation falls back to English
with a logged warning rather than a crash in front of visitors; the test suite makes sure no
key is missing.
"""
from __future__ import annotations

import logging
import string
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
I18N_DIR = ASSETS_DIR / "i18n"
REFERENCE_LANGUAGE = "en"


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in data.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, path + "."))
        else:
            out[path] = "" if value is None else str(value)
    return out


def load_language_file(path: Path) -> dict[str, str]:
    """Flattened ``{dotted.key: text}`` of one language file; ValueError names the file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: cannot read translation file: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping of keys to texts at the top level")
    return _flatten(data)


def available_languages(directory: Path = I18N_DIR) -> tuple[str, ...]:
    """Language codes with a translation file, reference language first."""
    codes = sorted(p.stem for p in directory.glob("*.yaml"))
    return tuple(sorted(codes, key=lambda c: (c != REFERENCE_LANGUAGE, c)))


def placeholders(text: str) -> set[str]:
    """The ``{field}`` names used in a text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


class Strings:
    """The strings of one language, with the reference language as fallback."""

    def __init__(self, code: str, table: Mapping[str, str], fallback: Mapping[str, str] | None = None) -> None:
        self.code = code
        self._table = dict(table)
        self._fallback = dict(fallback or {})

    @property
    def keys(self) -> set[str]:
        return set(self._table)

    def raw(self, key: str) -> str:
        text = self._table.get(key)
        if text is None:
            text = self._fallback.get(key)
            if text is None:
                log.warning("missing string %s in every language", key)
                return key
            log.warning("missing string %s in language %s; using %s", key, self.code, REFERENCE_LANGUAGE)
        return text

    def get(self, key: str, **values: Any) -> str:
        """The text for ``key`` with ``values`` filled in."""
        text = self.raw(key)
        if not values:
            return text
        try:
            return text.format(**values)
        except (KeyError, IndexError, ValueError):
            log.warning("string %s in %s has placeholders %s; given %s", key, self.code,
                        sorted(placeholders(text)), sorted(values))
            return text

    def plural(self, key: str, n: int, **values: Any) -> str:
        """``key_one`` when ``n`` is 1, else ``key_other``; ``n`` is also passed as ``{n}``."""
        return self.get(f"{key}_one" if n == 1 else f"{key}_other", n=n, **values)

    # --- numbers ---------------------------------------------------------------------------------

    def number(self, value: float, decimals: int = 0) -> str:
        """A number with this language's decimal and thousands separators."""
        text = f"{value:,.{decimals}f}"
        dec, thou = self.raw("fmt.decimal_sep"), self.raw("fmt.thousands_sep")
        return text.replace(",", "\0").replace(".", dec).replace("\0", thou)

    def percent(self, fraction: float, decimals: int = 0) -> str:
        """``0.87`` → "87%" / "87 %" as the language writes it."""
        return self.get("fmt.percent", value=self.number(100.0 * fraction, decimals))

    def duration(self, seconds: float) -> str:
        """A rounded duration in the largest sensible unit: "45 s", "5 min", "2 h"."""
        s = max(0.0, seconds)
        if s < 90:
            return self.get("fmt.seconds", n=int(round(s)))
        if s < 90 * 60:
            return self.get("fmt.minutes", n=int(round(s / 60)))
        return self.get("fmt.hours", n=self.number(s / 3600, 0 if s >= 10 * 3600 else 1))

    @staticmethod
    def clock(seconds: float) -> str:
        """``m:ss`` (or ``h:mm:ss``) for countdowns and times in view; language-neutral."""
        total = max(0, int(seconds))
        h, rem = divmod(total, 3600)
        m, s = divmod(rem, 60)
        return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@lru_cache(maxsize=16)
def load_strings(code: str, directory: Path = I18N_DIR) -> Strings:
    """The strings of language ``code`` (cached). ValueError if there is no such file."""
    path = directory / f"{code}.yaml"
    if not path.is_file():
        raise ValueError(f"no translation for language {code!r}: {path} does not exist; "
                         f"available: {', '.join(available_languages(directory))}")
    table = load_language_file(path)
    fallback = table if code == REFERENCE_LANGUAGE else load_language_file(directory / f"{REFERENCE_LANGUAGE}.yaml")
    return Strings(code, table, fallback)


def language_names(codes: Iterable[str], directory: Path = I18N_DIR) -> dict[str, str]:
    """Each language's name in its own language (for the language button)."""
    return {code: load_strings(code, directory).raw("meta.language_name") for code in codes}
