"""Turn Krea's OpenAPI document into the model catalogue, and hold the overlays it lacks.

`build_catalog` is pure: the same spec always gives the same catalogue, so the bundled
`catalog.json` can be regenerated and compared byte for byte in CI. The overlays (Krea 2
endpoints, USD prices, the Flux guidance rename) live here too because both
`scripts/gen_catalog.py` and the runtime refresh apply them: one source of truth.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Mapping
from typing import Any

# Bump when the catalogue's shape changes, so a cache written by an older version is ignored.
CATALOG_FORMAT = 2  # 2: the "enhancers" section

IMAGE_PREFIX = "/generate/image/"
# Upscalers are kept apart from the image models ("enhancers", keyed "enhance/<provider>/<model>",
# the path the API takes after /generate/), so every list of image models stays one.
ENHANCE_PREFIX = "/generate/enhance/"

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SEPARATOR_CELL = re.compile(r"^:?-{2,}:?$")


def build_catalog(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Return the catalogue (facts only, no overlays) for every image POST operation in `spec`.

    Raises ValueError when `spec` has no image models at all: an empty catalogue is never
    a useful replacement for the bundled one.
    """
    paths = spec.get("paths") if isinstance(spec, Mapping) else None
    if not isinstance(paths, Mapping):
        raise ValueError("not an OpenAPI document: no 'paths' object")
    models: dict[str, dict[str, Any]] = {}
    enhancers: dict[str, dict[str, Any]] = {}
    for endpoint, operations in paths.items():
        if not isinstance(endpoint, str) or not endpoint.startswith((IMAGE_PREFIX, ENHANCE_PREFIX)):
            continue
        operation = operations.get("post") if isinstance(operations, Mapping) else None
        if not isinstance(operation, Mapping):
            continue
        if endpoint.startswith(IMAGE_PREFIX):
            entry = _model_entry(spec, endpoint, operation, endpoint[len(IMAGE_PREFIX) :])
            if entry is not None:
                models[entry["path"]] = entry
            continue
        name = endpoint[len(ENHANCE_PREFIX) :].strip("/")
        entry = _model_entry(spec, endpoint, operation, f"enhance/{name}" if name else "")
        if entry is not None:
            enhancers[entry["path"]] = _with_max_side(entry)
    if not models:
        raise ValueError("the OpenAPI document lists no /generate/image/ operations")
    info: Mapping[str, Any] = spec["info"] if isinstance(spec.get("info"), Mapping) else {}
    return {
        "format": CATALOG_FORMAT,
        "source": {"title": info.get("title"), "version": info.get("version")},
        "models": models,
        "enhancers": enhancers,
    }


_MAX_SIDE = re.compile(r"\b(?:max|up to)\s+(\d+(?:\.\d+)?)\s*k\b", re.IGNORECASE)


def parse_max_side(description: str, schema_maximum: float | None) -> int | None:
    """The longest side an upscaler makes: "Max 16K" / "Up to 22K" in its description (read as
    thousands of pixels, the cautious reading), never above the schema's own maximum."""
    limits = [float(m.group(1)) * 1000 for m in _MAX_SIDE.finditer(description)]
    if schema_maximum is not None:
        limits.append(float(schema_maximum))
    return int(min(limits)) if limits else None


def _with_max_side(entry: dict[str, Any]) -> dict[str, Any]:
    properties = entry["schema"].get("properties")
    maxima = [
        properties[side]["maximum"]
        for side in ("width", "height")
        if isinstance(properties, Mapping)
        and isinstance(properties.get(side), Mapping)
        and isinstance(properties[side].get("maximum"), int | float)
    ]
    entry["max_side"] = parse_max_side(entry["description"], min(maxima) if maxima else None)
    return entry


