"""Translations and caveats: complete in every language, same placeholders, every glyph in the
shipped fonts, versioned caveats with real sources, fonts shipped with their license."""
from __future__ import annotations

import os

os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

from pathlib import Path  # noqa: E402

import pygame  # noqa: E402
import pytest  # noqa: E402
import yaml  # noqa: E402

from kiosk.ui.caveats import CAVEAT_KINDS, CAVEATS_DIR, MEASURED_SLOTS, load_caveats, load_sources, marker  # noqa: E402
from kiosk.ui.i18n import I18N_DIR, available_languages, load_language_file, load_strings, placeholders  # noqa: E402
from kiosk.ui.text import FONT_FILES, FONTS_DIR  # noqa: E402

LANGUAGES = available_languages()


def all_texts(lang: str) -> list[str]:
    texts = list(load_language_file(I18N_DIR / f"{lang}.yaml").values())
    data = yaml.safe_load((CAVEATS_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
    texts.append(data["measured_missing"])
    for kind in data["kinds"].values():
        texts += [kind["title"], kind["text"], kind.get("measured") or ""]
    return texts


def test_at_least_english_german_spanish() -> None:
    assert {"en", "de", "es"} <= set(LANGUAGES)
    assert LANGUAGES[0] == "en"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_key_in_every_language_with_the_same_placeholders(lang: str) -> None:
    reference = load_language_file(I18N_DIR / "en.yaml")
    table = load_language_file(I18N_DIR / f"{lang}.yaml")
    assert set(table) == set(reference), (
        f"{lang}: missing {sorted(set(reference) - set(table))}, extra {sorted(set(table) - set(reference))}")
    for key, text in table.items():
        assert text.strip(), f"{lang}: {key} is empty"
        assert placeholders(text) == placeholders(reference[key]), f"{lang}: {key} placeholders differ from English"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_translations_are_not_english_copies(lang: str) -> None:
    if lang == "en":
        return
    reference = load_language_file(I18N_DIR / "en.yaml")
    table = load_language_file(I18N_DIR / f"{lang}.yaml")
    sentences = [k for k, v in reference.items() if len(v.split()) >= 4]
    same = [k for k in sentences if table[k] == reference[k]]
    assert not same, f"{lang}: untranslated {same}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_glyph_is_in_the_shipped_fonts(lang: str) -> None:
    pygame.font.init()
    chars = set("".join(all_texts(lang))) | set("0123456789%.,:–·…✓")
    for face in ("regular", "bold"):
        font = pygame.font.Font(str(FONTS_DIR / FONT_FILES[face]), 20)
        missing = sorted(c for c, m in zip(sorted(chars), font.metrics("".join(sorted(chars)))) if m is None)
        assert not missing, f"{lang}: {FONT_FILES[face]} lacks {missing!r}"
    mono = pygame.font.Font(str(FONTS_DIR / FONT_FILES["mono"]), 20)
    json_chars = "{}[]\":,.-0123456789 truefalsABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    assert None not in mono.metrics(json_chars)


def test_fonts_ship_with_license_and_stay_small() -> None:
    for name in FONT_FILES.values():
        path = FONTS_DIR / name
        assert path.is_file() and 10_000 < path.stat().st_size < 2_000_000, path
    license_text = (FONTS_DIR / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    assert "Bitstream Vera" in license_text and "Permission is hereby granted" in license_text


def test_strings_format_plural_and_numbers() -> None:
    en, de, es = load_strings("en"), load_strings("de"), load_strings("es")
    assert en.plural("card.seen_before", 1, ago="4 min") == "Seen before: once, 4 min ago"
    assert en.plural("card.seen_before", 3, ago="4 min") == "Seen before: 3 times, last 4 min ago"
    assert de.plural("card.seen_before", 3, ago="4 Min.") == "Schon gesehen: 3-mal, zuletzt vor 4 Min."
    assert en.percent(0.874) == "87%" and de.percent(0.874) == "87 %" and es.percent(0.5) == "50 %"
    assert en.number(25000) == "25,000" and de.number(25000) == "25.000" and de.number(0.15, 2) == "0,15"
    assert en.duration(300) == "5 min" and de.duration(45) == "45 s" and en.duration(7200) == "2.0 h"
    assert en.clock(272) == "4:32" and en.clock(3725) == "1:02:05"


def test_missing_key_falls_back_to_english_without_crashing() -> None:
    de = load_strings("de")
    assert de.get("no.such.key") == "no.such.key"


def test_caveats_versioned_complete_and_sourced() -> None:
    version, sources = load_sources()
    required = {"gender_shades", "rekognition_emotion", "microsoft_2022", "aclu_2018"}
    assert required <= set(sources)
    for src in sources.values():
        assert src.url.startswith("https://") and src.reference and src.cite
    assert "34.7" in sources["gender_shades"].supports and "0.8" in sources["gender_shades"].supports
    assert "28" in sources["aclu_2018"].supports and "25,000" in sources["aclu_2018"].supports
    assert "internal emotional state" in sources["rekognition_emotion"].supports
    for lang in LANGUAGES:
        data = yaml.safe_load((CAVEATS_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
        assert data["version"] == version, f"{lang} caveats are version {data['version']}, sources {version}"
        assert set(data["kinds"]) == set(CAVEAT_KINDS)
        for kind, entry in data["kinds"].items():
            assert entry["sources"] and set(entry["sources"]) <= set(sources), f"{lang}/{kind}"
            assert placeholders(entry.get("measured") or "") <= set(MEASURED_SLOTS)
        # The published figures are in every language (as the language writes them).
        texts = {k: v["text"] for k, v in data["kinds"].items()}
        assert "34" in texts["gender"] and "0" in texts["gender"]
        assert "28" in texts["watchlist"] and "80" in texts["watchlist"] and "99" in texts["watchlist"]


def test_caveats_never_invent_measurements() -> None:
    plain = load_caveats("en")
    age = next(c for c in plain if c.kind == "age")
    assert "docs/ACCURACY.md" in age.measured and "{" not in age.measured
    filled = load_caveats("en", {"age_mae_years": "6.1"})
    assert "6.1 years" in next(c for c in filled if c.kind == "age").measured
    assert [c.number for c in plain] == [1, 2, 3, 4, 5, 6] and marker("watchlist") == 6
    expression = next(c for c in plain if c.kind == "expression")
    assert "emotional state" in expression.text and "Microsoft" in expression.text
    assert any(s.key == "rekognition_emotion" for s in expression.sources)


def test_i18n_dir_is_the_assets_folder() -> None:
    assert I18N_DIR == Path(__file__).resolve().parents[1] / "assets" / "i18n"
