"""The history's schema, one migration a version. Each migration is a list of statements run in
one `BEGIN IMMEDIATE` transaction together with its version number, so two processes opening a
new history at once cannot both create it (the second finds it done). A step is an SQL
statement or a function of the connection, for what plain SQL cannot decide (whether this
SQLite has FTS5)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from krea_tui.core.search_index import TALLY, create_words, recount_tally

Step = str | Callable[[sqlite3.Connection], None]


# A completed job with fewer saved files than result URLs (the engine downloads them at start).
UNSAVED = "status = 'completed' AND saved < json_array_length(urls)"
# jobs.saved counts the job's rows in `files`, recounted (a REPLACE of a file fires no delete
# trigger, so adding one up would drift).
_RECOUNT = "UPDATE jobs SET saved = (SELECT COUNT(*) FROM files f WHERE f.local_id = {0}.local_id)"
SAVED_TRIGGERS = (
    "CREATE TRIGGER files_saved_in AFTER INSERT ON files BEGIN "
    + _RECOUNT.format("NEW")
    + " WHERE local_id = NEW.local_id; END",
    "CREATE TRIGGER files_saved_out AFTER DELETE ON files BEGIN "
    + _RECOUNT.format("OLD")
    + " WHERE local_id = OLD.local_id; END",
)


def add_parent_column(db: sqlite3.Connection) -> None:
    """jobs.parent_id, unless the history has it already (a step that may be run again)."""
    if "parent_id" not in {row[1] for row in db.execute("PRAGMA table_info(jobs)")}:
        db.execute("ALTER TABLE jobs ADD COLUMN parent_id TEXT")


def add_rating_columns(db: sqlite3.Connection) -> None:
    """jobs.rating and jobs.pick, unless the history has them already."""
    have = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    for column in ("rating", "pick"):
        if column not in have:
            db.execute(f"ALTER TABLE jobs ADD COLUMN {column} INTEGER")


MIGRATIONS: tuple[tuple[Step, ...], ...] = (
    # 1: jobs, their timeline and their files.
    (
        """CREATE TABLE jobs (
            local_id      TEXT PRIMARY KEY,
            model         TEXT NOT NULL,
            request       TEXT NOT NULL,          -- JSON object: the exact body to POST
            preset        TEXT,
            batch_id      TEXT,
            position      REAL NOT NULL,          -- order in the local queue
            remote_id     TEXT UNIQUE,
            status        TEXT NOT NULL,
            created_at    TEXT NOT NULL,          -- when the user asked for it
            submitted_at  TEXT,                   -- when its POST started
            remote_created_at TEXT,
            finished_at   TEXT,
            urls          TEXT NOT NULL DEFAULT '[]',
            error_code    TEXT,
            error_message TEXT,
            cost_estimate REAL,
            cost_unit     TEXT,
            requests      INTEGER NOT NULL DEFAULT 0,  -- HTTP requests spent on this job
            raw           TEXT                    -- the server's last answer about it
        )""",
        "CREATE INDEX jobs_status ON jobs(status)",
        "CREATE INDEX jobs_batch ON jobs(batch_id)",
        """CREATE TABLE timeline (
            local_id  TEXT NOT NULL REFERENCES jobs(local_id) ON DELETE CASCADE,
            status    TEXT NOT NULL,
            at        TEXT NOT NULL,
            skipped   INTEGER NOT NULL DEFAULT 0  -- 1: passed through between two looks
        )""",
        "CREATE INDEX timeline_job ON timeline(local_id)",
        """CREATE TABLE files (
            local_id  TEXT NOT NULL REFERENCES jobs(local_id) ON DELETE CASCADE,
            idx       INTEGER NOT NULL,
            url       TEXT NOT NULL,
            path      TEXT NOT NULL,
            PRIMARY KEY (local_id, idx)
        )""",
    ),
    # 2: several processes on one history. The queue's pause and the claims on held jobs live
    # here, not in one process's memory; every change carries a revision so each process can
    # follow what the others did.
    (
        "ALTER TABLE jobs ADD COLUMN rev INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE jobs ADD COLUMN changed_by TEXT",  # process id of the last writer
        "ALTER TABLE jobs ADD COLUMN claimed_by TEXT",  # process id sending its POST
        "ALTER TABLE jobs ADD COLUMN owner TEXT",  # process id that asked for it
        "CREATE INDEX jobs_rev ON jobs(rev)",
        """CREATE TABLE queue_state (
            id                INTEGER PRIMARY KEY CHECK (id = 1),
            rev               INTEGER NOT NULL DEFAULT 0,  -- last revision given to a change
            paused            INTEGER NOT NULL DEFAULT 0,
            pause_reason      TEXT,
            reconciling       TEXT,    -- process matching lost POSTs: nobody may POST meanwhile
            reconciling_until REAL,    -- unix time; a lease, so a stopped process cannot block
            watcher           TEXT,    -- process that polls the server for everyone
            watcher_until     REAL
        )""",
        "INSERT INTO queue_state (id) VALUES (1)",
        "CREATE TABLE removed (local_id TEXT NOT NULL, rev INTEGER NOT NULL)",
        "CREATE INDEX removed_rev ON removed(rev)",
    ),
    # 3: the queue view reads the history a window at a time. Indexes for its default order
    # and its status filters, the tally behind the counts and spend, and the word index
    # (see search_index). The first open of a large history builds them once (~2 s per
    # 100,000 jobs).
    (
        "CREATE INDEX jobs_position ON jobs(position)",
        "DROP INDEX jobs_status",
        "CREATE INDEX jobs_status ON jobs(status, position)",
        *TALLY,
        recount_tally,
        create_words,
    ),
    # 4: the newest job a view shows (where a following cursor sits: QueueModel.newest_id),
    # found by walking this index back from its end instead of sorting the whole history.
    ("CREATE INDEX jobs_created ON jobs(created_at, position)",),
    # 5: local files sent as inputs: each file's content hash and the asset it was uploaded
    # as, per API origin (the demo service's uploads are not the real API's), so a file is
    # uploaded once however many jobs use it (see core/assets.py and store_uploads.py).
    (
        """CREATE TABLE uploads (
            sha256      TEXT NOT NULL,
            origin      TEXT NOT NULL,        -- the API's base URL
            asset_id    TEXT NOT NULL,
            url         TEXT NOT NULL,
            name        TEXT NOT NULL,        -- the file's name when it was uploaded
            size        INTEGER NOT NULL,
            uploaded_at TEXT NOT NULL,
            PRIMARY KEY (sha256, origin)
        )""",
        "CREATE INDEX uploads_asset ON uploads(asset_id)",
    ),
    # 6: what every start asks, from indexes instead of a scan of every job (1.4 s before the
    # first frame of a million-job history): the completed jobs with results left to save
    # (each job counts its saved files, kept by triggers), and the last POSTs sent (the
    # clock-offset estimate, the day's spend).
    (
        "ALTER TABLE jobs ADD COLUMN saved INTEGER NOT NULL DEFAULT 0",
        "UPDATE jobs SET saved = (SELECT COUNT(*) FROM files f WHERE f.local_id = jobs.local_id)"
        " WHERE local_id IN (SELECT local_id FROM files)",
        *SAVED_TRIGGERS,
        f"CREATE INDEX jobs_unsaved ON jobs(position) WHERE {UNSAVED}",
        "CREATE INDEX jobs_submitted ON jobs(submitted_at)",
    ),
    # 7: ratings and picks (core/ratings.py): a rating 0-5 and a pick (1) or reject (-1),
    # NULL while unjudged. Adding a NULL column rewrites no row; the indexes are partial, so
    # they hold the judged jobs only (a few among thousands) and `rating:>=4` / `is:pick`
    # read those, not the history. Written to be run again harmlessly.
    (
        add_rating_columns,
        "CREATE INDEX IF NOT EXISTS jobs_rating ON jobs(rating) WHERE rating IS NOT NULL",
        "CREATE INDEX IF NOT EXISTS jobs_pick ON jobs(pick) WHERE pick IS NOT NULL",
    ),
    # 8: lineage: the job a job was made from (enhance, use as input, re-run, retry, edit), by
    # its local id; a job's children are found through the index, which holds only the jobs
    # that have a parent. Written to be run again harmlessly (see `add_parent_column`).
    (
        add_parent_column,
        "CREATE INDEX IF NOT EXISTS jobs_parent ON jobs(parent_id) WHERE parent_id IS NOT NULL",
    ),
)
