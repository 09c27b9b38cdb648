"""The marks of the queue view: a set of job ids, shown or not, and what a bulk action acts
on. Mixed into QueueModel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import TYPE_CHECKING

from krea_tui.core.job_order import ordered
from krea_tui.core.queue_layout import Layout
from krea_tui.core.queue_view import QueueRow, QueueView
from krea_tui.core.store import JobStore, StoredJob

_CHUNK = 500  # ids per `IN (...)`, under SQLite's limit on bound parameters


class QueueMarks:
    """Mixed into QueueModel; the attributes below are the model's."""

    store: JobStore
    _marks: set[str]
    _marked_batches: Counter[str | None] | None  # marked jobs shown, per batch; None: unknown
    _streamed: bool
    _view: QueueView
    _view_now: datetime

    if TYPE_CHECKING:

        def window(self, offset: int, limit: int) -> list[QueueRow]: ...
        def shown_ids(self) -> list[str]: ...
        def batch_jobs(self, batch_id: str | None) -> list[StoredJob]: ...
        def matches(self, job: StoredJob) -> bool: ...
        def _laid_out(self) -> Layout: ...

    @property
    def marks(self) -> frozenset[str]:
        return frozenset(self._marks)

    def is_marked(self, local_id: str) -> bool:
        """Whether one job is marked, without copying the marks (a line drawn per call)."""
        return local_id in self._marks

    def set_marks(self, local_ids: Iterable[str], marked: bool) -> set[str]:
        """Mark or unmark jobs (shown or not); the ids whose mark changed."""
        wanted = set(local_ids)
        changed = wanted - self._marks if marked else wanted & self._marks
        if marked:
            self._marks |= changed
        else:
            self._marks -= changed
        if changed:
            self._marked_batches = None
        return changed

    def toggle_mark(self, local_id: str) -> set[str]:
        return self.set_marks([local_id], local_id not in self._marks)

    def toggle_batch(self, batch_id: str | None) -> set[str]:
        """Mark the batch's shown jobs, or unmark them if all are marked already."""
        ids = [job.local_id for job in self.batch_jobs(batch_id)]
        return self.set_marks(ids, not all(i in self._marks for i in ids))

    def mark_rows(self, start: int, end: int) -> set[str]:
        """Mark the jobs of rows `start` to `end`, both included, in either order."""
        low, high = sorted((start, end))
        rows = self.window(low, high - low + 1)
        return self.set_marks([r.local_id for r in rows if isinstance(r, StoredJob)], True)

    def mark_all(self) -> set[str]:
        return self.set_marks(self.shown_ids(), True)

    def invert_marks(self) -> set[str]:
        shown = self.shown_ids()
        on = [i for i in shown if i not in self._marks]
        changed = self.set_marks([i for i in shown if i in self._marks], False)
        return changed | self.set_marks(on, True)

    def clear_marks(self) -> set[str]:
        return self.set_marks(list(self._marks), False)

    def marked_jobs(self) -> list[StoredJob]:
        """The marked jobs still in the history, in queue order."""
        return [job for _, job in self._marked_rows()]

    def _marked_rows(self) -> list[tuple[int, StoredJob]]:
        ids = sorted(self._marks)
        rows: list[tuple[int, StoredJob]] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            rows += self.store.jobs_select(f"WHERE local_id IN ({marks})", chunk)
        return sorted(rows, key=lambda pair: (pair[1].position, pair[0]))

    def targets(self) -> tuple[list[StoredJob], int]:
        """What a bulk action acts on: the marked jobs, those shown in view order and then
        the hidden ones (in queue order), and how many of them the filter hides."""
        marked = self._marked_rows()
        shown = [(rowid, job) for rowid, job in marked if self.matches(job)]
        hidden = [job for _, job in marked if not self.matches(job)]
        return self._in_view_order(shown) + hidden, len(hidden)

    def _in_view_order(self, rows: list[tuple[int, StoredJob]]) -> list[StoredJob]:
        jobs = [job for _, job in rows]
        if self._streamed:
            return ordered(jobs, self._view_now, sort="created", reverse=self._view.reverse)
        layout = self._laid_out()
        place: Callable[[int], int | None] = layout.index
        if len(rows) > 50:  # one pass over the layout rather than one per job
            where = {rowid: index for index, rowid in enumerate(layout.ids)}
            place = where.get
        last = len(layout)
        placed = [(place(rowid), job) for rowid, job in rows]
        return [job for _, job in sorted(placed, key=lambda p: last if p[0] is None else p[0])]

    def _marked_in(self, batch_id: str | None) -> int:
        if not self._marks:
            return 0
        if self._marked_batches is None:
            shown = [job for job in self.marked_jobs() if self.matches(job)]
            self._marked_batches = Counter(job.batch_id for job in shown)
        return self._marked_batches[batch_id]
