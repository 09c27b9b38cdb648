"""Figure 7: QueueTable (the Line-API table over the queue model) on a long history.

Not yet what the app shows (MainScreen still draws JobTable); this measures the widget alone,
headless at 160x48, over the queue benchmark's histories (queue_history.py: N finished jobs
plus 1,000 in flight), in a fresh child process per size:

- first frame: from opening the history to every line of the first screen rendered;
- key to lines: a cursor key (up, a page up every 50th) and the lines of the screen rendered
  again (p99 of 200); a jump to anywhere in the history the same way;
- filter to lines: a word found in 1 % of the jobs set as the filter, to its screen rendered;
- events: 333 status changes applied to the model and their lines rendered;
- memory: the child's peak resident set.

Rendering is `render_lines` over the widget's region, what the compositor asks of it, without
the terminal's own time. `python -m tests.bench --only queue_table [--history 1000000]`.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from tests.bench.common import Figure, percentile, repeated
from tests.bench.queue import IN_FLIGHT_JOBS, sizes
from tests.bench.queue_history import RARE_WORD, build

SIZE = (160, 48)
KEYS = 200
JUMPS = 20
CHANGES = 333


async def _measure(path: Path) -> dict[str, Any]:
    from textual.app import App, ComposeResult
    from textual.geometry import Region

    from krea_tui.core.events import JobEvent
    from krea_tui.core.queue_model import QueueModel
    from krea_tui.core.store import JobStore
    from krea_tui.tui.widgets.queue_table import QueueTable

    class Bench(App[None]):
        def compose(self) -> ComposeResult:
            self.started = time.perf_counter()
            self.store = JobStore(path)
            self.model = QueueModel(self.store)
            yield QueueTable(self.model)

    app = Bench()
    out: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        table = app.query_one(QueueTable)
        region = Region(0, 0, *SIZE)

        def frame() -> None:
            table.render_lines(region)

        await pilot.pause()
        frame()
        out["first_frame_s"] = time.perf_counter() - app.started
        table.set_following(False)
        keys: list[float] = []
        for n in range(KEYS):
            start = time.perf_counter()
            table.action_page_up() if n % 50 == 49 else table.action_cursor_up()
            frame()
            keys.append((time.perf_counter() - start) * 1000)
        out["key_ms"] = keys
        jumps: list[float] = []
        for n in range(JUMPS):
            start = time.perf_counter()
            table.move_cursor((n * 7919 * 37) % table.row_count)
            frame()
            jumps.append((time.perf_counter() - start) * 1000)
        out["jump_ms"] = jumps
        running = app.model.running_jobs()[:CHANGES]
        start = time.perf_counter()
        events = [
            JobEvent(replace(job, status="sampling"), job.status, "sampling") for job in running
        ]
        table.changed(app.model.apply(events))
        frame()
        out["events_ms"] = (time.perf_counter() - start) * 1000
        out["events"] = len(events)
        filters: list[float] = []
        for _ in range(3):
            start = time.perf_counter()
            table.set_filter(RARE_WORD)
            frame()
            filters.append(time.perf_counter() - start)
            out["filtered_rows"] = table.row_count
            table.set_filter("")
            frame()
        out["filter_s"] = filters
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            out["rss_peak_mb"] = int(line.split()[1]) / 1024
    return out


def figures(quick: bool) -> list[Figure]:
    out: list[Figure] = []
    for count in sizes(quick):
        with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
            path = Path(name) / "history.sqlite3"
            build(path, count, in_flight=IN_FLIGHT_JOBS)
            done = subprocess.run(
                [sys.executable, "-m", "tests.bench.queue_table", str(path)],
                stdout=subprocess.PIPE,
                text=True,
                check=True,
                timeout=600,
            )
        run = json.loads(done.stdout.strip().splitlines()[-1])
        size = f"{count:,} jobs + {IN_FLIGHT_JOBS:,} in flight, {SIZE[0]}x{SIZE[1]}"
        out += [
            Figure(
                f"queue_table.first_frame[{count}]",
                run["first_frame_s"],
                "s",
                0.5,
                note=f"{size}: open the history and the model, render the first screen",
            ),
            Figure(
                f"queue_table.key_to_lines_p99[{count}]",
                percentile(run["key_ms"], 99),
                "ms",
                50.0,
                note=f"{size}: cursor up (a page every 50th), the screen's lines rendered",
                extra={
                    "p50_ms": percentile(run["key_ms"], 50),
                    "jump_p50_ms": percentile(run["jump_ms"], 50),
                    "jump_max_ms": max(run["jump_ms"]),
                },
            ),
            repeated(
                f"queue_table.filter_to_lines[{count}]",
                run["filter_s"],
                "s",
                0.1,
                note=f"{size}: `{RARE_WORD}` ({run['filtered_rows']:,} rows) to its screen",
            ),
            Figure(
                f"queue_table.events_to_lines[{count}]",
                run["events_ms"],
                "ms",
                100.0,
                note=f"{size}: {run['events']} status changes applied, their lines rendered",
            ),
            Figure(
                f"queue_table.rss_peak[{count}]",
                run["rss_peak_mb"],
                "MB",
                150.0,
                note=f"{size}: peak resident set of the measuring process",
            ),
        ]
    return out


if __name__ == "__main__":
    print(json.dumps(asyncio.run(_measure(Path(sys.argv[1])))))
