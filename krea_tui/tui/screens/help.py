"""HelpScreen (F1, ?): every key of the app and of the screen below, by group."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

INTRO = (
    "krea-tui keeps every job you send in a local history. Keys below work without a mouse; "
    "the mouse works too. ctrl+p opens the command palette. Keys can be changed in the "
    "[keymap] table of config.toml using the ids shown here. ⇣ in the status bar: the table "
    "follows new jobs (f); moving the cursor stops it. A click on a column's label sorts by it."
)


class HelpScreen(ModalScreen[None]):
    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll {
        width: 90; max-width: 95%; height: 90%; border: thick $primary; background: $surface;
        padding: 0 1;
    }
    """
    BINDINGS = [Binding("escape,q,f1,question_mark", "close", "Close", id="help-close")]

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[tuple[str, str, str]] = []  # (keys, action, id) as shown

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Static(Text(INTRO, style="italic"))
            yield Static(self._bindings_table())

    def _bindings_table(self) -> Table:
        table = Table(expand=True, box=None, padding=(0, 1))
        table.add_column("Key", style="bold cyan", no_wrap=True, ratio=2)
        table.add_column("Action", ratio=3)
        table.add_column("Id (for the keymap)", style="dim", no_wrap=True, ratio=3)
        seen: set[str] = set()
        keymap: dict[str, str] = dict(getattr(getattr(self.app, "settings", None), "keymap", {}))
        below = self.app.screen_stack[-2] if len(self.app.screen_stack) > 1 else self.app.screen
        sources = [("Screen", below), ("Table", below.focused), ("App", self.app)]
        for title, node in sources:
            if node is None:
                continue
            rows = []
            for binding in node.BINDINGS:
                if not isinstance(binding, Binding) or binding.id in seen:
                    continue
                seen.add(binding.id or binding.key)
                # The user's [keymap] wins over the defaults written in the code.
                rebound = keymap.get(binding.id or "")
                if rebound:
                    binding = Binding(rebound, binding.action, binding.description, id=binding.id)
                keys = ", ".join(
                    self.app.get_key_display(Binding(key.strip(), binding.action))
                    for key in binding.key.split(",")
                )
                rows.append((keys, binding.description or binding.action, binding.id or ""))
            if rows:
                table.add_row(Text(title, style="bold underline"), "", "")
                for row in rows:
                    table.add_row(*row)
                self.rows.extend(rows)
        return table

    def action_close(self) -> None:
        self.dismiss()
