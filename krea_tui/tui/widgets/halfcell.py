"""HalfcellPicture: an image drawn with "▀" cells (upper pixel as foreground, lower as
background), which every colour terminal shows, inside tmux and over SSH.

textual-image has a half-cell renderer too, but the release that installs on Python 3.11 drew
rows past the widget's edge in our snapshots; this one emits exactly width × height cells from
an image the caller has already scaled off the event loop.
"""

from __future__ import annotations

from PIL import Image as PILImage
from rich.segment import Segment
from rich.style import Style
from textual.color import Color
from textual.strip import Strip
from textual.widget import Widget

UPPER_HALF = "▀"


def halfcell_strips(image: PILImage.Image, cols: int, rows: int) -> list[Strip]:
    """Strips for `image` resized to cols × 2·rows pixels."""
    fitted = image.convert("RGB").resize((cols, rows * 2), PILImage.Resampling.BILINEAR)
    pixels = fitted.load()
    assert pixels is not None
    strips: list[Strip] = []
    for row in range(rows):
        segments = []
        for col in range(cols):
            top = pixels[col, row * 2]
            bottom = pixels[col, row * 2 + 1]
            style = Style.from_color(
                Color(*top).rich_color,  # type: ignore[misc]
                Color(*bottom).rich_color,  # type: ignore[misc]
            )
            segments.append(Segment(UPPER_HALF, style))
        strips.append(Strip(Segment.simplify(segments), cols))
    return strips


class HalfcellPicture(Widget):
    DEFAULT_CSS = "HalfcellPicture { width: 24; height: 12; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._image: PILImage.Image | None = None
        self._strips: list[Strip] = []
        self._built_for: tuple[int, int] = (0, 0)

    @property
    def image(self) -> PILImage.Image | None:
        return self._image

    @image.setter
    def image(self, value: PILImage.Image | None) -> None:
        self._image = value
        self._built_for = (0, 0)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size
        if self._image is None or width <= 0 or height <= 0:
            return Strip.blank(width)
        if self._built_for != (width, height):
            # Built once per image and size: a 44×22 picture is under a thousand cells.
            self._strips = halfcell_strips(self._image, width, height)
            self._built_for = (width, height)
        return self._strips[y] if y < len(self._strips) else Strip.blank(width)
