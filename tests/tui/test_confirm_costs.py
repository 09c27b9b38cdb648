"""Every question before sending jobs says what they cost; saving says where results are."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.modals import ConfirmModal
from krea_tui.tui.screens.triage import TriageScreen
from tests.tui.conftest import settle, until
from tests.tui.queue_support import main_screen, mixed_app


def question(app: KreaApp) -> str:
    assert isinstance(app.screen, ConfirmModal)
    return str(app.screen.query_one(".title").render())


@pytest.mark.parametrize("key", ["r", "R"], ids=["rerun", "new-seeds"])
async def test_sending_marked_jobs_again_says_the_cost(tmp_path: Path, key: str) -> None:
    app = mixed_app(tmp_path, 12)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        jobs = [app.store.get(i) for i in table.shown_ids()[:3]]
        table.move_cursor(row=0)
        await pilot.press("space", "space", "space", key)
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        cost = app.catalog.cost_text("bfl/flux-1-dev", [j.request for j in jobs])
        assert cost.startswith("est. 3 × $")  # the price is known: it must be said
        assert "Send 3 jobs again" in question(app) and cost in question(app)
        await pilot.press("n")


async def test_retrying_a_failure_group_says_the_cost(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 24, batch_every=12)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("t")
        await until(pilot, lambda: isinstance(app.screen, TriageScreen), "triage")
        triage = app.screen
        assert isinstance(triage, TriageScreen)
        first = triage.groups[0]
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        cost = app.catalog.cost_text("bfl/flux-1-dev", [j.request for j in first.jobs])
        assert cost.startswith(f"est. {len(first.jobs)} × $")
        assert cost in question(app)
        await pilot.press("n")


async def test_already_saved_says_where(
    static_app: Callable[..., KreaApp], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # the results folder is then ~/out/demo
    app = static_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        await pilot.press("4")  # the completed jobs: every one has its picture saved
        await pilot.pause()
        saved = table.shown_ids()
        assert len(saved) > 1 and all(app.store.get(i).files for i in saved)
        await pilot.press("A", "D")
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: bool(app._notifications), "the report")
        messages = [n.message for n in app._notifications]
        assert f"{len(saved)} jobs already saved in ~/out/demo" in messages, messages


@pytest.mark.parametrize("key", ["r", "R"], ids=["rerun", "new-seed"])
@pytest.mark.parametrize("where", ["table", "viewer"])
async def test_sending_one_job_again_says_the_cost_first(
    static_app: Callable[..., KreaApp], key: str, where: str
) -> None:
    # On main, `r` on the job under the cursor (and `r`/`R` in the viewer) sent it at once.
    app = static_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        before = len(app.store.jobs())
        job = main_screen(app).current_job()
        assert job is not None and job.files
        if where == "viewer":
            await pilot.press("enter")
            await until(pilot, lambda: app.screen is not main_screen(app), "the viewer")
            job = app.screen.job  # type: ignore[attr-defined]
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        cost = app.catalog.cost_text(job.model, [job.request])
        assert cost.startswith("est. ") and cost in question(app)
        assert "Send 1 job again" in question(app)
        assert len(app.store.jobs()) == before  # nothing sent while asking
        await pilot.press("n")
        await until(pilot, lambda: not isinstance(app.screen, ConfirmModal), "the answer")
        assert len(app.store.jobs()) == before
        await pilot.press(key)
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the confirmation")
        await pilot.press("y")
        await until(pilot, lambda: len(app.store.jobs()) == before + 1, "the job sent again")
        assert app.store.jobs()[-1].parent_id == job.local_id
