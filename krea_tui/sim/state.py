"""Jobs, per-token queues and the lifecycle, in plain Python.

A job's status is computed from timestamps on access rather than pushed by timers: `_advance(now)`
replays, in time order, every transition that has become due (jobs finishing, backlogged jobs
taking the freed slots at the exact moment they were freed). That makes the state exact and
deterministic under an injected clock; the server only runs a light task that wakes at the next
due time to deliver webhooks.
"""

from __future__ import annotations

import bisect
import builtins
import math
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from krea_tui.sim.config import SimConfig
from krea_tui.sim.durable import JobFile
from krea_tui.sim.jobs import (
    CANCELLABLE,
    FAILURES,
    PHASE_SHARE,
    PHASES,
    STATUSES,
    SYSTEM_CANCEL_MESSAGE,
    TERMINAL,
    TIMEOUT_STRETCH,
    JobRequest,
    Outcome,
    SimJob,
    iso_ms,
    iso_seconds,
    parse_cursor,
)

# Re-exported: the app and tests take these from here.
__all__ = [
    "STATUSES",
    "BacklogFull",
    "Clock",
    "JobRequest",
    "PaymentRequired",
    "SimState",
    "parse_cursor",
]

Clock = Callable[[], float]


class BacklogFull(Exception):
    """Concurrency and backlog are both exhausted: the documented 429."""

    def __init__(self, retry_after: int) -> None:
        super().__init__("backlog full")
        self.retry_after = retry_after


class PaymentRequired(Exception):
    """402: the balance is exhausted or the plan does not cover the model."""


@dataclass
class _User:
    jobs: list[SimJob] = field(default_factory=list)  # creation order
    created_keys: list[int] = field(default_factory=list)  # created_ms of jobs, ascending
    running: list[SimJob] = field(default_factory=list)
    backlog: deque[SimJob] = field(default_factory=deque)


