"""A batch as a contact sheet: which job goes in which cell, what the headers say, and where the
batch's time went. Pure functions over stored jobs, for the contact sheet screen."""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from krea_tui.core.batch import swept_names
from krea_tui.core.models import LIFECYCLE_ORDER
from krea_tui.core.store import StoredJob, TimelineEntry
from krea_tui.core.triage import state_durations

# Parameters that differ between the images of one request by design; never a sheet axis.
NOT_AXES = frozenset({"seed"})
# Local states first, then the server's lifecycle: the order a job lives through them.
STATE_ORDER = ("held", "submitting", "unknown", *(str(s) for s in LIFECYCLE_ORDER))


def show_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


@dataclass(frozen=True, slots=True)
class SheetLayout:
    """Rows × columns of job ids (None: an empty cell) with the headers to print."""

    row_axis: str | None
    col_axis: str | None
    row_labels: tuple[str, ...]  # the row axis's values ("20"), or "#2" for repeats
    col_labels: tuple[str, ...]
    cells: tuple[tuple[str | None, ...], ...]
    notes: Mapping[str, str]  # local id -> what tells the job apart within its cell's values

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.cells), len(self.cells[0]) if self.cells else 0

    def position(self, local_id: str) -> tuple[int, int] | None:
        for row, cells in enumerate(self.cells):
            if local_id in cells:
                return row, cells.index(local_id)
        return None


def varying(requests: Sequence[Mapping[str, Any]]) -> list[str]:
    """Request keys whose values differ between jobs, outermost first: the key whose value
    changes least often in creation order is the outer loop of whatever made the batch."""
    keys = list(dict.fromkeys(k for r in requests for k in r if k not in NOT_AXES))
    changes: dict[str, int] = {}
    for key in keys:
        values = [repr(r.get(key)) for r in requests]
        if len(set(values)) > 1:
            changes[key] = sum(a != b for a, b in pairwise(values))
    return sorted(changes, key=lambda k: (changes[k], keys.index(k)))


def sheet_axes(batch_id: str | None, jobs: Sequence[StoredJob]) -> list[str]:
    """The sweep's own parameters when the batch id names them, else whatever varies."""
    requests = [job.request for job in jobs]
    named = [n for n in swept_names(batch_id) if any(n in r for r in requests)]
    return named or varying(requests)


def sheet_layout(
    jobs: Sequence[StoredJob], axes: Sequence[str], *, columns: int = 4
) -> SheetLayout:
    """Two axes: a grid with one axis down and one across (several jobs per combination sit
    side by side). One axis: its values across, repeats down. None: `columns` per row."""
    requests = [job.request for job in jobs]
    rest = [key for key in varying(requests) if key not in axes[:2]]
    if "seed" not in axes[:2] and len({repr(r.get("seed")) for r in requests}) > 1:
        rest.append("seed")  # the same seed everywhere says nothing about one cell
    notes = {job.local_id: _note(job, rest) for job in jobs}
    if len(axes) >= 2:
        return _grid(jobs, axes[0], axes[1], notes)
    if len(axes) == 1:
        return _strip(jobs, axes[0], notes)
    ids = [job.local_id for job in jobs]
    width = max(1, min(columns, len(ids)))
    rows: list[tuple[str | None, ...]] = [
        tuple(ids[i : i + width]) for i in range(0, len(ids), width)
    ]
    if rows and len(rows[-1]) < width and len(rows) > 1:
        rows[-1] = rows[-1] + (None,) * (width - len(rows[-1]))
    return SheetLayout(None, None, ("",) * len(rows), ("",) * width, tuple(rows), notes)


def _note(job: StoredJob, keys: Sequence[str]) -> str:
    # A prompt speaks for itself; "prompt a red fox" would spend a cell's width on the name.
    return " · ".join(
        show_value(job.request.get(key))
        if key == "prompt"
        else f"{key} {show_value(job.request.get(key))}"
        for key in keys
    )


def _groups(jobs: Sequence[StoredJob], *keys: str) -> dict[tuple[str, ...], list[str]]:
    groups: dict[tuple[str, ...], list[str]] = {}
    for job in jobs:
        key = tuple(show_value(job.request.get(k)) for k in keys)
        groups.setdefault(key, []).append(job.local_id)
    return groups


def _grid(
    jobs: Sequence[StoredJob], down: str, across: str, notes: Mapping[str, str]
) -> SheetLayout:
    groups = _groups(jobs, down, across)
    rows = list(dict.fromkeys(r for r, _ in groups))
    cols = list(dict.fromkeys(c for _, c in groups))
    repeat = max(len(ids) for ids in groups.values())
    col_labels = [c + (f" #{i + 1}" if repeat > 1 else "") for c in cols for i in range(repeat)]
    cells = []
    for r in rows:
        line: list[str | None] = []
        for c in cols:
            ids = groups.get((r, c), [])
            line.extend(ids[i] if i < len(ids) else None for i in range(repeat))
        cells.append(tuple(line))
    return SheetLayout(down, across, tuple(rows), tuple(col_labels), tuple(cells), notes)


def _strip(jobs: Sequence[StoredJob], across: str, notes: Mapping[str, str]) -> SheetLayout:
    groups = _groups(jobs, across)
    cols = [c for (c,) in groups]
    repeat = max(len(ids) for ids in groups.values())
    cells = tuple(
        tuple(ids[i] if i < len(ids) else None for ids in groups.values()) for i in range(repeat)
    )
    row_labels = tuple(f"#{i + 1}" if repeat > 1 else "" for i in range(repeat))
    return SheetLayout(None, across, row_labels, tuple(cols), cells, notes)


# -- where the batch's time went -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StateTime:
    status: str
    jobs: int  # jobs that spent measurable time in it
    total: float  # seconds, summed over the batch
    median: float  # seconds, median over those jobs


def counts(jobs: Sequence[StoredJob]) -> dict[str, int]:
    """Jobs per state, in lifecycle order (unknown states last)."""
    found: dict[str, int] = {}
    for job in jobs:
        found[job.status] = found.get(job.status, 0) + 1
    return dict(sorted(found.items(), key=lambda item: _order(item[0])))


def state_times(timelines: Mapping[str, Sequence[TimelineEntry]], now: datetime) -> list[StateTime]:
    """Per state: seconds summed over the batch and the median per job. States passed unseen
    between two looks have no time of their own (see triage.state_durations)."""
    per_job: dict[str, list[float]] = {}
    for timeline in timelines.values():
        spent: dict[str, float] = {}
        for status, seconds in state_durations(timeline, now):
            spent[status] = spent.get(status, 0.0) + seconds
        for status, seconds in spent.items():
            per_job.setdefault(status, []).append(seconds)
    return [
        StateTime(status, len(values), sum(values), statistics.median(values))
        for status, values in sorted(per_job.items(), key=lambda item: _order(item[0]))
    ]


def _order(status: str) -> tuple[int, str]:
    return (STATE_ORDER.index(status) if status in STATE_ORDER else len(STATE_ORDER), status)
