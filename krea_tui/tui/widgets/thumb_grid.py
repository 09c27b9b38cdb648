"""ThumbGrid: a virtual grid of thumbnails over a GalleryModel, for thousands of results.

Nothing is mounted per tile: the grid is one ScrollView (Textual's Line API) whose virtual
height is every row of tiles, and `render_line` draws only the lines on screen from three
caches, each bounded:

- the items (job id, file, prompt) read from the model a window at a time around the view;
- the thumbnails, as the half-cell pixels of each tile (bytes: one object a tile, ~1 KB),
  made in a worker thread from what the ThumbCache made once or reads back from the disk;
- the colours those pixels use (quantised, so a bounded table).

Each line is drawn from these as it is asked for: a frame of 160×48 is ~3,500 segments, made
and dropped, never kept (see Tile).

A key moves the cursor and draws one frame at once with whatever is ready; thumbnails not
ready yet are asked for (those on screen first, then the next screen in the direction of
travel) and fill in as the worker brings them.

Actions on the current tile (open, rate, pick) go through `current_item`, `show_judged` and
`move_to`, so a screen can bind more keys without knowing the layout. The caption under a
tile starts with its rating and pick (core/ratings.label).
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

from PIL import Image as PILImage
from rich.color import Color as RichColor
from rich.segment import Segment
from rich.style import Style
from textual import work
from textual.binding import Binding, BindingType
from textual.filter import ANSIToTruecolor, LineFilter
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.timer import Timer
from textual.worker import get_current_worker

from krea_tui.core import ratings
from krea_tui.core.gallery_model import GalleryItem, GalleryModel
from krea_tui.core.thumbs import ThumbCache
from krea_tui.tui.images import UnreadablePicture
from krea_tui.tui.widgets.halfcell import halfcell_row
from krea_tui.tui.worker_errors import ReportsWorkerFailures

WINDOW = 256  # items read from the model at once
ITEMS_KEPT = 4 * WINDOW
TILES_KEPT = 2_000  # thumbnails kept in memory, ~1 KB each (~70 screens at 160×48)
GUTTER = 1  # columns each side of a picture: where the cursor's bars go
QUIET_SECONDS = 0.05  # thumbnails are made once the keys pause this long
CAPTION_ROWS = 2  # a caption line, then a blank line to the next row of tiles


# Colours of a thumbnail keep 5 bits a channel (invisible at this size), so that the colours
# a frame needs come from a table that stops growing (32,768 at most).
QUANTISE = 0xF8
_COLOURS: dict[bytes, RichColor] = {}
# The Style of each (upper, lower) colour pair drawn lately, in two generations (a page at
# 160×48 uses ~2,300 pairs). The same Style object from frame to frame keeps its hash and
# the ANSI codes a terminal gets (Textual caches them on it), where a new Style per cell
# made every frame cost ~30 % more of it. At most 2 × PAIRS_KEPT are kept: thousands of
# thumbnails' styles were hundreds of thousands of objects for the garbage collector.
PAIRS_KEPT = 8_192
_pairs: dict[bytes, Style] = {}
_pairs_before: dict[bytes, Style] = {}


def _colour(rgb: bytes) -> RichColor:
    found = _COLOURS.get(rgb)
    if found is None:
        found = _COLOURS[rgb] = RichColor.from_rgb(rgb[0], rgb[1], rgb[2])
    return found


def _truecolor(style: Style) -> bool:
    """Whether `style` has no colour a terminal's palette decides (and no dimming)."""
    return (
        not style.dim
        and (style.color is None or style.color.triplet is not None)
        and (style.bgcolor is None or style.bgcolor.triplet is not None)
    )


def _pair_style(pair: bytes) -> Style:
    global _pairs, _pairs_before
    found = _pairs.get(pair)
    if found is None:
        found = _pairs_before.get(pair)
        if found is None:
            found = Style.from_color(_colour(pair[:3]), _colour(pair[3:]))
        if len(_pairs) >= PAIRS_KEPT:
            _pairs_before, _pairs = _pairs, {}
        _pairs[pair] = found
    return found


