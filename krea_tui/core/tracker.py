"""Looking at many jobs with few requests.

One `GET /jobs` page answers for up to 1,000 jobs at once, newest first; we page back only until
the oldest job we are watching is covered, and ask `GET /jobs/{id}` only for the few the list
did not show. The interval adapts: quick while jobs are young (a Flux image takes seconds),
slower for long ones, with jitter so many clients do not poll in step.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import NotFoundError
from krea_tui.core.models import Job
from krea_tui.core.store import StoredJob

# The list's `cursor` is a creation time; allow for clock skew between us and the server.
COVER_MARGIN = timedelta(seconds=5)
MAX_PAGES = 20


@dataclass(frozen=True, slots=True)
class PollResult:
    jobs: dict[str, Job]  # by remote id
    missing: tuple[str, ...]  # remote ids the server says do not exist
    requests: int


class Tracker:
    def __init__(
        self,
        client: KreaClient,
        *,
        min_interval: float = 2.0,
        max_interval: float = 5.0,
        young_seconds: float = 30.0,
        jitter: float = 0.1,
        single_concurrency: int = 8,
        rng: random.Random | None = None,
    ) -> None:
        self._client = client
        self.min_interval = min_interval
        self.max_interval = max_interval
        self.young_seconds = young_seconds
        self.jitter = jitter
        self._single = asyncio.Semaphore(single_concurrency)
        self._rng = rng or random.Random()

    def interval(self, active: Sequence[StoredJob], now: datetime) -> float:
        """Seconds until the next look: `min_interval` while any job is young, growing after."""
        if not active:
            return self.max_interval
        ages = [
            (now - (job.remote_created_at or job.submitted_at or job.created_at)).total_seconds()
            for job in active
        ]
        youngest = max(0.0, min(ages))
        if youngest <= self.young_seconds:
            base = self.min_interval
        else:
            # Grow linearly to the maximum over a few minutes of age.
            grown = self.min_interval + (youngest - self.young_seconds) / 60.0
            base = min(self.max_interval, grown)
        spread = base * self.jitter
        return max(0.2, base + self._rng.uniform(-spread, spread))

    async def poll(self, active: Sequence[StoredJob]) -> PollResult:
        """The current state of every job in `active` (those with a remote id)."""
        wanted = {job.remote_id: job for job in active if job.remote_id}
        if not wanted:
            return PollResult({}, (), 0)
        seen: dict[str, Job] = {}
        requests = 0
        oldest = min(
            (job.remote_created_at or job.submitted_at or job.created_at) for job in wanted.values()
        )
        limit = max(100, min(1000, 2 * len(wanted)))
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page, cursor = await self._client.list_jobs(limit=limit, cursor=cursor)
            requests += 1
            for job in page:
                if job.job_id in wanted:
                    seen[job.job_id] = job
            if len(seen) == len(wanted) or not cursor or not page:
                break
            last_created = page[-1].created_at
            if last_created is not None and last_created <= oldest - COVER_MARGIN:
                break
        rest = [remote_id for remote_id in wanted if remote_id not in seen]
        singles = await asyncio.gather(*(self._get_one(remote_id) for remote_id in rest))
        missing: list[str] = []
        for remote_id, single in zip(rest, singles, strict=True):
            requests += 1
            if single is None:
                missing.append(remote_id)
            else:
                seen[remote_id] = single
        return PollResult(seen, tuple(missing), requests)

    async def _get_one(self, remote_id: str) -> Job | None:
        async with self._single:
            try:
                return await self._client.get_job(remote_id)
            except NotFoundError:
                return None

    async def recent(self, since: datetime, known: Iterable[str]) -> list[Job]:
        """Jobs created after `since` that are not in `known`, oldest first (reconciliation)."""
        known_ids = set(known)
        found: list[Job] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page, cursor = await self._client.list_jobs(limit=1000, cursor=cursor)
            for job in page:
                recent = job.created_at is not None and job.created_at >= since
                if recent and job.job_id not in known_ids:
                    found.append(job)
            if not cursor or not page:
                break
            last = page[-1].created_at
            if last is not None and last < since:
                break
        found.sort(key=lambda job: job.created_at or since)
        return found
