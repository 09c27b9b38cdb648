"""The job queue as a model over the history, with no UI: the view (filter, sort, grouping),
its rows a window at a time, the marks, the jobs still under way, and the summary.

A screen draws from it and feeds it the engine's events (`apply`), which say what to redraw.
Its cost follows what is shown, not how long the history is:

- The queue in its own order, unfiltered (what opens), is read straight from the position
  index (queue_order): a window is one indexed query, from the nearer end or from the last
  window read, and the row count is the tally's (search_index), kept by triggers.
- Any other view is laid out once when it is set (queue_layout: its rowids in order, 8 bytes
  a row), by SQL (queue_sql); a window is then one read by rowid.
- Jobs not yet ended are kept in memory (a few thousand at most: what is held or in flight);
  ended ones are read when shown.

As in the table before it, a row does not move when a change gives it another sort value:
rows come and go as jobs enter and leave the view, and a later setting of the view (or
`refresh`) sorts again.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from datetime import datetime

from krea_tui.core import queue_sql
from krea_tui.core.clock import utcnow
from krea_tui.core.endings import Tally, batch_finished, job_ended
from krea_tui.core.events import DownloadEvent, EngineEvent, JobEvent, RemovedEvent
from krea_tui.core.models import LIFECYCLE_ORDER
from krea_tui.core.query import parse
from krea_tui.core.queue_layout import Group, Layout
from krea_tui.core.queue_marks import QueueMarks
from krea_tui.core.queue_order import QueueOrder
from krea_tui.core.queue_view import (
    GroupHeader,
    QueueChanges,
    QueueRow,
    QueueSummary,
    QueueView,
    changed_cells,
    summary_of_jobs,
    summary_of_tally,
)
from krea_tui.core.status import FINAL
from krea_tui.core.store import JobStore, StoredJob

# Up to this many jobs, any filter runs as it is typed (reading every job takes ~50 ms here);
# beyond, one that must read every job waits for Enter (`filter_waits`).
SCAN_FREE = 50_000
# How many of the newest jobs `newest_id` looks through before asking the whole history.
NEWEST_FIRST = 2_000


class QueueModel(QueueMarks):
    """The queue of one history as a screen shows it (see the module's note). Not
    thread-safe: use it where the store is used, from one event loop."""

    def __init__(
        self,
        store: JobStore,
        *,
        now: Callable[[], datetime] = utcnow,
        view: QueueView | None = None,
    ) -> None:
        self.store = store
        self._clock = now
        self._marks: set[str] = set()
        self._summary = self._read_summary()
        self._active = self._read_active()
        self._view = view or QueueView()
        self._lay_out()

    # -- the view ------------------------------------------------------------------------------

    @property
    def view(self) -> QueueView:
        return self._view

    def set_view(self, view: QueueView) -> bool:
        """Show `view`; False when it is the one shown already."""
        if view == self._view:
            return False
        self._view = view
        self._lay_out()
        return True

    def set_filter(self, text: str) -> bool:
        if text == self._view.query.text:
            return False
        return self.set_view(replace(self._view, query=parse(text)))

    def filter_waits(self, text: str) -> bool:
        """Whether filtering by `text` as it is typed would stall the keys: the history is
        long and the filter can only be answered by reading every job. Such a filter is
        for Enter to run (the screen says so)."""
        if self._summary.total <= SCAN_FREE:
            return False
        query = parse(text)
        return not query.problems and queue_sql.reads_every_job(
            query, indexed=self.store.has_word_index
        )

    def refresh(self) -> None:
        """Read everything again (after changes that came without events)."""
        self._summary = self._read_summary()
        self._active = self._read_active()
        self._lay_out()

    def _lay_out(self) -> None:
        view = self._view
        self._view_now = self._clock()
        self._sort = queue_sql.sort_name(view.sort)
        self._where = self._compile_where()
        self._order = queue_sql.order_by(self._sort, view.reverse, self._view_now)
        self._streamed = view.query.is_empty and self._sort == "created" and not view.group
        self._layout: Layout | None = None
        self._order_rows = QueueOrder(self.store, reverse=view.reverse)
        self._marked_batches: Counter[str | None] | None = None
        # The newest job shown, (created_at, rowid, local_id), once looked for; kept through
        # events (a job entering may be newer), looked for again when it leaves.
        self._newest: tuple[str, int, str] | None = None
        self._newest_known = False

    def _laid_out(self) -> Layout:
        """The view's layout, made now if it is due (first use, or rows entered that only a
        new sort can place)."""
        if self._layout is None:
            view = self._view
            self._view_now = self._clock()  # a later layout sees the time it is made at
            self._where = self._compile_where()
            self._order = queue_sql.order_by(self._sort, view.reverse, self._view_now)
            tail = f"FROM jobs WHERE {self._where.text} ORDER BY {self._order.text}"
            args = self._where.args + self._order.args
            if view.group:
                rows = self.store.scan(f"SELECT jobs.rowid, batch_id, status {tail}", args)
                self._layout = Layout.grouped(rows)
            elif self._sort == "created":
                rows = self.store.scan(f"SELECT jobs.rowid, position {tail}", args)
                self._layout = Layout.keyed(rows, negate=view.reverse)
            else:
                self._layout = Layout.plain(self.store.scan(f"SELECT jobs.rowid {tail}", args))
        return self._layout

    def _compile_where(self) -> queue_sql.Sql:
        return queue_sql.where(
            self._view.query,
            self._view_now,
            indexed=self.store.has_word_index,
            present=frozenset(self._summary.counts) if self.store.has_tally else None,
            absent=self.store.absent_filters,
        )

    def matches(self, job: StoredJob) -> bool:
        """Whether the view's filter takes `job` (at the time the view was laid out)."""
        return self._view.query.matches(job, self._view_now)

    # -- rows ----------------------------------------------------------------------------------

    def row_count(self) -> int:
        """Rows of the view, batch headers included."""
        if self._streamed:
            return self._summary.total
        return len(self._laid_out())

    def shown_count(self) -> int:
        """Jobs the view shows (its rows less the batch headers): the "N" of "N of M"."""
        if self._streamed:
            return self._summary.total
        layout = self._laid_out()
        return len(layout) - len(layout.groups)

    def window(self, offset: int, limit: int) -> list[QueueRow]:
        """The rows from `offset` on, at most `limit` of them."""
        offset, limit = max(0, offset), max(0, limit)
        if self._streamed:
            return [job for _, job in self._order_rows.window(offset, limit, self.row_count())]
        layout = self._laid_out()
        ids = layout.ids[offset : offset + limit]
        jobs = self.store.jobs_by_rowid([i for i in ids if i >= 0])
        rows: list[QueueRow] = []
        for rowid in ids:
            if rowid < 0:
                rows.append(self._header(layout.group_of(rowid)))
            elif rowid in jobs:  # else removed meanwhile, its event not yet applied
                rows.append(jobs[rowid])
        return rows

    def index_of(self, local_id: str) -> int | None:
        """Where the job's row is in the view (None: not shown): to keep the cursor on it."""
        found = self._rowid(local_id)
        if found is None:
            return None
        rowid, position = found
        if self._streamed:
            return self._order_rows.index_of(rowid, position, self.row_count())
        return self._laid_out().index(rowid)

    def index_of_batch(self, batch_id: str | None) -> int | None:
        """Where a batch's header row is (grouped views only)."""
        if not self._view.group:
            return None
        return self._laid_out().header_index(batch_id)

    def _rowid(self, local_id: str) -> tuple[int, float] | None:
        row = self.store.first("SELECT rowid, position FROM jobs WHERE local_id = ?", (local_id,))
        return None if row is None else (int(row[0]), float(row[1]))

    def _header(self, group: Group) -> GroupHeader:
        tally = Tally(group.done, group.failed, group.cancelled)
        return GroupHeader(group.batch_id, group.jobs, tally, self._marked_in(group.batch_id))

    def shown_ids(self) -> list[str]:
        """Every job id of the view, in its order (what "mark all shown" marks)."""
        tail = f"FROM jobs WHERE {self._where.text} ORDER BY {self._order.text}"
        args = self._where.args + self._order.args
        if not self._view.group:
            return [row[0] for row in self.store.scan(f"SELECT local_id {tail}", args)]
        # As job_order.grouped splits them: batches in the order their first job comes,
        # jobs of no batch last.
        batches: dict[str | None, list[str]] = {}
        for local_id, batch_id in self.store.scan(f"SELECT local_id, batch_id {tail}", args):
            batches.setdefault(batch_id, []).append(local_id)
        loose = batches.pop(None, [])
        return [i for ids in batches.values() for i in ids] + loose

    def newest_id(self) -> str | None:
        """The newest job the view shows (the last asked for: its creation time, then the
        order it was added in, which moving a held job does not change), wherever the view
        puts it: the row a following cursor sits on."""
        if not self._newest_known:
            where, args = self._where.text, self._where.args
            # The newest few thousand jobs first, walked down the creation index: a filter
            # that matches any of them is answered there (SQLite, left to itself, sorted
            # every match of a word: 0.9 s for one in a fifth of a million jobs). Then all.
            row = None
            if self.store.schema_version >= 4:  # has jobs_created
                row = self.store.first(
                    "SELECT created_at, rowid, local_id FROM (SELECT jobs.rowid AS rowid, *"
                    " FROM jobs INDEXED BY jobs_created"
                    " ORDER BY created_at DESC, jobs.rowid DESC"
                    f" LIMIT {NEWEST_FIRST}) AS jobs WHERE {where} LIMIT 1",
                    args,
                )
            if row is None:
                row = self.store.first(
                    f"SELECT created_at, jobs.rowid, local_id FROM jobs WHERE {where}"
                    " ORDER BY created_at DESC, jobs.rowid DESC LIMIT 1",
                    args,
                )
            self._newest = None if row is None else (str(row[0]), int(row[1]), str(row[2]))
            self._newest_known = True
        return None if self._newest is None else self._newest[2]

    def _newest_entered(self, local_id: str) -> None:
        if not self._newest_known:
            return
        row = self.store.first(
            "SELECT created_at, rowid, local_id FROM jobs WHERE local_id = ?", (local_id,)
        )
        if row is not None:
            candidate = (str(row[0]), int(row[1]), str(row[2]))
            if self._newest is None or candidate[:2] > self._newest[:2]:
                self._newest = candidate

    def _newest_left(self, local_id: str) -> None:
        if self._newest is not None and self._newest[2] == local_id:
            self._newest_known = False

    def batch_jobs(self, batch_id: str | None) -> list[StoredJob]:
        """The batch's jobs the view shows, in its order (a bulk action on a header)."""
        where = self._where & queue_sql.Sql("batch_id IS ?", (batch_id,))
        rows = self.store.jobs_select(
            f"WHERE {where.text} ORDER BY {self._order.text}", where.args + self._order.args
        )
        return [job for _, job in rows]

    # -- the summary and the jobs under way ------------------------------------------------------

    @property
    def summary(self) -> QueueSummary:
        return self._summary

    def active_jobs(self) -> list[StoredJob]:
        """Jobs not ended (held, being sent, on the server), in queue order."""
        return sorted(self._active.values(), key=lambda job: job.position)

    def judged_and_idle(self) -> bool:
        """No job shown is under way (a progress bar would be blank on every row) and one
        shown is rated, picked or rejected: where the table has room for only one of them,
        the stars then take the progress bar's place. Costs the jobs under way (held here)
        and, when none is shown, a walk of the judged jobs (a few among thousands) through the
        ratings' partial indexes with the view's own filter."""
        if not self.store.has_ratings:
            return False
        if any(
            job.status in LIFECYCLE_ORDER and self.matches(job) for job in self._active.values()
        ):
            return False
        where = self._compile_where()
        return any(
            self.store.first(
                f"SELECT 1 FROM jobs INDEXED BY jobs_{judged}"
                f" WHERE {judged} IS NOT NULL AND ({where.text}) LIMIT 1",
                where.args,
            )
            for judged in ("rating", "pick")
        )

    def running_jobs(self) -> list[StoredJob]:
        """Jobs the server has and has not finished: the rows whose time cell ticks."""
        return [job for job in self._active.values() if job.is_active_remote]

    def _read_summary(self) -> QueueSummary:
        if self.store.has_tally:
            return summary_of_tally(self.store.tally())
        return summary_of_jobs(self.store.jobs())  # a read-only history from before the tally

    def _read_active(self) -> dict[str, StoredJob]:
        statuses = sorted(s for s in self._summary.counts if s not in FINAL)
        if not statuses:
            return {}
        marks = ",".join("?" * len(statuses))
        rows = self.store.jobs_select(f"WHERE status IN ({marks})", statuses)
        return {job.local_id: job for _, job in rows}

    # -- events ----------------------------------------------------------------------------------

    def apply(self, events: Iterable[EngineEvent]) -> QueueChanges:
        """Take the engine's events (already in the store) and say what they changed."""
        changes = QueueChanges()
        touched = False
        for event in events:
            if isinstance(event, JobEvent):
                self._changed(event.job, event.old, changes, status_event=True, was=event.before)
            elif isinstance(event, DownloadEvent):
                self._changed(event.job, None, changes, status_event=False)
            elif isinstance(event, RemovedEvent):
                self._removed(event.local_ids, changes)
            else:
                continue
            touched = True
        if not touched:
            return changes
        for batch_id in sorted({job.batch_id for job in changes.ended if job.batch_id}):
            outcome = batch_finished(self._statuses_of_batch(batch_id))
            if outcome is not None and outcome.total > 1:
                changes.batches_ended[batch_id] = outcome
        summary = self._read_summary()
        changes.summary = summary != self._summary
        self._summary = summary
        if changes.entered or changes.left or changes.marks:
            self._marked_batches = None
        changes.moved = changes.moved or bool(changes.entered or changes.left)
        return changes

    def _changed(
        self,
        job: StoredJob,
        old: str | None,
        changes: QueueChanges,
        *,
        status_event: bool,
        was: StoredJob | None = None,
    ) -> None:
        local_id = job.local_id
        before = self._active.get(local_id) or was
        if old is None and before is not None:
            old = before.status  # another process's change comes without the old status
        if status_event and old is not None and job_ended(JobEvent(job, old, job.status)):
            changes.ended.append(job)
        if job.is_final:
            self._active.pop(local_id, None)
        else:
            self._active[local_id] = job
        # What the job was: our copy, else the event's word for its status. A job neither
        # tells of (not under way before, no old status) is new to this model.
        prior = before or (replace(job, status=old) if old is not None else None)
        if not status_event and prior is None:
            prior = job  # a saved file changes nothing the filter looks at
        now_in = self.matches(job)
        was_in = self.matches(prior) if prior is not None else self._in_layout(job)
        if was_in and now_in:
            # Without a copy, a status change may have changed anything; a saved file, nothing.
            cells = changed_cells(before or (None if status_event else job), job)
            if cells:
                changes.cells[local_id] = cells
            if self._view.group and prior is not None and prior.status != job.status:
                self._count_in_group(job.batch_id, prior.status, job.status, changes)
        elif now_in:
            changes.entered.add(local_id)
            self._entered(job)
            self._newest_entered(local_id)
        elif was_in:
            changes.left.add(local_id)
            self._left(job)
            self._newest_left(local_id)

    def _in_layout(self, job: StoredJob) -> bool:
        """Whether a job new to this model is among the rows already (a layout made after
        another process added it, before its event came)."""
        if self._streamed or self._layout is None:
            return False
        found = self._rowid(job.local_id)
        return found is not None and self._layout.index(found[0]) is not None

    def _entered(self, job: StoredJob) -> None:
        if self._streamed:
            self._order_rows.entered(job.position)
            return
        layout = self._layout
        found = self._rowid(job.local_id)
        if layout is None or found is None:
            return
        if layout.keys is None:
            self._layout = None  # placed by the next layout (as the table's rebuild_soon)
        elif layout.index(found[0]) is None:
            layout.insert(found[0], -found[1] if self._view.reverse else found[1])

    def _left(self, job: StoredJob) -> None:
        if self._streamed:
            self._order_rows.left()
            return
        if self._layout is None:
            return
        if self._view.group:
            self._layout = None
            return
        found = self._rowid(job.local_id)
        if found is not None:
            self._layout.remove(found[0])

    def _count_in_group(
        self, batch_id: str | None, old: str, new: str, changes: QueueChanges
    ) -> None:
        changes.headers.add(batch_id)
        group = self._layout.group(batch_id) if self._layout is not None else None
        if group is not None:
            group.count(old, -1)
            group.count(new, 1)

    def _removed(self, local_ids: Sequence[str], changes: QueueChanges) -> None:
        for local_id in local_ids:
            self._newest_left(local_id)
            self._active.pop(local_id, None)
            if local_id in self._marks:
                self._marks.discard(local_id)
                changes.marks.add(local_id)
        changes.left.update(local_ids)
        changes.moved = True
        if self._streamed:
            self._order_rows.left()
        else:
            self._layout = None  # their rowids are gone with them: lay the view out again

    def _statuses_of_batch(self, batch_id: str) -> list[StoredJob]:
        rows = self.store.scan("SELECT status FROM jobs WHERE batch_id = ?", (batch_id,))
        now = self._view_now
        return [StoredJob("", "", {}, status, 0.0, now) for (status,) in rows]
