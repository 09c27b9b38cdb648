"""The command palette (ctrl+p): every app action by name."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from krea_tui.tui.queue_commands import queue_view_commands

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp


class KreaCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: KreaApp = self.app  # type: ignore[assignment]
        screen = app.screen_stack[0]

        def run(action: str) -> Callable[[], Any]:
            return partial(screen.run_action, action)

        return [
            ("job: new", "Compose a new job (n)", run("new_job")),
            ("job: open result", "Open the highlighted job's result (enter)", run("open_result")),
            ("job: cancel", "Cancel the highlighted job (c)", run("cancel_job")),
            ("job: re-run", "Send the same request again (r)", run("rerun")),
            ("job: edit as new", "Open the form filled from this job (e)", run("edit_job")),
            ("job: copy id", "Copy the job id (y)", run("copy_id")),
            (
                "queue: pause or resume",
                "Hold unsent jobs, or send them again (p)",
                run("toggle_queue"),
            ),
            ("view: toggle detail pane", "Show or hide the detail pane (d)", run("toggle_detail")),
            *queue_view_commands(run),
            (
                "batch: contact sheet",
                "The highlighted job's batch as a grid of results (b)",
                run("contact_sheet"),
            ),
            (
                "history: import from the server",
                "Jobs this token created elsewhere join the history",
                app.import_from_server,
            ),
            ("help: keys", "Every key binding (F1, ?)", app.action_help),
        ]

    async def discover(self) -> Hits:
        for title, help_text, callback in self._commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self._commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
