"""Large histories for the queue model's benchmark, built fast: a million jobs in well under
a minute. The rows are made by SQLite itself (a recursive count and printf: formatting four
times a job in Python was most of the time) inside `JobStore.bulk_import`, which makes the
indexes, the word index and the tally in one pass at the end.

The shape is what the engine writes for the columns the queue reads: a request, a remote id,
times, a cost, a batch, and one saved file per completed job; the timeline, which the queue
never reads, is left out."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from krea_tui.core.store import JobStore
from tests.bench.common import FLUX, IN_FLIGHT, PROMPTS

RARE_WORD = "kingfisher"  # in one prompt of every hundred: the filter figure's word
RARE_EVERY = 100
BATCH_SIZE = 20  # every job is in a batch of 20, as a compose form's N=20 makes
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def _case(index: str, values: tuple[str, ...]) -> str:
    quoted = [value.replace("'", "''") for value in values]
    whens = " ".join(f"WHEN {n} THEN '{value}'" for n, value in enumerate(quoted))
    return f"(CASE {index} % {len(values)} {whens} END)"


def _time(seconds: str) -> str:
    return f"strftime('%Y-%m-%dT%H:%M:%S.000+00:00', {seconds}, 'unixepoch')"


# n: the job's number; :count finished jobs come first, then the ones in flight.
_JOBS = f"""
WITH RECURSIVE numbers(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM numbers WHERE n + 1 < :total),
made AS (
    SELECT n, printf('%08x', n) || '000000000000000000000000' AS local_id,
        printf('%08x-bench-4000-8000-%012d', n, n) AS remote_id,
        :start + 6 * n AS created,
        CASE WHEN n < :count THEN CASE WHEN n % 25 THEN 'completed' ELSE 'failed' END
             ELSE {_case("n", IN_FLIGHT)} END AS status
    FROM numbers
)
INSERT INTO jobs (local_id, model, request, position, remote_id, status, created_at,
    submitted_at, remote_created_at, finished_at, urls, batch_id, cost_estimate, cost_unit)
SELECT local_id, '{FLUX}',
    -- what json.dumps(..., sort_keys=True) writes (the prompts need no escaping)
    printf('{{"height": 1024, "prompt": "%s #%d%s", "seed": %d, "steps": 25, "width": 1024}}',
        {_case("n", PROMPTS)}, n,
        CASE WHEN n % {RARE_EVERY} = 7 THEN ', a {RARE_WORD}' ELSE '' END, 1000 + n),
    n + 1.0, remote_id, status, {_time("created")}, {_time("created + 1")},
    {_time("created + 2")}, CASE WHEN n < :count THEN {_time("created + 9")} END,
    CASE WHEN status = 'completed'
         THEN '["https://gen.example.test/' || remote_id || '.png"]' ELSE '[]' END,
    printf('b20261123-000000-%06x', n / {BATCH_SIZE}), 0.007, 'USD'
FROM made
"""
_FILES = """
INSERT INTO files (local_id, idx, url, path)
SELECT local_id, 0, json_extract(urls, '$[0]'), '/nonexistent/results/' || remote_id || '-0.png'
FROM jobs WHERE status = 'completed'
"""


def build(path: Path, count: int, *, in_flight: int = 0) -> None:
    """`count` finished jobs, then `in_flight` unfinished ones, into a new history at `path`."""
    total = count + in_flight
    store = JobStore(path)
    # A new file nobody else has open, thrown away after the run: no journal while it is
    # filled (WAL would write the whole history twice, once to the log and once back).
    store._db.execute("PRAGMA journal_mode=OFF")  # the benchmark may reach in
    store._db.execute("PRAGMA synchronous=OFF")
    try:
        with store.bulk_import() as db:
            if total:
                start = int(NOW.timestamp()) - 6 * total
                db.execute(_JOBS, {"total": total, "count": count, "start": start})
                db.execute(_FILES)
        store._db.execute("PRAGMA journal_mode=WAL")
    finally:
        store.close()
