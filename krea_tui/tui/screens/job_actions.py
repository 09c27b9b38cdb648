"""What the main screen's keys do to jobs: one job under the cursor, or every marked one.

A mixin of MainScreen: it needs `krea` (the app), `model` (the queue model), `table` (the
QueueTable drawing it) and `current_job()`. Actions that touch many jobs ask once, saying how
many, and report once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from krea_tui.config import ConfigError
from krea_tui.core import bulk
from krea_tui.core.bulk import noun
from krea_tui.core.events import EngineEvent, JobEvent, RemovedEvent
from krea_tui.core.store import StoredJob
from krea_tui.tui.screens.enhance import enhance_jobs
from krea_tui.tui.screens.modals import AskModal, ConfirmModal
from krea_tui.tui.status_style import word

if TYPE_CHECKING:
    from textual.worker import ResultType, Worker, WorkType

    from krea_tui.core.queue_model import QueueModel
    from krea_tui.tui.app import KreaApp
    from krea_tui.tui.widgets.queue_table import QueueTable


class JobActions:
    """Mixed into MainScreen (a Screen); the attributes below are the screen's."""

    if TYPE_CHECKING:
        app: Any

        @property
        def krea(self) -> KreaApp: ...
        @property
        def model(self) -> QueueModel: ...
        @property
        def table(self) -> QueueTable: ...

        def current_job(self) -> StoredJob | None: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def run_worker(
            self,
            work: WorkType[ResultType],
            name: str | None = "",
            group: str = "default",
            description: str = "",
            exit_on_error: bool = True,
            start: bool = True,
            exclusive: bool = False,
            thread: bool = False,
        ) -> Worker[ResultType]: ...
        def handle_batch(self, events: Sequence[EngineEvent]) -> None: ...
        def set_filter(self, text: str, *, typing: bool | None = None) -> None: ...

    # -- which jobs --------------------------------------------------------------------------------

    def targets(self) -> list[StoredJob]:
        """The marked jobs (in table order, hidden ones too), else the batch under the cursor
        if it is a header, else the cursor's job."""
        model, table = self.model, self.table
        if model.marks:
            return model.targets()[0]
        if table.current_id is None and table.current_key is not None:
            return model.batch_jobs(table.current_batch)
        job = self.current_job()
        return [job] if job is not None else []

    def _hidden_note(self, jobs: Sequence[StoredJob]) -> str:
        hidden = sum(1 for job in jobs if not self.model.matches(job))
        return f" ({hidden} hidden by the filter)" if hidden else ""

    def confirm(self, question: str, yes: str, then: Callable[[], Awaitable[None] | None]) -> None:
        async def answered(ok: bool | None) -> None:
            if ok:
                result = then()
                if result is not None:
                    await result

        self.app.push_screen(ConfirmModal(question, yes, "Keep"), answered)

    def _engine_ready(self) -> bool:
        if not self.krea.ready:
            self.notify("The engine is not running yet.", severity="warning")
        return self.krea.ready

    # -- one job -----------------------------------------------------------------------------------

    def action_new_job(self) -> None:
        self.krea.open_compose()

    def action_edit_job(self) -> None:
        job = self.current_job()
        if job is not None:
            self.krea.open_compose(model=job.model, request=job.request, parent=job.local_id)

    def action_open_result(self) -> None:
        job = self.current_job()
        if job is None:
            return
        if not job.files:
            self.notify(f"{job.short_id} has no saved result yet ({word(job.status)})", timeout=3)
            return
        self.krea.open_viewer(job.local_id)

    def action_toggle_queue(self) -> None:
        if self._engine_ready():
            self.krea.toggle_queue()

    def action_triage(self) -> None:
        if not self._engine_ready():
            return
        from krea_tui.tui.screens.triage import TriageScreen

        self.app.push_screen(TriageScreen())

    # -- many jobs ---------------------------------------------------------------------------------

    def action_cancel_job(self) -> None:
        jobs = [job for job in self.targets() if not job.is_final]
        if not jobs or not self._engine_ready():
            if self.targets():
                self.notify("Nothing to cancel: ended already", timeout=3)
            return

        async def go() -> None:
            self.table.clear_marks()
            self.notify(await bulk.cancel_all(self.krea.engine, jobs), timeout=5)

        def start() -> None:
            self.run_worker(go(), group="bulk", exit_on_error=False)

        what = "this job" if len(jobs) == 1 else f"these {noun(len(jobs))}"
        self.confirm(f"Cancel {what}{self._hidden_note(jobs)}?", "Cancel jobs", start)

    def _requeue(self, *, new_seed: bool) -> None:
        jobs = self.targets()
        if jobs and self._engine_ready():
            self.krea.resend(
                jobs, new_seed=new_seed, note=self._hidden_note(jobs), sent=self.table.clear_marks
            )

    def action_rerun(self) -> None:
        self._requeue(new_seed=False)

    def action_rerun_new_seed(self) -> None:
        self._requeue(new_seed=True)

    def action_copy_id(self) -> None:
        jobs = self.targets()
        if jobs:
            ids = "\n".join(job.remote_id or job.local_id for job in jobs)
            self.krea.copy(ids, "job id" if len(jobs) == 1 else f"{len(jobs)} job ids")

    def action_download(self) -> None:
        jobs = self.targets()
        if not jobs or not self._engine_ready():
            return

        def go() -> None:
            self.table.clear_marks()
            self.notify(bulk.download_all(self.krea.engine, jobs), timeout=4)

        if len(jobs) == 1:
            go()
            return
        self.confirm(f"Save the results of {noun(len(jobs))}?", "Save", go)

    def action_enhance(self) -> None:
        """Upscale the results of the marked jobs (or the cursor's batch or job): asked with
        the price first (screens/enhance.py); jobs without results are left out, and said so."""
        jobs = self.targets()
        if not jobs or not self._engine_ready():
            return
        enhance_jobs(self.krea, jobs, sent=self.table.clear_marks)

    def action_remove(self) -> None:
        jobs = self.targets()
        gone = bulk.removable(jobs)
        if not gone or not self._engine_ready():
            if jobs:
                self.notify("Only ended jobs leave the history; these are still going", timeout=4)
            return
        kept = len(jobs) - len(gone)

        def go() -> None:
            ids = tuple(job.local_id for job in gone)
            removed = self.krea.engine.remove(ids)
            self.handle_batch([RemovedEvent(ids)])  # other processes learn it from the store
            self.notify(f"Removed {noun(removed)} from the history (files stay)", timeout=4)

        note = f"; {kept} still going stay" if kept else ""
        question = f"Remove {noun(len(gone))} from the history{self._hidden_note(gone)}{note}?"
        self.confirm(question, "Remove", go)

    # -- marks -------------------------------------------------------------------------------------

    def action_toggle_mark(self) -> None:
        self.table.toggle_mark()
        self.table.action_cursor_down()

    def action_mark_move(self, step: int) -> None:
        table = self.table
        here = table.current_id
        if here is not None:
            table.set_marks([here], True)
        table.move_cursor(row=table.cursor_row + step)
        there = table.current_id
        if there is not None:
            table.set_marks([there], True)

    def action_mark_range(self) -> None:
        table = self.table
        start = None if self._anchor is None else table.index_of_key(self._anchor)
        if start is None:
            self._anchor = table.current_key
            self.notify("Range starts here: move, then press v again", timeout=3)
            return
        table.mark_rows(start, table.cursor_row)
        self._anchor = None

    def action_mark_all(self) -> None:
        self.table.mark_all()

    def action_invert_marks(self) -> None:
        self.table.invert_marks()

    def action_clear_marks(self) -> None:
        self.table.clear_marks()

    _anchor: str | None

    # -- the local queue ---------------------------------------------------------------------------

    def _reload_held(self) -> None:
        """Positions changed in the store: the queue is read and laid out again."""
        self.model.refresh()
        self.table.reload()

    def action_move_held(self, offset: int) -> None:
        job = self.current_job()
        if job is None or not self._engine_ready():
            return
        if job.status != "held":
            self.notify(f"{job.short_id} is {word(job.status)}: only held jobs move", timeout=3)
            return
        if self.krea.engine.move_held(job.local_id, offset):
            self._reload_held()

    def action_edit_held(self) -> None:
        job = self.current_job()
        if job is None or not self._engine_ready():
            return
        if job.status != "held":
            self.notify(
                f"{job.short_id} is {word(job.status)}: only held jobs can be edited in place "
                "(e opens a new job from it)",
                timeout=4,
            )
            return
        from krea_tui.tui.screens.edit_held import EditHeldModal

        def saved(request: dict[str, Any] | None) -> None:
            if request is None:
                return
            if not self.krea.engine.edit_held(job.local_id, request, self.krea.catalog):
                self.notify(
                    f"{job.short_id} was sent meanwhile; nothing changed", severity="warning"
                )
                return
            edited = self.krea.store.get(job.local_id)
            self.handle_batch([JobEvent(edited, edited.status, edited.status)])
            self.notify(f"{job.short_id} changed; it is still held", timeout=3)

        self.app.push_screen(EditHeldModal(job, self.krea.catalog), saved)

    def action_cancel_held_batch(self) -> None:
        batch = self.table.current_batch
        if batch is None or not self._engine_ready():
            self.notify("The cursor is not on a job of a batch", timeout=3)
            return
        held = self.krea.store.jobs(statuses=["held"], batch_id=batch)
        if not held:
            self.notify(f"Batch {batch} has no held jobs left", timeout=3)
            return

        async def go() -> None:
            self.notify(await bulk.cancel_all(self.krea.engine, held) + " (held)", timeout=4)

        def start() -> None:
            self.run_worker(go(), group="bulk", exit_on_error=False)

        question = (
            f"Cancel the {noun(len(held), 'held job')} of batch {batch}? "
            "Jobs already sent keep running."
        )
        self.confirm(question, "Cancel held", start)

    # -- saved views -------------------------------------------------------------------------------

    def _views_path(self) -> Any:
        from krea_tui.views import views_path

        return views_path(getattr(self.krea.settings, "config_path", None))

    def action_save_view(self) -> None:
        from krea_tui.views import SavedView, check_name, save_view

        view = self.model.view

        def named(name: str | None) -> None:
            if not name:
                return
            saved = SavedView(name, view.query.text, view.sort, view.reverse, view.group)
            try:
                save_view(self._views_path(), saved)
            except (ConfigError, OSError) as exc:
                self.notify(f"View not saved: {exc}", severity="error", timeout=8)
                return
            self.notify(f"Saved view {name!r} (V recalls it)", timeout=3)

        self.app.push_screen(
            AskModal("Save this view as", check=check_name, placeholder="e.g. failed-flux"),
            named,
        )

    def action_recall_view(self) -> None:
        from krea_tui.tui.screens.views import ViewsModal
        from krea_tui.views import load_views

        try:
            views = load_views(self._views_path())
        except ConfigError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        if not views:
            self.notify("No saved views yet: w saves the current one", timeout=3)
            return
        self.app.push_screen(ViewsModal(list(views.values()), self._views_path()), self.apply_view)

    def apply_view(self, saved: Any) -> None:
        if saved is None:
            return
        from krea_tui.core.query import parse

        view = replace(
            self.model.view,
            query=parse(saved.filter),
            sort=saved.sort,
            reverse=saved.reverse,
            group=saved.group,
        )
        self.set_filter(saved.filter, typing=False)
        self.table.set_view(view)
