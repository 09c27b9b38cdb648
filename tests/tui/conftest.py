"""TUI test fixtures: apps over a fixed history (snapshots) or the live simulator (Pilot)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from krea_tui.config import Settings
from krea_tui.core.clipboard import ClipboardRouter
from krea_tui.showcase import NOW, settle, static_runtime_factory, wait_for_workers
from krea_tui.tui.app import KreaApp


def settings_in(tmp_path: Path, *, demo: bool = True, poll: float = 0.25) -> Settings:
    """Settings in `tmp_path`; the watcher looks every `poll` seconds so tests see each step."""
    return Settings(
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        demo=demo,
        min_interval=poll,
        max_interval=poll,
    )


@pytest.fixture(autouse=True)
def no_outside_clipboard(monkeypatch: pytest.MonkeyPatch) -> None:
    """Copies in these tests stay in the app (OSC 52 to a headless driver): never into the
    tmux or the desktop clipboard of whoever runs the tests."""
    router = ClipboardRouter(env={}, which=lambda _: None)
    monkeypatch.setattr(KreaApp, "clipboard_router", router)


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


async def until(
    pilot: Pilot[None], condition: Callable[[], bool], what: str, deadline: float = 30.0
) -> None:
    """Let the app run until `condition` holds; fail with `what` after the deadline."""
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


__all__ = ["settings_in", "settle", "static_app", "until", "wait_for_workers"]
