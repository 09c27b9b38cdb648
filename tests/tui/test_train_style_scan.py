"""The training form looks at the folder only when the folder field changes, and in a thread:
typing the name, the trigger or the steps never reopens every picture on the UI thread."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from textual.widgets import Input

import krea_tui.tui.screens.train_style as train_style
from krea_tui.tui.screens.train_style import TrainStyleModal
from tests.integration.test_cli_styles import pictures
from tests.tui.conftest import until
from tests.tui.test_list_fields import make_app


async def test_the_folder_is_scanned_once_per_change_off_the_ui_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = pictures(tmp_path / "pics", 4)
    scans: list[tuple[Path, bool]] = []
    real = train_style.training_pictures

    def counting(path: Path) -> list[Path]:
        scans.append((path, threading.current_thread() is threading.main_thread()))
        return real(path)

    monkeypatch.setattr(train_style, "training_pictures", counting)
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        modal = TrainStyleModal()
        await app.push_screen(modal)
        await until(pilot, lambda: bool(modal.query("#train-summary")), "the form")
        modal.query_one("#train-name", Input).value = "inkwash"
        modal.query_one("#train-folder", Input).value = str(folder)
        await until(pilot, lambda: "4 pictures" in modal.summary, "the pictures counted")
        assert len(scans) == 1 and scans[0][0] == folder
        assert not scans[0][1], "the folder was scanned on the UI thread"
        modal.query_one("#train-trigger", Input).focus()
        await pilot.press(*"inkwashstyle")
        modal.query_one("#train-steps", Input).value = "10"
        await pilot.pause()
        await until(pilot, lambda: "10 steps" in modal.summary, "the steps followed")
        assert len(scans) == 1  # nothing but the folder's field rescans
        assert modal.plan is not None and modal.plan["trigger_word"] == "inkwashstyle"
