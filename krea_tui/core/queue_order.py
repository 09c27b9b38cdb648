"""The queue in its own order, unfiltered: what the queue view opens on, read straight from
the position index a window at a time, so that opening a million-job history costs what
opening a hundred-job one does."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from krea_tui.core.store import JobStore, StoredJob

NEAR = 2_000  # rows a window may be from a remembered one and still be read from it
ANCHORS = 64


class QueueOrder:
    """Windows of every job by position (newest last, or first when `reverse`), ties by rowid.

    Where windows began and ended is remembered, (position, rowid) by offset: a window near
    one is read on from it through the index, not by counting rows from an end (`OFFSET
    500000` walks half a million index entries). A job entering or leaving moves the rows
    after it, so what was remembered is forgotten then, unless the job went at the very end.
    """

    def __init__(self, store: JobStore, *, reverse: bool) -> None:
        self.store = store
        self.reverse = reverse
        self.anchors: dict[int, tuple[float, int]] = {}

    def window(self, offset: int, limit: int, total: int) -> list[tuple[int, StoredJob]]:
        """(rowid, job) of rows `offset` on, at most `limit`, of `total` rows."""
        limit = min(limit, total - offset)
        if limit <= 0:
            return []
        rows = self._from_anchor(offset, limit)
        if rows is None:
            if offset + limit / 2 > total / 2:  # nearer the end: read backwards from it
                rows = self._select("", (), limit, total - offset - limit, backwards=True)
            else:
                rows = self._select("", (), limit, offset)
        self._keep(offset, rows)
        return rows

    def index_of(self, rowid: int, position: float) -> int:
        way = ">" if self.reverse else "<"
        sql = f"SELECT COUNT(*) FROM jobs WHERE (position, jobs.rowid) {way} (?, ?)"
        row = self.store.first(sql, (position, rowid))
        return 0 if row is None else int(row[0])

    def entered(self, position: float) -> None:
        last = all(position > key[0] for key in self.anchors.values())
        if self.reverse or not last:
            self.anchors.clear()

    def left(self) -> None:
        self.anchors.clear()

    def _keep(self, offset: int, rows: Sequence[tuple[int, StoredJob]]) -> None:
        if not rows:
            return
        if len(self.anchors) > ANCHORS:
            self.anchors.clear()
        self.anchors[offset] = (rows[0][1].position, rows[0][0])
        self.anchors[offset + len(rows) - 1] = (rows[-1][1].position, rows[-1][0])

    def _select(
        self, where: str, args: tuple[Any, ...], limit: int, skip: int, *, backwards: bool = False
    ) -> list[tuple[int, StoredJob]]:
        down = self.reverse != backwards
        order = "position DESC, jobs.rowid DESC" if down else "position, jobs.rowid"
        rows = self.store.jobs_select(
            f"{where} ORDER BY {order} LIMIT ? OFFSET ?", (*args, limit, max(0, skip))
        )
        return rows[::-1] if backwards else rows

    def _from_anchor(self, offset: int, limit: int) -> list[tuple[int, StoredJob]] | None:
        if not self.anchors:
            return None
        at = min(self.anchors, key=lambda known: abs(known - offset))
        if abs(at - offset) > NEAR:
            return None
        key = self.anchors[at]
        ahead, behind = ("<=", ">") if self.reverse else (">=", "<")
        from_key = f"WHERE (position, jobs.rowid) {ahead} (?, ?)"
        if at <= offset:
            return self._select(from_key, key, limit, offset - at)
        # Rows offset .. at-1 are behind the anchor: read backwards from it, then on.
        before = self._select(
            f"WHERE (position, jobs.rowid) {behind} (?, ?)", key, at - offset, 0, backwards=True
        )
        if len(before) < at - offset:
            return None  # the anchor no longer says where it is: count from an end
        rest = limit - len(before)
        after = self._select(from_key, key, rest, 0) if rest > 0 else []
        return (before + after)[:limit]
