"""KeysInOrder on a bare app: a burst of keys is handled in order, and a key whose widget goes
away on the way does not hold the keys after it for more than a moment."""

from __future__ import annotations

import time

from textual import events
from textual.app import ComposeResult
from textual.widgets import Input

from krea_tui.tui.key_order import HOLD_LIMIT, KeysInOrder
from tests.tui.conftest import until


class Vanishing(Input):
    """An input that removes itself on escape, with the keys after it on their way."""

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape":
            event.stop()
            self.remove()


class TwoFields(KeysInOrder[None]):
    def compose(self) -> ComposeResult:
        # Without selecting on focus, a field typed into twice keeps both parts.
        yield Vanishing(id="first", select_on_focus=False)
        yield Input(id="second", select_on_focus=False)


def burst(app: TwoFields, *keys: str) -> None:
    for key in keys:
        character = {"tab": "\t", "escape": "\x1b"}.get(key, key if len(key) == 1 else None)
        app.post_message(events.Key(key, character))


async def test_a_tab_in_a_burst_moves_the_focus_before_the_next_key() -> None:
    app = TwoFields()
    async with app.run_test() as pilot:
        first, second = app.query_one("#first", Input), app.query_one("#second", Input)
        app.set_focus(first)
        burst(app, "a", "b", "tab", "c", "shift+tab", "d")
        await until(pilot, lambda: "d" in first.value + second.value, "the d", deadline=5)
        assert (first.value, second.value) == ("abd", "c")


async def test_a_key_whose_field_is_removed_does_not_stall_the_keys_after_it() -> None:
    app = TwoFields()
    async with app.run_test() as pilot:
        second = app.query_one("#second", Input)
        app.set_focus(app.query_one("#first", Input))
        start = time.monotonic()
        burst(app, "escape", "y", "z")
        await until(pilot, lambda: second.value == "yz", "the keys after escape", deadline=5)
        assert time.monotonic() - start < HOLD_LIMIT + 2
