"""The history's indexes for the queue view: older histories gain them on open, the triggers
keep them true through every write, a SQLite without FTS5 does without the word index, and a
bulk import makes them in one pass."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krea_tui.core import search_index
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import QueueView, summary_of_jobs
from krea_tui.core.schema import MIGRATIONS
from krea_tui.core.store import JobStore
from krea_tui.tui.widgets.status_bar import summarize_jobs  # what the status bar counted

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLUX = "bfl/flux-1-dev"


def old_history(path: Path, version: int, jobs: int) -> None:
    """A history as krea-tui `version` left it, with `jobs` jobs in it."""
    db = sqlite3.connect(path, isolation_level=None)
    for steps in MIGRATIONS[:version]:
        for step in steps:
            assert isinstance(step, str)  # the old versions are plain SQL
            db.execute(step)
    db.execute(f"PRAGMA user_version={version}")
    for n in range(jobs):
        db.execute(
            "INSERT INTO jobs (local_id, model, request, position, status, created_at,"
            " cost_estimate, cost_unit) VALUES (?,?,?,?,?,?,?,?)",
            (
                f"{n:032x}",
                FLUX,
                f'{{"prompt": "a {"kingfisher" if n % 4 == 0 else "fox"} {n}"}}',
                float(n + 1),
                ["completed", "failed", "held"][n % 3],
                T0.isoformat(timespec="milliseconds"),
                0.01,
                "USD",
            ),
        )
    db.close()


def found(store: JobStore, text: str) -> list[str]:
    model = QueueModel(store, now=lambda: T0, view=QueueView(parse(text)))
    return [row.local_id for row in model.window(0, 1000)]  # type: ignore[union-attr]


@pytest.mark.parametrize("version", [1, 2])
def test_an_older_history_gains_the_tally_and_the_word_index(tmp_path: Path, version: int) -> None:
    path = tmp_path / "old.sqlite3"
    old_history(path, version, 30)
    store = JobStore(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.has_word_index and store.has_tally
    model = QueueModel(store)
    assert model.summary == summary_of_jobs(store.jobs())
    assert found(store, "kingfisher") == [f"{n:032x}" for n in range(0, 30, 4)]
    store.close()


def test_the_tally_follows_every_write(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "h.sqlite3")
    a = store.add_job(FLUX, {"prompt": "a"}, cost_estimate=0.1, cost_unit="USD")
    b = store.add_job(FLUX, {"prompt": "b"}, cost_estimate=0.2, cost_unit="USD")
    c = store.add_job(FLUX, {"prompt": "c"})
    store.set_status(a.local_id, "completed", T0)
    store.set_status(b.local_id, "completed", T0)
    store.update(c.local_id, cost_estimate=0.3, cost_unit="credits")
    store.set_status(c.local_id, "completed", T0)
    store.update(b.local_id, cost_unit="")  # no unit: "?"
    store.remove([a.local_id])
    assert QueueModel(store).summary == summary_of_jobs(store.jobs())
    store.remove([b.local_id, c.local_id])
    assert store.tally() == []  # nothing left over, not even 1e-17
    store.close()


def test_words_follow_edits_remote_ids_and_removals(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "h.sqlite3")
    job = store.add_job(FLUX, {"prompt": "a red fox"})
    assert found(store, "fox") == [job.local_id]
    store.update(job.local_id, request={"prompt": "a blue whale"})
    assert found(store, "fox") == [] and found(store, "whale") == [job.local_id]
    store.set_status(job.local_id, "queued", T0, remote_id="remote-0042")
    assert found(store, "TE-004") == [job.local_id]
    store.remove([job.local_id])
    assert found(store, "whale") == []
    store.close()


def test_without_fts5_words_are_read_from_the_jobs_and_indexed_once_it_is_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "h.sqlite3"
    with monkeypatch.context() as patch:
        patch.setattr(search_index, "fts5_available", lambda db: False)
        store = JobStore(path)
        assert not store.has_word_index
        job = store.add_job(FLUX, {"prompt": "a KINGFISHER"})  # no trigger to run
        assert found(store, "kingfisher") == [job.local_id]
        store.close()
    store = JobStore(path)
    assert store.has_word_index
    assert found(store, "kingfisher") == [job.local_id]
    store.close()


def test_a_word_index_out_of_step_with_its_jobs_is_made_again(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    store = JobStore(path)
    jobs = [store.add_job(FLUX, {"prompt": f"job{n}x"}) for n in range(3)]
    store.close()
    # What a VACUUM that renumbered rowids would leave: the index keyed by rowids now
    # belonging to other jobs.
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("UPDATE job_words SET rowid = rowid + 100")
    db.close()
    store = JobStore(path)
    assert found(store, "job2x") == [jobs[2].local_id]
    store.close()


def test_a_bulk_import_ends_with_every_index_and_trigger_in_place(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "h.sqlite3")
    first = store.add_job(FLUX, {"prompt": "before"})
    schema = "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger')"
    before = set(store.scan(schema))
    with store.bulk_import() as db:
        db.executemany(
            "INSERT INTO jobs (local_id, model, request, position, status, created_at)"
            " VALUES (?,?,?,?,?,?)",
            [
                (
                    f"bulk{n}",
                    FLUX,
                    f'{{"prompt": "bulk {n}"}}',
                    10.0 + n,
                    "completed",
                    T0.isoformat(),
                )
                for n in range(5)
            ],
        )
    assert set(store.scan(schema)) == before
    assert found(store, "bulk 3") == ["bulk3"]
    assert found(store, "before") == [first.local_id]
    later = store.add_job(FLUX, {"prompt": "after"})
    assert found(store, "after") == [later.local_id]
    assert QueueModel(store).summary == summary_of_jobs(store.jobs())
    store.close()


def test_a_read_only_older_history_is_summed_from_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old_history(path, 2, 6)
    store = JobStore(path, readonly=True)
    assert not store.has_tally and not store.has_word_index
    model = QueueModel(store, now=lambda: T0)
    assert model.summary == summary_of_jobs(store.jobs())
    assert model.row_count() == 6
    assert found(store, "kingfisher") == [f"{n:032x}" for n in (0, 4)]
    store.close()


WRITES = st.lists(
    st.tuples(
        st.sampled_from(["add", "status", "cost", "remove"]),
        st.integers(0, 7),  # which job (of those there are)
        st.sampled_from(["held", "queued", "completed", "failed", "cancelled", "?odd"]),
        st.one_of(st.none(), st.sampled_from([0.007, 0.1, 1.5, 0.0])),
        st.sampled_from([None, "", "USD", "credits"]),
    ),
    max_size=25,
)


@settings(max_examples=60)
@given(writes=WRITES)
def test_the_tally_is_what_the_status_bar_counts_after_any_writes(
    writes: list[tuple[str, int, str, float | None, str | None]],
) -> None:
    store = JobStore(":memory:")
    try:
        for action, which, status, cost, unit in writes:
            jobs = store.jobs()
            if action == "add" or not jobs:
                store.add_job(FLUX, {"prompt": "p"}, cost_estimate=cost, cost_unit=unit)
                continue
            job = jobs[which % len(jobs)]
            if action == "status":
                store.set_status(job.local_id, status, T0)
            elif action == "cost":
                store.update(job.local_id, cost_estimate=cost, cost_unit=unit)
            else:
                store.remove([job.local_id])
            counts, spend = summarize_jobs(store.jobs())
            summary = QueueModel(store).summary
            assert dict(summary.counts) == {s: n for s, n in counts.items() if n}
            assert summary.spend.keys() == spend.keys()
            assert all(math.isclose(summary.spend[u], spend[u], abs_tol=1e-9) for u in spend)
    finally:
        store.close()


def test_the_newest_job_of_a_view_is_found_by_walking_an_index(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "h.sqlite3")
    try:
        for n in range(5):
            store.add_job("bfl/flux-1-dev", {"prompt": f"p{n}"}, now=T0)  # type: ignore[arg-type]
        plan = " ".join(
            str(row[-1])
            for row in store._db.execute(
                "EXPLAIN QUERY PLAN SELECT local_id FROM jobs WHERE 1"
                " ORDER BY created_at DESC, position DESC LIMIT 1"
            )
        )
        assert "jobs_created" in plan and "TEMP B-TREE" not in plan
    finally:
        store.close()
