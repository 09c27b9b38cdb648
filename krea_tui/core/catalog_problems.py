"""Validation of request bodies with jsonschema, reported as sentences a person can act on.

jsonschema does the checking; this module only words its errors ("prompt: at most 1800
characters (got 1801)") and splits the ones that cover several keys (required,
additionalProperties) into one problem per key, so a form can mark each field.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:
    # Imported on first use (validator_for): jsonschema costs ~45 ms of start-up otherwise.
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError


def _is_uri(value: object) -> bool:
    if not isinstance(value, str):
        return True
    scheme = urlsplit(value).scheme
    return len(scheme) > 1 and not any(c.isspace() for c in value)


@functools.cache
def _formats() -> FormatChecker:
    """The standard format checkers plus "uri": jsonschema checks uri only when an optional
    package is installed, and a local file path in `image_url` should be caught before the API
    rejects it. A scheme is all RFC 3986 demands of an absolute URI (data: URIs included)."""
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("uri")(_is_uri)
    return checker


@dataclass(frozen=True)
class Problem:
    """One validation problem; `field` is a dotted path ("styles.0.strength"), "" for the body."""

    field: str
    message: str


def validator_for(schema: Mapping[str, Any]) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    return Draft202012Validator(schema, format_checker=_formats())


def problems(
    validator: Draft202012Validator, body: Mapping[str, Any], aliases: Iterable[str] = ()
) -> list[Problem]:
    """Every problem with `body`, sorted by field path; `aliases` feed "did you mean" hints."""
    names = list(aliases)
    found = {p for error in validator.iter_errors(body) for p in _translate(error, names)}
    return sorted(found, key=lambda p: (_path_key(p.field), p.message))


def _path_key(field: str) -> tuple[tuple[int, int | str], ...]:
    # Numeric parts sort as numbers so "styles.2" comes before "styles.10".
    return tuple((0, int(p)) if p.isdecimal() else (1, p) for p in field.split(".") if field)


def json_type(value: Any) -> str:
    """The JSON Schema type name of a Python value (bool before int: bool is an int)."""
    for name, kinds in (("null", type(None)), ("boolean", bool), ("integer", int)):
        if isinstance(value, kinds):
            return name
    names = {float: "number", str: "string", list: "array", dict: "object"}
    return next((n for t, n in names.items() if isinstance(value, t)), type(value).__name__)


_ARTICLE = {"integer": "an integer", "array": "an array", "object": "an object"}


def _show(value: Any) -> str:
    text = repr(value) if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _types(value: str | list[str]) -> str:
    return " or ".join(
        _ARTICLE.get(t, f"a {t}") for t in ([value] if isinstance(value, str) else value)
    )


def _translate(error: ValidationError, aliases: list[str]) -> list[Problem]:
    where = ".".join(str(p) for p in error.absolute_path)
    rule, value, instance = error.validator, error.validator_value, error.instance

    def child(name: str) -> str:
        return f"{where}.{name}" if where else name

    if rule == "required" and isinstance(instance, Mapping):
        missing = [child(n) for n in value if n not in instance]
        return [Problem(name, f"{label(name)}: required") for name in missing]
    if rule == "additionalProperties" and isinstance(instance, Mapping):
        allowed = list(error.schema.get("properties", {}))
        out = []
        for key in (str(k) for k in instance if k not in allowed):
            near = difflib.get_close_matches(key, allowed + aliases, n=1)
            hint = f" (did you mean {near[0]}?)" if near else ""
            out.append(Problem(child(key), f"{label(child(key))}: unknown field{hint}"))
        return out
    size = len(instance) if isinstance(instance, str | list | dict) else 0
    got = f"(got {_show(instance)})"
    messages: dict[str, Callable[[], str]] = {
        "maxLength": lambda: f"at most {value} characters (got {size})",
        "minLength": lambda: f"at least {value} characters (got {size})",
        "maximum": lambda: f"must be at most {_num(value)} (got {_num(instance)})",
        "minimum": lambda: f"must be at least {_num(value)} (got {_num(instance)})",
        "exclusiveMaximum": lambda: f"must be less than {_num(value)} (got {_num(instance)})",
        "exclusiveMinimum": lambda: f"must be more than {_num(value)} (got {_num(instance)})",
        "maxItems": lambda: f"at most {value} items (got {size})",
        "minItems": lambda: f"at least {value} items (got {size})",
        "enum": lambda: f"must be one of {', '.join(_show(v) for v in value)} {got}",
        "const": lambda: f"must be {_show(value)} {got}",
        "pattern": lambda: f"must match {value} {got}",
        "format": lambda: f"must be a valid {'URL' if value == 'uri' else value} {got}",
        "type": lambda: f"must be {_types(value)} (got {json_type(instance)})",
    }
    describe = messages.get(str(rule))
    text = describe() if describe else error.message
    return [Problem(where, f"{label(where) if where else 'body'}: {text}")]


def label(path: str) -> str:
    """A dotted field path as a person reads it: "style_images.1.strength" is
    "style_images: item 2: strength" (people count list items from 1)."""
    return ": ".join(f"item {int(p) + 1}" if p.isdecimal() else p for p in path.split("."))
