"""The submitter: sends held jobs one POST each, within the in-flight and POST limits.

A POST whose answer was lost is never sent again: its job becomes `unknown` and the watcher
looks for it on the server. 429 and server errors keep the job held and back off; 401, 402 and
410 pause the queue with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import TYPE_CHECKING

from krea_tui.core.backoff import Backoff
from krea_tui.core.errors import (
    AuthenticationError,
    KreaError,
    ModelRetiredError,
    PaymentError,
    RateLimitError,
    TransportError,
    ValidationError,
)
from krea_tui.core.events import NoticeEvent
from krea_tui.core.models import Job, JobStatus
from krea_tui.core.spend_limit import Candidate, LimitReached, SpendLimits, check
from krea_tui.core.status import LocalStatus
from krea_tui.core.store import StoredJob, utcnow

if TYPE_CHECKING:
    from krea_tui.core.assets import Uploader
    from krea_tui.core.engine import JobEngine

log = logging.getLogger(__name__)


class Submitter:
    def __init__(self, engine: JobEngine) -> None:
        self.engine = engine
        self.backoff = Backoff()
        self.wake = asyncio.Event()
        self.posting: set[str] = set()  # local ids whose POST is under way
        self.idle = asyncio.Event()  # set while no POST is under way
        self.idle.set()
        # Turns local files in a job's image fields into URLs just before its POST (front ends
        # set it; core/assets.py). Held jobs keep the paths.
        self.inputs: Uploader | None = None
        self._warmed: set[str] = set()  # held jobs whose files went up before their claim

    def _delay(self) -> float | None:
        """None: nothing to do until woken. 0: try to claim a job now. >0: wait that long."""
        flags = self.engine.flags
        if flags.paused or flags.closing or flags.reconciling:
            return None
        if len(self.posting) >= self.engine.config.max_posts:
            return None
        loop_now = asyncio.get_running_loop().time()
        return max(0.0, self.backoff.until - loop_now)

    async def run(self) -> None:
        engine = self.engine
        while not engine.flags.closing:
            delay = self._delay()
            job = None
            if delay == 0 and self.inputs is not None:
                await self._warm_next()
                delay = self._delay()  # paused or stopped meanwhile
            if delay == 0:
                job = self._claim()
            if job is None:
                self.wake.clear()
                with contextlib.suppress(TimeoutError):
                    # Woken by our own changes and by the follower when another process
                    # changed the history; the timeout is only a safety net.
                    await asyncio.wait_for(self.wake.wait(), timeout=delay or 5.0)
                continue
            self.posting.add(job.local_id)
            self.idle.clear()
            engine.announce(job, LocalStatus.HELD)
            engine.spawn(self._post(job), f"post {job.local_id[:8]}")

    async def _warm_next(self) -> None:
        """Upload the local files of the job next in line before claiming it (Uploader.warm);
        once per job: a file that cannot go is reported when the job is claimed."""
        assert self.inputs is not None
        upcoming = self.engine.store.next_held()
        if upcoming is None or upcoming.local_id in self._warmed:
            return
        self._warmed.add(upcoming.local_id)
        await self.inputs.warm(upcoming)

    def _claim(self) -> StoredJob | None:
        """The next held job, now `submitting` for this process; None if none may be sent.

        The store decides, for every process on the history at once: the pause, the in-flight
        limit, and which process sends which job. With a spend limit set, the limit is checked
        in the same transaction, on the history as every process has written it: a job that
        would go over is left held (the claim undone) and the queue pauses with the reason.
        """
        engine = self.engine
        store = engine.store
        limits = SpendLimits(engine.config.max_spend_per_day, engine.config.max_spend_per_batch)
        now = utcnow()
        if not limits.active:
            return store.claim_next_held(engine.config.max_in_flight, now)
        try:
            with store.transaction():
                job = store.claim_next_held(engine.config.max_in_flight, now)
                if job is not None:
                    candidate = Candidate(
                        job.short_id, job.model, job.batch_id, job.cost_estimate, job.cost_unit
                    )
                    over = check(store.first, candidate, limits, now, counted=True)
                    if over is not None:
                        raise LimitReached(over)
        except LimitReached as reached:
            engine.pause(reached.over.message)
            return None
        return job

    async def _post(self, job: StoredJob) -> None:
        engine = self.engine
        loop = asyncio.get_running_loop()
        try:
            request = job.request
            if self.inputs is not None:
                prepared = await self.inputs.for_job(engine, job)
                if prepared is None:
                    return  # moved back to held, or failed naming the file
                request, job = prepared
            engine.store.count_request(job.local_id)
            remote = await engine.client.generate(
                job.model, request, webhook_url=engine.config.webhook_url
            )
        except RateLimitError as exc:
            wait = self.backoff.fail(loop.time(), exc.retry_after)
            engine.move(job, LocalStatus.HELD)
            engine.set_connection("backing-off", f"rate limited: {exc.message}", wait)
        except (AuthenticationError, PaymentError, ModelRetiredError) as exc:
            engine.move(job, LocalStatus.HELD)
            engine.pause(stop_reason(exc))
        except ValidationError as exc:
            engine.move(job, JobStatus.FAILED, error_code="rejected", error_message=exc.message)
        except TransportError as exc:
            if exc.request_sent:
                engine.move(
                    job,
                    LocalStatus.UNKNOWN,
                    error_message=f"sent, but the answer was lost ({exc.message}); "
                    "checking the server instead of sending it again",
                )
                engine.watcher.wake.set()
            else:
                engine.move(job, LocalStatus.HELD)
            wait = self.backoff.fail(loop.time(), None)
            engine.set_connection("backing-off", exc.message, wait)
        except KreaError as exc:
            if exc.retryable:
                wait = self.backoff.fail(loop.time(), None)
                engine.move(job, LocalStatus.HELD)
                engine.set_connection("backing-off", exc.message, wait)
            else:
                engine.move(job, JobStatus.FAILED, error_code="rejected", error_message=exc.message)
        else:
            self.backoff.ok()
            engine.set_connection("ok")
            engine.skew.learn(job.submitted_at or job.created_at, utcnow(), remote.created_at)
            await self._record(job, remote)
        finally:
            self.posting.discard(job.local_id)
            if not self.posting:
                self.idle.set()
            self.wake.set()

    async def _record(self, job: StoredJob, remote: Job) -> None:
        """Record the server's answer to a POST. The answer exists only in memory: if the
        history cannot take it (the disk is full), keep trying rather than lose which server
        job this request became. Stopped meanwhile, the job is matched at the next start."""
        engine = self.engine
        delay = 1.0
        while True:
            try:
                engine.adopt(job, remote)
                return
            except sqlite3.Error as exc:
                log.error("job %s: answer not recorded (%s); retrying", remote.job_id, exc)
                engine.publish(NoticeEvent(
                    f"cannot write the history ({exc}); job {remote.job_id} is kept in memory "
                    f"until it can be recorded", "error",
                ))  # fmt: skip
                await asyncio.sleep(delay)
                delay = min(30.0, delay * 2)


def stop_reason(exc: KreaError) -> str:
    """Why the queue stops for this refusal, in words a user can act on."""
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
