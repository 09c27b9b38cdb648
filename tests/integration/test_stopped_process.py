"""A process stopped in the middle of a request (SIGSTOP, ctrl+z, a suspended laptop) finds on
waking that every timer has run out, while the answer it was waiting for sits in its socket.
That answer is read: a POST is never taken as lost because its sender was asleep.

Blocking the event loop stands in for the stop here: from the loop's side the two look the
same (no callback runs, then every timer is late at once)."""

from __future__ import annotations

import asyncio
import time

import pytest

from krea_tui.core.api import KreaClient
from krea_tui.core.awake import awake_for
from krea_tui.sim.config import FaultConfig
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.engine_support import FLUX


def stop_the_process_for(seconds: float, after: float) -> None:
    loop = asyncio.get_running_loop()
    loop.call_later(after, time.sleep, seconds)


async def test_an_answer_that_came_while_the_process_was_stopped_is_read(
    make_sim: SimFactory,
) -> None:
    sim = make_sim(faults=FaultConfig(slow_rate=1.0, slow_seconds=0.3, groups=("generate",)))
    async with KreaClient(TOKEN_A, base_url=sim.base_url, deadline=1.0) as client:
        stop_the_process_for(2.5, after=0.1)  # longer than the whole call may take
        job = await client.generate(FLUX, {"prompt": "asleep", "seed": 1})
    assert job.job_id


async def test_time_awake_still_runs_out() -> None:
    never = asyncio.get_running_loop().create_future()
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await awake_for(never, 0.3)
    assert time.monotonic() - started < 2.0
    assert never.cancelled()


async def test_a_stop_does_not_count_but_the_time_around_it_does() -> None:
    async def slow() -> str:
        await asyncio.sleep(1.2)
        return "answered"

    stop_the_process_for(4.0, after=0.2)
    assert await awake_for(slow(), 1.0 + 0.5) == "answered"
