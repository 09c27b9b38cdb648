"""TriageScreen (t): failed jobs grouped by the server's reason, and where batches spent time.

Enter (or r) sends a whole failure group again, R with new seeds; m marks the group's jobs in
the table and goes back, for any other bulk action.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Static

from krea_tui.core.bulk import noun
from krea_tui.core.events import JobEvent
from krea_tui.core.triage import BatchTimes, FailureGroup, batch_times, failure_groups
from krea_tui.tui.messages import EngineEvents
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.widgets.job_cells import format_duration

STATES = ("held", "queued", "scheduled", "processing", "sampling")
MAX_BATCHES = 30
REFRESH_DELAY = 0.5


def batch_row(times: BatchTimes) -> list[str | Text]:
    counts = times.counts
    outcome = f"{counts.get('completed', 0)}✓ {counts.get('failed', 0)}✗"
    spans = [format_duration(times.per_state[s]) if s in times.per_state else "·" for s in STATES]
    return [
        times.batch_id,
        f"{times.ended}/{times.jobs}",
        outcome,
        *spans,
        format_duration(times.wall),
    ]


class TriageScreen(KreaAccess, Screen[None]):
    DEFAULT_CSS = """
    TriageScreen { layout: vertical; }
    TriageScreen .heading { height: 1; padding: 0 1; text-style: bold; background: $panel; }
    TriageScreen #failures { height: 1fr; }
    TriageScreen #batches { height: 1fr; }
    """
    BINDINGS = [
        Binding("escape,q", "close", "Back", id="triage-close"),
        Binding("enter,r", "retry", "Retry group", id="triage-retry"),
        Binding("R", "retry(True)", "Retry, new seeds", id="triage-rerun-new-seed"),
        Binding("m", "mark", "Mark in table", id="triage-mark"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.groups: list[FailureGroup] = []
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Static("Failed jobs by cause", classes="heading", id="failures-heading")
        yield DataTable(id="failures", cursor_type="row")
        yield Static("Batches: mean time per job in each state", classes="heading")
        yield DataTable(id="batches", cursor_type="row")
        yield Footer()

    def on_mount(self) -> None:
        failures = self.query_one("#failures", DataTable)
        failures.add_column("Jobs", key="count", width=5)
        failures.add_column("Code", key="code", width=20)
        failures.add_column("Message", key="message")
        batches = self.query_one("#batches", DataTable)
        batches.add_column("Batch", key="batch", width=24)
        batches.add_column("Ended", key="ended", width=7)
        batches.add_column("Result", key="result", width=9)
        for state in STATES:
            batches.add_column(state.capitalize(), key=state, width=10)
        batches.add_column("Wall", key="wall", width=5)
        self.refresh_data()
        failures.focus()

    def refresh_data(self) -> None:
        self._timer = None
        store = self.krea.store
        jobs = store.jobs()
        self.groups = failure_groups(jobs)
        failures = self.query_one("#failures", DataTable)
        keep = failures.cursor_row
        failures.clear()
        for index, group in enumerate(self.groups):
            failures.add_row(str(len(group.jobs)), group.code or "—", group.message, key=str(index))
        if self.groups:
            failures.move_cursor(row=min(keep, len(self.groups) - 1))
        total = sum(len(g.jobs) for g in self.groups)
        self.query_one("#failures-heading", Static).update(
            f"Failed jobs by cause: {noun(total, 'failed job')} · enter retries a group"
            if total
            else "No failed jobs"
        )
        by_batch: dict[str, list[Any]] = {}
        for job in jobs:
            if job.batch_id:
                by_batch.setdefault(job.batch_id, []).append(job)
        newest = sorted(by_batch, key=lambda b: by_batch[b][-1].position, reverse=True)
        batches = self.query_one("#batches", DataTable)
        batches.clear()
        now = self.krea.now()
        for batch_id in newest[:MAX_BATCHES]:
            members = by_batch[batch_id]
            timelines = {job.local_id: store.timeline(job.local_id) for job in members}
            batches.add_row(
                *batch_row(batch_times(batch_id, members, timelines, now)), key=batch_id
            )

    def on_engine_events(self, message: EngineEvents) -> None:
        changed = any(isinstance(event, JobEvent) for event in message.events)
        if changed and self._timer is None:
            self._timer = self.set_timer(REFRESH_DELAY, self.refresh_data)

    @on(DataTable.RowSelected, "#failures")
    def _on_group_chosen(self) -> None:
        self.action_retry()  # enter on the table: the table takes the key before the screen

    def _group(self) -> FailureGroup | None:
        failures = self.query_one("#failures", DataTable)
        if not self.groups or failures.cursor_row >= len(self.groups):
            return None
        return self.groups[failures.cursor_row]

    def action_retry(self, new_seed: bool = False) -> None:
        group = self._group()
        if group is None:
            return

        what = f"the {noun(len(group.jobs), 'job')} that failed with “{group.label}”"
        self.krea.resend(group.jobs, new_seed=new_seed, what=what)

    def action_mark(self) -> None:
        group = self._group()
        if group is None:
            return
        from krea_tui.tui.screens.main import MainScreen

        main = self.app.screen_stack[0]
        if isinstance(main, MainScreen):
            main.table.clear_marks()
            main.table.set_marks([job.local_id for job in group.jobs], True)
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()
