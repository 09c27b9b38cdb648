"""Helpers shared by the engine tests: an engine wired to a simulator, an event recorder, and
the checks that every run must pass (event order, true final states, metadata in the files)."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from krea_tui.core.api import KreaClient
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.events import DownloadEvent, EngineEvent, JobEvent, QueueEvent
from krea_tui.core.metadata import request_from_png
from krea_tui.core.models import JobStatus
from krea_tui.core.status import FINAL
from krea_tui.core.store import JobStore, StoredJob
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A

FLUX = "bfl/flux-1-dev"
REMOTE_STATES = tuple(str(status) for status in JobStatus)


def requests_for(count: int, tag: str = "job") -> list[dict[str, Any]]:
    """Distinct prompts, so a job on the simulator can be traced back to the request it ran."""
    return [{"prompt": f"{tag} {i}", "seed": 1000 + i} for i in range(count)]


@dataclass
class EventLog:
    """Every event of one engine, in order, with a way to await a condition on them."""

    events: list[EngineEvent] = field(default_factory=list)
    _changed: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def record(self, engine: JobEngine) -> None:
        async for event in engine.subscribe():
            async with self._changed:
                self.events.append(event)
                self._changed.notify_all()

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 10.0, what: str = ""
    ) -> None:
        """Wait until `predicate()` holds; it is re-checked after every event."""
        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(predicate), timeout)
        except TimeoutError:
            raise AssertionError(f"not within {timeout}s: {what or predicate}") from None

    def job_events(self, local_id: str | None = None) -> list[JobEvent]:
        return [
            e
            for e in self.events
            if isinstance(e, JobEvent) and (local_id is None or e.job.local_id == local_id)
        ]

    def queue_events(self) -> list[QueueEvent]:
        return [e for e in self.events if isinstance(e, QueueEvent)]

    def downloads(self) -> list[DownloadEvent]:
        return [e for e in self.events if isinstance(e, DownloadEvent)]

    def saw(self, local_id: str, status: str) -> bool:
        return any(e.new == status for e in self.job_events(local_id))


@dataclass
class Harness:
    sim: RunningSim
    client: KreaClient
    store: JobStore
    engine: JobEngine
    log: EventLog
    output_dir: Path

    def job(self, local_id: str) -> StoredJob:
        return self.store.get(local_id)

    def settled(self, local_ids: Iterable[str]) -> bool:
        """Every job ended, and every completed one has all its files saved."""
        for local_id in local_ids:
            job = self.store.get(local_id)
            if not job.is_final:
                return False
            if job.status == "completed" and len(job.files) < max(1, len(job.urls)):
                return False
        return True

    async def wait_settled(self, local_ids: Sequence[str], timeout: float = 20.0) -> None:
        ids = list(local_ids)
        await self.log.wait_for(lambda: self.settled(ids), timeout, f"{len(ids)} jobs to settle")

    async def wait_status(self, local_id: str, statuses: Iterable[str], timeout=10.0) -> StoredJob:
        wanted = set(statuses)
        await self.log.wait_for(
            lambda: self.store.get(local_id).status in wanted, timeout, f"{local_id} in {wanted}"
        )
        return self.store.get(local_id)

    def is_unknown(self, local_id: str) -> bool:
        return self.store.get(local_id).status == "unknown"

    async def wait_requests(
        self,
        route: str,
        more: int,
        timeout: float = 10.0,
        unless: Callable[[], bool] = lambda: False,
    ) -> None:
        """Wait until the engine has sent `more` further requests of `route` (e.g. polls), or
        until `unless()` holds."""
        target = self.client.request_counts[route] + more
        deadline = time.monotonic() + timeout
        while self.client.request_counts[route] < target and not unless():
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {more} further {route} within {timeout}s")
            await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def running_engine(
    sim: RunningSim,
    tmp_path: Path,
    *,
    token: str = TOKEN_A,
    start: bool = True,
    **config: Any,
) -> AsyncIterator[Harness]:
    """An engine against `sim` with quick polling (0.05–0.2 s), its history in tmp_path."""
    settings: dict[str, Any] = {"min_interval": 0.05, "max_interval": 0.2, "seed": 7}
    settings.update(config)
    output_dir = tmp_path / "out"
    store = JobStore(tmp_path / "history.sqlite3")
    client = KreaClient(token, base_url=sim.base_url)
    engine = JobEngine(client, store, EngineConfig(output_dir=output_dir, **settings))
    log = EventLog()
    recorder = asyncio.create_task(log.record(engine))
    await asyncio.sleep(0)  # let the recorder subscribe before anything happens
    try:
        if start:
            await engine.start()
        yield Harness(sim, client, store, engine, log, output_dir)
    finally:
        await engine.stop()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(recorder, 2)
        await client.aclose()
        store.close()


# -- checks ------------------------------------------------------------------------------------


def check_event_chains(log: EventLog, local_ids: Iterable[str], *, retries: bool = False) -> None:
    """Per job: the first event creates it as held, each event starts where the last one ended,
    and no server state is announced twice. Without `retries` (no 429/5xx expected) no state
    at all is announced twice."""
    for local_id in local_ids:
        events = log.job_events(local_id)
        assert events, f"no events for {local_id}"
        assert (events[0].old, events[0].new) == (None, "held")
        for before, after in itertools.pairwise(events):
            assert after.old == before.new, f"{local_id}: {before.new} then {after.old}"
        news = [e.new for e in events]
        checked = [s for s in news if s in REMOTE_STATES] if retries else news
        assert len(checked) == len(set(checked)), f"{local_id}: a state twice: {news}"
        assert not any(e.new in FINAL for e in events[:-1]), f"{local_id}: moved after ending"


def sim_jobs(sim: RunningSim, token: str = TOKEN_A) -> list[dict[str, Any]]:
    """Every job the simulator holds for `token`, oldest first, straight from its state."""
    items, _ = sim.state.list(token, limit=1000)
    return list(reversed(items))


def sim_prompt(sim: RunningSim, remote_id: str) -> str:
    found = sim.state.job_request(remote_id)
    assert found is not None, f"the simulator has no job {remote_id}"
    return found[0].prompt


def check_saved_files(job: StoredJob, output_dir: Path) -> None:
    """The result is on disk inside the output dir, and it re-creates its request."""
    assert job.files, f"{job.short_id} has no saved file"
    for name in job.files:
        path = Path(name)
        assert path.is_file()
        assert path.resolve().is_relative_to(output_dir.resolve())
        document = request_from_png(path.read_bytes())
        assert document is not None, f"{path} carries no request"
        assert document["model"] == job.model
        assert document["request"] == dict(job.request)
        assert document["job_id"] == job.remote_id
        sidecar = path.with_name(path.name + ".json")
        assert json.loads(sidecar.read_text())["request"] == dict(job.request)


def part_files(directory: Path) -> list[Path]:
    return sorted(directory.rglob(".krea-tui-*.part")) if directory.exists() else []


def statuses(store: JobStore, local_ids: Iterable[str]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for local_id in local_ids:
        counts[store.get(local_id).status] += 1
    return dict(counts)


def db_rows(db: Path) -> list[dict[str, Any]]:
    """The jobs as another (perhaps dead) process committed them, read on our own connection."""
    if not db.exists():
        return []
    connection = sqlite3.connect(db, timeout=5)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM jobs ORDER BY position")]
    except sqlite3.OperationalError:  # killed before the schema was created
        return []
    finally:
        connection.close()
