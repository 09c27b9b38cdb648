"""The whole TUI (KreaApp, headless) in a process of its own, for the kill-and-restart test.

    python -m tests.reliability.tui_child ROOT submit|resume

Settings come from ROOT/config.toml and the environment (KREA_API_TOKEN, KREA_API_BASE_URL).
`submit` composes one job per alternative of PROMPT from the keyboard, prints `running` once
every job is on the server and none has ended, then waits to be killed. `resume` starts on the
same history, waits until every job has ended and its results are saved, saves a screenshot to
ROOT/screen.svg, prints `done` and quits.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from krea_tui.cli import log_to_file
from krea_tui.config import load_settings
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen

PROMPT = "tui {fox|owl|cat|elk|yak|eel}"
JOBS = 6
DEADLINE = 60.0


async def until(pilot: object, condition: object, what: str) -> None:
    end = time.monotonic() + DEADLINE
    while not condition():  # type: ignore[operator]
        if time.monotonic() > end:
            print(f"timed out waiting for {what}", file=sys.stderr, flush=True)
            raise SystemExit(1)
        await pilot.pause(0.05)  # type: ignore[attr-defined]


async def main(root: Path, mode: str) -> int:
    settings, _ = load_settings(config_path=root / "config.toml")
    log_to_file(settings)  # what `krea-tui` does: the log file is part of what is checked
    app = KreaApp(settings, image_protocol="halfcell")
    async with app.run_test(headless=True, size=(100, 30)) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        store = app.store
        if mode == "submit":
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form")
            await pilot.pause()
            await pilot.press(*PROMPT)
            await pilot.press("ctrl+s")
            await until(pilot, lambda: len(store.jobs()) == JOBS, "the jobs in the history")

            def all_running() -> bool:
                jobs = store.jobs()
                return all(job.remote_id and not job.is_final for job in jobs)

            await until(pilot, all_running, "every job on the server")
            print("running", flush=True)
            await asyncio.sleep(3600)  # killed here
            return 1

        def settled() -> bool:
            jobs = store.jobs()
            return all(job.is_final and len(job.files) >= len(job.urls) for job in jobs)

        await until(pilot, settled, "every job to end with its results saved")
        await pilot.pause()
        (root / "screen.svg").write_text(app.export_screenshot(), encoding="utf-8")
        print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(Path(sys.argv[1]), sys.argv[2])))
