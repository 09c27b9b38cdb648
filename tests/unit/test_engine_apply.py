"""JobEngine.apply builds the job it publishes instead of reading it back from the store, and
finds the jobs of a poll with one `by_remote_ids` query: what subscribers get must still be
exactly what the store holds."""

from __future__ import annotations

from pathlib import Path

from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.events import JobEvent
from krea_tui.core.models import Job
from krea_tui.core.store import JobStore, StoredJob

FLUX = "bfl/flux-1-dev"


def _remote(remote_id: str, status: str, **extra: object) -> Job:
    return Job.from_api({"job_id": remote_id, "status": status, **extra})


def _sent(store: JobStore, n: int, status: str) -> StoredJob:
    job = store.add_job(FLUX, {"prompt": f"job {n}", "seed": n})
    store.set_status(job.local_id, status, job.created_at, remote_id=f"r-{n}")
    return store.get(job.local_id)


def test_published_jobs_are_what_the_store_holds(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "history.sqlite3")
    engine = JobEngine(None, store, EngineConfig(tmp_path / "out", auto_download=False))  # type: ignore[arg-type]
    subscription = engine.subscribe()
    jobs = [
        _sent(store, n, status)
        for n, status in enumerate(
            ["queued", "queued", "processing", "sampling", "processing", "completed", "sampling"]
        )
    ]
    store.add_file(jobs[5].local_id, 0, "u/5", tmp_path / "5.png")
    seen = {
        "r-0": _remote("r-0", "processing"),
        "r-1": _remote("r-1", "sampling"),  # skips a state: recorded as skipped
        "r-2": _remote(
            "r-2",
            "completed",
            completed_at="2026-02-13T02:20:58.265789Z",
            result={"urls": ["https://cdn.example/a.png", "https://cdn.example/b.png"]},
        ),
        "r-3": _remote("r-3", "failed", error={"code": "nsfw", "message": "refused"}),
        "r-4": _remote("r-4", "queued"),  # backwards: ignored
        "r-5": _remote("r-5", "failed"),  # already final: ignored
        "r-6": _remote(
            "r-6", "intermediate-complete", result={"urls": ["https://cdn.example/p.png"]}
        ),
        "r-unknown": _remote("r-unknown", "processing"),  # not ours
    }

    engine.apply(seen)

    events = []
    while (event := subscription.get_nowait()) is not None:
        events.append(event)
    assert [e.job.remote_id for e in events] == ["r-0", "r-1", "r-2", "r-3", "r-6"]
    for event in events:
        assert isinstance(event, JobEvent)
        assert event.job == store.get(event.job.local_id), event.job.remote_id
    assert events[1].skipped == ("scheduled", "processing")
    assert events[2].job.finished_at is not None
    assert events[2].job.finished_at.microsecond == 265000  # the store keeps milliseconds
    assert events[3].job.finished_at is not None  # no completed_at: the time it was seen
    assert store.get(jobs[4].local_id).status == "processing"


def test_by_remote_ids_finds_the_known_ones_with_their_files(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "history.sqlite3")
    jobs = [_sent(store, n, "processing") for n in range(520)]  # more than one 500-id chunk
    store.add_file(jobs[3].local_id, 0, "u/3", tmp_path / "3.png")
    wanted = [f"r-{n}" for n in range(520)] + ["r-nope"]

    found = store.by_remote_ids(wanted)

    assert set(found) == {f"r-{n}" for n in range(520)}
    assert found["r-3"] == store.by_remote_id("r-3")
    assert found["r-3"].files == (str(tmp_path / "3.png"),)
    assert store.by_remote_ids([]) == {}
