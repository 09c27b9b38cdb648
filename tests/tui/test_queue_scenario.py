"""The queue view's reason to exist: hundreds of jobs, many failed, fixed from the keyboard."""

from __future__ import annotations

from pathlib import Path

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.modals import ConfirmModal
from tests.conftest import SimFactory
from tests.tui.conftest import settle, until
from tests.tui.queue_support import cell, fill_mixed, live_settings, main_screen


async def test_filter_failed_mark_all_retry_and_watch_them_finish(
    tmp_path: Path, make_sim: SimFactory
) -> None:
    sim = make_sim(concurrency=64, backlog=400)
    settings = live_settings(tmp_path, sim.base_url, notify_bell=True, notify_desktop=True)
    counts = fill_mixed(settings.history_path, 300)
    failed = counts["failed"]
    app = KreaApp(settings, image_protocol="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table
        assert table.row_count == 300

        await pilot.press("3")  # failed only
        assert len(table.shown_ids()) == failed
        assert all("failed" in cell(table, i, "status") for i in table.shown_ids())
        bar = str(screen.query_one("#view-info").render())
        assert f"{failed} of 300" in bar

        await pilot.press("A")  # mark every job shown
        assert table.marks == set(table.shown_ids())
        assert f"{failed} marked" in str(screen.query_one("#view-info").render())

        await pilot.press("r")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        question = str(app.screen.query_one(".title").render())
        assert f"{failed} jobs" in question
        await pilot.press("y")
        await until(pilot, lambda: len(app.store.jobs()) == 300 + failed, "the retries queued")
        retries = app.store.jobs()[300:]
        assert {job.batch_id for job in retries} == {retries[0].batch_id}  # one new batch
        assert [job.request for job in retries] == [
            app.store.get(i).request for i in table.shown_ids()
        ]
        assert not table.marks

        await pilot.press("1")  # everything again: the retries are at the bottom
        assert table.row_count == 300 + failed
        ids = [job.local_id for job in retries]

        def all_done() -> bool:
            return all("done" in cell(table, i, "status") for i in ids)

        await until(pilot, all_done, "every retry to show done")
        assert all(app.store.get(i).status == "completed" for i in ids)
        notifier = screen.notifier
        assert notifier is not None
        await until(pilot, lambda: bool(notifier.said), "the batch notification")
        title, body = notifier.said[-1]
        assert retries[0].batch_id in title and f"{failed} done" in body
        assert "\a" in notifier.written  # the bell, and both desktop notifications
        assert any(s.startswith(("\x1b]9;", "\x1bPtmux;")) for s in notifier.written)
        assert any("777;notify;" in s for s in notifier.written)
