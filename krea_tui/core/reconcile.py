"""Telling which server job belongs to which lost POST.

A POST whose answer was lost may or may not have created a job, and the job list does not show
the request behind a job, so the only evidence is time: a job can belong to a POST only if the
server created it while that POST was under way. Server times are on the server's clock, so the
engine learns the bounds of (server clock − our clock) from every answered POST and widens each
POST's window by them. The engine reads the list only while no POST is in flight, so every job
it does not know came from a lost POST (or from another client using the same token).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from krea_tui.core.models import Job
from krea_tui.core.store import StoredJob

# Before any POST was answered we know nothing about the server's clock: allow this much.
DEFAULT_SLACK = timedelta(seconds=2)
# Server times have millisecond grain (and the server may nudge equal times apart).
TIME_GRAIN = timedelta(milliseconds=50)


@dataclass(slots=True)
class ClockSkew:
    """Bounds on (server clock − our clock), narrowed by every answered POST."""

    low: timedelta = -DEFAULT_SLACK
    high: timedelta = DEFAULT_SLACK
    learnt: bool = False

    def learn(self, sent: datetime, answered: datetime, created: datetime | None) -> None:
        """The server created a job at `created` (its clock) between `sent` and `answered`."""
        if created is None:
            return
        created = _aware(created)
        low = created - answered - TIME_GRAIN
        high = created - sent + TIME_GRAIN
        if self.learnt and max(low, self.low) <= min(high, self.high):
            self.low, self.high = max(low, self.low), min(high, self.high)
        else:
            # First answer, or the bounds contradict each other (a clock was set): start over.
            self.low, self.high, self.learnt = low, high, True


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class Matching:
    pairs: list[tuple[StoredJob, Job]]  # (lost POST's job, the server job it created)
    # Local id -> how many server jobs could equally be its own: left unknown, on purpose.
    ambiguous: dict[str, int]


def pair_lost(
    pending: Sequence[StoredJob],
    lost_at: Mapping[str, datetime],
    candidates: Sequence[Job],
    skew: ClockSkew,
) -> Matching:
    """(lost POST, server job) pairs that the evidence supports; the rest stay unknown.

    `pending` are the jobs of the lost POSTs, `lost_at` when each answer was given up (by local
    id), `candidates` the server jobs nobody local has. A job that fits exactly one POST's window,
    and that POST's window holds no other job, is that POST's. A single lost POST and a single
    new job belong together even when the job was created after the answer was given up (a
    timeout). POSTs sent at the same moment are told apart by nothing (the list does not show
    requests), and a wrong pairing would pin a result and its metadata on the wrong request, so
    those stay unknown and are reported as ambiguous.
    """
    jobs = sorted(pending, key=lambda job: job.submitted_at or job.created_at)
    remotes = list(candidates)

    def start(job: StoredJob) -> datetime:
        return (job.submitted_at or job.created_at) + skew.low

    def fits(job: StoredJob, remote: Job) -> bool:
        if remote.created_at is None:
            return False
        created = _aware(remote.created_at)
        return start(job) <= created <= lost_at[job.local_id] + skew.high

    pairs: list[tuple[StoredJob, Job]] = []
    changed = True
    while changed and jobs and remotes:
        changed = False
        for job in list(jobs):
            inside = [remote for remote in remotes if fits(job, remote)]
            if len(inside) == 1 and sum(fits(other, inside[0]) for other in jobs) == 1:
                pairs.append((job, inside[0]))
                jobs.remove(job)
                remotes.remove(inside[0])
                changed = True
    if len(jobs) == 1 and len(remotes) == 1:
        (job,), (remote,) = jobs, remotes
        if remote.created_at is not None and _aware(remote.created_at) >= start(job):
            pairs.append((job, remote))
            jobs = []
    ambiguous = {}
    for job in jobs:
        could_be = sum(fits(job, remote) for remote in remotes)
        if could_be:
            ambiguous[job.local_id] = could_be
    return Matching(pairs, ambiguous)
