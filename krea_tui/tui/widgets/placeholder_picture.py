"""PlaceholderPicture: a picture drawn with kitty's Unicode placeholders, inside tmux too.

The PNG is encoded as for direct placements (sized to the widget's cells, within the byte
budget) and sent once with a virtual placement; the widget's lines are then placeholder cells
(krea_tui.core.kitty_placeholders), plain text to Textual. So dialogs and toasts cover the
picture like any text, and inside tmux the cells stay in the pane: tmux clips them, moves them
and draws them again when the pane comes back, while kitty keeps the picture's data.
"""

from __future__ import annotations

from collections import deque

from PIL import Image as PILImage
from rich.color import Color
from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip

from krea_tui.core.kitty_graphics import BUDGET, delete_image
from krea_tui.core.kitty_placeholders import (
    PlaceholderId,
    for_terminal,
    placeholder_cells,
    text_bytes,
    transmit_placeholder_picture,
)
from krea_tui.core.placeholder_marks import MARKS
from krea_tui.core.termcaps import CellSize
from krea_tui.tui.widgets.kitty_picture import KittyPicture, control_segment, write_directly


class PlaceholderPicture(KittyPicture):
    DEFAULT_CSS = "PlaceholderPicture { width: 24; height: 12; }"

    def __init__(
        self, *, id: str | None = None, cell: CellSize | None = None, tmux: bool = False
    ) -> None:
        super().__init__(id=id, cell=cell)
        self._tmux = tmux
        self._placeholder: PlaceholderId | None = None
        self._cells: list[list[str]] = []
        self._recent: deque[str] = deque(maxlen=8)  # the last escapes written, for tests

    @property
    def image_id(self) -> int:
        """The id the terminal knows the picture by (0 before the first encoding)."""
        return self._image_id

    @property
    def sent_stream(self) -> str:
        """The escapes of the widget's last few writes, as written (wrapped inside tmux)."""
        return "".join(self._recent)

    def budget(self, cols: int, rows: int) -> int:
        # The cells are text sent with the picture: the PNG gets what they leave.
        return max(BUDGET // 4, BUDGET - text_bytes(cols, rows))

    def _encoded(
        self, image: PILImage.Image, size: tuple[int, int], png: bytes, pixels: tuple[int, int]
    ) -> None:
        super()._encoded(image, size, png, pixels)
        if self._png is png:  # taken: this encoding is the one to show
            self._placeholder = PlaceholderId.new()
            self._image_id = self._placeholder.image_id
            self._cells = placeholder_cells(self._placeholder, *size)

    def render_lines(self, crop: Region) -> list[Strip]:
        width, height = self.size
        blank = Strip.blank(crop.width, self.rich_style)
        lines = [blank] * crop.height
        if not lines:
            return lines
        controls = [for_terminal(delete_image(i), tmux=self._tmux) for i in self._to_delete]
        self._to_delete.clear()
        fits = 0 < width <= len(MARKS) and 0 < height <= len(MARKS)
        shown = self._png is not None and self._encoded_for == (width, height)
        if self._image is not None and fits and not shown:
            self.encode_for(width, height)
        elif shown and self._placeholder is not None and self.screen.is_active:
            if not self._sent:
                controls.append(
                    transmit_placeholder_picture(
                        self._placeholder, self._png or b"", width, height, tmux=self._tmux
                    )
                )
                self._sent = True
            style = self.rich_style + Style(color=Color.from_ansi(self._placeholder.colour))
            for n, y in enumerate(range(crop.y, min(crop.bottom, height))):
                cells = [Segment(text, style) for text in self._cells[y]]
                lines[n] = Strip(cells, width).crop(crop.x, crop.right)
        if controls:
            text = "".join(controls)
            self.bytes_written += len(text.encode())
            self._recent.append(text)
            lines[0] = Strip([control_segment(text), *lines[0]], crop.width)
        return lines

    def on_unmount(self) -> None:
        # As KittyPicture, but through tmux's passthrough where the picture went that way.
        ids = [*self._to_delete, *([self._image_id] if self._sent else [])]
        self._to_delete.clear()
        self._sent = False
        if ids and not self.app.is_headless:
            write_directly("".join(for_terminal(delete_image(i), tmux=self._tmux) for i in ids))
