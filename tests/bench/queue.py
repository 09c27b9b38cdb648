"""Figure 6: the queue model over a long history (no UI: `krea_tui.core.queue_model`).

For 10,000, 100,000 and 1,000,000 finished jobs (plus 1,000 in flight), each history built
straight into SQLite (queue_history.py) and then measured in a fresh child process:

- open: opening the history and the model, the row count and the first window (the 50 newest
  rows, where the cursor starts), five times;
- scroll: one window of 50 rows at a time, paging up from the end 40 times (p99 and max), and
  a jump to the middle;
- filter: a word found in 1 % of the jobs typed into the filter, to its count and first window
  (three times, the filter cleared in between);
- memory: the child's peak resident set (VmHWM), and its growth over a bare interpreter with
  the imports done;
- SQLite's work per window (virtual-machine steps, counted by a progress handler): what the
  smoke test holds flat across sizes, as wall time cannot be.

`python -m tests.bench --only queue [--history 1000000,2000000]` (sizes with --history).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

from tests.bench.common import Figure, percentile, repeated, rss_mb
from tests.bench.queue_history import RARE_WORD, build

SIZES = (10_000, 100_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
IN_FLIGHT_JOBS = 1_000
WINDOW = 50
PAGES = 40
OPENS = 5


class Steps:
    """SQLite virtual-machine steps on a connection, in hundreds."""

    def __init__(self, store: Any) -> None:
        self.count = 0
        store._db.set_progress_handler(self._tick, 100)  # the bench may reach in

    def _tick(self) -> int:
        self.count += 1
        return 0


def peak_rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def measure(path: Path) -> dict[str, Any]:
    """Everything this figure measures of one history, in this process (a fresh child)."""
    from krea_tui.core.queue_model import QueueModel
    from krea_tui.core.store import JobStore

    bare = rss_mb()
    opens: list[float] = []
    for _ in range(OPENS):  # the first open also reads the file's first pages from the disk
        start = time.perf_counter()
        store = JobStore(path)
        model = QueueModel(store)
        rows = model.row_count()
        first = model.window(rows - WINDOW, WINDOW)
        opens.append(time.perf_counter() - start)
        if len(opens) < OPENS:
            store.close()
    steps = Steps(store)
    pages: list[float] = []
    page_steps: list[int] = []
    for page in range(1, PAGES + 1):
        before, start = steps.count, time.perf_counter()
        model.window(max(0, rows - WINDOW * (page + 1)), WINDOW)
        pages.append(time.perf_counter() - start)
        page_steps.append(steps.count - before)
    start = time.perf_counter()
    model.window(rows // 2, WINDOW)
    jump = time.perf_counter() - start
    filters: list[float] = []
    for _ in range(3):
        before, start = steps.count, time.perf_counter()
        model.set_filter(RARE_WORD)
        matched = model.row_count()
        model.window(matched - WINDOW, WINDOW)
        filters.append(time.perf_counter() - start)
        filter_steps = steps.count - before
        model.set_filter("")
    store.close()
    return {
        "rows": rows,
        "first_rows": len(first),
        "open_runs": opens,
        "page_ms": [1000 * p for p in pages],
        "page_steps": page_steps,
        "jump_ms": 1000 * jump,
        "filter_runs": filters,
        "filter_rows": matched,
        "filter_steps": filter_steps,
        "rss_bare_mb": bare,
        "rss_peak_mb": peak_rss_mb(),
    }


def work(path: Path) -> dict[str, Any]:
    """What the model asks of the history, in counts that do not depend on the machine (for
    the smoke test): SQLite steps and Python memory to open and show the newest rows, steps
    per window paging up, and the jobs built per window."""
    from krea_tui.core.queue_model import QueueModel
    from krea_tui.core.store import JobStore

    store = JobStore(path)
    built = 0
    make = store._row_to_job

    def counted(*args: Any) -> Any:
        nonlocal built
        built += 1
        return make(*args)

    store._row_to_job = counted  # type: ignore[method-assign,assignment]
    steps = Steps(store)
    tracemalloc.start()
    model = QueueModel(store)
    rows = model.row_count()
    model.window(rows - WINDOW, WINDOW)
    open_peak = tracemalloc.get_traced_memory()[1]
    open_steps, open_built = steps.count, built
    page_steps: list[int] = []
    page_built: list[int] = []
    for page in range(1, 11):
        before, made = steps.count, built
        model.window(rows - WINDOW * (page + 1), WINDOW)
        page_steps.append(steps.count - before)
        page_built.append(built - made)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    store.close()
    return {
        "rows": rows,
        "open_steps": open_steps,
        "open_built": open_built,
        "open_peak_kb": open_peak / 1024,
        "page_steps": page_steps,
        "page_built": page_built,
        "peak_kb": peak / 1024,
    }


def measure_in_child(path: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.queue", str(path)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def sizes(quick: bool) -> tuple[int, ...]:
    asked = os.environ.get("KREA_BENCH_HISTORY")
    if asked:
        return tuple(int(n) for n in asked.split(","))
    return QUICK_SIZES if quick else SIZES


def figures(quick: bool) -> list[Figure]:
    out: list[Figure] = []
    opened: dict[int, float] = {}
    for count in sizes(quick):
        with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
            path = Path(name) / "history.sqlite3"
            start = time.perf_counter()
            build(path, count, in_flight=IN_FLIGHT_JOBS)
            built = time.perf_counter() - start
            run = measure_in_child(path)
        opened[count] = min(run["open_runs"])  # ms-scale: the best says most, the median jitters
        size = f"{count:,} jobs + {IN_FLIGHT_JOBS:,} in flight"
        out += [
            Figure(
                f"queue.build[{count}]",
                built,
                "s",
                60.0 if count >= 1_000_000 else None,
                cmp="<",
                note=f"{size}: the benchmark's own history, bulk-inserted with its indexes",
            ),
            repeated(
                f"queue.open_first_window[{count}]",
                run["open_runs"],
                "s",
                0.5,
                note=f"{size}: open the history and the model, count, read the newest 50 rows",
            ),
            Figure(
                f"queue.scroll_window_p99[{count}]",
                percentile(run["page_ms"], 99),
                "ms",
                50.0,
                note=f"{size}: {PAGES} windows of {WINDOW}, paging up from the end",
                extra={
                    "max_ms": max(run["page_ms"]),
                    "jump_to_middle_ms": run["jump_ms"],
                    "sqlite_steps_per_window": percentile(run["page_steps"], 50) * 100,
                },
            ),
            repeated(
                f"queue.filter_1pct[{count}]",
                run["filter_runs"],
                "s",
                0.1,
                note=f"{size}: `{RARE_WORD}` ({run['filter_rows']:,} jobs) to its count and "
                "first window",
                extra={"sqlite_steps": run["filter_steps"] * 100},
            ),
            Figure(
                f"queue.rss_peak[{count}]",
                run["rss_peak_mb"],
                "MB",
                150.0,
                baseline=run["rss_bare_mb"],
                note=f"{size}: peak resident set of the measuring process; baseline: the "
                "same process before opening anything",
            ),
        ]
    smallest, largest = min(opened), max(opened)
    if largest > smallest:
        out.append(
            Figure(
                "queue.open_ratio",
                opened[largest] / opened[smallest],
                "x",
                1.5,
                note=f"open + first window at {largest:,} jobs over the same at {smallest:,} "
                "(best of each)",
            )
        )
    return out


if __name__ == "__main__":
    print(json.dumps(measure(Path(sys.argv[1]))))
