"""JobTable: the jobs in view (filtered, sorted, maybe grouped by batch), with marks.

The table keeps every job it was told about; the rows are the ones the current view shows.
A status event touches the few cells that changed, so the cursor and scroll position stay put
and a thousand rows stay smooth. Only a change of view (filter, sort, grouping), or a job
entering a view it must be sorted into, rebuilds the rows, once per burst, and the cursor
stays on the same job. Columns have fixed widths because re-measuring a column on every
update is quadratic in DataTable; which columns show at the table's width is `fit_columns`'s
choice (job_columns.py), what their cells say is job_cells.py's.

While `following`, the cursor stays on the newest job shown, so jobs just sent are in view
whatever the order or the length of the table; the user moving the cursor stops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime
from typing import Any

from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.cache import LRUCache
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable
from textual.widgets.data_table import (
    CellDoesNotExist,
    DuplicateKey,
    Row,
    RowDoesNotExist,
    RowKey,
)

from krea_tui.core.bulk import noun
from krea_tui.core.endings import tally
from krea_tui.core.job_order import grouped, ordered
from krea_tui.core.query import parse
from krea_tui.core.queue_view import QueueView
from krea_tui.core.store import StoredJob, utcnow
from krea_tui.tui.widgets.job_cells import (
    CELLS,
    MARK,
    batch_label,
    format_duration,
    job_age,
    job_time,
    status_cells,
)
from krea_tui.tui.widgets.job_columns import Layout, fit_columns

__all__ = ["HEADER", "JobTable", "View", "batch_label", "format_duration"]

HEADER = "batch:"  # row keys of batch headers; job ids are hex, so they never collide
REBUILD_DELAY = 0.2  # jobs entering a view in a burst are sorted in once
GUESSED_WIDTH = 80  # the columns' width before the table knows its own


def _newness(job: StoredJob) -> tuple[datetime, float]:
    # When it was asked for, not its place in the queue: moving a held job (K, J) does not
    # make it new.
    return job.created_at, job.position


class _CellRenderCache(LRUCache[Any, Any]):
    """DataTable's cache of rendered cells, made per row: a cell stays cached until its own
    row changes.

    DataTable keys every rendered cell on `_update_count`, which each `update_cell` bumps, so
    one status change anywhere re-rendered every visible cell on the next frame (~50 ms at
    120x40, whatever row changed). Here the count in a key is replaced by the table's
    generation (every bump that was not a cell update: rows added, removed, sorted, resized)
    and the version of that cell's row (bumped by `JobTable.update_cell`).
    """

    def __init__(self, table: JobTable, maxsize: int) -> None:
        super().__init__(maxsize)
        self._table = table

    def _key(self, key: Any) -> Any:
        # DataTable's key: (row_key, column_key, base_style, cursor, hover, show_hover,
        # update_count, pseudo_class_state). Anything else is kept whole, which is only slower.
        if len(key) != 8 or not isinstance(key[6], int):
            return key
        table = self._table
        generation = key[6] - table._cell_bumps
        return (*key[:6], generation, table._row_versions.get(key[0], 0), key[7])

    def __contains__(self, key: Any) -> bool:
        return super().__contains__(self._key(key))

    def __getitem__(self, key: Any) -> Any:
        return super().__getitem__(self._key(key))

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._key(key), default)

    def set(self, key: Any, value: Any) -> None:
        super().set(self._key(key), value)

    __setitem__ = set

    def discard(self, key: Any) -> None:
        super().discard(self._key(key))


# The view is the queue model's own value type, so both tables read one definition.
View = QueueView


class JobTable(DataTable[Text | str]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table-down"),
        Binding("k", "cursor_up", "Up", show=False, id="table-up"),
        Binding("g", "scroll_top", "Top", show=False, id="table-top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table-bottom"),
        Binding("ctrl+d", "page_down", "Page down", show=False, id="table-page-down"),
        Binding("ctrl+u", "page_up", "Page up", show=False, id="table-page-up"),
    ]

    class ViewChanged(Message):
        """The rows shown or the marks changed: whatever describes the view should redraw."""

    class FollowChanged(Message):
        """`following` was turned on or off (by a key, or by the user moving the cursor)."""

        def __init__(self, following: bool) -> None:
            super().__init__()
            self.following = following

    def __init__(self, *, id: str | None = None) -> None:
        # Bumped whenever rows are added, removed or reordered (never by a cell update); the
        # row order and line offsets are cached on it (see `ordered_rows`). Set first:
        # DataTable's own __init__ already asks for the rows.
        self._layout_version = 0
        self._ordered_cache: tuple[int, list[Row]] | None = None
        self._offsets_cache: tuple[int, list[tuple[RowKey, int]]] | None = None
        # Per-row cell caching (see _CellRenderCache): how many `_update_count` bumps were
        # cell updates, and each row's own version.
        self._cell_bumps = 0
        self._row_versions: dict[str, int] = {}
        # Rows drawn (and so cached) since `_update_count` was last `_drawn_at`.
        self._drawn_at = -1
        self._drawn_rows: set[RowKey] = set()
        # Inside `many_changes()`: what is repainted or announced once, at its end.
        self._changing = 0
        self._cells_changed = False
        self._view_changed = False
        self._stale_headers: set[str | None] = set()
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        self._cell_render_cache = _CellRenderCache(self, self._cell_render_cache.maxsize)
        self.following = True  # the cursor starts on the newest job: new ones are followed
        self._placing = False  # the cursor is being moved by the table itself, not the user
        self._follow_later = False  # inside `many_changes`: follow once, at its end
        self._sorting_in = False  # new jobs wait for `rebuild` to take their place in the view
        self._follow_on_show = False  # followed while another screen was on top: on return
        self.hidden: frozenset[str] = frozenset()  # optional columns the user does not want
        self.column_layout = fit_columns(GUESSED_WIDTH)
        self._keys: tuple[str, ...] = ()
        self._set_columns(self.column_layout)
        self.jobs: dict[str, StoredJob] = {}
        # Jobs the server is still working on (what the store calls active_remote): their
        # time cells tick. Kept here so that the 2 s tick does not read them from the store.
        self.active: set[str] = set()
        self.marks: set[str] = set()
        self.view = View()
        self._rebuild_timer: Timer | None = None

    # -- cells ---------------------------------------------------------------------------------

    def cells(self, job: StoredJob, now: datetime) -> list[Text | str]:
        """The row of `job`: a cell per shown column."""
        marks = self.marks
        return [CELLS[key](job, now, marks) for key in self._keys]

    def header_cells(self, batch_id: str | None, jobs: Iterable[StoredJob]) -> list[Text | str]:
        """A batch's header: what kind of batch under the id, when it was sent under the
        status (what tells the batches of a day apart), then the count and the outcome (and
        a sweep's parameters) across the prompt."""
        members = list(jobs)
        marked = sum(1 for job in members if job.local_id in self.marks)
        kind, when, name = batch_label(batch_id, self._now())
        words = [noun(len(members)), tally(members).words()]
        if name:
            words.insert(1, name)
        if marked:
            words.append(f"{marked} marked")
        cells: dict[str, Text | str] = {
            "mark": MARK if marked and marked == len(members) else "",
            "id": Text(f"━ {kind}", style="dim"),
            "status": Text(when, style="bold", overflow="ellipsis", no_wrap=True),
            "prompt": Text(" · ".join(words), style="bold", overflow="ellipsis", no_wrap=True),
        }
        return [cells.get(key, "") for key in self._keys]

    # -- columns -------------------------------------------------------------------------------

    def wanted_layout(self) -> Layout:
        """The columns for the table's width, the view's sort marked."""
        return self.layout_for(self.hidden)

    def layout_for(self, hidden: frozenset[str]) -> Layout:
        """The columns there would be with `hidden` hidden (what the column picker shows)."""
        width = self.size.width or GUESSED_WIDTH
        view = self.view
        sort = None if view.sort == "created" else view.sort
        return fit_columns(
            width, hidden=hidden, sort=sort, reverse=view.reverse, padding=self.cell_padding
        )

    def _set_columns(self, layout: Layout) -> None:
        """Make the columns `layout`'s. Only while the rows are being laid out again: a new
        set of columns empties the table, and new widths or labels drop every cached cell
        (`rebuild` does both)."""
        self.column_layout = layout
        keys = layout.keys
        if keys != self._keys:
            if self.columns:
                self.clear(columns=True)
            for wanted in layout.columns:
                self.add_column(wanted.label, key=wanted.key, width=wanted.width)
            self._keys = keys
            return
        for shown in layout.columns:
            column = self.columns[shown.key]  # type: ignore[index]
            column.label = Text(shown.label)
            column.width = shown.width

    def set_hidden(self, hidden: frozenset[str]) -> None:
        """Hide these optional columns (the others show as the width allows)."""
        if hidden != self.hidden:
            self.hidden = hidden
            self.rebuild()

    def on_resize(self) -> None:
        layout = self.wanted_layout()
        if layout == self.column_layout:
            return
        if layout.keys != self.column_layout.keys:
            self.rebuild()  # another set of columns: every row is laid out again
            return
        # The same columns, wider or narrower (the prompt, mostly): at every step of a drag
        # that resizes the terminal, so the rows are kept and only the cached cells dropped.
        self.column_layout = layout
        for shown in layout.columns:
            self.columns[shown.key].width = shown.width  # type: ignore[index]
        self._require_update_dimensions = True
        self._clear_caches()
        self.refresh()

    def _update_dimensions(self, new_rows: Iterable[Any]) -> None:
        # DataTable renders every new row's cells to measure them, for auto-width columns and
        # auto-height rows. Ours have fixed widths, one line and no labels: the measuring
        # changes nothing and was most of the cost of laying out a thousand rows (measured:
        # clearing a filter over 3,000 jobs took ~0.8 s to show, ~0.3 s without it).
        super()._update_dimensions(())

    def _now(self) -> datetime:
        return getattr(self.app, "now", utcnow)()

    # -- DataTable's row bookkeeping, made cheap for many rows -----------------------------------
    #
    # DataTable keys its row order and line offsets on `_update_count`, which every
    # `update_cell` bumps: after each status change the next frame (and each cursor move)
    # walked all rows again, ~10 ms at 11,000 rows. Only adding, removing and reordering
    # rows changes them, so they are cached on `_layout_version` instead.

    @property
    def ordered_rows(self) -> list[Row]:
        cached = self._ordered_cache
        if cached is not None and cached[0] == self._layout_version:
            return cached[1]
        locations, rows = self._row_locations, self.rows
        ordered = [rows[locations.get_key(index)] for index in range(len(rows))]  # type: ignore[index]
        self._ordered_cache = (self._layout_version, ordered)
        return ordered

    @property
    def _y_offsets(self) -> list[tuple[RowKey, int]]:
        cached = self._offsets_cache
        if cached is not None and cached[0] == self._layout_version:
            return cached[1]
        offsets = [(row.key, y) for row in self.ordered_rows for y in range(row.height)]
        self._offsets_cache = (self._layout_version, offsets)
        return offsets

    def _layout_changed(self) -> None:
        self._layout_version += 1

    def add_row(
        self,
        *cells: Text | str,
        height: int | None = 1,
        key: str | None = None,
        label: Text | str | None = None,
    ) -> RowKey:
        self._layout_changed()
        with self._placing_cursor():
            return super().add_row(*cells, height=height, key=key, label=label)

    def remove_row(self, row_key: RowKey | str) -> None:
        self._layout_changed()
        with self._placing_cursor():
            super().remove_row(row_key)
        self._layout_changed()

    def clear(self, columns: bool = False) -> JobTable:
        # DataTable.clear empties the offsets list in place: hand it a fresh one, so that
        # it does not walk every old row to build a list only to empty it.
        self._layout_changed()
        self._offsets_cache = (self._layout_version, [])
        with self._placing_cursor():
            super().clear(columns)  # clears the cell cache too: the row versions can start over
        self._row_versions.clear()
        self._layout_changed()
        return self

    def update_cell(
        self,
        row_key: RowKey | str,
        column_key: Any,
        value: Text | str,
        *,
        update_width: bool = False,
    ) -> None:
        key = row_key.value if isinstance(row_key, RowKey) else row_key
        if key is not None:
            self._row_versions[key] = self._row_versions.get(key, 0) + 1  # its cells re-render
        if not self._changing or update_width:
            super().update_cell(row_key, column_key, value, update_width=update_width)
            self._cell_bumps += 1  # that bump of `_update_count` was a cell update
            return
        # DataTable.update_cell, without its repaint per cell (working out the dirty region
        # was most of the cost of a cell update; `many_changes` repaints once), and without
        # a new `_update_count` for a row drawn nowhere since the last one: lines are cached
        # under the count, and a new count makes the next frame re-assemble every visible
        # line (~10 ms), for a change nobody can see.
        cells = self._data.get(row_key)  # type: ignore[arg-type]
        if cells is None or column_key not in cells:
            raise CellDoesNotExist(f"No cell exists for {row_key!r}, {column_key!r}.")
        cells[column_key] = value
        if self._drawn_at == self._update_count and row_key in self._drawn_rows:
            self._update_count += 1
            self._cell_bumps += 1
            self._cells_changed = True
        elif self._on_screen(row_key):
            self._cells_changed = True  # not drawn yet at this count: a repaint draws it new

    def _on_screen(self, row_key: RowKey | str) -> bool:
        index = self._row_locations.get(row_key)  # type: ignore[arg-type]
        if index is None:
            return False
        top = int(self.scroll_y)
        return top - 2 <= index <= top + self.size.height + 2

    def _render_line_in_row(
        self,
        row_key: RowKey,
        line_no: int,
        base_style: Any,
        cursor_location: Any,
        hover_location: Any,
    ) -> Any:
        # Every cached line, row and row renderable of the current `_update_count` is made
        # here: remember whose, so that `update_cell` knows which changes must drop them.
        if self._drawn_at != self._update_count:
            self._drawn_at = self._update_count
            self._drawn_rows.clear()
        self._drawn_rows.add(row_key)
        return super()._render_line_in_row(
            row_key, line_no, base_style, cursor_location, hover_location
        )

    def sort(self, *columns: Any, key: Any = None, reverse: bool = False) -> JobTable:
        super().sort(*columns, key=key, reverse=reverse)
        self._layout_changed()
        return self

    @contextmanager
    def many_changes(self) -> Iterator[None]:
        """Apply a burst of changes (a poll's status changes, a tick of times, marks on many
        rows): the table repaints, tells the view changed and redoes batch headers once, at
        the end, instead of once per cell or row."""
        self._changing += 1
        try:
            yield
        finally:
            self._changing -= 1
            if not self._changing:
                self._end_changes()

    def _end_changes(self) -> None:
        if self._follow_later:
            self._follow_later = False
            self.follow()
        headers, self._stale_headers = self._stale_headers, set()
        if self.view.group:
            for batch_id in headers:
                self._refresh_header(batch_id)
        if self._cells_changed:
            self._cells_changed = False
            self.refresh()
        if self._view_changed:
            self._view_changed = False
            self.post_message(self.ViewChanged())

    def _announce_view(self) -> None:
        if self._changing:
            self._view_changed = True
        else:
            self.post_message(self.ViewChanged())

    def _header_stale(self, batch_id: str | None) -> None:
        if self._changing:
            self._stale_headers.add(batch_id)
        else:
            self._refresh_header(batch_id)

    def _add_rows(self, rows: list[tuple[str, list[Text | str]]]) -> None:
        """Append many one-line rows at once: what `add_row` does for each, with the cursor
        checked and the caches invalidated once instead of per row (that per-row work was
        ~70 % of laying out 10,000 rows)."""
        if not rows:
            return
        was_empty = self.row_count == 0
        column_keys = [column.key for column in self.ordered_columns]
        locations, data, table_rows, new_rows = (
            self._row_locations,
            self._data,
            self.rows,
            self._new_rows,
        )
        index = len(table_rows)
        for key, cells in rows:
            row_key = RowKey(key)
            if row_key in locations:
                raise DuplicateKey(f"The row key {row_key!r} already exists.")
            locations[row_key] = index
            data[row_key] = dict(zip(column_keys, cells, strict=True))
            table_rows[row_key] = Row(row_key, 1, None, False)
            new_rows.add(row_key)
            index += 1
        self._layout_changed()
        self._require_update_dimensions = True
        self.cursor_coordinate = self.cursor_coordinate  # re-clamped, as add_row does
        if was_empty and self.columns and self.show_cursor and self.cursor_type != "none":
            self._highlight_cursor()
        self._update_count += 1
        self.check_idle()

    # -- rows from jobs ------------------------------------------------------------------------

    def load(self, jobs: list[StoredJob]) -> None:
        """Take the whole history once, at start; later changes go through `upsert`."""
        self.jobs = {job.local_id: job for job in jobs}
        self.active = {job.local_id for job in jobs if job.is_active_remote}
        self.rebuild()

    def visible_jobs(self) -> list[StoredJob]:
        """The jobs the current view shows, in its order (what `rebuild` lays out)."""
        now = self._now()
        query = self.view.query
        chosen = [job for job in self.jobs.values() if query.matches(job, now)]
        return ordered(chosen, now, sort=self.view.sort, reverse=self.view.reverse)

    def rebuild(self) -> None:
        """Lay the rows out again for the current view (and the columns for the width); the
        cursor stays on the same job (or batch header) if it is still shown, else on the
        newest row (the newest job while following). While following, new jobs sorted in take
        the cursor."""
        if self._rebuild_timer is not None:
            self._rebuild_timer.stop()
            self._rebuild_timer = None
        now = self._now()
        shown = self.visible_jobs()
        keep = self.current_key
        newest = max(shown, key=_newness).local_id if self.following and shown else None
        sorting_in, self._sorting_in = self._sorting_in, False
        with self.app.batch_update(), self._placing_cursor():
            self.clear()
            layout = self.wanted_layout()
            if layout != self.column_layout:
                self._set_columns(layout)  # before the cells: one per shown column
            rows: list[tuple[str, list[Text | str]]] = []
            if self.view.group:
                for group in grouped(shown):
                    key = HEADER + (group.batch_id or "")
                    rows.append((key, self.header_cells(group.batch_id, group.jobs)))
                    rows.extend((job.local_id, self.cells(job, now)) for job in group.jobs)
            else:
                rows.extend((job.local_id, self.cells(job, now)) for job in shown)
            self._add_rows(rows)
            if keep is None or keep not in self.rows:
                keep = newest
            if keep is not None and keep in self.rows:
                self.move_cursor(row=self.get_row_index(keep), animate=False)
            elif self.row_count:
                self.move_cursor(row=self.row_count - 1, animate=False)
        if sorting_in and self.following:
            self.follow()  # the jobs just sorted in take the cursor
        self.post_message(self.ViewChanged())

    def rebuild_soon(self) -> None:
        """Rebuild once the burst of events that asked for it is over."""
        if self._rebuild_timer is None:
            self._rebuild_timer = self.set_timer(REBUILD_DELAY, self.rebuild)

    def set_view(self, view: View) -> None:
        if view != self.view:
            self.view = view
            self.rebuild()

    def set_filter(self, text: str) -> None:
        if text != self.view.query.text:
            self.set_view(replace(self.view, query=parse(text)))

    def upsert(self, job: StoredJob) -> None:
        """A job is new or changed: update its cells, or let it enter or leave the view."""
        now = self._now()
        is_new = job.local_id not in self.jobs
        self.jobs[job.local_id] = job
        if job.is_active_remote:
            self.active.add(job.local_id)
        else:
            self.active.discard(job.local_id)
        wanted = self.view.query.matches(job, now)
        if job.local_id in self.rows:
            if not wanted:
                self.remove_row(job.local_id)
                self._announce_view()
                if self.following:
                    self.follow()
                return
            # The cells a change of status can touch (the others are the request's).
            status, progress = status_cells(job.status)
            self._set(job.local_id, "id", job.short_id)
            self._set(job.local_id, "status", status)
            self._set(job.local_id, "progress", progress)
            self._set(job.local_id, "time", job_time(job, now))
            if self.view.group:
                self._header_stale(job.batch_id)
            return
        if not wanted:
            return
        if is_new and self.view.sort == "created" and not self.view.reverse and not self.view.group:
            # The newest job goes last in the queue's own order: no need to lay rows out again.
            self.add_row(*self.cells(job, now), key=job.local_id)
            self._announce_view()
            if self.following:
                self.follow()
        else:
            self._sorting_in = self._sorting_in or is_new
            self.rebuild_soon()

    def forget(self, local_ids: Iterable[str]) -> None:
        """Jobs removed from the history."""
        for local_id in local_ids:
            self.jobs.pop(local_id, None)
            self.active.discard(local_id)
            self.marks.discard(local_id)
            if local_id in self.rows:
                self.remove_row(local_id)
        if self.following:
            self.follow()
        self.post_message(self.ViewChanged())

    def _refresh_header(self, batch_id: str | None) -> None:
        key = HEADER + (batch_id or "")
        if key not in self.rows:
            return
        shown = self.rows
        members = [j for j in self.jobs.values() if j.batch_id == batch_id and j.local_id in shown]
        cells = self.header_cells(batch_id, members)
        for column, value in zip(self._keys, cells, strict=True):
            self._set(key, column, value)

    def active_jobs(self) -> list[StoredJob]:
        return [self.jobs[local_id] for local_id in self.active]

    def refresh_times(self, jobs: list[StoredJob]) -> None:
        """The run time of `jobs` (those running), and every age on screen: ages change for
        all jobs, so rows scrolled to later catch up at the next tick."""
        now = self._now()
        with self.many_changes():
            for job in jobs:
                self._set(job.local_id, "time", job_time(job, now))
            if "age" in self._keys:
                top = int(self.scroll_y)
                for row in self.ordered_rows[top : top + self.size.height]:
                    seen = self.jobs.get(str(row.key.value))
                    if seen is not None:
                        self._set(seen.local_id, "age", job_age(seen, now))

    def _set(self, row: str, column: str, value: Text | str) -> None:
        if column not in self._keys:
            return  # a column this width (or the user) leaves out
        try:
            if self.get_cell(row, column) != value:
                self.update_cell(row, column, value)
        except (CellDoesNotExist, RowDoesNotExist):
            pass

    # -- marks ---------------------------------------------------------------------------------

    def shown_ids(self) -> list[str]:
        """Job ids of the rows, top to bottom (batch headers left out)."""
        ids = (row.key.value for row in self.ordered_rows)
        return [key for key in ids if key is not None and not key.startswith(HEADER)]

    def set_marks(self, ids: Iterable[str], marked: bool) -> None:
        changed = set(ids)
        if marked:
            self.marks |= changed
        else:
            self.marks -= changed
        with self.many_changes():
            for local_id in changed:
                self._set(local_id, "mark", MARK if marked else "")
            if self.view.group:
                for batch_id in {self.jobs[i].batch_id for i in changed if i in self.jobs}:
                    self._header_stale(batch_id)
            self._announce_view()

    def toggle_mark(self) -> None:
        """Mark or unmark the cursor row; on a batch header, the batch's rows."""
        key = self.current_key
        if key is None:
            return
        if key.startswith(HEADER):
            batch = key[len(HEADER) :] or None
            ids = [i for i in self.shown_ids() if self.jobs[i].batch_id == batch]
            self.set_marks(ids, not all(i in self.marks for i in ids))
        else:
            self.set_marks([key], key not in self.marks)

    def mark_rows(self, start: int, end: int) -> None:
        """Mark every job row from index `start` to `end`, both included, in either order."""
        low, high = sorted((start, end))
        keys = [row.key.value for row in self.ordered_rows[low : high + 1]]
        self.set_marks([k for k in keys if k and not k.startswith(HEADER)], True)

    def invert_marks(self) -> None:
        shown = self.shown_ids()
        on = [i for i in shown if i not in self.marks]
        off = [i for i in shown if i in self.marks]
        self.set_marks(off, False)
        self.set_marks(on, True)

    def clear_marks(self) -> None:
        self.set_marks(list(self.marks), False)

    # -- cursor --------------------------------------------------------------------------------

    @property
    def current_key(self) -> str | None:
        """The cursor row's key: a job id, or a batch header's key."""
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    @property
    def current_id(self) -> str | None:
        """The job under the cursor (None on a batch header)."""
        key = self.current_key
        return None if key is None or key.startswith(HEADER) else key

    @property
    def current_batch(self) -> str | None:
        """The batch of the cursor row, whether it is the header or one of its jobs."""
        key = self.current_key
        if key is None:
            return None
        if key.startswith(HEADER):
            return key[len(HEADER) :] or None
        job = self.jobs.get(key)
        return job.batch_id if job else None

    # -- following ------------------------------------------------------------------------------

    def newest_key(self) -> str | None:
        """The newest job shown (the last asked for), wherever the view puts it."""
        jobs = self.jobs
        ids = self.shown_ids()
        return max(ids, key=lambda local_id: _newness(jobs[local_id])) if ids else None

    def follow(self) -> None:
        """Put the cursor on the newest job shown (once, at the end of a burst; when the table
        is seen again if another screen is on top: that screen may be showing the job under
        the cursor, as the contact sheet does)."""
        if self._changing:
            self._follow_later = True
            return
        if not self.screen.is_current:
            self._follow_on_show = True
            return
        key = self.newest_key()
        if key is not None:
            with self._placing_cursor():
                self.move_cursor(row=self.get_row_index(key), animate=False)

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

    @contextmanager
    def _placing_cursor(self) -> Iterator[None]:
        """The table moves the cursor itself (rows laid out, followed): the user did not."""
        placing, self._placing = self._placing, True
        try:
            yield
        finally:
            self._placing = placing

    def watch_cursor_coordinate(self, old_coordinate: Any, new_coordinate: Any) -> None:
        super().watch_cursor_coordinate(old_coordinate, new_coordinate)
        if old_coordinate != new_coordinate and not self._placing and self.following:
            self.set_following(False)  # the user went somewhere: stay there

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        self.set_following(False)

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        self.set_following(False)

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=self.row_count - 1)
