"""A sweep from the compose form, against the simulator over loopback: the count and the cost
before anything is sent, nothing sent before the yes, then a contact sheet that fills in."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
from textual.widgets import Input, Select

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.contact_sheet import ContactSheet, SheetCell
from krea_tui.tui.screens.sweep import SendSweepModal, SweepModal
from krea_tui.tui.screens.viewer import ResultViewer
from tests.conftest import TOKEN_A, SimFactory
from tests.tui.conftest import settings_in, until
from tests.tui.sweep_support import open_sweep


async def sim_stats(base_url: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base_url, trust_env=False) as client:
        answer = await client.get("/_sim/stats")
    return answer.json()  # type: ignore[no-any-return]


def text_of(widget: Any) -> str:
    return str(widget.render())


async def test_sweep_counts_costs_confirms_and_fills_a_contact_sheet(
    tmp_path: Path, make_sim: SimFactory
) -> None:
    # Three at a time, ~0.7 s each: the sheet is seen part-filled, and the test stays short.
    sim = make_sim(speed=10, concurrency=3, jitter=0.0, previews=False)
    settings = replace(settings_in(tmp_path, demo=False), base_url=sim.base_url, token=TOKEN_A)
    app = KreaApp(settings, image_protocol="halfcell")
    async with app.run_test(size=(120, 40)) as pilot:
        modal = await open_sweep(pilot, app)
        assert modal.query_one("#sweep-field-1", Select).value == "steps"
        await pilot.press(*"20..40 step 10")
        modal.query_one("#sweep-field-2", Select).value = "guidance_scale_flux"
        modal.query_one("#sweep-values-2", Input).value = "2,3.5,30"
        await pilot.pause()
        # A value outside the schema's range is named, and nothing can be sent yet.
        problems = text_of(modal.query_one("#sweep-problems"))
        assert "guidance_scale_flux: must be at most 24 (got 30)" in problems
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, SweepModal)

        modal.query_one("#sweep-values-2", Input).value = "2,3.5,5"
        await pilot.pause()
        summary = text_of(modal.query_one("#sweep-summary"))
        assert "9 jobs" in summary and "3 steps × 3 guidance_scale_flux" in summary
        assert "$0.063" in summary
        assert text_of(modal.query_one("#sweep-problems")) == ""

        await pilot.press("ctrl+s")
        await until(pilot, lambda: isinstance(app.screen, SendSweepModal), "the last question")
        question = text_of(app.screen.query_one("#sweep-question"))
        assert "Send 9 jobs" in question and "$0.063" in question
        stats = await sim_stats(sim.base_url)
        assert stats["generate_by_model"] == {} and stats["jobs"] == {}
        assert app.store.jobs() == []  # not even queued locally

        await pilot.press("o")
        await until(pilot, lambda: isinstance(app.screen, ContactSheet), "the contact sheet")
        sheet = app.screen
        assert isinstance(sheet, ContactSheet)
        jobs = app.store.jobs()
        assert len(jobs) == 9 and len({j.batch_id for j in jobs}) == 1
        assert sheet.sheet is not None and sheet.sheet.shape == (3, 3)
        assert [text_of(sheet.query_one(f"#sheet-row-{r}")).strip() for r in range(3)] == [
            "steps 20",
            "steps 30",
            "steps 40",
        ]
        col_heads = [text_of(sheet.query_one(f"#sheet-col-{c}")) for c in range(3)]
        assert [h.split()[-1] for h in col_heads] == ["2", "3.5", "5"]

        def pictures() -> int:
            return sum(1 for cell in sheet.query(SheetCell) if cell.query_one("#thumb").display)

        seen: set[int] = set()

        def filled() -> bool:
            seen.add(pictures())
            return pictures() == 9

        await until(pilot, filled, "every cell to show its picture")
        assert any(0 < n < 9 for n in seen), seen  # it filled in as jobs finished
        counts = text_of(sheet.query_one("#sheet-counts"))
        assert "done 9" in counts
        stats = await sim_stats(sim.base_url)
        assert stats["generate_by_model"] == {"bfl/flux-1-dev": 9}
        combos = {(j.request["steps"], j.request["guidance_scale_flux"]) for j in jobs}
        assert combos == {(s, g) for s in (20, 30, 40) for g in (2, 3.5, 5)}

        # The cursor starts top left; right, down is steps 30 × guidance 3.5.
        await pilot.press("right", "down", "enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        viewer = app.screen
        assert isinstance(viewer, ResultViewer)
        assert viewer.job.request["steps"] == 30
        assert viewer.job.request["guidance_scale_flux"] == 3.5
