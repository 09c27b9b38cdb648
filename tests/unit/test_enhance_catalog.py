"""The enhance (upscale) endpoints in the catalogue: built from the spec, priced, looked up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core.catalog import Catalog, bundled_catalog
from krea_tui.core.catalog_build import apply_overlays, build_catalog, parse_max_side

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = REPO.parent / "shared" / "krea" / "openapi-snapshot-spring2026.json"
TOPAZ = (
    "enhance/topaz/generative-enhance",
    "enhance/topaz/standard-enhance",
    "enhance/topaz/bloom-enhance",
)


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SNAPSHOT.exists():
        pytest.skip("OpenAPI snapshot not present")
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_every_enhance_post_operation_becomes_an_enhancer(spec: dict[str, Any]) -> None:
    built = build_catalog(spec)
    enhancers = built["enhancers"]
    expected = {
        p.removeprefix("/generate/")
        for p, ops in spec["paths"].items()
        if p.startswith("/generate/enhance/") and "post" in ops
    }
    assert set(enhancers) == expected == set(TOPAZ)
    standard = enhancers["enhance/topaz/standard-enhance"]
    operation = spec["paths"]["/generate/enhance/topaz/standard-enhance"]["post"]
    assert standard["endpoint"] == "/generate/enhance/topaz/standard-enhance"
    assert standard["schema"] == operation["requestBody"]["content"]["application/json"]["schema"]
    assert standard["name"] == "Topaz"
    assert standard["aliases"] == {"imageUrl": "image_url"}
    # The image models stay as they were: enhancers are a section of their own.
    assert not any(p.startswith(("enhance/", "topaz/")) for p in built["models"])


def test_each_enhancer_knows_its_largest_side(spec: dict[str, Any]) -> None:
    enhancers = build_catalog(spec)["enhancers"]
    sides = {path: entry["max_side"] for path, entry in enhancers.items()}
    assert sides == {
        "enhance/topaz/generative-enhance": 16000,  # "Max 16K", under the schema's 32000
        "enhance/topaz/standard-enhance": 22000,  # "Up to 22K resolution"
        "enhance/topaz/bloom-enhance": 10000,  # "Max 10K" and the schema's maximum
    }
    assert parse_max_side("No limit stated.", 32000) == 32000
    assert parse_max_side("Max 10K.", None) == 10000
    assert parse_max_side("Up to 4k output", 3000) == 3000


def test_overlays_price_the_enhancers(spec: dict[str, Any]) -> None:
    enhancers = apply_overlays(build_catalog(spec))["enhancers"]
    prices = {path: entry["price_usd"] for path, entry in enhancers.items()}
    assert prices == {
        "enhance/topaz/standard-enhance": 0.10,
        "enhance/topaz/generative-enhance": 0.27,
        "enhance/topaz/bloom-enhance": 0.51,
    }
    assert "3P" in enhancers["enhance/topaz/bloom-enhance"]["sources"]["price_usd"]


def test_bundled_catalogue_finds_enhancers_but_lists_them_apart() -> None:
    catalog = bundled_catalog()
    for name in ("topaz/standard-enhance", "enhance/topaz/standard-enhance", "standard-enhance"):
        model = catalog.get(name)
        assert model.path == "enhance/topaz/standard-enhance"
    model = catalog.get("/generate/enhance/topaz/bloom-enhance")
    assert model.kind == "enhance"
    assert model.max_side == 10000
    assert model.endpoint == "/generate/enhance/topaz/bloom-enhance"
    assert [m.path for m in catalog.enhancers()] == [
        "enhance/topaz/standard-enhance",
        "enhance/topaz/generative-enhance",
        "enhance/topaz/bloom-enhance",
    ]
    assert all(m.kind == "image" for m in catalog.models())
    assert catalog.get("bfl/flux-1-dev").max_side is None
    assert "topaz/standard-enhance" in catalog


def test_enhancers_validate_and_price_like_models() -> None:
    catalog = bundled_catalog()
    body = {"image_url": "https://x.test/a.png", "width": 2048, "height": 2048}
    assert [p.field for p in catalog.validate("topaz/standard-enhance", body)] == ["model"]
    assert catalog.validate("topaz/generative-enhance", body) == []
    assert [p.field for p in catalog.validate("topaz/bloom-enhance", {**body, "width": 20000})] == [
        "model",
        "width",
    ]
    assert catalog.cost_text("topaz/standard-enhance", [body, body]) == ("est. 2 × $0.10 = $0.200")


def test_a_catalogue_without_enhancers_still_loads() -> None:
    data = json.loads(json.dumps({"format": 2, "models": {"a/b": {"schema": {"type": "object"}}}}))
    catalog = Catalog(data)
    assert catalog.enhancers() == []
