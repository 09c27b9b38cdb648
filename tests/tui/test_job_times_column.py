"""The queue's time column is named for what it shows, as `krea-tui jobs` names it: "Ran", the
server's time on a job, without the time it was held in the local queue."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from krea_tui.core.queue_model import QueueModel
from krea_tui.core.store import StoredJob
from krea_tui.tui.widgets.queue_table import QueueTable
from tests.tui.queue_support import TableApp, store_of

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


async def test_the_time_column_is_ran_and_leaves_out_time_held_here(tmp_path: Path) -> None:
    store = store_of(tmp_path / "history.sqlite3", [HELD, DONE])
    app = TableApp(QueueModel(store, now=lambda: NOW), NOW)
    async with app.run_test(size=(100, 8)) as pilot:
        table = app.query_one(QueueTable)
        await pilot.pause()
        done, held = table.cell_texts(DONE.local_id), table.cell_texts(HELD.local_id)
        assert done is not None and held is not None
        assert done["time"] == "12s"  # not 5m: held time is not run
        assert held["time"] == ""  # the server has not had it
        header = table.render_line(0).text
        assert "Ran" in header and "Time" not in header
