"""Screens as a user sees them, at 80×24 and 160×48, over a fixed history."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.viewer import shown_path
from tests.tui.conftest import settle

SIZES = [(80, 24), (160, 48)]


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_main_screen(snap_compare, static_app: Callable[..., KreaApp], size) -> None:
    assert snap_compare(static_app(), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_compose_form(snap_compare, static_app: Callable[..., KreaApp], size) -> None:
    async def open_form(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        await pilot.press(*"a lighthouse at dusk")
        await settle(pilot)

    assert snap_compare(static_app(), terminal_size=size, run_before=open_form)


def test_compose_form_shows_problems(snap_compare, static_app: Callable[..., KreaApp]) -> None:
    async def break_it(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        pilot.app.screen.query_one("#field-steps").value = "0"
        await settle(pilot)

    assert snap_compare(static_app(), terminal_size=(80, 24), run_before=break_it)


@pytest.mark.parametrize("size", SIZES, ids=["80x24", "160x48"])
def test_result_viewer(snap_compare, static_app: Callable[..., KreaApp], size) -> None:
    async def open_viewer(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("enter")  # the cursor starts on the newest job, which is completed
        await settle(pilot)

    assert snap_compare(static_app(), terminal_size=size, run_before=open_viewer)


def test_help_screen(snap_compare, static_app: Callable[..., KreaApp]) -> None:
    async def open_help(pilot: Pilot[None]) -> None:
        await settle(pilot)
        await pilot.press("f1")
        await settle(pilot)

    assert snap_compare(static_app(), terminal_size=(80, 24), run_before=open_help)


async def test_result_viewer_shows_where_the_file_is_without_the_machines_folders(
    static_app: Callable[..., KreaApp], tmp_path: Path
) -> None:
    # The snapshots above must not depend on where pytest keeps temporary files: the saved
    # file is shown by its place in the results folder, as a user reads it.
    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        await settle(pilot)
        line = str(app.screen.query_one("#position").render())
    assert "· 19c0ffee-0000-4000-8000-000000000019-0.png" in line
    assert str(tmp_path) not in line and tmp_path.name not in line


def test_shown_path_is_relative_to_the_results_or_home(tmp_path: Path) -> None:
    results = tmp_path / "out" / "demo"
    home = tmp_path / "home"
    assert shown_path(results / "2026-11-23" / "a-0.png", results, home) == "2026-11-23/a-0.png"
    assert shown_path(str(home / "Pictures" / "b.png"), results, home) == "~/Pictures/b.png"
    assert shown_path(Path("/srv/c.png"), results, home) == "/srv/c.png"
