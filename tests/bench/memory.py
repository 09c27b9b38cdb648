"""Figure 5: memory. Resident set size of krea-tui with a 10,000-job history open: the real
entry point in a child process (app_child.py), read from /proc once the table shows every row
and again a second later; the same with an empty history is the baseline."""

from __future__ import annotations

import statistics

from tests.bench.common import Figure
from tests.bench.table import HISTORY, history_runs


def figures(quick: bool) -> list[Figure]:
    count = 2_000 if quick else HISTORY
    full = history_runs(count, 1 if quick else 2, settle=1.0)
    empty = history_runs(0, 1, settle=1.0)
    peak = [max(run["rss_mb"], run["rss_settled_mb"]) for run in full]
    return [
        Figure(
            "memory.rss_history_open",
            statistics.median(peak),
            "MB",
            200.0,
            baseline=max(empty[0]["rss_mb"], empty[0]["rss_settled_mb"]),
            runs=peak,
            note=f"{count} jobs in the table; baseline: the same start with an empty history",
        )
    ]
