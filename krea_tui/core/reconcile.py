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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from krea_tui.core.models import Job
from krea_tui.core.store import StoredJob

# Before any POST was answered we know nothing about the server's clock: allow this much.
DEFAULT_SLACK = timedelta(seconds=2)
# Server times have millisecond grain (and the server may nudge equal times apart).
TIME_GRAIN = timedelta(milliseconds=50)


@dataclass(slots=True)
class _Span:
    """Bounds on (server clock − our clock) that held for the answers between `first` and
    `last` (our clock)."""

    low: timedelta
    high: timedelta
    first: datetime
    last: datetime


# How many spans are kept: one per clock jump seen in this run, and a run rarely sees two.
MAX_SPANS = 16


@dataclass(slots=True)
class ClockSkew:
    """Bounds on (server clock − our clock), narrowed by every answered POST.

    When either clock jumps, the new answers contradict the old bounds: a new span starts. A
    POST is matched with the bounds of the span it was sent in, so the jobs sent before a jump
    are still looked for where the server put them; one sent between the last answer before a
    jump and the first after it gets both spans' bounds.
    """

    spans: list[_Span] = field(default_factory=list)

    @property
    def learnt(self) -> bool:
        return bool(self.spans)

    @property
    def low(self) -> timedelta:
        return self.spans[-1].low if self.spans else -DEFAULT_SLACK

    @property
    def high(self) -> timedelta:
        return self.spans[-1].high if self.spans else DEFAULT_SLACK

    def learn(
        self,
        sent: datetime,
        answered: datetime,
        created: datetime | None,
        grain: timedelta = TIME_GRAIN,
    ) -> None:
        """The server created a job (or wrote a `Date` header) at `created`, its clock, between
        `sent` and `answered`, ours; `grain` is how coarse its time is."""
        if created is None:
            return
        created = _aware(created)
        low = created - answered - grain
        high = created - sent + grain
        span = self.spans[-1] if self.spans else None
        if span is not None and max(low, span.low) <= min(high, span.high):
            span.low, span.high = max(low, span.low), min(high, span.high)
            span.first, span.last = min(span.first, sent), max(span.last, answered)
        else:
            # First answer, or the bounds contradict each other (a clock was set): a new span.
            self.spans.append(_Span(low, high, sent, answered))
            del self.spans[:-MAX_SPANS]

    def at(self, moment: datetime) -> tuple[timedelta, timedelta]:
        """The bounds that held when our clock read `moment`."""
        if not self.spans:
            return -DEFAULT_SLACK, DEFAULT_SLACK
        moment = _aware(moment)
        for span in reversed(self.spans):
            if span.first <= moment <= span.last:
                return span.low, span.high
        before = [span for span in self.spans if span.last < moment]
        after = [span for span in self.spans if span.first > moment]
        if before and after:  # between two spans: it could belong to either
            return min(before[-1].low, after[0].low), max(before[-1].high, after[0].high)
        span = before[-1] if before else after[0]
        return span.low, span.high


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
        sent = job.submitted_at or job.created_at
        return sent + skew.at(sent)[0]

    def fits(job: StoredJob, remote: Job) -> bool:
        if remote.created_at is None:
            return False
        created = _aware(remote.created_at)
        given_up = lost_at[job.local_id]
        return start(job) <= created <= given_up + skew.at(given_up)[1]

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
