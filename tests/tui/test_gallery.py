"""The gallery (ctrl+g): every result the main table's filter matches, as a grid of thumbnails
made once and cached on disk, read from the history a window at a time."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from krea_tui.core.gallery_model import GalleryModel
from krea_tui.core.query import parse
from krea_tui.core.store import JobStore
from krea_tui.core.thumbs import ThumbCache
from krea_tui.showcase import NOW, STATUSES, fill
from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settle, until, wait_for_workers

# The fixed history's finished jobs with a picture, newest first (job n has id f"{n:02d}0…").
DONE = [n for n in reversed(range(20)) if STATUSES[n] == "completed"]


def job_id(n: int) -> str:
    return f"{n:02d}" + "0" * 30


def _grid(app: KreaApp):  # type: ignore[no-untyped-def]
    from krea_tui.tui.widgets.thumb_grid import ThumbGrid

    return app.screen.query_one(ThumbGrid)


async def _open(pilot) -> None:  # type: ignore[no-untyped-def]
    from krea_tui.tui.screens.gallery import GalleryScreen

    await pilot.press("ctrl+g")
    await until(pilot, lambda: isinstance(pilot.app.screen, GalleryScreen), "the gallery")
    grid = _grid(pilot.app)
    await until(
        pilot,
        lambda: grid.thumbs_shown() == min(grid.count, grid.visible_count()),
        "the visible thumbnails",
    )


# -- the model and the cache, without a screen ---------------------------------------------------


def test_the_gallery_model_reads_results_newest_first_a_window_at_a_time(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "h.sqlite3")
    fill(store, tmp_path / "out")
    model = GalleryModel(store, now=lambda: NOW)
    assert len(model) == len(DONE)
    window = model.window(2, 3)
    assert [item.local_id for item in window] == [job_id(n) for n in DONE[2:5]]
    assert [item.index for item in window] == [2, 3, 4]
    assert all(item.path.exists() for item in window)
    assert model.index_of(job_id(DONE[4])) == 4
    assert model.local_ids() == [job_id(n) for n in DONE]
    # The table's filter language: "fox" is in prompts 1, 6, 11, 16 (finished: 1 and 6).
    foxes = GalleryModel(store, parse("fox"), now=lambda: NOW)
    assert foxes.local_ids() == [job_id(6), job_id(1)]
    store.close()


def test_a_thumbnail_is_made_once_then_read_from_disk_until_its_file_changes(
    tmp_path: Path,
) -> None:
    picture = tmp_path / "p.png"
    Image.new("RGB", (200, 100), "red").save(picture)
    made: list[tuple[int, int]] = []

    def make(path: Path, width: int, height: int) -> Image.Image:
        made.append((width, height))
        image = Image.open(path).convert("RGB")
        image.thumbnail((width, height))
        return image

    cache = ThumbCache(tmp_path / "thumbs", make)
    first = cache.load(picture, 20, 10)
    assert first.size == (20, 10) and made == [(20, 20)]
    again = ThumbCache(tmp_path / "thumbs", make).load(picture, 20, 10)  # a later run
    assert again.size == (20, 10) and made == [(20, 20)]
    cache.load(picture, 16, 8)  # another tile size: its own thumbnail
    assert len(made) == 2
    Image.new("RGB", (100, 100), "blue").save(picture)
    os.utime(picture, ns=(1, 1))  # a changed file: another mtime, another size
    assert cache.load(picture, 20, 10).getpixel((5, 5)) == (0, 0, 255)
    assert len(made) == 3


# -- the screen ----------------------------------------------------------------------------------


async def test_ctrl_g_shows_every_result_newest_first_and_escape_closes_it(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.screens.gallery import GalleryScreen

    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await _open(pilot)
        grid = _grid(app)
        assert grid.count == len(DONE)
        assert grid.current_item is not None and grid.current_item.local_id == job_id(DONE[0])
        assert grid.thumbs_shown() == len(DONE)  # 160×48 shows all eight
        # Pictures drawn in half-cells, a caption under each.
        lines = [grid.render_line(y).text for y in range(grid.size.height)]
        assert "▀" in lines[0]
        assert any("Swiss chalets" in line for line in lines)  # job 0's caption, its prompt
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GalleryScreen), "the table again")


async def test_the_gallery_shows_what_the_tables_filter_matches(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        app.screen_stack[0].set_filter("fox")  # type: ignore[attr-defined]
        await pilot.pause()
        await _open(pilot)
        grid = _grid(app)
        assert grid.count == 2
        assert [grid.item(i).local_id for i in range(2)] == [job_id(6), job_id(1)]


async def test_keys_move_the_cursor_and_enter_opens_the_viewer_on_that_picture(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.screens.gallery import GalleryScreen
    from krea_tui.tui.screens.viewer import ResultViewer

    app = static_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _open(pilot)
        grid = _grid(app)
        columns = grid.columns
        assert 1 < columns < len(DONE)
        await pilot.press("right")
        assert grid.cursor == 1
        await pilot.press("l", "h", "h")
        assert grid.cursor == 0  # no further left than the first
        await pilot.press("down")
        assert grid.cursor == columns
        await pilot.press("k", "j")
        assert grid.cursor == columns
        await pilot.press("end")
        assert grid.cursor == len(DONE) - 1
        assert grid.is_visible(grid.cursor)  # scrolled to it
        await pilot.press("home")
        assert grid.cursor == 0 and grid.scroll_offset.y == 0
        await pilot.press("pagedown")
        assert grid.cursor > 0
        await pilot.press("pageup")
        assert grid.cursor == 0
        await pilot.press("right", "right", "enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        assert app.screen.job.local_id == job_id(DONE[2])  # type: ignore[attr-defined]
        await pilot.press("right")  # the viewer steps through the gallery's order
        assert app.screen.job.local_id == job_id(DONE[3])  # type: ignore[attr-defined]
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen), "the gallery again")
        assert grid.cursor == 2


async def test_a_thumbnail_is_decoded_once_and_read_from_the_disk_cache_after(
    static_app: Callable[..., KreaApp],
) -> None:
    from krea_tui.tui.screens.gallery import thumb_cache

    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        cache = thumb_cache(app.settings.data_dir)
        made, read = cache.made, cache.read
        await _open(pilot)
        assert cache.made - made == len(DONE)  # each picture decoded once
        assert cache.read - read == 0
        await pilot.press("escape")
        await pilot.pause()
        await _open(pilot)  # a new gallery: every thumbnail comes from the disk
        await wait_for_workers(app)
        assert cache.made - made == len(DONE)
        assert cache.read - read == len(DONE)


async def test_every_screen_gets_its_thumbnails_down_to_the_end_and_back_up(
    static_app: Callable[..., KreaApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Few thumbnails kept in memory (four screens): those let go on the way down are made
    again on the way up, and those on screen are never the ones let go."""
    from krea_tui.tui.widgets import thumb_grid

    monkeypatch.setattr(thumb_grid, "TILES_KEPT", 1)
    app = static_app(200)  # 80 results
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await _open(pilot)
        grid = _grid(app)
        assert grid.count == 80

        def filled() -> bool:
            return grid.thumbs_shown() == grid.visible_count()

        while grid.cursor < grid.count - 1:
            await pilot.press("pagedown")
            await until(pilot, filled, f"the thumbnails at {grid.cursor}", deadline=10)
        assert grid.thumbs.made == grid.count  # each made once
        while grid.cursor > 0:
            await pilot.press("pageup")
            await until(pilot, filled, f"the thumbnails at {grid.cursor}", deadline=10)
        await pilot.press("end")
        await until(pilot, filled, "the last screen", deadline=10)


async def test_the_palette_opens_the_gallery(static_app: Callable[..., KreaApp]) -> None:
    from krea_tui.tui.commands import KreaCommands
    from krea_tui.tui.screens.gallery import GalleryScreen

    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        provider = KreaCommands(app.screen)
        found = [c for c in provider._commands() if c[0].startswith("gallery")]
        assert found and found[0][1].endswith("(^g)")  # the key, as the footer shows it
        await pilot.press("ctrl+p", *"gallery", "enter")
        await until(pilot, lambda: isinstance(app.screen, GalleryScreen), "the gallery")
