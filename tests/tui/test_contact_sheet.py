"""The contact sheet over a fixed 3×3 sweep: a snapshot, and how it is opened and moved in."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from krea_tui.core.store import JobStore
from krea_tui.showcase import NOW, SWEEP_BATCH, runtime_over, static_runtime_factory, write_picture
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.contact_sheet import ContactSheet
from krea_tui.tui.screens.viewer import ResultViewer
from tests.tui.conftest import settings_in, settle, until

BATCH = "sweep-20261123-115000-abcd+steps+guidance_scale_flux"
STEPS = (20, 30, 40)
GUIDANCE = (2, 3.5, 5)
# Row-major over steps × guidance: six done, one failed, two still under way.
OUTCOMES = [
    "completed",
    "completed",
    "completed",
    "completed",
    "failed",
    "completed",
    "completed",
    "processing",
    "queued",
]


def fill_sweep(store: JobStore, results: Path) -> None:
    n = 0
    for steps in STEPS:
        for guidance in GUIDANCE:
            status = OUTCOMES[n]
            created = NOW - timedelta(minutes=5)
            request = {"prompt": "a lighthouse", "seed": 77, "steps": steps}
            request["guidance_scale_flux"] = guidance  # type: ignore[assignment]
            local_id = f"{n:02d}" + "5" * 30
            store.add_job(
                "bfl/flux-1-dev",
                request,
                now=created,
                local_id=local_id,
                batch_id=BATCH,
                cost_estimate=0.007,
                cost_unit="USD",
            )
            remote = f"{n:02d}5eed00-0000-4000-8000-{n:012d}"
            store.update(local_id, remote_id=remote, submitted_at=created)
            at = created + timedelta(seconds=1 + n)
            store.set_status(local_id, "queued", at)
            if status != "queued":
                at += timedelta(seconds=2 * n + 1)
                store.set_status(local_id, "processing", at)
            if status in ("completed", "failed"):
                at += timedelta(seconds=3 + n % 4)
                changes: dict[str, Any] = {}
                if status == "failed":
                    changes = {"error_code": "nsfw", "error_message": "flagged by moderation"}
                store.set_status(local_id, status, at, **changes)
            if status == "completed":
                picture = results / f"{remote}-0.png"
                write_picture(picture, f"lighthouse {steps} {guidance}", 1000 + n)
                store.add_file(local_id, 0, f"https://gen.example.test/{remote}.png", picture)
            n += 1


def sweep_runtime_factory(tmp_path: Path) -> Any:
    """A runtime over one finished-ish sweep whose engine never starts: a still picture."""
    return runtime_over(tmp_path, fill_sweep)


def sweep_app(tmp_path: Path) -> KreaApp:
    return KreaApp(
        settings_in(tmp_path),
        image_protocol="halfcell",
        runtime_factory=sweep_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )


def test_contact_sheet_snapshot(snap_compare, tmp_path: Path) -> None:
    async def open_sheet(pilot: Pilot[None]) -> None:
        await settle(pilot)
        pilot.app.open_contact_sheet(BATCH)  # type: ignore[attr-defined]
        await settle(pilot)

    assert snap_compare(sweep_app(tmp_path), terminal_size=(100, 40), run_before=open_sheet)


async def test_b_opens_the_cursor_jobs_batch_and_enter_the_viewer(tmp_path: Path) -> None:
    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet) and sheet.batch_id == BATCH
        assert sheet.sheet is not None and sheet.sheet.shape == (3, 3)
        counts = str(sheet.query_one("#sheet-counts").render())
        assert "done 6" in counts and "failed 1" in counts and "queued 1" in counts
        times = str(sheet.query_one("#sheet-times").render())
        assert "queued" in times and "processing" in times

        # Down twice, right twice: steps 40 × guidance 5, still queued: no viewer.
        await pilot.press("down", "down", "right", "right", "enter")
        await pilot.pause()
        assert isinstance(app.screen, ContactSheet)
        await pilot.press("t")
        assert not sheet.query_one("#sheet-times").display

        await pilot.press("up", "left", "enter")  # steps 30 × guidance 3.5 failed: skip up
        await pilot.pause()
        assert isinstance(app.screen, ContactSheet)
        await pilot.press("up", "enter")  # steps 20 × guidance 3.5, done
        await settle(pilot)
        viewer = app.screen
        assert isinstance(viewer, ResultViewer)
        assert (viewer.job.request["steps"], viewer.job.request["guidance_scale_flux"]) == (20, 3.5)
        await pilot.press("right")  # the viewer steps through this batch only, in sheet order
        assert viewer.job.request["guidance_scale_flux"] == 5


async def test_a_resized_terminal_gets_thumbnails_sized_for_it(tmp_path: Path) -> None:
    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        table.move_cursor(row=table.index_of_key(job_at(0)))
        app.open_contact_sheet(BATCH)
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet)
        await pilot.press("down", "right")  # steps 30 × guidance 3.5
        chosen = sheet.current_job()
        assert chosen is not None

        def thumb_width() -> int:
            thumbs = sheet.query("#cell-0-0 HalfcellPicture")
            shown = [t for t in thumbs if t.display and t.image is not None]
            return shown[0].styles.width.value if shown else 0  # type: ignore[union-attr]

        await until(pilot, lambda: thumb_width() > 0, "the first thumbnail")
        small = thumb_width()

        await pilot.resize_terminal(160, 48)
        await until(pilot, lambda: thumb_width() > small, "thumbnails sized for 160×48")
        assert sheet.current_job() == chosen  # the cursor stayed on its job
        assert sheet.query_one("#cell-1-1").has_class("-cursor")
        await pilot.resize_terminal(100, 40)
        await until(pilot, lambda: thumb_width() == small, "thumbnails back to 100×40")


def job_at(n: int) -> str:
    """The local id of the sweep's n-th job, row-major over steps × guidance."""
    return f"{n:02d}" + "5" * 30


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_arrows_move_the_selection_and_it_opens_on_the_tables_job(
    tmp_path: Path, size: tuple[int, int]
) -> None:
    # At these sizes the grid scrolls: the arrows must still move the selection (F1 says
    # "↓, j Down"), and the selection must stay in view.
    app = sweep_app(tmp_path)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        table.move_cursor(row=table.index_of_key(job_at(4)))  # steps 30 × guidance 3.5
        await pilot.press("b")
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet)
        assert sheet.cursor == (1, 1) and sheet.current_job().local_id == job_at(4)  # type: ignore[union-attr]
        scroll = sheet.query_one("#sheet-scroll")

        def in_view() -> bool:
            cell = sheet.query_one(f"#cell-{sheet.cursor[0]}-{sheet.cursor[1]}")
            return scroll.region.contains_region(cell.region)

        assert in_view()
        await pilot.press("down")
        assert sheet.cursor == (2, 1)
        await until(pilot, in_view, "the selection scrolled into view")
        await pilot.press("up", "up")
        assert sheet.cursor == (0, 1)
        await until(pilot, in_view, "the first row back in view")
        await pilot.press("right")
        assert sheet.cursor == (0, 2)
        await pilot.press("left", "left")
        assert sheet.cursor == (0, 0)