class SimState:
    """All jobs of one simulator. Thread-safe: tests read it from outside the server's loop."""

    def __init__(self, config: SimConfig, clock: Clock = time.time) -> None:
        self.config = config
        self.clock = clock
        self._lock = threading.RLock()
        self._rng = random.Random(config.seed)
        self._users: dict[str, _User] = {}
        self._jobs: dict[str, SimJob] = {}
        self._webhooks: list[tuple[str, dict[str, Any]]] = []
        self._forced: deque[dict[str, Any]] = deque()
        self.balance_usd: float | None = config.balance_usd
        self.charged_usd = 0.0
        self.on_change: Callable[[], None] | None = None  # wakes the server's scheduler
        self._file: JobFile | None = None
        if config.state_file:
            self._file = JobFile(config.state_file)
            self._load(self._file)

    # -- commands ---------------------------------------------------------------------------

    def create(self, token: str, request: JobRequest) -> dict[str, Any]:
        """Accept a job or raise BacklogFull / PaymentRequired. Returns its JSON."""
        with self._lock:
            now = self.clock()
            self._advance(now)
            self.check_payment()
            user = self._users.setdefault(token, _User())
            starts_now = len(user.running) < self.config.concurrency and not user.backlog
            if not starts_now and len(user.backlog) >= self.config.backlog:
                raise BacklogFull(self._retry_after(user, now))
            forced = self._forced.popleft() if self._forced else {}
            last_ms = user.created_keys[-1] if user.created_keys else 0
            if self.config.varied:
                # Jobs created within one millisecond share their created_at, as on a busy server.
                created_ms = max(math.floor(now * 1000), last_ms)
            else:
                created_ms = max(math.floor(now * 1000), last_ms + 1)
            outcome = self._outcome(forced)
            durations = self._durations(request.seconds, forced.get("durations"), outcome)
            varied = self.config.varied and "durations" not in forced
            if varied:
                durations = self._vary(durations, outcome, starts_now)
            job = SimJob(
                job_id=str(uuid.uuid4()),
                token=token,
                request=request,
                created=now,
                created_ms=created_ms,
                durations=durations,
                outcome=outcome,
                skip_empty=varied,
            )
            self._add(user, job, started=starts_now)
            if self._file is not None:
                self._file.add(job, started_at_create=starts_now)
            body = job.to_json(now, previews=self.config.previews)
        self.notify()
        return body

    def get(self, token: str, job_id: str) -> dict[str, Any] | None:
        with self._lock:
            now = self.clock()
            self._advance(now)
            job = self._jobs.get(job_id)
            if job is None or job.token != token:
                return None
            return job.to_json(now, previews=self.config.previews)

    def list(
        self,
        token: str,
        *,
        cursor_us: int | None = None,
        limit: int = 100,
        status: str | None = None,
        types: Iterable[str] | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Newest first, strictly before the cursor; next cursor = created_at of the last item."""
        wanted_types = set(types) if types else None
        with self._lock:
            now = self.clock()
            self._advance(now)
            user = self._users.get(token)
            if user is None:
                return [], None
            end = len(user.jobs)
            if cursor_us is not None:
                end = self._cursor_end(user, cursor_us)
            items: list[dict[str, Any]] = []
            more = False
            last_index = end
            for index in range(end - 1, -1, -1):
                job = user.jobs[index]
                if wanted_types is not None and job.request.job_type not in wanted_types:
                    continue
                if status is not None and job.status_at(now) != status:
                    continue
                if len(items) == limit:
                    more = True
                    break
                items.append(job.to_json(now, previews=self.config.previews))
                last_index = index
            next_cursor = self._cursor_after(user, last_index) if more and items else None
            return items, next_cursor

    def cancel(self, token: str, job_id: str) -> tuple[str, dict[str, Any] | None]:
        """('ok', job json) | ('missing', None) | (current status, None) when not cancellable."""
        with self._lock:
            now = self.clock()
            self._advance(now)
            job = self._jobs.get(job_id)
            if job is None or job.token != token:
                return "missing", None
            status = job.status_at(now)
            if status not in CANCELLABLE:
                return status, None
            user = self._users[token]
            user.running.remove(job)
            job.cancelled_by_user = True
            self._terminate(job, "cancelled", now)
            self._fill(user, now)
            if self._file is not None:
                self._file.cancel(job_id, now)
            body = job.to_json(now, previews=self.config.previews)
        self.notify()
        return "ok", body

    def force_outcomes(self, outcomes: Iterable[dict[str, Any]]) -> None:
        """Queue outcomes (and optional real-second phase durations) for the next created jobs."""
        with self._lock:
            for item in outcomes:
                status = item.get("status", "failed" if item.get("code") else "completed")
                if status not in TERMINAL:
                    raise ValueError(f"status must be one of {', '.join(sorted(TERMINAL))}")
                code = item.get("code")
                if status == "failed" and code not in FAILURES:
                    raise ValueError(f"code must be one of {', '.join(FAILURES)}")
                durations = item.get("durations")
                if durations is not None and (
                    len(durations) != len(PHASES) or any(float(d) < 0 for d in durations)
                ):
                    raise ValueError(f"durations must be {len(PHASES)} non-negative seconds")
                self._forced.append(dict(item, status=status))

    def reset(self) -> None:
        with self._lock:
            self._users.clear()
            self._jobs.clear()
            self._webhooks.clear()
            self._forced.clear()
            self._rng = random.Random(self.config.seed)
            self.balance_usd = self.config.balance_usd
            self.charged_usd = 0.0
            if self._file is not None:
                self._file.clear()

    def rebase(self, base_url: str) -> None:
        """Serve every job's result links from `base_url` (a restarted service may have a new
        port; links handed out before point at the old one)."""
        with self._lock:
            for job in self._jobs.values():
                job.request.base_url = base_url

    def close(self) -> None:
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None

    @property
    def job_count(self) -> int:
        with self._lock:
            return len(self._jobs)

    # -- queries ----------------------------------------------------------------------------

    def check_payment(self) -> None:
        mode = self.config.payment_mode
        if mode == "plan":
            raise PaymentRequired("This model requires a higher plan.")
        if mode == "exhausted" or (self.balance_usd is not None and self.balance_usd <= 0):
            raise PaymentRequired("Insufficient API balance: top up at krea.ai/app/api.")

    def _current(self, job_id: str) -> tuple[Any, float] | None:
        """(job, now) after bringing every job up to now; call with the lock held."""
        now = self.clock()
        self._advance(now)
        job = self._jobs.get(job_id)
        return None if job is None else (job, now)

    def job_request(self, job_id: str) -> tuple[JobRequest, str] | None:
        """The request behind a job and its current status: what the result files need."""
        with self._lock:
            found = self._current(job_id)
            if found is None:
                return None
            job, now = found
            return job.request, job.status_at(now)

    def timeline(self, job_id: str) -> dict[str, Any] | None:
        """Exact time of every transition so far: what the benchmark compares polls against."""
        with self._lock:
            found = self._current(job_id)
            if found is None:
                return None
            job, now = found
            events = [
                {"status": status, "at": iso_seconds(at), "t": at, "offset": at - job.created}
                for status, at in job.transitions(now)
            ]
            return {"job_id": job.job_id, "model": job.request.model, "timeline": events}

    def jobs_of_type(self, job_type: str) -> builtins.list[tuple[SimJob, str]]:
        """(job, current status) of every job of this type, oldest first (styles/train's)."""
        with self._lock:
            now = self.clock()
            self._advance(now)
            return [
                (job, job.status_at(now))
                for job in self._jobs.values()
                if job.request.job_type == job_type
            ]

    def status_counts(self) -> dict[str, int]:
        with self._lock:
            now = self.clock()
            self._advance(now)
            return dict(Counter(job.status_at(now) for job in self._jobs.values()))

    def next_due(self) -> float | None:
        """Clock time of the next job end, or None when nothing runs."""
        with self._lock:
            ends = [job.end for user in self._users.values() for job in user.running]
            return min(ends) if ends else None

    def poll_webhooks(self) -> builtins.list[tuple[str, dict[str, Any]]]:
        """Advance to now and hand over the webhook deliveries that became due."""
        with self._lock:
            self._advance(self.clock())
            due, self._webhooks = self._webhooks, []
            return due

    # -- internals --------------------------------------------------------------------------

    def _add(self, user: _User, job: SimJob, *, started: bool) -> None:
        user.jobs.append(job)
        user.created_keys.append(job.created_ms)
        self._jobs[job.job_id] = job
        if started:
            self._start(user, job, job.created)
        else:
            job.was_backlogged = True
            user.backlog.append(job)

    def _load(self, store: JobFile) -> None:
        """Rebuild the queues from the stored jobs by replaying creations and cancellations in
        time order: the same transitions happen at the same clock times as if the simulator had
        never stopped, so jobs progressed (and finished) while nobody was serving them."""
        events: list[tuple[float, int, int, SimJob, bool]] = []
        for order, (job, started, cancelled_at) in enumerate(store.load()):
            events.append((job.created, 0, order, job, started))
            if cancelled_at is not None:
                events.append((cancelled_at, 1, order, job, False))
        events.sort(key=lambda event: (event[0], event[2], event[1]))
        for at, kind, _order, job, started in events:
            self._advance(at)
            user = self._users.setdefault(job.token, _User())
            if kind == 0:
                self._add(user, job, started=started)
            elif job in user.running:
                user.running.remove(job)
                job.cancelled_by_user = True
                self._terminate(job, "cancelled", at)
                self._fill(user, at)
        self._advance(self.clock())
        self._webhooks.clear()  # ends while nobody served are not delivered late
        # Not the sequence the first run drew: a resumed service plans its new jobs afresh.
        if self._jobs:
            self._rng = random.Random(f"{self.config.seed}:{len(self._jobs)}")

    def _vary(
        self, durations: tuple[float, ...], outcome: Outcome, starts_now: bool
    ) -> tuple[float, ...]:
        """Skip some states (reference §4.2: a new job may already be processing; states can
        be skipped; only some jobs have a preview). Total time is kept."""
        out = list(durations)
        queued, scheduled, processing = (PHASES.index(p) for p in PHASES[:3])
        preview = PHASES.index("intermediate-complete")

        def skip(index: int, into: int) -> None:
            out[into] += out[index]
            out[index] = 0.0

        roll = self._rng.random()
        if starts_now and roll < 0.25:
            skip(queued, processing)  # created already processing
            skip(scheduled, processing)
        elif roll < 0.5:
            skip(scheduled, processing)
        if outcome.status == "completed" and self._rng.random() < 0.5:
            skip(preview, preview - 1)  # no intermediate-complete, no preview
        return tuple(out)

    @staticmethod
    def _cursor_end(user: _User, cursor_us: int) -> int:
        """Index (in creation order) of the first job not strictly before the cursor. A cursor
        this simulator made for a job sharing its millisecond carries the job's place among
        those in its microseconds (1-999); any other date-time means "created before"."""
        ms, place = divmod(cursor_us, 1000)
        if place == 0:
            return bisect.bisect_left(user.created_keys, ms)
        start = bisect.bisect_left(user.created_keys, ms)
        stop = bisect.bisect_right(user.created_keys, ms)
        if start == stop:  # not one of ours: plain "before this instant"
            return bisect.bisect_left(user.created_keys, ms + 1)
        return min(stop, start + place - 1)

    @staticmethod
    def _cursor_after(user: _User, index: int) -> str:
        """next_cursor after the job at `index`: its created_at, plus its place among the jobs
        of its millisecond when older jobs share that millisecond (so none is skipped)."""
        ms = user.created_keys[index]
        start = bisect.bisect_left(user.created_keys, ms)
        if start == index:
            return iso_ms(ms)
        place = min(999, index - start + 1)
        return iso_ms(ms)[:-1] + f"{place:03d}Z"

    def notify(self) -> None:
        """Wake the server's scheduler: something may now be due sooner."""
        if self.on_change is not None:
            self.on_change()

    def _durations(
        self, seconds: float, forced: builtins.list[float] | None, outcome: Outcome
    ) -> tuple[float, ...]:
        if forced is not None:
            return tuple(float(d) for d in forced)
        total = seconds / self.config.speed
        spread = self.config.jitter
        durations = [
            total * share * (1 + self._rng.uniform(-spread, spread)) for share in PHASE_SHARE
        ]
        if outcome.code == "timeout":
            # A timed-out job hangs in processing well past its usual time before it is killed.
            durations[PHASES.index("processing")] *= TIMEOUT_STRETCH
        return tuple(durations)

    def _outcome(self, forced: dict[str, Any]) -> Outcome:
        last = len(PHASES) - 1
        if forced:
            status = forced["status"]
            if status == "failed":
                phase, message = FAILURES[forced["code"]]
                return Outcome("failed", phase, forced["code"], forced.get("message", message))
            if status == "cancelled":
                phase = int(forced.get("phase", PHASES.index("processing")))
                return Outcome("cancelled", phase, None, SYSTEM_CANCEL_MESSAGE)
            return Outcome("completed", last)
        roll = self._rng.random()
        if roll < self.config.fail_rate:
            code = self._rng.choice(sorted(FAILURES))
            phase, message = FAILURES[code]
            return Outcome("failed", phase, code, message)
        if roll < self.config.fail_rate + self.config.system_cancel_rate:
            return Outcome(
                "cancelled", self._rng.randrange(len(PHASES)), None, SYSTEM_CANCEL_MESSAGE
            )
        return Outcome("completed", last)

    def _start(self, user: _User, job: SimJob, at: float) -> None:
        job.start = at
        user.running.append(job)

    def _fill(self, user: _User, at: float) -> None:
        while user.backlog and len(user.running) < self.config.concurrency:
            self._start(user, user.backlog.popleft(), at)

    def _advance(self, now: float) -> None:
        for user in self._users.values():
            while user.running:
                first = min(user.running, key=lambda job: job.end)
                if first.end > now:
                    break
                user.running.remove(first)
                self._terminate(first, first.outcome.status, first.end)
                # Backlogged jobs leave FIFO at the moment the slot was freed, not when observed.
                self._fill(user, first.end)
            self._fill(user, now)

    def _terminate(self, job: SimJob, status: str, at: float) -> None:
        job.terminal_status = status
        job.terminal_at = at
        if status == "completed":
            self.charged_usd += job.request.price_usd
            if self.balance_usd is not None:
                self.balance_usd -= job.request.price_usd
        if job.request.webhook_url:
            self._webhooks.append(
                (job.request.webhook_url, job.to_json(at, previews=self.config.previews))
            )

    def _retry_after(self, user: _User, now: float) -> int:
        soonest = min((job.end for job in user.running), default=now + 1)
        return max(1, math.ceil(soonest - now))
