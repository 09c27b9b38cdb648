"""ViewsModal: the saved views of the job table; enter applies one, delete forgets it."""

from __future__ import annotations

from pathlib import Path

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from krea_tui.config import ConfigError
from krea_tui.tui.screens.modals import MODAL_CSS
from krea_tui.views import SavedView, delete_view


def describe(view: SavedView) -> str:
    parts = [view.filter or "every job"]
    if view.sort != "created" or view.reverse:
        parts.append(f"sort {view.sort}{' reversed' if view.reverse else ''}")
    if view.group:
        parts.append("by batch")
    return " · ".join(parts)


class ViewsModal(ModalScreen[SavedView | None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="ViewsModal")
        + """
    ViewsModal OptionList { height: auto; max-height: 20; }
    ViewsModal .hint { color: $text-muted; margin-top: 1; }
    """
    )
    BINDINGS = [
        Binding("escape", "close", "Close", id="views-close"),
        Binding("delete,ctrl+x", "delete", "Delete view", id="view-delete"),
    ]

    def __init__(self, views: list[SavedView], path: Path | None = None) -> None:
        super().__init__()
        self._views = views
        self._path = path

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Saved views  (enter applies)", classes="title")
            yield OptionList(
                *(Option(f"{v.name}  —  {describe(v)}", id=v.name) for v in self._views),
                id="views-list",
            )
            yield Label("delete forgets the highlighted view · esc closes", classes="hint")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        chosen = [v for v in self._views if v.name == event.option.id]
        self.dismiss(chosen[0] if chosen else None)

    def action_delete(self) -> None:
        options = self.query_one(OptionList)
        index = options.highlighted
        if index is None or self._path is None:
            return
        name = self._views[index].name
        try:
            delete_view(self._path, name)
        except (ConfigError, OSError) as exc:
            self.notify(f"Not deleted: {exc}", severity="error")
            return
        del self._views[index]
        options.remove_option_at_index(index)
        self.notify(f"Deleted view {name!r}", timeout=3)

    def action_close(self) -> None:
        self.dismiss(None)
