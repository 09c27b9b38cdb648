"""The status bar at the sizes people use: what must show always shows, whatever is dropped."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from krea_tui.tui.app import KreaApp
from krea_tui.tui.widgets.status_bar import StatusBar, Summary
from tests.tui.conftest import settle, until
from tests.tui.queue_support import main_screen

# 200 jobs of the fixed history: every count has two digits (80 done, 10 failed, 10 unknown).
MANY = 200


def bar_line(app: KreaApp) -> str:
    bar = main_screen(app).query_one(StatusBar)
    # What the terminal shows: the rendered line, cut where the screen ends.
    strip = bar.render_line(0)
    return "".join(segment.text for segment in strip)


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_paused_and_failed_always_show(static_app: Callable[..., KreaApp], size) -> None:
    app = static_app(MANY)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await pilot.pause()
        line = bar_line(app)
        assert "paused" in line
        assert "failed 10" in line or "fail 10" in line
        assert "unknown 10" in line or "unk 10" in line  # jobs lost track of are news too
        if size[0] >= 80:
            assert "~$" in line  # the spend has room at 80 once the words are short
        await pilot.press("p")
        await pilot.pause()
        line = bar_line(app)
        assert "paused" not in line and ("fail 10" in line or "failed 10" in line)


@pytest.mark.parametrize("width", [40, 60, 80, 100, 119, 120, 160, 250])
async def test_the_bar_fits_every_width(static_app: Callable[..., KreaApp], width) -> None:
    app = static_app()
    async with app.run_test(size=(width, 20)) as pilot:
        await settle(pilot)
        bar = main_screen(app).query_one(StatusBar)
        bar.summary = Summary(
            demo=True,
            connection="ok",
            paused=True,
            counts={"held": 120, "queued": 34, "backlogged": 88, "completed": 1234, "failed": 57},
            spend={"USD": 123.456, "CU": 40},
        )
        await pilot.pause()
        text = bar.render().plain
        assert len(text) <= bar.size.width, text
        assert "paused" in text and "57" in text and "fail" in text


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_toasts_leave_the_status_bar_readable(
    static_app: Callable[..., KreaApp], size: tuple[int, int]
) -> None:
    """The toast after `p` covered the very part of the bar that says "paused"."""
    app = static_app(MANY)
    async with app.run_test(size=size, notifications=True) as pilot:
        await settle(pilot)
        app.notify("Local queue paused: held jobs wait; sent jobs keep running", timeout=30)
        await until(pilot, lambda: bool(app.screen.query("Toast")), "the toast")
        await pilot.pause()
        toasts = list(app.screen.query("Toast"))
        bar = main_screen(app).query_one(StatusBar)
        for toast in toasts:
            assert toast.region.bottom <= bar.region.y, (toast.region, bar.region)
