"""The sweep dialog on a small terminal (60×20, a split tmux pane): its buttons stay on screen
and work, and its parameter drop-down stands out from the dialog it is drawn over."""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button, Input, Select

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.sweep import SendSweepModal, SweepModal
from tests.tui.conftest import until
from tests.tui.sweep_support import open_sweep

SMALL = (60, 20)


def shown_at_its_centre(app: KreaApp, widget: Widget) -> bool:
    """What a user sees: the widget is on screen and nothing covers or clips its middle."""
    region = widget.region
    if not region or not Region(0, 0, *SMALL).contains_region(region):
        return False
    found, _ = app.screen.get_widget_at(*region.center)
    return found is widget or widget in found.ancestors


async def test_the_buttons_are_on_screen_and_work_at_60x20(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=SMALL) as pilot:
        modal = await open_sweep(pilot, app)
        for button in modal.query(Button):
            assert shown_at_its_centre(app, button), f"{button.id} is not visible"
        # Eleven values out of range: eleven lines of problems, and the buttons stay.
        values = modal.query_one("#sweep-values-1", Input)
        values.value = "0..200 step 20"
        await pilot.pause()
        for button in modal.query(Button):
            assert shown_at_its_centre(app, button), f"{button.id} is hidden by the problems"
        body = modal.query_one("#sweep-body", VerticalScroll)
        body.scroll_end(animate=False)
        await pilot.pause()
        assert shown_at_its_centre(app, modal.query_one("#sweep-summary"))
        values.value = "20,30"
        await pilot.pause()
        await pilot.click("#sweep-go")
        await until(pilot, lambda: isinstance(app.screen, SendSweepModal), "the last question")
        for button in app.screen.query(Button):
            assert shown_at_its_centre(app, button), f"{button.id} is not visible"
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, SweepModal), "the sweep form again")
        await pilot.click("#sweep-cancel")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")


async def test_the_drop_down_stands_out_from_the_dialog(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=SMALL) as pilot:
        modal = await open_sweep(pilot, app)
        select = modal.query_one("#sweep-field-1", Select)
        select.focus()
        await pilot.press("enter")
        await pilot.pause()
        assert select.expanded
        overlay = select.query_one("SelectOverlay")  # by name: the class is not public
        dialog = modal.query_one("#sweep-dialog")
        assert overlay.styles.background != dialog.styles.background
        edges = {edge for edge, _ in overlay.styles.border}
        assert edges.isdisjoint({"", "none", "hidden", "blank"}), edges
        assert {color for _, color in overlay.styles.border} != {dialog.styles.background}
        assert Region(0, 0, *SMALL).contains_region(overlay.region)
        assert shown_at_its_centre(app, overlay)
