"""Figure 1: status traffic. How many HTTP requests the engine spends to see N jobs through,
against the naive client of the Krea docs on the same workload, and how late it sees each
status compared with the simulator's own record of when the job changed.

The simulator may run faster than real time (`speed`); every client interval is then divided
by the same factor (the engine's 2–5 s, the naive client's 2 s, the "young job" age) and lags
are multiplied back, so counts and lags are what they would be in real time.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from krea_tui.core.api import KreaClient, RequestBudget, model_endpoint
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.status import FINAL
from krea_tui.core.store import JobStore
from tests.bench.common import Figure, percentile
from tests.bench.simproc import SimProcess, sim_process

# A plausible day's mix: mostly the default Flux model, some fast and some slow ones. Durations
# are the simulator's per-model figures (the catalogue's average time, else its hints).
MODEL_MIX: tuple[tuple[str, float], ...] = (
    ("bfl/flux-1-dev", 0.50),  # 7 s
    ("google/imagen-4-fast", 0.15),  # 6 s
    ("google/nano-banana", 0.10),  # 10 s
    ("ideogram/ideogram-3", 0.10),  # 15 s
    ("google/imagen-4-ultra", 0.10),  # 18 s
    ("google/nano-banana-pro", 0.05),  # 25 s
)
CONCURRENCY = 8  # jobs the account runs at once, and jobs the engine keeps in flight
NAIVE_INTERVAL = 2.0  # the docs' example polls each job every 2 s
TERMINAL = frozenset({"completed", "failed", "cancelled"})


def workload(count: int, seed: int = 7) -> list[tuple[str, dict[str, Any]]]:
    from krea_tui.core.catalog import bundled_catalog

    catalog = bundled_catalog()
    rng = random.Random(seed)
    models = [m for m, _ in MODEL_MIX]
    weights = [w for _, w in MODEL_MIX]
    out: list[tuple[str, dict[str, Any]]] = []
    for i in range(count):
        model = rng.choices(models, weights)[0]
        body: dict[str, Any] = {"prompt": f"bench job {i}"}
        if catalog.get(model).field("seed") is not None:  # not every model takes one
            body["seed"] = 1000 + i
        out.append((model, body))
    return out


@dataclass
class EngineRun:
    requests: dict[str, int]
    wall: float
    lags: list[float] = field(default_factory=list)  # real-time seconds
    skipped: int = 0  # states the engine recorded as passed unseen (no time to compare)

    @property
    def total(self) -> int:
        return sum(self.requests.values())


@dataclass
class NaiveRun:
    requests: dict[str, int]
    wall: float
    gaps: list[float]  # real-time seconds between one job's consecutive looks

    @property
    def total(self) -> int:
        return sum(self.requests.values())


async def run_engine(
    sim: SimProcess, jobs: Sequence[tuple[str, dict[str, Any]]], speed: float
) -> EngineRun:
    with tempfile.TemporaryDirectory(prefix="krea-bench-") as tmp:
        store = JobStore(Path(tmp) / "history.sqlite3")
        # The runtime's own request budget (10/s, burst 20), on the simulator's clock.
        budget = RequestBudget(10.0 * speed, burst=20)
        client = KreaClient(sim.token, base_url=sim.base_url, budget=budget)
        config = EngineConfig(
            output_dir=Path(tmp) / "out",
            max_in_flight=CONCURRENCY,
            min_interval=2.0 / speed,
            max_interval=5.0 / speed,
            auto_download=False,  # status traffic only; downloads are figure 6
            seed=7,
        )
        engine = JobEngine(client, store, config)
        engine.tracker.young_seconds = 30.0 / speed
        started = time.perf_counter()
        async with engine:
            for model, body in jobs:
                engine.enqueue(model, [body])
            while sum(n for status, n in store.counts().items() if status in FINAL) < len(jobs):
                await asyncio.sleep(0.01)
        wall = time.perf_counter() - started
        run = EngineRun(sim.api_requests(), wall)
        await _lags(sim, store, speed, run)
        await client.aclose()
        store.close()
    return run


async def _lags(sim: SimProcess, store: JobStore, speed: float, run: EngineRun) -> None:
    """Each status the engine recorded with a time, against the simulator's transition time."""
    async with httpx.AsyncClient(base_url=f"{sim.base_url}/_sim", trust_env=False) as admin:
        for job in store.jobs():
            if job.remote_id is None:
                continue
            answer = await admin.get(f"/jobs/{job.remote_id}/timeline")
            truth = {entry["status"]: entry["t"] for entry in answer.json()["timeline"]}
            for entry in store.timeline(job.local_id):
                if entry.skipped:
                    run.skipped += 1
                elif entry.status in truth:
                    run.lags.append((entry.at.timestamp() - truth[entry.status]) * speed)


