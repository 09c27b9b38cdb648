"""The catalogue refreshes from the API's own /openapi.json, here the simulator's."""

from __future__ import annotations

from pathlib import Path

from krea_tui.core.api import KreaClient
from krea_tui.core.catalog import DEFAULT_MODEL, bundled_catalog, load_catalog, refresh_catalog
from tests.conftest import TOKEN_A


async def test_refresh_from_the_served_spec_matches_the_bundled_catalogue(
    sim, tmp_path: Path
) -> None:
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        fresh = await refresh_catalog(client.get_openapi, tmp_path)
    assert fresh is not None
    bundled = bundled_catalog()
    assert [m.path for m in fresh.models()] == [m.path for m in bundled.models()]
    assert fresh.models()[0].path == DEFAULT_MODEL
    for model in bundled.models():
        assert fresh.get(model.path).schema == model.schema
    # Next start uses the cached copy without asking again.
    assert [m.path for m in load_catalog(tmp_path).models()] == [m.path for m in fresh.models()]
    problems = fresh.validate(DEFAULT_MODEL, {"prompt": "x" * 1801, "steps": 0})
    assert sorted(p.field for p in problems) == ["prompt", "steps"]


async def test_unreachable_api_keeps_the_bundled_catalogue(tmp_path: Path) -> None:
    async with KreaClient(TOKEN_A, base_url="http://127.0.0.1:9") as client:
        assert await refresh_catalog(client.get_openapi, tmp_path) is None
    assert [m.path for m in load_catalog(tmp_path).models()] == [
        m.path for m in bundled_catalog().models()
    ]
