"""The queue's time column is named for what it shows, as `krea-tui jobs` names it: "Ran", the
server's time on a job, without the time it was held in the local queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from textual.app import App, ComposeResult

from krea_tui.core.store import StoredJob
from krea_tui.tui.widgets.job_table import JobTable

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)

HELD = StoredJob(
    local_id="a" * 32,
    model="bfl/flux-1-dev",
    request={"prompt": "still held"},
    status="held",
    position=1.0,
    created_at=T0,
)
SENT = T0 + timedelta(minutes=5)  # held five minutes here first
DONE = replace(
    HELD,
    local_id="b" * 32,
    request={"prompt": "done"},
    status="completed",
    position=2.0,
    remote_id="d0d0d0d0" + "0" * 24,
    submitted_at=SENT,
    remote_created_at=SENT,
    finished_at=SENT + timedelta(seconds=12),
)


class _TableApp(App[None]):
    def compose(self) -> ComposeResult:
        yield JobTable(id="jobs")

    def now(self) -> datetime:
        return NOW


async def test_the_time_column_is_ran_and_leaves_out_time_held_here() -> None:
    app = _TableApp()
    async with app.run_test(size=(100, 8)) as pilot:
        table = app.query_one(JobTable)
        table.load([HELD, DONE])
        await pilot.pause()
        assert str(table.columns["time"].label) == "Ran"
        assert table.get_cell(DONE.local_id, "time") == "12s"  # not 5m: held time is not run
        assert table.get_cell(HELD.local_id, "time") == ""  # the server has not had it
        header = table.render_line(0).text
        assert "Ran" in header and "Time" not in header
