"""PlaceholderPicture, the route for kitty ≥ 0.28 and for tmux, in a headless app: its lines
are decoded as a terminal would read them (row and column marks, the id in the foreground
colour) and every cell of the picture must be placed exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Label

from krea_tui.core.kitty_placeholders import PLACEHOLDER, decode_cell, unwrap_tmux
from krea_tui.core.termcaps import CellSize
from krea_tui.showcase import NOW, static_runtime_factory
from krea_tui.tui import images
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.viewer import ResultViewer
from krea_tui.tui.widgets.placeholder_picture import PlaceholderPicture
from tests.tui.conftest import settings_in, settle, until

COLS, ROWS = 20, 10


def decode(strips: list[Strip]) -> dict[tuple[int, int], list[int]]:
    """Every placeholder cell in the strips: (row, column) → the image ids placed there."""
    placed: dict[tuple[int, int], list[int]] = {}
    for strip in strips:
        for segment in strip:
            if segment.control or not segment.text.startswith(PLACEHOLDER):
                continue
            assert segment.style is not None and segment.style.color is not None
            colour = segment.style.color.number
            assert colour is not None and 16 <= colour <= 255  # 256-colour, never RGB
            for text in segment.text.split(PLACEHOLDER)[1:]:
                cell = decode_cell(PLACEHOLDER + text, colour)
                assert cell is not None
                placed.setdefault(cell[:2], []).append(cell[2])
    return placed


def controls(strips: list[Strip]) -> str:
    return "".join(segment.text for strip in strips for segment in strip if segment.control)


class One(App[None]):
    def __init__(self, tmux: bool) -> None:
        super().__init__()
        self.tmux = tmux

    def compose(self) -> ComposeResult:
        widget = PlaceholderPicture(id="picture", cell=CellSize(10, 20), tmux=self.tmux)
        widget.styles.width, widget.styles.height = COLS, ROWS
        yield widget


class Dialog(ModalScreen[None]):
    def compose(self) -> ComposeResult:
        yield Label("over the picture")


@pytest.mark.parametrize("tmux", [False, True], ids=["kitty", "inside-tmux"])
async def test_every_cell_placed_once_and_the_picture_sent_once(tmux: bool) -> None:
    app = One(tmux)
    async with app.run_test(size=(60, 20)) as pilot:
        widget = app.query_one(PlaceholderPicture)
        widget.image = Image.new("RGB", (1024, 1024), (200, 40, 40))
        await until(pilot, lambda: widget.bytes_written > 0, "the picture sent")

        strips = widget.render_lines(Region(0, 0, COLS, ROWS))
        placed = decode(strips)
        assert set(placed) == {(r, c) for r in range(ROWS) for c in range(COLS)}
        ids = {image_id for found in placed.values() for image_id in found}
        assert all(len(found) == 1 for found in placed.values()) and len(ids) == 1
        assert controls(strips) == ""  # a redraw sends nothing: the cells are the picture

        # What was sent, as the terminal outside tmux receives it: the PNG once, stored under
        # the cells' id, and one virtual placement of the widget's box.
        sent = widget.sent_stream
        if tmux:
            assert sent.startswith("\x1bPtmux;\x1b\x1b_G")
            assert "\x1b_G" not in sent.replace("\x1b\x1b_G", "")  # nothing unwrapped
            sent = unwrap_tmux(sent)
        (image_id,) = ids
        assert sent.count("a=t,") == 1 and f"i={image_id}," in sent
        assert sent.endswith(f"\x1b_Ga=p,U=1,i={image_id},c={COLS},r={ROWS},q=2\x1b\\")
        assert widget.sent_size == (200, 200)  # the pixels of its cells, not 1024²

        # A dialog covers placeholders like any text; nothing is sent or deleted for it.
        before = widget.bytes_written
        await app.push_screen(Dialog())
        await pilot.pause()
        app.pop_screen()
        await pilot.pause()
        assert widget.bytes_written == before


async def test_a_new_picture_frees_the_old_one_through_tmux() -> None:
    app = One(tmux=True)
    async with app.run_test(size=(60, 20)) as pilot:
        widget = app.query_one(PlaceholderPicture)
        widget.image = Image.new("RGB", (512, 512), (200, 40, 40))
        await until(pilot, lambda: widget.bytes_written > 0, "the first picture sent")
        first = widget.image_id
        widget.image = Image.new("RGB", (512, 512), (20, 40, 200))
        await until(pilot, lambda: widget.image_id not in (0, first), "the second encoded")
        await until(pilot, lambda: "a=d,d=I" in unwrap_tmux(widget.sent_stream), "old freed")
        stream = unwrap_tmux(widget.sent_stream)
        assert f"a=d,d=I,i={first},q=2" in stream
        assert stream.index(f"i={first},q=2") < stream.rindex("a=t,")


async def test_the_viewer_draws_placeholders_over_the_whole_box(tmp_path: Path) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="kitty",
        runtime_factory=static_runtime_factory(tmp_path, 20),
        clock=lambda: NOW,
    )
    images.set_cell_size(CellSize(10, 20))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await until(
            pilot,
            lambda: (
                isinstance(app.screen, ResultViewer)
                and app.screen.query_one(PlaceholderPicture).bytes_written > 0
            ),
            "the picture sent",
        )
        widget = app.screen.query_one(PlaceholderPicture)
        cols, rows = widget.size
        placed = decode(widget.render_lines(Region(0, 0, cols, rows)))
        assert len(placed) == cols * rows and cols > 40 and rows > 20
