"""Pictures decoded for the cells they will take on the route the app draws with: the
viewer's, the detail pane's thumbnail, the contact sheet's tiles, so each shows real pixels
where the terminal can.

What differs between routes is only how many pixels a cell holds: two for half-cells, the
terminal's own cell size for kitty and Sixel. Decoding more than that is wasted; fewer blurs.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image as PILImage

from krea_tui.tui.images import SCALED, cell_size, fit_cells, image_size


def load_fitted(
    path: Path, cols: int, rows: int, protocol: str
) -> tuple[PILImage.Image, tuple[int, int]]:
    """`path` decoded for a box of at most cols×rows cells drawn with `protocol`: the image,
    scaled to the pixels those cells show, and the (cols, rows) it takes with its own aspect.
    UnreadablePicture or OSError as SCALED.load raises them (runs in a worker thread)."""
    width, height = image_size(path)  # the header only: the box comes before any decoding
    cells = fit_cells(width, height, cols, rows)
    if protocol == "halfcell":
        box = (cells[0], cells[1] * 2)
    else:
        cell = cell_size()  # the terminal's own, as it answered at start
        box = (cells[0] * cell.width, cells[1] * cell.height)
    return SCALED.load(path, *box), cells
