"""What every benchmark shares: the figure it prints, timing helpers, history building, and a
probe that timestamps the frames a headless Textual app renders."""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from krea_tui.core.store import JobStore

# Kept in one place so the README, the smoke test and the figures agree.
FLUX = "bfl/flux-1-dev"
LIFECYCLE = ("queued", "scheduled", "processing", "sampling", "intermediate-complete")
IN_FLIGHT = ("queued", "scheduled", "processing", "sampling", "intermediate-complete")


@dataclass
class Figure:
    """One line of benchmark output.

    `target` is None for figures shown for context only; their `ok` is then None too.
    `cmp` says how value and target compare ("<=" or "<"). `runs` holds every repeat when a
    figure was measured more than once: `value` is then their median and `best` their minimum.
    """

    name: str
    value: float
    unit: str
    target: float | None
    baseline: float | None = None
    cmp: str = "<="
    note: str | None = None
    runs: list[float] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool | None:
        if self.target is None:
            return None
        return self.value < self.target if self.cmp == "<" else self.value <= self.target

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "value": _round(self.value),
            "unit": self.unit,
            "target": self.target,
            "cmp": self.cmp,
            "baseline": _round(self.baseline),
            "ok": self.ok,
        }
        if self.runs:
            out["best"] = _round(min(self.runs))
            out["runs"] = [_round(r) for r in self.runs]
        out.update({key: _round(value) for key, value in self.extra.items()})
        if self.note:
            out["note"] = self.note
        return out

    def json(self) -> str:
        return json.dumps(self.as_dict(), ensure_ascii=False)


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    return value


def repeated(
    name: str, runs: Sequence[float], unit: str, target: float | None, **kwargs: Any
) -> Figure:
    """A figure from several runs of the same measurement: the median, with the best kept."""
    return Figure(name, statistics.median(runs), unit, target, runs=list(runs), **kwargs)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), nearest-rank: never better than a real sample."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * q // 100)))
    return ordered[int(rank) - 1]


def rss_mb() -> float:
    """Resident set size of this process in MB (Linux /proc; no psutil needed)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# -- histories -----------------------------------------------------------------------------------

PROMPTS = (
    "Swiss chalets, balconies embroidered with Edelweiss",
    "a red fox in fresh snow, morning light",
    "an anime-inspired cyberpunk market in Neo Tokyo at night, rain, neon reflections",
    "lighthouse on a cliff during a storm, oil painting",
    "macro photo of a dragonfly wing",
)


def build_history(
    path: Path, count: int, *, in_flight: int = 0, now: datetime | None = None
) -> None:
    """`count` finished jobs (then `in_flight` unfinished ones) written straight into a store.

    Rows go in with plain SQL in one transaction: 10,000 jobs through `add_job` one by one
    would spend most of the benchmark building its own input. The shape is what the engine
    writes: a request, a remote id, a timeline of six states and one saved file per result.
    """
    now = now or datetime.now(UTC)
    store = JobStore(path)
    db = store._db  # the store has no bulk insert; the benchmark is allowed to reach in
    jobs: list[tuple[Any, ...]] = []
    timeline: list[tuple[Any, ...]] = []
    files: list[tuple[Any, ...]] = []
    total = count + in_flight
    for n in range(total):
        created = now - timedelta(seconds=(total - n) * 6)
        local_id = f"{n:08d}" + "0" * 24
        remote_id = f"{n:08d}-bench-4000-8000-{n:012d}"
        request = {
            "prompt": f"{PROMPTS[n % len(PROMPTS)]} #{n}",
            "seed": 1000 + n,
            "steps": 25,
            "width": 1024,
            "height": 1024,
        }
        final = n < count
        status = ("completed" if n % 25 else "failed") if final else IN_FLIGHT[n % len(IN_FLIGHT)]
        url = f"https://gen.example.test/{remote_id}.png"
        at = created
        for step in LIFECYCLE:
            at += timedelta(seconds=1)
            timeline.append((local_id, step, at.isoformat(timespec="milliseconds"), 0))
            if step == status:
                break
        if final:
            at += timedelta(seconds=1)
            timeline.append((local_id, status, at.isoformat(timespec="milliseconds"), 0))
        done = status == "completed"
        jobs.append(
            (
                local_id,
                FLUX,
                json.dumps(request, sort_keys=True),
                float(n + 1),
                remote_id,
                status,
                created.isoformat(timespec="milliseconds"),
                created.isoformat(timespec="milliseconds"),
                created.isoformat(timespec="milliseconds"),
                at.isoformat(timespec="milliseconds") if final else None,
                json.dumps([url] if done else []),
                "content_moderation" if status == "failed" else None,
                "blocked by content moderation" if status == "failed" else None,
                0.007,
                "USD",
            )
        )
        if done:
            files.append((local_id, 0, url, f"/nonexistent/results/{remote_id}-0.png"))
    with store.transaction():
        db.executemany(
            "INSERT INTO jobs (local_id, model, request, position, remote_id, status, created_at,"
            " submitted_at, remote_created_at, finished_at, urls, error_code, error_message,"
            " cost_estimate, cost_unit) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            jobs,
        )
        db.executemany(
            "INSERT INTO timeline (local_id, status, at, skipped) VALUES (?,?,?,?)", timeline
        )
        db.executemany("INSERT INTO files (local_id, idx, url, path) VALUES (?,?,?,?)", files)
    store.close()


# -- frames --------------------------------------------------------------------------------------


class FrameProbe:
    """Timestamps every frame a headless app renders.

    Headless Textual still lays out and composites each update and hands it to `App._display`,
    which then skips the terminal write. The probe wraps `_display` on the instance and turns
    the update into the escape sequences a terminal would receive (the part headless mode
    skips), so a frame's time includes producing its bytes.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.frames: list[float] = []
        self.watchers: list[tuple[Callable[[], bool], Callable[[float], None]]] = []
        original = app._display

        def display(screen: Any, renderable: Any) -> None:
            original(screen, renderable)
            if renderable is None:
                return
            render = getattr(renderable, "render_segments", None)
            if render is not None:
                render(app.console)
            now = time.perf_counter()
            self.frames.append(now)
            for watcher in list(self.watchers):
                condition, done = watcher
                if condition():
                    self.watchers.remove(watcher)
                    done(now)

        app._display = display

    def on_frame_when(self, condition: Callable[[], bool], done: Callable[[float], None]) -> None:
        """Call `done(time)` at the first frame rendered while `condition()` holds."""
        self.watchers.append((condition, done))

    def first_frame_after(self, moment: float) -> float | None:
        for at in self.frames:
            if at >= moment:
                return at
        return None


async def wait_loaded(app: Any, pilot: Any) -> None:
    """Run the app until its runtime is up and the main screen shows the history."""
    for _ in range(500):
        await pilot.pause()
        if app.ready and app.screen_stack[0].loaded:
            return
    raise RuntimeError("the app did not load its history")
