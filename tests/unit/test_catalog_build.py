"""build_catalog (OpenAPI -> catalogue), the overlays, and scripts/gen_catalog.py."""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.catalog_build import (
    KREA2_MODELS,
    apply_overlays,
    build_catalog,
    dumps_catalog,
    first_prose_line,
    parse_avg_seconds,
    parse_cost,
)

REPO = Path(__file__).resolve().parents[2]
SNAPSHOT = REPO.parent / "shared" / "krea" / "openapi-snapshot-spring2026.json"
GEN = REPO / "scripts" / "gen_catalog.py"
BUNDLED = REPO / "krea_tui" / "core" / "catalog.json"

needs_snapshot = pytest.mark.skipif(not SNAPSHOT.exists(), reason="OpenAPI snapshot not present")


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SNAPSHOT.exists():
        pytest.skip("OpenAPI snapshot not present")
    return json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def _operation(schema: dict[str, Any], description: str = "A model.") -> dict[str, Any]:
    return {
        "summary": "Test",
        "description": description,
        "requestBody": {"content": {"application/json": {"schema": schema}}},
    }


def test_every_image_post_operation_becomes_a_model(spec: dict[str, Any]) -> None:
    models = build_catalog(spec)["models"]
    expected = {
        p.removeprefix("/generate/image/")
        for p, ops in spec["paths"].items()
        if p.startswith("/generate/image/") and "post" in ops
    }
    assert set(models) == expected
    assert len(models) == 22
    assert not any(p.startswith(("video/", "enhance/", "topaz/")) for p in models)


def test_flux_entry_carries_the_facts(spec: dict[str, Any]) -> None:
    flux = build_catalog(spec)["models"]["bfl/flux-1-dev"]
    assert flux["endpoint"] == "/generate/image/bfl/flux-1-dev"
    assert flux["name"] == "Flux"
    assert flux["description"] == "Fast model. Best for LoRAs."
    assert flux["deprecated"] is False
    assert flux["aliases"]["imageUrl"] == "image_url"
    assert flux["aliases"]["presetStyles"] == "styles"
    assert flux["schema"]["additionalProperties"] is False
    assert flux["field_order"][0] == "prompt"
    assert flux["cost"] == {
        "unit": "CU",
        "columns": ["Compute Units", "Average Completion Time"],
        "rows": [["~3", "~7 seconds"]],
        "typical": 3.0,
    }
    assert flux["avg_seconds"] == 7.0


def test_average_times_and_keyed_cost_tables(spec: dict[str, Any]) -> None:
    models = build_catalog(spec)["models"]
    seconds = {p: m["avg_seconds"] for p, m in models.items() if m["avg_seconds"] is not None}
    assert seconds == {
        "bfl/flux-1-dev": 7,
        "bfl/flux-1-kontext-dev": 23,
        "runway/gen-4-image": 38,
        "openai/gpt-image": 72,
        "openai/gpt-image-2": 55,
        "qwen/2512": 22,
        "z-image/z-image": 5,
    }
    pro = models["google/nano-banana-pro"]["cost"]
    assert pro["columns"] == ["Resolution", "Compute Units"]
    assert pro["rows"] == [["1K", "60.1"], ["2K", "60.1"], ["4K", "120"]]
    assert pro["typical"] == 60.1
    assert models["luma/uni-1"]["cost"]["typical"] == 23.1
    assert models["bytedance/seededit"]["cost"] is None


def test_build_is_pure_and_deterministic(spec: dict[str, Any]) -> None:
    before = copy.deepcopy(spec)
    first = dumps_catalog(build_catalog(spec))
    assert spec == before
    assert dumps_catalog(build_catalog(spec)) == first


def test_deprecated_flag_and_local_refs_are_resolved() -> None:
    op = _operation({"$ref": "#/components/schemas/Body"})
    op["deprecated"] = True
    spec = {
        "paths": {"/generate/image/acme/old": {"post": op}},
        "components": {
            "schemas": {
                "Body": {
                    "type": "object",
                    "properties": {"prompt": {"$ref": "#/components/schemas/Prompt"}},
                },
                "Prompt": {"type": "string", "maxLength": 10},
            }
        },
    }
    model = build_catalog(spec)["models"]["acme/old"]
    assert model["deprecated"] is True
    assert model["schema"]["properties"]["prompt"] == {"type": "string", "maxLength": 10}


