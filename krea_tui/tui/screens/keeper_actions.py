"""What the main screen's keys do to choose the keepers: rate and pick (`*` then 0-5, `+`,
`-`; see rating_keys), export what is shown (`X`), and A/B the results shown (`a`).

A mixin of MainScreen, as `job_actions.JobActions` is: it needs `krea` (the app), `model` (the
queue model), `table` and `targets()` (the marked jobs, else the cursor's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from krea_tui.core.bulk import noun
from krea_tui.core.store import StoredJob
from krea_tui.tui.screens.modals import AskModal

if TYPE_CHECKING:
    from krea_tui.core.queue_model import QueueModel
    from krea_tui.tui.app import KreaApp
    from krea_tui.tui.widgets.queue_table import QueueTable


class KeeperActions:
    """Mixed into MainScreen (a Screen); the attributes below are the screen's."""

    if TYPE_CHECKING:
        app: Any

        @property
        def krea(self) -> KreaApp: ...
        @property
        def model(self) -> QueueModel: ...
        @property
        def table(self) -> QueueTable: ...

        def targets(self) -> list[StoredJob]: ...
        def notify(self, message: str, **kwargs: Any) -> None: ...
        def run_worker(self, work: Any, *args: Any, **kwargs: Any) -> Any: ...

    # -- ratings and picks (rating_keys) ---------------------------------------------------------

    def action_rate(self) -> None:
        """`*`: the next key rates (0-5), picks (+) or rejects (-) the cursor's job or the
        marked ones."""
        from krea_tui.tui.rating_keys import RateModal

        jobs = self.targets()
        if not jobs:
            return

        def chosen(judgement: tuple[str, int] | None) -> None:
            if judgement is not None:
                self._judge(judgement)

        self.app.push_screen(RateModal(len(jobs)), chosen)

    def action_judge(self, kind: str, value: int) -> None:
        self._judge((kind, value))

    def _judge(self, judgement: tuple[str, int]) -> None:
        """Judge the marked jobs (which stay marked), or the cursor's job and move on to the
        next row first: a row that leaves the view (a reject where rejects are hidden) takes
        the cursor nowhere."""
        from krea_tui.tui.rating_keys import judge, said

        jobs = self.targets()
        if not jobs:
            return
        if not self.model.marks:
            self.table.action_cursor_down()
        changed = judge(self.krea, jobs, judgement)
        if self.model.marks or "rating" not in self.table.column_layout.keys:
            self.notify(said(changed), timeout=2)

    def action_export(self) -> None:
        """`X`: copy the saved results of the marked jobs, else of every job the filter shows,
        into a folder asked for, with a contact sheet of them (core/export)."""
        from pathlib import Path

        import platformdirs

        from krea_tui.core.export import export_jobs

        model = self.model
        ids = [job.local_id for job in model.targets()[0]] if model.marks else model.shown_ids()
        jobs = [job for job in (self._stored(i) for i in ids) if job and job.files]
        if not jobs:
            self.notify("No saved result here to export", timeout=3)
            return
        default = Path(platformdirs.user_pictures_dir()) / "krea-tui-export"

        def chosen(folder: str | None) -> None:
            if not folder:
                return
            target = Path(folder).expanduser()

            def go() -> None:
                try:
                    done = export_jobs(jobs, target, sheet=True)
                except OSError as exc:
                    self.app.call_from_thread(
                        self.notify, f"Export failed: {exc}", severity="error", timeout=8
                    )
                    return
                text = f"Exported {noun(len(done.copied), 'result')} to {target}"
                if done.sheet is not None:
                    text += f" with {done.sheet.name}"
                if done.missing:
                    text += f"; {len(done.missing)} saved files were gone"
                self.app.call_from_thread(self.notify, text, timeout=6)

            self.run_worker(go, thread=True, group="export", exit_on_error=False)

        what = f"{noun(len(jobs))}' results" if len(jobs) > 1 else "this job's results"
        self.app.push_screen(
            AskModal(f"Export {what} (and a contact sheet) into", str(default)), chosen
        )

    def action_compare(self) -> None:
        """`a`: A/B over the marked jobs' results, else every result the filter shows, two at
        a time (screens/compare.py)."""
        from krea_tui.tui.screens.compare import CompareScreen, compare_ids

        model = self.model
        ids = [job.local_id for job in model.targets()[0]] if model.marks else model.shown_ids()
        ids = compare_ids(self.krea, ids)
        if len(ids) < 2:
            self.notify("A/B needs two saved results: mark them, or filter to them", timeout=4)
            return
        self.app.push_screen(CompareScreen(ids))

    def _stored(self, local_id: str) -> StoredJob | None:
        try:
            return self.krea.store.get(local_id)
        except KeyError:
            return None
