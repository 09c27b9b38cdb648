"""At 80 columns the Rate column takes the progress bar's place when that bar would be blank on
every row shown (no job in view is under way) and a job shown is rated or picked: filtering by
`rating:>=4` shows the stars, not an empty Prog column."""

from __future__ import annotations

from collections.abc import Callable

from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settle, until
from tests.tui.queue_support import main_screen
from tests.tui.queue_support import table_line as line


async def test_a_rating_filter_at_80_columns_shows_the_stars_not_an_empty_prog(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        main = main_screen(app)
        table = main.table
        main.set_filter("status:done", typing=False)
        await pilot.pause()
        table.move_cursor(row=0)
        first = table.current_id
        assert first is not None
        await pilot.press("asterisk", "4")
        await until(pilot, lambda: app.store.get(first).rating == 4, "the rating")
        main.set_filter("rating:>=4", typing=False)
        await pilot.pause()
        header = line(table, 0)
        assert "Rate" in header and "Prog" not in header, header
        assert "★★★★" in line(table, 1)


async def test_rating_a_finished_job_at_80_columns_brings_the_rate_column_in(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        main = main_screen(app)
        table = main.table
        main.set_filter("status:done", typing=False)  # nothing under way: Prog would be blank
        await pilot.pause()
        assert "Prog" in line(table, 0)  # nothing rated yet: the table as it always was
        table.move_cursor(row=0)
        first = table.current_id
        assert first is not None
        await pilot.press("asterisk", "5")
        await until(pilot, lambda: "Rate" in line(table, 0), "the Rate column")
        assert "Prog" not in line(table, 0)
        assert "★★★★★" in (table.cell_texts(first) or {})["rating"]


async def test_jobs_under_way_keep_their_progress_bar_at_80_columns(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        table.move_cursor(row=0)
        first = table.current_id
        assert first is not None
        await pilot.press("asterisk", "3")
        await until(pilot, lambda: app.store.get(first).rating == 3, "the rating")
        await pilot.pause()
        # The whole history shows jobs in flight: their bars matter more than one rating.
        assert "Prog" in line(table, 0) and "Rate" not in line(table, 0)