def _model_entry(
    spec: Mapping[str, Any], endpoint: str, operation: Mapping[str, Any], path: str
) -> dict[str, Any] | None:
    path = path.strip("/")
    body = _json_body(operation)
    if not path or body is None:
        return None
    try:
        schema = _inline_refs(body.get("schema"), spec, depth=0)
    except (KeyError, TypeError, ValueError, RecursionError):
        # A schema we cannot resolve cannot validate anything; leave the model out.
        return None
    if not isinstance(schema, dict) or schema.get("type", "object") != "object":
        return None
    description = operation.get("description")
    description = description if isinstance(description, str) else ""
    properties = schema.get("properties")
    entry: dict[str, Any] = {
        "path": path,
        "endpoint": endpoint,
        "name": str(operation.get("summary") or path),
        "description": first_prose_line(description),
        "deprecated": bool(operation.get("deprecated", False)),
        "aliases": _aliases(operation.get("x-krea-deprecated-field-aliases")),
        "schema": schema,
        # The JSON is written with sorted keys; this keeps the spec's field order for forms.
        "field_order": list(properties) if isinstance(properties, Mapping) else [],
        "example": body.get("example") if isinstance(body.get("example"), dict) else {},
        "cost": parse_cost(description),
        "avg_seconds": parse_avg_seconds(description),
    }
    return entry


def _json_body(operation: Mapping[str, Any]) -> Mapping[str, Any] | None:
    try:
        body = operation["requestBody"]["content"]["application/json"]
    except (KeyError, TypeError):
        return None
    return body if isinstance(body, Mapping) and isinstance(body.get("schema"), Mapping) else None


def _inline_refs(node: Any, spec: Mapping[str, Any], depth: int) -> Any:
    """Copy `node` with local `$ref`s replaced by their targets.

    The snapshot has none, but a live spec may share components; a catalogue schema must
    stand alone because it is validated without the rest of the document.
    """
    if depth > 32:
        raise ValueError("$ref nesting too deep (cyclic?)")
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str):
            if not ref.startswith("#/"):
                raise ValueError(f"non-local $ref {ref!r}")
            target: Any = spec
            for part in ref[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            siblings = {k: v for k, v in node.items() if k != "$ref"}
            return _inline_refs({**target, **siblings}, spec, depth + 1)
        return {k: _inline_refs(v, spec, depth + 1) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline_refs(v, spec, depth + 1) for v in node]
    return copy.deepcopy(node)


def _aliases(raw: Any) -> dict[str, str]:
    aliases: dict[str, str] = {}
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, Mapping):
            old, new = item.get("from"), item.get("to")
            if isinstance(old, str) and isinstance(new, str) and old != new:
                aliases[old] = new
    return aliases


def first_prose_line(description: str) -> str:
    """The first line that is neither a table row nor a blockquote nor a heading."""
    for line in description.splitlines():
        text = line.strip()
        if text and not text.startswith(("|", ">", "#")):
            return text
    return ""


def _tables(description: str) -> list[tuple[list[str], list[list[str]]]]:
    """Markdown tables in `description` as (header, rows); malformed tables are skipped."""
    tables: list[tuple[list[str], list[list[str]]]] = []
    block: list[list[str]] = []
    for line in [*description.splitlines(), ""]:
        text = line.strip()
        if text.startswith("|"):
            block.append([cell.strip() for cell in text.strip("|").split("|")])
            continue
        is_table = len(block) >= 3 and all(_SEPARATOR_CELL.match(c) for c in block[1])
        if is_table and all(len(row) == len(block[0]) for row in block):
            tables.append((block[0], block[2:]))
        block = []
    return tables


def parse_number(cell: str) -> float | None:
    match = _NUMBER.search(cell.replace(",", ""))
    return float(match.group()) if match else None


def parse_cost(description: str) -> dict[str, Any] | None:
    """The compute-unit table, e.g. {"unit": "CU", "columns", "rows", "typical": 3.0}.

    `typical` is the cheapest listed row, which for every table in the snapshot is also the
    row matching the schema defaults (1K, standard mode, no references). None when there is
    no readable table: a cost is a hint, never a reason to fail.
    """
    for header, rows in _tables(description):
        lowered = [h.lower() for h in header]
        if "compute units" not in lowered or not rows:
            continue
        values = [parse_number(row[lowered.index("compute units")]) for row in rows]
        known = [v for v in values if v is not None]
        if not known:
            continue
        return {"unit": "CU", "columns": header, "rows": rows, "typical": min(known)}
    return None


