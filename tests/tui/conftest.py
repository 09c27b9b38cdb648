"""TUI test fixtures: apps over a fixed history (snapshots) or the live simulator (Pilot)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from krea_tui.config import Settings
from krea_tui.tui.app import KreaApp
from tests.tui.history import NOW, static_runtime_factory


def settings_in(tmp_path: Path, *, demo: bool = True, poll: float = 0.25) -> Settings:
    """Settings in `tmp_path`; the watcher looks every `poll` seconds so tests see each step."""
    return Settings(
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        demo=demo,
        min_interval=poll,
        max_interval=poll,
    )


@pytest.fixture
def static_app(tmp_path: Path) -> Callable[..., KreaApp]:
    """An app over 20 fixed jobs with a fixed clock; its engine never runs."""

    def make(count: int = 20) -> KreaApp:
        return KreaApp(
            settings_in(tmp_path),
            image_protocol="halfcell",
            runtime_factory=static_runtime_factory(tmp_path, count),
            clock=lambda: NOW,
        )

    return make


async def settle(pilot: Pilot[None]) -> None:
    """Wait until the app shows the history, images are decoded and cursors stop blinking."""
    app = pilot.app
    for _ in range(200):
        await pilot.pause()
        if getattr(app, "ready", False) and app.screen_stack[0].loaded:  # type: ignore[attr-defined]
            break
    await wait_for_workers(app)
    app.clear_notifications()  # toasts time out on a clock; screens are compared without them
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    await pilot.pause()
    await wait_for_workers(app)
    await pilot.pause()


async def wait_for_workers(app: object) -> None:
    """Finish short workers (image decoding); the engine's worker lives as long as the app."""
    workers = [w for w in app.workers if w.group != "engine"]  # type: ignore[attr-defined]
    if workers:  # an empty list would mean "all workers", the engine's included
        await app.workers.wait_for_complete(workers)  # type: ignore[attr-defined]
