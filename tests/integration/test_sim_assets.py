"""The simulator's /assets: multipart upload with the documented type and size limits, listing
with `next_cursor`, delete, the file served at its URL, and generation from an uploaded asset."""

from __future__ import annotations

import base64
import io

import httpx
from PIL import Image

from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_B


def png_bytes(width: int = 8, height: int = 6, colour: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


async def upload(
    http: httpx.AsyncClient, data: bytes, name: str = "photo.png", mime: str = "image/png"
) -> httpx.Response:
    return await http.post("/assets", files={"file": (name, data, mime)})


async def test_upload_answers_an_asset_and_serves_the_file(http: httpx.AsyncClient) -> None:
    data = png_bytes(8, 6)
    answer = await http.post(
        "/assets", files={"file": ("photo.png", data, "image/png")}, data={"description": "me"}
    )
    assert answer.status_code == 200, answer.text
    asset = answer.json()
    assert set(asset) >= {"id", "image_url", "uploaded_at", "width", "height", "size_bytes"}
    assert asset["width"] == 8 and asset["height"] == 6
    assert asset["size_bytes"] == len(data)
    assert asset["mime_type"] == "image/png"
    assert asset["description"] == "me"
    # Public like Krea's upload CDN: no token needed.
    async with httpx.AsyncClient(trust_env=False) as anonymous:
        served = await anonymous.get(asset["image_url"])
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == "image/png"
    got = await http.get(f"/assets/{asset['id']}")
    assert got.status_code == 200 and got.json()["id"] == asset["id"]


async def test_wrong_type_and_missing_file_are_400(http: httpx.AsyncClient) -> None:
    text = await upload(http, b"<html>hello</html>", "page.html", "text/html")
    assert text.status_code == 400
    assert "type" in text.json()["error"]
    nothing = await http.post("/assets", data={"description": "no file"})
    assert nothing.status_code == 400
    assert "file" in nothing.json()["error"]
    not_multipart = await http.post("/assets", json={"file": "x"})
    assert not_multipart.status_code == 400


async def test_too_large_is_400(sim: RunningSim, http: httpx.AsyncClient) -> None:
    sim.sim.assets.max_bytes = 1000
    answer = await upload(http, png_bytes() + b"\0" * 2000)
    assert answer.status_code == 400
    assert "75 MB" in answer.json()["error"] or "large" in answer.json()["error"]


async def test_token_needed(sim: RunningSim) -> None:
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as anonymous:
        answer = await anonymous.post("/assets", files={"file": ("a.png", png_bytes())})
    assert answer.status_code == 401


async def test_listing_pages_with_next_cursor_and_is_per_token(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    ids = []
    for n in range(5):
        answer = await upload(http, png_bytes(4 + n, 4), f"p{n}.png")
        ids.append(answer.json()["id"])
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await http.get("/assets", params=params)).json()
        assert set(page) == {"items", "next_cursor"}
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == list(reversed(ids))  # newest first
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_B}"}, trust_env=False
    ) as other:
        assert (await other.get("/assets")).json()["items"] == []
        assert (await other.get(f"/assets/{ids[0]}")).status_code == 404
        assert (await other.delete(f"/assets/{ids[0]}")).status_code == 404
    bad = await http.get("/assets", params={"limit": 0})
    assert bad.status_code == 400


async def test_delete_removes_the_asset_and_its_file(http: httpx.AsyncClient) -> None:
    asset = (await upload(http, png_bytes())).json()
    answer = await http.delete(f"/assets/{asset['id']}")
    assert answer.status_code == 200
    assert answer.json()["success"] is True
    assert (await http.get(f"/assets/{asset['id']}")).status_code == 404
    assert (await http.get(asset["image_url"])).status_code == 404
    assert (await http.delete(f"/assets/{asset['id']}")).status_code == 404


async def test_generation_from_an_uploaded_asset(sim: RunningSim, http: httpx.AsyncClient) -> None:
    asset = (await upload(http, png_bytes())).json()
    answer = await http.post(
        "/generate/image/bfl/flux-1-kontext-dev",
        json={"prompt": "the same, at night", "image_url": asset["image_url"]},
    )
    assert answer.status_code == 200, answer.text
    gone = (await upload(http, png_bytes(5, 5))).json()
    await http.delete(f"/assets/{gone['id']}")
    refused = await http.post(
        "/generate/image/bfl/flux-1-kontext-dev",
        json={"prompt": "the same, at night", "image_url": gone["image_url"]},
    )
    assert refused.status_code == 400
    assert "image_url" in refused.json()["error"]


async def test_zero_data_retention_takes_data_uris_only(http: httpx.AsyncClient) -> None:
    zdr = {"X-Api-Zero-Data-Retention": "1"}
    body = {"prompt": "night", "image_url": "https://example.com/a.png"}
    refused = await http.post("/generate/image/bfl/flux-1-kontext-dev", json=body, headers=zdr)
    assert refused.status_code == 422
    assert "data URIs" in refused.json()["error"]
    body["image_url"] = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    taken = await http.post("/generate/image/bfl/flux-1-kontext-dev", json=body, headers=zdr)
    assert taken.status_code == 200, taken.text
