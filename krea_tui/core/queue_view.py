"""What the queue model hands out: the view it shows, its rows, its summary, and what an
engine event changed. Plain values, no UI (see queue_model)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from krea_tui.core.endings import Tally
from krea_tui.core.query import Query
from krea_tui.core.store import StoredJob

# A row's cells, by the table's column keys: what a change of each field of a job touches.
ALL_CELLS = frozenset(
    {"mark", "id", "status", "progress", "prompt", "model", "time", "seed", "size", "rating"}
)
IN_FLIGHT = frozenset(
    {"submitting", "queued", "scheduled", "processing", "sampling", "intermediate-complete"}
)


@dataclass(frozen=True, slots=True)
class QueueView:
    """What the queue shows: the filter, the order and the grouping."""

    query: Query = field(default_factory=Query)
    sort: str = "created"
    reverse: bool = False
    group: bool = False

    @property
    def is_default(self) -> bool:
        plain = self.sort == "created" and not self.reverse
        return self.query.is_empty and plain and not self.group


@dataclass(frozen=True, slots=True)
class GroupHeader:
    """The row above a batch's jobs in a grouped view: the jobs of the batch the view shows,
    how those ended, and how many of them are marked. `batch_id` None: jobs of no batch."""

    batch_id: str | None
    jobs: int
    tally: Tally
    marked: int = 0


QueueRow = StoredJob | GroupHeader


@dataclass(frozen=True, slots=True)
class QueueSummary:
    """Jobs per status and the spend per cost unit over the whole history, as the status bar
    shows them (`status_bar.summarize_jobs`): spend is the estimates of completed jobs that
    have one, by unit ("?" for none). `counts` leaves statuses with no job out."""

    counts: Mapping[str, int] = field(default_factory=dict)
    spend: Mapping[str, float] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def held(self) -> int:
        return self.counts.get("held", 0)

    @property
    def in_flight(self) -> int:
        return sum(n for status, n in self.counts.items() if status in IN_FLIGHT)


def summary_of_tally(rows: Iterable[tuple[str, str, int, int, float]]) -> QueueSummary:
    counts: dict[str, int] = {}
    spend: dict[str, float] = {}
    for status, unit, jobs, priced, cost in rows:
        if jobs:
            counts[status] = counts.get(status, 0) + jobs
        if status == "completed" and priced:
            spend[unit] = spend.get(unit, 0.0) + cost
    return QueueSummary(counts, spend)


def summary_of_jobs(jobs: Iterable[StoredJob]) -> QueueSummary:
    """The same figures from jobs in memory (a history without the tally, and the tests)."""
    counts: dict[str, int] = {}
    spend: dict[str, float] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
        if job.status == "completed" and job.cost_estimate is not None:
            unit = job.cost_unit or "?"
            spend[unit] = spend.get(unit, 0.0) + job.cost_estimate
    return QueueSummary(counts, spend)


@dataclass(slots=True)
class QueueChanges:
    """What `QueueModel.apply` changed.

    - `cells`: jobs in the view whose cells changed, with the column keys that did;
    - `entered` / `left`: jobs that came into or went out of the view;
    - `moved`: rows may sit at other offsets than before (rows entered or left, or the view
      was laid out again): read the window again and find the cursor's job (`index_of`);
    - `headers`: batches whose header row changed (grouped views);
    - `ended`: jobs that ended just now; `batches_ended`: batches of more than one job whose
      last job ended just now, with how they ended;
    - `marks`: marks dropped because their jobs left the history;
    - `summary`: the counts or the spend changed.
    """

    cells: dict[str, frozenset[str]] = field(default_factory=dict)
    entered: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)
    moved: bool = False
    headers: set[str | None] = field(default_factory=set)
    ended: list[StoredJob] = field(default_factory=list)
    batches_ended: dict[str, Tally] = field(default_factory=dict)
    marks: set[str] = field(default_factory=set)
    summary: bool = False

    @property
    def any(self) -> bool:
        return bool(
            self.cells
            or self.entered
            or self.left
            or self.moved
            or self.headers
            or self.ended
            or self.batches_ended
            or self.marks
            or self.summary
        )


def changed_cells(before: StoredJob | None, after: StoredJob) -> frozenset[str]:
    """The cells of a job's row that differ between two versions of it (all, unknown before)."""
    if before is None:
        return ALL_CELLS
    cells: set[str] = set()
    if before.status != after.status:
        cells |= {"status", "progress"}
    if before.remote_id != after.remote_id or before.local_id != after.local_id:
        cells.add("id")
    if before.request != after.request:
        cells |= {"prompt", "seed", "size"}
    if before.model != after.model:
        cells.add("model")
    times = ("remote_created_at", "submitted_at", "finished_at")
    if any(getattr(before, name) != getattr(after, name) for name in times):
        cells.add("time")
    if before.rating != after.rating or before.pick != after.pick:
        cells.add("rating")
    return frozenset(cells)
