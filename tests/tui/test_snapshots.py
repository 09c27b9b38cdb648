"""Screens as a user sees them, at 80×24 and 160×48, over a fixed history."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.pilot import Pilot

from krea_tui.tui.app import KreaApp
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