async def test_the_sheet_opens_on_the_tables_job_only_when_it_is_of_the_batch(
    tmp_path: Path,
) -> None:
    app = KreaApp(
        settings_in(tmp_path),
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, sweep=True),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        table.move_cursor(row=table.index_of_key("s7" + "0" * 30))  # steps 40 × guidance 3.5
        app.open_contact_sheet(SWEEP_BATCH)  # as the sweep dialog opens it
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet) and sheet.cursor == (2, 1)
        await pilot.press("escape")
        await settle(pilot)
        table.move_cursor(row=table.index_of_key("01" + "0" * 30))  # a job of no batch
        app.open_contact_sheet(SWEEP_BATCH)
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet) and sheet.cursor == (0, 0)


async def test_home_and_end_go_to_the_first_and_last_picture(tmp_path: Path) -> None:
    # On a 40-picture sheet the first tile was six Ups and three Lefts away.
    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.push_screen(ContactSheet(BATCH, start="04" + "5" * 30))  # the middle tile
        await settle(pilot)
        sheet = app.screen
        assert isinstance(sheet, ContactSheet) and sheet.sheet is not None
        order = [i for line in sheet.sheet.cells for i in line if i]

        def at() -> str | None:
            job = sheet.current_job()
            return job.local_id if job is not None else None

        assert at() == "04" + "5" * 30
        for key, want in (
            ("end", order[-1]),
            ("home", order[0]),
            ("G", order[-1]),
            ("g", order[0]),
        ):
            await pilot.press(key)
            assert at() == want, key
