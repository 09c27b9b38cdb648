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

    def index_of(self, rowid: int, position: float, total: int) -> int:
        """The offset of the row (position, rowid) among `total` rows: its rows counted from
        the nearest place known (either end, or a remembered window's edge), judged by
        position, so the newest job of a million is not found by counting the million."""
        target = (position, rowid)
        # Two subqueries: MIN and MAX in one SELECT walk the whole index; each alone, one row.
        ends = self.store.first(
            "SELECT (SELECT MIN(position) FROM jobs), (SELECT MAX(position) FROM jobs)"
        )
        low, high = (position, position) if ends is None or ends[0] is None else ends
        # (distance in position, natural index of the place, its key or None for an end)
        places: list[tuple[float, int, tuple[float, int] | None]] = [
            (position - float(low), -1, None),
            (float(high) - position, total, None),
        ]
        for offset, anchor in self.anchors.items():
            natural = total - 1 - offset if self.reverse else offset
            places.append((abs(position - anchor[0]), natural, anchor))
        _, natural, key = min(places, key=lambda place: place[0])
        if key is None and natural < 0:
            found = self._count("(position, jobs.rowid) < (?, ?)", target)
        elif key is None:
            found = total - 1 - self._count("(position, jobs.rowid) > (?, ?)", target)
        elif key < target:
            between = "(position, jobs.rowid) > (?, ?) AND (position, jobs.rowid) < (?, ?)"
            found = natural + 1 + self._count(between, (*key, *target))
        elif key > target:
            between = "(position, jobs.rowid) > (?, ?) AND (position, jobs.rowid) < (?, ?)"
            found = natural - 1 - self._count(between, (*target, *key))
        else:
            found = natural
        return total - 1 - found if self.reverse else found

    def _count(self, where: str, args: tuple[Any, ...]) -> int:
        row = self.store.first(f"SELECT COUNT(*) FROM jobs WHERE {where}", args)
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
