"""A burst of rating keys typed right after `b` judges one picture each, in reading order.

Reported: `b 5 4 3 p x 5 4 3 2 1` in one `tmux send-keys` rated only one picture. The keys
were not lost: the table's cursor sits on the batch's newest job (it follows new jobs, or
sorts newest first), the sheet opened on that job, which is its last tile, and a judgement
there has no next picture to move on to, so every key judged (and took back) that one.
"""

from __future__ import annotations

from pathlib import Path

from krea_tui.showcase import NOW, SWEEP_BATCH, static_runtime_factory
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.contact_sheet import ContactSheet
from tests.tui.conftest import settings_in, settle

KEYS = ("5", "4", "3", "p", "x", "5", "4", "3", "2")  # one for each of the sweep's 9 pictures
# (rating, pick) each picture has afterwards, in reading order.
JUDGED = [(5, None), (4, None), (3, None), (None, 1), (None, -1), (5, None), (4, None), (3, None)]


async def test_a_burst_after_b_judges_the_batch_picture_by_picture(tmp_path: Path) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, sweep=True),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        newest = table.current_id
        assert app.store.get(newest).batch_id == SWEEP_BATCH  # where the table opens
        await pilot.press("b", *KEYS)  # the sheet is opened and judged in one go
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet)
        order = [i for line in sheet.sheet.cells for i in line if i]  # type: ignore[union-attr]
        jobs = [app.store.get(local_id) for local_id in order]
        assert [(job.rating, job.pick) for job in jobs] == [*JUDGED, (2, None)]
