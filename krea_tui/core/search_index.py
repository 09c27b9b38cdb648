"""The history's indexes that SQL triggers keep: a word index (FTS5, trigram) and a tally.

The queue view filters a million jobs by words typed into the filter bar, and shows counts and
spend at start; reading every job for either would make both grow with the history. So:

- `job_words` holds each job's searchable text (prompt, model, local and remote id, as
  `query._words` joins them) in an FTS5 trigram table keyed by the job's rowid. Its text is
  not quite the job's: the two characters whose Python lowercase is (or holds) ASCII, `İ` and
  the Kelvin sign, are written as that lowercase, so that an ASCII word SQLite's `lower()`
  finds in it is exactly one Python's `str.lower()` finds in the job (see `queue_sql`).
- `job_tally` holds, per status and cost unit, how many jobs, how many with a price, and the
  sum of those prices: what the status bar shows, read in a few rows instead of a whole
  history.

Both are written by triggers, so every process writing the history keeps them, whatever it is.
A Python whose SQLite lacks FTS5 gets no word index (the filter then reads the jobs table);
it must not write a history made where FTS5 exists, whose triggers it cannot run: say so.
"""

from __future__ import annotations

import sqlite3

WORDS = "job_words"


def json_str(column: str, path: str) -> str:
    """SQL for `str(value)` of the JSON value at `path`, as Python prints what json.loads
    makes of it: text as it is, "True"/"False"/"None", integers in decimal; a missing key is
    ''. A float or a list is printed as JSON (Python's repr differs: krea-tui never writes
    one there)."""
    value = f"json_extract({column}, '{path}')"
    return (
        f"(CASE json_type({column}, '{path}')"
        f" WHEN 'true' THEN 'True' WHEN 'false' THEN 'False' WHEN 'null' THEN 'None'"
        f" ELSE coalesce(CAST({value} AS TEXT), '') END)"
    )


def prompt_sql(prefix: str = "") -> str:
    """SQL for `StoredJob.prompt` of a jobs row (`prefix`: "new." in a trigger)."""
    request = f"{prefix}request"
    return f"(CASE WHEN json_valid({request}) THEN {json_str(request, '$.prompt')} ELSE '' END)"


def words_sql(prefix: str = "") -> str:
    """SQL for the text a word is looked for in: `query._words` before its lowercasing, with
    `İ` and the Kelvin sign written as their Python lowercase (see the module's note)."""
    joined = (
        f"{prompt_sql(prefix)} || ' ' || {prefix}model || ' ' || {prefix}local_id || ' ' ||"
        f" coalesce({prefix}remote_id, '')"
    )
    return ascii_folded(joined)


def ascii_folded(expr: str) -> str:
    """`expr` with the only two characters whose Python lowercase holds ASCII replaced by that
    lowercase: afterwards SQLite's ASCII-only `lower()` agrees with Python's `str.lower()` on
    where any ASCII word occurs."""
    return f"replace(replace({expr}, char(304), 'i' || char(775)), char(8490), 'k')"


def fts5_available(db: sqlite3.Connection) -> bool:
    try:
        db.execute("CREATE VIRTUAL TABLE temp.krea_fts5_probe USING fts5(x, tokenize='trigram')")
    except sqlite3.OperationalError:
        return False
    db.execute("DROP TABLE temp.krea_fts5_probe")
    return True


def has_words(db: sqlite3.Connection) -> bool:
    found = db.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (WORDS,)).fetchone()
    return found is not None


_WORD_TRIGGERS = (
    f"""CREATE TRIGGER job_words_insert AFTER INSERT ON jobs BEGIN
        INSERT INTO {WORDS} (rowid, text) VALUES (new.rowid, {words_sql("new.")});
    END""",
    f"""CREATE TRIGGER job_words_delete AFTER DELETE ON jobs BEGIN
        DELETE FROM {WORDS} WHERE rowid = old.rowid;
    END""",
    f"""CREATE TRIGGER job_words_update AFTER UPDATE OF request, model, local_id, remote_id
        ON jobs BEGIN
        DELETE FROM {WORDS} WHERE rowid = old.rowid;
        INSERT INTO {WORDS} (rowid, text) VALUES (new.rowid, {words_sql("new.")});
    END""",
)


def create_words(db: sqlite3.Connection) -> None:
    """Make and fill the word index, if this SQLite has FTS5 and the history has none yet.
    Run inside the caller's write transaction."""
    if has_words(db) or not fts5_available(db):
        return
    # detail=none: no positions kept (a third of the size and of the time to build); a
    # trigram match is then only a candidate, which the exact test after it settles anyway.
    # columnsize=0: no document lengths, which only ranking would read.
    db.execute(
        f"CREATE VIRTUAL TABLE {WORDS} USING fts5(text, tokenize='trigram', detail='none',"
        " columnsize=0)"
    )
    index_rows_after(db, 0)
    for trigger in _WORD_TRIGGERS:
        db.execute(trigger)


def index_rows_after(db: sqlite3.Connection, rowid: int) -> None:
    """Index every job past `rowid` in one statement (one FTS5 flush, not one per job)."""
    db.execute(
        f"INSERT INTO {WORDS} (rowid, text) SELECT rowid, {words_sql()} FROM jobs WHERE rowid > ?",
        (rowid,),
    )


