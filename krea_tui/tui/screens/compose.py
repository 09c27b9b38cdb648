"""ComposeScreen: pick a model, fill its form, see every problem and the cost, submit."""

from __future__ import annotations

import contextlib
import random
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer, Input, Label, Select, Static, Switch, TextArea

from krea_tui.core.assets import absolute_inputs, input_problems, validation_body
from krea_tui.core.batch import expand_prompt, with_seeds
from krea_tui.core.catalog import DEFAULT_MODEL, ModelInfo
from krea_tui.core.draft import Draft, DraftBox
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.screens.modals import AskModal, ConfirmModal
from krea_tui.tui.widgets.field_form import FieldForm, field_help

if TYPE_CHECKING:
    from krea_tui.presets import Preset

SEED_MODES = [
    ("random seed per image", "random"),
    ("same seed for all", "fixed"),
    ("seed +1 per image", "increment"),
]
ASPECTS = [
    ("1:1  1024×1024", (1024, 1024)),
    ("4:3  1152×896", (1152, 896)),
    ("3:4  896×1152", (896, 1152)),
    ("3:2  1216×832", (1216, 832)),
    ("2:3  832×1216", (832, 1216)),
    ("16:9  1344×768", (1344, 768)),
    ("9:16  768×1344", (768, 1344)),
    ("21:9  1536×640", (1536, 640)),
]
MAX_COUNT = 100
COUNT_LABEL = "Images (N)"  # also how its problems start, which leads ctrl+s to the field
# The help line for the form's own widgets; request fields have `field_help`.
HELP = {
    "model": "model · its fields are below; f2 loads a preset",
    "prompt": "prompt · {a|b} sends one job per variant",
    "count": f"images (N) · 1–{MAX_COUNT} jobs from this form",
    "seed": "seed · empty: random · ctrl+r picks one",
    "seed-mode": "seed · how each image gets its seed",
    "aspect": "width and height · a size for this model",
}
DRAFT_FILE = "compose-draft.json"
# One draft per running app: what the form held when it was last left without sending.
_DRAFTS: weakref.WeakKeyDictionary[Any, DraftBox] = weakref.WeakKeyDictionary()


