"""The runtime catalogue: lookup, fields, validation, cost, cache and refresh."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from krea_tui.core import catalog as cat
from krea_tui.core.catalog import (
    CACHE_FILE,
    DEFAULT_MODEL,
    Catalog,
    Problem,
    UnknownModelError,
    bundled_catalog,
    load_catalog,
    refresh_catalog,
    validate,
)

FLUX = "bfl/flux-1-dev"
KREA2 = ("krea/krea-2/medium", "krea/krea-2/large", "krea/krea-2/medium-turbo")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return bundled_catalog()


def fields_of(problems: list[Problem]) -> set[str]:
    return {p.field for p in problems}


# --- the acceptance example and Flux ranges ---


def test_acceptance_example() -> None:
    problems = validate(FLUX, {"prompt": "x" * 1801, "steps": 0})
    assert [p.field for p in problems] == ["prompt", "steps"]
    assert problems[0].message == "prompt: at most 1800 characters (got 1801)"
    assert problems[1].message == "steps: must be at least 1 (got 0)"


@given(st.integers(min_value=0, max_value=2500))
def test_prompt_length(n: int) -> None:
    problems = validate(FLUX, {"prompt": "p" * n})
    # An empty prompt is a missing one: "prompt: required".
    assert fields_of(problems) == (set() if 1 <= n <= 1800 else {"prompt"})


@pytest.mark.parametrize(
    ("field", "low", "high", "integer"),
    [
        ("steps", 1, 100, True),
        ("width", 512, 2368, False),
        ("height", 512, 2368, False),
        ("guidance_scale_flux", 0, 24, False),
    ],
)
@given(data=st.data())
def test_flux_numeric_ranges(
    field: str, low: float, high: float, integer: bool, data: st.DataObject
) -> None:
    inside = st.integers(low, high) if integer else st.floats(low, high)
    below = (
        st.integers(max_value=low - 1)
        if integer
        else st.floats(max_value=low, exclude_max=True, allow_infinity=False)
    )
    above = (
        st.integers(min_value=high + 1)
        if integer
        else st.floats(min_value=high, exclude_min=True, allow_infinity=False)
    )
    ok = data.draw(inside)
    assert validate(FLUX, {"prompt": "x", field: ok}) == []
    bad = data.draw(st.one_of(below, above))
    problems = validate(FLUX, {"prompt": "x", field: bad})
    assert fields_of(problems) == {field}
    assert field in problems[0].message


@given(st.floats(0, 24))
def test_guidance_scale_is_an_alias_of_the_flux_name(value: float) -> None:
    assert validate(FLUX, {"prompt": "x", "guidance_scale": value}) == []
    assert validate(FLUX, {"prompt": "x", "guidance_scale": value + 25}) != []


# --- aliases, unknown keys, nested paths, formats ---


def test_camel_case_aliases_are_accepted_and_mapped(catalog: Catalog) -> None:
    params = {"prompt": "x", "imageUrl": "https://a.example/1.png", "styleImages": []}
    assert catalog.normalize(FLUX, params) == {
        "prompt": "x",
        "image_url": "https://a.example/1.png",
        "style_images": [],
    }
    assert catalog.validate(FLUX, params) == []
    assert catalog.normalize(FLUX, {"guidance_scale": 5}) == {"guidance_scale_flux": 5}


def test_snake_case_wins_over_its_alias(catalog: Catalog) -> None:
    for params in (
        {"imageUrl": "https://old.example", "image_url": "https://new.example"},
        {"image_url": "https://new.example", "imageUrl": "https://old.example"},
    ):
        assert catalog.normalize(FLUX, params) == {"image_url": "https://new.example"}


def test_unknown_keys_are_reported_one_by_one(catalog: Catalog) -> None:
    problems = catalog.validate(FLUX, {"prompt": "x", "promt": "y", "batch_size": 2})
    assert fields_of(problems) == {"promt", "batch_size"}
    messages = {p.field: p.message for p in problems}
    assert messages["promt"].startswith("promt: unknown field")
    assert "did you mean prompt" in messages["promt"]
    assert "batch_size" in messages["batch_size"]


def test_every_problem_is_reported_with_its_path_and_sorted(catalog: Catalog) -> None:
    params = {
        "steps": "many",
        "styles": [{"id": "a", "strength": 1}, {"strength": 9}],
        "width": 100,
    }
    problems = catalog.validate(FLUX, params)
    assert [p.field for p in problems] == [
        "prompt",
        "steps",
        "styles.1.id",
        "styles.1.strength",
        "width",
    ]
    assert problems[0].message == "prompt: required"
    assert problems[1].message == "steps: must be an integer (got string)"


@pytest.mark.parametrize("prompt", ["", " ", "  \t\n "])
def test_an_empty_or_blank_required_prompt_is_missing_for_every_model(
    catalog: Catalog, prompt: str
) -> None:
    # One rule for the compose form and the headless commands: the API would take "   " and
    # charge for a picture of nothing.
    for model in catalog.models():
        assert model.field("prompt") is not None and model.field("prompt").required
        body = {**model.starter_body(), "prompt": prompt}
        problems = catalog.validate(model.path, body)
        assert Problem("prompt", "prompt: required") in problems, model.path
        without = {k: v for k, v in body.items() if k != "prompt"}
        assert problems == catalog.validate(model.path, without), model.path  # as if missing
        fine = catalog.validate(model.path, {**body, "prompt": " a fox "})
        assert "prompt" not in fields_of(fine), model.path


def test_uri_format_is_checked(catalog: Catalog) -> None:
    assert catalog.validate(FLUX, {"prompt": "x", "image_url": "data:image/png;base64,AA"}) == []
    assert catalog.validate(FLUX, {"prompt": "x", "image_url": None}) == []
    problems = catalog.validate(FLUX, {"prompt": "x", "image_url": "/home/me/cat.png"})
    assert fields_of(problems) == {"image_url"}
    assert "URL" in problems[0].message


def test_enum_and_minimum_length_messages(catalog: Catalog) -> None:
    problems = catalog.validate("google/nano-banana-pro", {"prompt": "hi", "resolution": "8K"})
    assert [p.message for p in problems] == [
        "prompt: at least 3 characters (got 2)",
        "resolution: must be one of '1K', '2K', '4K' (got '8K')",
    ]


# --- the catalogue as a whole ---


def test_every_schema_is_valid_and_its_starter_body_validates(catalog: Catalog) -> None:
    for model in catalog.models():
        Draft202012Validator.check_schema(model.schema)
        problems = catalog.validate(model.path, model.starter_body())
        if model.path == "runway/gen-4-image":
            # The spec's own example omits the required references; nothing can invent them.
            assert problems == [Problem("reference_images", "reference_images: required")]
        else:
            assert problems == [], model.path


def test_runway_validates_with_a_reference(catalog: Catalog) -> None:
    body = {"prompt": "x", "reference_images": [{"url": "https://a.example/r.png", "tag": "hero"}]}
    assert catalog.validate("runway/gen-4-image", body) == []


def test_default_model_first_then_by_name(catalog: Catalog) -> None:
    models = catalog.models()
    assert models[0].path == DEFAULT_MODEL == FLUX
    names = [m.name.casefold() for m in models[1:]]
    assert names == sorted(names)
    assert len(models) == len(catalog) == 25


def test_lookup_accepts_every_spelling(catalog: Catalog) -> None:
    for spelling in (FLUX, "image/bfl/flux-1-dev", "/generate/image/bfl/flux-1-dev", "flux-1-dev"):
        assert catalog.get(spelling).path == FLUX
    assert catalog.get("krea-2/medium").path == "krea/krea-2/medium"
    assert "bfl/flux-1-dev" in catalog
    assert "bfl/flux-9" not in catalog


def test_unknown_model_suggests_close_matches(catalog: Catalog) -> None:
    with pytest.raises(UnknownModelError) as info:
        catalog.get("bfl/flux-1-devv")
    assert isinstance(info.value, KeyError)
    assert "bfl/flux-1-devv" in str(info.value)
    assert FLUX in info.value.suggestions
    with pytest.raises(UnknownModelError):
        catalog.validate("nope/nothing", {})


def test_flux_fields_summary(catalog: Catalog) -> None:
    flux = catalog.get(FLUX)
    assert flux.max_prompt_length == 1800
    assert flux.takes_pixels and not flux.takes_aspect_ratio
    assert flux.required_fields == ("prompt",)
    assert [f.name for f in catalog.fields(FLUX)][:2] == ["prompt", "strength"]
    steps = flux.field("steps")
    assert steps is not None
    assert (steps.type, steps.minimum, steps.maximum, steps.default) == ("integer", 1, 100, 25)
    image_url = flux.field("image_url")
    assert image_url is not None and image_url.nullable and image_url.type == "string"
    styles = flux.field("styles")
    assert styles is not None and styles.type == "array"
    assert [(f.name, f.required) for f in styles.item_fields] == [("id", True), ("strength", True)]
    assert flux.field("nonexistent") is None


def test_krea2_models_from_the_overlay(catalog: Catalog) -> None:
    for path in KREA2:
        model = catalog.get(path)
        assert model.takes_aspect_ratio and not model.takes_pixels
        assert set(model.required_fields) == {"prompt", "aspect_ratio", "resolution"}
        assert model.aliases["presetStyles"] == "styles"
        assert model.sources["model"]
        creativity = model.field("creativity")
        assert creativity is not None and creativity.default == "medium"
    turbo = catalog.get("krea/krea-2/medium-turbo").field("resolution")
    medium = catalog.get("krea/krea-2/medium").field("resolution")
    assert turbo is not None and turbo.enum == ("1K", "2K")
    assert medium is not None and medium.enum == ("1K",)
    body = {"prompt": "x", "aspect_ratio": "2.35:1", "resolution": "1K"}
    assert catalog.validate(KREA2[0], body) == []
    bad = {
        **body,
        "imageStyleRefs": [{"url": "https://a.example", "strength": 1.5}],
        "moodboards": [{"id": "a"}, {"id": "b"}],
        "intensity": 101,
    }
    problems = catalog.validate(KREA2[0], bad)
    assert fields_of(problems) == {"image_style_references.0.strength", "moodboards", "intensity"}


def test_cost_facts_and_estimates(catalog: Catalog) -> None:
    flux = catalog.get(FLUX)
    assert flux.cost is not None and flux.cost["typical"] == 3.0
    assert flux.avg_seconds == 7.0
    assert catalog.estimate_cost(FLUX, {}) == (0.007, "$0.007")
    assert catalog.estimate_cost("bfl/flux-1-kontext-dev", {}) == (0.0128, "$0.0128")
    medium = catalog.get("krea/krea-2/medium")
    assert medium.price_usd == 0.03
    refs = {"image_style_references": [{"url": "https://a.example"}]}
    assert catalog.estimate_cost(medium.path, refs) == (0.035, "$0.035")
    # No USD price: the spec's compute units, picked by the request where the table allows.
    assert catalog.estimate_cost("qwen/2512", {}) == (9.0, "~9 CU")
    uni = {"mode": "max", "style_images": [{"strength": 1}] * 2}
    assert catalog.estimate_cost("luma/uni-1", uni) == (60.7, "60.7 CU")
    assert catalog.estimate_cost("google/imagen-3", {}) == (22.9, "22.9 CU")
    assert catalog.estimate_cost("bytedance/seededit", {}) == (None, "")


def test_cost_of_many_jobs_is_worded_once_for_every_confirmation(catalog: Catalog) -> None:
    # The sweep dialog's and `krea-tui batch`'s wording: one function for both.
    assert catalog.cost_text(FLUX, [{"prompt": "x"}] * 9) == "est. 9 × $0.007 = $0.063"
    assert catalog.cost_totals(FLUX, [{"prompt": "x"}] * 9) == pytest.approx({"USD": 0.063})
    medium, refs = "krea/krea-2/medium", {"image_style_references": [{"url": "https://a.example"}]}
    assert catalog.cost_text(medium, [{}, refs]) == "est. $0.065 in all"  # prices differ
    assert catalog.cost_text("qwen/2512", [{}] * 2) == "est. 2 × ~9 CU = 18 CU"
    assert catalog.cost_text("bytedance/seededit", [{}]) == "cost unknown"
    assert catalog.cost_totals("bytedance/seededit", [{}]) is None
    assert catalog.cost_text(FLUX, []) == "cost unknown"
    assert cat.format_totals({"USD": 0.07, "CU": 18.0}) == "$0.070 + 18 CU"


def test_core_catalog_imports_no_ui_library() -> None:
    code = (
        "import sys, krea_tui.core.catalog as c; c.bundled_catalog(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich')))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


# --- cache and refresh ---


def live_spec(summary: str = "Flux (live)") -> dict[str, Any]:
    """A tiny stand-in for GET /openapi.json: one Flux operation with a recognisable name."""
    schema = {
        "type": "object",
        "properties": {"prompt": {"type": "string", "maxLength": 2000}},
        "required": ["prompt"],
        "additionalProperties": False,
    }
    operation = {
        "summary": summary,
        "description": "Live.\n| Compute Units |\n|---|\n| ~4 |",
        "requestBody": {"content": {"application/json": {"schema": schema}}},
    }
    return {"paths": {"/generate/image/bfl/flux-1-dev": {"post": operation}}}


class FakeFetch:
    def __init__(self, result: dict[str, Any] | Exception) -> None:
        self.result = result
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


async def test_refresh_writes_a_cache_that_load_prefers(tmp_path: Path) -> None:
    fetch = FakeFetch(live_spec())
    refreshed = await refresh_catalog(fetch, tmp_path / "cache", now=lambda: 0.0)
    assert refreshed is not None and fetch.calls == 1
    assert refreshed.get(FLUX).name == "Flux (live)"
    assert refreshed.get(FLUX).max_prompt_length == 2000
    # Overlays the live spec lacks are merged in.
    assert refreshed.get(FLUX).price_usd == 0.007
    assert "krea/krea-2/large" in refreshed
    loaded = load_catalog(tmp_path / "cache")
    assert loaded.get(FLUX).name == "Flux (live)"
    assert list((tmp_path / "cache").iterdir()) == [tmp_path / "cache" / CACHE_FILE]


async def test_refresh_respects_max_age(tmp_path: Path) -> None:
    fetch = FakeFetch(live_spec())
    assert await refresh_catalog(fetch, tmp_path) is not None
    cache = tmp_path / CACHE_FILE
    os.utime(cache, (1000.0, 1000.0))
    young = await refresh_catalog(fetch, tmp_path, max_age=60, now=lambda: 1059.0)
    assert young is None and fetch.calls == 1
    fetch.result = live_spec("Flux (newer)")
    old = await refresh_catalog(fetch, tmp_path, max_age=60, now=lambda: 1061.0)
    assert old is not None and fetch.calls == 2
    assert load_catalog(tmp_path).get(FLUX).name == "Flux (newer)"


@pytest.mark.parametrize(
    "result", [OSError("network down"), {"paths": {}}, {"not": "openapi"}], ids=str
)
async def test_failed_refresh_keeps_the_old_cache(tmp_path: Path, result: Any) -> None:
    await refresh_catalog(FakeFetch(live_spec()), tmp_path)
    before = (tmp_path / CACHE_FILE).read_bytes()
    fetch = FakeFetch(result)
    assert await refresh_catalog(fetch, tmp_path, max_age=0) is None
    assert fetch.calls == 1
    assert (tmp_path / CACHE_FILE).read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == [CACHE_FILE]


async def test_failed_first_refresh_leaves_the_bundled_catalogue(tmp_path: Path) -> None:
    assert await refresh_catalog(FakeFetch(ValueError("bad json")), tmp_path) is None
    assert load_catalog(tmp_path) is bundled_catalog()


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        "[]",
        json.dumps({"format": 999, "models": {}}),
        json.dumps({"format": 1, "models": {FLUX: {"schema": {"type": 12}}}}),
    ],
)
async def test_unusable_cache_falls_back_and_is_replaced(tmp_path: Path, content: str) -> None:
    (tmp_path / CACHE_FILE).write_text(content)
    assert load_catalog(tmp_path) is bundled_catalog()
    # Even a young cache is refetched when it cannot be used.
    fetch = FakeFetch(live_spec())
    assert await refresh_catalog(fetch, tmp_path, max_age=1e9) is not None
    assert load_catalog(tmp_path).get(FLUX).name == "Flux (live)"


def test_load_without_cache_dir_is_the_bundled_catalogue(tmp_path: Path) -> None:
    assert load_catalog(None) is bundled_catalog()
    assert load_catalog(tmp_path / "missing") is bundled_catalog()


def test_catalog_rejects_malformed_data() -> None:
    for data in ({}, {"models": {}}, {"models": {"a/b": {}}}, {"models": []}):
        with pytest.raises(ValueError):
            Catalog(data)


def test_module_validate_uses_the_bundled_catalogue() -> None:
    params = {"prompt": "", "steps": 101}
    assert cat.validate(FLUX, params) == bundled_catalog().validate(FLUX, params)


def test_problems_inside_a_list_count_items_from_one(catalog: Catalog) -> None:
    body = {"prompt": "x", "style_images": [{"url": "https://a.test/1.png", "strength": 9}]}
    (problem,) = catalog.validate("bfl/flux-1-dev", body)
    assert problem.field == "style_images.0.strength"  # the path as the schema counts
    assert problem.message == "style_images: item 1: strength: must be at most 2 (got 9)"


async def test_a_cache_we_checked_is_not_checked_again_but_an_edited_one_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert await refresh_catalog(FakeFetch(live_spec()), tmp_path) is not None
    checks: list[object] = []
    monkeypatch.setattr(Draft202012Validator, "check_schema", checks.append)
    assert load_catalog(tmp_path).get(FLUX).name == "Flux (live)"
    assert checks == []  # start-up does not pay for the check made when it was written
    monkeypatch.undo()

    cache = tmp_path / CACHE_FILE
    data = json.loads(cache.read_text())
    data["models"][FLUX]["schema"]["type"] = 12  # edited by hand: its digest no longer fits
    cache.write_text(json.dumps(data))
    assert load_catalog(tmp_path) is bundled_catalog()
