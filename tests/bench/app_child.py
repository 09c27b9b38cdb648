"""A child process that starts krea-tui through its real entry point (`krea_tui.cli.main`) and
reports when frames appeared, measured from the moment the parent spawned it.

`App.run` is replaced by a headless run with a frame probe: everything before it (interpreter
start, imports, settings, the demo simulator, the history) is what a user waits for, and the
frame is produced exactly as it would be, only not written to a terminal.

    python -m tests.bench.app_child SPAWNED_AT EXPECT_ROWS SETTLE -- krea-tui arguments...

Prints one JSON object: seconds from spawn to the first frame and to the first frame that
shows the history (the main screen loaded with EXPECT_ROWS rows), and the RSS then and after
SETTLE more seconds.
"""

from __future__ import annotations

import time

# Before any other import: the clocks that tie this process's times to the parent's.
WALL_AT_START = time.time()
PERF_AT_START = time.perf_counter()

import asyncio  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
from typing import Any  # noqa: E402

SIZE = (120, 40)


def main() -> int:
    spawned_at, expect_rows, settle = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    cli_args = sys.argv[sys.argv.index("--") + 1 :]
    marks: dict[str, Any] = {"python_start": WALL_AT_START - spawned_at}

    def since_spawn(perf: float) -> float:
        return WALL_AT_START + (perf - PERF_AT_START) - spawned_at

    from krea_tui import cli
    from krea_tui.tui.app import KreaApp
    from tests.bench.common import FrameProbe, rss_mb

    def shows_history(app: Any) -> bool:
        try:
            screen = app.screen_stack[0]
            table = screen.query_one("#jobs")
        except Exception:
            return False
        return bool(getattr(screen, "loaded", False)) and table.row_count >= expect_rows

    def headless_run(self: KreaApp, *args: Any, **kwargs: Any) -> None:
        marks["run_called"] = since_spawn(time.perf_counter())  # imports and settings done
        probe = FrameProbe(self)
        ready = asyncio.Event()

        def first(at: float) -> None:
            marks["first_frame"] = since_spawn(at)

        def loaded(at: float) -> None:
            marks["history_frame"] = since_spawn(at)
            marks["rss_mb"] = rss_mb()
            ready.set()

        probe.on_frame_when(lambda: True, first)
        probe.on_frame_when(lambda: shows_history(self), loaded)

        async def go() -> None:
            async with self.run_test(headless=True, size=SIZE) as pilot:
                await asyncio.wait_for(ready.wait(), 60)
                await pilot.pause(settle)
                marks["rss_settled_mb"] = rss_mb()
                marks["rows"] = self.screen_stack[0].query_one("#jobs").row_count

        asyncio.run(go())

    KreaApp.run = headless_run  # type: ignore[method-assign]
    code = cli.main(cli_args)
    marks["exit"] = code
    print(json.dumps(marks), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
