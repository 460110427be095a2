"""Every screen, every language, three screen sizes (two landscape, one portrait): no text off
the screen, over another text, cut with "…", or in small print where body text is meant. And
the check is not blind: strings made 30 % longer make it fail."""
from __future__ import annotations

from uikit import screen  # noqa: F401  (first: sets SDL's dummy drivers)

import pygame  # noqa: E402
import pytest  # noqa: E402
from textfit import LANGUAGES, SIZES, check_all  # noqa: E402


@pytest.fixture(scope="module")
def surfaces(screen):  # noqa: ANN001, ANN201
    return {size: pygame.Surface(size) for size in SIZES}


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_screen_fits(surfaces, lang: str, size: tuple[int, int]) -> None:  # noqa: ANN001
    found = check_all(size, lang, surfaces[size])
    assert not found, "\n".join(found[:40])


def test_the_check_fails_when_strings_are_30_percent_longer(surfaces) -> None:  # noqa: ANN001
    found = check_all((1280, 720), "de", surfaces[(1280, 720)], stretch=1.3)
    assert found, "30 % longer German strings still fit everywhere: the check would not notice an overflow"
