"""JobTable: every job, one row each, updated cell by cell as events arrive.

Rows are keyed by the local job id and never rebuilt: a status event touches the few cells that
changed, so the cursor and scroll position stay put and a thousand rows stay smooth. Columns
have fixed widths because re-measuring a column on every update is quadratic in DataTable.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import CellDoesNotExist, RowDoesNotExist

from krea_tui.core.store import StoredJob, utcnow
from krea_tui.tui.status_style import progress_text, status_text

COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("id", "ID", 8),
    ("status", "Status", 12),
    ("progress", "Prog", 6),
    ("prompt", "Prompt", 24),  # widened to fill the table; see `fit_prompt`
    ("model", "Model", 12),
    ("time", "Time", 4),
    ("seed", "Seed", 10),
    ("size", "Size", 9),
)
# Columns that stay visible at 80 cells; the rest are a scroll (or the detail pane) away.
FIRST_SCREEN = ("id", "status", "progress", "prompt", "model", "time")
MIN_PROMPT = 16


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
    """Run time for finished jobs, time since it was asked for otherwise."""
    end = job.finished_at or now
    return format_duration((end - job.created_at).total_seconds())


def model_label(model: str) -> str:
    return model.rsplit("/", 1)[-1]


class JobTable(DataTable[Text | str]):
    BINDINGS = [
        Binding("j", "cursor_down", "Down", show=False, id="table-down"),
        Binding("k", "cursor_up", "Up", show=False, id="table-up"),
        Binding("g", "scroll_top", "Top", show=False, id="table-top"),
        Binding("G", "scroll_bottom", "Bottom", show=False, id="table-bottom"),
        Binding("ctrl+d", "page_down", "Page down", show=False, id="table-page-down"),
        Binding("ctrl+u", "page_up", "Page up", show=False, id="table-page-up"),
    ]

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=False)
        for key, label, width in COLUMNS:
            self.add_column(label, key=key, width=width)

    def cells(self, job: StoredJob, now: datetime) -> list[Text | str]:
        seed = job.request.get("seed")
        return [
            job.short_id,
            status_text(job.status),
            progress_text(job.status),
            Text(job.prompt.replace("\n", " "), overflow="ellipsis", no_wrap=True),
            model_label(job.model),
            job_time(job, now),
            "" if seed is None else str(seed),
            job_size(job),
        ]

    def fit_prompt(self, width: int) -> None:
        """Give the prompt what the first-screen columns leave of `width` cells."""
        padding = 2 * self.cell_padding
        others = sum(
            w + padding for key, _, w in COLUMNS if key in FIRST_SCREEN and key != "prompt"
        )
        wanted = max(MIN_PROMPT, width - others - padding - 2)
        column = self.columns.get("prompt")  # type: ignore[call-overload]
        if column is not None and column.width != wanted:
            column.width = wanted
            self._require_update_dimensions = True
            self._clear_caches()
            self.refresh()

    def on_resize(self) -> None:
        self.fit_prompt(self.size.width)

    def _now(self) -> datetime:
        return getattr(self.app, "now", utcnow)()

    def load(self, jobs: list[StoredJob]) -> None:
        """Fill the table once, at start; later changes go through `upsert`."""
        now = self._now()
        for job in jobs:
            self.add_row(*self.cells(job, now), key=job.local_id)

    def upsert(self, job: StoredJob) -> None:
        """Add a new job's row, or update the cells of an existing one (cursor stays put)."""
        now = self._now()
        if job.local_id not in self.rows:
            self.add_row(*self.cells(job, now), key=job.local_id)
            return
        values = dict(zip((c[0] for c in COLUMNS), self.cells(job, now), strict=True))
        for key in ("id", "status", "progress", "time"):
            self._set(job.local_id, key, values[key])

    def refresh_times(self, jobs: list[StoredJob]) -> None:
        now = self._now()
        for job in jobs:
            self._set(job.local_id, "time", job_time(job, now))

    def _set(self, row: str, column: str, value: Text | str) -> None:
        try:
            if self.get_cell(row, column) != value:
                self.update_cell(row, column, value)
        except (CellDoesNotExist, RowDoesNotExist):
            pass

    def drop(self, local_id: str) -> None:
        if local_id in self.rows:
            self.remove_row(local_id)

    @property
    def current_id(self) -> str | None:
        if not self.row_count:
            return None
        try:
            row_key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        except CellDoesNotExist:
            return None
        return row_key.value

    def action_scroll_top(self) -> None:
        self.move_cursor(row=0)

    def action_scroll_bottom(self) -> None:
        self.move_cursor(row=self.row_count - 1)
