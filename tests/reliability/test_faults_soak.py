"""Faults soak: round after round the simulator answers 5xx, drops connections, answers slowly,
sends 429 bursts and delivers every webhook twice, then goes down entirely for a moment. Every
job ends in its true state, the engine says the connection is degraded and recovers by itself
once the faults stop, and its memory does not grow from round to round.

CI runs 3 rounds (about 15 s). The long version, 15 rounds of 40 jobs:

    KREA_TUI_SOAK=full .venv/bin/python -m pytest -q -p no:cacheprovider tests/reliability
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from krea_tui.core import backoff
from krea_tui.core.events import ConnectionEvent
from krea_tui.core.status import FINAL
from krea_tui.core.webhooks import WebhookReceiver
from tests.conftest import SimFactory
from tests.integration.engine_support import (
    FLUX,
    Harness,
    check_event_chains,
    check_saved_files,
    requests_for,
    running_engine,
    sim_prompt,
)
from tests.reliability.support import scaled

FAULTS = {
    "error_rate": 0.15,
    "drop_rate": 0.05,
    "drop_after_create_rate": 0.03,
    "slow_rate": 0.1,
    "slow_seconds": 0.2,
    "burst_429": 3,
    "groups": ["generate", "jobs", "results"],
}
OUTAGE = {"error_rate": 1.0, "groups": ["generate", "jobs", "results"]}
CALM = {"error_rate": 0, "drop_rate": 0, "drop_after_create_rate": 0, "slow_rate": 0}
# Memory allocated by the engine, the client and httpx may move around after the first round
# (SQLite's statement cache, connection pools, noise) but not grow with the jobs: 100 bytes kept
# per job would pass this within the long version's 900 jobs, an event queue nobody reads (about
# 10 KB a job) within two CI rounds.
ALLOWANCE = 64 * 1024
WATCHED = ("*/krea_tui/core/*", "*/httpx/*", "*/httpcore/*", "*/h11/*")


def engine_memory() -> int:
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [tracemalloc.Filter(True, pattern) for pattern in WATCHED]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def connection_states(h: Harness) -> list[str]:
    return [e.state for e in h.log.events if isinstance(e, ConnectionEvent)]


async def test_rounds_of_faults_end_true_recover_by_themselves_and_do_not_grow(
    make_sim: SimFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Backoff still doubles, but to 2 s at most: the rounds test what ends where, not how long
    # the engine waits (failures left over from the faulty phase would make it wait 8 s or more).
    monkeypatch.setattr(backoff, "MAX_BACKOFF", 2.0)
    rounds, per_round = scaled(3, 15), scaled(8, 40)
    sim = make_sim(
        speed=100, concurrency=4, backlog=8, fail_rate=0.1, system_cancel_rate=0.05,
        webhook_duplicates=True,
    )  # fmt: skip
    memory: list[int] = []
    tracemalloc.start(1)
    try:
        async with (
            running_engine(sim, tmp_path, start=False, max_in_flight=8) as h,
            WebhookReceiver(h.engine, path="/hook") as hooks,
        ):
            h.engine.config.webhook_url = hooks.local_url
            h.engine.config.webhook_poll_interval = 0.2  # polling stays on as the safety net
            await h.engine.start()
            for number in range(rounds):
                await one_round(h, number, per_round)
                h.log.events.clear()  # the test's own record of events is not the engine's
                sim.reset()  # nor is the simulator's memory of finished jobs
                memory.append(engine_memory())
    finally:
        tracemalloc.stop()
    print(f"engine memory after each round: {memory}")
    assert max(memory[2:]) - memory[1] < ALLOWANCE, memory


async def one_round(h: Harness, number: int, count: int) -> None:
    sim = h.sim

    def ended(local_id: str) -> bool:
        return h.job(local_id).status in FINAL | {"unknown"}

    def since(mark: int, state: str) -> bool:
        return state in connection_states(h)[mark:]

    sim.config.faults.update(FAULTS)
    ids = [job.local_id for job in h.engine.enqueue(FLUX, requests_for(count, f"r{number}"))]
    await h.log.wait_for(lambda: all(map(ended, ids)), 60, "the jobs sent through the faults")
    # Then the server goes down entirely while more jobs are sent: the engine says so...
    mark = len(connection_states(h))
    sim.config.faults.update(OUTAGE)
    more = h.engine.enqueue(FLUX, requests_for(count // 2, f"r{number}-outage"))
    ids += [job.local_id for job in more]
    await h.log.wait_for(lambda: since(mark, "backing-off"), 20, "a degraded-connection event")
    # ...and once it is back, recovers with nobody's help.
    mark = len(connection_states(h))
    sim.config.faults.update(CALM)
    await h.log.wait_for(lambda: since(mark, "ok"), 30, "the recovery")
    await h.log.wait_for(lambda: all(map(ended, ids)), 60, "every job to end")
    await h.log.wait_for(lambda: h.settled(i for i in ids if h.job(i).remote_id), 30)
    assert h.engine.connection == "ok"

    jobs = [h.job(local_id) for local_id in ids]
    for job in jobs:
        if job.remote_id is None:
            assert job.status == "unknown"  # a lost answer, never sent again
            continue
        truth = sim.state.get(h.client._token, job.remote_id)
        assert truth is not None and truth["status"] == job.status, job.short_id
        assert sim_prompt(sim, job.remote_id) == job.prompt
        if job.status == "completed":
            check_saved_files(job, h.output_dir)
    check_event_chains(h.log, ids, retries=True)  # duplicate webhooks announced nothing twice
    assert sim.stats()["webhooks"]["delivered"] > 0, "no webhook arrived: nothing was tested"
