"""The detail pane's thumbnail and the contact sheet's tiles take the viewer's route: real
pixels where the terminal draws them. On kitty's direct placements that route needs care a
half-cell picture never did: a placement floats above the text, so a tile scrolled out of the
grid, a pane hidden, or a screen pushed over the sheet must take its picture away; and with
many tiles each picture goes to the terminal once, after which a redraw only places it.

The escapes are read back from the lines the widgets render (as in test_terminal_caps_widget).
"""

from __future__ import annotations

import time
from pathlib import Path

from textual.geometry import Region
from textual.pilot import Pilot
from textual.strip import Strip

from krea_tui.showcase import NOW, static_runtime_factory
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.contact_sheet import ContactSheet, SheetCell
from krea_tui.tui.screens.viewer import ResultViewer
from krea_tui.tui.widgets.job_detail import JobDetail
from krea_tui.tui.widgets.kitty_picture import KittyPicture
from tests.tui.conftest import settings_in, settle, until
from tests.tui.test_contact_sheet import BATCH, job_at, sweep_runtime_factory


def record(widget: KittyPicture) -> list[str]:
    """Every escape the widget puts into the frames rendered from now on."""
    seen: list[str] = []
    render = widget.render_lines

    def spy(crop: Region) -> list[Strip]:
        strips = render(crop)
        seen.append("".join(seg.text for strip in strips for seg in strip if seg.control))
        return strips

    widget.render_lines = spy  # type: ignore[method-assign]
    return seen


def inside(placed: tuple[int, int, int, int] | None, area: Region) -> bool:
    return placed is None or area.contains_region(Region(*placed))


async def open_sheet(pilot: Pilot[None], app: KreaApp) -> ContactSheet:
    """The sheet, on its first tile: the grid at its top."""
    await settle(pilot)
    table = app.screen.table  # type: ignore[attr-defined]
    table.move_cursor(row=table.index_of_key(job_at(0)))
    app.open_contact_sheet(BATCH)
    await pilot.pause()
    sheet = app.screen
    assert isinstance(sheet, ContactSheet)
    return sheet


async def test_sheet_tiles_on_kitty_stay_inside_the_grid_and_are_sent_once(tmp_path: Path) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="kitty-direct",
        runtime_factory=sweep_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )
    # 60×20: three rows of tiles do not fit, so the grid scrolls a row wholly out of view.
    async with app.run_test(size=(60, 20)) as pilot:
        started = time.monotonic()
        sheet = await open_sheet(pilot, app)
        tiles = {
            cell.id or "": cell.query_one(KittyPicture)
            for cell in sheet.query(SheetCell)
            if cell.job.status == "completed"
        }
        assert len(tiles) == 6
        frames = {name: record(picture) for name, picture in tiles.items()}
        scroll = sheet.query_one("#sheet-scroll")
        first_row = [tiles[name] for name in tiles if name.startswith("cell-0-")]
        await until(
            pilot, lambda: all(t.placed for t in first_row), "the first row's pictures placed"
        )
        print(f"first row drawn {time.monotonic() - started:.2f} s after opening")
        assert all(inside(t.placed, scroll.region) for t in tiles.values())

        await pilot.press("down", "down")  # the grid scrolls to its last row
        await until(
            pilot, lambda: all(t.placed is None for t in first_row), "the first row taken away"
        )
        last_row = [tiles[name] for name in tiles if name.startswith("cell-2-")]
        await until(pilot, lambda: all(t.placed for t in last_row), "the last row placed")
        assert all(inside(t.placed, scroll.region) for t in tiles.values())

        await pilot.press("up", "up")
        await until(pilot, lambda: all(t.placed for t in first_row), "the first row back")
        assert all(inside(t.placed, scroll.region) for t in tiles.values())
        for name, seen in frames.items():
            assert "".join(seen).count("a=t,") <= 1, f"{name} was sent more than once"

        # Another screen over the sheet: no frame draws the sheet, its pictures are taken away.
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        gone = "the sheet's pictures gone"
        await until(pilot, lambda: all(t.placed is None for t in tiles.values()), gone)
        for seen in frames.values():
            seen.clear()
        await pilot.press("escape")
        await until(pilot, lambda: all(t.placed for t in first_row), "the pictures back")
        assert "a=t," not in "".join("".join(seen) for seen in frames.values())


async def test_a_tile_partly_scrolled_away_is_placed_cropped_to_what_shows(
    tmp_path: Path,
) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="kitty-direct",
        runtime_factory=sweep_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(80, 24)) as pilot:
        sheet = await open_sheet(pilot, app)
        scroll = sheet.query_one("#sheet-scroll")
        picture = sheet.query_one("#cell-0-0", SheetCell).query_one(KittyPicture)
        await until(pilot, lambda: picture.placed is not None, "the first picture placed")
        full = picture.placed
        frames = record(picture)
        scroll.scroll_to(y=4, animate=False)
        await until(
            pilot,
            lambda: picture.placed is not None and picture.placed != full,
            "the picture placed again",
        )
        assert inside(picture.placed, scroll.region)
        assert picture.placed is not None and picture.placed[3] < picture.size.height
        cropped = "".join(frames)
        assert ",y=" in cropped and ",h=" in cropped and "a=t," not in cropped


async def test_the_detail_thumbnail_on_kitty_goes_with_its_pane(tmp_path: Path) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="kitty-direct",
        runtime_factory=static_runtime_factory(tmp_path, 20),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        detail = app.screen.query_one(JobDetail)
        thumb = detail.query_one("#detail-thumb")
        assert isinstance(thumb, KittyPicture)
        await until(pilot, lambda: thumb.placed is not None, "the thumbnail placed")
        assert inside(thumb.placed, detail.region)
        frames = record(thumb)
        await pilot.press("d")  # the pane hides: its picture must not stay over the table
        await until(pilot, lambda: thumb.placed is None, "the thumbnail taken away")
        await pilot.press("d")
        await until(pilot, lambda: thumb.placed is not None, "the thumbnail back")
        assert "a=t," not in "".join(frames)


async def test_the_detail_thumbnail_follows_the_apps_route(tmp_path: Path) -> None:
    from krea_tui.tui.widgets.halfcell import HalfcellPicture

    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, 20),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        thumb = app.screen.query_one(JobDetail).query_one("#detail-thumb")
        assert isinstance(thumb, HalfcellPicture)
        await until(pilot, lambda: thumb.image is not None, "the thumbnail")
        # Half-cells: two pixels a cell, no more decoded than that.
        assert thumb.image is not None
        assert thumb.image.width <= 24 and thumb.image.height <= 24
