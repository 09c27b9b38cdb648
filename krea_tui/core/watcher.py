"""The watcher: one loop that follows every job sent to Krea, records each change and looks
for the jobs of POSTs whose answer was lost.

Changes only move forward (a stale answer never takes a job back), a state passed between two
looks is recorded as skipped, and each change is committed before it is announced.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from krea_tui.core.backoff import Backoff
from krea_tui.core.errors import AuthenticationError, KreaError, RateLimitError
from krea_tui.core.events import NoticeEvent
from krea_tui.core.models import Job, JobStatus
from krea_tui.core.reconcile import pair_lost
from krea_tui.core.status import LocalStatus, is_backwards, skipped_between
from krea_tui.core.store import StoredJob, utcnow
from krea_tui.core.submitter import stop_reason

if TYPE_CHECKING:
    from krea_tui.core.engine import JobEngine

# An unknown POST that has produced no job on the server this long after its answer was lost
# most likely never created one: we say so and stop looking (each look reads the job list back
# to the time it was sent, which grows without end).
UNKNOWN_GIVE_UP = timedelta(minutes=2)
# Reconciliation waits this long at most for the POSTs under way to end (they time out anyway).
POST_DRAIN_TIMEOUT = 10.0
GAVE_UP = (
    "no job appeared on the server for this request: it was probably not created. "
    "Retry it yourself if you want it."
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
            delay: float
            try:
                if active:
                    result = await engine.tracker.poll(active)
                    self.apply(result.jobs)
                    self._forget_missing(result.missing)
                if unknown:
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
        with store.transaction():
            now = utcnow()
            for local, remote in changes:
                new = remote.status_text
                store.set_status(
                    local.local_id,
                    new,
                    now,
                    skipped=skipped_between(local.status, new),
                    urls=remote.urls,
                    error_code=remote.error_code,
                    error_message=remote.error_message,
                    raw=remote.raw,
                    **({"finished_at": remote.completed_at or now} if remote.is_terminal else {}),
                )
        for local, remote in changes:
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
                if remote.status is JobStatus.COMPLETED and engine.config.auto_download:
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
        now = utcnow()
        looking = []
        for job in lost:
            said = job.error_message or ""
            if now - self._lost_at(job) <= UNKNOWN_GIVE_UP:
                looking.append(job)
            elif said != GAVE_UP and AMBIGUOUS not in said:  # an ambiguity note stays: truer
                store.update(job.local_id, error_message=GAVE_UP)
                self.engine.publish(NoticeEvent(f"job {job.short_id}: {GAVE_UP}", "warning"))
        return sorted(looking, key=lambda j: j.submitted_at or j.created_at)

    async def _reconcile(self) -> None:
        """Match POSTs whose answer was lost to jobs that appeared on the server meanwhile.

        A job created by a POST still under way looks exactly like a lost one in the list (and
        its answer would then name a job already adopted), so the submitter is held and the list
        is read only once no POST is in flight.
        """
        engine = self.engine
        engine.flags.reconciling = True
        try:
            try:
                await asyncio.wait_for(engine.submitter.idle.wait(), POST_DRAIN_TIMEOUT)
            except TimeoutError:
                return  # a POST hangs; try again on the next round
            pending = self._lost_posts()
            if not pending:
                return
            since = (pending[0].submitted_at or pending[0].created_at) - timedelta(seconds=30)
            listed = await engine.tracker.recent(since, ())
            # Read after the listing: jobs adopted meanwhile must not be adopted twice.
            known = engine.store.remote_ids()
            candidates = [job for job in listed if job.job_id not in known]
            lost_at = {job.local_id: self._lost_at(job) for job in pending}
            matching = pair_lost(pending, lost_at, candidates, engine.skew)
            for job, remote in matching.pairs:
                engine.adopt(job, remote)
                engine.publish(
                    NoticeEvent(f"job {job.short_id}: found on the server after a lost answer")
                )
        finally:
            engine.flags.reconciling = False
            engine.submitter.wake.set()
        for job in pending:
            could_be = matching.ambiguous.get(job.local_id)
            note = f"{could_be} jobs {AMBIGUOUS}" if could_be else None
            if note and engine.store.get(job.local_id).error_message != note:
                engine.store.update(job.local_id, error_message=note)
                engine.publish(NoticeEvent(f"job {job.short_id}: {note}", "warning"))

    def _lost_at(self, job: StoredJob) -> datetime:
        """When the engine gave up on this POST's answer (or now, if it cannot tell)."""
        timeline = self.engine.store.timeline(job.local_id)
        lost = [entry.at for entry in timeline if entry.status == LocalStatus.UNKNOWN]
        return lost[-1] if lost else utcnow()
