"""Lost POST answers matched on the server's clock. The job list's `created_at` is the
server's time; when this machine's clock is minutes off (or jumps during a batch), a POST whose
answer was lost must still be matched to the job it created, and no job that may exist is ever
called "not created"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from krea_tui.core import backoff
from krea_tui.core.clock import CLOCK
from krea_tui.core.watcher import GAVE_UP
from krea_tui.sim.config import FaultConfig
from krea_tui.sim.server import RunningSim
from tests.conftest import SimFactory
from tests.integration.engine_support import FLUX, requests_for, running_engine, sim_jobs


@pytest.fixture
def lossy(make_sim: SimFactory, monkeypatch: pytest.MonkeyPatch) -> RunningSim:
    """Half the POSTs create their job and lose the answer. The engine backs off after each
    loss, up to a minute in real use; two seconds here, or the batch takes minutes."""
    monkeypatch.setattr(backoff, "MAX_BACKOFF", 2.0)
    return make_sim(faults=FaultConfig(drop_after_create_rate=0.5, groups=("generate",)))


async def test_lost_answers_are_matched_when_our_clock_is_minutes_ahead(
    lossy: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(CLOCK, "offset", timedelta(minutes=5))
    async with running_engine(lossy, tmp_path, max_posts=1) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(8))
        ids = [job.local_id for job in jobs]
        await h.wait_settled(ids, timeout=40)
        assert {h.job(i).status for i in ids} == {"completed"}
        assert not any(h.job(i).error_message == GAVE_UP for i in ids)
    assert len(sim_jobs(lossy)) == 8  # every lost answer's job was found, none sent again


async def test_a_clock_jump_during_a_batch_loses_no_job(
    lossy: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_engine(lossy, tmp_path, max_posts=1) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(12))
        ids = [job.local_id for job in jobs]
        await h.log.wait_for(
            lambda: sum(h.job(i).status != "held" for i in ids) >= 5, timeout=30, what="5 sent"
        )
        monkeypatch.setattr(CLOCK, "offset", timedelta(minutes=10))  # the clock jumps ahead
        await h.wait_settled(ids, timeout=60)
        assert {h.job(i).status for i in ids} == {"completed"}
        assert not any(h.job(i).error_message == GAVE_UP for i in ids)
    assert len(sim_jobs(lossy)) == 12
