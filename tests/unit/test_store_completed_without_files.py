"""JobStore.completed_without_files: the start-up question "what is left to download?",
answered in SQL instead of by loading every completed job."""

from __future__ import annotations

from pathlib import Path

from krea_tui.core.store import JobStore


def test_lists_completed_jobs_missing_a_file_in_queue_order(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "history.sqlite3")
    saved = store.add_job("bfl/flux-1-dev", {"prompt": "saved"})
    missing = store.add_job("bfl/flux-1-dev", {"prompt": "missing"})
    half = store.add_job("bfl/flux-1-dev", {"prompt": "one of two"})
    running = store.add_job("bfl/flux-1-dev", {"prompt": "running"})
    empty = store.add_job("bfl/flux-1-dev", {"prompt": "no urls"})
    for job, urls in ((saved, ["u/0"]), (missing, ["u/1"]), (half, ["u/2", "u/3"])):
        store.set_status(job.local_id, "completed", job.created_at, urls=urls)
    store.set_status(running.local_id, "processing", running.created_at, urls=["u/4"])
    store.set_status(empty.local_id, "completed", empty.created_at)
    store.add_file(saved.local_id, 0, "u/0", tmp_path / "0.png")
    store.add_file(half.local_id, 0, "u/2", tmp_path / "2.png")

    assert store.completed_without_files() == [missing.local_id, half.local_id]
    expected = [
        j.local_id for j in store.jobs(statuses=["completed"]) if len(j.files) < len(j.urls)
    ]
    assert store.completed_without_files() == expected
