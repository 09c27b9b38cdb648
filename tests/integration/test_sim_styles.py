"""The simulator's /styles (reference §3.6): listing filters and cursor pages, get, patch, share
link, share and unshare with the workspace, the access rules (a trained style is private to its
trainer until shared), `POST /styles/train` as a `loraTraining` job whose result carries
`style_id`, and style ids in generation requests checked against what the token may use."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, TOKEN_B, eventually
from tests.integration.test_sim_assets import png_bytes, upload

STYLE_KEYS = {"id", "title", "urls", "public", "prompt", "owner", "like_count", "created_at"}
FLUX = "/generate/image/bfl/flux-1-dev"


@pytest.fixture
async def http_b(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_B}"}, trust_env=False
    ) as client:
        yield client


async def listing(http: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    answer = await http.get("/styles", params=params)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == {"items", "next_cursor"}
    return list(body["items"])


async def ids(http: httpx.AsyncClient, **params: Any) -> list[str]:
    return [s["id"] for s in await listing(http, **params)]


async def train(http: httpx.AsyncClient, name: str = "my style", **extra: Any) -> dict[str, Any]:
    urls = []
    for colour in ("red", "green", "blue"):
        asset = (await upload(http, png_bytes(colour=colour), f"{colour}.png")).json()
        urls.append(asset["image_url"])
    body = {"name": name, "urls": urls, "max_train_steps": 10, **extra}
    answer = await http.post("/styles/train", json=body)
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


async def trained_style(http: httpx.AsyncClient, **extra: Any) -> str:
    job = await train(http, **extra)

    async def probe() -> dict[str, Any]:
        return dict((await http.get(f"/jobs/{job['job_id']}")).json())

    done = await eventually(probe, lambda j: j["status"] == "completed")
    return str(done["result"]["style_id"])


async def test_listing_filters(http: httpx.AsyncClient) -> None:
    everything = await listing(http)
    assert len(everything) >= 6
    for style in everything:
        assert set(style) >= STYLE_KEYS
        assert isinstance(style["models"], list) and style["models"]
    krea = await listing(http, filter="krea")
    assert krea and all(s["owner"] is None and s["public"] for s in krea)
    community = await listing(http, filter="community")
    assert community and all(s["owner"] is not None and s["public"] for s in community)
    assert not {s["id"] for s in krea} & {s["id"] for s in community}
    liked = await listing(http, liked="true")
    assert liked and len(liked) < len(everything)
    wan = await listing(http, model="wan")
    assert wan and all("wan" in s["models"] for s in wan)
    assert await listing(http, filter="user") == []  # nothing trained yet
    two = [everything[0]["id"], everything[3]["id"]]
    assert sorted(await ids(http, ids=",".join(two))) == sorted(two)
    bad = await http.get("/styles", params={"filter": "everything"})
    assert bad.status_code == 400 and "filter" in bad.json()["error"]
    assert (await http.get("/styles", params={"limit": 0})).status_code == 400
    assert (await http.get("/styles", headers={"Authorization": ""})).status_code == 401


async def test_cursor_pages_walk_the_whole_listing(http: httpx.AsyncClient) -> None:
    whole = await ids(http)
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/styles", params=params)).json()
        assert len(page["items"]) <= 2
        seen += [s["id"] for s in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == whole


async def test_training_job_makes_a_private_style(
    http: httpx.AsyncClient, http_b: httpx.AsyncClient
) -> None:
    job = await train(http, "inkwash", trigger_word="inkw", type="Style")
    assert job["completed_at"] is None and job["result"] in (None, {})
    got = (await http.get(f"/jobs/{job['job_id']}")).json()
    assert got["type"] == "loraTraining"
    style_id = await trained_style(http)  # a second one, waited for
    first = await eventually(
        lambda: _get_json(http, f"/jobs/{job['job_id']}"), lambda j: j["status"] == "completed"
    )
    assert first["result"]["style_id"] and first["result"]["style_id"] != style_id
    mine = await listing(http, filter="user")
    assert {s["id"] for s in mine} == {style_id, first["result"]["style_id"]}
    ink = next(s for s in mine if s["id"] == first["result"]["style_id"])
    assert ink["title"] == "inkwash" and ink["public"] is False
    assert ink["models"] == ["flux_dev"] and ink["owner"] is not None
    assert "inkw" in ink["prompt"]
    assert style_id in await ids(http)  # "all" shows what the token may use
    # Private to its trainer: the other token neither sees nor gets it.
    assert style_id not in await ids(http_b)
    assert (await http_b.get(f"/styles/{style_id}")).status_code == 404
    assert (await http.get(f"/styles/{style_id}")).json()["id"] == style_id
    # GET /jobs?types= filters by job type.
    lora = (await http.get("/jobs", params={"types": "loraTraining"})).json()["items"]
    assert len(lora) == 2 and all(j["type"] == "loraTraining" for j in lora)


async def _get_json(http: httpx.AsyncClient, path: str) -> dict[str, Any]:
    return dict((await http.get(path)).json())


async def test_training_takes_longer_with_more_steps(http: httpx.AsyncClient) -> None:
    long = await train(http, "long", max_train_steps=2000)
    short = await train(http, "short", max_train_steps=1)
    await eventually(
        lambda: _get_json(http, f"/jobs/{short['job_id']}"), lambda j: j["status"] == "completed"
    )
    assert (await _get_json(http, f"/jobs/{long['job_id']}"))["completed_at"] is None


async def test_train_validation(http: httpx.AsyncClient) -> None:
    async def status(body: dict[str, Any]) -> tuple[int, str]:
        answer = await http.post("/styles/train", json=body)
        return answer.status_code, answer.json().get("error", "")

    url = "https://example.com/a.png"
    assert (await status({"urls": [url]}))[0] == 400
    code, words = await status({"name": "x", "urls": [url], "model": "sdxl"})
    assert code == 400 and "model" in words
    code, words = await status({"name": "x", "urls": [url], "max_train_steps": 0})
    assert code == 400 and "max_train_steps" in words
    code, words = await status({"name": "x", "urls": [url], "model": "qwen", "type": "Default"})
    assert code == 400 and "type" in words
    code, words = await status({"name": "x", "urls": []})
    assert code == 400 and "urls" in words
    asset = (await upload(http, png_bytes())).json()
    await http.delete(f"/assets/{asset['id']}")
    code, words = await status({"name": "x", "urls": [asset["image_url"]]})
    assert code == 400 and "urls" in words
    assert (await status({"name": "x", "urls": [url], "model": "qwen"}))[0] == 200


async def test_patch_and_share_link(http: httpx.AsyncClient, http_b: httpx.AsyncClient) -> None:
    style_id = await trained_style(http)
    patched = await http.patch(f"/styles/{style_id}", json={"title": "renamed"})
    assert patched.status_code == 200 and patched.json()["title"] == "renamed"
    nothing = await http.patch(f"/styles/{style_id}", json={"colour": "red"})
    assert nothing.status_code == 400 and nothing.json()["error"] == "No valid fields to update"
    assert (await http_b.patch(f"/styles/{style_id}", json={"title": "x"})).status_code == 404
    krea_style = (await listing(http, filter="krea"))[0]["id"]
    assert (await http.patch(f"/styles/{krea_style}", json={"title": "x"})).status_code == 404
    made = await http.get(f"/styles/{style_id}/share/link")
    assert made.status_code == 201 and made.json()["is_new"] is True
    again = await http.get(f"/styles/{style_id}/share/link")
    assert again.status_code == 200 and again.json() == {**made.json(), "is_new": False}
    assert (await http_b.get(f"/styles/{style_id}/share/link")).status_code == 404
    # Made public, it is a community style for everyone.
    await http.patch(f"/styles/{style_id}", json={"public": True})
    assert style_id in await ids(http_b, filter="community")


async def test_share_with_workspace_and_the_generation_check(
    http: httpx.AsyncClient, http_b: httpx.AsyncClient
) -> None:
    style_id = await trained_style(http)
    body = {"prompt": "a lighthouse", "styles": [{"id": style_id, "strength": 0.8}]}
    assert (await http.post(FLUX, json=body)).status_code == 200
    refused = await http_b.post(FLUX, json=body)
    assert refused.status_code == 400 and style_id in refused.json()["error"]
    assert (await http_b.post(f"/styles/{style_id}/share/workspace")).status_code == 404

    shared = await http.post(f"/styles/{style_id}/share/workspace")
    assert shared.status_code == 200, shared.text
    answer = shared.json()
    assert answer["success"] is True and answer["style_id"] == style_id
    assert set(answer["workspace"]) == {"id", "name", "is_default"}
    assert style_id in await ids(http_b, filter="shared")
    assert style_id not in await ids(http_b, filter="user")
    assert (await http_b.get(f"/styles/{style_id}")).status_code == 200
    assert (await http_b.post(FLUX, json=body)).status_code == 200
    assert (await http_b.post(f"/styles/{style_id}/share/workspace")).status_code == 403
    assert (await http_b.delete(f"/styles/{style_id}/share/workspace")).status_code == 403

    unshared = await http.delete(f"/styles/{style_id}/share/workspace")
    assert unshared.status_code == 200 and unshared.json() == {"success": True}
    assert (await http.delete(f"/styles/{style_id}/share/workspace")).status_code == 404
    assert (await http_b.post(FLUX, json=body)).status_code == 400


async def test_generation_names_unknown_styles(http: httpx.AsyncClient) -> None:
    krea_style = (await listing(http, filter="krea"))[0]["id"]
    ok = {"prompt": "a fox", "styles": [{"id": krea_style, "strength": 1}]}
    assert (await http.post(FLUX, json=ok)).status_code == 200
    bad = {"prompt": "a fox", "styles": [{"id": krea_style, "strength": 1}, {"id": "nope"}]}
    bad["styles"][1]["strength"] = 0.5
    refused = await http.post(FLUX, json=bad)
    assert refused.status_code == 400
    assert set(refused.json()) == {"error"} and "nope" in refused.json()["error"]


async def test_a_style_cover_is_served(http: httpx.AsyncClient) -> None:
    style = (await listing(http, filter="krea"))[0]
    async with httpx.AsyncClient(trust_env=False) as anonymous:
        cover = await anonymous.get(style["cover_url"])
    assert cover.status_code == 200 and cover.content.startswith(b"\x89PNG")


def test_trained_styles_come_back_with_a_durable_simulators_jobs(tmp_path: Path) -> None:
    from krea_tui.sim.config import SimConfig
    from krea_tui.sim.jobs import LORA_TRAINING
    from krea_tui.sim.state import SimState
    from krea_tui.sim.styles import StyleStore, training_body, training_request

    now = [1_800_000_000.0]
    config = SimConfig(state_file=str(tmp_path / "sim.sqlite3"))
    state = SimState(config, lambda: now[0])
    body = training_body({"name": "kept", "urls": ["https://example.com/a.png"]})
    job = state.create(TOKEN_A, training_request(body, None, "http://127.0.0.1:1"))
    now[0] += 10_000
    assert state.get(TOKEN_A, job["job_id"])["result"]["style_id"]  # type: ignore[index]
    state.close()

    again = SimState(config, lambda: now[0])
    styles = StyleStore(lambda: again.jobs_of_type(LORA_TRAINING))
    mine = styles.listing(TOKEN_A, kind="user", liked=False, ids=None, user=None, model=None)
    assert [s.title for s in mine] == ["kept"]
    assert styles.listing(TOKEN_B, kind="user", liked=False, ids=None, user=None, model=None) == []
    again.close()
