"""Crash and restart: the engine picks up every job where it was, and sends nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from krea_tui.core.api import KreaClient
from krea_tui.core.store import MIGRATIONS, JobStore, utcnow
from krea_tui.sim.server import RunningSim
from tests.conftest import FAST_SPEED, TOKEN_A, SimFactory, eventually
from tests.integration.engine_support import (
    FLUX,
    check_saved_files,
    db_rows,
    part_files,
    running_engine,
    sim_jobs,
    sim_prompt,
)

ROOT = Path(__file__).resolve().parents[2]


# -- helpers -------------------------------------------------------------------------------------


def start_child(sim: RunningSim, data: Path, count: int) -> subprocess.Popen[str]:
    env = {**os.environ, "KREA_API_TOKEN": TOKEN_A}
    command = [sys.executable, "-m", "tests.integration.engine_child"]
    return subprocess.Popen(
        [*command, sim.base_url, str(data), str(count)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what}")
        time.sleep(0.02)


ACTIVE = {"backlogged", "queued", "scheduled", "processing", "sampling", "intermediate-complete"}


def count_status(db: Path, statuses: set[str]) -> int:
    return sum(row["status"] in statuses for row in db_rows(db))


@contextmanager
def answer_held_after_create(sim: RunningSim) -> Iterator[tuple[threading.Event, list[str]]]:
    """The next POST creates its job on the simulator, then its answer waits until the block
    ends: the window in which a client can die not knowing its job exists."""
    created = threading.Event()
    release = threading.Event()
    prompts: list[str] = []
    original = sim.state.create

    def create(token: str, request: Any) -> dict[str, Any]:
        body = original(token, request)
        if not created.is_set():
            prompts.append(request.prompt)
            created.set()
            release.wait(10)  # blocks the simulator's loop: nothing else is answered meanwhile
        return body

    sim.state.create = create  # type: ignore[method-assign]
    try:
        yield created, prompts
    finally:
        release.set()
        sim.state.create = original  # type: ignore[method-assign]


# -- killing a separate process ------------------------------------------------------------------


def test_killed_engine_resumes_on_restart_and_sends_nothing_twice(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(speed=5, concurrency=4)  # a Flux job takes about 1.4 s
    count = 14

    # 1. Killed with jobs running on the server, at a moment no POST is under way. With all six
    # in-flight slots full the child sends nothing until a job ends, but a job can end just
    # before the kill: then a POST was under way after all, and a second lost POST would make
    # step 3 ambiguous (by design it stays unknown). Such a run starts over, on a clean slate.
    for attempt in range(3):
        data = tmp_path / f"data-{attempt}"
        db = data / "history.sqlite3"
        sim.reset()
        child = start_child(sim, data, count)
        wait_until(
            lambda db=db: count_status(db, ACTIVE) >= 6 and count_status(db, {"submitting"}) == 0,
            30,
            "six jobs running on the server",
        )
        kill(child)
        if count_status(db, {"submitting"}) == 0:
            break
    else:
        raise AssertionError("every attempt was killed during a POST")
    before = db_rows(db)
    assert len(before) == count
    assert any(row["status"] == "held" for row in before)  # there is work left to resume

    # 2. Killed while a POST is under way: the server has the job, the answer never arrives.
    with answer_held_after_create(sim) as (created, prompts):
        child = start_child(sim, data, count)
        assert created.wait(30), "the restarted engine sent nothing"
        kill(child)
    (lost_prompt,) = prompts
    lost = next(
        row
        for row in db_rows(db)
        if row["request"]
        == json.dumps(
            {"prompt": lost_prompt, "seed": 1000 + int(lost_prompt.split()[1])}, sort_keys=True
        )
    )
    assert lost["status"] == "submitting" and lost["remote_id"] is None

    # 3. Restarted once more, it runs to the end.
    child = start_child(sim, data, count)
    try:
        out, err = child.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        child.kill()
        out, err = child.communicate()
        states = sorted((row["status"], row["error_message"] or "") for row in db_rows(db))
        raise AssertionError(
            f"the restarted engine did not finish; jobs: {states}; its last words:\n"
            + "\n".join(err.splitlines()[-25:])
        ) from None
    assert child.returncode == 0, err
    stats = json.loads(out.strip().splitlines()[-1])
    assert stats["requests_per_job"] < 6

    store = JobStore(db)  # opens cleanly after two kills
    try:
        assert store.schema_version == len(MIGRATIONS)
        check = sqlite3.connect(db)
        assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        check.close()
        jobs = store.jobs()
        assert len(jobs) == count
        assert all(job.status == "completed" for job in jobs), store.counts()
        # Nothing was sent twice: one simulator job per request, each adopted by its own job.
        on_sim = sim_jobs(sim)
        assert len(on_sim) == count
        assert sorted(sim_prompt(sim, j["job_id"]) for j in on_sim) == sorted(
            job.prompt for job in jobs
        )
        for job in jobs:
            assert sim_prompt(sim, job.remote_id) == job.prompt
            check_saved_files(job, data / "out")
        recovered = next(job for job in jobs if job.prompt == lost_prompt)
        assert "unknown" in [entry.status for entry in store.timeline(recovered.local_id)]
        assert recovered.requests == 1  # its one POST; the restart asked the list instead
    finally:
        store.close()
    assert part_files(data / "out") == []


# -- resuming in process -------------------------------------------------------------------------


async def test_start_resumes_tracking_marks_interrupted_posts_and_sweeps_temp_files(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    # What a crashed run left behind: a job on the server that was being watched, a job whose
    # POST was never answered (and never arrived), a finished job whose file was not saved yet,
    # and a half-written download.
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as raw:
        running = await raw.generate(FLUX, {"prompt": "running", "seed": 1})
        finished = await raw.generate(FLUX, {"prompt": "finished", "seed": 2})
        finished = await eventually(
            lambda: raw.get_job(finished.job_id), lambda job: job.status == "completed"
        )
    store = JobStore(tmp_path / "history.sqlite3")
    watched = store.add_job(FLUX, {"prompt": "running", "seed": 1})
    store.set_status(watched.local_id, "submitting", utcnow(), submitted_at=utcnow())
    store.set_status(watched.local_id, str(running.status), utcnow(), remote_id=running.job_id)
    interrupted = store.add_job(FLUX, {"prompt": "interrupted", "seed": 3})
    store.set_status(interrupted.local_id, "submitting", utcnow(), submitted_at=utcnow())
    unsaved = store.add_job(FLUX, {"prompt": "finished", "seed": 2})
    store.set_status(
        unsaved.local_id, "completed", utcnow(), remote_id=finished.job_id, urls=finished.urls
    )
    store.close()
    leftover = tmp_path / "out" / "2026-01-01" / ".krea-tui-abc123.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half a png")

    async with running_engine(sim, tmp_path) as h:
        assert not leftover.exists()
        assert h.job(interrupted.local_id).status == "unknown"
        assert "stopped while sending" in (h.job(interrupted.local_id).error_message or "")
        await h.wait_settled([watched.local_id, unsaved.local_id])
        for local_id in (watched.local_id, unsaved.local_id):
            job = h.job(local_id)
            assert job.status == "completed"
            check_saved_files(job, h.output_dir)
        # The interrupted POST never reached the server: it stays unknown, and is not re-sent.
        await h.wait_requests("GET /jobs", 3)
        assert h.job(interrupted.local_id).status == "unknown"
        assert h.client.request_counts["POST /generate"] == 0
    assert len(sim_jobs(sim)) == 2


async def test_a_restart_remembers_the_server_clock_when_it_looks_for_a_killed_post(
    tmp_path: Path,
) -> None:
    from krea_tui.sim.config import SimConfig
    from krea_tui.sim.server import start_sim_thread

    ahead = [30.0]  # the server's clock runs 30 s ahead of ours
    config = SimConfig(port=0, speed=FAST_SPEED, tokens=[TOKEN_A], seed=1234)
    sim = start_sim_thread(config, clock=lambda: time.time() + ahead[0])
    try:
        async with KreaClient(TOKEN_A, base_url=sim.base_url) as raw:
            # The web app made a job a little earlier (the server stamps it 10 s before the
            # POST below; its first job, as the simulator keeps a user's stamps increasing).
            ahead[0] = 20.0
            await raw.generate(FLUX, {"prompt": "made in the web app", "seed": 2})
            ahead[0] = 30.0
            # A first run sends one job and so learns how far ahead the server's clock is.
            async with running_engine(sim, tmp_path) as h:
                (first,) = h.engine.enqueue(FLUX, [{"prompt": "first run", "seed": 1}])
                await h.wait_settled([first.local_id])
            # Then a POST is killed after it reached the server.
            store = JobStore(tmp_path / "history.sqlite3")
            killed = store.add_job(FLUX, {"prompt": "killed mid-air", "seed": 3})
            store.set_status(killed.local_id, "submitting", utcnow(), submitted_at=utcnow())
            store.close()
            created = await raw.generate(FLUX, {"prompt": "killed mid-air", "seed": 3})
        # Two candidates, one lost POST: only the clock offset learnt before the restart tells
        # which job is ours (with the default ±2 s both fall outside its window and it would
        # stay unknown until given up).
        async with running_engine(sim, tmp_path) as h:
            found = await eventually(
                lambda: _job(h, killed.local_id), lambda job: job.remote_id is not None
            )
            assert found.remote_id == created.job_id
            assert h.client.request_counts["POST /generate"] == 0  # found, never sent again
    finally:
        sim.stop(timeout=0)


async def _job(h: Any, local_id: str) -> Any:
    return h.job(local_id)
