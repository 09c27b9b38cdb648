"""`U` on the queue table: enhance the marked jobs (or the cursor's), asked with the price."""

from __future__ import annotations

from collections.abc import Callable

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.enhance import EnhanceModal
from krea_tui.tui.screens.help import HelpScreen
from tests.tui.conftest import settle, until
from tests.tui.queue_support import main_screen

# Two completed jobs of the fixed history (showcase.STATUSES starts "completed", "completed").
DONE = ["00" + "0" * 30, "01" + "0" * 30]


async def test_enhance_the_marked_jobs(static_app: Callable[..., KreaApp]) -> None:
    app = static_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        assert all(app.store.get(i).status == "completed" for i in DONE)
        screen.table.set_marks(DONE, True)
        await pilot.pause()
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the enhance modal")
        summary = str(app.screen.query_one("#enhance-summary").render())
        assert "enhance 2 pictures" in summary
        assert "est. 2 × $0.10 = $0.200" in summary
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is screen, "back on the table")
        assert len(app.store.jobs()) == 20  # closed: nothing sent


async def test_sending_the_enhance_clears_the_marks(static_app: Callable[..., KreaApp]) -> None:
    # As after every other bulk send; on main the two marks stayed, ready to be sent again.
    app = static_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        screen.table.set_marks(DONE, True)
        await pilot.pause()
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the enhance modal")
        modal = app.screen
        await until(
            pilot, lambda: "est." in str(modal.query_one("#enhance-summary").render()), "the price"
        )
        await pilot.press("enter")
        await until(pilot, lambda: len(app.store.jobs()) == 22, "two enhance jobs")
        await until(pilot, lambda: not screen.table.marks, "the marks cleared")


async def test_the_enhance_key_is_in_the_palette_and_in_help(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.queue_commands import QUEUE_COMMANDS

    assert "enhance" in {action for _, _, action in QUEUE_COMMANDS}
    app = static_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        assert isinstance(app.screen, HelpScreen)
        rows = {row[2]: row for row in app.screen.rows}
        assert rows["table-enhance"][:2] == ("U", "Enhance (upscale) results")
