"""The gallery's list: every job with a saved result that a filter matches, newest first, read
from the history a window at a time (no UI).

Opening it lays the list out once by SQL: the jobs' rowids in order, 8 bytes each (5,000
results: 40 KB; a million: 8 MB), as the queue model lays out a filtered view. A window (what
a screen shows, and a little more) is then one read by rowid. The filter is the table's own
language, compiled by queue_sql, so the gallery shows what the table's filter matches.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from krea_tui.core import queue_sql
from krea_tui.core.clock import utcnow
from krea_tui.core.query import Query
from krea_tui.core.search_index import prompt_sql
from krea_tui.core.store import JobStore

# Newest first: the time it was asked for, then the order it was added in (as newest_id).
ORDER = "jobs.created_at DESC, jobs.rowid DESC"
CHUNK = 500  # rowids per read: under SQLite's bound-parameter limit


@dataclass(frozen=True)
class GalleryItem:
    """One result: the job, the file of its first picture (what the viewer shows), and the
    job's rating (0-5, None: unrated) and pick (1, -1, None) as core/ratings has them."""

    index: int
    local_id: str
    path: Path
    prompt: str
    short_id: str
    rating: int | None = None
    pick: int | None = None


class GalleryModel:
    """The results `query` matches (every one without a query), newest first. Not
    thread-safe: use it where the store is used, from one event loop."""

    def __init__(
        self,
        store: JobStore,
        query: Query | None = None,
        *,
        now: Callable[[], datetime] = utcnow,
        present: frozenset[str] | None = None,
    ) -> None:
        self.store = store
        self.query = query
        where = queue_sql.TRUE
        if query is not None and not query.is_empty:
            where = queue_sql.where(
                query,
                now(),
                indexed=store.has_word_index,
                present=present,
                absent=store.absent_filters,
            )
        rows = store.scan(
            f"SELECT jobs.rowid FROM jobs WHERE ({where.text})"
            f" AND jobs.local_id IN (SELECT local_id FROM files) ORDER BY {ORDER}",
            where.args,
        )
        self._rowids = array("q", (row[0] for row in rows))

    def __len__(self) -> int:
        return len(self._rowids)

    def window(self, offset: int, limit: int) -> list[GalleryItem]:
        """The results from `offset` on, at most `limit` of them (fewer if some were removed
        from the history meanwhile: each item carries its index)."""
        offset, limit = max(0, offset), max(0, limit)
        wanted = self._rowids[offset : offset + limit]
        found: dict[int, tuple[str, str, str, str | None, int | None, int | None]] = {}
        # A read-only history from before ratings has no such columns: none to show.
        judged = "rating, pick" if self.store.has_ratings else "NULL, NULL"
        for start in range(0, len(wanted), CHUNK):
            chunk = list(wanted[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            for rowid, local_id, path, prompt, remote_id, rating, pick in self.store.scan(
                f"SELECT jobs.rowid, jobs.local_id,"
                " (SELECT path FROM files f WHERE f.local_id = jobs.local_id"
                "  ORDER BY idx LIMIT 1),"
                f" {prompt_sql()}, remote_id, {judged} FROM jobs WHERE jobs.rowid IN ({marks})",
                chunk,
            ):
                if path is not None:
                    found[rowid] = (local_id, path, prompt or "", remote_id, rating, pick)
        items: list[GalleryItem] = []
        for index, rowid in enumerate(wanted, offset):
            row = found.get(rowid)
            if row is not None:
                local_id, path, prompt, remote_id, rating, pick = row
                short = (remote_id or local_id)[:8]
                items.append(GalleryItem(index, local_id, Path(path), prompt, short, rating, pick))
        return items

    def index_of(self, local_id: str) -> int | None:
        row = self.store.first("SELECT rowid FROM jobs WHERE local_id = ?", (local_id,))
        if row is None:
            return None
        try:
            return self._rowids.index(int(row[0]))
        except ValueError:
            return None

    def local_ids(self) -> list[str]:
        """Every result's job id, in the gallery's order (what the viewer steps through):
        ids alone, never the jobs."""
        by_rowid: dict[int, str] = {}
        for start in range(0, len(self._rowids), CHUNK):
            chunk = list(self._rowids[start : start + CHUNK])
            marks = ",".join("?" * len(chunk))
            for rowid, local_id in self.store.scan(
                f"SELECT rowid, local_id FROM jobs WHERE rowid IN ({marks})", chunk
            ):
                by_rowid[rowid] = local_id
        return [by_rowid[r] for r in self._rowids if r in by_rowid]
