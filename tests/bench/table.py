"""Figure 2: the job table at scale, as the app shows it (MainScreen over the queue model).

For each history size (10,000 by default; `--history 10000,100000,1000000` for more):

- seconds from `krea-tui` being spawned to the first frame that shows the history, and the
  resident memory then (real entry point, real runtime and engine, headless; app_child.py);
- filter keystroke to frame: the filter bar open, the letters of a word found in 1 % of the
  history typed one by one, each to the frame showing its rows;
- 1,000 jobs in flight, each changing status 1–4 s after its last change, seen by the
  engine's 2 s polls (~300 changes a second): every poll the real `JobEngine.apply`
  records the changes in the store and publishes them, and the app's own engine worker turns
  them into messages, exactly as live.
  Measured in the app's process (App.run_test, headless, 120×40), on top of the history:
  * key latency: a `j`/`k` key event handed to the driver, to the first frame showing the
    cursor on its new row; one key at a time, 30–70 ms apart, for `duration` seconds;
  * update cost: one second of changes (333) applied at once, on a quiet app, to the frame
    that shows them: engine `_apply`, store, events, messages, table cells and the frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import (
    IN_FLIGHT,
    Figure,
    FrameProbe,
    percentile,
    repeated,
    wait_loaded,
)
from tests.bench.queue_history import RARE_WORD, build

HISTORY = 10_000
IN_FLIGHT_JOBS = 1_000
POLL_SECONDS = 2.0
# Seconds from one status change of a job to its next. Seen through 2 s polls, a job then
# changes every 3.3 s on average: 300 changes a second over 1,000 jobs.
CHANGE_EVERY = (1.0, 4.0)
CHANGES_PER_SECOND = 333  # "one second of updates" for the update-cost figure (1,000 / 3 s)
FORWARD = (*IN_FLIGHT, "completed")
SIZE = (120, 40)


# -- first frame of a large history (child process) ------------------------------------------


def child_env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        KREA_TUI_CONFIG=str(tmp / "no-config.toml"),  # never the user's own settings
        KREA_API_TOKEN="bench-token",
        KREA_TUI_IMAGES="halfcell",
        COLORTERM="truecolor",  # frames for a truecolor terminal (see __main__.py)
    )
    env.pop("KREA_TUI_DATA_DIR", None)
    env.pop("KREA_TUI_OUTPUT_DIR", None)
    return env


def spawn_app(tmp: Path, expect_rows: int, settle: float, *cli: str) -> dict[str, Any]:
    """Run krea-tui headless in a child (app_child.py); its JSON report."""
    command = [sys.executable, "-m", "tests.bench.app_child"]
    spawned = time.time()
    done = subprocess.run(
        [*command, repr(spawned), str(expect_rows), str(settle), "--", *cli],
        stdout=subprocess.PIPE,
        text=True,
        env=child_env(tmp),
        check=True,
        timeout=120,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def history_sizes(quick: bool) -> tuple[int, ...]:
    asked = os.environ.get("KREA_BENCH_HISTORY")
    if asked:
        return tuple(int(n) for n in asked.split(","))
    return (2_000,) if quick else (HISTORY,)


def history_runs(count: int, runs: int, settle: float = 0.0) -> list[dict[str, Any]]:
    """Open a `count`-job history (real API settings, an unreachable base URL: every job is
    finished, so nothing is polled) `runs` times."""
    with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
        tmp = Path(name)
        (tmp / "data").mkdir()
        build(tmp / "data" / "history.sqlite3", count)
        cli = ["--data-dir", str(tmp / "data"), "--output-dir", str(tmp / "out")]
        cli += ["--base-url", "http://127.0.0.1:9"]
        return [spawn_app(tmp, count, settle, *cli) for _ in range(runs)]


# -- live updates (this process) -----------------------------------------------------------------


class Feeder:
    """Plays the engine's polls: every POLL_SECONDS, the jobs whose change is due move one state
    forward through `JobEngine.apply`. A job that reached `completed` is put back to `queued`
    in the store silently (no event) so that 1,000 stay in flight without the table growing."""

    def __init__(self, app: Any, seed: int = 11) -> None:
        self.app = app
        self.rng = random.Random(seed)
        jobs = [j for j in app.store.jobs(statuses=IN_FLIGHT) if j.remote_id]
        self.status = {j.remote_id: j.status for j in jobs}
        self.local = {j.remote_id: j.local_id for j in jobs}
        now = time.monotonic()
        self.due = {rid: now + self.rng.uniform(0, CHANGE_EVERY[1]) for rid in self.status}
        self.changes = 0

    def batch(
        self, now: float, *, limit: int | None = None, due_or_not: bool = False
    ) -> dict[str, Any]:
        """The changes a poll at `now` would see (at most `limit` of them; with `due_or_not`,
        the first `limit` jobs whether their change is due or not)."""
        from krea_tui.core.models import Job

        store = self.app.store
        seen: dict[str, Any] = {}
        with store.transaction():
            for rid, when in self.due.items():
                if limit is not None and len(seen) >= limit:
                    break
                if when > now and not due_or_not:
                    continue
                current = self.status[rid]
                if current == "completed":
                    store.update(self.local[rid], status="queued", finished_at=None)
                    current = "queued"
                new = FORWARD[FORWARD.index(current) + 1]
                self.status[rid] = new
                self.due[rid] = now + self.rng.uniform(*CHANGE_EVERY)
                body = {"job_id": rid, "status": new, "created_at": "2026-01-01T00:00:00Z"}
                seen[rid] = Job.from_api(body)
        self.changes += len(seen)
        return seen

    def apply(self, seen: dict[str, Any]) -> None:
        self.app.engine.apply(seen)  # the engine's own path: store, then events


async def wait_handled(app: Any, counter: dict[str, int], target: int, timeout: float = 30) -> None:
    deadline = time.perf_counter() + timeout
    while counter["handled"] < target:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {counter['handled']} of {target} events reached the screen")
        await asyncio.sleep(0)


def count_handled(app: Any) -> dict[str, int]:
    """Count engine events as MainScreen handles them (wraps its `handle_batch`)."""
    counter = {"handled": 0}
    screen = app.screen_stack[0]
    original = screen.handle_batch

    def handle_batch(events: Any) -> None:
        original(events)
        counter["handled"] += sum(1 for e in events if type(e).__name__ == "JobEvent")

    screen.handle_batch = handle_batch
    return counter


async def type_filter(app: Any, probe: FrameProbe, word: str) -> list[float]:
    """Open the filter bar and type `word` a letter at a time: seconds from each key to the
    frame after the view took it; then Enter (the whole word, as the user asked for it)."""
    from textual import events

    from krea_tui.tui.widgets.filter_bar import FilterBar

    screen = app.screen_stack[0]
    bar = screen.query_one(FilterBar)
    screen.action_filter()
    await asyncio.sleep(0.05)
    delays: list[float] = []
    for n, letter in enumerate(word, 1):
        typed = word[:n]
        done = asyncio.get_running_loop().create_future()

        def shown(typed: str = typed) -> bool:
            # The view filtered by what is typed, or the bar saying Enter will (a filter
            # that reads every job of a long history waits for it: MainScreen).
            if bar.input.value.strip() != typed:
                return False
            return screen.model.view.query.text.strip() == typed or screen.model.filter_waits(typed)

        probe.on_frame_when(shown, done.set_result)
        sent = time.perf_counter()
        app._driver.send_message(events.Key(letter, letter))
        delays.append(await asyncio.wait_for(done, 30) - sent)
    shown = screen.model.shown_count()
    app._driver.send_message(events.Key("escape", None))
    for _ in range(500):
        await asyncio.sleep(0.01)
        if screen.model.view.query.is_empty:
            break
    screen.table.focus()
    await asyncio.sleep(0.05)
    return [*delays, float(shown)]


async def live_figures(quick: bool, history: int) -> list[Figure]:
    from textual import events

    from krea_tui.config import Settings
    from krea_tui.tui.app import KreaApp
    from tests.tui.history import static_runtime_factory

    duration = 6.0 if quick else 20.0
    with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
        tmp = Path(name)
        settings = Settings(
            data_dir=tmp / "data", output_dir=tmp / "out", demo=False, auto_download=False
        )
        settings.history_path.parent.mkdir(parents=True, exist_ok=True)
        build(settings.history_path, history, in_flight=IN_FLIGHT_JOBS)
        app = KreaApp(
            settings, image_protocol="halfcell", runtime_factory=static_runtime_factory(tmp)
        )
        probe = FrameProbe(app)
        async with app.run_test(headless=True, size=SIZE) as pilot:
            await wait_loaded(app, pilot)
            await pilot.pause()
            table = app.screen_stack[0].query_one("#jobs")
            rows = table.row_count
            counter = count_handled(app)
            feeder = Feeder(app)

            # Update cost: one second of changes at once, on an otherwise quiet app.
            per_second = CHANGES_PER_SECOND
            costs: list[float] = []
            engine_costs: list[float] = []
            for _ in range(3 if quick else 5):
                await pilot.pause(0.3)
                seen = feeder.batch(time.monotonic(), limit=per_second, due_or_not=True)
                target = counter["handled"] + len(seen)
                start = time.perf_counter()
                feeder.apply(seen)
                engine_costs.append(time.perf_counter() - start)
                await wait_handled(app, counter, target)
                done = asyncio.get_running_loop().create_future()
                probe.on_frame_when(lambda: True, done.set_result)
                costs.append(await asyncio.wait_for(done, 10) - start)

            # Filter keystrokes: a word in 1 % of the prompts, a letter at a time.
            *typed, matched = await type_filter(app, probe, RARE_WORD)

            # Key latency while the polls keep coming.
            latencies: list[float] = []
            stop = asyncio.Event()

            async def polls() -> None:
                while not stop.is_set():
                    feeder.apply(feeder.batch(time.monotonic()))
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(stop.wait(), POLL_SECONDS)

            changes_before = feeder.changes
            feeding = asyncio.create_task(polls())
            rng = random.Random(5)
            table.move_cursor(row=rows // 2)
            await pilot.pause()
            end = time.perf_counter() + duration
            down = True
            while time.perf_counter() < end:
                await asyncio.sleep(rng.uniform(0.03, 0.07))
                before = table.cursor_row
                done = asyncio.get_running_loop().create_future()
                probe.on_frame_when(
                    lambda before=before: table.cursor_row != before, done.set_result
                )
                key = "j" if down else "k"
                down = not down
                sent = time.perf_counter()
                app._driver.send_message(events.Key(key, key))
                latencies.append(await asyncio.wait_for(done, 10) - sent)
            stop.set()
            await feeding
            changes_per_s = (feeder.changes - changes_before) / duration
    return [
        Figure(
            "table.filter_keystroke",
            1000 * max(typed),
            "ms",
            100.0,
            note=f"{RARE_WORD!r} typed a letter at a time into the filter, each key to the "
            f"frame showing its rows (the slowest), {history} finished jobs + "
            f"{IN_FLIGHT_JOBS} in flight; the word matches {int(matched)} jobs",
            extra={"last_letter_ms": 1000 * typed[-1], "history": history},
        ),
        Figure(
            "table.key_latency_p99",
            1000 * percentile(latencies, 99),
            "ms",
            50.0,
            note=f"{IN_FLIGHT_JOBS} jobs in flight, each changing 1–4 s after its last change, "
            "seen by 2 s polls, "
            f"{history} finished jobs in the table too ({rows} rows), key to frame",
            extra={
                "p50_ms": 1000 * percentile(latencies, 50),
                "max_ms": 1000 * max(latencies),
                "keys": len(latencies),
                "changes_per_s": changes_per_s,
                "history": history,
            },
        ),
        repeated(
            "table.update_cost_per_second",
            [1000 * c for c in costs],
            "ms",
            100.0,
            cmp="<",
            note=f"{per_second} status changes (1 s of them) applied at once to the frame "
            f"showing them, {rows} rows",
            extra={"engine_apply_ms": 1000 * statistics.median(engine_costs), "history": history},
        ),
    ]


def figures(quick: bool) -> list[Figure]:
    out: list[Figure] = []
    opened: dict[int, float] = {}
    for count in history_sizes(quick):
        runs = history_runs(count, 2 if quick or count > 100_000 else 3)
        # From the app starting to run (interpreter, imports and settings done) to the frame
        # showing the history: what grows with the history, if anything does.
        opens = [r["history_frame"] - r["run_called"] for r in runs]
        opened[count] = statistics.median(opens)
        out += [
            repeated(
                "table.history_first_frame",
                [r["history_frame"] for r in runs],
                "s",
                1.0,
                note=f"{count} jobs; from spawning krea-tui to the first frame showing the "
                "history (interpreter start and imports included)",
                extra={
                    "first_any_frame_s": statistics.median(r["first_frame"] for r in runs),
                    "history": count,
                },
            ),
            repeated(
                "table.history_open",
                opens,
                "s",
                0.5,
                note=f"{count} jobs; from the app running (imports done) to the first frame "
                "showing the history",
                extra={"history": count},
            ),
            Figure(
                "table.history_rss",
                max(r["rss_settled_mb"] for r in runs),
                "MB",
                150.0,
                note=f"{count} jobs: the app's resident memory once the history shows",
                extra={"history": count},
            ),
        ]
        out += asyncio.run(live_figures(quick, count))
    if len(opened) > 1:
        small, large = min(opened), max(opened)
        out.append(
            Figure(
                "table.history_open_growth",
                opened[large] / opened[small],
                "x",
                1.5,
                note=f"opening {large} jobs over opening {small} (table.history_open)",
            )
        )
    return out
