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

import re  # noqa: E402

from kiosk.ui.caveats import (  # noqa: E402
    CAVEAT_KINDS,
    CAVEATS_DIR,
    MEASURED_FILE,
    MEASURED_SLOTS,
    MeasuredFigure,
    load_caveats,
    load_measured,
    load_sources,
    marker,
)
from kiosk.ui.i18n import I18N_DIR, available_languages, load_language_file, load_strings, placeholders  # noqa: E402
from kiosk.ui.text import FONT_FILES, FONTS_DIR  # noqa: E402

LANGUAGES = available_languages()
ACCURACY_MD = Path(__file__).resolve().parents[1] / "docs" / "ACCURACY.md"


def measured_sentences(entry: dict) -> list[str]:
    raw = entry.get("measured") or []
    return [raw] if isinstance(raw, str) else list(raw)


def all_texts(lang: str) -> list[str]:
    texts = list(load_language_file(I18N_DIR / f"{lang}.yaml").values())
    data = yaml.safe_load((CAVEATS_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
    texts.append(data["measured_missing"])
    for kind in data["kinds"].values():
        texts += [kind["title"], kind["text"], *measured_sentences(kind)]
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
            for sentence in measured_sentences(entry):
                assert placeholders(sentence) <= set(MEASURED_SLOTS), f"{lang}/{kind}: {sentence}"
        # Every language uses the same slots for each kind (no figure missing in a translation).
        en = yaml.safe_load((CAVEATS_DIR / "en.yaml").read_text(encoding="utf-8"))
        for kind, entry in data["kinds"].items():
            ours = [placeholders(x) for x in measured_sentences(entry)]
            theirs = [placeholders(x) for x in measured_sentences(en["kinds"][kind])]
            assert ours == theirs, f"{lang}/{kind}: measured slots {ours} differ from English {theirs}"
        # The published figures are in every language (as the language writes them).
        texts = {k: v["text"] for k, v in data["kinds"].items()}
        assert "34" in texts["gender"] and "0" in texts["gender"]
        assert "28" in texts["watchlist"] and "80" in texts["watchlist"] and "99" in texts["watchlist"]


def test_caveats_never_invent_measurements() -> None:
    plain = load_caveats("en")
    age = next(c for c in plain if c.kind == "age")
    assert "docs/ACCURACY.md" in age.measured and "{" not in age.measured
    # A sentence is shown only when all its slots have values; the others are left out.
    filled = load_caveats("en", {"age_mae_years": "6.1"})
    age_filled = next(c for c in filled if c.kind == "age").measured
    assert "6.1 years" in age_filled and "{" not in age_filled and "brackets" not in age_filled
    assert "docs/ACCURACY.md" in next(c for c in filled if c.kind == "gender").measured
    assert [c.number for c in plain] == [1, 2, 3, 4, 5, 6] and marker("watchlist") == 6
    expression = next(c for c in plain if c.kind == "expression")
    assert "emotional state" in expression.text and "Microsoft" in expression.text
    assert any(s.key == "rekognition_emotion" for s in expression.sources)


def test_i18n_dir_is_the_assets_folder() -> None:
    assert I18N_DIR == Path(__file__).resolve().parents[1] / "assets" / "i18n"


def test_measured_figures_are_the_documented_ones() -> None:
    """Each figure in measured.yaml quotes docs/ACCURACY.md; the quote is still there and gives
    the value (rounded to its decimals), and names the command that measured it."""
    figures = load_measured()
    assert set(figures) == set(MEASURED_SLOTS)
    doc = ACCURACY_MD.read_text(encoding="utf-8")
    for slot, fig in figures.items():
        assert fig.doc and fig.doc in doc, f"{slot}: {fig.doc!r} is no longer in docs/ACCURACY.md"
        assert fig.command.startswith("kiosk eval ") and fig.command in doc, f"{slot}: command {fig.command!r}"
        numbers = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", fig.doc)]
        assert any(round(n, fig.decimals) == fig.value for n in numbers), (slot, fig.value, numbers)
    data = yaml.safe_load(MEASURED_FILE.read_text(encoding="utf-8"))
    assert isinstance(data["version"], int)


def test_measured_figures_fill_the_caveats_in_each_language() -> None:
    figures = load_measured()
    en = {c.kind: c.measured for c in load_caveats("en", figures)}
    assert "7.9 years" in en["age"] and "84%" in en["age"] and "25 years" in en["age"]
    assert "69%" in en["age"] and "78%" in en["age"] and "by 6 points" in en["gender"]
    assert "86.0%" in en["gender"] and "91.0%" in en["gender"] and "72%" in en["gender"] and "67.6%" in en["gender"]
    assert "99.39%" in en["reidentification"]
    de = {c.kind: c.measured for c in load_caveats("de", figures)}
    assert "7,9 Jahre" in de["age"] and "86,0 %" in de["gender"] and "99,39 %" in de["reidentification"]
    assert "84 %" in de["age"] and "69 %" in de["age"] and "um 6 Punkte" in de["gender"]
    es = {c.kind: c.measured for c in load_caveats("es", figures)}
    assert "7,9 años" in es["age"] and "67,6 %" in es["gender"] and "84 %" in es["age"] and "6 puntos" in es["gender"]
    for caveats in (en, de, es):
        assert all("{" not in line for line in caveats.values())


def test_measured_file_errors_name_the_entry(tmp_path: Path) -> None:
    bad = tmp_path / "measured.yaml"
    bad.write_text("version: 1\nfigures:\n  age_mae_yeers: {value: 7.9, decimals: 1}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="age_mae_yeers"):
        load_measured(bad)
    bad.write_text("version: 1\nfigures:\n  age_mae_years: {value: many}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="age_mae_years"):
        load_measured(bad)
    assert isinstance(load_measured()["lfw_accuracy_pct"], MeasuredFigure)
