"""The main screen as a queue view: filter as you type, quick views, sort, group, marks."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from krea_tui.core.events import JobEvent
from krea_tui.core.job_order import ran_seconds
from krea_tui.tui.app import KreaApp
from krea_tui.tui.widgets.filter_bar import FilterBar
from krea_tui.tui.widgets.queue_table import row_key
from tests.tui.conftest import settle
from tests.tui.history import STATUSES
from tests.tui.queue_support import cell, main_screen, mixed_app


def statuses(app: KreaApp) -> list[str]:
    table = main_screen(app).table
    return [cell(table, i, "status") for i in table.shown_ids()]


async def test_filter_as_you_type_then_escape_clears_it(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table
        bar = screen.query_one(FilterBar)
        assert not bar.has_class("-shown")  # nothing filtered: no bar, the table has the room
        table.move_cursor(row=table.index_of_key("01" + "0" * 30))  # a fox job
        await pilot.press("slash", *"fox")
        assert bar.has_class("-shown") and bar.input.has_focus
        assert len(table.shown_ids()) == 4
        assert all("fox" in app.store.get(i).prompt for i in table.shown_ids())
        assert table.current_id == "01" + "0" * 30  # the cursor stayed on its job
        await pilot.press(*" -status:done")
        assert [app.store.get(i).status for i in table.shown_ids()] == ["queued", "held"]
        await pilot.press("enter")  # keep the filter, back to the table
        assert table.has_focus and bar.has_class("-shown")
        assert "2 of 20" in str(screen.query_one("#view-info").render())
        await pilot.press("slash", "escape")
        assert table.row_count == 20 and not bar.has_class("-shown")
        assert bar.input.value == ""


async def test_on_a_long_history_a_filter_that_reads_every_job_waits_for_enter(
    static_app: Callable[..., KreaApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    from krea_tui.core import queue_model

    monkeypatch.setattr(queue_model, "SCAN_FREE", 10)  # 20 jobs count as a long history
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table
        info = screen.query_one("#view-info")
        await pilot.press("slash", *"fo")
        assert table.row_count == 20  # not yet: "fo" would read every job
        assert "Enter" in str(info.render())
        await pilot.press("x")  # "fox": the word index answers it, at once
        assert table.row_count == 4
        await pilot.press(*" -red")  # a negated word: every job is read
        assert table.row_count == 4 and "Enter" in str(info.render())
        await pilot.press("enter")  # asked for: it runs
        assert table.row_count == 0 and "Enter" not in str(info.render())
        assert screen.model.view.query.text == "fox -red"


async def test_quick_keys_keep_the_words_typed(static_app: Callable[..., KreaApp]) -> None:
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table
        await pilot.press("3")
        assert statuses(app) == ["✗ failed"]
        await pilot.press("2")
        active = [s for s in STATUSES if s not in ("completed", "failed", "cancelled")]
        assert len(table.shown_ids()) == len(active)
        await pilot.press("slash", *"storm", "enter", "4")
        assert screen.query_one(FilterBar).input.value == "storm status:done"
        assert all("storm" in app.store.get(i).prompt for i in table.shown_ids())
        assert set(statuses(app)) == {"● done"}
        await pilot.press("1")
        assert screen.query_one(FilterBar).input.value == "storm"
        await pilot.press("escape")  # no marks: escape drops the filter
        assert table.row_count == 20


async def test_a_half_typed_token_says_what_is_wrong(static_app: Callable[..., KreaApp]) -> None:
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        await pilot.press("slash", *"age:<3x")
        assert screen.table.row_count == 0
        assert "age:<3x" in str(screen.query_one("#view-info").render())
        await pilot.press("backspace", "h")  # age:<3h: every fixed job is 20 minutes old at most
        assert screen.table.row_count == 20


async def test_sort_cycles_columns_and_reverses_keeping_the_cursor(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        keep = table.current_id
        await pilot.press("o")  # queue order → status
        assert table.view.sort == "status"
        order = [app.store.get(i).status for i in table.shown_ids()]
        assert order[:2] == ["held", "held"] and order[-1] == "cancelled"
        assert table.current_id == keep
        await pilot.press("O")
        rank = [order.index(app.store.get(i).status) for i in table.shown_ids()]
        assert rank == sorted(rank, reverse=True)  # the same groups, last first
        await pilot.press("o")  # → time: what the "Ran" column shows, jobs not run first
        times = [ran_seconds(app.store.get(i), app.now()) for i in table.shown_ids()]
        assert times == sorted(times, key=lambda ran: -1.0 if ran is None else ran)
        assert "sort run time" in str(main_screen(app).query_one("#view-info").render())


async def test_group_by_batch_shows_headers_and_space_marks_a_batch(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 12, batch_every=5)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        await pilot.press("B")
        keys = [row_key(row) for row in table.rows(0, table.row_count)]
        headers = [k for k in keys if k and k.startswith("batch:")]
        assert headers == ["batch:b-old-0", "batch:b-old-1", "batch:b-old-2"]
        assert table.row_count == 12 + 3
        table.move_cursor(row=keys.index("batch:b-old-1"))
        await pilot.press("space")
        assert {app.store.get(i).batch_id for i in table.marks} == {"b-old-1"}
        assert len(table.marks) == 5
        assert "5 marked" in cell(table, "batch:b-old-1", "prompt")
        await pilot.press("B")
        assert table.row_count == 12 and len(table.marks) == 5


async def test_marks_toggle_range_all_invert_and_clear(static_app: Callable[..., KreaApp]) -> None:
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        ids = table.shown_ids()
        table.move_cursor(row=0)
        await pilot.press("space")  # marks row 0 and moves on
        assert table.marks == {ids[0]} and table.cursor_row == 1
        assert cell(table, ids[0], "mark") == "●"
        await pilot.press("shift+down", "shift+down")  # rows 1, 2, 3
        assert table.marks == set(ids[:4])
        await pilot.press("space")  # row 3 again: unmarked
        assert table.marks == set(ids[:3])
        table.move_cursor(row=10)
        await pilot.press("v")
        table.move_cursor(row=7)
        await pilot.press("v")
        assert table.marks == set(ids[:3]) | set(ids[7:11])
        await pilot.press("I")
        assert table.marks == set(ids) - set(ids[:3]) - set(ids[7:11])
        await pilot.press("u")
        assert not table.marks
        await pilot.press("A")
        assert table.marks == set(ids)
        await pilot.press("escape")  # marks first…
        assert not table.marks


async def test_updates_to_rows_the_filter_hides_are_harmless(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 30)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table

        def becomes(local_id: str, status: str) -> None:
            old = app.store.get(local_id).status
            app.store.update(local_id, status=status)
            screen.handle_batch([JobEvent(app.store.get(local_id), old, status)])

        def drawn() -> list[str]:
            return [row_key(row) for row in table.rows(0, table.row_count)]

        await pilot.press("3")
        failed = set(drawn())
        hidden = next(j.local_id for j in app.store.jobs() if j.local_id not in failed)
        becomes(hidden, "completed")  # hidden, stays hidden
        assert set(drawn()) == failed
        becomes(hidden, "failed")  # now it belongs: sorted in
        await pilot.pause()
        shown = drawn()
        assert set(shown) == failed | {hidden}
        assert shown == sorted(shown, key=lambda i: app.store.get(i).position)
        becomes(hidden, "cancelled")  # and leaves again
        assert set(drawn()) == failed


async def test_the_palette_has_the_queue_actions(static_app: Callable[..., KreaApp]) -> None:
    app = static_app()
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"view: failed jobs")
        await pilot.pause(0.3)
        await pilot.press("enter")
        table = main_screen(app).table
        for _ in range(50):
            if table.view.query.text:
                break
            await pilot.pause(0.05)
        assert table.view.query.text == "status:failed"
