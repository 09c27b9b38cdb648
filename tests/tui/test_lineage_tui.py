"""Lineage in the TUI: re-run, edit, use as input and enhance each make a child of the job they
start from; the detail pane shows a job's parent and children; the viewer steps from a picture
to its enhanced version (`v`) and back."""

from __future__ import annotations

from pathlib import Path

import pytest

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.enhance import EnhanceModal
from krea_tui.tui.screens.modals import ConfirmModal
from krea_tui.tui.screens.viewer import ResultViewer
from krea_tui.tui.widgets.job_detail import JobDetail
from tests.tui.conftest import settings_in, settle, until

FLUX = "bfl/flux-1-dev"


def saved(app: KreaApp, local_id: str) -> bool:
    job = app.store.get(local_id)
    return job.status == "completed" and bool(job.files)


async def test_rerun_edit_and_use_as_input_record_the_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    app = KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")
    async with app.run_test(size=(110, 30)) as pilot:
        await settle(pilot)
        (source,) = app.submit(FLUX, [{"prompt": "a fox", "width": 512, "height": 512}])
        await until(pilot, lambda: saved(app, source.local_id), "the source to be saved")
        app.open_viewer(source.local_id)
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")

        for key in ("r", "R"):  # re-run; re-run with a new seed: each asked, with its price
            await pilot.press(key)
            await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
            await pilot.press("y")
            await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        await until(pilot, lambda: len(app.store.jobs()) == 3, "both re-runs")
        reruns = [job for job in app.store.jobs() if job.local_id != source.local_id]
        assert [job.parent_id for job in reruns] == [source.local_id] * 2

        await pilot.press("e")  # edit as a new job
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form")
        assert app.screen.parent_id == source.local_id
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "back in the viewer")
        assert len(app.store.jobs()) == 4
        assert app.store.jobs()[-1].parent_id == source.local_id

        await pilot.press("i")  # use as input
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form")
        assert app.screen.parent_id == source.local_id
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "back in the viewer")
        assert {job.local_id for job in app.store.children(source.local_id)} == {
            job.local_id for job in app.store.jobs()[1:]
        }


async def test_the_viewer_steps_to_the_enhanced_picture_and_back_and_the_detail_pane_shows_both(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    app = KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")
    async with app.run_test(size=(140, 40)) as pilot:
        await settle(pilot)
        (source,) = app.submit(FLUX, [{"prompt": "a fox", "width": 512, "height": 512}])
        await until(pilot, lambda: saved(app, source.local_id), "the source to be saved")
        app.open_viewer(source.local_id)
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        viewer = app.screen
        assert isinstance(viewer, ResultViewer)

        await pilot.press("v")  # nothing enhanced yet: said so, and the viewer stays
        await pilot.pause()
        assert viewer.job.local_id == source.local_id

        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the enhance modal")
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is viewer, "back in the viewer")
        (enhanced,) = app.store.children(source.local_id)
        assert enhanced.model.startswith("enhance/") and enhanced.parent_id == source.local_id
        await until(pilot, lambda: saved(app, enhanced.local_id), "the enhanced picture")

        await pilot.press("v")
        await pilot.pause()
        assert viewer.job.local_id == enhanced.local_id
        await pilot.press("v")
        await pilot.pause()
        assert viewer.job.local_id == source.local_id

        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0], "the main screen")
        detail = app.screen.query_one(JobDetail)
        app.screen.query_one("#jobs").focus()
        # The enhanced job is the newest: the cursor on it shows its parent.
        table = app.screen.query_one("#jobs")
        seen = set()
        for row in range(2):
            table.move_cursor(row=row)  # type: ignore[attr-defined]
            await settle(pilot)
            shown = str(detail.query_one("#detail-lineage").render())
            job = app.screen.current_job()  # type: ignore[attr-defined]
            seen.add(job.local_id)
            if job.local_id == enhanced.local_id:
                assert f"parent {app.store.get(source.local_id).short_id}" in shown
            else:
                assert f"children 1: {app.store.get(enhanced.local_id).short_id}" in shown
        assert seen == {source.local_id, enhanced.local_id}


async def test_a_sweep_from_an_edited_job_makes_children_of_it(tmp_path: Path) -> None:
    from krea_tui.tui.screens.sweep import SendSweepModal, SweepModal

    app = KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.engine.pause()
        (source,) = app.submit(FLUX, [{"prompt": "a lighthouse"}])
        app.open_compose(model=FLUX, request=dict(source.request), parent=source.local_id)
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form")
        await pilot.pause()
        await pilot.press("f4")
        await until(pilot, lambda: isinstance(app.screen, SweepModal), "the sweep form")
        await pilot.pause()
        await pilot.press(*"20,30")
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SendSweepModal), "the last question")
        await pilot.press("y")
        await until(pilot, lambda: len(app.store.jobs()) == 3, "the sweep's jobs")
        assert [job.parent_id for job in app.store.jobs()[1:]] == [source.local_id] * 2


async def test_the_tables_edit_and_retry_make_children(tmp_path: Path) -> None:
    app = KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        app.engine.pause()
        (source,) = app.submit(FLUX, [{"prompt": "a lighthouse"}])
        await settle(pilot)
        app.screen.query_one("#jobs").focus()
        await pilot.press("e")  # edit as a new job
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form")
        assert app.screen.parent_id == source.local_id
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.screen_stack[0], "the main screen")
        await pilot.press("r")  # retry (re-run) the job under the cursor, once asked
        await until(pilot, lambda: isinstance(app.screen, ConfirmModal), "the question")
        await pilot.press("y")
        await until(pilot, lambda: len(app.store.jobs()) == 2, "the retry")
        assert app.store.jobs()[-1].parent_id == source.local_id
