"""JobTable keeps rendered cells per row and skips repaints for rows drawn nowhere: a change
must still show, whether its row is on screen at the time or scrolled to later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from krea_tui.core.store import StoredJob
from krea_tui.tui.widgets.job_table import JobTable


def _jobs(count: int) -> list[StoredJob]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    return [
        StoredJob(
            local_id=f"{n:08d}" + "0" * 24,
            model="bfl/flux-1-dev",
            request={"prompt": f"prompt {n}", "seed": n},
            status="queued",
            position=float(n),
            created_at=start + timedelta(seconds=n),
            remote_id=f"r{n:07d}-remote",
        )
        for n in range(count)
    ]


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield JobTable(id="jobs")


async def test_changes_show_on_screen_and_after_scrolling() -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 12)) as pilot:
        table = app.query_one(JobTable)
        jobs = _jobs(200)
        table.load(jobs)
        table.move_cursor(row=0)
        await pilot.pause()
        assert "queued" in _row_text(app, "r0000001")
        with table.many_changes():
            table.upsert(_replace(jobs[1], "sampling"))  # on screen
            table.upsert(_replace(jobs[150], "failed"))  # far below, never drawn
        await pilot.pause()
        assert _row_text(app, "r0000001").count("sampling") == 1
        table.move_cursor(row=150)
        await pilot.pause()
        assert "failed" in _row_text(app, "r0000150")
        with table.many_changes():
            table.upsert(_replace(jobs[150], "completed"))  # drawn now: must be redrawn
        await pilot.pause()
        assert "done" in _row_text(app, "r0000150")


def _replace(job: StoredJob, status: str) -> StoredJob:
    from dataclasses import replace

    return replace(job, status=status)


def _row_text(app: App[None], short_id: str) -> str:
    table = app.query_one(JobTable)
    lines = [table.render_line(y).text for y in range(table.size.height)]
    return next(line for line in lines if short_id in line)