class ComposeScreen(KreaAccess, Screen[None]):
    BINDING_GROUP_TITLE = "Compose"
    # The focused field's label is reversed and bold, which shows without colour and in 256
    # colours. A class, not :focus-within: Textual restyles a :focus-within rule only on the
    # focused widget's ancestors, and the label is a sibling.
    DEFAULT_CSS = """
    ComposeScreen #compose-top { height: auto; padding: 0 1; margin-bottom: 1; }
    ComposeScreen #compose-top > Label { width: 18; }
    ComposeScreen #model { width: 1fr; }
    ComposeScreen #form { height: 1fr; padding: 0 1; }
    ComposeScreen #prompt-box { height: auto; }
    ComposeScreen .-focused-row > Label { text-style: bold reverse; }
    ComposeScreen #prompt { height: 4; }
    ComposeScreen #prompt-info { height: 1; color: $text-muted; margin-bottom: 1; }
    ComposeScreen #prompt-info.-over { color: $error; text-style: bold; }
    ComposeScreen .row { height: auto; margin-bottom: 1; }
    ComposeScreen .row > Label { width: 18; }
    ComposeScreen .row > Input { width: 1fr; }
    ComposeScreen .row > Select { width: 1fr; }
    ComposeScreen #seed { width: 1fr; margin-right: 1; }
    ComposeScreen #summary { height: auto; padding: 0 1; background: $panel; }
    ComposeScreen #summary.-problems { color: $error; }
    ComposeScreen #general-problems { color: $error; height: auto; }
    ComposeScreen #field-help {
        height: 1; padding: 0 1; color: $text-muted; text-wrap: nowrap; text-overflow: ellipsis;
    }
    """
    BINDINGS = [
        Binding("ctrl+s", "submit", "Send", priority=True, id="submit-job"),
        Binding("escape", "back", "Back", id="compose-back"),
        # Out of the footer so that all of it fits 80 columns; F1 lists it.
        Binding("ctrl+r", "random_seed", "New seed", show=False, id="random-seed"),
        Binding("f2", "load_preset", "Presets", id="load-preset"),
        Binding("f3", "save_preset", "Save preset", id="save-preset"),
        Binding("f4", "sweep", "Sweep", id="sweep"),
        Binding("f5", "prompt_history", "History", id="prompt-history"),
        Binding("f8", "discard_draft", "Discard draft", show=False, id="discard-draft"),
        Binding("f9", "pick_style", "Styles", show=False, id="pick-style"),
    ]

    def __init__(
        self,
        *,
        model: str | None = None,
        request: Mapping[str, Any] | None = None,
        parent: str | None = None,
    ):
        super().__init__()
        self._model_path = model or DEFAULT_MODEL
        self._request = dict(request or {})
        # The job this form was opened from (edit, use as input): what it sends is its child.
        self.parent_id = parent
        # A plain `n` brings back the draft; a form opened from a job or preset does not.
        self._plain = model is None and not request
        self._restored: Draft | None = None
        self._opening: Draft | None = None  # the form as opened: leaving it unchanged keeps
        self._last: Draft | None = None  # the draft there is; the form at the last check
        self._done = False  # sent, or its draft already kept

    @property
    def model(self) -> ModelInfo:
        return self.krea.catalog.get(self._model_path)

    def _drafts(self) -> DraftBox:
        box = _DRAFTS.get(self.app)
        if box is None:
            config = self.krea.settings.config_path
            box = DraftBox(config.parent / DRAFT_FILE if config is not None else None)
            _DRAFTS[self.app] = box
        return box

    def compose(self) -> ComposeResult:
        if self._plain:
            self._restored = self._drafts().get()
        draft = self._restored
        if draft is not None:
            if draft.model in self.krea.catalog:
                self._model_path = draft.model
            self._request = {"prompt": draft.prompt, "_count": draft.count}
            if draft.seed:
                self._request["seed"] = draft.seed
        models = [(f"{m.name}  ({m.path})", m.path) for m in self.krea.catalog.models()]
        with Horizontal(id="compose-top"):
            yield Label("Model")
            yield Select(models, value=self.model.path, id="model", allow_blank=False, compact=True)
        with VerticalScroll(id="form"):
            with Vertical(id="prompt-box"):
                yield Label("Prompt")
                yield TextArea(
                    str(self._request.get("prompt", "")), id="prompt", soft_wrap=True, compact=True
                )
            yield Label("", id="prompt-info")
            with Horizontal(classes="row"):
                yield Label(COUNT_LABEL)
                yield Input(
                    str(self._request.get("_count", 1)), type="integer", id="count", compact=True
                )
            with Horizontal(classes="row", id="seed-row"):
                yield Label("Seed")
                seed = self._request.get("seed")
                yield Input(
                    "" if seed is None else str(seed),
                    type="integer",
                    placeholder="empty: random",
                    id="seed",
                    compact=True,
                )
                modes = {value for _, value in SEED_MODES}
                if draft is not None and draft.seed_mode in modes:
                    mode = draft.seed_mode
                else:
                    mode = "random" if seed is None else "fixed"
                yield Select(
                    SEED_MODES,
                    value=mode,
                    id="seed-mode",
                    allow_blank=False,
                    compact=True,
                )
            with Horizontal(classes="row", id="aspect-row"):
                yield Label("Size preset")
                yield Select(ASPECTS, id="aspect", prompt="choose width × height", compact=True)
            yield FieldForm(self.model.fields, self._request, id="fields")
            yield Static("", id="general-problems")
        yield Static("", id="field-help")
        yield Static("", id="summary")
        yield Footer()

    async def on_mount(self) -> None:
        self._layout_for_model()
        # Now, not on a later tick as .focus() would: keys typed right after `n` go here.
        self.set_focus(self.query_one("#prompt", TextArea))
        if self._restored is not None:
            self._restore_fields(self._restored.fields)
            self.notify("Draft restored (f8 discards it)", timeout=4)
        elif not self._request:
            await self._apply_default_preset()
        self._check()
        self._opening = self._state()

    # -- the draft -------------------------------------------------------------------------------

    def _state(self) -> Draft:
        """The form as typed, every field as text or choice, for a draft."""
        fields: dict[str, Any] = {}
        for field in self.query_one(FieldForm).fields:
            widget = self.query_one(f"#field-{field.name}")
            if isinstance(widget, Select):
                if widget.value is not Select.NULL:
                    fields[field.name] = widget.value
            elif isinstance(widget, Input | Switch):
                fields[field.name] = widget.value
        return Draft(
            model=self.model.path,
            prompt=self.query_one("#prompt", TextArea).text,
            count=self.query_one("#count", Input).value,
            seed=self.query_one("#seed", Input).value,
            seed_mode=str(self.query_one("#seed-mode", Select).value),
            fields=fields,
        )

    def _restore_fields(self, values: Mapping[str, Any]) -> None:
        for name, value in values.items():
            try:
                widget = self.query_one(f"#field-{name}")
            except NoMatches:
                continue  # a field the model no longer has
            if isinstance(widget, Select):
                field = self.model.field(name)
                if field is not None and field.enum and value in field.enum:
                    widget.value = value
            elif isinstance(widget, Input | Switch) and type(value) is type(widget.value):
                widget.value = value

    def _keep_draft(self, state: Draft | None) -> None:
        """Leaving without sending: keep the form unless it is as it was opened."""
        if self._done:
            return
        self._done = True
        if state is not None and state != self._opening:
            self._drafts().put(state)

    def _sent(self) -> None:
        self._done = True
        self._drafts().clear()

    def on_unmount(self) -> None:
        # Any other way out (the app quitting, a screen switch): the form as last checked.
        self._keep_draft(self._last)

    async def action_discard_draft(self) -> None:
        """Forget the draft and start this form afresh."""
        self._drafts().clear()
        self.query_one("#prompt", TextArea).text = ""
        self.query_one("#count", Input).value = "1"
        self.query_one("#seed", Input).value = ""
        self.query_one("#seed-mode", Select).value = "random"
        self.query_one(FieldForm).reset()
        await self._apply_default_preset()
        self._check()
        self._opening = self._state()
        self.notify("Draft discarded", timeout=3)

    def _layout_for_model(self) -> None:
        model = self.model
        self.query_one("#seed-row").display = model.field("seed") is not None
        self.query_one("#aspect-row").display = model.takes_pixels

    # -- reading the form ----------------------------------------------------------------------

    def _count(self) -> int | None:
        text = self.query_one("#count", Input).value.strip()
        try:
            count = int(text)
        except ValueError:
            return None
        return count if 1 <= count <= MAX_COUNT else None

    def _body(self) -> tuple[dict[str, Any], dict[str, str]]:
        body, problems = self.query_one(FieldForm).values()
        prompt = self.query_one("#prompt", TextArea).text
        if prompt:
            body["prompt"] = prompt
        seed_text = self.query_one("#seed", Input).value.strip()
        if seed_text and self.model.field("seed") is not None:
            try:
                body["seed"] = int(seed_text)
            except ValueError:
                problems["seed"] = "seed: a whole number"
        return body, problems

    def requests(self) -> tuple[list[dict[str, Any]], list[str]]:
        """The request bodies this form would send, and every problem with them."""
        body, read_problems = self._body()
        # A local file in an image field is kept as its absolute path; the engine uploads it
        # when the job is sent (core/assets.py), so a held job still names the file.
        body = absolute_inputs(self.model, body)
        problems = [*read_problems.values(), *input_problems(self.model, body)]
        count = self._count()
        if count is None:
            problems.append(f"{COUNT_LABEL}: a whole number from 1 to {MAX_COUNT}")
            count = 1
        mode = self.query_one("#seed-mode", Select).value
        takes_seed = self.model.field("seed") is not None
        bodies: list[dict[str, Any]] = []
        for prompt in expand_prompt(str(body.get("prompt", ""))):
            variant = {**body, "prompt": prompt} if "prompt" in body else dict(body)
            if mode == "fixed" or not takes_seed:
                bodies.extend(dict(variant) for _ in range(count))
            else:
                if mode == "random":
                    variant.pop("seed", None)
                bodies.extend(with_seeds(variant, count, takes_seed=True))
        checked = validation_body(self.model, bodies[0] if bodies else body)
        for problem in self.krea.catalog.validate(self.model.path, checked):
            problems.append(problem.message)
        return bodies, problems

    def _check(self) -> list[str]:
        """Validate everything now; show problems inline and the cost below."""
        bodies, problems = self.requests()
        by_field: dict[str, str] = {}
        general: list[str] = []
        for message in problems:
            name = _problem_field(message)
            if self.model.field(name) is not None and name not in ("prompt", "seed"):
                by_field.setdefault(name, message)
            else:
                general.append(message)
        self.query_one(FieldForm).show_problems(by_field)
        self.query_one("#general-problems", Static).update(Content("\n".join(general)))
        self._update_prompt_info()
        summary = self.query_one("#summary", Static)
        summary.set_class(bool(problems), "-problems")
        n = len(bodies)
        cost, label = self.krea.catalog.estimate_cost(self.model.path, bodies[0] if bodies else {})
        money = f" · est. {n} × {label}" if cost is not None else " · cost unknown"
        if cost is not None and n > 1:
            unit = "$" if label.startswith("$") else ""
            total = f"{unit}{cost * n:.3f}" if unit else f"{cost * n:g} CU"
            money += f" = {total}"
        state = f"{len(problems)} to fix: {problems[0]}" if problems else "ready: ctrl+s sends"
        summary.update(f"{self.model.name} · {n} job(s){money} · {state}")
        with contextlib.suppress(NoMatches):  # the field form is being rebuilt for a model
            self._last = self._state()
        return problems

    def _update_prompt_info(self) -> None:
        text = self.query_one("#prompt", TextArea).text
        limit = self.model.max_prompt_length
        info = self.query_one("#prompt-info", Label)
        variants = len(expand_prompt(text))
        extra = f" · {variants} variants from {{a|b}}" if variants > 1 else ""
        if limit:
            info.update(f"{len(text)}/{limit} characters{extra}")
            info.set_class(len(text) > limit, "-over")
        else:
            info.update(f"{len(text)} characters{extra}")

    def _focus_first_problem(self, problems: list[str]) -> None:
        """The cursor to the first field, in the form's order, that a problem is about."""
        selectors = {"prompt": "#prompt", "seed": "#seed", COUNT_LABEL: "#count"}
        bad: set[Widget] = set()
        for message in problems:
            name = _problem_field(message)
            selector = selectors.get(name, f"#field-{name}")
            with contextlib.suppress(NoMatches):
                bad.add(self.query_one(selector))
        first = next((widget for widget in self.focus_chain if widget in bad), None)
        if first is not None:
            self.set_focus(first)

    def _show_help(self, widget: Widget) -> None:
        """The help line for the focused field: what it is and its API name."""
        text = ""
        fields = {f"field-{f.name}": f for f in self.query_one(FieldForm).fields}
        for node in widget.ancestors_with_self:
            if node.id in HELP:
                text = HELP[node.id]
                break
            if node.id in fields:
                text = field_help(fields[node.id])
                break
        self.query_one("#field-help", Static).update(Content(text))

    # -- events --------------------------------------------------------------------------------

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._mark_row(event.widget)
        with contextlib.suppress(NoMatches):  # the field form is being rebuilt for a model
            self._show_help(event.widget)

    def _mark_row(self, widget: Widget) -> None:
        """Mark the row that holds `widget` (its label shows it), and no other."""
        for row in self.query(".-focused-row"):
            row.remove_class("-focused-row")
        for node in widget.ancestors_with_self:
            if (
                node.id in ("compose-top", "prompt-box")
                or node.has_class("row")
                or node.has_class("field-row")
            ):
                node.add_class("-focused-row")
                return

    @on(TextArea.Changed)
    @on(Input.Changed)
    @on(Switch.Changed)
    def _changed(self, event: TextArea.Changed | Input.Changed | Switch.Changed) -> None:
        if isinstance(event, Input.Changed) and event.input.id == "seed" and event.value.strip():
            # A typed seed is meant to be used: "random" would throw it away.
            mode = self.query_one("#seed-mode", Select)
            if mode.value == "random":
                mode.value = "increment"
        self._check()

    @on(Select.Changed)
    async def _select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "model" and event.value != self._model_path:
            await self._switch_model(str(event.value))
        elif event.select.id == "aspect" and event.value is not Select.NULL:
            width, height = event.value  # type: ignore[misc]
            form = self.query_one(FieldForm)
            for name, value in (("width", width), ("height", height)):
                field = self.model.field(name)
                if field is not None:
                    if field.maximum is not None:
                        value = min(value, int(field.maximum))
                    if field.minimum is not None:
                        value = max(value, int(field.minimum))
                    form.set_value(name, value)
        self._check()

    async def _switch_model(self, path: str) -> None:
        keep, _ = self._body()
        self._model_path = path
        await self._rebuild_fields(keep)
        await self._apply_default_preset()

    async def _rebuild_fields(self, keep: Mapping[str, Any]) -> None:
        """A new field form for the current model, holding the values of `keep` it knows."""
        await self.query_one(FieldForm).remove()
        known = {f.name for f in self.model.fields}
        kept = {k: v for k, v in keep.items() if k in known}
        await self.query_one("#form").mount(
            FieldForm(self.model.fields, kept, id="fields"), before="#general-problems"
        )
        self._layout_for_model()

    # -- actions -------------------------------------------------------------------------------

    def action_submit(self) -> None:
        bodies, problems = self.requests()
        if problems:
            self._check()
            self._focus_first_problem(problems)
            self.notify(f"Not sent: {problems[0]}", severity="error", timeout=5)
            return
        parents = [self.parent_id] * len(bodies) if self.parent_id else None
        self.krea.submit(self.model.path, bodies, parents=parents)
        self._sent()
        self.dismiss()

    def action_back(self) -> None:
        self._keep_draft(self._state())
        self.dismiss()

    def action_sweep(self) -> None:
        """The form's request over one or two parameters' values (screens/sweep.py)."""
        from krea_tui.tui.screens.sweep import SweepModal, SweepSent

        bodies, problems = self.requests()

        def sent(result: SweepSent | None) -> None:
            if result is not None:
                self._sent()
                self.dismiss()
                if result.open_sheet:
                    self.krea.open_contact_sheet(result.batch_id)

        sweep = SweepModal(self.model.path, bodies, problems, parent=self.parent_id)
        self.app.push_screen(sweep, sent)

    # -- presets and prompt history --------------------------------------------------------------

    def _presets_path(self) -> Path:
        return self.krea.settings.presets_path

    def action_load_preset(self) -> None:
        from krea_tui.tui.screens.presets import PresetsModal

        self.app.push_screen(
            PresetsModal(self._presets_path(), self.model.path), self._apply_preset
        )

    async def _apply_default_preset(self) -> None:
        from krea_tui.config import ConfigError
        from krea_tui.presets import default_for

        try:
            preset = default_for(self.model.path, self._presets_path())
        except ConfigError as exc:
            self.notify(str(exc), title="Presets cannot be read", severity="warning")
            return
        if preset is not None:
            await self._apply_preset(preset, default=True)

    async def _apply_preset(self, preset: Preset | None, *, default: bool = False) -> None:
        from krea_tui.presets import fit_to_model

        if preset is None:
            return
        if preset.model not in self.krea.catalog:
            self.krea.show_error(
                f"Preset {preset.name} was not loaded",
                f"Its model {preset.model} is not in the catalogue (retired or renamed?). "
                f"Edit {self._presets_path()} to point it at another model.",
            )
            return
        if preset.model != self._model_path:
            self._model_path = preset.model  # before the Select fires, so it does not switch again
            self.query_one("#model", Select).value = preset.model
            await self._rebuild_fields({})
        fitted = fit_to_model(preset, self.krea.catalog)
        form = self.query_one(FieldForm)
        form.reset()
        for name, value in fitted.params.items():
            if name == "seed":
                self.query_one("#seed", Input).value = str(value)
                self.query_one("#seed-mode", Select).value = "increment"
            else:
                form.set_value(name, value)
        prompt = self.query_one("#prompt", TextArea)
        if preset.prompt_template:
            prompt.text = preset.apply_template(prompt.text)
        self._loaded_preset = preset.name
        what = "default preset" if default else "preset"
        self.notify(f"Loaded {what} {preset.name}", timeout=4)
        if fitted.dropped:
            reasons = "\n".join(f"{k}: {why}" for k, why in fitted.dropped.items())
            self.notify(
                f"Not loaded from {preset.name}:\n{reasons}", severity="warning", timeout=12
            )
        self._check()

    def action_save_preset(self) -> None:
        from krea_tui.presets import check_name

        suggestion = getattr(self, "_loaded_preset", "")
        self.app.push_screen(
            AskModal(
                "Save the form's model and settings as a preset",
                suggestion,
                check=check_name,
                placeholder="name (enter saves)",
            ),
            self._save_preset,
        )

    def _save_preset(self, name: str | None) -> None:
        # No worker: the question must be on screen before the next key is read.
        from krea_tui.config import ConfigError
        from krea_tui.presets import load_presets

        if not name:
            return
        try:
            existing = load_presets(self._presets_path()).get(name)
        except ConfigError as exc:
            self.krea.show_error("The preset was not saved", str(exc))
            return
        if existing is None:
            self._write_preset(name, None)
            return

        def replace(yes: bool | None) -> None:
            if yes:
                self._write_preset(name, existing)

        question = f"Replace preset {name!r} ({existing.model}) with this form's settings?"
        self.app.push_screen(ConfirmModal(question, "Replace"), replace)

    def _write_preset(self, name: str, existing: Preset | None) -> None:
        from krea_tui.config import ConfigError
        from krea_tui.presets import Preset, save_preset

        path = self._presets_path()
        body, _ = self._body()
        body = absolute_inputs(self.model, body)  # a local file, wherever the preset is used
        body.pop("prompt", None)  # a preset is the settings; the prompt is the job's own
        if self.query_one("#seed-mode", Select).value == "random":
            body.pop("seed", None)
        # Replacing keeps what the form cannot show: the prompt template and extra keys.
        template = existing.prompt_template if existing else None
        extra = existing.extra if existing else {}
        try:
            save_preset(Preset(name, self.model.path, body, template, extra), path)
        except (ConfigError, OSError) as exc:
            self.krea.show_error("The preset was not saved", str(exc))
            return
        self._loaded_preset = name
        self.notify(f"Saved preset {name} to {path}", timeout=4)

    def action_prompt_history(self) -> None:
        from krea_tui.tui.screens.presets import PromptHistoryModal

        prompts = self.krea.store.recent_prompts() if self.krea.ready else []
        self.app.push_screen(PromptHistoryModal(prompts), self._insert_prompt)

    def _insert_prompt(self, text: str | None) -> None:
        if text is None:
            return
        prompt = self.query_one("#prompt", TextArea)
        prompt.text = text
        prompt.move_cursor(prompt.document.end)
        self.set_focus(prompt)

    def action_random_seed(self) -> None:
        self.query_one("#seed", Input).value = str(random.randrange(2**31 - 1))
        self.query_one("#seed-mode", Select).value = "increment"

    def action_pick_style(self) -> None:
        """The styles screen (screens/styles.py); a pick joins the styles field."""
        from krea_tui.tui.screens.styles import StylesScreen

        if self.model.field("styles") is None:
            self.notify(f"{self.model.path} takes no styles", severity="warning")
            return
        self.app.push_screen(StylesScreen(self.model.path), self._add_style)

    def _add_style(self, pick: Any) -> None:
        from krea_tui.core.styles import with_style

        if pick is None:
            return
        form = self.query_one(FieldForm)
        body, _problems = form.values()
        form.set_value("styles", with_style(body.get("styles"), pick.id, pick.strength))
        self.notify(f"Style {pick.name} at {pick.strength:g}", timeout=3)


def _problem_field(message: str) -> str:
    """The field a problem is about: what its message starts with ("steps: must be ...")."""
    return message.split(":", 1)[0].split(".", 1)[0].strip()
