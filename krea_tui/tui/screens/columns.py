"""ColumnsModal (L): which optional columns the job table shows; each shows as the width allows.

Space (or enter) shows or hides the highlighted column; escape closes with the choice, which
the main screen keeps for the next start. A column wanted but without room at this width says
so, rather than silently not appearing.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList
from textual.widgets.selection_list import Selection

from krea_tui.tui.screens.modals import MODAL_CSS
from krea_tui.tui.widgets.job_columns import BY_KEY, OPTIONAL, Layout

Fit = Callable[[frozenset[str]], Layout]  # hidden columns -> the table's layout at its width


class ColumnsModal(ModalScreen[frozenset[str]]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="ColumnsModal")
        + """
    ColumnsModal SelectionList { height: auto; max-height: 12; }
    ColumnsModal .hint { color: $text-muted; margin-top: 1; width: 100%; }  /* wraps, not cut */
    """
    )
    BINDINGS = [Binding("escape", "close", "Close (the choice is kept)", id="columns-close")]

    def __init__(self, hidden: frozenset[str], fit: Fit) -> None:
        super().__init__()
        self._hidden = hidden
        self._fit = fit

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Columns, in the order they get room", classes="title")
            specs = [BY_KEY[key] for key in OPTIONAL]
            choices = [
                Selection(f"{s.label:<7}{s.about}", s.key, s.key not in self._hidden) for s in specs
            ]
            yield SelectionList[str](*choices, id="columns-list")
            yield Label("", id="columns-room", classes="hint")
            yield Label("space shows or hides · esc closes", classes="hint")

    def on_mount(self) -> None:
        self._say_room()

    def index_of(self, key: str) -> int:
        """Where the column `key` is in the list (the first is 0)."""
        return OPTIONAL.index(key)

    @property
    def hidden(self) -> frozenset[str]:
        shown = set(self.query_one(SelectionList).selected)
        return frozenset(key for key in OPTIONAL if key not in shown)

    def on_selection_list_selected_changed(self) -> None:
        self._say_room()

    def _say_room(self) -> None:
        no_room = self._fit(self.hidden).no_room
        names = ", ".join(BY_KEY[key].label for key in no_room)
        text = f"No room at this width for: {names} (hide others, or widen)" if names else ""
        label = self.query_one("#columns-room", Label)
        label.update(text)
        label.display = bool(text)

    def action_close(self) -> None:
        self.dismiss(self.hidden)
