"""QueueTable: the queue model drawn a line at a time (public Line API), checked through Pilot:
what the lines say, the cursor keys, following, marks, and that a change redraws its row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from textual.app import App, ComposeResult

from krea_tui.core.events import JobEvent
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import QueueView
from krea_tui.core.store import JobStore, StoredJob
from krea_tui.tui.widgets.queue_table import HEADER, QueueTable

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FLUX = "bfl/flux-1-dev"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = JobStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


def add(store: JobStore, prompt: str, *, batch: str | None = None) -> StoredJob:
    job = store.add_job(FLUX, {"prompt": prompt}, batch_id=batch, now=T0)  # type: ignore[arg-type]
    return store.get(job.local_id)


class TableApp(App[None]):
    def __init__(self, model: QueueModel) -> None:
        super().__init__()
        self.model = model
        self.seen: list[object] = []

    def compose(self) -> ComposeResult:
        yield QueueTable(self.model, now=lambda: T0, id="queue")

    def on_queue_table_row_selected(self, message: QueueTable.RowSelected) -> None:
        self.seen.append(("selected", message.key))

    def on_queue_table_header_selected(self, message: QueueTable.HeaderSelected) -> None:
        self.seen.append(("header", message.column))


def line_text(table: QueueTable, y: int) -> str:
    return table.render_line(y).text


async def test_draws_the_header_and_only_the_rows_on_screen(store: JobStore) -> None:
    jobs = [add(store, f"prompt number {n}") for n in range(500)]
    model = QueueModel(store, now=lambda: T0)
    calls: list[tuple[int, int]] = []
    window = model.window
    model.window = lambda offset, limit: calls.append((offset, limit)) or window(offset, limit)  # type: ignore[method-assign]
    app = TableApp(model)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        assert "ID" in line_text(table, 0) and "Prompt" in line_text(table, 0)
        # Following: the cursor is on the newest job, the last in the queue's order.
        assert table.current_id == jobs[-1].local_id
        assert "prompt number 499" in line_text(table, 23)
        # Reads are windows of a few screens, never the history.
        assert calls and all(limit <= 3 * 24 for _, limit in calls)


async def test_cursor_keys_move_and_stop_following(store: JobStore) -> None:
    jobs = [add(store, f"p{n}") for n in range(100)]
    app = TableApp(QueueModel(store, now=lambda: T0))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(QueueTable)
        table.focus()
        await pilot.pause()
        assert table.following
        await pilot.press("k")
        assert table.current_id == jobs[-2].local_id
        assert not table.following
        await pilot.press("g")
        assert table.cursor_row == 0 and table.scroll_offset.y == 0
        await pilot.press("pagedown")
        assert table.cursor_row == 23
        await pilot.press("j", "down")
        assert table.cursor_row == 25
        assert table.scroll_offset.y == 25 - 23 + 1  # the cursor is kept in view
        await pilot.press("G")
        assert table.current_id == jobs[-1].local_id
        await pilot.press("enter")
        await pilot.pause()
        assert app.seen == [("selected", jobs[-1].local_id)]


async def test_click_moves_the_cursor_and_a_label_click_names_the_column(store: JobStore) -> None:
    jobs = [add(store, f"p{n}") for n in range(5)]
    app = TableApp(QueueModel(store, now=lambda: T0))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.click(QueueTable, offset=(20, 2))  # the second row
        assert table.current_id == jobs[1].local_id
        await pilot.click(QueueTable, offset=(5, 0))  # the ID label
        await pilot.pause()
        assert ("header", "id") in app.seen


async def test_a_status_change_redraws_its_line_and_keeps_the_cursor(store: JobStore) -> None:
    jobs = [add(store, f"p{n}") for n in range(30)]
    model = QueueModel(store, now=lambda: T0)
    app = TableApp(model)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(QueueTable)
        table.move_cursor(0)  # scrolled to the top
        table.move_cursor(3)
        await pilot.pause()
        store.set_status(jobs[0].local_id, "queued", T0, remote_id="r-0")
        table.changed(model.apply([JobEvent(store.get(jobs[0].local_id), "held", "queued")]))
        await pilot.pause()
        assert "queued" in line_text(table, 1)
        assert table.cursor_row == 3 and table.current_id == jobs[3].local_id


async def test_a_change_far_below_shows_when_scrolled_to_and_again_when_drawn(
    store: JobStore,
) -> None:
    jobs = [add(store, f"p{n}") for n in range(200)]
    model = QueueModel(store, now=lambda: T0)
    app = TableApp(model)
    async with app.run_test(size=(80, 12)) as pilot:
        table = app.query_one(QueueTable)
        table.move_cursor(0)
        await pilot.pause()
        assert "held" in line_text(table, 1)

        def move(job: StoredJob, old: str, new: str) -> None:
            store.set_status(job.local_id, new, T0, remote_id=f"r-{job.local_id[:6]}")
            table.changed(model.apply([JobEvent(store.get(job.local_id), old, new)]))

        move(jobs[150], "held", "failed")  # far below, never drawn
        await pilot.pause()
        table.move_cursor(150)
        await pilot.pause()
        shown = [line_text(table, y) for y in range(1, 12)]
        assert any("fail" in text and "p150" in text for text in shown), shown
        move(jobs[150], "failed", "completed")  # drawn now: redrawn in place
        await pilot.pause()
        shown = [line_text(table, y) for y in range(1, 12)]
        assert any("done" in text and "p150" in text for text in shown), shown


async def test_new_jobs_are_followed_and_a_filter_keeps_the_cursor_job(store: JobStore) -> None:
    jobs = [add(store, "cat" if n % 2 else "dog") for n in range(40)]
    model = QueueModel(store, now=lambda: T0)
    app = TableApp(model)
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        new = add(store, "dog new")
        table.changed(model.apply([JobEvent(new, None, "held")]))  # just created
        await pilot.pause()
        assert table.row_count == 41 and table.current_id == new.local_id
        table.set_following(False)
        table.move_cursor(table.row_count - 2)  # jobs[-1], a cat
        model.set_view(QueueView(parse("cat")))
        table.reload()
        await pilot.pause()
        assert table.row_count == 20 and table.current_id == jobs[-1].local_id


async def test_marks_show_on_rows_and_batch_headers(store: JobStore) -> None:
    jobs = [add(store, f"p{n}", batch="b20261123-120000-ab12") for n in range(3)]
    model = QueueModel(store, now=lambda: T0, view=QueueView(group=True))
    app = TableApp(model)
    async with app.run_test(size=(120, 24)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        assert table.key_at(0) == HEADER + "b20261123-120000-ab12"
        assert "3 jobs" in line_text(table, 1)
        table.move_cursor(0)
        table.toggle_mark()  # on the header: the batch
        await pilot.pause()
        assert model.marks == {job.local_id for job in jobs}
        assert "●" in line_text(table, 2) and "3 marked" in line_text(table, 1)
        table.clear_marks()
        await pilot.pause()
        assert "●" not in line_text(table, 2)


async def test_set_view_and_marks_through_the_table(store: JobStore) -> None:
    jobs = [add(store, "cat" if n % 2 else "dog") for n in range(10)]
    model = QueueModel(store, now=lambda: T0)
    app = TableApp(model)
    async with app.run_test(size=(120, 24)) as pilot:
        table = app.query_one(QueueTable)
        seen: list[int] = []
        table.set_filter("cat")
        table.set_filter("cat")  # the same: nothing read again
        await pilot.pause()
        assert table.view.query.text == "cat" and table.row_count == 5
        assert table.shown_ids() == [j.local_id for j in jobs if j.prompt == "cat"]
        table.set_marks(table.shown_ids()[:2], True)
        await pilot.pause()
        assert table.marks == set(table.shown_ids()[:2]) and not seen
        table.set_view(QueueView(reverse=True))
        await pilot.pause()
        assert table.key_at(0) == jobs[-1].local_id
        assert "▼" not in line_text(table, 0)  # the queue's own order has no sort column


async def test_a_cursor_move_repaints_the_two_lines_it_touches_when_scrolled(
    store: JobStore,
) -> None:
    for n in range(100):
        add(store, f"p{n}")
    app = TableApp(QueueModel(store, now=lambda: T0))
    async with app.run_test(size=(80, 24)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        top = int(table.scroll_offset.y)
        assert top > 0 and table.cursor_row == 99  # following: at the end
        lines: list[int] = []
        refresh_line = table.refresh_line
        table.refresh_line = lambda y: lines.append(y) or refresh_line(y)  # type: ignore[method-assign]
        table.move_cursor(98)
        # Virtual lines: row i is line i + 1; on screen that is i + 1 - top.
        assert lines == [100, 99]
        assert [y - top for y in lines] == [23, 22]
