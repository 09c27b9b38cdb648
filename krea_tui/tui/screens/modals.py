"""Small modals: a yes/no confirmation, a message that needs reading, one line of text.

The app takes keys one at a time (tui/key_order.py), but a key whose effect travels as a widget's
message (enter on a Button or an Input) is acted on later than the next key is read; so these
dialogs bind enter themselves, with priority, and close before the next key arrives.
"""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

MODAL_CSS = """
{name} {{ align: center middle; }}
{name} > Vertical {{
    width: 70; max-width: 95%; height: auto; max-height: 90%;
    border: thick $primary; background: $surface; padding: 1 2;
}}
{name} .title {{ text-style: bold; margin-bottom: 1; width: 100%; }}
{name} .buttons {{ height: auto; margin-top: 1; align-horizontal: right; }}
{name} Button {{ margin-left: 1; }}
"""


class ConfirmModal(ModalScreen[bool]):
    DEFAULT_CSS = MODAL_CSS.format(name="ConfirmModal")
    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm-yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm-no"),
        Binding("enter", "press_focused", "Answer", show=False, priority=True),
    ]

    def __init__(self, question: str, yes: str = "Yes", no: str = "No") -> None:
        super().__init__()
        self._question, self._yes, self._no = question, yes, no

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._question, classes="title")
            with Horizontal(classes="buttons"):
                yield Button(f"{self._no} (n)", id="no")
                yield Button(f"{self._yes} (y)", id="yes", variant="error")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#no", Button))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, value: bool) -> None:
        self.dismiss(value)

    def action_press_focused(self) -> None:
        self.dismiss(self.focused is not None and self.focused.id == "yes")


class MessageModal(ModalScreen[None]):
    """The server's (or our) words, shown until read."""

    DEFAULT_CSS = MODAL_CSS.format(name="MessageModal")
    BINDINGS = [Binding("escape,enter,q", "close", "Close", id="message-close", priority=True)]

    def __init__(self, title: str, message: str) -> None:
        super().__init__()
        self._title, self._message = title, message

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._title, classes="title")
            yield Static(self._message)
            with Horizontal(classes="buttons"):
                yield Button("OK (enter)", id="ok", variant="primary")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#ok", Button))

    def on_button_pressed(self) -> None:
        self.dismiss()

    def action_close(self) -> None:
        self.dismiss()


class AskModal(ModalScreen[str | None]):
    """One line of text (a name, a file path), checked as it is typed; enter accepts it."""

    DEFAULT_CSS = MODAL_CSS.format(name="AskModal") + (
        # The note is a rule to read whole: it wraps inside the dialog instead of running off it.
        "AskModal #ask-note { color: $error; width: 100%; height: auto; }"
    )
    BINDINGS = [
        Binding("escape", "close", "Cancel", id="ask-cancel"),
        Binding("enter", "accept", "Accept", show=False, priority=True),
    ]

    def __init__(
        self,
        question: str,
        value: str = "",
        *,
        check: Callable[[str], str | None] = lambda _: None,
        placeholder: str = "",
    ) -> None:
        super().__init__()
        self._question, self._value, self._check, self._placeholder = (
            question,
            value,
            check,
            placeholder,
        )

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._question, classes="title")
            yield Input(self._value, placeholder=self._placeholder, id="ask-input")
            yield Label("", id="ask-note")

    def on_mount(self) -> None:
        self.set_focus(self.query_one("#ask-input", Input))

    def on_input_changed(self, event: Input.Changed) -> None:
        self.query_one("#ask-note", Label).update(self._check(event.value.strip()) or "")

    def action_accept(self) -> None:
        value = self.query_one("#ask-input", Input).value.strip()
        problem = self._check(value) if value else "empty"
        if problem:
            self.query_one("#ask-note", Label).update(problem)
            return
        self.dismiss(value)

    def action_close(self) -> None:
        self.dismiss(None)
