"""Every documented error code of the simulator: 400/401/402/404/409/410/422/429, plus the spec."""

from __future__ import annotations

import io

import httpx
import pytest
from PIL import Image

from krea_tui.core.api import KreaClient
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.catalog_build import apply_overlays, build_catalog
from krea_tui.core.errors import (
    AuthenticationError,
    ModelRetiredError,
    NotFoundError,
    PaymentError,
    ValidationError,
)
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, TOKEN_B, SimFactory, eventually

FLUX = "/generate/image/bfl/flux-1-dev"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer nope"},
        {"Authorization": f"Token {TOKEN_A}"},
    ],
)
async def test_missing_or_unknown_token_is_401(sim: RunningSim, headers: dict[str, str]) -> None:
    routes = [("POST", FLUX), ("GET", "/jobs"), ("GET", "/jobs/x"), ("DELETE", "/jobs/x")]
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as plain:
        for method, path in routes:
            response = await plain.request(method, path, headers=headers, json={"prompt": "x"})
            assert response.status_code == 401, (method, path)
            assert isinstance(response.json()["error"], str)


async def test_client_maps_401(sim: RunningSim) -> None:
    async with KreaClient(token="wrong-token", base_url=sim.base_url) as client:
        with pytest.raises(AuthenticationError) as caught:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
    assert caught.value.status == 401


async def test_a_job_of_one_token_is_404_to_another(sim: RunningSim) -> None:
    async with (
        KreaClient(token=TOKEN_A, base_url=sim.base_url) as owner,
        KreaClient(token=TOKEN_B, base_url=sim.base_url) as stranger,
    ):
        job = await owner.generate("bfl/flux-1-dev", {"prompt": "mine"})
        with pytest.raises(NotFoundError) as caught:
            await stranger.get_job(job.job_id)
        assert caught.value.status == 404
        with pytest.raises(NotFoundError):
            await owner.get_job("00000000-0000-4000-8000-000000000000")
        assert (await owner.get_job(job.job_id)).job_id == job.job_id


async def test_unknown_model_and_route_are_404_json(http: httpx.AsyncClient) -> None:
    for path in ("/generate/image/acme/nothing", "/generate/image/flux-1-dev", "/nowhere"):
        response = await http.post(path, json={"prompt": "x"})
        assert response.status_code == 404, path
        assert isinstance(response.json()["error"], str)


@pytest.mark.parametrize(
    "body, field",
    [
        ({"prompt": "x", "steps": 500}, "steps"),
        ({"prompt": "x", "nonsense": 1}, "nonsense"),
        ({"prompt": "x", "width": 100}, "width"),
        ({"steps": 10}, "prompt"),
        ({"prompt": "x", "guidance_scale_flux": "high"}, "guidance_scale_flux"),
    ],
)
async def test_invalid_bodies_are_400_naming_the_field(
    http: httpx.AsyncClient, body: dict[str, object], field: str
) -> None:
    response = await http.post(FLUX, json=body)
    assert response.status_code == 400
    assert field in response.json()["error"]
    assert set(response.json()) == {"error"}


async def test_client_sees_validation_error_with_the_field(sim: RunningSim) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        with pytest.raises(ValidationError) as caught:
            await client.generate("bfl/flux-1-dev", {"prompt": "x", "steps": 0})
    assert caught.value.status == 400
    assert "steps" in caught.value.message


