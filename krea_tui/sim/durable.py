"""The simulator's jobs on disk, so that a demo service can die (even by SIGKILL) and come back.

A job is written once when it is created and once more if the user cancels it: everything else
(when a backlogged job starts, when it ends) follows from its stored plan and the clock, and
SimState recomputes it on load by replaying creations and cancellations in time order. SQLite in
WAL mode: a committed job survives the process being killed at any moment.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from krea_tui.sim.jobs import JobRequest, Outcome, SimJob

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL,
    request TEXT NOT NULL,
    created REAL NOT NULL,
    created_ms INTEGER NOT NULL,
    durations TEXT NOT NULL,
    outcome TEXT NOT NULL,
    started_at_create INTEGER NOT NULL,
    skip_empty INTEGER NOT NULL DEFAULT 0,
    cancelled_at REAL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class JobFile:
    """One simulator's jobs in a SQLite file. Thread-safe (SimState calls it under its lock)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            self.path, timeout=10.0, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")  # durable against a killed process
        self._db.executescript(_SCHEMA)
        self._db.execute(
            "INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
        )
        self.path.chmod(0o600)

    def add(self, job: SimJob, *, started_at_create: bool) -> None:
        row = (
            job.job_id,
            job.token,
            json.dumps(asdict(job.request)),
            job.created,
            job.created_ms,
            json.dumps(list(job.durations)),
            json.dumps(asdict(job.outcome)),
            int(started_at_create),
            int(job.skip_empty),
        )
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO jobs (job_id, token, request, created, created_ms, "
                "durations, outcome, started_at_create, skip_empty) VALUES (?,?,?,?,?,?,?,?,?)",
                row,
            )

    def cancel(self, job_id: str, at: float) -> None:
        with self._lock:
            self._db.execute("UPDATE jobs SET cancelled_at = ? WHERE job_id = ?", (at, job_id))

    def clear(self) -> None:
        with self._lock:
            self._db.execute("DELETE FROM jobs")

    def load(self) -> list[tuple[SimJob, bool, float | None]]:
        """(job as planned, started when created, time the user cancelled it) in creation order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT job_id, token, request, created, created_ms, durations, outcome, "
                "started_at_create, skip_empty, cancelled_at FROM jobs ORDER BY seq"
            ).fetchall()
        out: list[tuple[SimJob, bool, float | None]] = []
        for row in rows:
            (job_id, token, request, created, created_ms, durations, outcome, started) = row[:8]
            skip_empty, cancelled_at = row[8], row[9]
            fields: dict[str, Any] = json.loads(request)
            job = SimJob(
                job_id=job_id,
                token=token,
                request=JobRequest(**fields),
                created=float(created),
                created_ms=int(created_ms),
                durations=tuple(float(d) for d in json.loads(durations)),
                outcome=Outcome(**json.loads(outcome)),
                skip_empty=bool(skip_empty),
            )
            out.append((job, bool(started), None if cancelled_at is None else float(cancelled_at)))
        return out

    def close(self) -> None:
        with self._lock:
            self._db.close()
