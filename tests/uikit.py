"""Shared set-up of the offscreen UI tests: SDL's dummy drivers, the screen size, a display."""
from __future__ import annotations

import os

# Before pygame is imported anywhere: no window and no sound card on a test machine.
os.environ.setdefault("SDL_VIDEODRIVER", "dummy")
os.environ.setdefault("SDL_AUDIODRIVER", "dummy")

import pygame  # noqa: E402
import pytest  # noqa: E402

from kiosk.types import SourceStatus  # noqa: E402

W, H = 1280, 720
OK = SourceStatus(ok=True, message="ok", since_s=0.0, reconnects=0)


@pytest.fixture(scope="module")
def screen():  # noqa: ANN201
    """A W x H display surface for the test module (the dummy driver draws into memory)."""
    pygame.display.init()
    pygame.font.init()
    surf = pygame.display.set_mode((W, H))
    yield surf
    pygame.display.quit()
