"""Jobs just sent are seen: the table follows new jobs until the user moves, can show the newest
first (a choice that is kept), and the demo notice covers neither rows nor the status bar."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from textual.pilot import Pilot

from krea_tui.core.events import JobEvent
from krea_tui.core.store import JobStore
from krea_tui.showcase import NOW, static_runtime_factory
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.widgets.queue_table import QueueTable, row_key
from krea_tui.tui.widgets.status_bar import StatusBar
from tests.tui.conftest import settings_in, settle, until
from tests.tui.queue_support import in_table, main_screen

LONG = 60  # rows: three screens at 80×24


def make_app(tmp_path: Path, count: int = LONG) -> KreaApp:
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(
        settings,
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, count),
        clock=lambda: NOW,
    )


def on_screen(table: QueueTable) -> list[str]:
    """Keys of the rows the table shows now (the column labels take the first line)."""
    top = int(table.scroll_y)
    return [row_key(row) for row in table.rows(top, table.size.height - 1)]


def bar_text(app: KreaApp) -> str:
    return main_screen(app).query_one(StatusBar).render().plain


async def send(pilot: Pilot[None], prompt: str) -> str:
    """Compose and send one job with ctrl+s; its local id."""
    app: KreaApp = pilot.app  # type: ignore[assignment]
    before = {job.local_id for job in app.store.jobs()}
    await pilot.press("n")
    await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
    await pilot.pause()
    await pilot.press(*prompt)
    await pilot.pause()
    await pilot.press("ctrl+s")
    await until(pilot, lambda: not isinstance(app.screen, ComposeScreen), "the form to close")
    new = [job.local_id for job in app.store.jobs() if job.local_id not in before]
    assert len(new) == 1
    return new[0]


async def test_a_job_sent_from_the_top_of_a_long_table_comes_into_view(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        await pilot.press("g")  # the user reads the oldest jobs
        assert table.cursor_row == 0
        sent = await send(pilot, "a heron at dawn")
        await until(pilot, lambda: in_table(table, sent), "the new row")
        await until(pilot, lambda: table.current_id == sent, "the cursor on the new job")
        assert sent in on_screen(table)
        assert "follow" in bar_text(app)


async def test_a_job_sent_into_a_sorted_view_is_followed_there(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        await pilot.press("o", "G")  # by status; held jobs sort first, the user is at the end
        sent = await send(pilot, "a heron at dawn")
        await until(pilot, lambda: table.current_id == sent, "the cursor on the new job")
        assert sent in on_screen(table)
        assert table.shown_ids().index(sent) < 10  # sorted in with the held jobs, not appended


async def test_moving_stops_following_and_f_starts_it_again(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table
        assert "follow" in bar_text(app)  # from the start: the cursor is on the newest job
        await pilot.press("k")
        await pilot.pause()
        assert "follow" not in bar_text(app)
        where = table.current_id
        # Another process on this history adds a job: shown, but the cursor stays where it is.
        other = JobStore(app.settings.history_path)
        other.me = "4242:1:0therpr0"  # what another process's store calls itself
        try:
            job = other.add_job("bfl/flux-1-dev", {"prompt": "from a script", "seed": 1})
        finally:
            other.close()
        screen.handle_batch([JobEvent(job, None, job.status)])
        await until(pilot, lambda: in_table(table, job.local_id), "the other process's job")
        await pilot.pause()
        assert table.current_id == where
        await pilot.press("f")
        await pilot.pause()
        assert table.current_id == job.local_id and job.local_id in on_screen(table)
        assert "follow" in bar_text(app)


async def test_newest_first_puts_new_jobs_on_top_and_is_kept(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        newest = max(app.store.jobs(), key=lambda job: job.position).local_id
        await pilot.press("N")
        await until(pilot, lambda: table.shown_ids()[0] == newest, "the newest job on top")
        sent = await send(pilot, "a heron at dawn")
        await until(pilot, lambda: table.shown_ids()[:1] == [sent], "the sent job on top")
        assert table.current_id == sent and sent in on_screen(table)

    again = make_app(tmp_path)
    async with again.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        table = main_screen(again).table
        assert table.shown_ids()[0] == sent  # the order was kept
        assert "newest first" in str(main_screen(again).query_one("#view-info").render())


async def test_the_demo_notice_hides_no_rows_nor_the_status_bar(tmp_path: Path) -> None:
    app = make_app(tmp_path)
    assert app.settings.demo
    async with app.run_test(size=(80, 24), notifications=True) as pilot:
        screen = main_screen(app)
        await until(pilot, lambda: screen.loaded, "the history")
        await pilot.pause(0.3)  # what a user sees right after start: toasts included
        table, bar = screen.table, screen.query_one(StatusBar)
        newest = max(app.store.jobs(), key=lambda job: job.position).local_id
        rows = on_screen(table)
        assert newest in rows
        for key in rows[-3:]:  # the newest rows, across the whole width
            y = table.region.y + 1 + table.index_of_key(key) - int(table.scroll_y)
            for x in range(table.region.x, table.region.right):
                widget, _ = app.screen.get_widget_at(x, y)
                assert table in (widget, widget.parent), (key, x, widget)  # or its scrollbar
        for x in range(bar.region.x, bar.region.right):
            widget, _ = app.screen.get_widget_at(x, bar.region.y)
            assert widget is bar, (x, widget)
        assert "Demo" in str(screen.query_one("#demo-note").render())
