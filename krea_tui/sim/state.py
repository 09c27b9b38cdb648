"""Jobs, per-token queues and the lifecycle, in plain Python.

A job's status is computed from timestamps on access rather than pushed by timers: `_advance(now)`
replays, in time order, every transition that has become due (jobs finishing, backlogged jobs
taking the freed slots at the exact moment they were freed). That makes the state exact and
deterministic under an injected clock; the server only runs a light task that wakes at the next
due time to deliver webhooks.
"""

from __future__ import annotations

import bisect
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
            created_ms = max(math.floor(now * 1000), last_ms + 1)
            outcome = self._outcome(forced)
            job = SimJob(
                job_id=str(uuid.uuid4()),
                token=token,
                request=request,
                created=now,
                created_ms=created_ms,
                durations=self._durations(request.seconds, forced.get("durations"), outcome),
                outcome=outcome,
            )
            user.jobs.append(job)
            user.created_keys.append(created_ms)
            self._jobs[job.job_id] = job
            if starts_now:
                self._start(user, job, now)
            else:
                job.was_backlogged = True
                user.backlog.append(job)
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
                end = bisect.bisect_left(user.created_keys, math.ceil(cursor_us / 1000))
            items: list[dict[str, Any]] = []
            more = False
            for job in reversed(user.jobs[:end]):
                if wanted_types is not None and job.request.job_type not in wanted_types:
                    continue
                if status is not None and job.status_at(now) != status:
                    continue
                if len(items) == limit:
                    more = True
                    break
                items.append(job.to_json(now, previews=self.config.previews))
            next_cursor = items[-1]["created_at"] if more and items else None
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

    def poll_webhooks(self) -> list[tuple[str, dict[str, Any]]]:
        """Advance to now and hand over the webhook deliveries that became due."""
        with self._lock:
            self._advance(self.clock())
            due, self._webhooks = self._webhooks, []
            return due

    # -- internals --------------------------------------------------------------------------

    def notify(self) -> None:
        """Wake the server's scheduler: something may now be due sooner."""
        if self.on_change is not None:
            self.on_change()

    def _durations(
        self, seconds: float, forced: list[float] | None, outcome: Outcome
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
