"""`u` in the viewer: ask model and scale, show the sizes and the price, send one job a picture."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.enhance import EnhanceModal
from krea_tui.tui.screens.viewer import ResultViewer
from tests.tui.conftest import settings_in, settle, until


def summary(app: KreaApp) -> str:
    return str(app.screen.query_one("#enhance-summary").render())


async def test_enhance_from_the_viewer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    app = KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        (source,) = app.submit("bfl/flux-1-dev", [{"prompt": "a fox", "width": 512, "height": 768}])

        def saved(local_id: str) -> bool:
            job = app.store.get(local_id)
            return job.status == "completed" and bool(job.files)

        await until(pilot, lambda: saved(source.local_id), "the source to be saved")
        app.open_viewer(source.local_id)
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")

        # Asked, then nothing sent.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the enhance modal")
        assert "512×768 → 1024×1536" in summary(app)
        assert "est. 1 × $0.10 = $0.100" in summary(app)
        await pilot.press("escape")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "back in the viewer")
        assert len(app.store.jobs()) == 1

        # Another model and scale: the sizes and price follow; enter sends.
        await pilot.press("u")
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the enhance modal")
        await pilot.press("m")  # the next upscaler: Topaz Generative
        await pilot.press("s")  # the next scale after 2×: 4×
        await pilot.pause()
        assert "Topaz Generative" in summary(app)
        assert "512×768 → 2048×3072" in summary(app)
        assert "est. 1 × $0.27 = $0.270" in summary(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "back in the viewer")
        jobs = app.store.jobs()
        assert len(jobs) == 2
        enhanced = next(job for job in jobs if job.local_id != source.local_id)
        assert enhanced.model == "enhance/topaz/generative-enhance"
        assert enhanced.request["image_url"] == app.store.get(source.local_id).urls[0]
        assert (enhanced.request["width"], enhanced.request["height"]) == (2048, 3072)
        await until(pilot, lambda: saved(enhanced.local_id), "the enhanced picture to be saved")
        with Image.open(app.store.get(enhanced.local_id).files[0]) as picture:
            assert picture.size == (2048, 3072)


async def test_enhance_a_whole_batch_from_the_contact_sheet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from krea_tui.tui.screens.contact_sheet import ContactSheet

    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    app = KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(pilot)
        body = {"prompt": "a fox", "width": 512, "height": 512}
        sources = app.submit("bfl/flux-1-dev", [{**body, "seed": 1}, {**body, "seed": 2}])
        ids = {job.local_id for job in sources}
        batch = sources[0].batch_id
        assert batch is not None

        def all_saved() -> bool:
            return all(
                app.store.get(i).status == "completed" and app.store.get(i).files for i in ids
            )

        await until(pilot, all_saved, "both sources to be saved")
        app.open_contact_sheet(batch)
        await until(pilot, lambda: isinstance(app.screen, ContactSheet), "the contact sheet")
        await settle(pilot)
        await pilot.press("U")
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the enhance modal")
        assert "enhance 2 pictures" in summary(app)
        assert "est. 2 × $0.10 = $0.200" in summary(app)
        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ContactSheet), "back on the sheet")
        enhanced = [job for job in app.store.jobs() if job.local_id not in ids]
        assert [job.model for job in enhanced] == ["enhance/topaz/standard-enhance"] * 2
        assert len({job.batch_id for job in enhanced}) == 1 and enhanced[0].batch_id != batch
        assert sorted(job.request["image_url"] for job in enhanced) == sorted(
            app.store.get(i).urls[0] for i in ids
        )
