"""KittyPicture, the direct-placement route (kitty before 0.28, WezTerm, Konsole), in a headless
app: the escapes it puts into its lines are read back from the strips it renders.

What matters over a slow link and on screen: the picture goes once and a redraw only places it
again; nothing is ever a Unicode placeholder (U=1, which kitty 0.26 rejects); a dialog over the
screen takes the picture away (a placement floats above any text) and closing it brings it back
without sending it again; a new picture frees the old one in the terminal.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widgets import Label

from krea_tui.core.termcaps import DEFAULT_CELL, CellSize
from krea_tui.showcase import NOW, static_runtime_factory
from krea_tui.tui import images
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.viewer import ResultViewer
from krea_tui.tui.widgets.kitty_picture import KittyPicture
from tests.tui.conftest import settings_in, settle, until

COLS, ROWS = 20, 10


def controls(strips: list[Strip]) -> str:
    return "".join(seg.text for strip in strips for seg in strip if seg.control)


def escapes(widget: KittyPicture) -> str:
    """The zero-width control text of the widget's lines as they are rendered now."""
    return controls(widget.render_lines(Region(0, 0, COLS, ROWS)))


def record(widget: KittyPicture) -> list[str]:
    """Every escape the widget puts into the frames Textual renders from now on."""
    seen: list[str] = []
    render = widget.render_lines

    def spy(crop: Region) -> list[Strip]:
        strips = render(crop)
        seen.append(controls(strips))
        return strips

    widget.render_lines = spy  # type: ignore[method-assign]
    return seen


class Dialog(ModalScreen[None]):
    def compose(self) -> ComposeResult:
        yield Label("over the picture")


class One(App[None]):
    def compose(self) -> ComposeResult:
        widget = KittyPicture(id="picture", cell=CellSize(10, 20))
        widget.styles.width, widget.styles.height = COLS, ROWS
        yield widget


def picture(colour: tuple[int, int, int]) -> Image.Image:
    return Image.new("RGB", (1024, 1024), colour)


async def test_sent_once_placed_on_redraw_hidden_under_a_dialog() -> None:
    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        widget = app.query_one(KittyPicture)
        widget.image = picture((200, 40, 40))
        for _ in range(100):
            await pilot.pause(0.05)
            if widget.bytes_written:
                break
        # Sized to its cells (20×10 cells of 10×20 px), sent once.
        assert widget.sent_size == (200, 200)
        png = io.BytesIO()
        picture((200, 40, 40)).resize((200, 200)).save(png, "PNG", compress_level=6)
        assert widget.bytes_written < 2 * len(base64.b64encode(png.getvalue())) + 200

        again = escapes(widget)
        assert "a=p," in again and f"c={COLS},r={ROWS},C=1" in again
        assert "a=t" not in again and "U=" not in again
        sent = widget.bytes_written

        frames = record(widget)
        await app.push_screen(Dialog())
        await pilot.pause()
        hidden = "".join(frames)
        assert "a=d,d=i," in hidden  # off the screen, data kept
        assert "a=p," not in hidden and "a=t" not in hidden

        frames.clear()
        app.pop_screen()
        await pilot.pause()
        back = "".join(frames)
        assert "a=p," in back and "a=t" not in back
        assert widget.bytes_written - sent < 400  # placements and a delete, never the picture

        frames.clear()
        widget.image = picture((20, 40, 200))
        for _ in range(100):
            await pilot.pause(0.05)
            if "a=t" in "".join(frames):
                break
        # The first picture is freed in the terminal when the second goes.
        stream = "".join(frames)
        assert "a=d,d=I," in stream and "a=t" in stream
        assert stream.index("a=d,d=I,") < stream.index("a=t")
        assert "U=" not in stream


@pytest.mark.parametrize(
    ("size", "cell"),
    [((250, 70), CellSize(10, 20)), ((80, 24), CellSize(10, 20)), ((250, 70), CellSize(6, 13))],
    ids=["250x70", "80x24", "250x70-xterm-cells"],
)
async def test_viewer_over_kitty_direct_fills_the_box_with_the_pictures_aspect(
    tmp_path: Path, size: tuple[int, int], cell: CellSize
) -> None:
    """The viewer on the route kitty 0.26 now gets: the picture grows with the window and keeps
    its aspect in pixels, whatever the cells' shape."""
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="kitty-direct",
        runtime_factory=static_runtime_factory(tmp_path, 20),
        clock=lambda: NOW,
    )
    images.set_cell_size(cell)
    try:
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await pilot.press("enter")
            await until(
                pilot,
                lambda: (
                    isinstance(app.screen, ResultViewer)
                    and app.screen.query_one(KittyPicture).sent_size != (0, 0)
                ),
                "the picture sent",
            )
            viewer = app.screen
            assert isinstance(viewer, ResultViewer)
            picture = viewer.query_one(KittyPicture)
            box = viewer.query_one("#picture-box").size
            cols, rows = picture.size
            assert cols == box.width or rows == box.height  # as large as the box allows
            job = viewer.job
            with Image.open(job.files[0]) as source:
                aspect = source.width / source.height
            shown = (cols * cell.width) / (rows * cell.height)
            assert abs(shown / aspect - 1) < max(1 / cols, 0.5 / rows) * 2
            # Sent at the pixels of its cells at most, never the full original.
            sent_w, sent_h = picture.sent_size
            assert sent_w <= cols * cell.width and sent_h <= rows * cell.height
    finally:
        images.set_cell_size(DEFAULT_CELL)


async def test_a_resized_picture_leaves_its_old_place_at_once() -> None:
    app = One()
    async with app.run_test(size=(60, 20)) as pilot:
        widget = app.query_one(KittyPicture)
        widget.image = picture((200, 40, 40))
        await until(pilot, lambda: widget.sent_size != (0, 0), "the picture sent")
        await pilot.pause()
        frames = record(widget)
        widget.styles.width, widget.styles.height = COLS // 2, ROWS // 2
        await until(pilot, lambda: "a=d,d=i," in "".join(frames), "the old placement deleted")
        await until(pilot, lambda: widget.sent_size == (100, 100), "the picture sent again")
