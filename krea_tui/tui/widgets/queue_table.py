"""QueueTable: the queue model's rows, drawn a line at a time through Textual's public Line API.

A `ScrollView` whose `render_line` asks the model (core/queue_model.py) for the window of rows
on screen, so drawing costs what is visible, never the length of the history. Rendered lines
are kept in an LRU keyed by what a line shows (its row, that row's revision, the columns, the
cursor and mark state, the clock tick), so a status change re-renders one line, and scrolling
back re-renders nothing. The header is the first line, fixed while the rows scroll.

No private member of Textual is used: only ScrollView, Strip, LRUCache, component classes,
bindings and messages. Which columns show is `fit_columns`'s choice (job_columns.py), told
here whether Rate should come before Prog (no job shown is under way, one is judged); what
their cells say is job_cells.py's.

While `following`, the cursor stays on the newest job shown; the user moving it stops that.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import ClassVar

from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import GroupHeader, QueueChanges, QueueRow, QueueView
from krea_tui.core.store import StoredJob, utcnow
from krea_tui.tui.widgets.job_cells import CELLS, Cell
from krea_tui.tui.widgets.job_columns import Layout, fit_columns
from krea_tui.tui.widgets.queue_lines import PADDING, header_cells, line_of, over

__all__ = ["HEADER", "QueueTable", "row_key"]

HEADER = "batch:"  # keys of batch header rows; job ids are hex, so they never collide
GUESSED_WIDTH = 80
LINES_CACHED = 2000
_PROG_OR_RATE = frozenset({"status", "progress", "rating"})  # cells that may swap Prog and Rate


class _Marked:
    """The model's marks as job_cells' CELLS ask them (`local_id in marks`), not copied."""

    __slots__ = ("model",)

    def __init__(self, model: QueueModel) -> None:
        self.model = model

    def __contains__(self, local_id: object) -> bool:
        return isinstance(local_id, str) and self.model.is_marked(local_id)


def row_key(row: QueueRow) -> str:
    """A row's key: its job id, or HEADER + its batch id."""
    if isinstance(row, GroupHeader):
        return HEADER + (row.batch_id or "")
    return row.local_id


