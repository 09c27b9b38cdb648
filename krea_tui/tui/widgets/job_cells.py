"""What each cell of the job table says about a job (the table decides which cells show)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any

from rich.text import Text

from krea_tui.core.batch import SWEEP_PREFIX, swept_names
from krea_tui.core.job_order import age_seconds, ran_seconds
from krea_tui.core.ratings import PICK, REJECT, label
from krea_tui.core.store import StoredJob
from krea_tui.tui.status_style import progress_text, status_text

MARK = Text("●", style="bold yellow")
Cell = Text | str

_BATCH_ID = re.compile(r"^(?P<prefix>b|sweep-)(?P<stamp>\d{8}-\d{6})-[0-9a-f]+(?:\+.*)?$")


def batch_label(batch_id: str | None, now: datetime) -> tuple[str, str, str]:
    """(kind, when, name) for a batch header: ("batch", "23:11:45", "") for
    `b20261129-231145-3fa2` sent today (the id's time, UTC, as the id says it), "Nov 29 23:11"
    on another day; ("sweep", …, "steps × guidance_scale_flux") for a sweep; an id made
    elsewhere is shown as it is."""
    if batch_id is None:
        return "other", "no batch", ""
    found = _BATCH_ID.match(batch_id)
    if found is None:
        return "batch", batch_id, batch_id if len(batch_id) > 12 else ""
    stamp = datetime.strptime(found["stamp"], "%Y%m%d-%H%M%S")
    when = stamp.strftime("%H:%M:%S" if stamp.date() == now.date() else "%b %d %H:%M")
    if found["prefix"] == SWEEP_PREFIX:
        return "sweep", when, " × ".join(swept_names(batch_id))
    return "batch", when, ""


def format_duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m"
    if seconds < 86400:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def job_size(job: StoredJob) -> str:
    request = job.request
    if request.get("width") and request.get("height"):
        return f"{request['width']}×{request['height']}"
    return str(request.get("aspect_ratio") or request.get("resolution") or "")


def job_time(job: StoredJob, now: datetime) -> str:
    """The "Ran" cell: the server's time on the job (not the time held here), as `krea-tui
    jobs` shows it; empty for a job the server has not had."""
    ran = ran_seconds(job, now)
    return "" if ran is None else format_duration(ran)


def job_age(job: StoredJob, now: datetime) -> str:
    """The "Age" cell: since the job was asked for, as `krea-tui jobs` shows it."""
    return format_duration(age_seconds(job, now))


def job_cost(job: StoredJob) -> str:
    if job.cost_estimate is None:
        return ""
    if job.cost_unit in (None, "USD"):
        return f"${job.cost_estimate:.3f}"
    return f"{job.cost_estimate:g} {job.cost_unit}"


def model_label(model: str) -> str:
    return model.rsplit("/", 1)[-1]


# One Text per status, shared by every row in it: building three Text objects per row was a
# third of laying out a 10,000-job history. Cells are never mutated (DataTable renders them
# as they are, and MARK is shared the same way).
_STATUS_CELLS: dict[str, tuple[Text, Text]] = {}


def status_cells(status: str) -> tuple[Text, Text]:
    """The status and progress cells of a job in `status`."""
    cells = _STATUS_CELLS.get(status)
    if cells is None:
        cells = _STATUS_CELLS[status] = (status_text(status), progress_text(status))
    return cells


def _seed(job: StoredJob) -> str:
    seed = job.request.get("seed")
    return "" if seed is None else str(seed)


_RATING_CELLS: dict[tuple[int | None, int | None], Text] = {}


def rating_cell(job: StoredJob) -> Text:
    """`✔★★★`: the pick (green ✔) or reject (red ✘), then the rating's stars; shared per
    value, as the status cells are."""
    key = (job.rating, job.pick)
    cell = _RATING_CELLS.get(key)
    if cell is None:
        flag = {PICK: ("✔", "bold green"), REJECT: ("✘", "bold red")}.get(job.pick or 0)
        cell = Text.assemble(flag or "", (label(replace(job, pick=None)), "yellow"))
        _RATING_CELLS[key] = cell
    return cell


def prompt_cell(job: StoredJob) -> Text:
    """The prompt on one line; an upscale, which has none, says what it makes of which job."""
    if job.prompt or not job.model.startswith("enhance/"):
        return Text(job.prompt.replace("\n", " "), overflow="ellipsis", no_wrap=True)
    size = f"{job.request.get('width', '?')}×{job.request.get('height', '?')}"
    source = f" of {job.parent_id[:8]}" if job.parent_id else ""
    return Text(f"enhance {size}{source}", style="dim", overflow="ellipsis", no_wrap=True)


# Column key -> its cell; `marks` are the marked job ids. Only the shown columns are asked.
CELLS: dict[str, Callable[[StoredJob, datetime, Any], Cell]] = {
    "mark": lambda job, now, marks: MARK if job.local_id in marks else "",
    "id": lambda job, now, marks: job.short_id,
    "status": lambda job, now, marks: status_cells(job.status)[0],
    "progress": lambda job, now, marks: status_cells(job.status)[1],
    "prompt": lambda job, now, marks: prompt_cell(job),
    "model": lambda job, now, marks: model_label(job.model),
    "age": lambda job, now, marks: job_age(job, now),
    "time": lambda job, now, marks: job_time(job, now),
    "cost": lambda job, now, marks: job_cost(job),
    "seed": lambda job, now, marks: _seed(job),
    "size": lambda job, now, marks: job_size(job),
    "rating": lambda job, now, marks: rating_cell(job),
}
