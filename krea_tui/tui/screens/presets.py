"""The preset manager and the prompt history, both opened from the compose form.

The manager edits `presets.toml` in place (rename, duplicate, delete, import, export, default
per model) and closes with the preset to load, or None.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList
from textual.widgets.option_list import Option

from krea_tui.config import ConfigError
from krea_tui.presets import (
    Preset,
    check_name,
    delete_preset,
    duplicate_preset,
    export_preset,
    free_name,
    import_presets,
    load_defaults,
    load_presets,
    rename_preset,
    set_default,
)
from krea_tui.tui.screens.modals import MODAL_CSS, AskModal, ConfirmModal

LIST_CSS = """
{name} > Vertical {{ width: 90; }}
{name} OptionList {{ height: auto; max-height: 20; }}
{name} .hint {{ color: $text-muted; margin-top: 1; width: 100%; }}
"""


class PresetsModal(ModalScreen[Preset | None]):
    """Every preset; enter loads the highlighted one, other keys manage them.

    Each key opens its dialog at once, not from a worker, and enter loads without the round trip
    of the list's message, so that the keys typed next land in what they open (see modals.py).
    """

    DEFAULT_CSS = MODAL_CSS.format(name="PresetsModal") + LIST_CSS.format(name="PresetsModal")
    BINDINGS = [
        Binding("escape", "close", "Close", id="presets-close"),
        Binding("enter", "load", "Load", show=False, priority=True),
        Binding("f2", "rename", "Rename", id="preset-rename"),
        Binding("ctrl+d", "duplicate", "Duplicate", id="preset-duplicate"),
        Binding("delete,ctrl+x", "delete", "Delete", id="preset-delete"),
        Binding("ctrl+e", "export", "Export", id="preset-export"),
        Binding("ctrl+o", "import", "Import", id="preset-import"),
        Binding("ctrl+t", "toggle_default", "Default for model", id="preset-default"),
    ]

    def __init__(self, path: Path, model: str) -> None:
        super().__init__()
        self._path = path
        self._model = model  # the form's model: what "default for model" means without a pick
        self._presets: dict[str, Preset] = {}
        self._defaults: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Presets  (enter loads)", classes="title")
            yield Label("", id="presets-empty")
            yield OptionList(id="preset-list")
            yield Label(
                "f2 rename · ctrl+d duplicate · del delete\n"
                "ctrl+t default for its model · ctrl+e export · ctrl+o import\n"
                f"{self._path}",
                classes="hint",
            )

    def on_mount(self) -> None:
        self._reload()

    def _reload(self, highlight: str | None = None) -> None:
        try:
            self._presets = load_presets(self._path)
            self._defaults = load_defaults(self._path)
        except ConfigError as exc:
            self.app.notify(str(exc), title="Presets cannot be read", severity="error")
            self.dismiss(None)
            return
        options = self.query_one(OptionList)
        current = highlight or self._selected()
        options.clear_options()
        for name, preset in sorted(self._presets.items(), key=lambda kv: kv[0].lower()):
            star = "  ★ default" if self._defaults.get(preset.model) == name else ""
            options.add_option(Option(f"{name}  ·  {preset.model}{star}", id=name))
        self.query_one("#presets-empty", Label).update(
            "" if self._presets else "No presets yet: F3 in the form saves one, ctrl+o imports."
        )
        if current in self._presets:
            options.highlighted = options.get_option_index(current)
        elif self._presets:
            options.highlighted = 0
        self.set_focus(options)

    def _selected(self) -> str | None:
        options = self.query_one(OptionList)
        if options.highlighted is None or not options.option_count:
            return None
        return str(options.get_option_at_index(options.highlighted).id)

    def _edit(self, change: Callable[[], object], done: str, highlight: str | None = None) -> None:
        try:
            change()
        except (ConfigError, OSError) as exc:
            self.app.notify(str(exc), title="Presets not changed", severity="error", timeout=8)
            return
        self.app.notify(done, timeout=4)
        self._reload(highlight)

    @on(OptionList.OptionSelected)
    def _load(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._presets.get(str(event.option.id)))

    def action_load(self) -> None:
        name = self._selected()
        if name is not None:
            self.dismiss(self._presets.get(name))

    def _ask(self, modal: AskModal, then: Callable[[str], None]) -> None:
        """Open `modal`; `then` gets the text, unless the dialog was cancelled."""

        def answered(text: str | None) -> None:
            if text:
                then(text)

        self.app.push_screen(modal, answered)

    def _name_check(self, keep: str | None = None) -> Callable[[str], str | None]:
        def check(name: str) -> str | None:
            if name in self._presets and name != keep:
                return f"{name!r} exists already"
            return check_name(name)

        return check

    def action_rename(self) -> None:
        old = self._selected()
        if old is None:
            return

        def rename(new: str) -> None:
            if new != old:
                self._edit(lambda: rename_preset(old, new, self._path), f"Renamed to {new}", new)

        question = f"Rename {old!r} to"
        self._ask(AskModal(question, old, check=self._name_check(keep=old)), rename)

    def action_duplicate(self) -> None:
        name = self._selected()
        if name is None:
            return

        def duplicate(copy: str) -> None:
            self._edit(lambda: duplicate_preset(name, copy, self._path), f"Copied to {copy}", copy)

        suggestion = free_name(f"{name} copy", self._presets)
        question = f"Name of the copy of {name!r}"
        self._ask(AskModal(question, suggestion, check=self._name_check()), duplicate)

    def action_delete(self) -> None:
        name = self._selected()
        if name is None:
            return

        def delete(yes: bool | None) -> None:
            if yes:
                self._edit(lambda: delete_preset(name, self._path), f"Deleted preset {name}")

        self.app.push_screen(ConfirmModal(f"Delete preset {name!r}?", "Delete"), delete)

    def action_toggle_default(self) -> None:
        name = self._selected()
        if name is None:
            return
        model = self._presets[name].model
        if self._defaults.get(model) == name:
            self._edit(lambda: set_default(model, None, self._path), f"No default for {model}")
        else:
            self._edit(
                lambda: set_default(model, name, self._path), f"{name} is the default for {model}"
            )

    def action_export(self) -> None:
        name = self._selected()
        if name is None:
            return
        preset = self._presets[name]

        def export(target: str) -> None:
            self._edit(lambda: export_preset(preset, _path(target)), f"Exported to {target}")

        suggestion = str(Path.cwd() / f"{name.replace(' ', '-')}.toml")
        self._ask(AskModal(f"Export {name!r} to the file", suggestion, check=_new_file), export)

    def action_import(self) -> None:
        self._ask(
            AskModal("Import the presets of the file", check=_existing_file, placeholder="path"),
            self._import,
        )

    def _import(self, source: str) -> None:
        try:
            added = import_presets(_path(source), self._path)
        except (ConfigError, OSError) as exc:
            self.app.notify(str(exc), title="Nothing imported", severity="error", timeout=8)
            return
        self.app.notify("Imported: " + ", ".join(added), timeout=6)
        self._reload(added[0])

    def action_close(self) -> None:
        self.dismiss(None)


def _path(text: str) -> Path:
    return Path(text).expanduser()


def _new_file(text: str) -> str | None:
    if text and _path(text).exists():
        return "that file exists already; exports never replace a file"
    return None


def _existing_file(text: str) -> str | None:
    if text and not _path(text).is_file():
        return "no such file"
    return None


class PromptHistoryModal(ModalScreen[str | None]):
    """Recent prompts, newest first, narrowed as you type; enter puts one in the form."""

    DEFAULT_CSS = MODAL_CSS.format(name="PromptHistoryModal") + LIST_CSS.format(
        name="PromptHistoryModal"
    )
    BINDINGS = [
        Binding("escape", "close", "Close", id="history-close"),
        Binding("down", "focus_list", "List", show=False, id="history-list"),
        # Not the Input's or the list's own enter: their messages would come after the next key.
        Binding("enter", "take", "Insert", show=False, priority=True),
    ]

    def __init__(self, prompts: list[str]) -> None:
        super().__init__()
        self._prompts = prompts
        self._needle: str | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Prompt history  (type to search, enter inserts)", classes="title")
            yield Input(placeholder="search", id="history-search")
            yield OptionList(id="history-list")
            yield Label("", classes="hint", id="history-count")

    def on_mount(self) -> None:
        self._show("")
        self.set_focus(self.query_one("#history-search", Input))

    def _show(self, needle: str) -> None:
        if needle == self._needle:
            return  # already shown: redrawing would move the list's cursor back to the top
        self._needle = needle
        words = needle.lower().split()
        found = [p for p in self._prompts if all(w in p.lower() for w in words)]
        options = self.query_one(OptionList)
        options.clear_options()
        # The option's id is its index: prompts can hold anything, ids should not.
        options.add_options(
            Option(p if len(p) <= 200 else p[:199] + "…", id=str(i)) for i, p in enumerate(found)
        )
        self._found = found
        if found:
            options.highlighted = 0
        total = len(self._prompts)
        self.query_one("#history-count", Label).update(
            f"{len(found)} of {total}" if total else "No prompts yet: the ones you send land here."
        )

    @on(Input.Changed)
    def _search(self, event: Input.Changed) -> None:
        self._show(event.value)

    def action_take(self) -> None:
        # The list as typed, even if the search box's message has not come yet.
        self._show(self.query_one("#history-search", Input).value)
        if self._found:
            self.dismiss(self._found[self.query_one(OptionList).highlighted or 0])

    @on(OptionList.OptionSelected)
    def _take(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(self._found[int(str(event.option.id))])

    def action_focus_list(self) -> None:
        self._show(self.query_one("#history-search", Input).value)
        self.set_focus(self.query_one(OptionList))

    def action_close(self) -> None:
        self.dismiss(None)
