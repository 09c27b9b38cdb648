"""A filtered, sorted or grouped view of the queue laid out once: the SQLite rowids of its
rows in view order, 8 bytes a row, so that any window of it is one indexed read and the
history itself stays on disk. Batch headers of a grouped view are negative numbers in the
same array (header i is -(i + 1))."""

from __future__ import annotations

from array import array
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(slots=True)
class Group:
    """A batch's header in a grouped layout: how many of the view's jobs it has and how
    they ended (kept up to date by the model as statuses change)."""

    batch_id: str | None
    jobs: int = 0
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    def count(self, status: str, n: int) -> None:
        if status == "completed":
            self.done += n
        elif status == "failed":
            self.failed += n
        elif status == "cancelled":
            self.cancelled += n


class Layout:
    """Rowids in view order. `keys` (when kept) are the rows' sort values, ascending, so a
    job entering the view is put in its place without laying the view out again."""

    def __init__(
        self, ids: array[int], keys: array[float] | None = None, groups: list[Group] | None = None
    ) -> None:
        self.ids = ids
        self.keys = keys
        self.groups = groups or []
        self._headers = {group.batch_id: -(i + 1) for i, group in enumerate(self.groups)}

    @classmethod
    def plain(cls, rows: Iterable[tuple[int]]) -> Layout:
        return cls(array("q", (row[0] for row in rows)))

    @classmethod
    def keyed(cls, rows: Iterable[tuple[int, float]], *, negate: bool) -> Layout:
        ids: array[int] = array("q")
        keys: array[float] = array("d")
        sign = -1.0 if negate else 1.0
        for rowid, key in rows:
            ids.append(rowid)
            keys.append(sign * key)
        return cls(ids, keys)

    @classmethod
    def grouped(cls, rows: Iterable[tuple[int, str | None, str]]) -> Layout:
        """Rows (rowid, batch, status) in view order, split by batch as `job_order.grouped`
        does: batches in the order their first job comes, jobs of no batch last."""
        members: dict[str | None, array[int]] = {}
        groups: dict[str | None, Group] = {}
        for rowid, batch_id, status in rows:
            ids = members.get(batch_id)
            if ids is None:
                ids = members[batch_id] = array("q")
                groups[batch_id] = Group(batch_id)
            ids.append(rowid)
            group = groups[batch_id]
            group.jobs += 1
            group.count(status, 1)
        order = [b for b in members if b is not None] + ([None] if None in members else [])
        out: array[int] = array("q")
        for index, batch_id in enumerate(order):
            out.append(-(index + 1))
            out.extend(members.pop(batch_id))
        return cls(out, groups=[groups[b] for b in order])

    def __len__(self) -> int:
        return len(self.ids)

    def index(self, rowid: int) -> int | None:
        try:
            return self.ids.index(rowid)
        except ValueError:
            return None

    def header_index(self, batch_id: str | None) -> int | None:
        marker = self._headers.get(batch_id)
        return None if marker is None else self.index(marker)

    def group_of(self, marker: int) -> Group:
        return self.groups[-marker - 1]

    def group(self, batch_id: str | None) -> Group | None:
        marker = self._headers.get(batch_id)
        return None if marker is None else self.group_of(marker)

    def insert(self, rowid: int, key: float) -> None:
        """Put a job entering the view in its place (keyed layouts only): after the rows
        with the same key, as a newer job is in the queue's order."""
        assert self.keys is not None
        at = bisect_right(self.keys, key)
        self.ids.insert(at, rowid)
        self.keys.insert(at, key)

    def remove(self, rowid: int) -> bool:
        at = self.index(rowid)
        if at is None:
            return False
        del self.ids[at]
        if self.keys is not None:
            del self.keys[at]
        return True
