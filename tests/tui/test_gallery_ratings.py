"""Rating and picking in the gallery: the viewer's and the contact sheet's keys (`0`-`5`, `p`,
`x`) judge the picture under the cursor, move on to the next thumbnail, and the caption under
each thumbnail says what was given; the footer and the help list the keys."""

from __future__ import annotations

from collections.abc import Callable

from krea_tui.core.store import StoredJob
from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settle, until
from tests.tui.test_gallery import _grid, _open


def stored(app: KreaApp, local_id: str) -> StoredJob:
    return app.store.get(local_id)


def caption(grid, index: int) -> str:  # type: ignore[no-untyped-def]
    """The caption line under tile `index`, as drawn (the tiles of its row side by side)."""
    tile_w, tile_h = grid.tile_size
    row, column = divmod(index, grid.columns)
    y = row * tile_h + grid.picture[1] - int(grid.scroll_offset.y)
    line = grid.render_line(y).text
    left = (grid.scrollable_content_region.width - grid.columns * tile_w) // 2
    return line[left + column * tile_w : left + (column + 1) * tile_w]


async def test_gallery_keys_rate_pick_and_reject_then_move_to_the_next_thumbnail(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await _open(pilot)
        grid = _grid(app)
        ids = [grid.item(i).local_id for i in range(4)]
        assert grid.cursor == 0
        await pilot.press("4")
        assert stored(app, ids[0]).rating == 4
        assert grid.cursor == 1  # on to the next thumbnail
        await pilot.press("p")
        assert stored(app, ids[1]).pick == 1
        assert grid.cursor == 2
        await pilot.press("x")
        assert stored(app, ids[2]).pick == -1
        assert grid.cursor == 3
        await pilot.pause()
        # Under each thumbnail, what it was given.
        assert "★★★★" in caption(grid, 0)
        assert "✔" in caption(grid, 1)
        assert "✘" in caption(grid, 2)
        assert not {"★", "✔", "✘"} & set(caption(grid, 3))
        # The same key again takes it back.
        await pilot.press("home", "4")
        assert stored(app, ids[0]).rating is None
        await pilot.pause()
        assert "★" not in caption(grid, 0)
        # At the last thumbnail the cursor stays.
        await pilot.press("end", "0")
        last = grid.item(grid.count - 1).local_id
        assert stored(app, last).rating == 0
        assert grid.cursor == grid.count - 1
        await pilot.pause()
        assert "☆" in caption(grid, grid.count - 1)


async def test_a_rating_given_in_the_viewer_shows_in_the_gallery_behind_it(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.screens.gallery import GalleryScreen
    from krea_tui.tui.screens.viewer import ResultViewer

    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await _open(pilot)
        grid = _grid(app)
        await pilot.press("right", "enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        await pilot.press("5")
        assert stored(app, grid.item(1).local_id).rating == 5
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen), "the gallery again")
        await until(pilot, lambda: "★★★★★" in caption(grid, 1), "the rating under tile 1")


async def test_the_gallerys_footer_and_help_list_the_rating_keys(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.screens.help import HelpScreen

    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await _open(pilot)
        shown = {
            binding.key: binding.description
            for _, binding, enabled, _ in app.screen.active_bindings.values()
            if binding.show and enabled
        }
        assert {"0", "1", "2", "3", "4", "5", "p", "x"} <= set(shown)
        footer = app.export_screenshot()
        for word in ("Rate", "Pick", "Reject"):
            assert word in footer
        await pilot.press("f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen), "the help")
        ids = {row[2] for row in app.screen.rows}  # type: ignore[attr-defined]
        wanted = {f"gallery-rate-{n}" for n in range(6)} | {"gallery-pick", "gallery-reject"}
        assert wanted <= ids
