"""List-valued request fields as plain text, so nobody has to type JSON into a one-line input.

Items are separated by commas (or newlines). A list of strings is just the strings:
`https://a.test/1.png, https://a.test/2.png`. In a list of objects each item is parts separated
by whitespace: `name=value` sets that field, and unnamed parts fill the remaining fields in
`item_order` (text fields first, then numbers: `url strength`, `id strength`, `tag url`), so
`https://x.test/a.png 0.8, strength=0.5 https://x.test/b.png` reads as two style images.
Numbers given to numeric fields become int when whole, else float. Text starting with `[`
(or `{`) is JSON, as before.

`format_list` writes a value back in the same form and keeps it only when it reads back equal;
anything the form cannot say (commas or spaces inside an object's text, unknown keys, nested
values, an empty list) is written as JSON, so nothing is lost. Checking the schema (lengths,
ranges, required fields) is the catalogue validator's job, not this module's.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from krea_tui.core.catalog import Field

__all__ = ["ListTextError", "format_list", "item_order", "list_hint", "parse_list"]

_ITEM_SEPARATOR = re.compile(r"[,\n]")
_NAMED = re.compile(r"^(\w+)=(.*)$", re.DOTALL)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")
_NUMERIC = ("number", "integer")


class ListTextError(ValueError):
    """A problem with typed list text, phrased for the form: `styles: item 2: ...`."""


def item_order(field: Field) -> tuple[Field, ...]:
    """The order unnamed parts fill an item's fields: text fields first, then the others."""
    return tuple(sorted(field.item_fields, key=lambda f: f.type in _NUMERIC))


def list_hint(field: Field) -> str:
    """`list: url strength, … (≤10)`: short enough for the form's placeholder."""
    shape = " ".join(f.name for f in item_order(field)) or "a, b"
    limit = f" (≤{field.max_items})" if field.max_items else ""
    return f"list: {shape}, …{limit}"


def parse_list(field: Field, text: str) -> Any:
    """The list `text` means for `field` (JSON may say otherwise); raises ListTextError."""
    text = text.strip()
    if text[:1] in ("[", "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            message = f"{field.name}: not valid JSON ({exc.msg} at column {exc.colno})"
            raise ListTextError(message) from None
        except RecursionError:  # "[[[[…" pasted by mistake must not end the app
            raise ListTextError(f"{field.name}: JSON nested too deeply") from None
    items = [item.strip() for item in _ITEM_SEPARATOR.split(text)]
    items = [item for item in items if item]
    if field.item_fields:
        return [_parse_item(field, n, item) for n, item in enumerate(items, start=1)]
    kind = field.item_type or "string"
    return [_convert(f"{field.name}: item {n}", kind, t) for n, t in enumerate(items, start=1)]


def _parse_item(field: Field, n: int, text: str) -> dict[str, Any]:
    where = f"{field.name}: item {n}"
    by_name = {f.name: f for f in field.item_fields}
    names = ", ".join(f.name for f in item_order(field))
    item: dict[str, Any] = {}
    unnamed: list[str] = []
    for part in text.split():
        match = _NAMED.match(part)
        if match is None:
            unnamed.append(part)
            continue
        name, value = match.groups()
        if name not in by_name:
            raise ListTextError(f"{where}: unknown field {name!r} (fields: {names})")
        if name in item:
            raise ListTextError(f"{where}: {name} given twice")
        item[name] = _convert(f"{where}: {name}", by_name[name].type, value)
    free = [f for f in item_order(field) if f.name not in item]
    if len(unnamed) > len(free):
        extra = " ".join(unnamed[len(free) :])
        raise ListTextError(f"{where}: too many parts, {extra!r} left over (fields: {names})")
    for sub, value in zip(free, unnamed, strict=False):
        item[sub.name] = _convert(f"{where}: {sub.name}", sub.type, value)
    return item


def _convert(what: str, kind: str, text: str) -> Any:
    """Text for a numeric field as int (when whole) or float; any other kind stays text."""
    if kind not in _NUMERIC:
        return text
    number = float(text) if _NUMBER.match(text) else math.nan
    if not math.isfinite(number):
        raise ListTextError(f"{what} must be a number (got {text!r})")
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)  # exact, however long
    return int(number) if number.is_integer() else number


def format_list(field: Field, value: Any) -> str:
    """`value` as text that `parse_list` reads back equal: plain when possible, else JSON."""
    text = _plain(field, value)
    if text is not None:
        try:
            if parse_list(field, text) == value:
                return text
        except ListTextError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _plain(field: Field, value: Any) -> str | None:
    if not isinstance(value, list) or not value:
        return None  # an empty list would read as "not set"
    if not field.item_fields:
        texts = [_plain_scalar(v) for v in value]
        return None if None in texts else ", ".join(texts)  # type: ignore[arg-type]
    items = [_plain_item(field, item) for item in value]
    return None if None in items else ", ".join(items)  # type: ignore[arg-type]


def _plain_item(field: Field, item: Any) -> str | None:
    """Parts for one object: unnamed while the fields come in order, named after a gap."""
    if not isinstance(item, dict) or not item:
        return None
    parts: list[str] = []
    in_order = True
    for sub in item_order(field):
        if sub.name not in item:
            in_order = False
            continue
        text = _plain_scalar(item[sub.name])
        if text is None:
            return None
        named = not in_order or not text or _NAMED.match(text) is not None
        parts.append(f"{sub.name}={text}" if named else text)
    return " ".join(parts)


def _plain_scalar(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    return None
