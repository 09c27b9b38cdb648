"""MainScreen: the live job table, the detail pane and the status bar."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import DataTable, Footer

from krea_tui.core.events import (
    ConnectionEvent,
    DownloadEvent,
    EngineEvent,
    JobEvent,
    NoticeEvent,
    PreviewEvent,
    QueueEvent,
)
from krea_tui.core.store import StoredJob
from krea_tui.tui.status_style import word
from krea_tui.tui.widgets.job_detail import JobDetail
from krea_tui.tui.widgets.job_table import JobTable
from krea_tui.tui.widgets.status_bar import StatusBar, Summary, summarize_jobs

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp

TIME_REFRESH_SECONDS = 2.0


class MainScreen(Screen[None]):
    BINDING_GROUP_TITLE = "Jobs"
    DEFAULT_CSS = """
    MainScreen #panes { height: 1fr; }
    MainScreen JobTable { width: 3fr; min-width: 40; height: 1fr; }
    MainScreen JobDetail { width: 2fr; min-width: 30; border-left: solid $panel-lighten-2; }
    MainScreen.-narrow JobDetail { display: none; }
    """
    BINDINGS = [
        Binding("n", "new_job", "New", id="new-job"),
        Binding("enter", "open_result", "Open", id="open-result"),
        Binding("c", "cancel_job", "Cancel", id="cancel-job"),
        Binding("r", "rerun", "Re-run", id="rerun"),
        Binding("e", "edit_job", "Edit", show=False, id="edit-job"),
        Binding("p", "toggle_queue", "Pause/Resume", id="toggle-queue"),
        Binding("d", "toggle_detail", "Detail", show=False, id="toggle-detail"),
        Binding("y", "copy_id", "Copy id", show=False, id="copy-job-id"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._summary = Summary()
        self._narrow = False
        self._mounted = False
        self.loaded = False

    @property
    def krea(self) -> KreaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Horizontal(id="panes"):
            yield JobTable(id="jobs")
            yield JobDetail(id="detail")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StatusBar).summary = Summary(demo=self.krea.settings.demo)
        self.set_interval(TIME_REFRESH_SECONDS, self._refresh_times)
        self._apply_width(self.size.width)
        self._mounted = True
        if self.krea.ready:
            self.load()

    def on_resize(self) -> None:
        self._apply_width(self.size.width)

    def _apply_width(self, width: int) -> None:
        # At 80 columns the table needs the whole width; the detail pane is one key away.
        if width and not self._narrow and width < 110:
            self._narrow = True
            self.add_class("-narrow")

    # -- engine → widgets ----------------------------------------------------------------------

    def load(self) -> None:
        """Fill from the history once both the widgets and the engine exist; events that
        arrived before are already in the store."""
        if self.loaded or not self._mounted or not self.krea.ready:
            return
        self.loaded = True
        store = self.krea.store
        jobs = store.jobs()
        table = self.query_one(JobTable)
        table.load(jobs)
        if jobs:
            table.move_cursor(row=len(jobs) - 1)
        counts, spend = summarize_jobs(jobs)
        engine = self.krea.engine
        self._set_summary(
            counts=counts,
            spend=spend,
            connection=engine.connection,
            paused=engine.paused,
            pause_reason=engine.pause_reason,
        )
        self._show_current()

    def _set_summary(self, **changes: object) -> None:
        from dataclasses import replace

        self._summary = replace(self._summary, demo=self.krea.settings.demo, **changes)
        self.query_one(StatusBar).summary = self._summary

    def handle(self, event: EngineEvent) -> None:
        if not self.loaded:
            return
        table = self.query_one(JobTable)
        if isinstance(event, JobEvent):
            table.upsert(event.job)
            counts = dict(self._summary.counts)
            if event.old is not None:
                counts[event.old] = max(0, counts.get(event.old, 0) - 1)
            counts[event.new] = counts.get(event.new, 0) + 1
            spend = dict(self._summary.spend)
            job = event.job
            if event.new == "completed" and job.cost_estimate is not None:
                unit = job.cost_unit or "?"
                spend[unit] = spend.get(unit, 0.0) + job.cost_estimate
            self._set_summary(counts=counts, spend=spend)
            if event.new in ("failed",) and event.old is not None:
                self.notify(
                    f"{job.short_id} failed: {job.error_message or 'no reason given'}",
                    severity="warning",
                    timeout=6,
                )
            if table.current_id == job.local_id:
                self._show_current()
        elif isinstance(event, PreviewEvent):
            if table.current_id == event.job.local_id:
                self._show_current()
        elif isinstance(event, DownloadEvent):
            if table.current_id == event.job.local_id:
                self._show_current()
            if event.error:
                self.notify(f"saving {event.job.short_id} failed: {event.error}", severity="error")
        elif isinstance(event, QueueEvent):
            self._set_summary(paused=event.paused, pause_reason=event.reason)
            if event.paused and event.reason:
                self.krea.show_error("Queue paused", event.reason)
        elif isinstance(event, ConnectionEvent):
            self._set_summary(connection=event.state, connection_detail=event.detail)
            if event.state != "ok" and event.detail:
                wait = f" (retrying in {event.retry_in:.0f}s)" if event.retry_in else ""
                self.notify(f"{event.detail}{wait}", severity="warning", timeout=4)
        elif isinstance(event, NoticeEvent):
            self.notify(event.message, severity=event.severity)  # type: ignore[arg-type]

    def _refresh_times(self) -> None:
        if not self.loaded:
            return
        active = self.krea.store.active_remote()
        self.query_one(JobTable).refresh_times(active)

    @on(DataTable.RowHighlighted, "#jobs")
    def _on_highlight(self) -> None:
        self._show_current()

    @on(DataTable.RowSelected, "#jobs")
    def _on_select(self) -> None:
        self.action_open_result()

    def _show_current(self) -> None:
        job = self.current_job()
        timeline = self.krea.store.timeline(job.local_id) if job else []
        preview = self.krea.engine.downloads.preview_path(job.local_id) if job else None
        self.query_one(JobDetail).show(job, timeline, preview=preview)

    def current_job(self) -> StoredJob | None:
        if not self.krea.ready:
            return None
        local_id = self.query_one(JobTable).current_id
        if local_id is None:
            return None
        try:
            return self.krea.store.get(local_id)
        except KeyError:
            return None

    # -- actions -------------------------------------------------------------------------------

    def action_new_job(self) -> None:
        self.krea.open_compose()

    def action_edit_job(self) -> None:
        job = self.current_job()
        if job is not None:
            self.krea.open_compose(model=job.model, request=job.request)

    def action_open_result(self) -> None:
        job = self.current_job()
        if job is None:
            return
        if not job.files:
            self.notify(f"{job.short_id} has no saved result yet ({word(job.status)})", timeout=3)
            return
        self.krea.open_viewer(job.local_id)

    async def action_cancel_job(self) -> None:
        job = self.current_job()
        if job is not None:
            await self.krea.cancel_jobs([job])

    def action_rerun(self) -> None:
        job = self.current_job()
        if job is not None:
            self.krea.rerun(job, new_seed=False)

    def action_toggle_queue(self) -> None:
        self.krea.toggle_queue()

    def action_toggle_detail(self) -> None:
        self.toggle_class("-narrow")
        self._narrow = self.has_class("-narrow")

    def action_copy_id(self) -> None:
        job = self.current_job()
        if job is not None:
            self.krea.copy(job.remote_id or job.local_id, "job id")