def test_unresolvable_model_is_left_out_and_empty_spec_is_an_error() -> None:
    good = _operation({"type": "object", "properties": {"prompt": {"type": "string"}}})
    spec = {
        "paths": {
            "/generate/image/acme/broken": {"post": _operation({"$ref": "#/nowhere"})},
            "/generate/image/acme/good": {"post": good},
            "/generate/video/acme/clip": {"post": good},
        }
    }
    assert list(build_catalog(spec)["models"]) == ["acme/good"]
    with pytest.raises(ValueError):
        build_catalog({"paths": {"/generate/video/acme/clip": {"post": good}}})
    with pytest.raises(ValueError):
        build_catalog({"openapi": "3.1.0"})


def test_description_helpers() -> None:
    text = "\n| Compute Units |\n|---|\n| 22.9 |\nSecond line."
    assert first_prose_line(text) == "Second line."
    assert parse_cost(text) == {
        "unit": "CU",
        "columns": ["Compute Units"],
        "rows": [["22.9"]],
        "typical": 22.9,
    }
    minutes = "| Compute Units | Average Completion Time |\n|--|--|\n| ~500 | ~2 minutes |"
    assert parse_avg_seconds(minutes) == 120
    assert parse_cost("| Compute Units |\n| 3 |") is None  # no separator row: not a table
    assert parse_cost("| Compute Units |\n|---|\n| lots |") is None


_TABLE_HEADER = "| Compute Units | Average Completion Time |\n|---|---|\n"
_table_ish = st.lists(st.text(alphabet="|-~ .:,0123456789KYesNominutesecond", max_size=40))


@given(
    st.one_of(
        st.text(),
        _table_ish.map("\n".join),
        _table_ish.map(lambda ls: _TABLE_HEADER + "\n".join(ls)),
    )
)
def test_cost_parsing_never_raises(description: str) -> None:
    cost = parse_cost(description)
    assert cost is None or isinstance(cost["typical"], float)
    seconds = parse_avg_seconds(description)
    assert seconds is None or isinstance(seconds, float)


def test_overlays_add_krea2_prices_and_the_guidance_rename(spec: dict[str, Any]) -> None:
    models = apply_overlays(build_catalog(spec))["models"]
    assert set(KREA2_MODELS) <= set(models)
    assert models["krea/krea-2/medium"]["sources"]["model"].startswith("reference §7.2")
    flux = models["bfl/flux-1-dev"]
    assert flux["price_usd"] == 0.007
    assert "price_usd" in flux["sources"]
    assert flux["aliases"]["guidance_scale"] == "guidance_scale_flux"
    assert models["bfl/flux-1-kontext-dev"]["aliases"]["guidance_scale"] == "guidance_scale_flux"
    assert "price_usd" not in models["bytedance/seededit"]


def test_overlays_never_override_the_spec() -> None:
    live_flux = _operation(
        {"type": "object", "properties": {"prompt": {}, "guidance_scale": {"type": "number"}}}
    )
    live_k2 = _operation({"type": "object", "properties": {"prompt": {}, "new_knob": {}}})
    spec = {
        "paths": {
            "/generate/image/bfl/flux-1-dev": {"post": live_flux},
            "/generate/image/krea/krea-2/large": {"post": live_k2},
        }
    }
    models = apply_overlays(build_catalog(spec))["models"]
    # The live API uses the new name, so the old one becomes the alias.
    assert models["bfl/flux-1-dev"]["aliases"] == {"guidance_scale_flux": "guidance_scale"}
    assert "new_knob" in models["krea/krea-2/large"]["schema"]["properties"]
    assert "krea/krea-2/medium" in models


@needs_snapshot
def test_gen_catalog_check_passes_on_the_committed_file() -> None:
    run = subprocess.run(
        [sys.executable, str(GEN), str(SNAPSHOT), "--check"], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr


@needs_snapshot
def test_gen_catalog_is_deterministic_and_check_catches_drift(tmp_path: Path) -> None:
    out = tmp_path / "catalog.json"
    for _ in range(2):
        subprocess.run([sys.executable, str(GEN), "--output", str(out)], check=True)
        assert out.read_bytes() == BUNDLED.read_bytes()
    out.write_text(out.read_text().replace('"Flux"', '"Flux (edited)"'))
    run = subprocess.run(
        [sys.executable, str(GEN), "--check", "--output", str(out)], capture_output=True
    )
    assert run.returncode == 1