def parse_avg_seconds(description: str) -> float | None:
    for header, rows in _tables(description):
        lowered = [h.lower() for h in header]
        if "average completion time" not in lowered or not rows:
            continue
        cell = rows[0][lowered.index("average completion time")].lower()
        value = parse_number(cell)
        if value is None:
            continue
        return value * 60 if "min" in cell else value
    return None


# --- overlays: USD-era facts the spring-2026 snapshot lacks (reference §6.2, §7.2, §7.4) ---

_K2_SOURCE = (
    "reference §7.2 [D] REF-krea-2-large, REF-krea-2-medium.md, K2 (USD era; absent from the "
    "spring-2026 OAS snapshot)"
)
_URI = {"type": "string", "format": "uri"}


def _krea2_schema(resolutions: list[str]) -> dict[str, Any]:
    slider = {"type": "integer", "minimum": -100, "maximum": 100, "default": 0}
    return {
        "type": "object",
        "properties": {
            "prompt": {"type": "string", "minLength": 1},
            "aspect_ratio": {
                "type": "string",
                "enum": ["1:1", "4:3", "3:2", "16:9", "2.35:1", "4:5", "2:3", "9:16"],
                "default": "1:1",
            },
            "resolution": {"type": "string", "enum": resolutions, "default": "1K"},
            "seed": {"type": ["number", "null"]},
            "creativity": {
                "type": "string",
                "enum": ["raw", "low", "medium", "high"],
                "default": "medium",
                "description": "How freely the prompt is interpreted",
            },
            "image_style_references": {
                "type": "array",
                "maxItems": 10,
                "items": {
                    "type": "object",
                    "properties": {
                        "url": {**_URI, "maxLength": 1024},
                        "strength": {"type": "number", "minimum": 0, "maximum": 1, "default": 0.5},
                    },
                    "required": ["url"],
                    "additionalProperties": False,
                },
                "description": "Style references to use for the generation",
            },
            "moodboards": {
                "type": "array",
                "maxItems": 1,
                "items": {
                    "type": "object",
                    "properties": {"id": {"type": "string"}, "strength": {"type": "number"}},
                    "required": ["id"],
                    "additionalProperties": False,
                },
                "description": "Moodboard (UUID from a ?share=<id> URL) to steer the look",
            },
            "styles": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "strength": {"type": "number", "minimum": -2, "maximum": 2},
                    },
                    "required": ["id", "strength"],
                },
                "description": "Styles (typically LoRAs) to use for the generation",
            },
            "intensity": dict(slider),
            "complexity": dict(slider),
            "movement": dict(slider),
            "image_url": dict(_URI),
            "strength": {"type": "number"},
        },
        "required": ["prompt", "aspect_ratio", "resolution"],
        "additionalProperties": False,
    }


def _krea2_model(
    variant: str, name: str, description: str, resolutions: list[str]
) -> dict[str, Any]:
    schema = _krea2_schema(resolutions)
    return {
        "path": f"krea/krea-2/{variant}",
        "endpoint": f"{IMAGE_PREFIX}krea/krea-2/{variant}",
        "name": name,
        "description": description,
        "deprecated": False,
        "aliases": {"presetStyles": "styles", "imageStyleRefs": "image_style_references"},
        "schema": schema,
        "field_order": list(schema["properties"]),
        "example": {
            "prompt": "A lighthouse on a basalt cliff at dawn",
            "aspect_ratio": "1:1",
            "resolution": "1K",
        },
        "cost": None,
        "avg_seconds": None,
        "sources": {"model": _K2_SOURCE},
    }


KREA2_MODELS: dict[str, dict[str, Any]] = {
    m["path"]: m
    for m in (
        _krea2_model("medium", "Krea 2 Medium", "Krea's own image model, balanced.", ["1K"]),
        _krea2_model("large", "Krea 2 Large", "Krea's own image model, highest quality.", ["1K"]),
        _krea2_model(
            "medium-turbo", "Krea 2 Medium Turbo", "Krea's own image model, fastest.", ["1K", "2K"]
        ),
    )
}

