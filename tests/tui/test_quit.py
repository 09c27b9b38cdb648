"""Quitting while jobs are being sent: the app waits (a bounded time, saying so) for the POSTs'
answers, so every job the server created is known by id after the restart, never `unknown`."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from krea_tui.core.store import JobStore
from krea_tui.sim.config import FaultConfig
from krea_tui.tui.app import KreaApp
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.engine_support import FLUX, requests_for
from tests.tui.conftest import settings_in, until


async def test_quitting_while_jobs_are_sent_keeps_their_ids(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    # Answers come 1.5 s after each POST arrives: q is pressed while four are under way.
    sim = make_sim(faults=FaultConfig(slow_rate=1.0, slow_seconds=1.5, groups=("generate",)))
    settings = replace(
        settings_in(tmp_path, demo=False), base_url=sim.base_url, token=TOKEN_A, max_posts=4
    )
    app = KreaApp(settings, image_protocol="halfcell")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.ready, "the engine to start")
        jobs = app.engine.enqueue(FLUX, requests_for(4))
        await until(pilot, lambda: app.engine.sending == 4, "four POSTs under way")
        await pilot.press("q")
        await until(pilot, lambda: not app.is_running, "the app to quit", deadline=20)
    store = JobStore(settings.history_path)
    try:
        kept = [store.get(job.local_id) for job in jobs]
    finally:
        store.close()
    assert all(job.remote_id for job in kept), [(j.status, j.error_message) for j in kept]
    assert len({job.remote_id for job in kept}) == 4
    assert sum(sim.stats()["requests"]["POST /generate/image/{model}"].values()) == 4
