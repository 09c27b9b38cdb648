"""The command palette shows the keys bound now: a key rebound in [keymap] shows there."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.command import CommandPalette
from textual.widgets import OptionList

from krea_tui.showcase import NOW, static_runtime_factory
from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settings_in, settle, until


def palette_text(app: KreaApp) -> str:
    if not isinstance(app.screen, CommandPalette):
        return ""
    hits = app.screen.query_one(OptionList)
    return "\n".join(str(hits.get_option_at_index(i).prompt) for i in range(hits.option_count))


async def hint_for(tmp_path: Path, keymap: dict[str, str], query: str) -> str:
    settings = replace(settings_in(tmp_path), keymap=keymap)
    app = KreaApp(settings, runtime_factory=static_runtime_factory(tmp_path, 3), clock=lambda: NOW)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*query)
        await until(pilot, lambda: "Compose a new job" in palette_text(app), "the hit", 10)
        return palette_text(app)


async def test_the_palette_shows_the_default_key(tmp_path: Path) -> None:
    assert "Compose a new job (n)" in await hint_for(tmp_path, {}, "job: new")


async def test_a_key_rebound_in_the_keymap_shows_in_the_palette(tmp_path: Path) -> None:
    said = await hint_for(tmp_path, {"new-job": "ctrl+n"}, "job: new")
    assert "Compose a new job (^n)" in said
    assert "(n)" not in said
