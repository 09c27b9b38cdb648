"""Grouping by batch (`B`): each header tells its batch apart from the others of the day, at
the sizes people use, with its count in words."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from textual.geometry import Region

from krea_tui.core.store import JobStore
from krea_tui.showcase import NOW, runtime_over
from krea_tui.tui.app import KreaApp
from krea_tui.tui.widgets.queue_table import HEADER, QueueTable
from tests.tui.conftest import settings_in, settle
from tests.tui.queue_support import cell, main_screen

SWEEP = "sweep-20261123-115000-dddd+steps+guidance_scale_flux"
# Batch id → how many jobs. Two of the same morning, one of the day before at the same time,
# a batch of one, a sweep; and one job of no batch.
BATCHES = {
    "b20261123-091512-aaaa": 3,
    "b20261123-114501-bbbb": 1,
    "b20261122-091512-cccc": 2,
    SWEEP: 2,
    None: 1,
}


def fill_batches(store: JobStore, results: Path) -> None:
    n = 0
    for batch_id, count in BATCHES.items():
        for _ in range(count):
            created = NOW - timedelta(minutes=50 - n)
            job = store.add_job(
                "bfl/flux-1-dev",
                {"prompt": f"a fox {n}", "seed": n, "steps": 20 + n},
                now=created,
                batch_id=batch_id,
            )
            store.set_status(job.local_id, "completed", created + timedelta(seconds=5))
            n += 1


def header_line(table: QueueTable, batch_id: str | None) -> str:
    """The header row as the terminal shows it (what is scrolled off or cut is not there)."""
    row = table.index_of_key(HEADER + (batch_id or ""))
    table.move_cursor(row=row)  # scrolled into view
    y = row - int(table.scroll_y) + 1  # the column labels take the first line
    strip = table.render_lines(Region(0, y, table.size.width, 1))[0]
    return "".join(segment.text for segment in strip)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_headers_tell_batches_apart_with_their_count(tmp_path: Path, size) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="halfcell",
        runtime_factory=runtime_over(tmp_path, fill_batches),
        clock=lambda: NOW,
    )
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        await pilot.press("B")
        await pilot.pause()
        lines = {batch_id: header_line(table, batch_id) for batch_id in BATCHES}
        # The time of the batch tells those of one day apart; another day's says its date.
        assert "09:15:12" in lines["b20261123-091512-aaaa"]
        assert "11:45:01" in lines["b20261123-114501-bbbb"]
        assert "Nov 22" in lines["b20261122-091512-cccc"]
        assert "sweep" in lines[SWEEP] and "11:50:00" in lines[SWEEP]
        assert len(set(lines.values())) == len(lines)
        # The count, in words that agree with it.
        assert "3 jobs" in lines["b20261123-091512-aaaa"]
        assert "1 job " in lines["b20261123-114501-bbbb"] or lines[
            "b20261123-114501-bbbb"
        ].rstrip().endswith("1 job")
        assert "1 jobs" not in " ".join(lines.values())
        assert "2 jobs" in lines[SWEEP]
        # The sweep's own name (its parameters) is in the header when there is room.
        sweep_cell = cell(table, HEADER + SWEEP, "prompt")
        assert "steps × guidance_scale_flux" in sweep_cell
