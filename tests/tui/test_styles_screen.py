"""The styles screen over the demo simulator: opened from the compose form's styles field (f9)
or the command palette, it lists styles (name, whose, the models each fits) by filter, and
picking one puts it into the form's styles field by id with the strength chosen."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.styles import StylesScreen
from tests.tui.conftest import until
from tests.tui.test_list_fields import compose_form, make_app


def cells(table: DataTable[str]) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


async def test_picking_a_style_fills_the_styles_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        await pilot.press(*"a lighthouse")
        form.query_one("#field-styles", Input).focus()
        await pilot.press("f9")
        await until(pilot, lambda: bool(app.screen.query(DataTable)), "the styles screen")
        screen = app.screen
        assert isinstance(screen, StylesScreen)
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count >= 6, "the styles listed")
        rows = cells(table)
        names = [row[0] for row in rows]
        assert "Watercolor" in names and "Risograph" in names
        riso = rows[names.index("Risograph")]
        assert "mika" in riso and any("flux_dev" in c for c in riso)

        screen.query_one("#style-filter", Select).value = "krea"
        await until(
            pilot,
            lambda: table.row_count > 0 and "Risograph" not in [r[0] for r in cells(table)],
            "only Krea's styles",
        )
        assert all(row[1] == "Krea" for row in cells(table))
        names = [row[0] for row in cells(table)]
        table.move_cursor(row=names.index("Watercolor"))
        screen.query_one("#style-strength", Input).value = "0.7"
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "back to the form")
        bodies, problems = form.requests()
        assert problems == []
        (style,) = bodies[0]["styles"]
        assert style["strength"] == 0.7 and style["id"].startswith("3f1c2b7e")
        # A second pick adds to the field; picking the same style again changes its strength.
        form.query_one("#field-styles", Input).focus()
        await pilot.press("f9")
        await until(pilot, lambda: bool(app.screen.query(DataTable)), "the screen again")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count >= 6, "the styles listed again")
        names = [row[0] for row in cells(table)]
        table.move_cursor(row=names.index("Risograph"))
        table.focus()
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "back again")
        bodies, _ = form.requests()
        assert [s["id"] for s in bodies[0]["styles"]] == [style["id"], "pgozm164j"]


async def test_escape_changes_nothing_and_the_palette_opens_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        from krea_tui.tui.screens.styles import open_styles

        open_styles(app)
        await until(pilot, lambda: bool(app.screen.query(DataTable)), "the styles screen")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count >= 6, "the styles listed")
        table.focus()
        await pilot.press("enter")  # from the main screen: a form opens with the style in it
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form")
        bodies, _ = app.screen.requests()  # type: ignore[attr-defined]
        assert len(bodies[0]["styles"]) == 1
        await pilot.press("f9")
        await until(pilot, lambda: isinstance(app.screen, StylesScreen), "the styles again")
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form again")
        bodies, _ = app.screen.requests()  # type: ignore[attr-defined]
        assert len(bodies[0]["styles"]) == 1


async def test_train_a_style_from_the_styles_screen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.integration.test_cli_styles import pictures

    folder = pictures(tmp_path / "pics", 4)
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        from krea_tui.tui.screens.styles import open_styles
        from krea_tui.tui.screens.train_style import TrainStyleModal

        open_styles(app)
        await until(pilot, lambda: bool(app.screen.query(DataTable)), "the styles screen")
        styles = app.screen
        await pilot.press("ctrl+t")
        await until(pilot, lambda: isinstance(app.screen, TrainStyleModal), "the training form")
        modal = app.screen
        assert isinstance(modal, TrainStyleModal)
        await until(pilot, lambda: bool(modal.query("#train-summary")), "the form's fields")
        modal.query_one("#train-name", Input).value = "inkwash"
        modal.query_one("#train-folder", Input).value = str(folder)
        modal.query_one("#train-steps", Input).value = "10"
        await until(pilot, lambda: "4 pictures" in modal.summary, "the price said")
        assert "10 steps" in modal.summary and "30 CU" in modal.summary
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is styles, "back to the styles")
        await until(
            pilot,
            lambda: any(j.model == "styles/train" for j in app.store.jobs()),
            "the training queued",
        )
        (job,) = [j for j in app.store.jobs() if j.model == "styles/train"]
        assert job.cost_unit == "CU" and job.cost_estimate == 30.0
        assert all(u.startswith("http") for u in job.request["urls"])
        await until(
            pilot, lambda: app.store.get(job.local_id).status == "completed", "the training"
        )
        styles.query_one("#style-filter", Select).value = "mine"
        table = styles.query_one(DataTable)
        await until(
            pilot,
            lambda: [r[0] for r in cells(table)] == ["inkwash"],
            "the new style under mine",
        )
        assert cells(table)[0][1] == "mine"


async def test_the_highlighted_style_shows_its_cover(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from krea_tui.tui.widgets.halfcell import HalfcellPicture

    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        from krea_tui.tui.screens.styles import open_styles

        open_styles(app)
        await until(pilot, lambda: bool(app.screen.query(HalfcellPicture)), "the cover pane")
        cover = app.screen.query_one(HalfcellPicture)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count >= 6, "the styles listed")
        await until(pilot, lambda: cover.image is not None, "the first style's cover")
        first = cover.image
        table.focus()
        await pilot.press("down")
        await until(pilot, lambda: cover.image is not first, "the next style's cover")
