"""The part of the history that several krea-tui processes share: the queue's pause, the claim
that lets exactly one process send a held job, the leases for polling and for matching lost
POSTs, and the revisions by which each process follows what the others changed.

A TUI and a cron `krea-tui submit` on one history is normal use. Whatever one process decides
about the queue must hold for all of them, so it is decided here, in one transaction that only
one process can win, and never from one process's memory alone.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from krea_tui.core.processes import process_alive

if TYPE_CHECKING:
    from krea_tui.core.store import StoredJob


@dataclass(frozen=True, slots=True)
class QueueState:
    paused: bool = False
    reason: str | None = None
    reconciling: str | None = None  # the process matching lost POSTs, while it lives
    watcher: str | None = None  # the process polling the server for everyone


@dataclass(frozen=True, slots=True)
class Changes:
    """What other processes changed since a revision."""

    jobs: list[StoredJob]
    removed: list[str]
    rev: int


class SharedQueue:
    """Mixed into JobStore: the queries that coordinate processes on one history."""

    _db: sqlite3.Connection
    me: str
    _SELECT: str

    if TYPE_CHECKING:

        def transaction(self) -> AbstractContextManager[None]: ...
        def active_where(self) -> str: ...
        def get(self, local_id: str) -> StoredJob: ...
        def set_status(
            self, local_id: str, status: str, at: datetime, *, skipped: Sequence[str] = (),
            expect: str | None = None, **changes: Any,
        ) -> bool: ...  # fmt: skip
        def _with_files(self, rows: Sequence[sqlite3.Row]) -> list[StoredJob]: ...

    def next_rev(self) -> int:
        """A new revision number; call inside the transaction that makes the change."""
        row = self._db.execute(
            "UPDATE queue_state SET rev = rev + 1 WHERE id = 1 RETURNING rev"
        ).fetchone()
        return int(row[0])

    def current_rev(self) -> int:
        return int(self._db.execute("SELECT rev FROM queue_state WHERE id = 1").fetchone()[0])

    def data_version(self) -> int:
        """Changes when another connection commits: a cheap "did anyone else write?"."""
        return int(self._db.execute("PRAGMA data_version").fetchone()[0])

    # -- the pause ------------------------------------------------------------------------------

    def queue_state(self) -> QueueState:
        row = self._db.execute(
            "SELECT paused, pause_reason, reconciling, reconciling_until, watcher, watcher_until"
            " FROM queue_state WHERE id = 1"
        ).fetchone()
        now = time.time()

        def holder(who: str | None, until: float | None) -> str | None:
            return who if who and (until or 0) > now and process_alive(who) else None

        return QueueState(
            paused=bool(row[0]),
            reason=row[1],
            reconciling=holder(row[2], row[3]),
            watcher=holder(row[4], row[5]),
        )

    def set_paused(self, paused: bool, reason: str | None = None) -> None:
        with self.transaction():
            self._db.execute(
                "UPDATE queue_state SET paused = ?, pause_reason = ? WHERE id = 1",
                (int(paused), reason if paused else None),
            )
            self.next_rev()

    # -- claims ---------------------------------------------------------------------------------

    def in_flight_where(self) -> str:
        """SQL for the jobs that count against the in-flight limit: a POST under way anywhere,
        or on the server and not finished (any status the service adds later included). Asked
        at every claim: through the status index (a scan took 0.7 s at a million jobs)."""
        active = self.active_where()
        # "OR (0)" (nothing on the server) made SQLite scan the status index whole.
        return "status = 'submitting'" if active == "0" else f"status = 'submitting' OR ({active})"

    def claim_next_held(self, max_in_flight: int, now: datetime) -> StoredJob | None:
        """Move the first held job to `submitting` for this process, if the queue may send one
        now: not paused, nobody matching lost POSTs, fewer than `max_in_flight` jobs in flight
        across every process. One transaction: of two processes, exactly one gets each job."""
        with self.transaction():
            state = self.queue_state()
            if state.paused or state.reconciling:
                return None
            in_flight = self._db.execute(
                f"SELECT COUNT(*) FROM jobs WHERE {self.in_flight_where()}"
            )
            if int(in_flight.fetchone()[0]) >= max_in_flight:
                return None
            row = self._db.execute(
                "SELECT local_id FROM jobs WHERE status = 'held' AND remote_id IS NULL"
                " ORDER BY position LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            self.set_status(row[0], "submitting", now, submitted_at=now, claimed_by=self.me)
        return self.get(row[0])

    def count_submitting(self) -> int:
        row = self._db.execute("SELECT COUNT(*) FROM jobs WHERE status = 'submitting'").fetchone()
        return int(row[0])

    def orphaned_claims(self) -> list[StoredJob]:
        """Jobs in `submitting` whose sender has died: nobody will ever hear their answer."""
        rows = self._db.execute(
            "SELECT local_id, claimed_by FROM jobs WHERE status = 'submitting' ORDER BY position"
        ).fetchall()
        return [self.get(local_id) for local_id, who in rows if not process_alive(who)]

    # -- leases ---------------------------------------------------------------------------------

    def _take(self, name: str, ttl: float) -> bool:
        """Take or renew the lease `name` for this process (unless a live process holds it)."""
        now = time.time()
        with self.transaction():
            who, until = self._db.execute(
                f"SELECT {name}, {name}_until FROM queue_state WHERE id = 1"
            ).fetchone()
            if who not in (None, self.me) and (until or 0) > now and process_alive(who):
                return False
            self._db.execute(
                f"UPDATE queue_state SET {name} = ?, {name}_until = ? WHERE id = 1",
                (self.me, now + ttl),
            )
        return True

    def _give_back(self, name: str) -> None:
        self._db.execute(
            f"UPDATE queue_state SET {name} = NULL, {name}_until = NULL"
            f" WHERE id = 1 AND {name} = ?",
            (self.me,),
        )

    def take_watcher_lease(self, ttl: float) -> bool:
        return self._take("watcher", ttl)

    def release_watcher_lease(self) -> None:
        self._give_back("watcher")

    def begin_reconciling(self, ttl: float) -> bool:
        """Hold every process's POSTs back while lost POSTs are matched (a job created by a
        POST still under way would look like a lost one). False if another process is at it."""
        return self._take("reconciling", ttl)

    def end_reconciling(self) -> None:
        self._give_back("reconciling")

    # -- following the others -------------------------------------------------------------------

    def changes_since(self, rev: int) -> Changes:
        """Jobs other processes changed (or removed) after revision `rev`, in one snapshot."""
        outer = self._db.in_transaction
        if not outer:
            self._db.execute("BEGIN")
        try:
            current = self.current_rev()
            rows = self._db.execute(
                f"{self._SELECT} WHERE rev > ? AND rev <= ? AND changed_by IS NOT ? ORDER BY rev",
                (rev, current, self.me),
            ).fetchall()
            removed = [
                r[0]
                for r in self._db.execute(
                    "SELECT local_id FROM removed WHERE rev > ? AND rev <= ?", (rev, current)
                )
            ]
            jobs = self._with_files(rows)
        finally:
            if not outer:
                self._db.execute("COMMIT")
        return Changes(jobs, removed, current)

    def owner_of(self, local_id: str) -> str | None:
        row = self._db.execute("SELECT owner FROM jobs WHERE local_id = ?", (local_id,)).fetchone()
        return row[0] if row else None
