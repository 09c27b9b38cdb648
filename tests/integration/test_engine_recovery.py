"""The engine keeps its promises when its own machine misbehaves or the server answers what it
should not: a full disk, a job id given twice. Nothing is silently dropped: a failing loop is
said and started again, and every job reaches its true final state once it can be recorded."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core import engine as engine_module
from krea_tui.core.events import NoticeEvent
from krea_tui.core.models import Job
from krea_tui.core.store import JobStore
from tests.conftest import SimFactory, eventually
from tests.integration.engine_support import FLUX, requests_for, running_engine, sim_jobs


class FullDisk:
    """Makes the history's writes fail as SQLite does when the disk is full, until cleared."""

    def __init__(self, store: JobStore, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = False
        self.refused = 0
        real = store.set_status

        def set_status(*args: Any, **kwargs: Any) -> bool:
            if self.full:
                self.refused += 1
                raise sqlite3.OperationalError("database or disk is full")
            return real(*args, **kwargs)

        monkeypatch.setattr(store, "set_status", set_status)


async def test_a_full_disk_pauses_the_engine_loudly_and_it_catches_up_after(
    make_sim: SimFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "RESTART_DELAYS", (0.2, 0.4))
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        disk = FullDisk(h.store, monkeypatch)
        jobs = h.engine.enqueue(FLUX, requests_for(3))
        ids = [job.local_id for job in jobs]
        await h.log.wait_for(lambda: all(h.job(i).remote_id for i in ids), what="all sent")
        disk.full = True
        # The server finishes them while nothing can be written here.
        await eventually(
            lambda: _now(disk.refused, [j["status"] for j in sim_jobs(sim)]),
            lambda seen: seen[0] >= 2 and set(seen[1]) == {"completed"},
            timeout=20,
        )
        notices = [e for e in h.log.events if isinstance(e, NoticeEvent)]
        assert any("disk is full" in e.message and e.severity == "error" for e in notices)
        disk.full = False
        await h.wait_settled(ids, timeout=20)
        assert {h.job(i).status for i in ids} == {"completed"}


async def test_an_answer_that_cannot_be_recorded_is_kept_until_it_can(
    make_sim: SimFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        disk = FullDisk(h.store, monkeypatch)
        real_adopt = h.engine.adopt
        calls = 0

        def adopt(job: Any, remote: Job) -> None:
            nonlocal calls
            calls += 1
            disk.full = calls == 1  # the first try to record the POST's answer fails
            try:
                real_adopt(job, remote)
            finally:
                disk.full = False

        monkeypatch.setattr(h.engine, "adopt", adopt)
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.wait_settled([job.local_id], timeout=20)
        assert h.job(job.local_id).remote_id == sim_jobs(sim)[0]["job_id"]
        assert calls >= 2


async def test_a_job_id_given_twice_by_the_server_is_not_lost_or_stuck(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        (first,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.wait_settled([first.local_id], timeout=20)
        h.engine.pause()
        (second,) = h.engine.enqueue(FLUX, requests_for(1, "reuse"))
        h.store.set_status(second.local_id, "submitting", first.created_at)
        claimed = h.job(second.local_id)
        # Its POST is answered with the first job's id (a broken server or proxy).
        reused = Job.from_api({"job_id": h.job(first.local_id).remote_id, "status": "queued"})
        h.engine.adopt(claimed, reused)
        after = h.job(second.local_id)
        assert after.status == "unknown" and "already given" in (after.error_message or "")
        assert h.job(first.local_id).status == "completed"  # the first job's record stays


async def _now(*values: Any) -> tuple[Any, ...]:
    return values
