"""JobEngine: the local queue in front of Krea's, one watcher for every job, and the events.

The rules that matter most:
- A job is in the store before its POST is sent, and every change is committed before it is
  published, so what a user saw is never ahead of what survives a crash.
- A POST whose answer was lost is never sent again automatically: the job becomes `unknown`
  and is matched against `GET /jobs` later, so nobody pays twice by accident.
- 429 keeps jobs in the local queue and waits; 401/402/410 pause the queue with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from krea_tui.core.api import KreaClient
from krea_tui.core.downloads import Downloader
from krea_tui.core.errors import (
    AuthenticationError,
    ConflictError,
    KreaError,
    ModelRetiredError,
    NotFoundError,
    PaymentError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from krea_tui.core.events import (
    ConnectionEvent,
    EngineEvent,
    EventHub,
    JobEvent,
    NoticeEvent,
    QueueEvent,
    Subscription,
)
from krea_tui.core.files import DEFAULT_TEMPLATE, sweep_temp_files
from krea_tui.core.models import Job, JobStatus
from krea_tui.core.reconcile import ClockSkew, pair_lost
from krea_tui.core.status import LocalStatus, is_active_remote, is_backwards, skipped_between
from krea_tui.core.store import JobStore, StoredJob, utcnow
from krea_tui.core.tracker import Tracker

log = logging.getLogger(__name__)
MAX_BACKOFF = 60.0
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


@dataclass(slots=True)
class EngineConfig:
    output_dir: Path
    name_template: str = DEFAULT_TEMPLATE
    max_in_flight: int = 8  # jobs sent to Krea and not finished
    max_posts: int = 4  # POSTs under way at once
    min_interval: float = 2.0
    max_interval: float = 5.0
    download_concurrency: int = 4
    auto_download: bool = True
    webhook_url: str | None = None
    preview_dir: Path | None = None  # where in-progress previews go; None: not fetched
    webhook_poll_interval: float = 30.0  # polling with webhooks on: only a safety net
    seed: int | None = None  # fixes the jitter RNG for tests and benchmarks


@dataclass(frozen=True, slots=True)
class CancelResult:
    ok: bool
    message: str


@dataclass(slots=True)
class _Backoff:
    delay: float = 0.0
    until: float = 0.0  # event-loop time

    def fail(self, now: float, retry_after: float | None) -> float:
        self.delay = min(MAX_BACKOFF, max(1.0, self.delay * 2))
        wait = retry_after if retry_after is not None else self.delay
        self.until = now + wait
        return wait

    def ok(self) -> None:
        self.delay = 0.0
        self.until = 0.0


@dataclass(slots=True)
class _Flags:
    paused: bool = False
    reason: str | None = None
    closing: bool = False
    # Set while lost POSTs are matched against the server's list: no new POST may start then.
    reconciling: bool = False
    posting: set[str] = field(default_factory=set)


class JobEngine:
    def __init__(self, client: KreaClient, store: JobStore, config: EngineConfig) -> None:
        self.client = client
        self.store = store
        self.config = config
        self.hub = EventHub()
        rng = random.Random(config.seed)
        self.tracker = Tracker(
            client, min_interval=config.min_interval, max_interval=config.max_interval, rng=rng
        )
        self.downloads = Downloader(
            client,
            store,
            self.hub.publish,
            output_dir=config.output_dir,
            template=config.name_template,
            concurrency=config.download_concurrency,
            preview_dir=config.preview_dir,
        )
        self._flags = _Flags()
        self._submit_backoff = _Backoff()
        self._watch_backoff = _Backoff()
        self._wake_submit = asyncio.Event()
        self._wake_watch = asyncio.Event()
        self._posts_idle = asyncio.Event()  # set while no POST is under way
        self._posts_idle.set()
        self._skew = ClockSkew()  # learnt from answered POSTs; used to match lost ones
        self._tasks: set[asyncio.Task[None]] = set()
        self.connection = "idle"  # no request answered yet

    # -- life ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from the last run, then start submitting and watching."""
        sweep_temp_files(self.config.output_dir)
        if self.config.preview_dir is not None:
            # Previews are written atomically too: a kill mid-write leaves a temp file there.
            sweep_temp_files(self.config.preview_dir)
        now = utcnow()
        for job in self.store.jobs(statuses=[LocalStatus.SUBMITTING]):
            # We died during its POST: the server may or may not have it.
            self.store.set_status(
                job.local_id,
                LocalStatus.UNKNOWN,
                now,
                error_message="krea-tui stopped while sending this job; checking the server",
            )
        if self.config.auto_download:
            # Counted in SQL: loading every completed job to compare two lengths cost ~0.2 s
            # of start-up on a 10,000-job history, before the first frame.
            for local_id in self.store.completed_without_files():
                self.downloads.request(local_id)
        self._spawn(self._submit_loop(), "submitter")
        self._spawn(self._watch_loop(), "watcher")

    async def stop(self) -> None:
        self._flags.closing = True
        self._wake_submit.set()
        self._wake_watch.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.downloads.close()
        self.hub.close()

    async def __aenter__(self) -> JobEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def _spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task %s failed", task.get_name(), exc_info=task.exception())
            self._publish(NoticeEvent(f"internal error in {task.get_name()}", "error"))

    def subscribe(self) -> Subscription:
        return self.hub.subscribe()

    def _publish(self, event: EngineEvent) -> None:
        self.hub.publish(event)

    def _move(
        self, job: StoredJob, new: str, *, skipped: Sequence[str] = (), **changes: Any
    ) -> StoredJob:
        """Commit a status change, then tell subscribers: the order that survives a crash."""
        self.store.set_status(job.local_id, new, utcnow(), skipped=skipped, **changes)
        updated = self.store.get(job.local_id)
        self._publish(JobEvent(updated, job.status, new, tuple(skipped)))
        return updated

    # -- the local queue ---------------------------------------------------------------------

    def enqueue(
        self,
        model: str,
        requests: Sequence[Mapping[str, Any]],
        *,
        preset: str | None = None,
        batch_id: str | None = None,
        cost_estimate: float | None = None,
        cost_unit: str | None = None,
    ) -> list[StoredJob]:
        """Record jobs as held (one per request body) and let the submitter send them."""
        jobs: list[StoredJob] = []
        with self.store.transaction():
            for request in requests:
                jobs.append(
                    self.store.add_job(
                        model,
                        request,
                        preset=preset,
                        batch_id=batch_id,
                        cost_estimate=cost_estimate,
                        cost_unit=cost_unit,
                    )
                )
        for job in jobs:
            self._publish(JobEvent(job, None, job.status))
        self._wake_submit.set()
        return jobs

    @property
    def paused(self) -> bool:
        return self._flags.paused

    @property
    def pause_reason(self) -> str | None:
        return self._flags.reason

    def pause(self, reason: str | None = None) -> None:
        if self._flags.paused and self._flags.reason == reason:
            return  # the other POSTs under way meet the same refusal: say it once
        self._flags.paused = True
        self._flags.reason = reason
        self._publish(QueueEvent(True, reason))

    def resume(self) -> None:
        self._flags.paused = False
        self._flags.reason = None
        self._submit_backoff.ok()
        self._publish(QueueEvent(False))
        self._wake_submit.set()

    def move_held(self, local_id: str, offset: int) -> bool:
        """Move a held job `offset` places up (negative) or down in the local queue."""
        held = self.store.jobs(statuses=[LocalStatus.HELD])
        ids = [job.local_id for job in held]
        if local_id not in ids:
            return False
        index = ids.index(local_id)
        target = max(0, min(len(held) - 1, index + offset))
        if target == index:
            return False
        positions = [job.position for job in held]
        ids.insert(target, ids.pop(index))
        with self.store.transaction():
            for job_id, position in zip(ids, positions, strict=True):
                self.store.move(job_id, position)
        return True

    def edit_held(self, local_id: str, request: Mapping[str, Any]) -> bool:
        job = self.store.get(local_id)
        if job.status != LocalStatus.HELD:
            return False
        self.store.update(local_id, request=request)
        return True

    async def cancel(self, local_id: str) -> CancelResult:
        job = self.store.get(local_id)
        if job.status == LocalStatus.HELD:
            self._move(job, JobStatus.CANCELLED, error_message="cancelled before it was sent")
            return CancelResult(True, "removed from the local queue; it was never sent")
        if job.status == LocalStatus.SUBMITTING:
            return CancelResult(False, "it is being sent right now; try again in a moment")
        if job.remote_id is None:
            return CancelResult(False, f"it is {job.status} and the server has no id for it")
        if job.is_final:
            return CancelResult(False, f"it is already {job.status}")
        try:
            await self.client.cancel_job(job.remote_id)
        except (ConflictError, ValidationError) as exc:
            return CancelResult(False, f"the server refused: {exc.message}")
        except NotFoundError:
            return CancelResult(False, "the server does not know this job")
        except KreaError as exc:
            return CancelResult(False, f"could not reach the server: {exc.message}")
        self._wake_watch.set()
        with contextlib.suppress(KreaError):
            self._apply({job.remote_id: await self.client.get_job(job.remote_id)})
        return CancelResult(True, "cancelled")

    async def import_remote(self, *, limit: int = 1000) -> list[StoredJob]:
        """Bring jobs this token created elsewhere (the web app, another machine) into the
        history, newest first, up to `limit`; unfinished ones are then tracked like ours."""
        imported: list[StoredJob] = []
        cursor: str | None = None
        seen = 0
        while seen < limit:
            page, cursor = await self.client.list_jobs(limit=min(1000, limit - seen), cursor=cursor)
            seen += len(page)
            for remote in page:
                job = self.store.import_remote(f"imported:{remote.type or 'job'}", remote)
                if job is not None:
                    imported.append(job)
            if not cursor or not page:
                break
        for job in imported:
            self._publish(JobEvent(job, None, job.status))
            if job.status == JobStatus.COMPLETED and self.config.auto_download:
                self.downloads.request(job.local_id)
        self._wake_watch.set()
        return imported

    def remove(self, local_ids: Sequence[str]) -> int:
        """Forget jobs from the history (files on disk stay)."""
        return self.store.remove(local_ids)

    # -- submitting ----------------------------------------------------------------------------

    def _submit_delay(self) -> float | None:
        """None: nothing to do until woken. 0: send now. >0: wait that long first."""
        if self._flags.paused or self._flags.closing or self._flags.reconciling:
            return None
        if len(self._flags.posting) >= self.config.max_posts:
            return None
        active = self.store.count_active_remote() + len(self._flags.posting)
        if active >= self.config.max_in_flight:
            return None
        if self.store.next_held() is None:
            return None
        loop_now = asyncio.get_running_loop().time()
        return max(0.0, self._submit_backoff.until - loop_now)

    async def _submit_loop(self) -> None:
        while not self._flags.closing:
            delay = self._submit_delay()
            if delay != 0:
                self._wake_submit.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake_submit.wait(), timeout=delay or 5.0)
                continue
            job = self.store.next_held()
            if job is None:
                continue
            self._flags.posting.add(job.local_id)
            self._posts_idle.clear()
            job = self._move(job, LocalStatus.SUBMITTING, submitted_at=utcnow())
            self._spawn(self._post(job), f"post {job.local_id[:8]}")

    async def _post(self, job: StoredJob) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.store.count_request(job.local_id)
            remote = await self.client.generate(
                job.model, job.request, webhook_url=self.config.webhook_url
            )
        except RateLimitError as exc:
            wait = self._submit_backoff.fail(loop.time(), exc.retry_after)
            self._move(job, LocalStatus.HELD)
            self._connection("backing-off", f"rate limited: {exc.message}", wait)
        except (AuthenticationError, PaymentError, ModelRetiredError) as exc:
            self._move(job, LocalStatus.HELD)
            self.pause(_stop_reason(exc))
        except ValidationError as exc:
            self._move(job, JobStatus.FAILED, error_code="rejected", error_message=exc.message)
        except TransportError as exc:
            if exc.request_sent:
                self._move(
                    job,
                    LocalStatus.UNKNOWN,
                    error_message=f"sent, but the answer was lost ({exc.message}); "
                    "checking the server instead of sending it again",
                )
                self._wake_watch.set()
            else:
                self._move(job, LocalStatus.HELD)
            wait = self._submit_backoff.fail(loop.time(), None)
            self._connection("backing-off", exc.message, wait)
        except KreaError as exc:
            if exc.retryable:
                wait = self._submit_backoff.fail(loop.time(), None)
                self._move(job, LocalStatus.HELD)
                self._connection("backing-off", exc.message, wait)
            else:
                self._move(job, JobStatus.FAILED, error_code="rejected", error_message=exc.message)
        else:
            self._submit_backoff.ok()
            self._connection("ok")
            self._skew.learn(job.submitted_at or job.created_at, utcnow(), remote.created_at)
            self._adopt(job, remote)
        finally:
            self._flags.posting.discard(job.local_id)
            if not self._flags.posting:
                self._posts_idle.set()
            self._wake_submit.set()

    def _adopt(self, job: StoredJob, remote: Job) -> None:
        """Attach a server job to a local one and record its first status.

        A lost POST is often found again only after its job has ended, and the watcher never
        looks at a finished job: its error, end time and download are taken care of here.
        """
        ended = {"finished_at": remote.completed_at or utcnow()} if remote.is_terminal else {}
        self._move(
            job,
            remote.status_text,
            remote_id=remote.job_id,
            remote_created_at=remote.created_at or job.submitted_at or utcnow(),
            raw=remote.raw,
            urls=remote.urls,
            error_code=remote.error_code,
            error_message=remote.error_message,
            **ended,
        )
        if remote.status is JobStatus.COMPLETED and self.config.auto_download:
            self.downloads.request(job.local_id)
        if remote.is_terminal:
            self._wake_submit.set()  # a slot may have freed up
        self._wake_watch.set()

    def _connection(
        self, state: str, detail: str | None = None, retry_in: float | None = None
    ) -> None:
        if state == self.connection == "ok":
            return
        self.connection = state
        self._publish(ConnectionEvent(state, detail, retry_in))

    # -- watching ------------------------------------------------------------------------------

    async def _watch_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while not self._flags.closing:
            active = self.store.active_remote()
            unknown = self._lost_posts()
            if not active and not unknown:
                self._wake_watch.clear()
                await self._wake_watch.wait()
                continue
            delay: float
            try:
                if active:
                    result = await self.tracker.poll(active)
                    self._apply(result.jobs)
                    self._forget_missing(result.missing)
                if unknown:
                    await self._reconcile()
            except RateLimitError as exc:
                delay = self._watch_backoff.fail(loop.time(), exc.retry_after)
                self._connection("backing-off", f"rate limited: {exc.message}", delay)
            except AuthenticationError as exc:
                delay = self._watch_backoff.fail(loop.time(), None)
                self._connection("backing-off", exc.message, delay)
                if not self._flags.paused:
                    self.pause(_stop_reason(exc))
            except KreaError as exc:
                delay = self._watch_backoff.fail(loop.time(), None)
                self._connection("backing-off", exc.message, delay)
            else:
                self._watch_backoff.ok()
                self._connection("ok")
                delay = self.tracker.interval(self.store.active_remote(), utcnow())
                if self.config.webhook_url:
                    # Webhooks bring terminal states; polling stays only as a safety net.
                    delay = max(delay, self.config.webhook_poll_interval)
            await asyncio.sleep(delay)

    def receive(self, remote: Job) -> bool:
        """A job pushed to us (a webhook delivery). Only jobs we track are taken, and a repeat
        delivery changes nothing: the store already has that status. True if it was ours."""
        local = self.store.by_remote_id(remote.job_id)
        if local is None:
            return False
        self._apply({remote.job_id: remote})
        return True

    def _apply(self, seen: Mapping[str, Job]) -> None:
        """Record what the server says about each job; publish only real forward changes."""
        changes: list[tuple[StoredJob, Job]] = []
        known = self.store.by_remote_ids(seen)  # one query for the lot, not two per job
        for remote_id, remote in seen.items():
            local = known.get(remote_id)
            if local is None or local.is_final:
                continue
            new = remote.status_text
            if new == local.status:
                if remote.urls != local.urls:  # a preview appeared or changed
                    self.store.update(local.local_id, urls=remote.urls, raw=remote.raw)
                    self._fetch_preview(local.local_id, remote)
                continue
            if is_backwards(local.status, new):
                continue
            changes.append((local, remote))
        finished = False
        with self.store.transaction():
            now = utcnow()
            for local, remote in changes:
                new = remote.status_text
                self.store.set_status(
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
            self._publish(JobEvent(updated, local.status, new, skipped_between(local.status, new)))
            if remote.is_terminal:
                finished = True
                if remote.status is JobStatus.COMPLETED and self.config.auto_download:
                    self.downloads.request(local.local_id)
            else:
                self._fetch_preview(local.local_id, remote)
        if finished:
            self._wake_submit.set()

    def _fetch_preview(self, local_id: str, remote: Job) -> None:
        """The low-resolution picture some models show while they work, for the detail pane."""
        if remote.status is JobStatus.INTERMEDIATE_COMPLETE and remote.urls:
            self.downloads.preview(local_id, remote.urls[0])

    def _forget_missing(self, missing: Sequence[str]) -> None:
        for remote_id in missing:
            job = self.store.by_remote_id(remote_id)
            if job is not None and not job.is_final:
                self._move(
                    job,
                    LocalStatus.UNKNOWN,
                    error_message="the server no longer knows this job (404)",
                )

    def _lost_posts(self) -> list[StoredJob]:
        """Jobs whose POST may or may not have created a job and are still being looked for,
        oldest POST first. Those looked for long enough are told so here, once."""
        lost = [j for j in self.store.jobs(statuses=[LocalStatus.UNKNOWN]) if not j.remote_id]
        now = utcnow()
        looking = []
        for job in lost:
            said = job.error_message or ""
            if now - self._lost_at(job) <= UNKNOWN_GIVE_UP:
                looking.append(job)
            elif said != GAVE_UP and AMBIGUOUS not in said:  # an ambiguity note stays: truer
                self.store.update(job.local_id, error_message=GAVE_UP)
                self._publish(NoticeEvent(f"job {job.short_id}: {GAVE_UP}", "warning"))
        return sorted(looking, key=lambda j: j.submitted_at or j.created_at)

    async def _reconcile(self) -> None:
        """Match POSTs whose answer was lost to jobs that appeared on the server meanwhile.

        A job created by a POST still under way looks exactly like a lost one in the list (and
        its answer would then name a job already adopted), so the submitter is held and the list
        is read only once no POST is in flight.
        """
        self._flags.reconciling = True
        try:
            try:
                await asyncio.wait_for(self._posts_idle.wait(), POST_DRAIN_TIMEOUT)
            except TimeoutError:
                return  # a POST hangs; try again on the next round
            pending = self._lost_posts()
            if not pending:
                return
            since = (pending[0].submitted_at or pending[0].created_at) - timedelta(seconds=30)
            listed = await self.tracker.recent(since, ())
            # Read after the listing: jobs adopted meanwhile must not be adopted twice.
            known = self.store.remote_ids()
            candidates = [job for job in listed if job.job_id not in known]
            lost_at = {job.local_id: self._lost_at(job) for job in pending}
            matching = pair_lost(pending, lost_at, candidates, self._skew)
            for job, remote in matching.pairs:
                self._adopt(job, remote)
                self._publish(
                    NoticeEvent(f"job {job.short_id}: found on the server after a lost answer")
                )
        finally:
            self._flags.reconciling = False
            self._wake_submit.set()
        for job in pending:
            could_be = matching.ambiguous.get(job.local_id)
            note = f"{could_be} jobs {AMBIGUOUS}" if could_be else None
            if note and self.store.get(job.local_id).error_message != note:
                self.store.update(job.local_id, error_message=note)
                self._publish(NoticeEvent(f"job {job.short_id}: {note}", "warning"))

    def _lost_at(self, job: StoredJob) -> datetime:
        """When the engine gave up on this POST's answer (or now, if it cannot tell)."""
        timeline = self.store.timeline(job.local_id)
        lost = [entry.at for entry in timeline if entry.status == LocalStatus.UNKNOWN]
        return lost[-1] if lost else utcnow()

    # -- reporting -----------------------------------------------------------------------------

    def request_stats(self) -> dict[str, float]:
        jobs = max(1, len(self.store.remote_ids()))
        sent = self.client.requests_sent
        return {"requests": sent, "jobs": jobs, "requests_per_job": sent / jobs}


def _stop_reason(exc: KreaError) -> str:
    if isinstance(exc, AuthenticationError):
        return f"the API token was refused: {exc.message}"
    if isinstance(exc, PaymentError):
        if exc.reason == "plan":
            return f"your plan does not include this model: {exc.message}"
        return f"the API balance is exhausted: {exc.message}"
    if isinstance(exc, ModelRetiredError):
        message = exc.message.rstrip(". ")
        # The server's own words usually name the replacement already: say it once.
        named = not exc.replacement or exc.replacement in message
        hint = "" if named else f". Use {exc.replacement} instead"
        return f"the model was retired: {message}{hint}."
    return exc.message


__all__ = ["CancelResult", "EngineConfig", "JobEngine", "is_active_remote"]
