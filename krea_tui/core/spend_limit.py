"""Hard spend limits: `max_spend_per_day` and `max_spend_per_batch`, in USD.

Checked before each POST, in the same history transaction that claims the job
(`Submitter._claim`; `BEGIN IMMEDIATE`, so one process at a time), so every process on one
history counts what the others sent a moment ago, and a restart starts from what the history
says, not from zero. A job that would go over stays held (the claim is rolled back) and the
queue pauses once, for every process, with `check`'s message: which limit, and by how much.
Nothing already sent is cancelled. Such a pause is checked again when an engine starts (the
limits may have been raised) and, for the day limit, once local midnight has passed.

What counts as spent: every job whose POST left this machine, whatever came of it — on the
server (any status, failed and cancelled included: it may have been charged), being sent by
any process (`submitting`), or whose answer was lost (`unknown`). Not counted: held jobs
(a POST refused with 429/402 puts its job back there), requests the server rejected before
creating a job (no server id), jobs imported from elsewhere (not sent by krea-tui). Each job
counts at the price stored with it when it was queued (the catalogue's estimate,
`JobEngine.submit`); a job priced in compute units or not at all cannot be added up in USD.

"Today" is the local day: from local midnight by this machine's clock (`clock.CLOCK`, the same
clock that stamps `submitted_at`; the server's clock plays no part), so a restart or a second
process on this machine sees the same boundary. A batch is one batch id; a job of no batch is
a batch of one.

This module reads the history through one query function (`Query`): `JobStore.first`, or a
plain read-only connection for `krea-tui status`, which must not start the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, tzinfo
from typing import Any

# A job's POST left this machine: the server has (or may have) the job.
SENT_WHERE = "(remote_id IS NOT NULL OR status IN ('submitting', 'unknown'))"
USD = "USD"
# Money is compared in millionths of a dollar: 5 × $0.007 must not be over a $0.035 limit.
MICRO = 1_000_000

Query = Callable[[str, Sequence[Any]], "tuple[Any, ...] | None"]


@dataclass(frozen=True, slots=True)
class SpendLimits:
    per_day: float | None = None
    per_batch: float | None = None

    @property
    def active(self) -> bool:
        return self.per_day is not None or self.per_batch is not None


@dataclass(frozen=True, slots=True)
class OverLimit:
    """Why a job is held: which limit (its setting's name) and the words for the user."""

    limit: str
    message: str


class LimitReached(Exception):
    """Raised inside the claiming transaction to undo the claim: the job stays held."""

    def __init__(self, over: OverLimit) -> None:
        super().__init__(over.message)
        self.over = over


def usd(value: float) -> str:
    """An amount as every cost estimate in krea-tui reads ("$0.035"): catalog.format_totals's
    USD, written here so that `krea-tui status` need not import the catalogue (~50 ms)."""
    return f"${value:.3f}"


def _micro(value: float) -> int:
    return round(value * MICRO)


def _iso(value: datetime) -> str:
    """As the history stores times (store._iso): UTC, milliseconds, so text compares as time."""
    return value.astimezone(UTC).isoformat(timespec="milliseconds")


def day_start(now: datetime, tz: tzinfo | None = None) -> datetime:
    """The start of `now`'s day, local midnight, as an aware datetime. `tz` None: this
    machine's time zone, asked about that midnight itself (a DST change moves it)."""
    if tz is not None:
        local = now.astimezone(tz)
        return datetime.combine(local.date(), time(0), tzinfo=tz)
    local_date = now.astimezone().date()
    return datetime.combine(local_date, time(0)).astimezone()


def spent_since(query: Query, since: datetime) -> float:
    """USD of the jobs sent (see the module's doc) since `since`."""
    row = query(
        f"SELECT COALESCE(SUM(cost_estimate), 0) FROM jobs WHERE submitted_at >= ?"
        f" AND cost_unit = ? AND {SENT_WHERE}",
        (_iso(since), USD),
    )
    return float(row[0]) if row else 0.0


def spent_in_batch(query: Query, batch_id: str) -> float:
    """USD of the jobs of one batch sent, whenever they were."""
    row = query(
        f"SELECT COALESCE(SUM(cost_estimate), 0) FROM jobs WHERE batch_id = ?"
        f" AND cost_unit = ? AND {SENT_WHERE}",
        (batch_id, USD),
    )
    return float(row[0]) if row else 0.0


def left_today(query: Query, limits: SpendLimits, now: datetime) -> float | None:
    """What `max_spend_per_day` still allows today (never below 0); None without one."""
    if limits.per_day is None:
        return None
    spent = spent_since(query, day_start(now))
    return max(0, _micro(limits.per_day) - _micro(spent)) / MICRO


LIMIT_NAMES = ("max_spend_per_day", "max_spend_per_batch")
_DAY_REACHED = re.compile(r"max_spend_per_day \S+ reached on (\d{4}-\d{2}-\d{2}):")


def is_limit_reason(reason: str | None) -> bool:
    """Whether a pause is a spend limit's (its reason is one of `check`'s messages)."""
    return reason is not None and reason.startswith(LIMIT_NAMES)


def day_limit_passed(reason: str | None, now: datetime) -> bool:
    """Whether a pause is `max_spend_per_day`'s for a day that has ended (local midnight
    passed): the new day starts from zero, so the held jobs may be checked again."""
    found = _DAY_REACHED.match(reason or "")
    return found is not None and found[1] < day_start(now).date().isoformat()


@dataclass(frozen=True, slots=True)
class Candidate:
    """The job about to be sent, as the limits need it."""

    short_id: str
    model: str
    batch_id: str | None
    cost: float | None
    unit: str | None


def check(
    query: Query, job: Candidate, limits: SpendLimits, now: datetime, *, counted: bool
) -> OverLimit | None:
    """Whether sending `job` now keeps every limit; the first one it would break, else None.
    `counted`: the job is already in the history as sent (claimed in this transaction), so
    the sums include it; otherwise its price is added to them."""
    if not limits.active:
        return None
    names = " and ".join(
        name
        for name, value in zip(LIMIT_NAMES, (limits.per_day, limits.per_batch), strict=True)
        if value is not None
    )
    if job.cost is None or job.unit != USD:
        priced = "has no price" if job.cost is None else f"is priced in {job.unit}, not USD"
        return OverLimit(
            "max_spend_per_day" if limits.per_day is not None else "max_spend_per_batch",
            f"{names} cannot be checked for job {job.short_id}: {job.model} {priced} in the "
            "catalogue; cancel the job, or remove the limit to send it",
        )
    extra = 0.0 if counted else job.cost
    if limits.per_day is not None:
        total = spent_since(query, day_start(now)) + extra
        if _micro(total) > _micro(limits.per_day):
            return OverLimit(
                "max_spend_per_day",
                f"max_spend_per_day {usd(limits.per_day)} reached on "
                f"{day_start(now).date().isoformat()}: job {job.short_id} "
                f"({usd(job.cost)}) would bring today's spend to {usd(total)}, "
                f"{usd(total - limits.per_day)} over",
            )
    if limits.per_batch is not None:
        if job.batch_id is None:
            total, where = job.cost, f"job {job.short_id} alone"
        else:
            total = spent_in_batch(query, job.batch_id) + extra
            where = f"batch {job.batch_id}"
        if _micro(total) > _micro(limits.per_batch):
            return OverLimit(
                "max_spend_per_batch",
                f"max_spend_per_batch {usd(limits.per_batch)} reached: job {job.short_id} "
                f"({usd(job.cost)}) would bring the spend of {where} to {usd(total)}, "
                f"{usd(total - limits.per_batch)} over",
            )
    return None


__all__ = [
    "Candidate",
    "LimitReached",
    "OverLimit",
    "SpendLimits",
    "check",
    "day_limit_passed",
    "day_start",
    "is_limit_reason",
    "left_today",
    "spent_in_batch",
    "spent_since",
    "usd",
]
