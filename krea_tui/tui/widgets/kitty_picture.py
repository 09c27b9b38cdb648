"""KittyPicture: a picture drawn with kitty graphics direct placements.

For terminals that speak the kitty graphics protocol but draw no Unicode placeholders: kitty
before 0.28 (Debian 12 ships 0.26), WezTerm, Konsole. The PNG is encoded off the event loop,
sized to the cells the widget occupies, and sent once; every redraw after that only places it
again (about 40 bytes). The escapes travel inside the widget's own lines as zero-width control
segments, so they reach the terminal in order with Textual's output, at the widget's place.

A placement floats above the cells, so it is taken away whenever the picture should not be
seen: a dialog over its screen, another picture, or the widget leaving the screen. Two of those
never reach render_lines: a picture scrolled wholly out of its container and a screen pushed
over its own are not drawn at all. For them the delete goes to the terminal directly, when the
screen's layout or the current screen changes. A picture partly scrolled away is placed
cropped to the cells it still has, so it never floats over the container's neighbours.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import random
import sys

from PIL import Image as PILImage
from rich.control import Control
from rich.segment import ControlType, Segment
from textual.errors import NoWidget
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.worker import get_current_worker

from krea_tui.core.kitty_graphics import (
    BUDGET,
    delete_image,
    delete_placements,
    encode_picture,
    graphics_command,
    place,
)
from krea_tui.core.kitty_graphics import transmit as transmit_png
from krea_tui.core.termcaps import DEFAULT_CELL, CellSize
from krea_tui.tui.worker_errors import ReportsWorkerFailures

# Ids from a random start: another program in the same kitty window (an earlier run, a second
# krea-tui) is unlikely to hold the same ones. Kept below 2³¹ for terminals that parse signed.
_IDS = itertools.count(random.randint(1, 2**30))
_ZERO_WIDTH = ((ControlType.CURSOR_FORWARD, 0),)


def control_segment(text: str) -> Segment:
    """`text` written to the terminal where the line starts, taking no cells."""
    return Segment(text, None, _ZERO_WIDTH)  # type: ignore[arg-type]


def write_directly(text: str) -> None:
    """`text` to the terminal now, outside Textual's frames: for a picture no frame will carry
    again. One write call, which a tty does not interleave with another write call; a frame
    Textual's writer thread sends in two calls could still be split by it (rare: a frame
    over 8 KB being written at that very moment)."""
    if sys.__stdout__ is not None:
        with contextlib.suppress(OSError, ValueError):
            os.write(sys.__stdout__.fileno(), text.encode())


def place_cropped(image_id: int, size: tuple[int, int], sent: tuple[int, int], crop: Region) -> str:
    """Place the part of a picture of size (cols, rows) cells, sent as `sent` pixels, that
    `crop` (in the widget's cells) shows: kitty scales that source rectangle to the crop."""
    cols, rows = size
    x, y = crop.x * sent[0] // cols, crop.y * sent[1] // rows
    w = max(1, crop.right * sent[0] // cols - x)
    h = max(1, crop.bottom * sent[1] // rows - y)
    return graphics_command(
        f"a=p,i={image_id},p=1,x={x},y={y},w={w},h={h},c={crop.width},r={crop.height},C=1,q=2"
    )


class KittyPicture(ReportsWorkerFailures, Widget):
    DEFAULT_CSS = "KittyPicture { width: 24; height: 12; }"

    def __init__(self, *, id: str | None = None, cell: CellSize | None = None) -> None:
        super().__init__(id=id)
        self._cell = cell or DEFAULT_CELL
        self._image: PILImage.Image | None = None
        self._png: bytes | None = None
        self._encoded_for: tuple[int, int] = (0, 0)
        self._encoding_for: tuple[int, int] = (0, 0)
        self._image_id = 0
        self._sent = False
        self._placed: tuple[int, int, int, int] | None = None
        self._to_delete: list[int] = []
        self.bytes_written = 0  # for the benchmark: escapes handed to the terminal
        self.sent_size = (0, 0)  # the pixels of the PNG last sent

    @property
    def image(self) -> PILImage.Image | None:
        return self._image

    @image.setter
    def image(self, value: PILImage.Image | None) -> None:
        if value is self._image:
            return  # the same decoded picture again: it is in the terminal already
        self._image = value
        self._forget()
        self.refresh()

    @property
    def placed(self) -> tuple[int, int, int, int] | None:
        """Where the picture is on the screen now (x, y, cols, rows), None when it is not."""
        return self._placed

    def on_mount(self) -> None:
        self.screen.screen_layout_refresh_signal.subscribe(self, self._leave_if_unseen)
        self.app.screen_change_signal.subscribe(self, self._after_screen_change)

    def _after_screen_change(self, _screen: object) -> None:
        # Judged once the new screen is drawn: a dialog's see-through background draws this
        # screen too (render_lines then takes the picture away itself), a full screen does not.
        self.call_after_refresh(self._leave_if_unseen, None)

    def _leave_if_unseen(self, _screen: object) -> None:
        """Take the placement away if no frame will: scrolled out, hidden, or its screen no
        longer the one drawn on top."""
        if self._placed is None or not self._image_id or self._seen():
            return
        self._placed = None
        text = delete_placements(self._image_id)
        self.bytes_written += len(text.encode())
        if not self.app.is_headless:
            write_directly(text)

    def _seen(self) -> bool:
        """Whether frames draw any of this widget's cells now."""
        if not self.is_attached or not self.screen.is_active or not self.display:
            return False
        try:
            geometry = self.screen.find_widget(self)
        except NoWidget:  # not in the layout: hidden, or inside something hidden
            return False
        return bool(geometry.region.intersection(geometry.clip))

    def _forget(self) -> None:
        if self._image_id and self._sent:
            self._to_delete.append(self._image_id)
        self._image_id = 0
        self._sent = False
        self._placed = None
        self._png = None
        self._encoded_for = self._encoding_for = (0, 0)

    def budget(self, cols: int, rows: int) -> int:
        """Bytes the picture may take on the wire for a cols×rows box."""
        return BUDGET

    def _encode(self, image: PILImage.Image, cols: int, rows: int) -> None:
        png = encode_picture(image, cols, rows, self._cell, self.budget(cols, rows))
        with PILImage.open(io.BytesIO(png)) as sent:
            pixels = sent.size
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._encoded, image, (cols, rows), png, pixels)

    def _encoded(
        self, image: PILImage.Image, size: tuple[int, int], png: bytes, pixels: tuple[int, int]
    ) -> None:
        if image is not self._image or size != tuple(self.size):
            return  # the picture or the box changed meanwhile; a newer encoding is coming
        if self._sent:
            self._to_delete.append(self._image_id)
        self._png, self._encoded_for, self.sent_size = png, size, pixels
        self._image_id, self._sent, self._placed = next(_IDS), False, None
        self.refresh()

    def encode_for(self, width: int, height: int) -> None:
        """Encode the picture for a width×height box off the event loop, once per size."""
        if self._image is None or self._encoding_for == (width, height):
            return
        self._encoding_for = (width, height)
        image = self._image
        self.run_worker(
            lambda: self._encode(image, width, height),
            thread=True,
            exclusive=True,
            group="kitty-encode",
            exit_on_error=False,
        )

    def render_lines(self, crop: Region) -> list[Strip]:
        width, height = self.size
        blank = Strip.blank(crop.width, self.rich_style)
        lines = [blank] * crop.height
        if not lines:
            return lines
        controls = [delete_image(i) for i in self._to_delete]
        self._to_delete.clear()
        visible = self.screen.is_active and self.display and width > 0 and height > 0
        if self._image is not None and visible and self._encoded_for != (width, height):
            if self._placed is not None:
                # The old size would float over whatever moved into its cells meanwhile.
                controls.append(delete_placements(self._image_id))
                self._placed = None
            self.encode_for(width, height)
        elif self._png is not None and visible:
            region = self.region
            x, y = region.x + crop.x, region.y + crop.y
            if not self._sent:
                controls.append(transmit_png(self._image_id, self._png))
                self._sent = True
            # Placed again on every redraw of the widget: the terminal may have cleared it
            # with the screen, and the same placement id moves rather than adds.
            controls.append(Control.move_to(x, y).segment.text)
            if crop == Region(0, 0, width, height):
                controls.append(place(self._image_id, width, height))
            else:  # partly scrolled away: only the part its container still shows
                controls.append(
                    place_cropped(self._image_id, (width, height), self.sent_size, crop)
                )
            controls.append(Control.move_to(x, y).segment.text)
            self._placed = (x, y, crop.width, crop.height)
        elif self._placed is not None and self._image_id:
            controls.append(delete_placements(self._image_id))
            self._placed = None
        if controls:
            text = "".join(controls)
            self.bytes_written += len(text.encode())
            lines[0] = Strip([control_segment(text), *blank], crop.width)
        return lines

    def on_unmount(self) -> None:
        # No more frames will carry it, so the delete goes straight to the terminal.
        ids = [*self._to_delete, *([self._image_id] if self._sent else [])]
        if ids and not self.app.is_headless:
            write_directly("".join(map(delete_image, ids)))
