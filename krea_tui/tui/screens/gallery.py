"""GalleryScreen (ctrl+g): every result the main table's filter matches, newest first, as a grid
of thumbnails that scrolls through thousands of them.

The list is read from the history by SQL a window at a time (core/gallery_model.py); the grid
draws only the tiles on screen (widgets/thumb_grid.py); thumbnails are made once per picture,
file version and tile size and kept on disk (core/thumbs.py), each decoded in a worker thread
through the same guarded path as the viewer's pictures (tui/images.py: a decompression bomb
is refused from its header).

Enter opens the viewer on the tile's picture; the viewer then steps through the gallery's
order. `0`-`5`, `p` and `x` rate, pick and reject the current tile's job as in the viewer
(tui/rating_keys.judge), then move on to the next tile; the caption under each tile says
what it was given, here or anywhere else (engine events carry the jobs rated elsewhere).
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
from textual.timer import Timer
from textual.widgets import Footer, Static

from krea_tui.core import ratings
from krea_tui.core.gallery_model import GalleryModel
from krea_tui.core.query import Query
from krea_tui.core.store import StoredJob
from krea_tui.core.thumbs import ThumbCache
from krea_tui.tui.images import ScaledImages
from krea_tui.tui.messages import EngineEvents
from krea_tui.tui.rating_keys import judge, picture_bindings
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


IDLE_COLLECT_SECONDS = 0.5
MIDDLE_EVERY = 10  # key frames between two collections of the middle generation
# Middle collections between two full ones: while keys keep coming (~500 frames), and when
# they pause (~50 frames: a full pass costs 30-120 ms, not worth it for a few keys).
FULL_BUSY, FULL_IDLE = 50, 5
YOUNG_IDLE = 700  # what the interpreter's own threshold is: garbage of thumbnails filling in


class FrameCollector:
    """The garbage collector while the gallery is the screen shown: it runs between frames,
    never inside one.

    Left to itself it ran when allocations crossed a threshold, which while scrolling is in
    the middle of drawing a frame (or in the thumbnail thread): the young generations every
    few frames (4-25 ms), and full passes every two seconds (30-100 ms) over what the gallery
    keeps (its colour and style tables, tiles, Rich's caches) and what a frame leaves behind.
    Each one landed on a key. Here the automatic collector is off while the gallery is shown;
    what existed before it is frozen (left out of every pass: the history's jobs, the other
    screens, Textual's own), and collections run once a key's frame is out, in the pause
    before the next key:

    - the youngest generation after every frame (1-3 ms). What a frame leaves in cycles
      (Textual keeps each line of the scrollbar in one) is still in use then, so it moves to
      the middle generation, collected every MIDDLE_EVERY frames: one frame in ten leaves
      its cycles to the oldest generation;
    - the oldest (a full collection) when the keys pause, or now and then if they never do.

    Nothing is frozen but what was there before the gallery: frozen objects that became
    garbage would wait for the gallery to close. Another screen over it (the viewer) and
    closing it give the collector back as it was.
    """

    def __init__(self) -> None:
        self._running = False
        self._was_enabled = True
        self._frames = 0  # key frames
        self._recent = 0  # key frames since the last idle check
        self.collections = [0, 0, 0]  # by generation, for tests and benchmarks

    def start(self) -> None:
        if self._running:
            return
        self._running = True
        self._was_enabled = gc.isenabled()
        gc.freeze()
        gc.disable()

    def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        gc.unfreeze()
        if self._was_enabled:
            gc.enable()

    def after_frame(self) -> None:
        """After a key's frame."""
        if not self._running:
            return
        self._frames += 1
        self._recent += 1
        if gc.get_count()[2] >= FULL_BUSY:
            self._collect(2)
        else:
            self._collect(1 if self._frames % MIDDLE_EVERY == 0 else 0)

    def when_idle(self) -> None:
        """Every IDLE_COLLECT_SECONDS; collects only when no key's frame came meanwhile."""
        if not self._running:
            return
        if self._recent == 0:
            _, _, middle = gc.get_count()
            if middle >= FULL_IDLE:
                self._collect(2)
            elif gc.get_count()[0] >= YOUNG_IDLE:
                self._collect(1)
        self._recent = 0

    def _collect(self, generation: int) -> None:
        gc.collect(generation)
        self.collections[generation] += 1


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
        # 0-5 rate, p pick, x reject (rating_keys); the footer has room for all of them here.
        *picture_bindings("gallery", rate_in_footer=True),
    ]

    def __init__(self, query: Query | None = None, *, present: frozenset[str] | None = None):
        super().__init__()
        self._query = query
        self._present = present
        self.collector = FrameCollector()
        self._collect_timer: Timer | None = None

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

    def on_screen_resume(self) -> None:
        self.collector.start()
        self._collect_timer = self.set_interval(IDLE_COLLECT_SECONDS, self.collector.when_idle)

    def on_screen_suspend(self) -> None:
        self._stop_collector()

    def on_unmount(self) -> None:
        self._stop_collector()

    def _stop_collector(self) -> None:
        if self._collect_timer is not None:
            self._collect_timer.stop()
            self._collect_timer = None
        self.collector.stop()

    @on(ThumbGrid.Moved)
    def _show_position(self, message: ThumbGrid.Moved) -> None:
        item = message.item
        line = Text()
        if item is not None:
            judged = ratings.label(item)
            line = Text.assemble(
                (f" {message.index + 1}/{message.count} ", "reverse"),
                (f" {judged}" if judged else "", "bold yellow"),
                f" {item.short_id} · {item.prompt[:100]}",
            )
        # Its height is fixed: no layout of the whole screen for a new line of text.
        self.query_one("#gallery-position", Static).update(line, layout=False)
        # Once this key's frame is out, in the pause before the next key.
        self.call_after_refresh(self.collector.after_frame)

    @on(ThumbGrid.Opened)
    def _open(self, message: ThumbGrid.Opened) -> None:
        from krea_tui.tui.screens.viewer import ResultViewer

        ids = self.model.local_ids()  # the viewer steps through the gallery's order
        self.app.push_screen(
            ResultViewer(ids, message.item.local_id, protocol=self.krea.image_protocol)
        )

    def action_judge(self, kind: str, value: int) -> None:
        """Rate, pick or reject the picture under the cursor (again: take it back), then on to
        the next thumbnail (at the last one the cursor stays)."""
        item = self.grid.current_item
        if item is None:
            return
        try:
            job = self.krea.store.get(item.local_id)
        except KeyError:  # removed from the history meanwhile (by another process)
            return
        changed = judge(self.krea, [job], (kind, value))
        # The tile shows it now; the events (to this screen too) come a tick later.
        self.grid.show_judged({after.local_id: after for _, after in changed})
        self.grid.move_to(self.grid.cursor + 1)

    def on_engine_events(self, message: EngineEvents) -> None:
        """Jobs rated elsewhere (the viewer opened from here, the table, another process)."""
        jobs: dict[str, StoredJob] = {}
        for event in message.events:
            job = getattr(event, "job", None)
            if isinstance(job, StoredJob):
                jobs[job.local_id] = job
        if jobs:
            self.grid.show_judged(jobs)

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
