"""How the queue view orders jobs: by any column, and optionally grouped by batch.

Sorting uses the jobs' values, not the table's text, so "9s" sorts before "1m" and statuses
follow the lifecycle rather than the alphabet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from krea_tui.core.models import LIFECYCLE_ORDER
from krea_tui.core.store import StoredJob

# Where local states sit among the server's: held and sending come before queued.
STATUS_RANK = {
    "held": -3,
    "submitting": -2,
    "unknown": -1,
    **{str(status): index for index, status in enumerate(LIFECYCLE_ORDER)},
}


def age_seconds(job: StoredJob, now: datetime) -> float:
    """The "Age" column: seconds since the job was asked for, time held here included."""
    return (now - job.created_at).total_seconds()


def ran_seconds(job: StoredJob, now: datetime) -> float | None:
    """The "Ran" column: the server's time on the job, from when it took it to its end (or `now`
    while it runs); None for a job the server never took (held, being sent, refused). Time
    held in the local queue is not counted.

    A finished job's two ends are both the server's. A running job's start is when it was sent
    from here (a moment before the server created it), so that it is compared with this
    machine's `now` rather than with another clock; a job sent from elsewhere (imported) has
    only the server's."""
    if job.remote_created_at is None:
        return None
    if job.finished_at is not None:
        end, start = job.finished_at, job.remote_created_at
    else:
        end, start = now, job.submitted_at or job.remote_created_at
    return max(0.0, (end - start).total_seconds())


def _ran_key(job: StoredJob, now: datetime) -> float:
    ran = ran_seconds(job, now)
    return -1.0 if ran is None else ran  # jobs not run yet first


def _size(job: StoredJob) -> tuple[int, str]:
    request = job.request
    width, height = request.get("width"), request.get("height")
    if isinstance(width, int) and isinstance(height, int):
        return width * height, ""
    return 0, str(request.get("aspect_ratio") or request.get("resolution") or "")


def _seed(job: StoredJob) -> tuple[int, float]:
    seed = job.request.get("seed")
    if isinstance(seed, int | float) and not isinstance(seed, bool):
        return 0, float(seed)
    return 1, 0.0  # jobs without a seed last


SortKey = Callable[[StoredJob, datetime], Any]
# Column key -> sort key. "created" is the order jobs were asked for (the queue's own order).
SORT_KEYS: dict[str, SortKey] = {
    "created": lambda job, now: job.position,
    "status": lambda job, now: (STATUS_RANK.get(job.status, 99), job.position),
    "prompt": lambda job, now: job.prompt.lower(),
    "model": lambda job, now: job.model,
    "time": _ran_key,
    "seed": lambda job, now: _seed(job),
    "size": lambda job, now: _size(job),
    "id": lambda job, now: job.remote_id or job.local_id,
}
SORT_CYCLE: tuple[str, ...] = ("created", "status", "time", "prompt", "model", "seed", "size", "id")


def next_sort(current: str) -> str:
    index = SORT_CYCLE.index(current) if current in SORT_CYCLE else -1
    return SORT_CYCLE[(index + 1) % len(SORT_CYCLE)]


@dataclass(frozen=True, slots=True)
class Group:
    """One batch (or the jobs without one: `batch_id` None) and its jobs in view order."""

    batch_id: str | None
    jobs: tuple[StoredJob, ...]


def ordered(
    jobs: Iterable[StoredJob], now: datetime, *, sort: str = "created", reverse: bool = False
) -> list[StoredJob]:
    key = SORT_KEYS.get(sort, SORT_KEYS["created"])
    # Python's sort is stable: ties keep the queue's order whichever way the column goes.
    base = sorted(jobs, key=lambda job: job.position)
    return sorted(base, key=lambda job: key(job, now), reverse=reverse)


def grouped(jobs: Sequence[StoredJob]) -> list[Group]:
    """Jobs (already in view order) split by batch; batches in the order their first job
    appears, jobs without a batch together at the end."""
    groups: dict[str | None, list[StoredJob]] = {}
    for job in jobs:
        groups.setdefault(job.batch_id, []).append(job)
    loose = groups.pop(None, [])
    out = [Group(batch_id, tuple(members)) for batch_id, members in groups.items()]
    if loose:
        out.append(Group(None, tuple(loose)))
    return out
