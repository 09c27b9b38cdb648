"""Triage: failed jobs grouped by the server's reason, and where time went per state.

Pure functions over stored jobs and their timelines, for the triage screen and the detail pane.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from krea_tui.core.status import is_final
from krea_tui.core.store import StoredJob, TimelineEntry

NO_REASON = "no reason given"


@dataclass(frozen=True, slots=True)
class FailureGroup:
    code: str | None
    message: str
    jobs: tuple[StoredJob, ...]

    @property
    def label(self) -> str:
        return f"{self.code}: {self.message}" if self.code else self.message


def cause(job: StoredJob) -> tuple[str | None, str]:
    """What a failure is grouped by: the server's code and message, as given."""
    return job.error_code or None, (job.error_message or NO_REASON).strip()


def failure_groups(jobs: Iterable[StoredJob]) -> list[FailureGroup]:
    """Failed jobs by cause, the most frequent cause first (then by code, for a stable order)."""
    groups: dict[tuple[str | None, str], list[StoredJob]] = {}
    for job in jobs:
        if job.status == "failed":
            groups.setdefault(cause(job), []).append(job)
    out = [
        FailureGroup(code, message, tuple(members)) for (code, message), members in groups.items()
    ]
    return sorted(out, key=lambda g: (-len(g.jobs), g.code or "", g.message))


def state_durations(timeline: Sequence[TimelineEntry], now: datetime) -> list[tuple[str, float]]:
    """Seconds spent in each seen state, in order. A state passed unseen between two looks has
    no time of its own and is left out; the last state runs until `now` unless it is final."""
    seen = [entry for entry in timeline if not entry.skipped]
    spans: list[tuple[str, float]] = []
    for index, entry in enumerate(seen):
        if index + 1 < len(seen):
            end = seen[index + 1].at
        elif is_final(entry.status):
            break
        else:
            end = now
        spans.append((entry.status, max(0.0, (end - entry.at).total_seconds())))
    return spans


def totals(spans: Iterable[tuple[str, float]]) -> dict[str, float]:
    """Seconds per state, a state seen twice (held again after a 429) counted once, summed."""
    out: dict[str, float] = {}
    for status, seconds in spans:
        out[status] = out.get(status, 0.0) + seconds
    return out


@dataclass(frozen=True, slots=True)
class BatchTimes:
    batch_id: str
    jobs: int
    ended: int
    counts: Mapping[str, int]
    per_state: Mapping[str, float]  # mean seconds per job in each state
    wall: float  # first asked for → last ended (or now)


def batch_times(
    batch_id: str,
    jobs: Sequence[StoredJob],
    timelines: Mapping[str, Sequence[TimelineEntry]],
    now: datetime,
) -> BatchTimes:
    summed: dict[str, float] = {}
    counts: dict[str, int] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
        for status, seconds in totals(
            state_durations(timelines.get(job.local_id, ()), now)
        ).items():
            summed[status] = summed.get(status, 0.0) + seconds
    n = max(1, len(jobs))
    start = min((job.created_at for job in jobs), default=now)
    ended = [job for job in jobs if job.is_final]
    done_all = len(ended) == len(jobs) and jobs
    # The end as seen here (the last status recorded), like the per-state times: the server's
    # own completion time is earlier by up to one poll and would make the two disagree.
    last_seen = [
        timelines[job.local_id][-1].at if timelines.get(job.local_id) else job.finished_at or now
        for job in ended
    ]
    end = max(last_seen, default=now) if done_all else now
    return BatchTimes(
        batch_id=batch_id,
        jobs=len(jobs),
        ended=len(ended),
        counts=counts,
        per_state={status: total / n for status, total in summed.items()},
        wall=max(0.0, (end - start).total_seconds()),
    )
