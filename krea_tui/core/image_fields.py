"""Which parts of a request body are image inputs, read from the model's own request schema.

A field is an image input when it holds URL strings and its name (or the name of the list or
object it sits in) says image: `image_url`, `image_urls[]`, `character_reference_images[]`,
`style_images[].url`, `image_style_references[].url`, `reference_images[].url`, and whatever a
newer spec adds in the same words. Nothing here is a hand-kept list of field names, so a model
the live OpenAPI adds is covered the day the catalogue refreshes.

A location is a tuple of field names, with ITEM for "each item of this list".
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

ITEM = "[]"
Location = tuple[str, ...]
_URL_ENDINGS = ("url", "urls", "uri", "image", "images")


def _types(schema: Mapping[str, Any]) -> set[str]:
    kind = schema.get("type")
    found = {kind} if isinstance(kind, str) else {k for k in kind or () if isinstance(k, str)}
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key) or ():
            if isinstance(alternative, Mapping):
                found |= _types(alternative)
    return found


def _alternatives(schema: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    yield schema
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key) or ():
            if isinstance(alternative, Mapping):
                yield from _alternatives(alternative)


def _is_image(names: Location, schema: Mapping[str, Any]) -> bool:
    named = [n for n in names if n != ITEM]
    if not named or not any("image" in n.lower() for n in named):
        return False
    formats = {a.get("format") for a in _alternatives(schema)}
    return "uri" in formats or named[-1].lower().endswith(_URL_ENDINGS)


def image_locations(schema: Mapping[str, Any]) -> tuple[Location, ...]:
    """Every place in a body of this schema where an image URL goes."""
    found: list[Location] = []

    def walk(names: Location, node: Mapping[str, Any], depth: int) -> None:
        if depth > 8:
            return
        types = _types(node)
        if "string" in types and _is_image(names, node):
            found.append(names)
        for alternative in _alternatives(node):
            items = alternative.get("items")
            if isinstance(items, Mapping):
                walk((*names, ITEM), items, depth + 1)
            properties = alternative.get("properties")
            if isinstance(properties, Mapping):
                for name, sub in properties.items():
                    if isinstance(sub, Mapping):
                        walk((*names, str(name)), sub, depth + 1)

    walk((), schema, 0)
    return tuple(dict.fromkeys(found))


def with_aliases(
    locations: tuple[Location, ...], aliases: Mapping[str, str]
) -> tuple[Location, ...]:
    """The locations again under each deprecated top-level name (`imageUrl` for `image_url`)."""
    extra = [
        (alias, *location[1:])
        for alias, canonical in aliases.items()
        for location in locations
        if location and location[0] == canonical
    ]
    return tuple(dict.fromkeys([*locations, *extra]))


def image_values(body: Any, locations: tuple[Location, ...]) -> Iterator[tuple[str, str]]:
    """(dotted field path, value) of every image string in `body`: "style_images.0.url"."""
    for location in locations:
        yield from _values(body, location, ())


def _values(node: Any, rest: Location, done: tuple[str, ...]) -> Iterator[tuple[str, str]]:
    if not rest:
        if isinstance(node, str):
            yield ".".join(done), node
        return
    head, tail = rest[0], rest[1:]
    if head == ITEM:
        if isinstance(node, list):
            for index, item in enumerate(node):
                yield from _values(item, tail, (*done, str(index)))
    elif isinstance(node, Mapping) and head in node:
        yield from _values(node[head], tail, (*done, head))


def replace_images(
    body: Mapping[str, Any], locations: tuple[Location, ...], change: Callable[[str], str]
) -> dict[str, Any]:
    """A copy of `body` with every image string at `locations` passed through `change`."""
    copy: Any = _copy(body)
    for location in locations:
        copy = _replace(copy, location, change)
    return dict(copy)


def _copy(node: Any) -> Any:
    if isinstance(node, Mapping):
        return {key: _copy(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_copy(item) for item in node]
    return node


def _replace(node: Any, rest: Location, change: Callable[[str], str]) -> Any:
    if not rest:
        return change(node) if isinstance(node, str) else node
    head, tail = rest[0], rest[1:]
    if head == ITEM:
        if isinstance(node, list):
            return [_replace(item, tail, change) for item in node]
        return node
    if isinstance(node, dict) and head in node:
        node[head] = _replace(node[head], tail, change)
    return node