_PRICE_DOCS = "reference §6.2 [D] KB, REF-krea-2-*"
_PRICE_3P = "reference §6.2 [3P] 3P-py, 3P-notes"

# path -> (USD per image, {field: USD when that field is non-empty}, source note)
PRICES_USD: dict[str, tuple[float, dict[str, float], str]] = {
    "krea/krea-2/medium": (
        0.03,
        {"image_style_references": 0.035, "moodboards": 0.04},
        _PRICE_DOCS,
    ),
    "krea/krea-2/large": (0.06, {"image_style_references": 0.065, "moodboards": 0.07}, _PRICE_DOCS),
    "krea/krea-2/medium-turbo": (0.015, {}, _PRICE_3P),
    "bfl/flux-1-dev": (0.007, {}, _PRICE_3P),
    "bfl/flux-1-kontext-dev": (0.0128, {}, "reference §6.2 [D] REF-flux-kontext.md"),
    "google/imagen-4": (0.042, {}, _PRICE_3P),
    "google/imagen-4-fast": (0.021, {}, _PRICE_3P),
    "google/imagen-4-ultra": (0.063, {}, _PRICE_3P),
    "openai/gpt-image": (0.03, {}, _PRICE_3P),
    "google/nano-banana-pro": (0.15, {}, _PRICE_3P),
    "google/nano-banana-2": (0.06, {}, _PRICE_3P),
    "bytedance/seedream-5-lite": (0.04, {}, _PRICE_3P),
    "ideogram/ideogram-3": (0.063, {"character_reference_images": 0.1575}, _PRICE_3P),
    "bfl/flux-1.1-pro": (0.06, {}, _PRICE_3P),
    "z-image/z-image": (0.003, {}, _PRICE_3P),
    "enhance/topaz/standard-enhance": (0.10, {}, "reference Appendix B [3P] 3P-notes"),
    "enhance/topaz/generative-enhance": (0.27, {}, "reference Appendix B [3P] 3P-notes"),
    "enhance/topaz/bloom-enhance": (0.51, {}, "reference Appendix B [3P] 3P-notes"),
}

# USD-era renames: (path, one name, the other name). Whichever the schema has is canonical.
RENAMES: tuple[tuple[str, str, str, str], ...] = tuple(
    (path, "guidance_scale", "guidance_scale_flux", "reference §0.3, §7.4 [D] REF-flux-kontext.md")
    for path in ("bfl/flux-1-dev", "bfl/flux-1-kontext-dev")
)


def apply_overlays(catalog: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of `catalog` with the overlays added wherever the spec lacks them.

    Facts from the spec always win: a live spec that serves Krea 2 or a renamed field keeps
    its own schema, and only the missing pieces are filled in.
    """
    result = copy.deepcopy(dict(catalog))
    models: dict[str, dict[str, Any]] = result.setdefault("models", {})
    for path, known in KREA2_MODELS.items():
        models.setdefault(path, copy.deepcopy(known))
    enhancers: dict[str, dict[str, Any]] = result.setdefault("enhancers", {})
    for path, (usd, tiers, source) in PRICES_USD.items():
        model = models.get(path) or enhancers.get(path)
        if model is not None and model.get("price_usd") is None:
            model["price_usd"] = usd
            if tiers:
                model["price_usd_when"] = dict(tiers)
            model.setdefault("sources", {})["price_usd"] = source
    for path, name_a, name_b, source in RENAMES:
        model = models.get(path)
        properties = (model or {}).get("schema", {}).get("properties", {})
        if model is None or (name_a in properties) == (name_b in properties):
            continue
        canonical, other = (name_a, name_b) if name_a in properties else (name_b, name_a)
        aliases = model.setdefault("aliases", {})
        if other not in aliases:
            aliases[other] = canonical
            model.setdefault("sources", {})[f"aliases.{other}"] = source
    return result


def dumps_catalog(catalog: Mapping[str, Any]) -> str:
    """The one serialisation used for the bundled file and the cache: stable bytes for diffs."""
    return json.dumps(catalog, sort_keys=True, indent=1, ensure_ascii=False) + "\n"
