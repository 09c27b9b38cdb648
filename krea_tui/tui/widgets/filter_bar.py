"""FilterBar: the line above the job table with the filter being typed and what the view is.

Shown while a filter is typed or anything about the view differs from "every job, oldest
first": the user always sees why rows are missing or marked.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.widgets import Input, Static

PLACEHOLDER = "words · status:failed · model:flux · preset:x · batch:id · age:<1h · -word"


class FilterInput(Input):
    BINDINGS = [Binding("escape", "close", "Clear filter", id="filter-clear")]

    class Closed(Message):
        """The user left the filter with escape: clear it and hide the bar."""

    def action_close(self) -> None:
        self.post_message(self.Closed())


class FilterBar(Horizontal):
    DEFAULT_CSS = """
    FilterBar { height: 1; display: none; background: $panel; }
    FilterBar.-shown { display: block; }
    FilterBar > #filter-prompt { width: 2; color: $accent; text-style: bold; }
    FilterBar > FilterInput {
        width: 1fr; height: 1; border: none; padding: 0; background: $panel;
    }
    FilterBar > FilterInput:focus { border: none; background: $boost; }
    FilterBar > #view-info { width: auto; max-width: 60%; padding: 0 1; color: $text-muted; }
    """

    def compose(self) -> ComposeResult:
        yield Static("/", id="filter-prompt")
        yield FilterInput(placeholder=PLACEHOLDER, id="filter-input", select_on_focus=False)
        yield Static("", id="view-info")

    @property
    def input(self) -> FilterInput:
        return self.query_one(FilterInput)

    def describe(self, info: Text) -> None:
        self.query_one("#view-info", Static).update(info)
