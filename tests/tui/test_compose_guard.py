"""`e` on an enhance job: the compose form only lists image models, so it opens the default."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import Select

from krea_tui.core.catalog import DEFAULT_MODEL
from krea_tui.core.store import JobStore
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from tests.tui.conftest import settings_in, settle, until
from tests.tui.history import NOW, static_runtime_factory
from tests.tui.queue_support import main_screen

ENHANCER = "enhance/topaz/standard-enhance"


async def test_an_enhance_job_opens_on_the_default_image_model(
    static_app: Callable[..., KreaApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    app = static_app()
    said: list[str] = []
    notify = app.notify

    def noting(message: str, **kwargs: Any) -> None:
        said.append(message)
        notify(message, **kwargs)

    monkeypatch.setattr(app, "notify", noting)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert app.catalog.get(ENHANCER).kind == "enhance"
        request = {"image_url": "https://gen.example.test/a.png", "width": 512, "height": 512}
        app.open_compose(model=ENHANCER, request=request)
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        await pilot.pause()
        assert app.screen.query_one("#model", Select).value == DEFAULT_MODEL
        assert any("enhance job" in message for message in said), said


async def test_e_on_an_enhance_job_in_the_table(tmp_path: Path) -> None:
    settings = settings_in(tmp_path)
    store = JobStore(settings.history_path)
    body = {"image_url": "https://gen.example.test/a.png", "width": 1024, "height": 1024}
    job = store.add_job(ENHANCER, body, now=NOW, cost_estimate=0.1, cost_unit="USD")
    store.close()
    app = KreaApp(
        settings,
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        assert main_screen(app).current_job() == app.store.get(job.local_id)
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        await pilot.pause()
        assert app.screen.query_one("#model", Select).value == DEFAULT_MODEL
