"""``watchlist.show_names: false`` reaches every place a watchlist portrait is named: the dossier
card, the arc's watchlist screen, the take-home record and the threshold lesson."""
from __future__ import annotations

from uikit import OK, H, W, screen  # noqa: F401  (first: sets SDL's dummy drivers)

import datetime as dt  # noqa: E402
from dataclasses import replace  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from kiosk.bench import fake_snapshots as syn  # noqa: E402
from kiosk.types import Frame, WatchlistMatch  # noqa: E402
from kiosk.ui.app import KioskApp  # noqa: E402
from kiosk.ui.arc import ALL_STEPS  # noqa: E402
from kiosk.ui.i18n import load_strings  # noqa: E402
from kiosk.config import UiConfig  # noqa: E402
from kiosk.ui.deps import UiDeps  # noqa: E402

NAMES = ("Ada Lovelace", "Bea Quixote", "Cy Zebedee")
WORDS = ("Ada", "Lovelace", "Bea", "Quixote", "Zebedee")  # any part of a name is a leak
BOX = (380.0, 120.0, 470.0, 230.0)


def deps(show_names: bool) -> UiDeps:
    return UiDeps(fmr=syn.placeholder_fmr, fmr_calibrated=False, watchlist_size=len(NAMES),
                  watchlist_threshold=0.363, watchlist_names=NAMES,
                  portrait_numbers={n: i + 1 for i, n in enumerate(NAMES)}, show_names=show_names)


def every_drawn_text(screen, lang: str, show_names: bool) -> tuple[list[str], str]:  # noqa: ANN001
    """Texts of the mirror, every arc screen, the take-home screen and the threshold lesson, and
    the take-home record's text, for a visitor whose closest portraits are two named ones."""
    app = KioskApp((W, H), UiConfig(fullscreen=False, width=W, height=H, arc=True, language=lang),
                   deps(show_names), today=lambda: dt.date(2026, 12, 5))
    face = replace(syn.face_view(1, BOX, 42, syn.PERSONAS["astronaut"]),
                   watchlist=(WatchlistMatch(NAMES[0], 0.45, True), WatchlistMatch(NAMES[1], 0.31, False)))
    image = np.full((480, 640, 3), 90, np.uint8)
    t = 100.0
    for i in range(30):
        t = round(t + 0.1, 6)
        app.update(t, Frame(image, 1000 + i, t), OK, syn.snapshot(1000 + i, t, (face,)))
    texts: list[str] = []
    screens = []
    rec = app.render(screen, t, settle=True)
    texts += [x.text for x in rec.texts]
    screens.append(rec.screen)
    for step in ALL_STEPS:
        while app.arc.step != step:
            app.arc.staff_step(t)
        rec = app.render(screen, t, settle=True)
        texts += [x.text for x in rec.texts]
        screens.append(rec.screen)
    assert app.request_takehome(t)
    rec = app.render(screen, t, settle=True)
    texts += [x.text for x in rec.texts]
    screens.append(rec.screen)
    take_home = app.takehome.text or ""
    app.takehome.close()
    app.state.next_lesson(t)
    rec = app.render(screen, t, settle=True)
    texts += [x.text for x in rec.texts]
    screens.append(rec.screen)
    assert "arc:watchlist" in screens and "arc:takehome" in screens and "lesson:threshold" in screens, screens
    return texts, take_home


@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_hidden_names_appear_nowhere_drawn_nor_in_the_take_home_text(screen, lang: str) -> None:  # noqa: ANN001
    texts, take_home = every_drawn_text(screen, lang, show_names=False)
    joined = "\n".join(texts)
    for word in WORDS:
        assert word not in joined, (word, [x for x in texts if word in x])
        assert word not in take_home, (word, take_home)
    portrait = load_strings(lang).get("lesson.threshold.portrait", n=1)
    assert portrait in joined and portrait in take_home  # the number stands where the name stood


def test_shown_names_do_appear_so_the_check_can_fail(screen) -> None:  # noqa: ANN001
    texts, take_home = every_drawn_text(screen, "en", show_names=True)
    joined = "\n".join(texts)
    assert "Ada" in joined and "Ada Lovelace" in take_home


@pytest.mark.parametrize("lang", ["en", "de", "es"])
def test_the_arc_gives_the_closest_portrait_the_cards_score(screen, lang: str) -> None:  # noqa: ANN001
    """The card says "0.45" (a cosine); the arc's watchlist screen must not say "45 %"."""
    texts, _ = every_drawn_text(screen, lang, show_names=True)
    s = load_strings(lang)
    joined = " ".join(texts)
    assert s.number(0.45, 2) in joined
    assert s.percent(0.45) not in joined, [x for x in texts if "45" in x]
