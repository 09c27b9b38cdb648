"""Preset pickers for the compose form: choose one to load, or name one to save."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from krea_tui.presets import Preset
from krea_tui.tui.screens.modals import MODAL_CSS


class LoadPresetModal(ModalScreen[Preset | None]):
    DEFAULT_CSS = MODAL_CSS.format(name="LoadPresetModal")
    BINDINGS = [Binding("escape", "close", "Close", id="preset-load-close")]

    def __init__(self, presets: dict[str, Preset]) -> None:
        super().__init__()
        self._presets = presets

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Load a preset (enter)", classes="title")
            if not self._presets:
                yield Label("No presets saved yet: F3 in the form saves one.")
            options = [
                Option(f"{name}  ·  {preset.model}", id=name)
                for name, preset in sorted(self._presets.items())
            ]
            yield OptionList(*options, id="preset-list")

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._presets.get(str(event.option.id)))

    def action_close(self) -> None:
        self.dismiss(None)


class SavePresetModal(ModalScreen[str | None]):
    DEFAULT_CSS = MODAL_CSS.format(name="SavePresetModal")
    BINDINGS = [Binding("escape", "close", "Close", id="preset-save-close")]

    def __init__(self, existing: set[str]) -> None:
        super().__init__()
        self._existing = existing

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Save the form's model and settings as a preset", classes="title")
            yield Input(placeholder="name (enter to save)", id="preset-name")
            yield Label("", id="preset-note")

    def on_input_changed(self, event: Input.Changed) -> None:
        name = event.value.strip()
        note = f"'{name}' exists: enter replaces it" if name in self._existing else ""
        self.query_one("#preset-note", Label).update(note)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        name = event.value.strip()
        if name:
            self.dismiss(name)

    def action_close(self) -> None:
        self.dismiss(None)