async def run_naive(
    sim: SimProcess,
    jobs: Sequence[tuple[str, dict[str, Any]]],
    speed: float,
    *,
    bounded: int | None = None,
) -> NaiveRun:
    """The docs' client: POST a job, then GET /jobs/{id} every 2 s until it is final.

    Unbounded (the docs' loop over many prompts): every job is POSTed in turn, each one's polling
    starting right after its POST. `bounded`: at most that many jobs in flight, the next one
    POSTed when one finishes (a script that respects the account's concurrency).
    """
    interval = NAIVE_INTERVAL / speed
    gaps: list[float] = []
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    headers = {"Authorization": f"Bearer {sim.token}"}
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers=headers, limits=limits, timeout=120, trust_env=False
    ) as http:

        async def post(model: str, body: dict[str, Any]) -> str:
            answer = await http.post(model_endpoint(model), json=body)
            answer.raise_for_status()
            return str(answer.json()["job_id"])

        async def poll(job_id: str) -> None:
            last = time.perf_counter()
            while True:
                await asyncio.sleep(interval)
                answer = await http.get(f"/jobs/{job_id}")
                now = time.perf_counter()
                gaps.append((now - last) * speed)
                last = now
                if answer.json()["status"] in TERMINAL:
                    return

        started = time.perf_counter()
        if bounded is None:
            pollers = []
            for model, body in jobs:
                job_id = await post(model, body)
                pollers.append(asyncio.create_task(poll(job_id)))
            await asyncio.gather(*pollers)
        else:
            slots = asyncio.Semaphore(bounded)

            async def one(model: str, body: dict[str, Any]) -> None:
                async with slots:
                    await poll(await post(model, body))

            await asyncio.gather(*(one(model, body) for model, body in jobs))
        wall = time.perf_counter() - started
    return NaiveRun(sim.api_requests(), wall, gaps)


def _sim_options(count: int, speed: float) -> dict[str, Any]:
    # Backlog for every job: the naive client sends them all at once and has no 429 handling.
    return {"speed": speed, "concurrency": CONCURRENCY, "backlog": count, "seed": 7}


async def measure(count: int, speed: float, *, bounded_peer: bool = True) -> dict[str, Any]:
    """Engine, docs client and (optionally) bounded docs client, each against a fresh simulator
    with the same seed (so the same durations), one after the other."""
    jobs = workload(count)
    out: dict[str, Any] = {}
    with sim_process(**_sim_options(count, speed)) as sim:
        out["engine"] = await run_engine(sim, jobs, speed)
    with sim_process(**_sim_options(count, speed)) as sim:
        out["naive"] = await run_naive(sim, jobs, speed)
    if bounded_peer:
        with sim_process(**_sim_options(count, speed)) as sim:
            out["bounded"] = await run_naive(sim, jobs, speed, bounded=CONCURRENCY)
    return out


def figures(quick: bool) -> list[Figure]:
    count, speed = (40, 10.0) if quick else (200, 5.0)
    result = asyncio.run(measure(count, speed))
    engine: EngineRun = result["engine"]
    naive: NaiveRun = result["naive"]
    bounded: NaiveRun = result["bounded"]
    scaled = (
        f"{count} jobs, simulator at {speed:g}× speed with every client interval divided by "
        f"{speed:g} (naive poll {NAIVE_INTERVAL / speed:g} s = 2 s real); lags ×{speed:g}"
    )
    naive_gap = sum(naive.gaps) / max(1, len(naive.gaps))
    return [
        Figure(
            "status.requests_pct_of_naive",
            100.0 * engine.total / naive.total,
            "%",
            10.0,
            baseline=naive.total,
            note=f"{scaled}. Naive: the docs' loop (POST each job, GET /jobs/{{id}} every 2 s "
            "after its POST); it really polled every "
            f"{naive_gap:.2f} s (real-time).",
            extra={"engine_requests": engine.total, "engine_by_endpoint": engine.requests},
        ),
        Figure(
            "status.lag_p95",
            percentile(engine.lags, 95),
            "s",
            2.0,
            note="status the engine recorded minus the simulator's transition time, "
            "real-time seconds; states passed between two looks have no time and are not counted",
            extra={
                "p50": percentile(engine.lags, 50),
                "max": max(engine.lags, default=float("nan")),
                "samples": len(engine.lags),
                "skipped_states": engine.skipped,
            },
        ),
        Figure(
            "status.requests_pct_of_bounded_naive",
            100.0 * engine.total / bounded.total,
            "%",
            None,
            baseline=bounded.total,
            note="context: the same docs client keeping at most 8 jobs in flight (as the engine "
            "does); one list request stands for at most 8 per-job looks, so ~12.5% of its "
            "looks plus the same POSTs is the floor at the same 2 s pace",
            extra={
                "engine_wall_real_s": engine.wall * speed,
                "bounded_wall_real_s": bounded.wall * speed,
            },
        ),
    ]
