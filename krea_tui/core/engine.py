"""JobEngine: the local queue in front of Krea's, the submitter and the watcher, and the
events they announce.

The rules that matter most:
- A job is in the store before its POST is sent, and every change is committed before it is
  announced, so what a user saw is never ahead of what survives a crash.
- A POST whose answer was lost is never sent again automatically: the job becomes `unknown`
  and is matched against `GET /jobs` later, so nobody pays twice by accident.
- 429 keeps jobs in the local queue and waits; 401/402/410 pause the queue with the reason.
- With `max_spend_per_day` / `max_spend_per_batch` set, a job that would go over is not sent:
  it stays held and the queue pauses saying which limit and by how much (spend_limit.py).

Sending lives in `submitter.py`, following and lost-POST matching in `watcher.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import sqlite3
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from krea_tui.core.api import KreaClient
from krea_tui.core.downloads import NOT_SAVED, Downloader
from krea_tui.core.errors import ConflictError, KreaError, NotFoundError, ValidationError
from krea_tui.core.events import (
    ConnectionEvent,
    EngineEvent,
    EventHub,
    JobEvent,
    NoticeEvent,
    QueueEvent,
    RemovedEvent,
    Subscription,
)
from krea_tui.core.files import DEFAULT_TEMPLATE, sweep_temp_files
from krea_tui.core.models import Job, JobStatus
from krea_tui.core.processes import process_alive
from krea_tui.core.reconcile import TIME_GRAIN, ClockSkew
from krea_tui.core.spend_limit import SpendLimits, day_limit_passed, is_limit_reason, left_today
from krea_tui.core.status import LocalStatus, is_active_remote, is_final
from krea_tui.core.store import JobStore, StoredJob, utcnow
from krea_tui.core.submit import Order, Pricing, batch_for
from krea_tui.core.submitter import Submitter
from krea_tui.core.tracker import Tracker
from krea_tui.core.watcher import Watcher

log = logging.getLogger(__name__)

# How often a process looks for what the others on the same history changed.
FOLLOW_INTERVAL = 0.5
# Every this many looks, claims left by processes that died are released.
ORPHAN_CHECK_EVERY = 10
# On quit, Ctrl-C or SIGTERM, POSTs under way get this long to be answered: their answers say
# which server job is which, and a POST cut off can only be matched by time later.
DRAIN_TIMEOUT = 15.0
HALF_SECOND = timedelta(milliseconds=500)
# A loop of the engine that fails (disk full, a bug) is restarted after this long, doubling.
RESTART_DELAYS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0)


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
    # Hard spend limits in USD, checked before each POST (spend_limit.py); None: no limit.
    max_spend_per_day: float | None = None
    max_spend_per_batch: float | None = None


@dataclass(frozen=True, slots=True)
class CancelResult:
    ok: bool
    message: str


@dataclass(slots=True)
class QueueFlags:
    """This process's view of the queue. `paused`/`reason` mirror the store, where the pause
    lives for every process on the history; `closing` and `reconciling` are this process's."""

    paused: bool = False
    reason: str | None = None
    closing: bool = False
    # Set while lost POSTs are matched against the server's list: no new POST may start then.
    reconciling: bool = False


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
        self.flags = QueueFlags()
        self.skew = ClockSkew()  # learnt from answered POSTs; used to match lost ones
        if client is not None:  # unit tests of the bookkeeping run without one
            client.on_server_time = self._learn_server_time
        self.submitter = Submitter(self)
        self.watcher = Watcher(self)
        self._tasks: set[asyncio.Task[None]] = set()
        self._confirming: set[str] = set()  # remote ids a webhook told about, being read back
        self.connection = "idle"  # no request answered yet
        self._rev = 0  # the last revision of the store this process has followed
        # Front ends set this to tell the user what stop() waits for (stderr, a toast).
        self.on_closing: Callable[[str], None] | None = None

    # -- life ----------------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from the last run, then start submitting and watching."""
        sweep_temp_files(self.config.output_dir)
        if self.config.preview_dir is not None:
            # Previews are written atomically too: a kill mid-write leaves a temp file there.
            sweep_temp_files(self.config.preview_dir)
        # The server's clock as the last run learnt it: a POST killed mid-air is matched
        # against the server's list before any new POST could teach it again.
        for sent, answered, created in self.store.post_timings():
            self.skew.learn(sent, answered, created)
        self._rev = self.store.current_rev()
        self.release_orphans()
        state = self.store.queue_state()
        self.flags.paused, self.flags.reason = state.paused, state.reason
        if state.paused and is_limit_reason(state.reason) and self._has_limits():
            # A spend limit's pause is not kept from the last run but checked again before
            # the next POST: the limits may have been raised, the day may have ended. Still
            # over, the submitter pauses again at once, with today's figures. A process
            # with no limit set (another config) leaves it: it cannot check it.
            self._lift_limit_pause("checking the spend limits again at start")
        if self.config.auto_download:
            # Counted in SQL: loading every completed job to compare two lengths cost ~0.2 s
            # of start-up on a 10,000-job history, before the first frame.
            for local_id in self.store.completed_without_files():
                if self.downloads_here(local_id):
                    self.downloads.request(local_id)
        log.info(
            "engine started: %d waiting to be sent, %d on the server%s",
            self.store.counts().get(LocalStatus.HELD, 0),  # counted in SQL, not loaded
            self.store.count_active_remote(),
            " (queue paused)" if state.paused else "",
        )
        self.spawn_loop(self.submitter.run, "submitter")
        self.spawn_loop(self.watcher.run, "watcher")
        self.spawn_loop(self._follow, "follower")

    @property
    def sending(self) -> int:
        """POSTs of this process under way: what quitting now would cut off."""
        return len(self.submitter.posting)

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> int:
        """Send nothing more and give the POSTs under way up to `timeout` seconds to be
        answered (their answers say which server job is which). Returns how many are still
        unanswered: those are matched against the server's list at the next start."""
        self.flags.closing = True
        self.submitter.wake.set()
        self.watcher.wake.set()
        if self.sending and timeout > 0:
            message = f"waiting up to {timeout:.0f} s for {self.sending} job(s) being sent to Krea"
            log.info(message)
            if self.on_closing is not None:
                self.on_closing(message)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.submitter.idle.wait(), timeout)
        return self.sending

    def _learn_server_time(self, sent: datetime, answered: datetime, date: datetime) -> None:
        """A `Date` header (whole seconds: the server's clock read `date` to `date` + 1 s)."""
        self.skew.learn(sent, answered, date + HALF_SECOND, grain=HALF_SECOND + TIME_GRAIN)

    async def stop(self, drain: float = DRAIN_TIMEOUT) -> None:
        """Stop sending, give the POSTs under way up to `drain` seconds to be answered, then
        stop everything. A POST still unanswered then is matched at the next start."""
        await self.drain(drain)
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.downloads.close()
        with contextlib.suppress(sqlite3.Error):
            self.store.release_watcher_lease()
            self.store.end_reconciling()
        self.hub.close()

    async def __aenter__(self) -> JobEngine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def spawn_loop(self, run: Callable[[], Coroutine[Any, Any, None]], name: str) -> None:
        """Run one of the engine's loops for as long as the engine runs. A loop that fails
        (the disk is full, the history is locked for too long, a bug) is said so, once per
        kind of failure, and started again after a growing pause: never silently gone."""

        async def supervised() -> None:
            failures = 0
            said: str | None = None
            while not self.flags.closing:
                try:
                    await run()
                    return
                except Exception as exc:
                    delay = RESTART_DELAYS[min(failures, len(RESTART_DELAYS) - 1)]
                    failures += 1
                    what = f"{type(exc).__name__}: {exc}"
                    log.error("engine %s failed (%s); restarting in %g s", name, what, delay,
                              exc_info=exc)  # fmt: skip
                    if what != said:
                        said = what
                        self.publish(NoticeEvent(
                            f"krea-tui's {name} failed: {what}. Trying again in {delay:g} s",
                            "error",
                        ))  # fmt: skip
                    await asyncio.sleep(delay)
                else:
                    failures = 0

        self.spawn(supervised(), name)

    def spawn(self, coro: Any, name: str) -> None:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("engine task %s failed", task.get_name(), exc_info=task.exception())
            self.publish(NoticeEvent(f"internal error in {task.get_name()}", "error"))

    # -- telling the world ---------------------------------------------------------------------

    def subscribe(self) -> Subscription:
        return self.hub.subscribe()

    def publish(self, event: EngineEvent) -> None:
        self.hub.publish(event)

    def move(
        self, job: StoredJob, new: str, *, skipped: Sequence[str] = (), **changes: Any
    ) -> StoredJob:
        """Commit a status change, then announce it: the order that survives a crash."""
        self.store.set_status(job.local_id, new, utcnow(), skipped=skipped, **changes)
        updated = self.store.get(job.local_id)
        self.announce(updated, job.status, skipped)
        return updated

    def move_if(self, job: StoredJob, new: str, *, expect: str, **changes: Any) -> StoredJob | None:
        """`move`, only if the job is still `expect` (another process may have moved it
        meanwhile); None, and nothing written, if it is not."""
        if not self.store.set_status(job.local_id, new, utcnow(), expect=expect, **changes):
            return None
        updated = self.store.get(job.local_id)
        self.announce(updated, job.status)
        return updated

    def announce(self, job: StoredJob, old: str | None, skipped: Sequence[str] = ()) -> None:
        """Publish a committed change, and log the ones a user may later ask the log about."""
        self.publish(JobEvent(job, old, job.status, tuple(skipped)))
        new = job.status
        if is_final(new):
            why = f": {job.error_message}" if job.error_message else ""
            log.info("job %s %s%s", job.remote_id or job.local_id, new, why)
        elif new == LocalStatus.UNKNOWN:
            log.warning("job %s unknown: %s", job.remote_id or job.local_id, job.error_message)
        elif old == LocalStatus.SUBMITTING and job.remote_id:
            log.info("job %s sent to %s", job.remote_id, job.model)

    def set_connection(
        self, state: str, detail: str | None = None, retry_in: float | None = None
    ) -> None:
        if state == self.connection == "ok":
            return
        if state == "ok":
            log.info("connection ok")
        else:
            log.warning("connection %s: %s (next try in %.0f s)", state, detail, retry_in or 0)
        self.connection = state
        self.publish(ConnectionEvent(state, detail, retry_in))

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
        """Record jobs as held (one per request body), all at one price, and let the submitter
        send them. Front ends use `submit`, which prices each job and chooses the batch."""
        held = [(model, request, preset, cost_estimate, cost_unit, None) for request in requests]
        return self._hold(held, batch_id)

    def submit(
        self,
        pricing: Pricing,
        orders: Sequence[Order],
        *,
        batch_id: str | None = None,
        now: datetime | None = None,
    ) -> list[StoredJob]:
        """The one way front ends send jobs: each priced from the catalogue on its own (a swept
        resolution changes the price), one batch for them all (`submit.batch_for`), stored in
        the order given, each with its parent if the order names one (lineage)."""
        held = [
            (
                order.model,
                body,
                order.preset,
                *pricing.cost_with_unit(order.model, body),
                order.parent_of(index),
            )
            for order in orders
            for index, body in enumerate(order.bodies)
        ]
        return self._hold(held, batch_for(orders, batch_id, now))

    def _hold(
        self,
        held: Sequence[
            tuple[str, Mapping[str, Any], str | None, float | None, str | None, str | None]
        ],
        batch_id: str | None,
    ) -> list[StoredJob]:
        """(model, request, preset, cost, unit, parent) each: one transaction, so a crash
        leaves all of a submission or none of it; announced only once committed."""
        # Lineage: a parent gaining its first child is told of too (its status unchanged, the
        # job as it was in `before`), so a `has:children` view takes it in.
        childless = self._childless({parent for *_, parent in held if parent})
        with self.store.transaction():
            jobs = [
                self.store.add_job(
                    model,
                    request,
                    preset=preset,
                    batch_id=batch_id,
                    cost_estimate=cost,
                    cost_unit=unit,
                    parent_id=parent,
                )
                for model, request, preset, cost, unit, parent in held
            ]
        for job in jobs:
            self.publish(JobEvent(job, None, job.status))
        for before in childless:
            with contextlib.suppress(KeyError):
                after = self.store.get(before.local_id)
                self.publish(JobEvent(after, after.status, after.status, before=before))
        models = ", ".join(sorted({job.model for job in jobs}))
        batch = f" (batch {batch_id})" if batch_id else ""
        log.info("%d job(s) for %s added to the local queue%s", len(jobs), models, batch)
        self.submitter.wake.set()
        return jobs

    def _childless(self, parent_ids: set[str]) -> list[StoredJob]:
        """Those of these jobs that have no child yet (and are still in the history)."""
        found = []
        for local_id in sorted(parent_ids):
            with contextlib.suppress(KeyError):
                job = self.store.get(local_id)
                if not job.has_children:
                    found.append(job)
        return found

    @property
    def paused(self) -> bool:
        return self.flags.paused

    @property
    def pause_reason(self) -> str | None:
        return self.flags.reason

    def pause(self, reason: str | None = None) -> None:
        """Pause the queue for every process on this history (the store holds the pause)."""
        if self.flags.paused and self.flags.reason == reason:
            return  # the other POSTs under way meet the same refusal: say it once
        self.store.set_paused(True, reason)
        self.flags.paused = True
        self.flags.reason = reason
        log.warning("queue paused: %s", reason or "by the user")
        self.publish(QueueEvent(True, reason))

    def resume(self) -> None:
        self.store.set_paused(False)
        self.flags.paused = False
        self.flags.reason = None
        self.submitter.backoff.ok()
        log.info("queue resumed")
        self.publish(QueueEvent(False))
        self.submitter.wake.set()

    def _has_limits(self) -> bool:
        config = self.config
        return SpendLimits(config.max_spend_per_day, config.max_spend_per_batch).active

    def _lift_limit_pause(self, why: str) -> None:
        """Lift a spend limit's pause (only if it is still the one in the history: another
        process may have paused for another reason meanwhile); the check runs before the
        next POST all the same."""
        with self.store.transaction():
            state = self.store.queue_state()
            if not (state.paused and is_limit_reason(state.reason)):
                return
            self.store.set_paused(False)
        self.flags.paused = False
        self.flags.reason = None
        log.info("queue resumed: %s", why)
        self.publish(QueueEvent(False))
        self.submitter.wake.set()

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

    def edit_held(
        self, local_id: str, request: Mapping[str, Any], pricing: Pricing | None = None
    ) -> bool:
        """Change a held job's request (False: it was sent meanwhile). With `pricing` its
        estimate follows the new request: the spend limits add up the stored estimates."""
        with self.store.transaction():  # checked and written at once: never a sent job
            job = self.store.get(local_id)
            if job.status != LocalStatus.HELD:
                return False
            changes: dict[str, Any] = {"request": request}
            if pricing is not None:
                cost, unit = pricing.cost_with_unit(job.model, request)
                changes.update(cost_estimate=cost, cost_unit=unit)
            self.store.update(local_id, **changes)
        return True

    async def cancel(self, local_id: str) -> CancelResult:
        job = self.store.get(local_id)
        if job.status == LocalStatus.HELD:
            moved = self.move_if(
                job,
                JobStatus.CANCELLED,
                expect=LocalStatus.HELD,
                error_message="cancelled before it was sent",
            )
            if moved is not None:
                return CancelResult(True, "removed from the local queue; it was never sent")
            job = self.store.get(local_id)  # another process sent it meanwhile
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
        self.watcher.wake.set()
        with contextlib.suppress(KreaError):
            self.watcher.apply({job.remote_id: await self.client.get_job(job.remote_id)})
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
            self.publish(JobEvent(job, None, job.status))
            if job.status == JobStatus.COMPLETED and self.config.auto_download:
                self.downloads.request(job.local_id)
        self.watcher.wake.set()
        return imported

    def remove(self, local_ids: Sequence[str]) -> int:
        """Forget jobs from the history (files on disk stay)."""
        return self.store.remove(local_ids)

    # -- what the server says -----------------------------------------------------------------

    def adopt(self, job: StoredJob, remote: Job) -> None:
        """Attach a server job to a local one and record its first status.

        A lost POST is often found again only after its job has ended, and the watcher never
        looks at a finished job: its error, end time and download are taken care of here.
        """
        ended: dict[str, Any] = (
            {"finished_at": remote.completed_at or utcnow()} if remote.is_terminal else {}
        )
        other = self.store.by_remote_id(remote.job_id)
        if other is not None and other.local_id != job.local_id:
            # Two requests answered with one job id: a server fault. Pinning this job on the
            # other's record would lose one of them; both were paid, neither is sent again.
            self.move(
                job,
                LocalStatus.UNKNOWN,
                error_message=f"the server answered with job id {remote.job_id}, which it had "
                f"already given to job {other.short_id}; this request is not sent again",
            )
            return
        self.move(
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
        wanted = remote.status is JobStatus.COMPLETED and self.config.auto_download
        if wanted and self.downloads_here(job.local_id):
            self.downloads.request(job.local_id)
        if remote.is_terminal:
            self.submitter.wake.set()  # a slot may have freed up
        self.watcher.wake.set()

    # -- several processes on one history -----------------------------------------------------

    def downloads_here(self, local_id: str) -> bool:
        """Whether this process saves this job's results: the process that asked for the job
        does (its output folder), or anyone once that process has ended."""
        owner = self.store.owner_of(local_id)
        return owner is None or owner == self.store.me or not process_alive(owner)

    def release_orphans(self) -> None:
        """Jobs whose sender died during their POST: the server may or may not have them."""
        for job in self.store.orphaned_claims():
            moved = self.move_if(
                job,
                LocalStatus.UNKNOWN,
                expect=LocalStatus.SUBMITTING,
                error_message="krea-tui stopped while sending this job; checking the server",
            )
            if moved is not None:
                log.warning("job %s: stopped while sending it; checking the server", job.short_id)
                self.watcher.wake.set()

    def _adopt_unsaved(self) -> None:
        """Results nobody is saving: their owner died before (or while) saving them, after
        its completion was last seen. The process polling for everyone takes them on, or any
        process when none polls (the owner may have been that one). Two saving one result is
        harmless: the second writes over the first's file, recognised by its job id."""
        if not self.config.auto_download:
            return
        if self.store.queue_state().watcher not in (None, self.store.me):
            return
        for local_id in self.store.completed_without_files():
            if not self.downloads.is_pending(local_id) and self.downloads_here(local_id):
                job = self.store.get(local_id)
                if not (job.error_message or "").startswith(NOT_SAVED):
                    self.downloads.request(local_id)

    async def _follow(self) -> None:
        """Show what the other processes on this history do: jobs they add, send, see end or
        save, and their pause. Our own changes were announced when we made them."""
        store = self.store
        version = store.data_version()
        looks = 0
        while not self.flags.closing:
            await asyncio.sleep(FOLLOW_INTERVAL)
            looks += 1
            if looks % ORPHAN_CHECK_EVERY == 0:
                self.release_orphans()
                self._adopt_unsaved()
                passed = day_limit_passed(self.flags.reason, utcnow())
                if self.flags.paused and passed and self._has_limits():
                    self._lift_limit_pause("a new day: checking max_spend_per_day again")
            now_version = store.data_version()
            if now_version == version:
                continue
            version = now_version
            changes = store.changes_since(self._rev)
            self._rev = changes.rev
            for job in changes.jobs:
                self.publish(JobEvent(job, None, job.status))
                unsaved = job.status == JobStatus.COMPLETED and len(job.files) < len(job.urls)
                if unsaved and self.config.auto_download and self.downloads_here(job.local_id):
                    self.downloads.request(job.local_id)
            if changes.removed:
                self.publish(RemovedEvent(tuple(changes.removed)))
            state = store.queue_state()
            if (state.paused, state.reason) != (self.flags.paused, self.flags.reason):
                self.flags.paused, self.flags.reason = state.paused, state.reason
                log.info("queue %s by another process", "paused" if state.paused else "resumed")
                self.publish(QueueEvent(state.paused, state.reason))
            # Slots may have freed up, jobs may wait to be sent or followed.
            self.submitter.wake.set()
            self.watcher.wake.set()

    def apply(self, seen: Mapping[str, Job]) -> None:
        """Record what the server says about these jobs (by remote id)."""
        self.watcher.apply(seen)

    def receive(self, remote: Job) -> bool:
        """A job pushed to us (a webhook delivery); True if it is one of ours.

        Deliveries carry no signature and the receiver must be reachable from the internet, so
        anyone could post "completed" with a URL of their choosing: a delivery is only a cue
        to read the job back from the API, and that answer is what gets recorded. A repeat
        delivery changes nothing.
        """
        local = self.store.by_remote_id(remote.job_id)
        if local is None:
            return False
        if not local.is_final and remote.job_id not in self._confirming:
            self._confirming.add(remote.job_id)
            self.spawn(self._confirm(remote.job_id), f"confirm {remote.job_id[:8]}")
        return True

    async def _confirm(self, remote_id: str) -> None:
        try:
            self.watcher.apply({remote_id: await self.client.get_job(remote_id)})
        except KreaError as exc:
            # The next poll (the safety net) brings the truth instead.
            log.info("webhook for job %s not confirmed: %s", remote_id, exc.message)
        finally:
            self._confirming.discard(remote_id)

    # -- reporting -----------------------------------------------------------------------------

    def spend_left_today(self) -> float | None:
        """What `max_spend_per_day` still allows today, in USD, by the history (what every
        process on it sent since local midnight); None without that limit. One scan of the
        history: call it when jobs are sent, not on every frame."""
        limits = SpendLimits(self.config.max_spend_per_day, self.config.max_spend_per_batch)
        return left_today(self.store.first, limits, utcnow())

    def request_stats(self) -> dict[str, float]:
        jobs = max(1, len(self.store.remote_ids()))
        sent = self.client.requests_sent
        return {"requests": sent, "jobs": jobs, "requests_per_job": sent / jobs}


__all__ = ["CancelResult", "EngineConfig", "JobEngine", "is_active_remote"]
