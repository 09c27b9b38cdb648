"""Several krea-tui processes on one history, as users run them: a TUI (here an engine in the
test's own process, on the same history file) and headless commands in processes of their own,
all against one simulator. The queue's pause, its in-flight limit and each job's claim hold
across processes; each process sees what the others do; nothing is sent twice and nothing
paid for is lost when a process dies or quits in the middle of sending."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from pathlib import Path

import pytest

from krea_tui.core import engine as engine_module
from krea_tui.sim.config import FaultConfig
from krea_tui.sim.server import RunningSim
from tests.conftest import SimFactory, eventually
from tests.integration.cli_support import ROOT, Result, against
from tests.integration.engine_support import (
    FLUX,
    check_saved_files,
    requests_for,
    running_engine,
    sim_jobs,
)

POST = "POST /generate/image/{model}"


async def krea_async(env: dict[str, str], *args: str, timeout: float = 90) -> Result:
    """`krea-tui ARGS` in a process of its own, without blocking the engine in this one."""
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "krea_tui", *args, cwd=ROOT, env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        out, err = await asyncio.wait_for(child.communicate(), timeout)
    except TimeoutError:
        child.kill()
        out, err = await child.communicate()
        raise AssertionError(f"krea-tui {' '.join(args)} did not end: {err.decode()}") from None
    assert child.returncode is not None
    return Result(child.returncode, out.decode(), err.decode())


def posts(sim: RunningSim) -> int:
    return sum(sim.stats()["requests"].get(POST, {}).values())


def injected(sim: RunningSim, kind: str) -> int:
    return int(sim.stats()["faults_injected"].get(kind, 0))


@pytest.fixture
def env(cli_env: dict[str, str], sim: RunningSim) -> dict[str, str]:
    return {**cli_env, **against(sim)}


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["KREA_TUI_DATA_DIR"])


async def test_a_pause_in_one_process_holds_what_another_process_submits(
    sim: RunningSim, env: dict[str, str]
) -> None:
    async with running_engine(sim, data_dir(env)) as tui:
        tui.engine.pause()
        held = tui.engine.enqueue(FLUX, requests_for(5, "tui"))
        result = await krea_async(env, "submit", "--count", "2", "a fox")
        assert posts(sim) == 0, "a paused queue sent jobs"
        assert result.code == 4, result.err
        assert "paused" in result.err and "held" in result.err
        # The TUI shows the jobs the other process added, as held.
        await tui.log.wait_for(
            lambda: sum(e.job.prompt == "a fox" for e in tui.log.job_events()) >= 2,
            what="the other process's jobs to show up",
        )
        tui.engine.resume()
        every = [job.local_id for job in tui.store.jobs()]
        assert len(every) == 7
        await tui.wait_settled(every, timeout=30)
        assert posts(sim) == 7 == len(sim_jobs(sim))
        assert all(tui.job(job.local_id).status == "completed" for job in held)


async def test_a_pause_made_by_another_process_reaches_this_one(
    sim: RunningSim, env: dict[str, str]
) -> None:
    async with running_engine(sim, data_dir(env)) as tui:
        other = await asyncio.create_subprocess_exec(
            sys.executable, "-c",
            "import sys; from krea_tui.core.store import JobStore; "
            "JobStore(sys.argv[1]).set_paused(True, 'paused elsewhere')",
            str(data_dir(env) / "history.sqlite3"), cwd=ROOT,
        )  # fmt: skip
        assert await other.wait() == 0
        await tui.log.wait_for(
            lambda: any(e.paused for e in tui.log.queue_events()), what="the pause to arrive"
        )
        assert tui.engine.paused and tui.engine.pause_reason == "paused elsewhere"
        tui.engine.enqueue(FLUX, requests_for(2))
        await asyncio.sleep(1.0)  # absence over a span: two follower looks, no POST
        assert posts(sim) == 0


@pytest.mark.parametrize("processes", [2, 4])
async def test_headless_submits_at_once_send_each_job_once_and_save_it(
    make_sim: SimFactory, cli_env: dict[str, str], processes: int
) -> None:
    sim = make_sim(concurrency=3)
    env = {**cli_env, **against(sim)}
    async with running_engine(sim, data_dir(env), max_in_flight=3) as tui:
        results = await asyncio.gather(
            *(
                krea_async(env, "submit", "--json", "--wait", "--count", "4", f"proc {n}")
                for n in range(processes)
            )
        )
        for result in results:
            assert result.code == 0, result.err
            assert "locked" not in result.err and "Traceback" not in result.err
            assert len(result.records) == 4
            for record in result.records:
                assert record["status"] == "completed" and record["files"], record
        jobs = tui.store.jobs()
        assert len(jobs) == 4 * processes
        assert posts(sim) == 4 * processes == len(sim_jobs(sim))
        assert len({job.remote_id for job in jobs}) == 4 * processes
        for job in jobs:
            check_saved_files(job, Path(env["KREA_TUI_OUTPUT_DIR"]))
        # This process saw the others' jobs end, although it sent none of them.
        await tui.log.wait_for(
            lambda: sum(e.new == "completed" for e in tui.log.job_events()) >= len(jobs),
            what="every job's end to be seen here",
        )
        # Each result was saved once: no second copy by another process.
        saved = list(Path(env["KREA_TUI_OUTPUT_DIR"]).rglob("*.png"))
        assert len(saved) == len(jobs)


async def test_a_claim_left_by_a_killed_process_is_found_by_a_live_one(
    make_sim: SimFactory, cli_env: dict[str, str]
) -> None:
    # POSTs create their job and are answered 2 s later: the headless process dies while its
    # POST is under way, after the server made the job.
    faults = FaultConfig(
        slow_rate=1.0, slow_seconds=2.0, slow_after_handling=True, groups=("generate",)
    )
    sim = make_sim(faults=faults)
    env = {**cli_env, **against(sim)}
    async with running_engine(sim, data_dir(env)) as tui:
        child = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "krea_tui", "submit", "--count", "1", "orphan", cwd=ROOT,
            env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip
        await eventually(lambda: _async(injected(sim, "slow")), lambda n: n >= 1, timeout=30)
        child.kill()
        await child.wait()
        (job,) = tui.store.jobs()
        assert job.status == "submitting"
        # The live process releases the dead one's claim, matches its POST and saves it.
        await tui.wait_settled([job.local_id], timeout=30)
        done = tui.job(job.local_id)
        assert done.status == "completed" and done.remote_id == sim_jobs(sim)[0]["job_id"]
        assert posts(sim) == 1


async def test_stopping_waits_for_the_posts_under_way(make_sim: SimFactory, tmp_path: Path) -> None:
    sim = make_sim(faults=FaultConfig(slow_rate=1.0, slow_seconds=1.5, groups=("generate",)))
    async with running_engine(sim, tmp_path, max_posts=4) as first:
        jobs = first.engine.enqueue(FLUX, requests_for(4))
        await eventually(lambda: _async(injected(sim, "slow")), lambda n: n >= 4, timeout=10)
        await first.engine.stop()
        assert Counter(first.job(j.local_id).status for j in jobs)["submitting"] == 0
        assert all(first.job(j.local_id).remote_id for j in jobs), "answers were cut off"
    async with running_engine(sim, tmp_path) as second:
        await second.wait_settled([j.local_id for j in jobs], timeout=30)
        assert {second.job(j.local_id).status for j in jobs} == {"completed"}
    assert posts(sim) == 4


async def test_sigterm_lets_a_headless_submit_finish_sending(
    make_sim: SimFactory, cli_env: dict[str, str]
) -> None:
    sim = make_sim(faults=FaultConfig(slow_rate=1.0, slow_seconds=1.5, groups=("generate",)))
    env = {**cli_env, **against(sim)}
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "krea_tui", "submit", "--wait", "--count", "3", "term", cwd=ROOT,
        env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    await eventually(lambda: _async(injected(sim, "slow")), lambda n: n >= 3, timeout=30)
    child.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(child.communicate(), 30)
    assert "waiting up to" in err.decode()
    assert child.returncode != 0
    waited = await krea_async(env, "wait", *[job["job_id"] for job in sim_jobs(sim)])
    assert waited.code == 0, waited.err
    assert posts(sim) == 3 == len(sim_jobs(sim))


async def _async(value: int) -> int:
    return value


def test_the_follower_looks_often_enough_for_these_tests() -> None:
    # The tests above wait seconds, not minutes, for what another process did.
    assert engine_module.FOLLOW_INTERVAL <= 1.0
    assert os.name == "posix"
