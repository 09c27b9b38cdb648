"""The command palette (ctrl+p): every app action by name, with the key bound to it now."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from krea_tui.tui.queue_commands import QUEUE_COMMANDS

if TYPE_CHECKING:
    from textual.screen import Screen

    from krea_tui.tui.app import KreaApp

# (title, help, action on the main screen)
JOB_COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("job: new", "Compose a new job", "new_job"),
    ("job: open result", "Open the highlighted job's result", "open_result"),
    ("job: cancel", "Cancel the highlighted job", "cancel_job"),
    ("job: re-run", "Send the same request again", "rerun"),
    ("job: edit as new", "Open the form filled from this job", "edit_job"),
    ("job: copy id", "Copy the job id", "copy_id"),
    ("job: rate or pick", "Rate 0–5, pick (+) or reject (-) this job or the marked", "rate"),
    ("results: export", "Copy the results shown (or marked) into a folder", "export"),
    ("results: A/B compare", "Two at a time, side by side or flipped, down to one", "compare"),
    ("queue: pause or resume", "Hold unsent jobs, or send them again", "toggle_queue"),
    ("view: toggle detail pane", "Show or hide the detail pane", "toggle_detail"),
)


def key_hints(app: KreaApp, screen: Screen[Any]) -> dict[str, str]:
    """Action -> the keys that run it on `screen`, as shown to the user ("F1, ?").

    Read from the screen's active bindings, which have the [keymap] of config.toml applied
    (App.set_keymap): hints written by hand went stale as soon as a key was rebound.
    """
    keys: dict[str, list[str]] = {}
    for active in screen.active_bindings.values():
        shown = keys.setdefault(active.binding.action, [])
        display = app.get_key_display(active.binding)
        if display not in shown:
            shown.append(display)
    return {action: ", ".join(shown) for action, shown in keys.items()}


def _open_styles(app: KreaApp) -> None:
    from krea_tui.tui.screens.styles import open_styles

    open_styles(app)


class KreaCommands(Provider):
    def _commands(self) -> list[tuple[str, str, Callable[[], Any]]]:
        app: KreaApp = self.app  # type: ignore[assignment]
        screen = app.screen_stack[0]
        hints = key_hints(app, screen)

        def run(action: str) -> Callable[[], Any]:
            return partial(screen.run_action, action)

        def hinted(title: str, text: str, action: str, callback: Callable[[], Any]) -> Any:
            keys = hints.get(action)
            return (title, f"{text} ({keys})" if keys else text, callback)

        return [
            *(hinted(title, text, action, run(action)) for title, text, action in JOB_COMMANDS),
            *(hinted(title, text, action, run(action)) for title, text, action in QUEUE_COMMANDS),
            hinted(
                "batch: contact sheet",
                "The highlighted job's batch as a grid of results",
                "contact_sheet",
                run("contact_sheet"),
            ),
            hinted(
                "gallery: every result",
                "Thumbnails of every result the filter matches, newest first",
                "gallery",
                app.action_gallery,
            ),
            (
                "styles: browse",
                "Styles (LoRAs) you may use; a pick opens a form with it",
                partial(_open_styles, app),
            ),
            (
                "history: import from the server",
                "Jobs this token created elsewhere join the history",
                app.import_from_server,
            ),
            hinted("help: keys", "Every key binding", "help", app.action_help),
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