def words_in_step(db: sqlite3.Connection) -> bool:
    """Whether the word index still belongs to the jobs it was made from. It is keyed by the
    jobs' implicit rowids, which SQLite documents VACUUM may renumber (today's versions keep
    them); a renumbered history would find the wrong jobs, so its newest job is checked."""
    row = db.execute("SELECT rowid, local_id FROM jobs ORDER BY rowid DESC LIMIT 1").fetchone()
    if row is None:
        return True
    text = db.execute(f"SELECT text FROM {WORDS} WHERE rowid = ?", (row[0],)).fetchone()
    return text is not None and row[1] in text[0]


def rebuild_words(db: sqlite3.Connection) -> None:
    db.execute(f"DELETE FROM {WORDS}")
    index_rows_after(db, 0)


# -- the tally ------------------------------------------------------------------------------------

_UNIT_NEW = "coalesce(nullif(new.cost_unit, ''), '?')"
_UNIT_OLD = "coalesce(nullif(old.cost_unit, ''), '?')"
_ADD_NEW = f"""INSERT INTO job_tally (status, unit, jobs, priced, cost)
        VALUES (new.status, {_UNIT_NEW}, 1, new.cost_estimate IS NOT NULL,
                coalesce(new.cost_estimate, 0))
        ON CONFLICT (status, unit) DO UPDATE SET jobs = jobs + 1,
            priced = priced + excluded.priced, cost = cost + excluded.cost;"""
# When the last priced job leaves a row its sum is set to 0, not left at what subtracting
# floats leaves (1e-17): "no spend" stays exactly none.
_TAKE_OLD = f"""UPDATE job_tally SET jobs = jobs - 1,
            priced = priced - (old.cost_estimate IS NOT NULL),
            cost = CASE WHEN priced - (old.cost_estimate IS NOT NULL) = 0 THEN 0
                        ELSE cost - coalesce(old.cost_estimate, 0) END
        WHERE status = old.status AND unit = {_UNIT_OLD};"""

TALLY = (
    """CREATE TABLE job_tally (
        status TEXT NOT NULL,
        unit   TEXT NOT NULL,          -- cost unit, '?' when none was given
        jobs   INTEGER NOT NULL,       -- jobs in this status with this unit
        priced INTEGER NOT NULL,       -- of them, those with a cost estimate
        cost   REAL NOT NULL,          -- the sum of those estimates
        PRIMARY KEY (status, unit)
    ) WITHOUT ROWID""",
    f"CREATE TRIGGER job_tally_insert AFTER INSERT ON jobs BEGIN {_ADD_NEW} END",
    f"CREATE TRIGGER job_tally_delete AFTER DELETE ON jobs BEGIN {_TAKE_OLD} END",
    f"""CREATE TRIGGER job_tally_update AFTER UPDATE OF status, cost_estimate, cost_unit ON jobs
        WHEN old.status IS NOT new.status OR old.cost_estimate IS NOT new.cost_estimate
            OR old.cost_unit IS NOT new.cost_unit
        BEGIN {_TAKE_OLD} {_ADD_NEW} END""",
)


def recount_tally(db: sqlite3.Connection) -> None:
    db.execute("DELETE FROM job_tally")
    db.execute(
        "INSERT INTO job_tally (status, unit, jobs, priced, cost)"
        " SELECT status, coalesce(nullif(cost_unit, ''), '?'), COUNT(*), COUNT(cost_estimate),"
        " TOTAL(cost_estimate) FROM jobs GROUP BY 1, 2"
    )


# -- many jobs at once ---------------------------------------------------------------------------

_BULK_TRIGGERS = ("job_words_insert", "job_tally_insert", "files_saved_in")


def suspend_for_bulk(db: sqlite3.Connection) -> list[str]:
    """Drop (inside a write transaction) what a bulk insert would otherwise update row by row,
    and return its SQL for `resume_after_bulk`: the per-row insert triggers (FTS5 flushes its
    buffer at every statement a trigger runs in, which made a million single-row inserts take
    minutes) and the secondary indexes (built once from sorted rows at the end instead)."""
    rows = db.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL"
        " AND ((type = 'trigger' AND name IN (?, ?, ?))"
        " OR (type = 'index' AND tbl_name IN ('jobs', 'timeline', 'files')))",
        _BULK_TRIGGERS,
    ).fetchall()
    for kind, name, _ in rows:
        db.execute(f"DROP {kind.upper()} {name}")
    # Indexes first when put back: a trigger may lean on them.
    return [sql for kind, _, sql in sorted(rows, key=lambda row: row[0] != "index")]


def resume_after_bulk(db: sqlite3.Connection, saved: list[str], after_rowid: int) -> None:
    """Index the jobs inserted since `after_rowid`, recount the tally, put back what
    `suspend_for_bulk` took away."""
    for sql in saved:
        db.execute(sql)
    if has_words(db):
        index_rows_after(db, after_rowid)
    recount_tally(db)
    if "files_saved_in" in " ".join(saved):  # each new job's saved files, counted once
        db.execute(
            "UPDATE jobs SET saved = (SELECT COUNT(*) FROM files f WHERE f.local_id ="
            " jobs.local_id) WHERE rowid > ? AND local_id IN (SELECT local_id FROM files)",
            (after_rowid,),
        )
