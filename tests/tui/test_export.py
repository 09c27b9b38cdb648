"""Export from the table: `X` (or the palette's "results: export") asks for a folder and copies
the results the current filter shows (or the marked jobs') there, with a contact sheet."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.widgets import Input

from krea_tui.core import ratings
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.modals import AskModal
from tests.tui.conftest import settle


async def test_x_exports_what_the_filter_shows_into_a_folder(
    static_app: Callable[..., KreaApp], tmp_path: Path
) -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        done = [job for job in app.store.jobs() if job.files]
        ratings.set_pick(app.store, [done[0].local_id, done[2].local_id], ratings.PICK)
        main = app.screen
        main.set_filter("is:pick", typing=False)  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("X")
        await pilot.pause()
        ask = app.screen
        assert isinstance(ask, AskModal)
        ask.query_one(Input).value = str(tmp_path / "keepers")
        await pilot.press("enter")
        await settle(pilot)
        copied = sorted(p.name for p in (tmp_path / "keepers").glob("*.png"))
        assert len(copied) == 3  # two pictures and the contact sheet
        assert "contact-sheet.png" in copied
        assert len(list((tmp_path / "keepers").glob("*.png.json"))) == 2
