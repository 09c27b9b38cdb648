"""Opening the sweep dialog as a user does: a prompt in the compose form, then F4."""

from __future__ import annotations

from textual.pilot import Pilot

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.sweep import SweepModal
from tests.tui.conftest import settle, until


async def open_sweep(pilot: Pilot[None], app: KreaApp, prompt: str = "a lighthouse") -> SweepModal:
    await settle(pilot)
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
    await pilot.pause()
    await pilot.press(*prompt)
    await pilot.press("f4")
    await until(pilot, lambda: isinstance(app.screen, SweepModal), "the sweep form")
    await pilot.pause()
    assert isinstance(app.screen, SweepModal)
    return app.screen
