"""With `max_spend_per_day` set, the status bar says what is left to spend today."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from krea_tui.core.events import JobEvent, QueueEvent
from krea_tui.tui.app import KreaApp
from krea_tui.tui.widgets.status_bar import FITS, StatusBar, Summary, status_line
from tests.tui.conftest import settings_in, settle
from tests.tui.history import NOW, static_runtime_factory
from tests.tui.queue_support import main_screen


def app_with(tmp_path: Path, **changes: object) -> KreaApp:
    settings = settings_in(tmp_path)
    for name, value in changes.items():
        setattr(settings, name, value)
    return KreaApp(
        settings,
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path),
        clock=lambda: NOW,
    )


def bar_text(app: KreaApp) -> str:
    return main_screen(app).query_one(StatusBar).render().plain


async def test_the_bar_says_what_is_left_today(tmp_path: Path) -> None:
    # The fixed history is of another day: the whole limit is left.
    app = app_with(tmp_path, max_spend_per_day=0.42)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert "$0.420 left" in bar_text(app)


async def test_no_limit_no_word(tmp_path: Path) -> None:
    app = app_with(tmp_path)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        assert "left" not in bar_text(app)


async def test_refreshed_on_sends_and_pauses_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = app_with(tmp_path, max_spend_per_day=1.0)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        screen = main_screen(app)
        asked: list[float] = []
        left = iter([0.5, 0.0])

        def spend_left_today() -> float:
            asked.append(1)
            return next(left)

        monkeypatch.setattr(app.engine, "spend_left_today", spend_left_today)
        job = app.store.get("00" + "0" * 30)
        unpriced = replace(job, cost_estimate=None)
        screen.handle_batch([JobEvent(unpriced, "queued", "processing")])
        assert asked == []  # nothing priced moved: not asked
        screen.handle_batch([JobEvent(job, "held", "submitting")] * 3)
        await pilot.pause()
        assert asked == [1]  # once a burst
        assert "$0.500 left" in bar_text(app)
        screen.handle_batch([QueueEvent(paused=True, reason=None)])
        await pilot.pause()
        assert len(asked) == 2
        assert "$0 left" in bar_text(app) or "$0.000 left" in bar_text(app)


def test_nothing_left_is_red_and_goes_when_narrow() -> None:
    summary = Summary(spend={"USD": 2.0}, spend_left=0.0)
    line = status_line(summary, FITS[0])
    start = line.plain.index("left")
    styles = [span.style for span in line.spans if span.start <= start < span.end]
    assert any("red" in str(style) for style in styles), line.spans
    assert "left" not in status_line(summary, FITS[-1]).plain
