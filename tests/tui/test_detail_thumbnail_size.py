"""The detail pane's thumbnail uses the room a wide terminal gives it (issue 19, item 4): on
main it was 24×12 cells whatever the window, a stamp in a 100-column pane at 250×70."""

from __future__ import annotations

from collections.abc import Callable

from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settle, until


def thumb_size(app: KreaApp) -> tuple[int, int]:
    thumb = app.screen.query_one("#detail-thumb")
    return (thumb.size.width, thumb.size.height) if thumb.display else (0, 0)


async def test_the_thumbnail_grows_with_the_window_and_shrinks_back(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(pilot)
        await until(pilot, lambda: thumb_size(app)[0] > 0, "the thumbnail")
        small = thumb_size(app)
        assert small[0] <= 30 and small[1] <= 13  # as before at this size: parameters show too

        await pilot.resize_terminal(250, 70)
        await until(pilot, lambda: thumb_size(app)[1] >= 2 * small[1], "a larger thumbnail")
        pane = app.screen.query_one("JobDetail")
        wide = thumb_size(app)
        assert wide[0] < pane.size.width and wide[1] <= pane.size.height // 2

        await pilot.resize_terminal(120, 30)
        await until(pilot, lambda: thumb_size(app) == small, "the thumbnail as it was")
