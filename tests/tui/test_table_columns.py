"""The job table's columns use the width there is: whole columns or none, seed, size and cost
on wide terminals, a picker for the optional ones (kept), and the sort column marked."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from krea_tui.core.queue_model import QueueModel
from krea_tui.core.store import StoredJob
from krea_tui.showcase import NOW, static_runtime_factory
from krea_tui.tui.app import KreaApp
from krea_tui.tui.widgets.queue_table import QueueTable
from tests.tui.conftest import settings_in, settle, until
from tests.tui.queue_support import TableApp, main_screen, store_of
from tests.tui.queue_support import table_line as line

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
JOB = StoredJob(
    local_id="a" * 32,
    model="bfl/flux-1-dev",
    request={"prompt": "a fox", "seed": 3317551338, "width": 1024, "height": 1024},
    status="completed",
    position=1.0,
    created_at=T0,
    remote_id="d0d0d0d0" + "0" * 24,
    submitted_at=T0,
    remote_created_at=T0,
    finished_at=T0 + timedelta(seconds=7),
    cost_estimate=0.007,
    cost_unit="USD",
)
LABELS = {"ID", "Status", "Prog", "Prompt", "Model", "Age", "Ran", "Cost", "Seed", "Size"}


def one_job_app(tmp_path: Path) -> TableApp:
    store = store_of(tmp_path / "history.sqlite3", [JOB])
    return TableApp(QueueModel(store), T0 + timedelta(minutes=3))


async def test_a_wide_table_shows_seed_size_and_cost_whole(tmp_path: Path) -> None:
    app = one_job_app(tmp_path)
    async with app.run_test(size=(250, 8)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        header, row = line(table, 0), line(table, 1)
        assert "Seed" in header and "Size" in header and "Cost" in header and "Age" in header
        assert "3317551338" in row and "1024×1024" in row and "$0.007" in row
        assert len(row.split("a fox")[1].strip()) > 0  # the prompt leaves room for the rest


async def test_at_80_columns_no_column_is_cut_to_a_sliver(tmp_path: Path) -> None:
    app = one_job_app(tmp_path)
    async with app.run_test(size=(80, 8)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        words = line(table, 0).split()
        assert words and all(word in LABELS for word in words), words


async def test_the_sort_column_is_marked_in_its_header(tmp_path: Path) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        assert "▲" not in line(table, 0) and "▼" not in line(table, 0)  # queue order
        await pilot.press("o")  # by status
        await pilot.pause()
        assert "Status ▲" in line(table, 0)
        await pilot.press("O")
        await pilot.pause()
        assert "Status ▼" in line(table, 0)
        await pilot.press("o")  # by the time it ran
        await pilot.pause()
        assert "Ran ▲" in line(table, 0) and "Status" in line(table, 0)


def app_with_config(tmp_path: Path) -> KreaApp:
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(
        settings,
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )


async def test_the_column_picker_hides_a_column_and_the_choice_is_kept(tmp_path: Path) -> None:
    from krea_tui.tui.screens.columns import ColumnsModal
    from krea_tui.views import load_table_layout, views_path

    app = app_with_config(tmp_path)
    async with app.run_test(size=(250, 40)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        assert "Seed" in line(table, 0)
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, ColumnsModal), "the column picker")
        modal = app.screen
        assert isinstance(modal, ColumnsModal)
        await pilot.press(*["down"] * modal.index_of("seed"), "space", "escape")
        await until(pilot, lambda: "Seed" not in line(table, 0), "the seed column to go")
        assert "Size" in line(table, 0)  # the others stay
    path = views_path(tmp_path / "config" / "config.toml")
    assert load_table_layout(path).hidden == frozenset({"seed"})

    again = app_with_config(tmp_path)
    async with again.run_test(size=(250, 40)) as pilot:
        await settle(pilot)
        header = line(main_screen(again).table, 0)
        assert "Seed" not in header and "Size" in header


async def test_the_picker_is_in_the_palette_and_in_help(tmp_path: Path) -> None:
    from krea_tui.tui.queue_commands import QUEUE_COMMANDS

    actions = {action for _, _, action in QUEUE_COMMANDS}
    assert {"choose_columns", "toggle_follow", "newest_first"} <= actions
    app = app_with_config(tmp_path)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        from krea_tui.tui.screens.help import HelpScreen

        help_screen = app.screen
        assert isinstance(help_screen, HelpScreen)
        ids = {row[2] for row in help_screen.rows}
        assert {"choose-columns", "follow", "newest-first"} <= ids


async def test_a_click_on_a_column_label_sorts_by_it(tmp_path: Path) -> None:
    app = app_with_config(tmp_path)
    async with app.run_test(size=(250, 40)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        x = line(table, 0).index("Seed")
        await pilot.click(QueueTable, offset=(x, 0))
        await until(pilot, lambda: "Seed ▲" in line(table, 0), "the seed column sorted")
        seeds = [app.store.get(i).request["seed"] for i in table.shown_ids()]
        assert seeds == sorted(seeds)
        await pilot.click(QueueTable, offset=(x, 0))
        await until(pilot, lambda: "Seed ▼" in line(table, 0), "the order reversed")


async def test_the_picker_says_which_columns_have_no_room_in_full_at_80(tmp_path: Path) -> None:
    from krea_tui.tui.screens.columns import ColumnsModal

    app = app_with_config(tmp_path)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("L")
        await until(pilot, lambda: isinstance(app.screen, ColumnsModal), "the column picker")
        await pilot.pause()
        room = app.screen.query_one("#columns-room")
        dialog = room.parent
        assert dialog is not None
        # The advice ended "(hide others, o" at the dialog's edge.
        assert dialog.content_region.contains_region(room.region), (room.region, dialog)
        assert "widen" in str(room.render())
