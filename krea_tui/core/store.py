"""The durable history: every job, its full request, and every status it was seen in.

One SQLite file in WAL mode. The engine writes a change and commits it *before* telling anyone,
so a crash after an event was shown can never leave the store behind what the user saw. The
schema carries a version number; `MIGRATIONS` moves an older file forward on open.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from krea_tui.core import search_index
from krea_tui.core.clock import utcnow as utcnow  # re-exported: callers take it from here
from krea_tui.core.models import Job, parse_time
from krea_tui.core.processes import this_process
from krea_tui.core.schema import MIGRATIONS, UNSAVED
from krea_tui.core.status import LocalStatus, is_active_remote, is_final
from krea_tui.core.store_reads import QueueReads
from krea_tui.core.store_shared import SharedQueue
from krea_tui.core.store_uploads import UploadMemory

_RATING_COLUMNS = " rating, pick,"
RATINGS_SCHEMA = 7
# What a StoredJob is built from, in `_row_to_job`'s order (the raw answer is left out).
_JOB_COLUMNS = (
    "local_id, model, request, status, position, created_at, preset, batch_id, remote_id,"
    " submitted_at, remote_created_at, finished_at, urls, error_code, error_message,"
    " cost_estimate, cost_unit, requests,"
    # Ratings (schema 7): the rating 0-5 and the pick (1) or reject (-1), NULL when unjudged.
    f"{_RATING_COLUMNS}"
    # Lineage (schema 8): the parent's local id, its remote id, and whether any job was made
    # from this one, each an indexed lookup.
    " parent_id, (SELECT p.remote_id FROM jobs AS p WHERE p.local_id = jobs.parent_id),"
    " EXISTS (SELECT 1 FROM jobs AS c WHERE c.parent_id = jobs.local_id)"
)
_SELECT_JOBS = f"SELECT {_JOB_COLUMNS} FROM jobs"
# A history from before lineage, read where it cannot be migrated (a read-only one).
_JOB_COLUMNS_BEFORE_LINEAGE = _JOB_COLUMNS.split(" parent_id,")[0] + " NULL, NULL, 0"
LINEAGE_SCHEMA = 8
_decode = json.JSONDecoder().raw_decode


def _json(text: str) -> Any:
    """json.loads without its whitespace pass, which costs a third of it: these columns hold
    what json.dumps wrote (a file edited by hand still reads, the slow way)."""
    try:
        value, end = _decode(text)
    except ValueError:
        return json.loads(text)
    return value if end == len(text) else json.loads(text)


def _lower(text: str | None) -> str | None:
    return None if text is None else str(text).lower()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="milliseconds") if value else None


def _time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass(frozen=True, slots=True)
class TimelineEntry:
    status: str
    at: datetime
    skipped: bool = False


@dataclass(frozen=True, slots=True)
class StoredJob:
    """A job as the history knows it: the request, where it stands, and what it produced."""

    local_id: str
    model: str
    request: Mapping[str, Any]
    status: str
    position: float
    created_at: datetime
    preset: str | None = None
    batch_id: str | None = None
    remote_id: str | None = None
    submitted_at: datetime | None = None
    remote_created_at: datetime | None = None
    finished_at: datetime | None = None
    urls: tuple[str, ...] = ()
    error_code: str | None = None
    error_message: str | None = None
    cost_estimate: float | None = None
    cost_unit: str | None = None
    requests: int = 0
    files: tuple[str, ...] = field(default=())
    # Lineage: the job this one was made from (its local id, and its remote id if it has one),
    # and whether any job was made from this one.
    parent_id: str | None = None
    parent_remote_id: str | None = None
    has_children: bool = False
    # Ratings (core/ratings.py): 0-5, None unrated; pick 1, reject -1, None neither.
    rating: int | None = None
    pick: int | None = None

    @property
    def short_id(self) -> str:
        return (self.remote_id or self.local_id)[:8]

    @property
    def prompt(self) -> str:
        return str(self.request.get("prompt", ""))

    @property
    def is_final(self) -> bool:
        return is_final(self.status)

    @property
    def is_active_remote(self) -> bool:
        return is_active_remote(self.status) and self.remote_id is not None


class StoreError(RuntimeError):
    """The history cannot be opened or written; the message says which file and why."""


# How long a write waits for another process's write to end before giving up. Writes are short
# (one poll's changes, one claim); a wait this long means something is wrong, not busy.
BUSY_TIMEOUT = 30.0


def _why(exc: BaseException) -> str:
    """An OSError or SQLite error as a user reads it ("read-only file system", not errno 30)."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower() + (f": {exc.filename}" if exc.filename else "")
    return str(exc)


