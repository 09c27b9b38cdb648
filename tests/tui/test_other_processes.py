"""The TUI shows what other processes on its history do: a job a `krea-tui submit` in another
shell adds appears in the table and is counted, a pause made elsewhere shows in the status bar
and holds this app's jobs too, and a job another process removes leaves the table."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import replace
from pathlib import Path

from krea_tui.tui.app import KreaApp
from krea_tui.tui.widgets.status_bar import StatusBar
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.cli_support import ROOT
from tests.tui.conftest import settings_in, until

OTHER = """
import sys
from krea_tui.core.store import JobStore
store = JobStore(sys.argv[1])
for step in sys.argv[2:]:
    if step == "pause":
        store.set_paused(True, "paused in another shell")
    elif step == "resume":
        store.set_paused(False)
    elif step.startswith("add:"):
        store.add_job("bfl/flux-1-dev", {"prompt": step[4:], "seed": 5})
    elif step.startswith("remove:"):
        prompt = step[7:]
        store.remove([j.local_id for j in store.jobs() if j.prompt == prompt])
store.close()
"""


async def other_process(history: Path, *steps: str) -> None:
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", OTHER, str(history), *steps, cwd=ROOT
    )
    assert await child.wait() == 0


async def test_the_table_and_status_bar_follow_another_process(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    settings = replace(settings_in(tmp_path, demo=False), base_url=sim.base_url, token=TOKEN_A)
    app = KreaApp(settings, image_protocol="halfcell")
    async with app.run_test(size=(100, 30)) as pilot:
        await until(pilot, lambda: app.ready, "the engine to start")
        main = app.screen_stack[0]
        bar = main.query_one(StatusBar)
        await other_process(settings.history_path, "pause", "add:from another shell")
        await until(pilot, lambda: bar.summary.paused, "the pause made elsewhere to show")

        def prompts() -> dict[str, str]:
            table = main.table
            return {job.prompt: job.status for job in table.rows(0, table.row_count)}

        await until(pilot, lambda: "from another shell" in prompts(), "the other job to show")
        assert prompts()["from another shell"] == "held"
        assert bar.summary.held == 1
        await asyncio.sleep(1.0)  # absence over two follower looks: nothing sent while paused
        assert sum(sim.stats()["requests"].get("POST /generate/image/{model}", {}).values()) == 0
        await other_process(settings.history_path, "resume")
        await until(pilot, lambda: prompts()["from another shell"] == "completed", "it to run")
        assert not bar.summary.paused and bar.summary.counts.get("completed") == 1
        await other_process(settings.history_path, "remove:from another shell")
        await until(pilot, lambda: not prompts(), "the removed job to leave the table")
