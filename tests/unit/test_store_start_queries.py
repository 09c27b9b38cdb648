"""What the engine asks the history at every start (and the watcher at every look) is
answered from indexes, not a scan of every job: on a million-job history those scans took
1.4 s before the first frame. The answers stay right through every kind of write."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from krea_tui.core.store import JobStore

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
FLUX = "bfl/flux-1-dev"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = JobStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


def completed(store: JobStore, urls: int, n: int = 0) -> str:
    job = store.add_job(FLUX, {"prompt": f"p{n}"}, now=T0 + timedelta(seconds=n))
    at = T0 + timedelta(seconds=n, milliseconds=500)
    store.update(job.local_id, remote_id=f"r{n}", submitted_at=at)
    store.set_status(
        job.local_id,
        "completed",
        at,
        urls=tuple(f"https://x.test/{n}/{i}.png" for i in range(urls)),
    )
    return job.local_id


def plan(store: JobStore, sql: str) -> str:
    return " / ".join(str(row[3]) for row in store.scan(f"EXPLAIN QUERY PLAN {sql}"))


def test_jobs_with_results_left_to_save_are_found_through_an_index(store: JobStore) -> None:
    done = completed(store, 2, 1)
    half = completed(store, 2, 2)
    none = completed(store, 0, 3)
    store.add_file(done, 0, "u0", "/out/a.png")
    store.add_file(done, 1, "u1", "/out/b.png")
    store.add_file(half, 0, "u0", "/out/c.png")
    store.add_file(half, 0, "u0", "/out/c2.png")  # saved again: still one of two
    assert store.completed_without_files() == [half]
    store.add_file(half, 1, "u1", "/out/d.png")
    assert store.completed_without_files() == []
    store.remove([done])
    assert none not in store.completed_without_files()
    sql = store.UNSAVED_SQL
    assert "jobs_unsaved" in plan(store, sql), plan(store, sql)


def test_the_jobs_the_server_has_are_counted_through_the_status_index(store: JobStore) -> None:
    for n, status in enumerate(["queued", "processing", "held", "completed", "sampling"]):
        job = store.add_job(FLUX, {"prompt": f"p{n}"}, now=T0)
        if status != "held":
            store.update(job.local_id, remote_id=f"r{n}")
            store.set_status(job.local_id, status, T0)
    assert store.count_active_remote() == 3
    assert {j.status for j in store.active_remote()} == {"queued", "processing", "sampling"}
    query = plan(store, f"SELECT COUNT(*) FROM jobs WHERE {store.active_where()}")
    assert "jobs_status" in query and "SCAN" not in query, query


def test_a_status_the_service_adds_later_still_counts_as_on_the_server(store: JobStore) -> None:
    job = store.add_job(FLUX, {"prompt": "p"}, now=T0)
    store.update(job.local_id, remote_id="r1")
    store.set_status(job.local_id, "upscaling", T0)  # unknown to this version
    assert store.count_active_remote() == 1


def test_the_last_posts_are_read_through_the_submitted_at_index(store: JobStore) -> None:
    for n in range(3):
        completed(store, 1, n)
    assert len(store.post_timings()) <= 3
    assert "jobs_submitted" in plan(
        store,
        "SELECT local_id FROM jobs WHERE submitted_at IS NOT NULL"
        " ORDER BY submitted_at DESC LIMIT 5",
    )


def test_a_bulk_import_counts_each_jobs_saved_files(store: JobStore) -> None:
    with store.bulk_import() as db:
        for n, (urls, files) in enumerate([(2, 2), (2, 1), (1, 0)]):
            db.execute(
                "INSERT INTO jobs (local_id, model, request, position, status, created_at, urls)"
                " VALUES (?,?,?,?,?,?,?)",
                (f"bulk{n}", FLUX, "{}", 1.0 + n, "completed", T0.isoformat(),
                 str([f"u{i}" for i in range(urls)]).replace("'", '"')),
            )  # fmt: skip
            for i in range(files):
                db.execute(
                    "INSERT INTO files (local_id, idx, url, path) VALUES (?,?,?,?)",
                    (f"bulk{n}", i, f"u{i}", f"/out/{n}-{i}.png"),
                )
    assert store.completed_without_files() == ["bulk1", "bulk2"]
    store.add_file("bulk1", 1, "u1", "/out/1-1.png")  # the trigger is back after the import
    assert store.completed_without_files() == ["bulk2"]


def test_the_in_flight_count_of_every_claim_goes_through_the_status_index(
    store: JobStore,
) -> None:
    for n, status in enumerate(["queued", "submitting", "held", "completed", "upscaling"]):
        job = store.add_job(FLUX, {"prompt": f"p{n}"}, now=T0)
        if status not in ("held", "submitting"):
            store.update(job.local_id, remote_id=f"r{n}")
        if status != "held":
            store.set_status(job.local_id, status, T0)
    where = store.in_flight_where()
    assert store.first(f"SELECT COUNT(*) FROM jobs WHERE {where}") == (3,)
    query = plan(store, f"SELECT COUNT(*) FROM jobs WHERE {where}")
    assert "jobs_status" in query and "SCAN" not in query, query