def _open_readonly(path: Path) -> sqlite3.Connection:
    """A history on a read-only mount or in a folder we may not write (another user's, a
    backup): WAL needs to write its index beside the file, so when that is refused the file is
    read as immutable (what it holds now; nobody else can be writing where we cannot)."""
    if not path.exists():
        raise StoreError(f"no history at {path}")
    for mode in ("ro", "ro&immutable=1"):
        try:
            db = sqlite3.connect(
                f"{path.resolve().as_uri()}?mode={mode}", uri=True, check_same_thread=False
            )
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
            db.row_factory = sqlite3.Row
            return db
        except sqlite3.Error as exc:
            error = exc
    raise StoreError(f"cannot read the history at {path}: {error}")


class JobStore(QueueReads, SharedQueue, UploadMemory):
    """SQLite-backed job history, shared by every krea-tui process using the same file. Not
    thread-safe: use it from one event loop. Every write transaction is `BEGIN IMMEDIATE`: a
    deferred one that reads before it writes fails at once ("database is locked") when another
    process wrote in between, instead of waiting its turn."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.me = this_process()
        self.readonly = readonly
        try:
            self._db = _open_readonly(self.path) if readonly else self._open()
        except (sqlite3.Error, OSError) as exc:
            why = _why(exc)
            folder = self.path.parent
            if folder.is_dir() and not os.access(folder, os.W_OK):
                why = f"its folder {folder} is read-only ({why})"
            raise StoreError(
                f"cannot open the history at {self.path}: {why}. Point KREA_TUI_DATA_DIR (or "
                "data_dir in the config) at a folder you can write; `krea-tui jobs` can still "
                "read this one"
            ) from None
        if readonly and self.schema_version > len(MIGRATIONS):
            self._db.close()
            raise StoreError(
                f"{self.path} was written by a newer krea-tui (schema {self.schema_version}); "
                "upgrade krea-tui to read it"
            )
        # The queue view's filter lowercases text as Python does (SQLite's lower() knows ASCII
        # only); see queue_sql.
        self._db.create_function("krea_lower", 1, _lower, deterministic=True)
        self.has_word_index = search_index.has_words(self._db)
        self.has_tally = self.schema_version >= 3  # a read-only older history has none
        self.has_lineage = self.schema_version >= LINEAGE_SCHEMA
        if not self.has_lineage:
            self._COLUMNS = _JOB_COLUMNS_BEFORE_LINEAGE
            self._SELECT = f"SELECT {self._COLUMNS} FROM jobs"
        self.has_ratings = self.schema_version >= RATINGS_SCHEMA
        if not self.has_ratings:  # a read-only history from before ratings: none to read
            self._COLUMNS = self._COLUMNS.replace(_RATING_COLUMNS, " NULL, NULL,")
            self._SELECT = f"SELECT {self._COLUMNS} FROM jobs"

    @property
    def absent_filters(self) -> frozenset[str]:
        """Filter keys this history has no columns for (a read-only one from before lineage
        or ratings): they match no job, rather than failing (queue_sql.where's `absent`)."""
        return frozenset(
            [
                *([] if self.has_lineage else ["parent", "has"]),
                *([] if self.has_ratings else ["rating", "is"]),
            ]
        )

    def _open(self) -> sqlite3.Connection:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(self.path), isolation_level=None, check_same_thread=False, timeout=BUSY_TIMEOUT
        )
        self._db.row_factory = sqlite3.Row
        try:
            # Switching a new file to WAL takes a lock SQLite does not wait for: several
            # processes starting at once on a new history take turns here instead.
            deadline = time.monotonic() + BUSY_TIMEOUT
            while True:
                try:
                    self._db.execute("PRAGMA journal_mode=WAL")
                    break
                except sqlite3.OperationalError as exc:
                    if "locked" not in str(exc) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            # NORMAL in WAL mode survives a process crash (the case we promise); only an OS
            # crash can lose the last commits.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA foreign_keys=ON")
            self._migrate()
            self._mend_word_index()
        except BaseException:
            self._db.close()
            raise
        return self._db

    _SELECT = _SELECT_JOBS
    _COLUMNS = _JOB_COLUMNS

    def close(self) -> None:
        self._db.close()

    @property
    def schema_version(self) -> int:
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        if self.schema_version == len(MIGRATIONS):
            return
        # Taken before the version is read again: of two processes opening a new history at
        # once, the second waits here and then finds every step done.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            version = self.schema_version
            if version > len(MIGRATIONS):
                raise StoreError(
                    f"{self.path} was written by a newer krea-tui (schema {version}); "
                    "upgrade krea-tui to open it"
                )
            for number, steps in enumerate(MIGRATIONS[version:], start=version + 1):
                for step in steps:
                    if isinstance(step, str):
                        self._db.execute(step)
                    else:
                        step(self._db)
                self._db.execute(f"PRAGMA user_version={number}")
        except BaseException:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _mend_word_index(self) -> None:
        """Make the word index of a history written where SQLite had no FTS5, and remake one
        whose rowids no longer match its jobs (see `search_index.words_in_step`)."""
        db = self._db
        if search_index.has_words(db):
            if search_index.words_in_step(db):
                return
            with self.transaction():
                search_index.rebuild_words(db)
        elif search_index.fts5_available(db):
            with self.transaction():
                search_index.create_words(db)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group many writes into one commit (a poll that changes 200 jobs commits once)."""
        if self._db.in_transaction:
            yield
            return
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            # SQLite rolls back by itself on some errors (a full disk): only roll back what is
            # still open, or the ROLLBACK's own error would hide the real one.
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            raise
        else:
            self._db.execute("COMMIT")

    # -- writes --------------------------------------------------------------------------------

    def add_job(
        self,
        model: str,
        request: Mapping[str, Any],
        *,
        status: str = LocalStatus.HELD,
        preset: str | None = None,
        batch_id: str | None = None,
        cost_estimate: float | None = None,
        cost_unit: str | None = None,
        now: datetime | None = None,
        local_id: str | None = None,
        parent_id: str | None = None,
    ) -> StoredJob:
        """A new job, held unless `status` says otherwise; `parent_id`: the local id of the
        job it was made from (lineage)."""
        now = now or utcnow()
        local_id = local_id or uuid.uuid4().hex
        with self.transaction():
            position = self._db.execute(
                "SELECT COALESCE(MAX(position), 0) + 1 FROM jobs"
            ).fetchone()[0]
            self._db.execute(
                "INSERT INTO jobs (local_id, model, request, preset, batch_id, position, status,"
                " created_at, cost_estimate, cost_unit, owner, rev, changed_by, parent_id)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    local_id,
                    model,
                    json.dumps(dict(request), sort_keys=True),
                    preset,
                    batch_id,
                    position,
                    str(status),
                    _iso(now),
                    cost_estimate,
                    cost_unit,
                    self.me,
                    self.next_rev(),
                    self.me,
                    parent_id,
                ),
            )
            self._add_timeline(local_id, str(status), now, skipped=False)
        return self.get(local_id)

    def import_remote(self, model: str, remote: Job) -> StoredJob | None:
        """Adopt a job created elsewhere with the same token; None if it is known already.
        Its request is unknown (the API does not return it), so the history says so."""
        if self.by_remote_id(remote.job_id) is not None:
            return None
        created = remote.created_at or utcnow()
        with self.transaction():
            job = self.add_job(model, {}, status=remote.status_text, now=created)
            self.update(
                job.local_id,
                remote_id=remote.job_id,
                remote_created_at=created,
                urls=remote.urls,
                error_code=remote.error_code,
                error_message=remote.error_message,
                raw=remote.raw,
                finished_at=remote.completed_at if remote.is_terminal else None,
            )
        return self.get(job.local_id)

    def update(self, local_id: str, **changes: Any) -> None:
        """Set columns of one job. Values of datetime/tuple/dict types are encoded here."""
        encoded: dict[str, Any] = {}
        for key, value in changes.items():
            if isinstance(value, datetime):
                value = _iso(value)
            elif key in ("urls",):
                value = json.dumps(list(value))
            elif key in ("request", "raw") and value is not None:
                value = json.dumps(dict(value), sort_keys=True)
            encoded[key] = value
        with self.transaction():
            # Every change carries a revision: the other processes on this history follow it.
            encoded["rev"] = self.next_rev()
            encoded["changed_by"] = self.me
            columns = ", ".join(f"{key} = ?" for key in encoded)
            self._db.execute(
                f"UPDATE jobs SET {columns} WHERE local_id = ?", (*encoded.values(), local_id)
            )

    def set_status(
        self,
        local_id: str,
        status: str,
        at: datetime,
        *,
        skipped: Sequence[str] = (),
        expect: str | None = None,
        **changes: Any,
    ) -> bool:
        """Move a job to `status`, recording the states it passed through unseen as skipped.
        With `expect`, only if the job is still in that status (another process may have moved
        it meanwhile): False, and nothing written, if it is not."""
        with self.transaction():
            if expect is not None:
                row = self._db.execute(
                    "SELECT status FROM jobs WHERE local_id = ?", (local_id,)
                ).fetchone()
                if row is None or row[0] != expect:
                    return False
            for passed in skipped:
                self._add_timeline(local_id, passed, at, skipped=True)
            self._add_timeline(local_id, status, at, skipped=False)
            if is_final(status):
                changes.setdefault("finished_at", at)
            self.update(local_id, status=status, **changes)
        return True

    def count_request(self, local_id: str, n: int = 1) -> None:
        self._db.execute(
            "UPDATE jobs SET requests = requests + ? WHERE local_id = ?", (n, local_id)
        )

    def add_file(self, local_id: str, idx: int, url: str, path: Path | str) -> None:
        with self.transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO files (local_id, idx, url, path) VALUES (?,?,?,?)",
                (local_id, idx, url, str(path)),
            )
            self.update(local_id)  # a new revision: other processes see the file saved

    def remove(self, local_ids: Iterable[str]) -> int:
        ids = list(local_ids)
        with self.transaction():
            cursor = self._db.executemany(
                "DELETE FROM jobs WHERE local_id = ?", [(i,) for i in ids]
            )
            removed = cursor.rowcount
            rev = self.next_rev()
            self._db.executemany(
                "INSERT INTO removed (local_id, rev) VALUES (?, ?)", [(i, rev) for i in ids]
            )
        return removed

    def move(self, local_id: str, position: float) -> None:
        self.update(local_id, position=position)

    def _add_timeline(self, local_id: str, status: str, at: datetime, *, skipped: bool) -> None:
        self._db.execute(
            "INSERT INTO timeline (local_id, status, at, skipped) VALUES (?,?,?,?)",
            (local_id, status, _iso(at), int(skipped)),
        )

    # -- reads ---------------------------------------------------------------------------------

    def _row_to_job(self, row: Sequence[Any], files: Sequence[str] = ()) -> StoredJob:
        # By position, in `_JOB_COLUMNS` order: a 10,000-job history is built before the first
        # frame, and name lookups and the server's raw answers (never shown) were half of it.
        (local_id, model, request, status, position, created_at, preset, batch_id, remote_id,
         submitted_at, remote_created_at, finished_at, urls, error_code, error_message,
         cost_estimate, cost_unit, requests, rating, pick, parent_id, parent_remote_id,
         has_children) = row  # fmt: skip
        return StoredJob(
            local_id=local_id,
            model=model,
            request=_json(request),
            status=status,
            position=position,
            created_at=_time(created_at) or utcnow(),
            preset=preset,
            batch_id=batch_id,
            remote_id=remote_id,
            submitted_at=_time(submitted_at),
            remote_created_at=_time(remote_created_at),
            finished_at=_time(finished_at),
            urls=tuple(_json(urls)) if urls != "[]" else (),
            error_code=error_code,
            error_message=error_message,
            cost_estimate=cost_estimate,
            cost_unit=cost_unit,
            requests=requests,
            files=tuple(files),
            parent_id=parent_id,
            parent_remote_id=parent_remote_id,
            has_children=bool(has_children),
            rating=rating,
            pick=pick,
        )

    def _files_of(self, local_ids: Sequence[str]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        if not local_ids:
            return found
        # Chunked to stay under SQLite's bound-parameter limit on very large histories.
        for start in range(0, len(local_ids), 500):
            chunk = local_ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            for row in self._db.execute(
                f"SELECT local_id, path FROM files WHERE local_id IN ({marks}) ORDER BY idx",
                chunk,
            ):
                found.setdefault(row["local_id"], []).append(row["path"])
        return found

    def get(self, local_id: str) -> StoredJob:
        row = self._db.execute(f"{self._SELECT} WHERE local_id = ?", (local_id,)).fetchone()
        if row is None:
            raise KeyError(local_id)
        return self._row_to_job(row, self._files_of([local_id]).get(local_id, ()))

    def find(self, prefix: str) -> list[StoredJob]:
        """Jobs whose local or remote id starts with `prefix` (what a user types on the CLI)."""
        # A prefix, not a pattern: `krea-tui cancel _` must not match (and cancel) any job.
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        rows = self._db.execute(
            f"{self._SELECT} WHERE local_id LIKE ? ESCAPE '\\' OR remote_id LIKE ? ESCAPE '\\'"
            " ORDER BY position",
            (f"{escaped}%", f"{escaped}%"),
        ).fetchall()
        return self._with_files(rows)

    def children(self, local_id: str) -> list[StoredJob]:
        """The jobs made from this one (lineage), in queue order, through the parent index."""
        if not self.has_lineage:
            return []
        rows = self._db.execute(
            f"{self._SELECT} WHERE parent_id = ? ORDER BY position", (local_id,)
        ).fetchall()
        return self._with_files(rows)

    def by_remote_id(self, remote_id: str) -> StoredJob | None:
        row = self._db.execute(f"{self._SELECT} WHERE remote_id = ?", (remote_id,)).fetchone()
        return (
            self._row_to_job(row, self._files_of([row["local_id"]]).get(row["local_id"], ()))
            if row
            else None
        )

    def by_remote_ids(self, remote_ids: Iterable[str]) -> dict[str, StoredJob]:
        """The known jobs among these remote ids, by remote id: a poll's hundreds of changes
        in a few queries instead of two each (`by_remote_id`)."""
        ids = list(remote_ids)
        rows: list[sqlite3.Row] = []
        # Chunked to stay under SQLite's bound-parameter limit, as `_files_of` is.
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                f"{self._SELECT} WHERE remote_id IN ({marks})", chunk
            ).fetchall()
        return {job.remote_id: job for job in self._with_files(rows) if job.remote_id}

    def _with_files(self, rows: Sequence[sqlite3.Row]) -> list[StoredJob]:
        files = self._files_of([r["local_id"] for r in rows])
        return [self._row_to_job(r, files.get(r["local_id"], ())) for r in rows]

    def jobs(
        self,
        *,
        statuses: Iterable[str] | None = None,
        batch_id: str | None = None,
        limit: int | None = None,
        newest_first: bool = False,
    ) -> list[StoredJob]:
        where: list[str] = []
        args: list[Any] = []
        if statuses is not None:
            wanted = [str(s) for s in statuses]
            where.append(f"status IN ({','.join('?' * len(wanted))})")
            args.extend(wanted)
        if batch_id is not None:
            where.append("batch_id = ?")
            args.append(batch_id)
        sql = self._SELECT
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY position DESC" if newest_first else " ORDER BY position"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return self._with_files(self._db.execute(sql, args).fetchall())

    # The watcher's and submitter's questions, asked every cycle: kept to one indexed query each.
    # Not the server's: ended, or not sent (yet), or never known to have been.
    _NOT_ON_SERVER = ("completed", "failed", "cancelled", "held", "submitting", "unknown")

    def active_where(self) -> str:
        """SQL for "the server has the job and has not finished it". Every status but a few:
        one the service adds later counts too. With the tally (schema 3) the statuses present
        are named, so the status index answers, not a scan of every job."""
        if not self.has_tally:
            gone = ",".join(f"'{status}'" for status in self._NOT_ON_SERVER)
            return f"remote_id IS NOT NULL AND status NOT IN ({gone})"
        present = {row[0] for row in self.tally()} - set(self._NOT_ON_SERVER)
        # Statuses come from the store's own rows; quoted the SQL way all the same.
        named = ",".join("'" + status.replace("'", "''") + "'" for status in sorted(present))
        return f"remote_id IS NOT NULL AND status IN ({named})" if named else "0"

    def active_remote(self) -> list[StoredJob]:
        """Jobs the server has and has not finished: what the watcher looks at."""
        rows = self._db.execute(
            f"{self._SELECT} WHERE {self.active_where()} ORDER BY position"
        ).fetchall()
        return [self._row_to_job(r) for r in rows]

    def count_active_remote(self) -> int:
        where = self.active_where()
        return int(self._db.execute(f"SELECT COUNT(*) FROM jobs WHERE {where}").fetchone()[0])

    def next_held(self) -> StoredJob | None:
        row = self._db.execute(
            f"{self._SELECT} WHERE status = 'held' ORDER BY position LIMIT 1"
        ).fetchone()
        return self._row_to_job(row) if row else None

    def completed_without_files(self) -> list[str]:
        """Local ids of completed jobs with fewer saved files than result URLs, oldest first:
        what the engine has to download on start. Counted in SQL: loading every completed
        job to compare two lengths took ~0.2 s on a 10,000-job history; a scan of every job
        with SQL ~0.9 s on a million. Each job counts its saved files (schema 6), and a
        partial index holds the jobs short of theirs."""
        if self.schema_version < 6:  # a read-only older history
            sql = (
                "SELECT local_id FROM jobs WHERE status = 'completed' AND json_array_length(urls)"
                " > (SELECT COUNT(*) FROM files WHERE files.local_id = jobs.local_id)"
                " ORDER BY position"
            )
            return [r[0] for r in self._db.execute(sql)]
        return [r[0] for r in self._db.execute(self.UNSAVED_SQL)]

    # Named: without statistics SQLite would rather walk every completed job in the
    # (status, position) index than this one, which holds only the few it wants.
    UNSAVED_SQL = (
        f"SELECT local_id FROM jobs INDEXED BY jobs_unsaved WHERE {UNSAVED} ORDER BY position"
    )

    def remote_ids(self) -> set[str]:
        rows = self._db.execute("SELECT remote_id FROM jobs WHERE remote_id IS NOT NULL")
        return {r[0] for r in rows}

    def timeline(self, local_id: str) -> list[TimelineEntry]:
        rows = self._db.execute(
            "SELECT status, at, skipped FROM timeline WHERE local_id = ? ORDER BY rowid",
            (local_id,),
        )
        return [
            TimelineEntry(r["status"], _time(r["at"]) or utcnow(), bool(r["skipped"])) for r in rows
        ]

    def post_timings(self, limit: int = 50) -> list[tuple[datetime, datetime, datetime]]:
        """(sent, answered, created on the server's clock) of the last answered POSTs, oldest
        first: what the clock-offset estimate learns from, so a restart need not start blind.
        POSTs whose answer was lost are left out (their job may have been created after we gave
        up), and so are jobs whose answer had no creation time of its own."""
        rows = self._db.execute(
            "SELECT submitted_at, json_extract(raw, '$.created_at') AS created,"
            # The entry right after the last `submitting` one: what its answer said, and when.
            # By rowid, not time: `held` and `submitting` often share a millisecond.
            " (SELECT status || ' ' || at FROM timeline t WHERE t.local_id = jobs.local_id"
            "  AND t.rowid > (SELECT MAX(rowid) FROM timeline s"
            "   WHERE s.local_id = jobs.local_id AND s.status = ?)"
            "  ORDER BY t.rowid LIMIT 1) AS next"
            # Among the last POSTs only (by the submitted_at index): a history whose jobs
            # kept no answer (imported ones) would otherwise be walked whole at every start.
            " FROM (SELECT local_id, submitted_at, raw FROM jobs"
            "  WHERE submitted_at IS NOT NULL AND remote_id IS NOT NULL"
            "  ORDER BY submitted_at DESC LIMIT ?) AS jobs"
            " WHERE json_valid(raw) ORDER BY submitted_at DESC LIMIT ?",
            (LocalStatus.SUBMITTING, 20 * limit, limit),
        )
        timings = []
        for row in rows:
            status, _, answered = (row["next"] or "").partition(" ")
            created = parse_time(row["created"])
            sent = _time(row["submitted_at"])
            if status in ("", LocalStatus.UNKNOWN, LocalStatus.HELD) or not created or not sent:
                continue
            timings.append((sent, datetime.fromisoformat(answered), created))
        return timings[::-1]

    def counts(self) -> dict[str, int]:
        """Jobs per status: from the tally the triggers keep (schema 3), else counted (a
        GROUP BY over every job, 0.1 s at a million)."""
        if self.has_tally:
            counts: dict[str, int] = {}
            for status, _, jobs, _, _ in self.tally():
                counts[status] = counts.get(status, 0) + jobs
            return counts
        rows = self._db.execute("SELECT status, COUNT(*) AS n FROM jobs GROUP BY status")
        return {r["status"]: r["n"] for r in rows}

    def recent_prompts(self, limit: int = 500, containing: str = "") -> list[str]:
        """Distinct prompts, most recently used first: the compose form's prompt history."""
        rows = self._db.execute(
            "SELECT json_extract(request, '$.prompt') AS prompt, MAX(created_at) AS last"
            " FROM jobs WHERE prompt IS NOT NULL AND prompt != ''"
            " AND instr(lower(prompt), lower(?)) > 0"
            " GROUP BY prompt ORDER BY last DESC LIMIT ?",
            (containing, limit),
        )
        return [str(r["prompt"]) for r in rows]
