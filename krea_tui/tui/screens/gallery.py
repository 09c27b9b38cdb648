"""GalleryScreen (ctrl+g): every result the main table's filter matches, newest first, as a grid
of thumbnails that scrolls through thousands of them.

The list is read from the history by SQL a window at a time (core/gallery_model.py); the grid
draws only the tiles on screen (widgets/thumb_grid.py); thumbnails are made once per picture,
file version and tile size and kept on disk (core/thumbs.py), each decoded in a worker thread
through the same guarded path as the viewer's pictures (tui/images.py: a decompression bomb
is refused from its header).

Enter opens the viewer on the tile's picture; the viewer then steps through the gallery's
order. Keys that act on the current tile (ratings, picks) belong on this screen: they take
`self.grid.current_item` and redraw it with `self.grid.refresh_item`.
"""

from __future__ import annotations

import gc
import threading
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Static

from krea_tui.core.gallery_model import GalleryModel
from krea_tui.core.query import Query
from krea_tui.core.thumbs import ThumbCache
from krea_tui.tui.images import ScaledImages
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.widgets.thumb_grid import ThumbGrid

# A tile's picture in cells (columns, rows of half-cells: square pixels): smaller on short
# terminals, so that 80×24 still shows two rows of tiles.
LARGE_PICTURE = (20, 10)
SMALL_PICTURE = (16, 7)
SMALL_BELOW_ROWS = 36

# Full pictures are decoded one at a time for thumbnails and not kept (the thumbnail is): the
# viewer's own LRU (images.SCALED) keeps what the viewer shows.
_DECODER = ScaledImages(capacity=1)
_caches: dict[Path, ThumbCache] = {}
_caches_lock = threading.Lock()


def thumb_cache(data_dir: Path) -> ThumbCache:
    """The thumbnail cache of a data folder (one per process: its counts add up)."""
    with _caches_lock:
        cache = _caches.get(data_dir)
        if cache is None:
            cache = _caches[data_dir] = ThumbCache(data_dir / "thumbs", _DECODER.load)
        return cache


def picture_for(height: int) -> tuple[int, int]:
    return SMALL_PICTURE if height < SMALL_BELOW_ROWS else LARGE_PICTURE


class GalleryScreen(KreaAccess, Screen[None]):
    BINDING_GROUP_TITLE = "Gallery"
    AUTO_FOCUS = "ThumbGrid"
    DEFAULT_CSS = """
    GalleryScreen #gallery-head { height: 1; padding: 0 1; background: $panel; }
    GalleryScreen #gallery-position { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="gallery-back"),
    ]

    def __init__(self, query: Query | None = None, *, present: frozenset[str] | None = None):
        super().__init__()
        self._query = query
        self._present = present

    def compose(self) -> ComposeResult:
        krea = self.krea
        self.model = GalleryModel(krea.store, self._query, now=krea.now, present=self._present)
        self.grid = ThumbGrid(
            self.model,
            thumb_cache(krea.settings.data_dir),
            picture=picture_for(krea.size.height),
            id="gallery",
        )
        yield Static(self._title(), id="gallery-head")
        yield self.grid
        yield Static("", id="gallery-position")
        yield Footer()

    def _title(self) -> Text:
        count = len(self.model)
        noun = "result" if count == 1 else "results"
        title = Text.assemble(("Gallery", "bold"), f"  {count:,} {noun}, newest first")
        if self._query is not None and not self._query.is_empty:
            title.append(f"  · filter: {self._query.text}", style="dim")
        if not count:
            title.append("  · nothing saved matches", style="dim")
        return title

    def on_mount(self) -> None:
        # While the gallery is open, the garbage collector's full passes leave out what
        # existed before it (the history's jobs, every other screen, Textual's own): they
        # come every few seconds of scrolling, as drawn frames and thumbnails come and go,
        # and over all the app's objects each one stalled a key for 100-350 ms. Only what
        # the gallery makes is looked at then; closing it gives the rest back to them.
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()

    @on(ThumbGrid.Moved)
    def _show_position(self, message: ThumbGrid.Moved) -> None:
        item = message.item
        line = Text()
        if item is not None:
            line = Text.assemble(
                (f" {message.index + 1}/{message.count} ", "reverse"),
                f" {item.short_id} · {item.prompt[:100]}",
            )
        # Its height is fixed: no layout of the whole screen for a new line of text.
        self.query_one("#gallery-position", Static).update(line, layout=False)

    @on(ThumbGrid.Opened)
    def _open(self, message: ThumbGrid.Opened) -> None:
        from krea_tui.tui.screens.viewer import ResultViewer

        ids = self.model.local_ids()  # the viewer steps through the gallery's order
        self.app.push_screen(
            ResultViewer(ids, message.item.local_id, protocol=self.krea.image_protocol)
        )

    def action_back(self) -> None:
        self.dismiss()


def open_gallery(app: Any) -> None:
    """The gallery of what the main table's filter matches (KreaApp's ctrl+g)."""
    if not getattr(app, "ready", False):
        app.notify("The history is not open yet.", severity="warning")
        return
    main = app.screen_stack[0]
    if app.screen is not main:
        return  # from the table only: not over a form or another grid
    model = main.model
    query = model.view.query
    present = frozenset(model.summary.counts) if app.store.has_tally else None
    app.push_screen(GalleryScreen(query, present=present))
