"""Concurrency, backlog and cancellation rules of the simulator, over loopback."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import ConflictError, NotFoundError, RateLimitError
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, TOKEN_B, SimFactory, eventually

FLUX = "/generate/image/bfl/flux-1-dev"
HOLD = 30.0  # seconds a forced phase lasts: "for the rest of the test"


def hold_in(phase: int) -> dict[str, Any]:
    """A forced outcome that keeps the job in PHASES[phase] for HOLD seconds."""
    durations = [0.0] * 5
    durations[phase] = HOLD
    return {"durations": durations}


async def force(sim: RunningSim, *outcomes: dict[str, Any]) -> None:
    async with httpx.AsyncClient(trust_env=False) as client:
        response = await client.post(
            f"{sim.base_url}/_sim/outcomes", json={"outcomes": list(outcomes)}
        )
        assert response.status_code == 200, response.text


async def timeline(sim: RunningSim, job_id: str) -> dict[str, float]:
    found = sim.timeline(job_id)
    assert found is not None
    return {event["status"]: event["t"] for event in found["timeline"]}


async def test_jobs_over_the_concurrency_limit_are_backlogged_and_leave_fifo(
    make_sim: SimFactory,
) -> None:
    sim = make_sim(concurrency=2, backlog=10)
    await force(sim, *[{"durations": [0.02, 0.0, 0.08, 0.0, 0.0]} for _ in range(6)])
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        jobs = [await client.generate("bfl/flux-1-dev", {"prompt": str(i)}) for i in range(6)]
        assert [str(j.status) for j in jobs] == ["queued"] * 2 + ["backlogged"] * 4
        for job in jobs:
            await eventually(
                lambda job=job: client.get_job(job.job_id), lambda j: j.status == "completed"
            )
    times = [await timeline(sim, job.job_id) for job in jobs]
    starts = [t["queued"] for t in times]
    ends = [t["completed"] for t in times]
    assert starts == sorted(starts), "backlogged jobs must start in submission order"
    for t in times[2:]:
        assert "backlogged" in t
    # A backlogged job starts at the exact moment a slot frees, never later.
    for index in range(2, 6):
        assert starts[index] in ends[:index]
    # Never more than two running at once.
    for moment in starts:
        running = sum(1 for s, e in zip(starts, ends, strict=True) if s <= moment < e)
        assert running <= 2


async def test_full_backlog_answers_429_with_retry_after(make_sim: SimFactory) -> None:
    sim = make_sim(concurrency=1, backlog=2)
    await force(sim, hold_in(2), hold_in(2), hold_in(2))
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        first = await client.generate("bfl/flux-1-dev", {"prompt": "1"})
        await client.generate("bfl/flux-1-dev", {"prompt": "2"})
        await client.generate("bfl/flux-1-dev", {"prompt": "3"})
        with pytest.raises(RateLimitError) as caught:
            await client.generate("bfl/flux-1-dev", {"prompt": "4"})
        assert caught.value.status == 429
        assert caught.value.message == "You have reached the maximum number of concurrent jobs."
        assert caught.value.retry_after is not None and 1 <= caught.value.retry_after <= HOLD
        # Another token has its own limits.
        async with KreaClient(token=TOKEN_B, base_url=sim.base_url) as other:
            assert (await other.generate("bfl/flux-1-dev", {"prompt": "b"})).status == "queued"
        # Cancelling the running job frees a slot; the backlog moves and has room again.
        await eventually(lambda: client.get_job(first.job_id), lambda j: j.status == "processing")
        await client.cancel_job(first.job_id)
        accepted = await client.generate("bfl/flux-1-dev", {"prompt": "5"})
        assert accepted.status == "backlogged"


async def test_backlog_zero_rejects_as_soon_as_all_slots_run(make_sim: SimFactory) -> None:
    sim = make_sim(concurrency=1, backlog=0)
    await force(sim, hold_in(2))
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}, trust_env=False
    ) as http:
        assert (await http.post(FLUX, json={"prompt": "a"})).status_code == 200
        refused = await http.post(FLUX, json={"prompt": "b"})
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json() == {"error": "You have reached the maximum number of concurrent jobs."}


@pytest.mark.parametrize("phase, status", [(0, "queued"), (2, "processing")])
async def test_queued_and_processing_jobs_can_be_cancelled(
    sim: RunningSim, http: httpx.AsyncClient, phase: int, status: str
) -> None:
    await force(sim, hold_in(phase))
    job = (await http.post(FLUX, json={"prompt": "c"})).json()

    async def fetch() -> dict[str, Any]:
        return (await http.get(f"/jobs/{job['job_id']}")).json()

    await eventually(fetch, lambda j: j["status"] == status)
    response = await http.delete(f"/jobs/{job['job_id']}")
    assert response.status_code == 200
    assert response.json() == {"job_id": job["job_id"], "deleted": True}
    after = await fetch()
    assert after["status"] == "cancelled"
    assert after["completed_at"] is not None
    assert "error" not in after  # cancelled by the user is not a failure
    # Cancelled jobs are not billed.
    assert (await http.get(f"{sim.base_url}/_sim/stats")).json()["charged_usd"] == 0


@pytest.mark.parametrize(
    "phase, status", [(1, "scheduled"), (3, "sampling"), (4, "intermediate-complete")]
)
async def test_other_running_states_refuse_cancel_and_keep_going(
    sim: RunningSim, phase: int, status: str
) -> None:
    await force(sim, hold_in(phase))
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        job = await client.generate("bfl/flux-1-dev", {"prompt": "c"})
        await eventually(lambda: client.get_job(job.job_id), lambda j: j.status == status)
        with pytest.raises(ConflictError) as caught:
            await client.cancel_job(job.job_id)
        assert caught.value.status == 409
        assert caught.value.message == (
            f"Job {job.job_id} is {status}; only queued or processing jobs can be cancelled."
        )
        assert (await client.get_job(job.job_id)).status == status


async def test_backlogged_and_finished_jobs_refuse_cancel(make_sim: SimFactory) -> None:
    sim = make_sim(concurrency=1)
    await force(sim, {"durations": [0.0, 0.0, 0.6, 0.0, 0.0]}, hold_in(2))
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        first = await client.generate("bfl/flux-1-dev", {"prompt": "1"})
        second = await client.generate("bfl/flux-1-dev", {"prompt": "2"})
        assert second.status == "backlogged"
        with pytest.raises(ConflictError, match="is backlogged"):
            await client.cancel_job(second.job_id)
        assert (await client.get_job(second.job_id)).status == "backlogged"

        done = await eventually(
            lambda: client.get_job(first.job_id), lambda j: j.status == "completed"
        )
        with pytest.raises(ConflictError, match="is completed"):
            await client.cancel_job(first.job_id)
        assert await client.get_job(first.job_id) == done


async def test_cancel_of_unknown_or_foreign_jobs_is_404(sim: RunningSim) -> None:
    await force(sim, hold_in(0))
    async with (
        KreaClient(token=TOKEN_A, base_url=sim.base_url) as owner,
        KreaClient(token=TOKEN_B, base_url=sim.base_url) as stranger,
    ):
        job = await owner.generate("bfl/flux-1-dev", {"prompt": "mine"})
        with pytest.raises(NotFoundError):
            await stranger.cancel_job(job.job_id)
        with pytest.raises(NotFoundError):
            await owner.cancel_job("00000000-0000-4000-8000-000000000000")
        assert (await owner.get_job(job.job_id)).status == "queued"


async def test_concurrency_change_at_run_time_starts_backlogged_jobs(
    make_sim: SimFactory,
) -> None:
    sim = make_sim(concurrency=1)
    await force(sim, hold_in(2), hold_in(2))
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        await client.generate("bfl/flux-1-dev", {"prompt": "1"})
        second = await client.generate("bfl/flux-1-dev", {"prompt": "2"})
        assert second.status == "backlogged"
        async with httpx.AsyncClient(trust_env=False) as plain:
            response = await plain.post(f"{sim.base_url}/_sim/config", json={"concurrency": 2})
            assert response.status_code == 200
        await eventually(lambda: client.get_job(second.job_id), lambda j: j.status == "processing")
