"""Bytes written to the terminal per picture shown, per protocol, full screen at 160×48.

A 1024×1024 result fills a 160×48 terminal as a 96×48-cell box (10×20-pixel cells, what
kitty's default font comes close to). Each protocol is measured through the code that draws
it in the app:

- kitty-direct: KittyPicture in a headless app; its escapes are counted as they go into the
  frame. The first frame sends the picture; a redraw (the widget refreshed) only places it.
- kitty placeholders (kitty ≥ 0.28, and inside tmux): PlaceholderPicture in a headless app,
  wrapped for tmux's passthrough; its escapes plus the placeholder text of its cells as Textual
  writes them. The text is written again whenever Textual repaints the widget.
- sixel: textual-image's Sixel renderable, what its widget injects.
- halfcell: our half-cell strips as Textual renders them (colours and blocks).

Two pictures: the simulator's (smooth shapes, as in demo mode) and a photograph (textual-
image's sample portrait, scaled to 1024²), which compresses far worse. Target: ≤ 150 KB over
kitty for each; the others are shown for context. Run: `python -m tests.bench.terminal_bytes`.
"""

from __future__ import annotations

import asyncio
import io
import sys
from pathlib import Path

from PIL import Image

from tests.bench.common import Figure

COLS, ROWS = 160, 48
CELL = (10, 20)
TARGET_KITTY = 150_000


def pictures() -> dict[str, Image.Image]:
    from krea_tui.sim.images import render_png

    found = {
        "demo": Image.open(
            io.BytesIO(render_png("bfl/flux-1-dev", "paper boat at dawn", 7, 1024, 1024))
        ).convert("RGB")
    }
    try:
        import textual_image

        sample = Path(textual_image.__file__).parent / "gracehopper.jpg"
        with Image.open(sample) as photo:
            found["photo"] = photo.convert("RGB").resize((1024, 1024), Image.Resampling.LANCZOS)
    except (ImportError, OSError):
        pass
    return found


def box() -> tuple[int, int]:
    from krea_tui.core.termcaps import CellSize, fit_box

    return fit_box(1024, 1024, COLS, ROWS, CellSize(*CELL))


async def kitty_widget(
    picture: Image.Image, placeholders: bool
) -> tuple[int, int, tuple[int, int]]:
    """(first frame's escapes, a redraw's escapes, the size of the PNG sent), through
    KittyPicture (direct placements) or PlaceholderPicture (inside tmux)."""
    from textual.app import App, ComposeResult

    from krea_tui.core.termcaps import CellSize
    from krea_tui.tui.widgets.kitty_picture import KittyPicture
    from krea_tui.tui.widgets.placeholder_picture import PlaceholderPicture

    cols, rows = box()

    class One(App[None]):
        def compose(self) -> ComposeResult:
            cell = CellSize(*CELL)
            widget = (
                PlaceholderPicture(id="picture", cell=cell, tmux=True)
                if placeholders
                else KittyPicture(id="picture", cell=cell)
            )
            widget.styles.width, widget.styles.height = cols, rows
            yield widget

    app = One()
    async with app.run_test(size=(COLS, ROWS)) as pilot:
        widget = app.query_one(KittyPicture)
        widget.image = picture
        for _ in range(600):  # the encoding runs in a thread: up to a minute on a slow machine
            await pilot.pause(0.1)
            if widget.bytes_written:
                break
        first = widget.bytes_written
        sent = widget.sent_size
        widget.refresh()
        await pilot.pause(0.2)
        redraw = widget.bytes_written - first
    return first, redraw, sent


def sixel(picture: Image.Image) -> int:
    from rich.console import Console
    from textual_image.renderable.sixel import Image as SixelRenderable

    cols, rows = box()
    console = Console(
        file=io.StringIO(), width=COLS, height=ROWS, color_system="truecolor", force_terminal=True
    )
    console.print(SixelRenderable(picture, width=cols, height=rows))
    return len(console.file.getvalue().encode())  # type: ignore[attr-defined]


def halfcell(picture: Image.Image) -> int:
    from rich.console import Console

    from krea_tui.tui.widgets.halfcell import halfcell_strips

    cols, rows = box()
    console = Console(file=io.StringIO(), width=COLS, color_system="truecolor", force_terminal=True)
    # Each line also needs a cursor move (about 8 bytes) before it.
    return sum(
        len(strip.render(console).encode()) + 8 for strip in halfcell_strips(picture, cols, rows)
    )


def figures(quick: bool = False) -> list[Figure]:
    import textual_image.renderable  # noqa: F401  # its import-time probe, before any app runs

    from krea_tui.core.kitty_placeholders import text_bytes

    out: list[Figure] = []
    cols, rows = box()
    for name, picture in pictures().items():
        first, redraw, sent = asyncio.run(kitty_widget(picture, placeholders=False))
        note = f"{cols}×{rows} cells, PNG {sent[0]}×{sent[1]} px; a redraw sends {redraw} bytes"
        out.append(
            Figure(f"bytes.kitty_direct.{name}", first / 1000, "KB", TARGET_KITTY / 1000, note=note)
        )
        out.append(Figure(f"bytes.kitty_redraw.{name}", redraw, "B", 200))
        escapes, again, _ = asyncio.run(kitty_widget(picture, placeholders=True))
        text = text_bytes(cols, rows) + len("\x1b[38;5;200m")  # and the colour, once
        out.append(
            Figure(
                f"bytes.kitty_placeholders.{name}",
                (escapes + text) / 1000,
                "KB",
                TARGET_KITTY / 1000,
                note=f"inside tmux: escapes {escapes} B + cells {text} B; a repaint sends "
                f"the cells again and {again} B of escapes",
            )
        )
        if quick:
            continue
        out.append(Figure(f"bytes.sixel.{name}", sixel(picture) / 1000, "KB", None))
        out.append(Figure(f"bytes.halfcell.{name}", halfcell(picture) / 1000, "KB", None))
    return out


if __name__ == "__main__":
    import os

    os.environ.setdefault("COLORTERM", "truecolor")
    failed = False
    for figure in figures("--quick" in sys.argv):
        print(figure.json(), flush=True)
        failed = failed or figure.ok is False
    sys.exit(1 if failed else 0)
