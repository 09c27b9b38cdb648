"""The watcher: one loop that follows every job sent to Krea, records each change and looks
for the jobs of POSTs whose answer was lost.

Changes only move forward (a stale answer never takes a job back), a state passed between two
looks is recorded as skipped, and each change is committed before it is announced.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from krea_tui.core.backoff import Backoff
from krea_tui.core.errors import AuthenticationError, KreaError, RateLimitError
from krea_tui.core.events import NoticeEvent
from krea_tui.core.models import Job, JobStatus
from krea_tui.core.reconcile import Matching, pair_lost
from krea_tui.core.status import LocalStatus, is_backwards, skipped_between
from krea_tui.core.store import StoredJob, utcnow
from krea_tui.core.submitter import stop_reason

if TYPE_CHECKING:
    from krea_tui.core.engine import JobEngine

# An unknown POST that has produced no job on the server after this much looking (measured on
# this process's monotonic clock, so a wall-clock jump cannot end the search early) most likely
# never created one: we say so and stop looking (each look reads the job list back to the time
# it was sent, which grows without end). A restart looks again.
UNKNOWN_GIVE_UP = timedelta(minutes=2)
# Reconciliation waits this long at most for the POSTs under way to end (they time out anyway).
POST_DRAIN_TIMEOUT = 10.0
# The watcher's lease: while a process holds it, only that process polls the server and matches
# lost POSTs; the others follow the history. A process that stops renewing it loses it.
WATCHER_LEASE = 30.0
# Lost POSTs are looked for on the server at most this often (seconds).
RECONCILE_EVERY = 1.0
# How often a process without the lease checks whether it should take it over.
LEASE_RETRY = 2.0
# Whatever we say of a POST whose job we could not find must not make anyone pay twice: it may
# exist, so the advice is to look before sending it again, never simply to retry.
GAVE_UP = (
    "no job for this request appeared on the server while krea-tui looked; it may still exist. "
    "krea-tui does not send it again: look for it in the Krea web app before sending it yourself"
)
AMBIGUOUS = (
    "appeared on the server while this and other requests were being sent, and nothing tells "
    "which one is this request's; it is not sent again"
)


class Watcher:
    def __init__(self, engine: JobEngine) -> None:
        self.engine = engine
        self.backoff = Backoff()
        self.wake = asyncio.Event()
        # Lost POSTs being looked for: local id -> when this process began looking (loop time).
        self._looking: dict[str, float] = {}
        self._next_reconcile = 0.0  # loop time

    async def run(self) -> None:
        engine = self.engine
        store = engine.store
        loop = asyncio.get_running_loop()
        while not engine.flags.closing:
            active = store.active_remote()
            unknown = self._lost_posts()
            if not active and not unknown:
                self.wake.clear()
                await self.wake.wait()
                continue
            if not store.take_watcher_lease(WATCHER_LEASE):
                # Another process on this history polls for everyone; what it records reaches
                # us through the follower. Take over if it stops.
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.wake.wait(), LEASE_RETRY)
                continue
            delay: float
            try:
                if active:
                    result = await engine.tracker.poll(active)
                    self.apply(result.jobs)
                    self._forget_missing(result.missing)
                if unknown and loop.time() >= self._next_reconcile:
                    # Not every poll: each look holds every process's POSTs back while it
                    # reads the list, and the queue must move on meanwhile.
                    self._next_reconcile = loop.time() + RECONCILE_EVERY
                    await self._reconcile()
            except RateLimitError as exc:
                delay = self.backoff.fail(loop.time(), exc.retry_after)
                engine.set_connection("backing-off", f"rate limited: {exc.message}", delay)
            except AuthenticationError as exc:
                delay = self.backoff.fail(loop.time(), None)
                engine.set_connection("backing-off", exc.message, delay)
                if not engine.flags.paused:
                    engine.pause(stop_reason(exc))
            except KreaError as exc:
                delay = self.backoff.fail(loop.time(), None)
                engine.set_connection("backing-off", exc.message, delay)
            else:
                self.backoff.ok()
                engine.set_connection("ok")
                delay = engine.tracker.interval(store.active_remote(), utcnow())
                if engine.config.webhook_url:
                    # Webhooks bring terminal states; polling stays only as a safety net.
                    delay = max(delay, engine.config.webhook_poll_interval)
            await asyncio.sleep(delay)

    def apply(self, seen: Mapping[str, Job]) -> None:
        """Record what the server says about each job; announce only real forward changes."""
        engine = self.engine
        store = engine.store
        changes: list[tuple[StoredJob, Job]] = []
        known = store.by_remote_ids(seen)  # one query for the lot, not two per job
        for remote_id, remote in seen.items():
            local = known.get(remote_id)
            if local is None or local.is_final:
                continue
            new = remote.status_text
            if new == local.status:
                if remote.urls != local.urls:  # a preview appeared or changed
                    store.update(local.local_id, urls=remote.urls, raw=remote.raw)
                    self._fetch_preview(local.local_id, remote)
                continue
            if is_backwards(local.status, new):
                continue
            changes.append((local, remote))
        finished = False
        applied: list[tuple[StoredJob, Job]] = []
        with store.transaction():
            now = utcnow()
            for local, remote in changes:
                new = remote.status_text
                # Only from the status we read: another process may have recorded it already.
                if store.set_status(
                    local.local_id,
                    new,
                    now,
                    expect=local.status,
                    skipped=skipped_between(local.status, new),
                    urls=remote.urls,
                    error_code=remote.error_code,
                    error_message=remote.error_message,
                    raw=remote.raw,
                    **({"finished_at": remote.completed_at or now} if remote.is_terminal else {}),
                ):
                    applied.append((local, remote))
        for local, remote in applied:
            new = remote.status_text
            # What set_status just wrote, built here instead of read back (a query and a row
            # parse per job); times as the store keeps them, to the millisecond.
            updated = replace(
                local,
                status=new,
                urls=tuple(remote.urls),
                error_code=remote.error_code,
                error_message=remote.error_message,
            )
            if remote.is_terminal or updated.is_final:
                end = (remote.completed_at or now) if remote.is_terminal else now
                end = end.replace(microsecond=end.microsecond - end.microsecond % 1000)
                updated = replace(updated, finished_at=end)
            engine.announce(updated, local.status, skipped_between(local.status, new))
            if remote.is_terminal:
                finished = True
                wanted = remote.status is JobStatus.COMPLETED and engine.config.auto_download
                if wanted and engine.downloads_here(local.local_id):
                    engine.downloads.request(local.local_id)
            else:
                self._fetch_preview(local.local_id, remote)
        if finished:
            engine.submitter.wake.set()  # slots freed up

    def _fetch_preview(self, local_id: str, remote: Job) -> None:
        """The low-resolution picture some models show while they work, for the detail pane."""
        if remote.status is JobStatus.INTERMEDIATE_COMPLETE and remote.urls:
            self.engine.downloads.preview(local_id, remote.urls[0])

    def _forget_missing(self, missing: Sequence[str]) -> None:
        for remote_id in missing:
            job = self.engine.store.by_remote_id(remote_id)
            if job is not None and not job.is_final:
                self.engine.move(
                    job,
                    LocalStatus.UNKNOWN,
                    error_message="the server no longer knows this job (404)",
                )

    # -- POSTs whose answer was lost ---------------------------------------------------------

    def _lost_posts(self) -> list[StoredJob]:
        """Jobs whose POST may or may not have created a job and are still being looked for,
        oldest POST first. Those looked for long enough are told so here, once."""
        store = self.engine.store
        lost = [j for j in store.jobs(statuses=[LocalStatus.UNKNOWN]) if not j.remote_id]
        now = asyncio.get_running_loop().time()
        limit = UNKNOWN_GIVE_UP.total_seconds()
        looking = []
        for job in lost:
            said = job.error_message or ""
            since = self._looking.setdefault(job.local_id, now)
            if now - since <= limit:
                looking.append(job)
            elif said != GAVE_UP and AMBIGUOUS not in said:  # an ambiguity note stays: truer
                store.update(job.local_id, error_message=GAVE_UP)
                self.engine.publish(NoticeEvent(f"job {job.short_id}: {GAVE_UP}", "warning"))
        return sorted(looking, key=lambda j: j.submitted_at or j.created_at)

    def still_looking(self, local_id: str) -> bool:
        """Whether this lost POST is still being looked for on the server."""
        since = self._looking.get(local_id)
        loop_now = asyncio.get_running_loop().time()
        return since is None or loop_now - since <= UNKNOWN_GIVE_UP.total_seconds()

    async def _posts_drained(self) -> bool:
        """Wait until no process on the history has a POST under way (claims of dead ones are
        released meanwhile); False if that does not happen in time."""
        engine = self.engine
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POST_DRAIN_TIMEOUT
        while engine.store.count_submitting() > 0 or engine.submitter.posting:
            if loop.time() > deadline:
                return False
            engine.release_orphans()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(engine.submitter.idle.wait(), 0.2)
            await asyncio.sleep(0.05)
        return True

    async def _reconcile(self) -> None:
        """Match POSTs whose answer was lost to jobs that appeared on the server meanwhile.

        A job created by a POST still under way looks exactly like a lost one in the list (and
        its answer would then name a job already adopted), so every process's submitter is held
        (through the store) and the list is read only once no POST is in flight anywhere.
        """
        engine = self.engine
        store = engine.store
        if not store.begin_reconciling(POST_DRAIN_TIMEOUT + 60):
            return  # another process is at it
        engine.flags.reconciling = True
        pending: list[StoredJob] = []
        matching = Matching([], {})
        try:
            if not await self._posts_drained():
                return  # a POST hangs; try again on the next round
            pending = self._lost_posts()
            if not pending:
                return
            # Server times are on the server's clock: the window starts at the first lost
            # POST, moved onto that clock by the skew learnt from its answers.
            first = pending[0].submitted_at or pending[0].created_at
            since = first + engine.skew.at(first)[0] - timedelta(seconds=30)
            listed = await engine.tracker.recent(since, ())
            # Read after the listing: jobs adopted meanwhile must not be adopted twice.
            known = store.remote_ids()
            candidates = [job for job in listed if job.job_id not in known]
            lost_at = {job.local_id: self._lost_at(job) for job in pending}
            matching = pair_lost(pending, lost_at, candidates, engine.skew)
            for job, remote in matching.pairs:
                if store.get(job.local_id).status != LocalStatus.UNKNOWN:
                    continue  # another process matched it meanwhile
                engine.adopt(job, remote)
                self._looking.pop(job.local_id, None)
                engine.publish(
                    NoticeEvent(f"job {job.short_id}: found on the server after a lost answer")
                )
        finally:
            engine.flags.reconciling = False
            store.end_reconciling()
            engine.submitter.wake.set()
        for job in pending:
            could_be = matching.ambiguous.get(job.local_id)
            note = f"{could_be} jobs {AMBIGUOUS}" if could_be else None
            if note and store.get(job.local_id).error_message != note:
                store.update(job.local_id, error_message=note)
                engine.publish(NoticeEvent(f"job {job.short_id}: {note}", "warning"))

    def _lost_at(self, job: StoredJob) -> datetime:
        """When the engine gave up on this POST's answer (or now, if it cannot tell)."""
        timeline = self.engine.store.timeline(job.local_id)
        lost = [entry.at for entry in timeline if entry.status == LocalStatus.UNKNOWN]
        return lost[-1] if lost else utcnow()
