"""The engine when the server misbehaves: 5xx, dropped connections, lost answers, 429 bursts,
and the answers that stop the queue (401, 402, 410)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from krea_tui.core import watcher
from krea_tui.core.status import FINAL
from krea_tui.sim.config import FaultConfig
from tests.conftest import TOKEN_A, SimFactory, eventually
from tests.integration.engine_support import (
    FLUX,
    Harness,
    check_event_chains,
    check_saved_files,
    part_files,
    requests_for,
    running_engine,
    sim_jobs,
    sim_prompt,
)

POST = "POST /generate/image/{model}"


def answers(sim, label: str = POST) -> Counter[str]:
    return Counter(sim.stats()["requests"].get(label, {}))


def created_on_sim(sim) -> int:
    """POSTs that created a job: answered 200, or answered 200 and then dropped."""
    counts = answers(sim)
    return counts["200"] + counts["dropped after 200"]


# -- many jobs, every fault at once --------------------------------------------------------------


async def run_faulty_batch(
    make_sim: SimFactory, tmp_path: Path, count: int, *, rate: float
) -> None:
    """`rate`: share of requests answered 5xx; drops and lost answers are half as common each."""
    faults = FaultConfig(
        error_rate=rate, drop_rate=rate / 2, drop_after_create_rate=rate / 2, burst_429=3
    )
    sim = make_sim(
        speed=200, concurrency=4, backlog=8, fail_rate=0.1, system_cancel_rate=0.05, faults=faults
    )
    async with running_engine(sim, tmp_path, max_in_flight=8) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(count))
        ids = [job.local_id for job in jobs]

        def ended(local_id: str) -> bool:
            return h.job(local_id).status in FINAL | {"unknown"}

        await h.log.wait_for(lambda: sum(map(ended, ids)) >= count // 2, 60, "half the jobs")
        sim.config.faults.update({"burst_429": 4})  # a second burst mid-run
        await h.log.wait_for(lambda: all(map(ended, ids)), 90, "every job to end")
        # Lost POSTs may still be matched: until none is left, let the watcher read the list a
        # few more times.
        await h.wait_requests(
            "GET /jobs", 4, timeout=30, unless=lambda: not any(map(h.is_unknown, ids))
        )
        await h.log.wait_for(lambda: h.settled(i for i in ids if h.job(i).remote_id), 30)
        await check_faulty_batch(h, ids)


async def check_faulty_batch(h: Harness, ids: list[str]) -> None:
    sim = h.sim
    jobs = [h.job(local_id) for local_id in ids]
    adopted = [job for job in jobs if job.remote_id]
    left_unknown = [job for job in jobs if job.status == "unknown"]
    # Every job ended, or is a lost POST that could not be matched (and was never re-sent).
    assert len(adopted) + len(left_unknown) == len(jobs)
    assert all(job.remote_id is None for job in left_unknown)

    # Nothing submitted twice: every simulator job ran a different request...
    on_sim = sim_jobs(sim)
    prompts = [sim_prompt(sim, job["job_id"]) for job in on_sim]
    assert len(prompts) == len(set(prompts)), "a request was sent twice"
    assert len(on_sim) == created_on_sim(sim)
    # ...and each local job has its own remote job, the one that ran its own request.
    assert len({job.remote_id for job in adopted}) == len(adopted)
    truth = {job["job_id"]: job for job in on_sim}
    for job in adopted:
        assert truth[job.remote_id]["status"] == job.status, job.short_id
        assert sim_prompt(sim, job.remote_id) == job.prompt
        if job.status == "completed":
            check_saved_files(job, h.output_dir)
    # Server jobs nobody adopted can only come from POSTs whose answer was lost.
    orphans = len(on_sim) - len(adopted)
    assert 0 <= orphans <= len(left_unknown)
    lost = answers(sim)["dropped"] + answers(sim)["dropped after 200"]
    assert len(left_unknown) <= lost

    injected = sim.stats()["faults_injected"]
    assert injected["burst_429"] == 7, injected
    print(f"faults {injected}; adopted {len(adopted)}, left unknown {len(left_unknown)}")

    check_event_chains(h.log, ids, retries=True)
    stats = h.engine.request_stats()
    assert stats["jobs"] == len(adopted)
    # A client polling each job on its own would spend dozens of requests per job here.
    assert stats["requests_per_job"] < 6, h.client.request_counts


async def test_faulty_server_40_jobs_each_end_in_their_true_state(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    await run_faulty_batch(make_sim, tmp_path, 40, rate=0.1)


@pytest.mark.slow
async def test_faulty_server_200_jobs_each_end_in_their_true_state(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    await run_faulty_batch(make_sim, tmp_path, 200, rate=0.05)


# -- 429 -----------------------------------------------------------------------------------------


async def test_full_backlog_keeps_jobs_held_locally_without_a_flood_of_429s(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(speed=100, concurrency=1, backlog=1)
    count = 8
    async with running_engine(sim, tmp_path, max_in_flight=8) as h:
        started = time.monotonic()
        jobs = h.engine.enqueue(FLUX, requests_for(count))
        ids = [job.local_id for job in jobs]
        await h.wait_settled(ids, timeout=30)
        elapsed = time.monotonic() - started
        assert all(h.job(i).status == "completed" for i in ids)
        rejected = answers(sim)["429"]
        assert rejected >= 1  # the test did reach the server's limit
        # Retry-After is honoured: at most a handful of 429s per second of waiting, not a storm.
        assert rejected <= 4 * (elapsed + 1), (rejected, elapsed)
        # A rejected job went back to the local queue and kept its place; none failed.
        bounced = [i for i in ids if any(e.new == "held" for e in h.log.job_events(i)[1:])]
        assert bounced
        assert not any(h.job(i).error_code for i in ids)
        assert len(sim_jobs(sim)) == count
        backing_off = [e for e in h.log.events if getattr(e, "state", None) == "backing-off"]
        assert backing_off and "rate limited" in (backing_off[0].detail or "")


# -- answers that stop the queue -----------------------------------------------------------------


async def test_refused_token_pauses_the_queue_and_keeps_the_jobs(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(tokens=[TOKEN_A])
    async with running_engine(sim, tmp_path, token="not-a-valid-token") as h:
        jobs = h.engine.enqueue(FLUX, requests_for(5))
        await h.log.wait_for(
            lambda: h.engine.paused and bool(h.log.queue_events()), what="the queue to stop"
        )
        await h.log.wait_for(lambda: all(h.job(j.local_id).status == "held" for j in jobs))
        assert "token" in (h.engine.pause_reason or "")
        assert "Invalid API token" in (h.engine.pause_reason or "")
        # Every POST already under way is refused too; the user is told once.
        assert [e.paused for e in h.log.queue_events()] == [True]
        assert sim_jobs(sim) == []
        # Stopped at the first refusals, not one POST per job.
        assert h.client.request_counts["POST /generate"] <= h.engine.config.max_posts


@pytest.mark.parametrize(
    ("mode", "words"),
    [("exhausted", "balance is exhausted"), ("plan", "plan does not include")],
)
async def test_payment_refusal_pauses_until_fixed_then_resumes(
    make_sim: SimFactory, tmp_path: Path, mode: str, words: str
) -> None:
    sim = make_sim(payment_mode=mode)
    async with running_engine(sim, tmp_path) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(4))
        ids = [j.local_id for j in jobs]
        await h.log.wait_for(lambda: h.engine.paused, what="the queue to stop")
        await h.log.wait_for(lambda: all(h.job(i).status == "held" for i in ids))
        assert words in (h.engine.pause_reason or "")
        assert sim_jobs(sim) == []

        async with httpx.AsyncClient(base_url=sim.admin_url, trust_env=False) as admin:
            response = await admin.post("/mode", json={"payment": "ok"})
            assert response.status_code == 200
        h.engine.resume()
        await h.wait_settled(ids)
        assert all(h.job(i).status == "completed" for i in ids)
        assert len(sim_jobs(sim)) == len(ids)


async def test_retired_model_pauses_with_the_replacement_named(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path, max_posts=1) as h:
        (retired,) = h.engine.enqueue("bytedance/seedream-3", [{"prompt": "old model"}])
        others = h.engine.enqueue(FLUX, requests_for(2))
        await h.log.wait_for(lambda: h.engine.paused, what="the queue to stop")
        reason = h.engine.pause_reason or ""
        assert "retired" in reason and "seedream-5-lite" in reason
        assert ".." not in reason and reason.count("seedream-5-lite") == 1, reason
        assert all(h.job(j.local_id).status == "held" for j in (retired, *others))

        # The user drops the retired job and carries on with the rest.
        assert (await h.engine.cancel(retired.local_id)).ok
        h.engine.resume()
        await h.wait_settled([j.local_id for j in others])
        assert all(h.job(j.local_id).status == "completed" for j in others)
        assert h.job(retired.local_id).status == "cancelled"


# -- POSTs whose answer was lost -----------------------------------------------------------------


async def test_lost_answer_of_a_created_job_is_adopted_not_resent(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    faults = FaultConfig(drop_after_create_rate=1.0, groups=("generate",))
    sim = make_sim(faults=faults)
    # The job finishes at once, so it is already completed when it is found again.
    sim.state.force_outcomes([{"durations": [0.0] * 5}])
    async with running_engine(sim, tmp_path) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.log.wait_for(lambda: h.log.saw(job.local_id, "unknown"))
        sim.config.faults.update({"drop_after_create_rate": 0.0})
        await h.wait_settled([job.local_id])
        done = h.job(job.local_id)
        assert done.status == "completed"
        check_saved_files(done, h.output_dir)
        notices = [getattr(e, "message", "") for e in h.log.events]
        assert any("found on the server after a lost answer" in m for m in notices)

    (only,) = sim_jobs(sim)
    assert only["job_id"] == done.remote_id
    assert answers(sim) == Counter({"dropped after 200": 1})
    assert done.requests == 1


async def test_lost_post_that_created_nothing_stays_unknown_and_is_never_resent(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    faults = FaultConfig(drop_rate=1.0, groups=("generate",))
    sim = make_sim(faults=faults)
    async with running_engine(sim, tmp_path) as h:
        (lost,) = h.engine.enqueue(FLUX, requests_for(1, "lost"))
        await h.log.wait_for(lambda: h.log.saw(lost.local_id, "unknown"))
        sim.config.faults.update({"drop_rate": 0.0})
        # Several reconciliation rounds find nothing; the job is not sent again meanwhile.
        await h.wait_requests("GET /jobs", 3)
        assert h.job(lost.local_id).status == "unknown"

        # Later jobs go through and are not mistaken for the lost one.
        later = h.engine.enqueue(FLUX, requests_for(2, "later"))
        await h.wait_settled([j.local_id for j in later])
        await h.wait_requests("GET /jobs", 2)
        assert h.job(lost.local_id).status == "unknown"
        assert h.job(lost.local_id).remote_id is None
        assert h.job(lost.local_id).requests == 1
        result = await h.engine.cancel(lost.local_id)
        assert not result.ok and "no id" in result.message

    assert sorted(sim_prompt(sim, j["job_id"]) for j in sim_jobs(sim)) == ["later 0", "later 1"]
    assert answers(sim)["dropped"] == 1


async def test_a_lost_post_that_created_nothing_does_not_block_matching_a_later_one(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path, max_posts=1) as h:
        # An answered POST first: the engine learns how the server's clock relates to its own.
        (first,) = h.engine.enqueue(FLUX, requests_for(1, "first"))
        await h.wait_settled([first.local_id])
        sim.config.faults.update({"drop_rate": 1.0, "groups": ["generate"]})
        (nothing,) = h.engine.enqueue(FLUX, requests_for(1, "nothing"))
        await h.log.wait_for(lambda: h.log.saw(nothing.local_id, "unknown"))
        sim.config.faults.update({"drop_rate": 0.0, "drop_after_create_rate": 1.0})
        (created,) = h.engine.enqueue(FLUX, requests_for(1, "created"))
        await h.log.wait_for(lambda: h.log.saw(created.local_id, "unknown"))
        sim.config.faults.update({"drop_after_create_rate": 0.0})

        await h.wait_settled([created.local_id])
        done = h.job(created.local_id)
        assert sim_prompt(sim, done.remote_id) == "created 0"
        check_saved_files(done, h.output_dir)
        assert h.job(nothing.local_id).status == "unknown"
    assert sorted(sim_prompt(sim, j["job_id"]) for j in sim_jobs(sim)) == ["created 0", "first 0"]


async def test_lost_posts_sent_at_the_same_moment_stay_unknown_rather_than_be_mixed_up(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    faults = FaultConfig(drop_after_create_rate=1.0, groups=("generate",))
    sim = make_sim(faults=faults)
    async with running_engine(sim, tmp_path, max_posts=3) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(3))
        ids = [j.local_id for j in jobs]
        await h.log.wait_for(lambda: all(h.log.saw(i, "unknown") for i in ids))
        sim.config.faults.update({"drop_after_create_rate": 0.0})
        # The server has three jobs and nothing tells which request each one ran.
        await h.log.wait_for(
            lambda: all("nothing tells which" in (h.job(i).error_message or "") for i in ids),
            what="the ambiguity to be reported",
        )
        assert all(h.job(i).status == "unknown" and h.job(i).remote_id is None for i in ids)
        assert h.client.request_counts["POST /generate"] == 3  # none sent again
    assert len(sim_jobs(sim)) == 3


async def test_a_download_that_fails_for_a_moment_is_retried(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    # The first result request is refused (429), the second dropped: both are passing troubles.
    faults = FaultConfig(burst_429=1, groups=("results",))
    sim = make_sim(faults=faults)
    results = "GET /results/{id}/{file}"
    async with running_engine(sim, tmp_path) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await eventually(lambda: _stats(sim), lambda _: answers(sim, results)["429"] == 1)
        sim.config.faults.update({"drop_rate": 1.0})  # the retry comes a second later
        await eventually(lambda: _stats(sim), lambda _: answers(sim, results)["dropped"] == 1)
        sim.config.faults.update({"drop_rate": 0.0})
        await h.wait_settled([job.local_id], timeout=20)
        check_saved_files(h.job(job.local_id), h.output_dir)
        assert [e.error for e in h.log.downloads()] == [None]  # no failure reported
    assert answers(sim, results) == Counter({"429": 1, "dropped": 1, "200": 1})
    assert part_files(h.output_dir) == []


async def _stats(sim) -> dict:
    return sim.stats()


async def test_the_engine_stops_looking_for_a_lost_post_after_a_while(
    make_sim: SimFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watcher, "UNKNOWN_GIVE_UP", timedelta(seconds=0.5))
    sim = make_sim(faults=FaultConfig(drop_rate=1.0, groups=("generate",)))
    async with running_engine(sim, tmp_path) as h:
        (lost,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.log.wait_for(
            lambda: "does not send it again" in (h.job(lost.local_id).error_message or ""),
            what="the engine to give up",
        )
        assert any("does not send it again" in getattr(e, "message", "") for e in h.log.events)
        looks = h.client.request_counts["GET /jobs"]
        assert looks >= 1  # it did look before giving up
        # Absence over a span: ten watcher intervals without a single further list read.
        await asyncio.sleep(2.0)
        assert h.client.request_counts["GET /jobs"] <= looks + 1
        assert h.job(lost.local_id).status == "unknown"
        assert h.client.request_counts["POST /generate"] == 1
