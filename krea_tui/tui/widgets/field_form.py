"""FieldForm: request fields of one model as widgets, built from the catalogue's schema.

Numbers get inputs that state their range, enums get selects, booleans get switches, lists get an
input of plain text such as `https://a.test/x.png 0.8, https://a.test/y.png` or JSON (see
core/list_text.py). Only values the user set are sent: the server applies its own defaults, and
a pre-filled default would silently pin values such as Flux's random seed.

Each field is labelled in words ("Guidance scale"); its API name (`guidance_scale_flux`), which
presets, sweeps and the CLI use, is in its tooltip and in `field_help`, shown while it has focus.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.content import Content
from textual.widgets import Input, Label, Select, Switch

from krea_tui.core.catalog import Field
from krea_tui.core.list_text import ListTextError, format_list, list_hint, parse_list
from krea_tui.tui.path_suggester import PathSuggester, takes_path

# Fields with their own widgets elsewhere on the compose screen.
SPECIAL = {"prompt", "seed"}
# Words an API name spells in lower case that people write otherwise.
_SPELLING = {"cfg": "CFG", "id": "ID", "ids": "IDs", "url": "URL", "urls": "URLs", "uuid": "UUID"}
# A model's own name at the end of a field name repeats what the form's model line says.
_MODEL_SUFFIXES = {"flux"}


def field_label(name: str) -> str:
    """A request field's API name as words: `guidance_scale_flux` -> "Guidance scale"."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    parts = [p.lower() for p in re.split(r"[_\-\s]+", spaced) if p]
    if not parts:
        return name
    if len(parts) > 1 and parts[0] == "num":
        parts = parts[1:]  # num_inference_steps: the field holds a number of them
    if len(parts) > 1 and parts[-1] in _MODEL_SUFFIXES:
        parts = parts[:-1]
    text = " ".join(_SPELLING.get(p, p) for p in parts)
    return text[0].upper() + text[1:]


def _number_text(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


def field_help(field: Field) -> str:
    """One line about a field for the help line: its API name, range or shape, description."""
    parts = [field.name]
    hint = field_hint(field)
    if hint:
        parts.append(hint)
    if field.required:
        parts.append("required")
    if field.description:
        parts.append(field.description)
    return " · ".join(parts)


def field_hint(field: Field) -> str:
    parts: list[str] = []
    if field.minimum is not None or field.maximum is not None:
        parts.append(f"{_number_text(field.minimum)}–{_number_text(field.maximum)}")
    if field.default not in (None, "") and field.type != "array":
        parts.append(f"default {field.default}")
    if field.type == "array":
        parts.append(list_hint(field))
    if field.type == "string" and not field.enum and field.format == "uri":
        parts.append("URL")
    return " · ".join(parts)


class FieldForm(Vertical):
    # A label wraps before its last column, so its words never touch the field.
    DEFAULT_CSS = """
    FieldForm { height: auto; }
    FieldForm .field-row { height: auto; margin-bottom: 1; }
    FieldForm .field-label { width: 18; padding-right: 1; }
    FieldForm .field-row > Input, FieldForm .field-row > Select { width: 1fr; }
    FieldForm .field-row > Switch { width: auto; height: 1; border: none; padding: 0 1; }
    FieldForm .problem { color: $error; padding-left: 18; width: 100%; height: auto; }
    """

    def __init__(self, fields: tuple[Field, ...], values: Mapping[str, Any], **kwargs: Any):
        super().__init__(**kwargs)
        self.fields = tuple(f for f in fields if f.name not in SPECIAL)
        self._initial = dict(values)

    def compose(self) -> ComposeResult:
        for field in self.fields:
            label = field_label(field.name) + (" *" if field.required else "")
            with Horizontal(classes="field-row"):
                help_text = Content(field_help(field))  # not markup: schemas hold brackets
                yield Label(label, classes="field-label").with_tooltip(help_text)
                yield self._widget(field, self._initial.get(field.name)).with_tooltip(help_text)
            problem = Label("", id=f"problem-{field.name}", classes="problem")
            problem.display = False
            yield problem

    def _widget(self, field: Field, value: Any) -> Input | Select[Any] | Switch:
        wid = f"field-{field.name}"
        if field.enum:
            options = [(str(option), option) for option in field.enum]
            initial = value if value in field.enum else Select.NULL
            return Select(
                options,
                value=initial,
                id=wid,
                prompt=f"default: {field.default}" if field.default is not None else "(not set)",
                allow_blank=not field.required,
                compact=True,
            )
        if field.type == "boolean":
            initial = bool(field.default) if value is None else bool(value)
            return Switch(value=initial, id=wid)
        if field.type in ("integer", "number"):
            return Input(
                value=_number_text(value) if isinstance(value, int | float) else "",
                placeholder=field_hint(field),
                type="integer" if field.type == "integer" else "number",
                id=wid,
                compact=True,
            )
        if field.type == "array":
            text = format_list(field, value) if value is not None else ""
            return Input(value=text, placeholder=field_hint(field), id=wid, compact=True)
        return Input(
            value="" if value is None else str(value),
            placeholder=field_hint(field),
            id=wid,
            compact=True,
            # A local file works too (uploaded when sent): typing a path completes it.
            suggester=PathSuggester() if takes_path(field) else None,
        )

    def values(self) -> tuple[dict[str, Any], dict[str, str]]:
        """(request fields the user set, problems found while reading them)."""
        body: dict[str, Any] = {}
        problems: dict[str, str] = {}
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}")
            if isinstance(widget, Select):
                if (widget.value is not Select.NULL and widget.value != field.default) or (
                    widget.value is not Select.NULL and field.required
                ):
                    body[field.name] = widget.value
            elif isinstance(widget, Switch):
                if widget.value != bool(field.default):
                    body[field.name] = widget.value
            elif isinstance(widget, Input):
                text = widget.value.strip()
                if not text:
                    continue
                if field.type in ("integer", "number"):
                    try:
                        number = float(text)
                    except ValueError:
                        problems[field.name] = f"{field.name}: not a number"
                        continue
                    body[field.name] = int(number) if number.is_integer() else number
                elif field.type == "array":
                    try:
                        body[field.name] = parse_list(field, text)
                    except ListTextError as exc:
                        problems[field.name] = str(exc)
                else:
                    body[field.name] = text
        return body, problems

    def show_problems(self, problems: Mapping[str, str]) -> None:
        for field in self.fields:
            label = self.query_one(f"#problem-{field.name}", Label)
            label.update(Content(problems.get(field.name, "")))
            label.display = field.name in problems

    def set_value(self, name: str, value: Any) -> None:
        widget = self.query_one(f"#field-{name}")
        if isinstance(widget, Select):
            widget.value = value
        elif isinstance(widget, Switch):
            widget.value = bool(value)
        elif isinstance(widget, Input):
            field = next(f for f in self.fields if f.name == name)
            if field.type == "array":
                widget.value = format_list(field, value)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                widget.value = _number_text(value)
            else:
                widget.value = str(value)

    def reset(self) -> None:
        """Every field back to unset (its default), as in a fresh form."""
        for field in self.fields:
            widget = self.query_one(f"#field-{field.name}")
            if isinstance(widget, Select):
                if not field.required:
                    widget.clear()
            elif isinstance(widget, Switch):
                widget.value = bool(field.default)
            elif isinstance(widget, Input):
                widget.value = ""
