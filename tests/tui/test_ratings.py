"""Rating and picking from the keyboard: in the table (`*` then 0-5, `+` pick, `-` reject),
the viewer and the contact sheet (0-5, p, x); each key moves on to the next job or picture,
and marks take it all at once."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from krea_tui.core.store import StoredJob
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.contact_sheet import ContactSheet
from krea_tui.tui.screens.viewer import ResultViewer
from tests.tui.conftest import settle
from tests.tui.test_contact_sheet import BATCH, job_at, sweep_app


def stored(app: KreaApp, local_id: str) -> StoredJob:
    return app.store.get(local_id)


async def test_the_table_rates_through_a_prefix_and_picks_with_plus_and_minus(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        main = app.screen
        table = main.table  # type: ignore[attr-defined]
        table.move_cursor(row=0)
        first = table.current_id
        await pilot.press("asterisk", "4")
        await pilot.pause()
        assert stored(app, first).rating == 4
        second = table.current_id
        assert second != first  # moved on to the next row
        await pilot.press("plus")
        await pilot.pause()
        assert stored(app, second).pick == 1
        third = table.current_id
        await pilot.press("minus")
        await pilot.pause()
        assert stored(app, third).pick == -1
        # The Rating column shows at this width, and says it.
        assert "rating" in table.layout_for(frozenset()).keys
        assert "★★★★" in table.cell_texts(first)["rating"]
        # The same again takes it back.
        table.move_cursor(row=table.index_of_key(second))
        await pilot.press("plus")
        await pilot.pause()
        assert stored(app, second).pick is None


async def test_marks_take_a_judgement_all_at_once_and_stay(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        table.move_cursor(row=0)
        await pilot.press("space", "space", "space")
        marked = set(table.marks)
        assert len(marked) == 3
        here = table.current_id
        await pilot.press("asterisk", "5", "plus")
        await pilot.pause()
        assert {stored(app, i).rating for i in marked} == {5}
        assert {stored(app, i).pick for i in marked} == {1}
        assert table.current_id == here and set(table.marks) == marked


async def test_a_rejected_row_leaves_a_view_that_hides_rejects(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        main = app.screen
        main.set_filter("-is:reject", typing=False)  # type: ignore[attr-defined]
        await pilot.pause()
        model = main.model  # type: ignore[attr-defined]
        shown = model.shown_count()
        table = main.table  # type: ignore[attr-defined]
        table.move_cursor(row=0)
        gone = table.current_id
        await pilot.press("minus")
        await pilot.pause()
        assert model.shown_count() == shown - 1
        assert table.current_id != gone
        main.set_filter("is:reject", typing=False)  # type: ignore[attr-defined]
        await pilot.pause()
        assert model.shown_ids() == [gone]


async def test_the_viewer_rates_and_picks_then_shows_the_next_picture(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        ids = app.store.ids_with_files()
        path = Path(stored(app, ids[0]).files[0])
        sidecar = path.with_name(path.name + ".json")
        sidecar.write_text(json.dumps({"model": "bfl/flux-1-dev", "request": {}}))
        app.open_viewer(ids[0])
        await settle(pilot)
        viewer = app.screen
        assert isinstance(viewer, ResultViewer)
        first = viewer.job.local_id
        await pilot.press("5")
        await pilot.pause()
        assert stored(app, first).rating == 5
        second = viewer.job.local_id
        assert second != first
        await pilot.press("p")
        await pilot.pause()
        assert stored(app, second).pick == 1
        third = viewer.job.local_id
        await pilot.press("x")
        await pilot.pause()
        assert stored(app, third).pick == -1
        await settle(pilot)
        # The saved file's sidecar says so too (written off the event loop).
        assert json.loads(sidecar.read_text())["rating"] == 5


async def test_the_contact_sheet_rates_and_moves_in_reading_order(tmp_path: Path) -> None:
    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ContactSheet(BATCH, start=job_at(0)))
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet)
        await pilot.press("right", "right")  # the end of the first row
        job = sheet.current_job()
        assert job is not None
        await pilot.press("3")
        await pilot.pause()
        assert stored(app, job.local_id).rating == 3
        assert sheet.cursor == (1, 0)  # on to the next row's first picture
        await pilot.pause()
        caption = str(sheet.query_one("#cell-0-2 .caption").render())
        assert "★★★" in caption
        await pilot.press("x")
        await pilot.pause()
        assert sheet.cursor == (1, 1)