class QueueTable(ScrollView, can_focus=True):
    """The rows of a `QueueModel`, a window at a time (see the module's note)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "cursor_up", "Up", show=False),
        Binding("down,j", "cursor_down", "Down", show=False),
        Binding("pageup,ctrl+u", "page_up", "Page up", show=False),
        Binding("pagedown,ctrl+d", "page_down", "Page down", show=False),
        Binding("home,g", "scroll_top", "Top", show=False),
        Binding("end,G", "scroll_bottom", "Bottom", show=False),
        Binding("enter", "select_cursor", "Select", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "queue-table--header",
        "queue-table--cursor",
        "queue-table--batch",
    }
    DEFAULT_CSS = """
    QueueTable {
        overflow-x: hidden;  /* the columns fit the width: never a horizontal scrollbar */
        background: $surface;
        color: $foreground;
        height: 1fr;
    }
    QueueTable > .queue-table--header {
        text-style: bold;
        background: $panel;
        color: $foreground;
    }
    QueueTable > .queue-table--cursor {
        background: $block-cursor-background;
        color: $block-cursor-foreground;
        text-style: $block-cursor-text-style;
    }
    QueueTable:blur > .queue-table--cursor {
        background: $block-cursor-blurred-background;
        color: $block-cursor-blurred-foreground;
        text-style: $block-cursor-blurred-text-style;
    }
    QueueTable > .queue-table--batch {
        background: $boost;
    }
    """

    cursor_row: reactive[int] = reactive(0, always_update=True, repaint=False, init=False)

    class RowHighlighted(Message):
        """The cursor is on another row (`key` None: the table is empty)."""

        def __init__(self, table: QueueTable, index: int, key: str | None) -> None:
            super().__init__()
            self.table, self.index, self.key = table, index, key

        @property
        def control(self) -> QueueTable:
            return self.table

    class RowSelected(Message):
        """Enter, or a second click, on a row."""

        def __init__(self, table: QueueTable, index: int, key: str) -> None:
            super().__init__()
            self.table, self.index, self.key = table, index, key

        @property
        def control(self) -> QueueTable:
            return self.table

    class HeaderSelected(Message):
        """A click on a column's label (`column`: its key, as in job_columns)."""

        def __init__(self, table: QueueTable, column: str) -> None:
            super().__init__()
            self.table, self.column = table, column

        @property
        def control(self) -> QueueTable:
            return self.table

    class ViewChanged(Message):
        """The rows shown or the marks changed: whatever describes the view should redraw."""

    class FollowChanged(Message):
        """`following` was turned on or off (by a key, or by the user moving the cursor)."""

        def __init__(self, following: bool) -> None:
            super().__init__()
            self.following = following

    def __init__(
        self,
        model: QueueModel,
        *,
        now: Callable[[], datetime] | None = None,
        hidden: frozenset[str] = frozenset(),
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self.model = model
        self._clock = now
        self.hidden = hidden  # optional columns the user does not want
        self.column_layout: Layout = self._fit(GUESSED_WIDTH)
        self.following = True
        self._placing = False  # the table moves the cursor itself: not the user
        self._follow_on_show = False  # followed while another screen was on top: on return
        self._cursor_key: str | None = None
        # The rows read last: [offset, offset + len(rows)) of the view.
        self._window_offset = 0
        self._window: list[QueueRow] = []
        self._window_fresh = False
        self._row_count = model.row_count()
        # Revisions: a row's goes up when its cells change; `_generation` when every line does
        # (columns, view, theme); `_tick` when times move (the 2 s tick).
        self._revisions: dict[str, int] = {}
        self._generation = 0
        self._tick = 0
        self._lines: LRUCache[tuple[object, ...], Strip] = LRUCache(LINES_CACHED)

    # -- what the model has ---------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._row_count

    def _now(self) -> datetime:
        if self._clock is not None:
            return self._clock()
        return getattr(self.app, "now", utcnow)()

    def rows(self, offset: int, limit: int) -> list[QueueRow]:
        """The rows from `offset` on (at most `limit`), through the window kept from the last
        read: the lines of one frame cost one read of the model."""
        end = offset + limit
        start_kept, end_kept = self._window_offset, self._window_offset + len(self._window)
        if not self._window_fresh or offset < start_kept or end > end_kept:
            page = max(limit, self.size.height or 24)
            start = max(0, offset - page)
            self._window = self.model.window(start, 3 * page)
            self._window_offset = start
            self._window_fresh = True
            start_kept = start
        return self._window[offset - start_kept : end - start_kept]

    def row_at(self, index: int) -> QueueRow | None:
        if not 0 <= index < self._row_count:
            return None
        found = self.rows(index, 1)
        return found[0] if found else None

    def key_at(self, index: int) -> str | None:
        row = self.row_at(index)
        return None if row is None else row_key(row)

    def cell_texts(self, key: str) -> dict[str, str] | None:
        """What each cell of a row says, shown or not, as plain text (None: not in the view):
        what a test or a screen reader asks of a row without reading lines."""
        index = self.index_of_key(key)
        row = None if index is None else self.row_at(index)
        if row is None:
            return None
        if isinstance(row, GroupHeader):
            cells = header_cells(row, tuple(CELLS), self._now())
        else:
            now, marks = self._now(), _Marked(self.model)
            cells = [CELLS[name](row, now, marks) for name in CELLS]
        return {name: str(cell) for name, cell in zip(CELLS, cells, strict=True)}

    def index_of_key(self, key: str) -> int | None:
        if key.startswith(HEADER):
            return self.model.index_of_batch(key[len(HEADER) :] or None)
        return self.model.index_of(key)

    # -- the view -------------------------------------------------------------------------------

    @property
    def view(self) -> QueueView:
        return self.model.view

    def set_view(self, view: QueueView) -> None:
        """Show `view` (filter, sort, grouping); the cursor stays on its job if still shown."""
        if self.model.set_view(view):
            self.reload()

    def set_filter(self, text: str) -> None:
        if self.model.set_filter(text):
            self.reload()

    @property
    def marks(self) -> frozenset[str]:
        return self.model.marks

    def shown_ids(self) -> list[str]:
        """Every job id of the view, in its order (one read of the whole view: for bulk
        actions, not for drawing)."""
        return self.model.shown_ids()

    def set_marks(self, ids: Iterable[str], marked: bool) -> None:
        self._marks_changed(self.model.set_marks(ids, marked))

    # -- columns --------------------------------------------------------------------------------

    def _fit(self, width: int, hidden: frozenset[str] | None = None) -> Layout:
        view = self.model.view
        sort = None if view.sort == "created" else view.sort
        hidden = self.hidden if hidden is None else hidden
        layout = fit_columns(width, hidden=hidden, sort=sort, reverse=view.reverse, padding=PADDING)
        if "progress" in layout.keys and "rating" in layout.no_room and self._rate_first():
            layout = fit_columns(
                width,
                hidden=hidden,
                sort=sort,
                reverse=view.reverse,
                padding=PADDING,
                rate_first=True,
            )
        return layout

    def _rate_first(self) -> bool:
        """Whether Rate should take Prog's place (QueueModel.judged_and_idle)."""
        return self.is_mounted and bool(self._row_count) and self.model.judged_and_idle()

    def layout_for(self, hidden: frozenset[str]) -> Layout:
        """The columns there would be with `hidden` hidden (what the column picker shows)."""
        return self._fit(self.size.width or GUESSED_WIDTH, hidden)

    def set_hidden(self, hidden: frozenset[str]) -> None:
        if hidden != self.hidden:
            self.hidden = hidden
            self._lay_out_columns()

    def _lay_out_columns(self) -> None:
        layout = self._fit(self.size.width or GUESSED_WIDTH)
        if layout != self.column_layout:
            self.column_layout = layout
            self._generation += 1
            self.refresh()

    def on_resize(self, event: events.Resize) -> None:
        self._lay_out_columns()
        self._update_virtual_size()
        self._scroll_to_cursor()

    def _update_virtual_size(self) -> None:
        self.virtual_size = Size(self.size.width, self._row_count + 1)  # + the header line

    # -- drawing --------------------------------------------------------------------------------

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._generation += 1  # a theme or a pseudo-class (focus) changes every line
        self._lines.clear()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._header_line(width)
        index = int(self.scroll_offset.y) + y - 1
        row = self.row_at(index)
        if row is None:
            return Strip.blank(width, self.rich_style)
        key = row_key(row)
        if isinstance(row, GroupHeader):
            marked = row.marked
        else:
            marked = int(self.model.is_marked(row.local_id))
        cursor = index == self.cursor_row
        cache_key = (
            key,
            self._revisions.get(key, 0),
            self._generation,
            self._tick,
            width,
            cursor,
            marked,
            row if isinstance(row, GroupHeader) else None,  # a header is its counts
            self.has_focus,
        )
        strip = self._lines.get(cache_key)
        if strip is None:
            strip = self._row_line(row, width, cursor)
            self._lines[cache_key] = strip
        return strip

    def _cells_of(self, row: QueueRow) -> list[Cell]:
        keys = self.column_layout.keys
        if isinstance(row, GroupHeader):
            return header_cells(row, keys, self._now())
        now, marks = self._now(), _Marked(self.model)
        return [CELLS[key](row, now, marks) for key in keys]

    def _row_line(self, row: QueueRow, width: int, cursor: bool) -> Strip:
        base = self.rich_style
        if isinstance(row, GroupHeader):
            base += self.get_component_rich_style("queue-table--batch")
        line = line_of(self._cells_of(row), self.column_layout, base, width, self.app.console)
        if cursor:
            line = over(line, self.get_component_rich_style("queue-table--cursor"))
        return line

    def _header_line(self, width: int) -> Strip:
        cache_key = ("header", self._generation, width, self.column_layout)
        strip = self._lines.get(cache_key)
        if strip is None:
            base = self.rich_style + self.get_component_rich_style("queue-table--header")
            labels = self.column_layout.labels
            strip = line_of(labels, self.column_layout, base, width, self.app.console)
            self._lines[cache_key] = strip
        return strip

    # -- the model changed ----------------------------------------------------------------------

    def reload(self) -> None:
        """Read everything again: the view was set (filter, sort, grouping), or the model
        refreshed. The cursor stays on its job if still shown, else goes to the newest."""
        self._row_count = self.model.row_count()
        self._window_fresh = False
        self._generation += 1
        self._lay_out_columns()
        self._update_virtual_size()
        self._place_cursor()
        self.refresh()
        self.post_message(self.ViewChanged())

    def changed(self, changes: QueueChanges) -> None:
        """Redraw what `QueueModel.apply` says changed: only the lines of changed rows, unless
        rows came or went."""
        if not changes.any:
            return
        self._window_fresh = False  # the rows read are older than the store
        for local_id in (*changes.cells, *changes.marks):
            self._revisions[local_id] = self._revisions.get(local_id, 0) + 1
        for batch_id in changes.headers:
            key = HEADER + (batch_id or "")
            self._revisions[key] = self._revisions.get(key, 0) + 1
        if changes.moved or changes.entered or changes.left:
            self._row_count = self.model.row_count()
            self._lay_out_columns()  # Prog or Rate: what is shown decides
            self._update_virtual_size()
            self._place_cursor()
            self.refresh()
            self.post_message(self.ViewChanged())
            return
        if any(cells & _PROG_OR_RATE for cells in changes.cells.values()):
            self._lay_out_columns()  # a job ended or was judged: Prog or Rate may show now
        self._refresh_rows(changes.cells.keys() | {HEADER + (b or "") for b in changes.headers})
        if changes.marks:
            self.post_message(self.ViewChanged())

    def _refresh_rows(self, keys: Iterable[str]) -> None:
        """Repaint the visible lines of these rows (others are drawn fresh when scrolled to)."""
        wanted = set(keys)
        top = int(self.scroll_offset.y)
        for y, row in enumerate(self.rows(top, max(0, self.size.height - 1))):
            if row_key(row) in wanted:
                self.refresh_line(top + y + 1)

    def refresh_times(self) -> None:
        """Times moved on (the 2 s tick): the visible lines that show a time render again."""
        if {"time", "age"} & set(self.column_layout.keys):
            self._tick += 1
            self._window_fresh = False
            self.refresh()

    # -- marks ----------------------------------------------------------------------------------

    def _marks_changed(self, changed: set[str]) -> None:
        if not changed:
            return
        for local_id in changed:
            self._revisions[local_id] = self._revisions.get(local_id, 0) + 1
        self._window_fresh = False  # batch headers count marks
        self.refresh()
        self.post_message(self.ViewChanged())

    def toggle_mark(self) -> None:
        """Mark or unmark the cursor row; on a batch header, the batch's rows."""
        key = self.current_key
        if key is None:
            return
        if key.startswith(HEADER):
            self._marks_changed(self.model.toggle_batch(key[len(HEADER) :] or None))
        else:
            self._marks_changed(self.model.toggle_mark(key))

    def mark_rows(self, start: int, end: int) -> None:
        self._marks_changed(self.model.mark_rows(start, end))

    def mark_all(self) -> None:
        self._marks_changed(self.model.mark_all())

    def invert_marks(self) -> None:
        self._marks_changed(self.model.invert_marks())

    def clear_marks(self) -> None:
        self._marks_changed(self.model.clear_marks())

    # -- the cursor -----------------------------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        return self.key_at(self.cursor_row)

    @property
    def current_id(self) -> str | None:
        """The job under the cursor (None on a batch header)."""
        row = self.row_at(self.cursor_row)
        return row.local_id if isinstance(row, StoredJob) else None

    @property
    def current_batch(self) -> str | None:
        row = self.row_at(self.cursor_row)
        return None if row is None else row.batch_id

    def move_cursor(self, row: int, *, by_user: bool = True) -> None:
        """Put the cursor on row `row` (clamped). A move by the user stops following."""
        placing, self._placing = self._placing, not by_user
        try:
            self.cursor_row = row
        finally:
            self._placing = placing

    def validate_cursor_row(self, row: int) -> int:
        return max(0, min(row, self._row_count - 1))

    def watch_cursor_row(self, old: int, new: int) -> None:
        key = self.key_at(new)
        moved = old != new or key != self._cursor_key
        self._cursor_key = key
        if old != new:
            # refresh_line takes the line in the virtual space: row i is line i + 1 (the
            # header is line 0, kept in view by render_line, not by scrolling).
            self.refresh_line(old + 1)
            self.refresh_line(new + 1)
        self._scroll_to_cursor()
        if moved:
            self.post_message(self.RowHighlighted(self, new, key))
        if old != new and not self._placing and self.following:
            self.set_following(False)  # the user went somewhere: stay there

    def _scroll_to_cursor(self) -> None:
        visible = max(1, self.size.height - 1)  # the header line is not for rows
        top = int(self.scroll_offset.y)
        row = self.cursor_row
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + visible:
            self.scroll_to(y=row - visible + 1, animate=False, immediate=True)

    def _place_cursor(self) -> None:
        """After rows moved: back on the cursor's row if still shown, else the newest job
        (while following, the newest whatever)."""
        index: int | None = None
        if self.following:
            newest = self.model.newest_id()
            index = None if newest is None else self.model.index_of(newest)
        elif self._cursor_key is not None:
            index = self.index_of_key(self._cursor_key)
        if index is None:
            newest = self.model.newest_id()
            index = None if newest is None else self.model.index_of(newest)
        self.move_cursor(self._row_count - 1 if index is None else index, by_user=False)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - max(1, self.size.height - 1))

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + max(1, self.size.height - 1))

    def action_scroll_top(self) -> None:
        self.move_cursor(0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(self._row_count - 1)

    def action_select_cursor(self) -> None:
        key = self.current_key
        if key is not None:
            self.post_message(self.RowSelected(self, self.cursor_row, key))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None:
            return
        if offset.y == 0:
            x = 0
            for column in self.column_layout.columns:
                x += column.width + 2 * PADDING
                if offset.x < x:
                    self.post_message(self.HeaderSelected(self, column.key))
                    return
            return
        index = int(self.scroll_offset.y) + offset.y - 1
        if index >= self._row_count:
            return
        self.move_cursor(index)
        if event.chain >= 2:
            self.action_select_cursor()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.set_following(False)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.set_following(False)

    # -- following ------------------------------------------------------------------------------

    def follow(self) -> None:
        """Put the cursor on the newest job shown (when the table is seen again if another
        screen is on top: that screen may be showing the job under the cursor)."""
        if self.is_attached and not self.screen.is_current:
            self._follow_on_show = True
            return
        newest = self.model.newest_id()
        index = None if newest is None else self.model.index_of(newest)
        if index is not None:
            self.move_cursor(index, by_user=False)

    def catch_up(self) -> None:
        """The table is seen again: follow what arrived while it was not."""
        if self._follow_on_show:
            self._follow_on_show = False
            if self.following:
                self.follow()

    def set_following(self, following: bool) -> None:
        if following != self.following:
            self.following = following
            self.post_message(self.FollowChanged(following))
        if following:
            self.follow()

    def on_mount(self) -> None:
        self._update_virtual_size()
        self._place_cursor()
