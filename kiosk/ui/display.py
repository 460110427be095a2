"""The kiosk's window or fullscreen display, and getting it back when it is lost."""
from __future__ import annotations

import logging

import pygame

from kiosk.config import UiConfig

log = logging.getLogger(__name__)

DISPLAY_RETRY_S = 1.5  # a lost display is re-created this often (the first try is immediate)


class Display:
    """The kiosk's window or fullscreen display, and getting it back when it is lost.

    Windowed mode is resizable (the screen is laid out anew for any size); fullscreen takes the
    display's own resolution. A lost display is logged once as a warning; re-creating it is
    tried at once and then every ``DISPLAY_RETRY_S`` (failures at debug level), and its return
    is logged. Meanwhile the pipeline runs on: visitors are still forgotten on time.
    """

    def __init__(self, ui: UiConfig) -> None:
        self.ui = ui
        self.flags = pygame.FULLSCREEN if ui.fullscreen else pygame.RESIZABLE
        self.request = (0, 0) if ui.fullscreen else (ui.width, ui.height)
        self.screen: pygame.Surface | None = None
        self.lost_since_s: float | None = None
        self.next_try_s = 0.0
        self.losses = 0

    def open(self) -> pygame.Surface:
        pygame.display.init()
        screen = pygame.display.set_mode(self.request, self.flags)
        pygame.display.set_caption("Surveillance Mirror")
        pygame.mouse.set_visible(not self.ui.fullscreen)
        self.screen = screen
        return screen

    def surface(self) -> pygame.Surface:
        """The current display surface (pygame replaces it when the window is resized)."""
        screen = pygame.display.get_surface()
        if screen is None:
            raise pygame.error("the display surface is gone")
        self.screen = screen
        return screen

    def lost(self, exc: BaseException, now_s: float) -> None:
        if self.lost_since_s is None:
            self.losses += 1
            self.lost_since_s = now_s
            self.next_try_s = now_s  # the first attempt right away
            log.warning("display lost (%s); the analysis keeps running; re-creating the display every %.1f s",
                        exc, DISPLAY_RETRY_S)
        self.screen = None

    def try_reopen(self, now_s: float) -> pygame.Surface | None:
        if now_s < self.next_try_s:
            return None
        self.next_try_s = now_s + DISPLAY_RETRY_S
        try:
            pygame.display.quit()  # whatever is left of the old display
            screen = self.open()
        except pygame.error as exc:
            log.debug("display still unavailable: %s", exc)
            self.screen = None
            return None
        log.info("display back after %.1f s: %dx%d", now_s - (self.lost_since_s or now_s), *screen.get_size())
        self.lost_since_s = None
        return screen
