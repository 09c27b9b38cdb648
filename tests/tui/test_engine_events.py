"""Engine events reach every screen in the stack as messages, the covered ones too."""

from __future__ import annotations

from pathlib import Path

from krea_tui.core.events import JobEvent
from krea_tui.showcase import NOW
from krea_tui.tui.messages import EngineUpdate
from krea_tui.tui.screens.contact_sheet import ContactSheet
from krea_tui.tui.screens.help import HelpScreen
from tests.tui.conftest import settle, until
from tests.tui.test_contact_sheet import BATCH, job_at, sweep_app


async def test_a_job_that_ends_updates_the_contact_sheet_under_another_screen(
    tmp_path: Path,
) -> None:
    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.open_contact_sheet(BATCH)
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet)
        app.push_screen(HelpScreen())
        await pilot.pause()

        running = job_at(7)
        app.store.set_status(running, "completed", NOW)
        app.post_message(
            EngineUpdate([JobEvent(app.store.get(running), "processing", "completed")])
        )

        def counted() -> bool:
            return "done 7" in str(sheet.query_one("#sheet-counts").render())

        await until(pilot, counted, "the sheet's counts", deadline=10)
        assert isinstance(app.screen, HelpScreen)
