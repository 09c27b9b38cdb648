"""The SQLite history: versioned schema, WAL, timeline with skipped states, lookups by id."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from krea_tui.core.models import Job
from krea_tui.core.store import MIGRATIONS, JobStore

FLUX = "bfl/flux-1-dev"
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):
    opened = JobStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


def test_new_file_is_at_the_latest_schema_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "down" / "history.sqlite3"
    store = JobStore(path)
    assert store.schema_version == len(MIGRATIONS)
    store.close()
    other = sqlite3.connect(path)
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert other.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        other.close()


def test_an_empty_older_file_is_migrated_and_a_newer_one_refused(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite3"
    sqlite3.connect(old).close()  # version 0, no tables
    store = JobStore(old)
    job = store.add_job(FLUX, {"prompt": "p"})
    assert store.get(job.local_id).prompt == "p"
    store.close()

    newer = tmp_path / "newer.sqlite3"
    connection = sqlite3.connect(newer)
    connection.execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    connection.close()
    with pytest.raises(RuntimeError, match="newer krea-tui"):
        JobStore(newer)


def test_jobs_and_timelines_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    store = JobStore(path)
    job = store.add_job(FLUX, {"prompt": "ü ☃", "seed": 3}, batch_id="b1", now=T0)
    store.set_status(job.local_id, "submitting", T0, submitted_at=T0)
    store.set_status(job.local_id, "queued", T0, remote_id="r-1")
    store.close()

    again = JobStore(path)
    try:
        (found,) = again.jobs(batch_id="b1")
        assert found.request == {"prompt": "ü ☃", "seed": 3}
        assert found.status == "queued" and found.remote_id == "r-1"
        assert found.submitted_at == T0
        assert [e.status for e in again.timeline(job.local_id)] == ["held", "submitting", "queued"]
    finally:
        again.close()


def test_states_passed_unseen_are_recorded_as_skipped_before_the_one_seen(
    store: JobStore,
) -> None:
    job = store.add_job(FLUX, {"prompt": "p"}, now=T0)
    later = T0 + timedelta(seconds=5)
    store.set_status(job.local_id, "queued", T0)
    store.set_status(job.local_id, "completed", later, skipped=("scheduled", "processing"))
    timeline = [(e.status, e.skipped, e.at) for e in store.timeline(job.local_id)]
    assert timeline == [
        ("held", False, T0),
        ("queued", False, T0),
        ("scheduled", True, later),
        ("processing", True, later),
        ("completed", False, later),
    ]
    assert store.get(job.local_id).finished_at == later  # a final state stamps the end


def test_find_matches_local_or_remote_id_prefixes_only(store: JobStore) -> None:
    a = store.add_job(FLUX, {"prompt": "a"})
    b = store.add_job(FLUX, {"prompt": "b"})
    # Remote ids start with letters a local id (hex) never has, so no random local id can
    # share their prefix.
    store.update(a.local_id, remote_id="xyz-123")
    store.update(b.local_id, remote_id="xyw-456")
    assert [j.local_id for j in store.find("xyz")] == [a.local_id]
    assert {j.local_id for j in store.find("xy")} == {a.local_id, b.local_id}
    assert [j.local_id for j in store.find(b.local_id[:12])] == [b.local_id]
    assert store.find("zzz") == []
    # What a user types is a prefix, not a pattern: SQL wildcards match nothing here.
    assert store.find("%") == []
    assert store.find("_") == []
    assert store.find("xy_") == []


def test_held_jobs_leave_in_position_order(store: JobStore) -> None:
    first = store.add_job(FLUX, {"prompt": "1"})
    second = store.add_job(FLUX, {"prompt": "2"})
    assert store.next_held().local_id == first.local_id
    store.move(second.local_id, first.position - 1)
    assert store.next_held().local_id == second.local_id
    store.set_status(second.local_id, "submitting", T0)
    assert store.next_held().local_id == first.local_id


def test_active_remote_is_what_the_server_has_and_has_not_finished(store: JobStore) -> None:
    states = ["held", "submitting", "unknown", "queued", "sampling", "completed", "weird-new"]
    jobs = {}
    for index, status in enumerate(states):
        job = store.add_job(FLUX, {"prompt": status})
        store.set_status(job.local_id, status, T0, remote_id=f"r{index}")
        jobs[status] = job.local_id
    active = {j.status for j in store.active_remote()}
    # An unknown new server state keeps a job watched: never stop tracking a paid job.
    assert active == {"queued", "sampling", "weird-new"}
    assert store.count_active_remote() == 3
    assert store.counts()["completed"] == 1


def test_remove_takes_timeline_and_files_along(store: JobStore) -> None:
    job = store.add_job(FLUX, {"prompt": "p"})
    store.add_file(job.local_id, 0, "https://x/0.png", "/tmp/0.png")
    assert store.remove([job.local_id]) == 1
    with pytest.raises(KeyError):
        store.get(job.local_id)
    assert store.timeline(job.local_id) == []
    left = store._db.execute("SELECT COUNT(*) FROM files").fetchone()[0]
    assert left == 0


def test_a_failed_transaction_leaves_nothing_behind(store: JobStore) -> None:
    with pytest.raises(ZeroDivisionError), store.transaction():
        store.add_job(FLUX, {"prompt": "half"})
        _ = 1 / 0
    assert store.jobs() == []


def test_a_remote_id_belongs_to_one_job_only(store: JobStore) -> None:
    a = store.add_job(FLUX, {"prompt": "a"})
    b = store.add_job(FLUX, {"prompt": "b"})
    store.update(a.local_id, remote_id="same")
    with pytest.raises(sqlite3.IntegrityError):
        store.update(b.local_id, remote_id="same")
    queued = {"status": "queued", "created_at": T0.isoformat(), "result": None}
    assert store.import_remote(FLUX, Job.from_api({"job_id": "same", **queued})) is None
    imported = store.import_remote(FLUX, Job.from_api({"job_id": "other", **queued}))
    assert imported is not None and imported.request == {}
    assert store.by_remote_id("other").status == "queued"
    assert store.by_remote_id("other").remote_created_at == T0


def test_request_counter_adds_up(store: JobStore) -> None:
    job = store.add_job(FLUX, {"prompt": "p"})
    store.count_request(job.local_id)
    store.count_request(job.local_id, 2)
    assert store.get(job.local_id).requests == 3


def test_post_timings_come_only_from_posts_whose_answer_arrived(store: JobStore) -> None:
    def at(seconds: float) -> datetime:
        return T0 + timedelta(seconds=seconds)

    def server(seconds: float) -> dict[str, str]:
        return {"job_id": f"r{seconds}", "status": "queued", "created_at": at(seconds).isoformat()}

    answered = store.add_job(FLUX, {"prompt": "answered"}, now=at(1))  # held, sent: same ms
    store.set_status(answered.local_id, "submitting", at(1), submitted_at=at(1))
    store.set_status(answered.local_id, "queued", at(1.2), remote_id="r31.1", raw=server(31.1))
    lost = store.add_job(FLUX, {"prompt": "lost, found later"}, now=at(2))
    store.set_status(lost.local_id, "submitting", at(3), submitted_at=at(3))
    store.set_status(lost.local_id, "unknown", at(13))
    store.set_status(lost.local_id, "queued", at(40), remote_id="r45", raw=server(45))
    retried = store.add_job(FLUX, {"prompt": "429 first"}, now=at(4))
    store.set_status(retried.local_id, "submitting", at(5), submitted_at=at(5))
    store.set_status(retried.local_id, "held", at(5.1))
    store.set_status(retried.local_id, "submitting", at(9), submitted_at=at(9))
    store.set_status(retried.local_id, "queued", at(9.3), remote_id="r39.2", raw=server(39.2))
    store.import_remote("imported:flux", Job.from_api(server(50)))  # sent by someone else

    assert store.post_timings() == [(at(1), at(1.2), at(31.1)), (at(9), at(9.3), at(39.2))]