class Tile:
    """A thumbnail ready to draw: its half-cell pixels as bytes (two rows of pixels a line
    of cells), placed in the middle of its tile. Bytes, not strips: one object a tile, so a
    few thousand kept in memory cost the garbage collector nothing (strips made once per
    thumbnail were ~700 objects each, and full collections over them took 100-350 ms)."""

    __slots__ = ("data", "height", "left", "note", "top", "width")

    def __init__(
        self, data: bytes, width: int, height: int, left: int, top: int, note: str = ""
    ) -> None:
        self.data, self.width, self.height = data, width, height
        self.left, self.top, self.note = left, top, note

    @classmethod
    def of(cls, image: PILImage.Image, cols: int, rows: int) -> Tile:
        """`image` (already fitted into cols × 2·rows pixels, aspect kept) for a tile of
        cols × rows cells. Pillow only: made in the worker thread."""
        width = max(1, min(cols, image.width))
        height = max(1, min(rows, math.ceil(image.height / 2)))
        fitted = image.convert("RGB").resize((width, 2 * height), PILImage.Resampling.BILINEAR)
        data = fitted.point(lambda v: v & QUANTISE).tobytes()
        return cls(data, width, height, (cols - width) // 2, (rows - height) // 2)

    @classmethod
    def saying(cls, note: str) -> Tile:
        """A tile with a word instead of a picture (missing, unreadable)."""
        return cls(b"", 0, 0, 0, 0, note)

    def line(self, row: int, cols: int, rows: int, base: Style, out: list[Segment]) -> None:
        """Append the segments of line `row` (cols cells) to `out`: the same "▀" cells as
        halfcell.py (upper pixel as foreground, lower as background), neighbours of one
        colour pair joined."""
        if self.note:
            text = self.note[:cols].center(cols) if row == rows // 2 else " " * cols
            out.append(Segment(text, base))
            return
        r = row - self.top
        if not 0 <= r < self.height:
            out.append(Segment(" " * cols, base))
            return
        if self.left:
            out.append(Segment(" " * self.left, base))
        stride = self.width * 3
        upper = self.data[2 * r * stride : (2 * r + 1) * stride]
        lower = self.data[(2 * r + 1) * stride : (2 * r + 2) * stride]
        halfcell_row(upper, lower, _pair_style, out)
        right = cols - self.left - self.width
        if right:
            out.append(Segment(" " * right, base))


class ThumbGrid(ReportsWorkerFailures, ScrollView, can_focus=True):
    """The grid (see the module's note). `picture` is a tile's picture in cells (cols, rows):
    fixed for the grid's life, so every thumbnail is made for one size."""

    DEFAULT_CSS = """
    ThumbGrid { height: 1fr; overflow-x: hidden; }
    ThumbGrid > .thumb-grid--cursor { color: $accent; text-style: bold; }
    ThumbGrid > .thumb-grid--caption { color: $text-muted; }
    ThumbGrid > .thumb-grid--waiting { color: $panel-lighten-2; }
    ThumbGrid > .thumb-grid--judged { color: $warning; text-style: bold; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "thumb-grid--cursor",
        "thumb-grid--caption",
        "thumb-grid--waiting",
        "thumb-grid--judged",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left,h", "move(0, -1)", "Left", show=False),
        Binding("right,l", "move(0, 1)", "Right", show=False),
        Binding("up,k", "move(-1, 0)", "Up", show=False),
        Binding("down,j", "move(1, 0)", "Down", show=False),
        Binding("pageup,ctrl+u", "page(-1)", "Page up", show=False),
        Binding("pagedown,ctrl+d", "page(1)", "Page down", show=False),
        Binding("home,g", "jump(0)", "First", show=False),
        Binding("end,G", "jump(-1)", "Last", show=False),
        Binding("enter", "open", "Open", id="gallery-open"),
    ]

    class Moved(Message):
        """The cursor is on another tile (or the same, after a relayout)."""

        def __init__(self, item: GalleryItem | None, index: int, count: int) -> None:
            super().__init__()
            self.item, self.index, self.count = item, index, count

    class Opened(Message):
        def __init__(self, item: GalleryItem) -> None:
            super().__init__()
            self.item = item

    def __init__(
        self,
        model: GalleryModel,
        thumbs: ThumbCache,
        *,
        picture: tuple[int, int] = (20, 10),
        id: str | None = None,
    ) -> None:
        super().__init__(id=id)
        self.model = model
        self.thumbs = thumbs
        self.picture = picture
        self.cursor = 0
        self._items: OrderedDict[int, GalleryItem] = OrderedDict()
        self._tiles: OrderedDict[Path, Tile] = OrderedDict()
        self._pending: set[Path] = set()
        self._direction = 1
        self._columns = 1
        # Set when no key has moved the grid for QUIET_SECONDS: the worker makes thumbnails
        # only then, so that while keys come it never holds the interpreter from them.
        self._quiet = threading.Event()
        self._quiet.set()
        self._quiet_timer: Timer | None = None
        self._styles: dict[str, Style] = {}
        self._truecolor: bool | None = None  # whether every style of the grid's is truecolor

    # -- layout --------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        return len(self.model)

    @property
    def columns(self) -> int:
        return self._columns

    @property
    def tile_size(self) -> tuple[int, int]:
        cols, rows = self.picture
        return cols + 2 * GUTTER, rows + CAPTION_ROWS

    def _lay_out(self) -> None:
        tile_w, tile_h = self.tile_size
        self._columns = max(1, self.scrollable_content_region.width // tile_w)
        rows = math.ceil(self.count / self._columns)
        self.virtual_size = Size(self.scrollable_content_region.width, rows * tile_h)

    def on_mount(self) -> None:
        self._lay_out()
        self.call_after_refresh(self._after_layout)

    def on_resize(self) -> None:
        self._lay_out()
        self._after_layout()

    def _after_layout(self) -> None:
        self._lay_out()
        self._scroll_to_cursor()
        self.refresh()
        self._want_visible()
        self._moved()

    def visible_rows(self) -> int:
        return max(1, self.scrollable_content_region.height // self.tile_size[1])

    def visible_range(self) -> range:
        """The indexes of the tiles on screen, wholly or in part."""
        tile_h = self.tile_size[1]
        top = int(self.scroll_offset.y) // tile_h
        bottom = (int(self.scroll_offset.y) + self.scrollable_content_region.height - 1) // tile_h
        return range(top * self._columns, min(self.count, (bottom + 1) * self._columns))

    def visible_count(self) -> int:
        return len(self.visible_range())

    def is_visible(self, index: int) -> bool:
        return index in self.visible_range()

    def thumbs_shown(self) -> int:
        """Tiles on screen whose picture (or its note) is ready."""
        shown = 0
        for index in self.visible_range():
            item = self.item(index)
            if item is not None and item.path in self._tiles:
                shown += 1
        return shown

    # -- items ---------------------------------------------------------------------------------

    def item(self, index: int) -> GalleryItem | None:
        """The result at `index`, read with its window when not at hand."""
        if not 0 <= index < self.count:
            return None
        found = self._items.get(index)
        if found is None:
            # Mostly ahead of the way the cursor goes: scrolling reads a window every few pages.
            behind = WINDOW // 4 if self._direction >= 0 else 3 * WINDOW // 4
            for item in self.model.window(max(0, index - behind), WINDOW):
                self._items[item.index] = item
                self._items.move_to_end(item.index)
            while len(self._items) > ITEMS_KEPT:
                self._items.popitem(last=False)
            found = self._items.get(index)
        return found

    @property
    def current_item(self) -> GalleryItem | None:
        return self.item(self.cursor)

    def show_judged(self, jobs: Mapping[str, ratings.Judged]) -> None:
        """Jobs rated or picked (by local id), here or elsewhere: those at hand take their new
        rating and pick, and their captions are drawn again."""
        changed = [
            (index, replace(item, rating=job.rating, pick=job.pick))
            for index, item in self._items.items()
            if (job := jobs.get(item.local_id)) is not None
            and (job.rating, job.pick) != (item.rating, item.pick)
        ]
        for index, item in changed:
            self._items[index] = item
            if self.is_visible(index):
                self.refresh_item(index)

    def refresh_item(self, index: int) -> None:
        """Draw one tile again (after its job changed: a rating, say)."""
        tile_h = self.tile_size[1]
        row = index // self._columns
        self.refresh_lines(row * tile_h, tile_h)

    # -- drawing -------------------------------------------------------------------------------

    def _style(self, name: str = "") -> Style:
        """The widget's style, or one of its components' over it; kept until the styles
        change (asking the DOM for a style costs more than drawing a line)."""
        found = self._styles.get(name)
        if found is None:
            found = self.rich_style
            if name:
                found = found + self.get_component_rich_style(name)
            self._styles[name] = found
        return found

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._truecolor = None

    def get_line_filters(self) -> Sequence[LineFilter]:
        """The app's filters but the one turning ANSI colours into truecolor, when the grid
        draws none: it made a new segment of each of a frame's ~3,400 (a quarter of the
        frame's time), and missed its cache of 1,024 styles on a page's ~2,300 colour pairs.
        Thumbnails are truecolor; so are the grid's own styles unless a theme gives it ANSI
        colours, and then the filter stays. The others (no colour, dimmed) always stay."""
        filters = super().get_line_filters()
        if self._truecolor is None:
            self._truecolor = all(
                _truecolor(self._style(name)) for name in ("", *self.COMPONENT_CLASSES)
            )
        if not self._truecolor:
            return filters
        return [f for f in filters if not isinstance(f, ANSIToTruecolor)]

    def render_line(self, y: int) -> Strip:
        """One line of the screen: one line of each tile of a row, as one list of segments
        (no strip per tile to join, crop and style again)."""
        width = self.scrollable_content_region.width
        tile_w, tile_h = self.tile_size
        line = int(self.scroll_offset.y) + y
        row, inner = divmod(line, tile_h)
        first = row * self._columns
        base = self._style()
        if first >= self.count:
            return Strip.blank(width, base)
        pic_cols, pic_rows = self.picture
        left = (width - self._columns * tile_w) // 2
        segments: list[Segment] = [Segment(" " * left, base)] if left > 0 else []
        last = min(first + self._columns, self.count)
        for index in range(first, last):
            item = self.item(index)
            on_cursor = index == self.cursor
            if inner < pic_rows:
                bar = self._style("thumb-grid--cursor") if on_cursor else base
                segments.append(Segment("▐" if on_cursor else " ", bar))
                tile = None if item is None else self._tiles.get(item.path)
                if tile is None:
                    dots = "·" if inner == pic_rows // 2 else " "
                    segments.append(Segment(dots * pic_cols, self._style("thumb-grid--waiting")))
                else:
                    tile.line(inner, pic_cols, pic_rows, base, segments)
                segments.append(Segment("▌" if on_cursor else " ", bar))
            elif inner == pic_rows and item is not None:
                self._caption(item, tile_w, on_cursor, segments)
            else:
                segments.append(Segment(" " * tile_w, base))
        used = max(0, left) + (last - first) * tile_w
        if used < width:
            segments.append(Segment(" " * (width - used), base))
        return Strip(segments, max(width, used)).crop(0, width)

    def _caption(self, item: GalleryItem, width: int, on_cursor: bool, out: list[Segment]) -> None:
        """` ✔★★★ 12 a prompt…`: the judgement first, so it is never the part cut off."""
        judged = ratings.label(item)
        lead = len(judged) + 1 if judged else 0  # " ✔★★★"
        text = f"{item.index + 1} {item.prompt}"
        if len(text) > width - 2 - lead:
            text = text[: max(0, width - 3 - lead)] + "…"
        style = self._style("thumb-grid--caption")
        if on_cursor:
            style = self._style("thumb-grid--cursor") + Style(reverse=True)
        if judged:
            out.append(Segment(" ", style))
            out.append(Segment(judged, style + self._style("thumb-grid--judged")))
        out.append(Segment(f" {text}".ljust(width - lead), style))

    # -- thumbnails ----------------------------------------------------------------------------

    def _want_visible(self) -> None:
        """Ask for the thumbnails on screen, then the next screen's, that are not at hand."""
        shown = self.visible_range()
        ahead = len(shown) or self._columns
        if self._direction >= 0:
            after = range(shown.stop, min(self.count, shown.stop + ahead))
        else:
            after = range(max(0, shown.start - ahead), shown.start)
        wanted: list[GalleryItem] = []
        for index in [*shown, *(reversed(after) if self._direction < 0 else after)]:
            item = self.item(index)
            if item is None:
                continue
            if item.path in self._tiles:
                self._tiles.move_to_end(item.path)  # in use: the last to be let go
            else:
                wanted.append(item)
        fresh = [item for item in wanted if item.path not in self._pending]
        if not fresh:
            return
        # The worker before this one may still be on tiles no longer wanted: it stops, and
        # this one takes every tile wanted now, the ones it was given included.
        self._pending = {item.path for item in wanted}
        self._load(wanted)

    @work(thread=True, exclusive=True, group="thumbs", exit_on_error=False)
    def _load(self, items: Iterable[GalleryItem]) -> None:
        worker = get_current_worker()
        cols, rows = self.picture
        for item in items:
            while not self._quiet.wait(0.5):
                if worker.is_cancelled:
                    return
            if worker.is_cancelled:
                return
            try:
                image = self.thumbs.load(item.path, cols, rows)
                time.sleep(0)  # the interpreter's lock to the event loop, if it waits for it
                tile = Tile.of(image, cols, rows)
            except FileNotFoundError:
                tile = Tile.saying("missing")
            except (OSError, UnreadablePicture):
                tile = Tile.saying("unreadable")
            if worker.is_cancelled:
                return
            try:
                self.app.call_from_thread(self._ready, item.index, item.path, tile)
            except RuntimeError:  # the app is closing
                return

    def _ready(self, index: int, path: Path, tile: Tile) -> None:
        self._pending.discard(path)
        self._tiles[path] = tile
        self._tiles.move_to_end(path)
        # Never fewer than four screens: the ones on screen were touched when they came
        # into view (_want_visible), and what came since is at most one screen ahead.
        kept = max(TILES_KEPT, 4 * self.visible_count())
        while len(self._tiles) > kept:
            self._tiles.popitem(last=False)
        if self.is_visible(index):
            self.refresh(self._tile_region(index))  # that tile only, not the screen

    def _tile_region(self, index: int) -> Region:
        """Where tile `index`'s picture is, in the widget's own coordinates."""
        tile_w, tile_h = self.tile_size
        row, column = divmod(index, self._columns)
        left = (self.scrollable_content_region.width - self._columns * tile_w) // 2
        y = row * tile_h - int(self.scroll_offset.y)
        return Region(left + column * tile_w, y, tile_w, self.picture[1])

    # -- moving --------------------------------------------------------------------------------

    def move_to(self, index: int) -> None:
        if not self.count:
            return
        index = max(0, min(self.count - 1, index))
        self._direction = 1 if index >= self.cursor else -1
        old, self.cursor = self.cursor, index
        self._hold_loading()
        if not self._scroll_to_cursor():
            self.refresh_item(old)
            self.refresh_item(index)
        self._want_visible()
        self._moved()

    def _hold_loading(self) -> None:
        """Keys are coming: thumbnails wait until they stop for a moment."""
        self._quiet.clear()
        if self._quiet_timer is not None:
            self._quiet_timer.stop()
        self._quiet_timer = self.set_timer(QUIET_SECONDS, self._quiet.set)

    def on_unmount(self) -> None:
        self._quiet.set()  # a worker waiting for quiet ends (it is cancelled meanwhile)

    def _scroll_to_cursor(self) -> bool:
        """Scroll so the cursor's tile is wholly on screen; whether it scrolled."""
        tile_h = self.tile_size[1]
        top = (self.cursor // self._columns) * tile_h
        bottom = top + tile_h
        height = self.scrollable_content_region.height
        y = int(self.scroll_offset.y)
        if top < y:
            target = top
        elif bottom > y + height:
            target = max(0, bottom - height)
        else:
            return False
        self.scroll_to(y=target, animate=False, immediate=True)
        return True

    def _moved(self) -> None:
        self.post_message(self.Moved(self.current_item, self.cursor, self.count))

    def action_move(self, rows: int, cols: int) -> None:
        if cols:
            self.move_to(self.cursor + cols)
        elif 0 <= self.cursor + rows * self._columns < self.count:
            self.move_to(self.cursor + rows * self._columns)
        elif rows > 0 and self.cursor // self._columns < (self.count - 1) // self._columns:
            self.move_to(self.count - 1)  # the last row is short: its last tile

    def action_page(self, pages: int) -> None:
        self.move_to(self.cursor + pages * self.visible_rows() * self._columns)

    def action_jump(self, index: int) -> None:
        self.move_to(index if index >= 0 else self.count - 1)

    def action_open(self) -> None:
        item = self.current_item
        if item is not None:
            self.post_message(self.Opened(item))

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        if round(old_value) != round(new_value) and self.is_mounted:
            self._direction = 1 if new_value >= old_value else -1
            self._want_visible()
