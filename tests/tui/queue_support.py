"""Helpers for the queue-view tests: a big mixed history, and an app on a live simulator."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from textual.app import App, ComposeResult
from textual.geometry import Region

from krea_tui.config import Settings
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.store import JobStore, StoredJob, utcnow
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.main import MainScreen
from krea_tui.tui.widgets.queue_table import QueueTable, row_key
from tests.conftest import TOKEN_A

CAUSES = [
    ("content_moderation", "The output was blocked by content moderation."),
    ("provider_error", "The model provider returned an error."),
]
# One in three jobs failed, the rest done or cancelled: a realistic bad afternoon.
MIX = ["completed", "failed", "completed", "failed", "cancelled", "failed"]


def live_settings(tmp_path: Path, base_url: str, **changes: Any) -> Settings:
    """Real (not demo) settings against a simulator: fast polling, no request budget to speak
    of, room for many jobs in flight."""
    values: dict[str, Any] = {
        "base_url": base_url,
        "token": TOKEN_A,
        "data_dir": tmp_path / "data",
        "output_dir": tmp_path / "out",
        "demo": False,
        "min_interval": 0.1,
        "max_interval": 0.1,
        "max_in_flight": 64,
        "max_posts": 8,
        "request_budget": 1000.0,
    }
    values.update(changes)
    return Settings(**values)


def fill_mixed(path: Path, count: int, *, batch_every: int = 0) -> dict[str, int]:
    """`count` ended jobs with full requests, oldest first; returns how many of each status.
    Every `batch_every` jobs share a batch id (0: no batches)."""
    store = JobStore(path)
    now = utcnow()
    counts: dict[str, int] = {}
    with store.transaction():
        for n in range(count):
            status = MIX[n % len(MIX)]
            created = now - timedelta(seconds=10 * (count - n))
            batch = f"b-old-{n // batch_every}" if batch_every else None
            job = store.add_job(
                "bfl/flux-1-dev",
                {"prompt": f"job {n} a fox", "seed": n, "steps": 4},
                now=created,
                batch_id=batch,
                cost_estimate=0.007,
                cost_unit="USD",
            )
            store.update(job.local_id, remote_id=f"old-{n:05d}", submitted_at=created)
            store.set_status(job.local_id, "queued", created + timedelta(seconds=1))
            store.set_status(job.local_id, "processing", created + timedelta(seconds=2))
            changes: dict[str, Any] = {}
            if status == "failed":
                code, message = CAUSES[(n // 2) % 2]
                changes = {"error_code": code, "error_message": message}
            store.set_status(job.local_id, status, created + timedelta(seconds=5), **changes)
            counts[status] = counts.get(status, 0) + 1
    store.close()
    return counts


def main_screen(app: KreaApp) -> MainScreen:
    screen = app.screen_stack[0]
    assert isinstance(screen, MainScreen)
    return screen


def mixed_app(tmp_path: Path, count: int = 60, *, batch_every: int = 0) -> KreaApp:
    """An app over `fill_mixed` jobs whose engine never runs (nothing changes by itself)."""
    from tests.tui.conftest import settings_in
    from tests.tui.history import NOW, static_runtime_factory

    settings = settings_in(tmp_path)
    fill_mixed(settings.history_path, count, batch_every=batch_every)
    return KreaApp(
        settings,
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, count),
        clock=lambda: NOW,
    )


def store_of(path: Path, jobs: list[StoredJob]) -> JobStore:
    """A history holding exactly `jobs` (ids, statuses, times and all), in their order."""
    store = JobStore(path)
    with store.transaction():
        for job in jobs:
            store.add_job(job.model, job.request, local_id=job.local_id, now=job.created_at)
            store.update(
                job.local_id,
                status=job.status,
                remote_id=job.remote_id,
                submitted_at=job.submitted_at,
                remote_created_at=job.remote_created_at,
                finished_at=job.finished_at,
                cost_estimate=job.cost_estimate,
                cost_unit=job.cost_unit,
                batch_id=job.batch_id,
            )
    return store


class TableApp(App[None]):
    """A bare app with one QueueTable over `model`, its clock at `now`."""

    def __init__(self, model: QueueModel, now: datetime) -> None:
        super().__init__()
        self.model, self.clock = model, now

    def compose(self) -> ComposeResult:
        yield QueueTable(self.model, now=lambda: self.clock, id="jobs")

    def now(self) -> datetime:
        return self.clock


def table_line(table: QueueTable, y: int) -> str:
    """Line `y` of the table as the terminal shows it (0: the column labels)."""
    strip = table.render_lines(Region(0, y, table.size.width, 1))[0]
    return "".join(segment.text for segment in strip)


def cell(table: QueueTable, key: str, column: str) -> str:
    """What a row's cell says (`key`: a job id, or HEADER + a batch id); the row is shown."""
    texts = table.cell_texts(key)
    assert texts is not None, f"{key} is not in the view"
    return texts[column]


def in_table(table: QueueTable, local_id: str) -> bool:
    """Whether the table has drawn `local_id`'s row in (its events handled), not merely
    whether the history holds it."""
    return any(row_key(row) == local_id for row in table.rows(0, table.row_count))
