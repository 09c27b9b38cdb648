"""What the main screen's keys do to the table's own layout: follow new jobs (f), newest first
(N), which columns (L). Newest first and the columns are kept in views.toml for the next start.

A mixin of MainScreen, like `job_actions.JobActions`: it needs `krea` (the app) and `table`
(once the history is open; the kept choices are read before, and the table is made with them).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from krea_tui.config import ConfigError
from krea_tui.views import TableLayout, load_table_layout, save_table_layout, views_path

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp
    from krea_tui.tui.widgets.queue_table import QueueTable


class TablePrefs:
    """Mixed into MainScreen (a Screen); the attributes below are the screen's."""

    if TYPE_CHECKING:
        app: Any

        @property
        def krea(self) -> KreaApp: ...
        @property
        def table(self) -> QueueTable: ...

        def notify(self, message: str, **kwargs: Any) -> None: ...

    newest_first = False
    hidden_columns: frozenset[str] = frozenset()

    def _layout_path(self) -> Path | None:
        # Settings made in code (tests, the screenshots) have no config file: nothing to read
        # or keep, so what the user chose elsewhere never changes them.
        config = self.krea.settings.config_path
        return None if config is None else views_path(config)

    def load_table_prefs(self) -> None:
        """The choices kept from last time, before the history is opened."""
        path = self._layout_path()
        if path is None:
            return
        try:
            layout = load_table_layout(path)
        except ConfigError as exc:
            self.notify(str(exc), severity="error", timeout=8)
            return
        self.newest_first = layout.newest_first
        self.hidden_columns = layout.hidden

    def _keep(self) -> None:
        path = self._layout_path()
        if path is None:
            return
        try:
            save_table_layout(path, TableLayout(self.hidden_columns, self.newest_first))
        except (ConfigError, OSError) as exc:
            self.notify(f"Table layout not kept: {exc}", severity="error", timeout=8)

    def action_toggle_follow(self) -> None:
        self.table.set_following(not self.table.following)

    def action_newest_first(self) -> None:
        """The queue's own order, newest or oldest first; the choice is kept."""
        self.newest_first = not self.newest_first
        self.table.set_view(replace(self.table.view, sort="created", reverse=self.newest_first))
        self._keep()

    def action_choose_columns(self) -> None:
        from krea_tui.tui.screens.columns import ColumnsModal

        table = self.table

        def chosen(hidden: frozenset[str] | None) -> None:
            if hidden is not None and hidden != table.hidden:
                self.hidden_columns = hidden
                table.set_hidden(hidden)
                self._keep()

        self.app.push_screen(ColumnsModal(table.hidden, table.layout_for), chosen)
