"""The enhance modal opens at once, saying it is sizing the pictures, while they are fetched;
Send waits for the price, and only enter (or the Send button) sends: a "y" typed for something
else never sends paid jobs."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image
from textual.widgets import Button

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.enhance import EnhanceModal, enhance_jobs
from tests.tui.conftest import settle, until
from tests.tui.queue_support import main_screen

DONE = ["00" + "0" * 30, "01" + "0" * 30]


def png(size: tuple[int, int] = (512, 512)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, "green").save(out, format="PNG")
    return out.getvalue()


def summary(app: KreaApp) -> str:
    return str(app.screen.query_one("#enhance-summary").render())


async def test_the_modal_opens_while_sizing_and_y_never_sends(
    static_app: Callable[..., KreaApp], monkeypatch: pytest.MonkeyPatch
) -> None:
    import krea_tui.core.enhance as core_enhance
    import krea_tui.tui.screens.enhance as tui_enhance

    def unsaved(_picture: object) -> None:
        return None

    monkeypatch.setattr(core_enhance, "local_size", unsaved)
    monkeypatch.setattr(tui_enhance, "local_size", unsaved, raising=False)
    app = static_app()
    gate = asyncio.Event()
    fetched: list[str] = []

    async def fetch(url: str, **_kw: Any) -> bytes:
        fetched.append(url)
        await gate.wait()
        return png()

    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        main = main_screen(app)
        monkeypatch.setattr(app.engine.client, "fetch", fetch)
        before = len(app.store.jobs())
        enhance_jobs(app, [app.store.get(i) for i in DONE])
        await until(pilot, lambda: isinstance(app.screen, EnhanceModal), "the modal at once")
        assert not gate.is_set()
        assert "sizing 2 pictures" in summary(app)
        send = app.screen.query_one("#enhance-send-button", Button)
        assert send.disabled
        await pilot.press("y", "enter")  # nothing to send yet, and y is no key here
        await pilot.pause()
        assert isinstance(app.screen, EnhanceModal) and len(app.store.jobs()) == before
        gate.set()
        await until(pilot, lambda: "est. 2 × $0.10 = $0.200" in summary(app), "the price")
        assert not send.disabled
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, EnhanceModal) and len(app.store.jobs()) == before
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is main, "back on the table")
        assert len(app.store.jobs()) == before + 2