async def test_not_json_and_not_an_object_are_400(http: httpx.AsyncClient) -> None:
    broken = await http.post(
        FLUX, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert broken.status_code == 400
    listed = await http.post(FLUX, json=["prompt"])
    assert listed.status_code == 400
    bad_hook = await http.post(FLUX, json={"prompt": "x"}, headers={"X-Webhook-URL": "ftp://x"})
    assert bad_hook.status_code == 400


async def test_validation_status_can_be_422(sim: RunningSim, http: httpx.AsyncClient) -> None:
    await http.post(f"{sim.base_url}/_sim/config", json={"validation_status": 422})
    response = await http.post(FLUX, json={"prompt": "x", "steps": 500})
    assert response.status_code == 422
    assert "steps" in response.json()["error"]


async def test_camel_case_aliases_are_accepted(sim: RunningSim) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        flux = await client.generate(
            "bfl/flux-1-dev",
            {"prompt": "x", "imageUrl": "https://example.com/a.png", "styleImages": []},
        )
        banana = await client.generate("google/nano-banana", {"prompt": "x", "aspectRatio": "16:9"})
        for job in (flux, banana):
            done = await eventually(
                lambda job=job: client.get_job(job.job_id), lambda j: j.status == "completed"
            )
            assert done.urls
    # The alias really reached the sizing logic: a 16:9 picture.
    async with httpx.AsyncClient(trust_env=False) as plain:
        data = (await plain.get(done.urls[0])).content
    assert Image.open(io.BytesIO(data)).size == (1024, 576)


async def test_payment_modes_answer_402(sim: RunningSim, admin: httpx.AsyncClient) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        await admin.post("/mode", json={"payment": "exhausted"})
        with pytest.raises(PaymentError) as exhausted:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
        assert exhausted.value.status == 402
        assert exhausted.value.message == "Insufficient API balance: top up at krea.ai/app/api."
        assert exhausted.value.reason == "balance"

        await admin.post("/mode", json={"payment": "plan"})
        with pytest.raises(PaymentError) as plan:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
        assert plan.value.message == "This model requires a higher plan."
        assert plan.value.reason == "plan"

        await admin.post("/mode", json={"payment": "ok"})
        assert (await client.generate("bfl/flux-1-dev", {"prompt": "x"})).status == "queued"


async def test_balance_is_charged_on_completion_and_runs_out(make_sim: SimFactory) -> None:
    sim = make_sim(balance_usd=0.01)  # Flux costs $0.007
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        first = await client.generate("bfl/flux-1-dev", {"prompt": "1"})
        # In flight when the balance runs out: still completes.
        second = await client.generate("bfl/flux-1-dev", {"prompt": "2"})
        for job in (first, second):
            await eventually(
                lambda job=job: client.get_job(job.job_id), lambda j: j.status == "completed"
            )
        with pytest.raises(PaymentError):
            await client.generate("bfl/flux-1-dev", {"prompt": "3"})
    assert sim.sim.state.balance_usd == pytest.approx(0.01 - 2 * 0.007)


async def test_retired_model_answers_410_with_the_documented_body(sim: RunningSim) -> None:
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}, trust_env=False
    ) as http:
        response = await http.post("/generate/image/bytedance/seedream-3", json={"prompt": "x"})
    assert response.status_code == 410
    assert response.json() == {
        "error": "model_unavailable",
        "reason": "deprecated",
        "message": (
            "Seedream 3 was retired on 2026-05-13. Use image/bytedance/seedream-5-lite instead."
        ),
        "sunset_date": "2026-05-13",
        "replacement": "image/bytedance/seedream-5-lite",
        "migration_url": "https://docs.krea.ai/developers/deprecations#seedream-3",
    }
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        with pytest.raises(ModelRetiredError) as caught:
            await client.generate("bytedance/seedream-3", {"prompt": "x"})
    assert caught.value.replacement == "image/bytedance/seedream-5-lite"
    assert caught.value.migration_url == "https://docs.krea.ai/developers/deprecations#seedream-3"


async def test_models_can_be_retired_and_deprecated_at_run_time(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    await admin.post(
        "/mode",
        json={"retired": ["bfl/flux-1-dev"], "deprecated": {"google/imagen-4": "2026-12-31"}},
    )
    retired = await http.post(FLUX, json={"prompt": "x"})
    assert retired.status_code == 410
    body = retired.json()
    assert body["error"] == "model_unavailable" and body["reason"] == "deprecated"
    assert "replacement" not in body and "migration_url" not in body  # none exists
    warned = await http.post("/generate/image/google/imagen-4", json={"prompt": "x"})
    assert warned.status_code == 200
    assert warned.headers["Deprecation"] == "true"
    assert warned.headers["Sunset"] == "Thu, 31 Dec 2026 00:00:00 GMT"
    assert 'rel="deprecation"' in warned.headers["Link"]


async def test_openapi_round_trips_into_the_same_catalogue(sim: RunningSim) -> None:
    async with httpx.AsyncClient(trust_env=False) as plain:  # no token needed
        response = await plain.get(f"{sim.base_url}/openapi.json")
    assert response.status_code == 200
    spec = response.json()
    assert spec["openapi"].startswith("3.1")
    assert {"/jobs", "/jobs/{id}"} <= set(spec["paths"])
    flux = spec["paths"]["/generate/image/bfl/flux-1-dev"]["post"]
    assert flux["summary"] == "Flux"
    assert "| ~3 | ~7 seconds |" in flux["description"]
    aliases = flux["x-krea-deprecated-field-aliases"]
    assert any(a["from"] == "imageUrl" and a["to"] == "image_url" for a in aliases)

    rebuilt = apply_overlays(build_catalog(spec))["models"]
    bundled = bundled_catalog()
    assert set(rebuilt) == {model.path for model in bundled.models()}
    for model in bundled.models():
        entry = rebuilt[model.path]
        assert entry["name"] == model.name
        assert entry["endpoint"] == model.endpoint
        assert entry["description"] == model.description
        assert entry["schema"] == model.schema
        assert entry["field_order"] == [f.name for f in model.fields]
        assert entry["aliases"] == dict(model.aliases)
        assert entry["cost"] == model.cost
        assert entry["avg_seconds"] == model.avg_seconds
        assert entry.get("price_usd") == model.price_usd
        assert entry["example"] == dict(model.example)
        assert entry["deprecated"] == model.deprecated


async def test_client_reads_the_spec(sim: RunningSim) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        spec = await client.get_openapi()
    assert spec["servers"] == [{"url": sim.base_url}]
