"""Bulk actions on marked jobs, the local queue's controls, saved views and triage."""

from __future__ import annotations

from pathlib import Path

import pytest

from krea_tui.core.events import JobEvent
from krea_tui.core.store import JobStore
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.edit_held import EditHeldModal
from krea_tui.tui.screens.modals import AskModal, ConfirmModal
from krea_tui.tui.screens.triage import TriageScreen
from krea_tui.tui.screens.views import ViewsModal
from tests.tui.conftest import settle, until
from tests.tui.queue_support import cell, in_table, main_screen, mixed_app


def question(app: KreaApp) -> str:
    assert isinstance(app.screen, ConfirmModal)
    return str(app.screen.query_one(".title").render())


async def test_copy_remove_and_cancel_marked_jobs(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 12)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        ids = table.shown_ids()
        table.move_cursor(row=0)
        await pilot.press("space", "space", "space")
        await pilot.press("y")  # copying asks nothing and keeps the marks
        three = [app.store.get(i).remote_id for i in ids[:3]]
        await until(pilot, lambda: app.clipboard.splitlines() == three, "the ids copied")
        await pilot.press("x")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert "Remove 3 jobs" in question(app)
        await pilot.press("y")
        await until(pilot, lambda: table.row_count == 9, "the rows to go")
        assert all(app.store.find(i) == [] for i in ids[:3])
        assert not table.marks

        # Held jobs: cancelled locally; ended ones are not counted as cancellable.
        held = app.engine.enqueue("bfl/flux-1-dev", [{"prompt": "a", "seed": 1}] * 2)
        await until(
            pilot,
            lambda: all(in_table(table, j.local_id) for j in held),
            "held rows",
        )
        table.move_cursor(row=table.row_count - 3)  # one ended job and the two held ones
        await pilot.press("space", "space", "space", "c")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert "these 2 jobs" in question(app)
        await pilot.press("y")
        await until(
            pilot,
            lambda: all(app.store.get(j.local_id).status == "cancelled" for j in held),
            "the held jobs cancelled",
        )


async def test_move_edit_and_cancel_held_jobs_of_a_batch(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 6)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        table = screen.table
        jobs = app.engine.enqueue(
            "bfl/flux-1-dev",
            [{"prompt": f"p{n}", "seed": n} for n in range(4)],
            batch_id="b-now",
        )
        await until(pilot, lambda: all(in_table(table, j.local_id) for j in jobs), "the rows")
        sent = jobs[0]  # pretend the first was sent: the rest stay held
        app.store.set_status(sent.local_id, "processing", sent.created_at)
        app.store.update(sent.local_id, remote_id="sent-1")
        screen.handle_batch([JobEvent(app.store.get(sent.local_id), "held", "processing")])
        last = jobs[-1].local_id
        table.move_cursor(row=table.index_of_key(last))
        await pilot.press("K")
        held = [j.local_id for j in app.store.jobs(statuses=["held"])]
        assert held == [jobs[1].local_id, jobs[3].local_id, jobs[2].local_id]
        assert table.current_id == last
        assert table.index_of_key(last) < table.index_of_key(jobs[2].local_id)

        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EditHeldModal), "the editor")
        app.screen.query_one("#edit-request").text = '{"prompt": "edited", "seed": 99}'
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.screen is screen, "the editor to close")
        assert dict(app.store.get(last).request) == {"prompt": "edited", "seed": 99}
        assert "edited" in cell(table, last, "prompt")

        await pilot.press("C")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert "3 held jobs of batch b-now" in question(app)
        await pilot.press("y")
        await until(
            pilot,
            lambda: all(app.store.get(j.local_id).status == "cancelled" for j in jobs[1:]),
            "the held part cancelled",
        )
        assert app.store.get(sent.local_id).status == "processing"  # the sent one runs on


async def test_edit_held_refuses_an_invalid_request(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 3)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        [job] = app.engine.enqueue("bfl/flux-1-dev", [{"prompt": "p", "seed": 1}])
        table = main_screen(app).table
        await until(pilot, lambda: in_table(table, job.local_id), "the row")
        table.move_cursor(row=table.index_of_key(job.local_id))
        await pilot.press("E")
        await until(pilot, lambda: isinstance(app.screen, EditHeldModal), "the editor")
        app.screen.query_one("#edit-request").text = '{"prompt": "p", "steps": 0}'
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditHeldModal)
        assert "steps" in str(app.screen.query_one("#edit-problem").render())
        await pilot.press("escape")
        assert dict(app.store.get(job.local_id).request) == {"prompt": "p", "seed": 1}


async def test_save_and_recall_a_view_never_overwriting_a_broken_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "conf" / "config.toml"
    monkeypatch.setenv("KREA_TUI_CONFIG", str(config))
    views = config.parent / "views.toml"
    app = mixed_app(tmp_path, 12)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        await pilot.press("3", "o")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, AskModal), "the name question")
        await pilot.press(*"bad day", "enter")
        await until(pilot, views.exists, "views.toml")
        assert '[views."bad day"]' in views.read_text()
        assert 'filter = "status:failed"' in views.read_text()

        await pilot.press("1", "o")
        assert table.row_count == 12
        await pilot.press("V")
        await until(pilot, lambda: isinstance(app.screen, ViewsModal), "the views list")
        await pilot.press("enter")
        await until(pilot, lambda: table.view.query.text == "status:failed", "the view applied")
        assert table.view.sort == "status"
        assert {app.store.get(i).status for i in table.shown_ids()} == {"failed"}

        views.write_text("this is [not toml")
        await pilot.press("w")
        await until(pilot, lambda: isinstance(app.screen, AskModal), "the name question")
        await pilot.press(*"other", "enter")
        await pilot.pause()
        assert views.read_text() == "this is [not toml"
        assert any("not valid TOML" in n.message for n in app._notifications)


async def test_triage_groups_failures_by_cause_and_retries_a_group(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 24, batch_every=12)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        failed = app.store.jobs(statuses=["failed"])
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TriageScreen), "triage")
        triage = app.screen
        assert isinstance(triage, TriageScreen)
        counts = {g.code: len(g.jobs) for g in triage.groups}
        assert sum(counts.values()) == len(failed)
        assert set(counts) == {"content_moderation", "provider_error"}
        first = triage.groups[0]
        batches = triage.query_one("#batches")
        assert batches.row_count == 2  # type: ignore[attr-defined]
        row = [str(c) for c in batches.get_row("b-old-0")]  # type: ignore[attr-defined]
        assert row[1] == "12/12" and row[6] == "3s"  # 3 s processing on average

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        assert f"{len(first.jobs)} jobs that failed" in question(app)
        await pilot.press("y")
        await until(pilot, lambda: len(app.store.jobs()) == 24 + len(first.jobs), "the retries")
        retried = [dict(j.request) for j in app.store.jobs()[24:]]
        assert retried == [dict(j.request) for j in first.jobs]

        await pilot.press("m")  # mark that group in the table and go back
        await until(pilot, lambda: not isinstance(app.screen, TriageScreen), "the table")
        assert main_screen(app).table.marks == {j.local_id for j in first.jobs}


def test_history_store_is_closed_after_fill(tmp_path: Path) -> None:
    from tests.tui.queue_support import fill_mixed

    counts = fill_mixed(tmp_path / "h.sqlite3", 12)
    store = JobStore(tmp_path / "h.sqlite3")
    assert store.counts() == counts
    store.close()
