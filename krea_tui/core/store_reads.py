"""The history's reads and writes for the queue view (queue_model): its SQL run a window at a
time, the tally behind the counts and spend, and many jobs written at once. Mixed into
JobStore, as store_shared is."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, Any

from krea_tui.core import search_index

if TYPE_CHECKING:
    from krea_tui.core.store import StoredJob


class QueueReads:
    """Mixed into JobStore: what the queue model asks of the history."""

    _db: sqlite3.Connection
    _COLUMNS: str  # the columns a StoredJob is made of, in `_row_to_job`'s order

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...
        def _files_of(self, local_ids: Sequence[str]) -> dict[str, list[str]]: ...
        def _row_to_job(self, row: Sequence[Any], files: Sequence[str] = ()) -> StoredJob: ...

    @contextmanager
    def bulk_import(self) -> Iterator[sqlite3.Connection]:
        """Insert many jobs (with their timelines and files) in one transaction through the
        connection handed out: the secondary indexes, the word index and the tally are made
        for them in one pass at the end instead of row by row (a million jobs: seconds, not
        minutes). Inserts only: the tally is recounted whole at the end, and the word index
        takes the rows inserted, not changes to older ones.
        """
        with self.transaction():
            db = self._db
            last = db.execute("SELECT COALESCE(MAX(rowid), 0) FROM jobs").fetchone()[0]
            saved = search_index.suspend_for_bulk(db)
            yield db
            search_index.resume_after_bulk(db, saved, last)

    def scan(self, sql: str, args: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The rows of a read-only query as plain tuples, one at a time (the queue model's
        SQL, see queue_sql: a view of a million rows is read without a million Row objects).
        Read them all (or use `first`): see there."""
        cursor = self._db.cursor()
        cursor.row_factory = None
        return iter(cursor.execute(sql, args))

    def first(self, sql: str, args: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """The first row of a read-only query, its statement then closed: one left open would
        keep this connection reading an old snapshot of a history other processes write."""
        cursor = self._db.cursor()
        cursor.row_factory = None
        try:
            row: tuple[Any, ...] | None = cursor.execute(sql, args).fetchone()
        finally:
            cursor.close()
        return row

    def jobs_by_rowid(self, rowids: Sequence[int]) -> dict[int, StoredJob]:
        """The jobs with these SQLite rowids (a window of the queue view), by rowid."""
        rows: list[sqlite3.Row] = []
        for start in range(0, len(rowids), 500):
            chunk = rowids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                f"SELECT rowid, {self._COLUMNS} FROM jobs WHERE rowid IN ({marks})", chunk
            ).fetchall()
        files = self._files_of([r["local_id"] for r in rows])
        return {r[0]: self._row_to_job(r[1:], files.get(r["local_id"], ())) for r in rows}

    def jobs_select(self, tail: str, args: Sequence[Any] = ()) -> list[tuple[int, StoredJob]]:
        """(rowid, job) of `SELECT rowid, <job columns> FROM jobs <tail>`, in its order."""
        rows = self._db.execute(f"SELECT rowid, {self._COLUMNS} FROM jobs {tail}", args).fetchall()
        files = self._files_of([r["local_id"] for r in rows])
        return [(r[0], self._row_to_job(r[1:], files.get(r["local_id"], ()))) for r in rows]

    def ids_with_files(self) -> list[str]:
        """The ids of jobs with a saved result, in queue order (what the viewer steps through):
        ids alone, so opening the viewer does not read the whole history's jobs."""
        rows = self.scan(
            "SELECT local_id FROM jobs WHERE local_id IN (SELECT local_id FROM files)"
            " ORDER BY position"
        )
        return [str(row[0]) for row in rows]

    def tally(self) -> list[tuple[str, str, int, int, float]]:
        """(status, cost unit, jobs, priced jobs, their cost) per status and unit, from the
        table the triggers keep (search_index): the counts and spend of a whole history."""
        rows = self._db.execute(
            "SELECT status, unit, jobs, priced, cost FROM job_tally WHERE jobs > 0"
        )
        return [(r[0], r[1], int(r[2]), int(r[3]), float(r[4])) for r in rows]
