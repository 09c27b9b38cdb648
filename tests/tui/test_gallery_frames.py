"""What keeps the gallery's frames short while it scrolls: the garbage collector runs between
frames (never inside one) only while the gallery is the screen shown, and the grid leaves out
the one line filter that would change nothing it draws."""

from __future__ import annotations

import gc
from collections.abc import Callable

from textual.color import Color
from textual.filter import ANSIToTruecolor

from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settle, until
from tests.tui.test_gallery import _grid, _open


async def test_the_collector_runs_between_frames_only_while_the_gallery_is_shown(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.screens.gallery import GalleryScreen
    from krea_tui.tui.screens.viewer import ResultViewer

    assert gc.isenabled()
    app = static_app(200)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _open(pilot)
        gallery = app.screen
        assert isinstance(gallery, GalleryScreen)
        assert not gc.isenabled()  # no collection in the middle of a frame
        assert gc.get_freeze_count() > 0  # what was there before is left out
        before = list(gallery.collector.collections)
        for _ in range(12):
            await pilot.press("pagedown")
        await until(
            pilot,
            lambda: (
                gallery.collector.collections[0] > before[0]
                and gallery.collector.collections[1] > before[1]
            ),
            "collections after the keys' frames",
        )
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        assert gc.isenabled() and gc.get_freeze_count() == 0  # the viewer's as usual
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is gallery, "the gallery again")
        assert not gc.isenabled()
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GalleryScreen), "the table")
        assert gc.isenabled() and gc.get_freeze_count() == 0


async def test_the_filter_the_grid_leaves_out_changes_nothing_it_draws(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await _open(pilot)
        grid = _grid(app)
        await pilot.press("right", "4")  # a cursor, a rating: every kind of line
        await pilot.pause()
        ansi = [f for f in app.get_line_filters() if isinstance(f, ANSIToTruecolor)]
        assert ansi, "the app turns ANSI colours into truecolor"
        assert not any(isinstance(f, ANSIToTruecolor) for f in grid.get_line_filters())
        background = Color(20, 20, 20)
        for y in range(grid.size.height):
            drawn = list(grid.render_line(y))
            assert ansi[0].apply(drawn, background) == drawn, f"line {y}"
        # A colour the terminal's palette decides (a theme could give one): the filter stays.
        grid.styles.color = Color.parse("ansi_red")
        grid.notify_style_update()  # as the stylesheet does when a theme changes
        assert any(isinstance(f, ANSIToTruecolor) for f in grid.get_line_filters())
