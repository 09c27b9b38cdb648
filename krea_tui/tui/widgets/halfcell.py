"""HalfcellPicture: an image drawn with "▀" cells (upper pixel as foreground, lower as
background), which every colour terminal shows, inside tmux and over SSH.

textual-image has a half-cell renderer too, but the release that installs on Python 3.11 drew
rows past the widget's edge in our snapshots; this one emits exactly width × height cells from
an image the caller has already scaled off the event loop.
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image as PILImage
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual.strip import Strip
from textual.widget import Widget

UPPER_HALF = "▀"


def halfcell_row(
    upper: bytes, lower: bytes, style: Callable[[bytes], Style], out: list[Segment]
) -> None:
    """Append one line of "▀" cells to `out`: `upper` and `lower` are RGB rows of equal
    length; neighbouring cells of one (upper, lower) colour pair are joined into a segment,
    styled by `style(pair)` (the caller's cache of Styles)."""
    run_pair = b""
    run = 0
    for i in range(0, len(upper), 3):
        pair = upper[i : i + 3] + lower[i : i + 3]
        if pair == run_pair:
            run += 1
            continue
        if run:
            out.append(Segment(UPPER_HALF * run, style(run_pair)))
        run_pair, run = pair, 1
    if run:
        out.append(Segment(UPPER_HALF * run, style(run_pair)))


def halfcell_strips(image: PILImage.Image, cols: int, rows: int) -> list[Strip]:
    """Strips for `image` resized to cols × 2·rows pixels.

    This runs on the event loop (from `render_line`), so it works on raw bytes: one Style per
    distinct (upper, lower) colour pair, neighbouring equal cells joined as they are read
    rather than by comparing Style objects afterwards (measured on an 80×40 picture: ~12 ms
    with a Style and a Segment.simplify per cell, ~3 ms this way).
    """
    fitted = image.convert("RGB").resize((cols, rows * 2), PILImage.Resampling.BILINEAR)
    data = fitted.tobytes()
    stride = cols * 3
    colours: dict[bytes, RichColor] = {}
    styles: dict[bytes, Style] = {}

    def colour(rgb: bytes) -> RichColor:
        found = colours.get(rgb)
        if found is None:
            found = colours[rgb] = RichColor.from_rgb(rgb[0], rgb[1], rgb[2])
        return found

    def style(pair: bytes) -> Style:
        found = styles.get(pair)
        if found is None:
            found = styles[pair] = Style.from_color(colour(pair[:3]), colour(pair[3:]))
        return found

    strips: list[Strip] = []
    for row in range(rows):
        upper = data[2 * row * stride : (2 * row + 1) * stride]
        lower = data[(2 * row + 1) * stride : (2 * row + 2) * stride]
        segments: list[Segment] = []
        halfcell_row(upper, lower, style, segments)
        strips.append(Strip(segments, cols))
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
        if value is self._image:
            return  # the same decoded picture again (a reload after a resize): strips still fit
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
