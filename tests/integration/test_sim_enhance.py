"""The simulator's enhance endpoints: the result is the source picture, resized and re-encoded."""

from __future__ import annotations

import io

import httpx
from PIL import Image, ImageChops, ImageStat

from krea_tui.core.api import KreaClient
from krea_tui.core.catalog import bundled_catalog, refresh_catalog
from krea_tui.core.errors import KreaError
from krea_tui.core.models import Job, JobStatus
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory, eventually

STANDARD = "enhance/topaz/standard-enhance"


async def finished(client: KreaClient, job_id: str) -> Job:
    return await eventually(
        lambda: client.get_job(job_id),
        lambda job: job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED),
    )


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(trust_env=False) as plain:  # result links need no token
        response = await plain.get(url)
    assert response.status_code == 200, response.text
    return response


async def a_picture(client: KreaClient, width: int = 512, height: int = 768) -> str:
    job = await client.generate(
        "bfl/flux-1-dev", {"prompt": "a red lighthouse", "width": width, "height": height}
    )
    done = await finished(client, job.job_id)
    assert done.status == JobStatus.COMPLETED
    return done.urls[0]


async def a_picture_of(sim: RunningSim, prompt: str) -> str:
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        job = await client.generate("bfl/flux-1-dev", {"prompt": prompt, "width": 512})
        return (await finished(client, job.job_id)).urls[0]


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel (0-255) of two pictures seen at 64×64."""
    small_a = a.convert("RGB").resize((64, 64))
    small_b = b.convert("RGB").resize((64, 64))
    return sum(ImageStat.Stat(ImageChops.difference(small_a, small_b)).mean) / 3


async def test_enhancing_a_sim_result_gives_that_picture_at_the_asked_size_and_format(
    sim: RunningSim,
) -> None:
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        source_url = await a_picture(client)
        body = {
            "image_url": source_url,
            "width": 1024,
            "height": 1536,
            "model": "Standard V2",
            "output_format": "webp",
        }
        job = await client.generate(STANDARD, body)
        done = await finished(client, job.job_id)
    assert done.status == JobStatus.COMPLETED
    assert done.urls[0].endswith(".webp")
    response = await fetch(done.urls[0])
    assert response.headers["content-type"] == "image/webp"
    enhanced = Image.open(io.BytesIO(response.content))
    assert enhanced.format == "WEBP"
    assert enhanced.size == (1024, 1536)
    source = Image.open(io.BytesIO((await fetch(source_url)).content))
    assert source.size == (512, 768)
    assert difference(enhanced, source) < 4
    # A different picture is far off by the same measure: the check above means something.
    other = Image.open(io.BytesIO((await fetch(await a_picture_of(sim, "a blue forest"))).content))
    assert difference(other.resize(source.size), source) > 10


async def test_the_default_format_is_jpg_and_a_source_on_another_server_is_fetched(
    sim: RunningSim, make_sim: SimFactory
) -> None:
    elsewhere = make_sim()
    async with KreaClient(TOKEN_A, base_url=elsewhere.base_url) as client:
        source_url = await a_picture(client, 640, 512)
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        job = await client.generate(
            "enhance/topaz/generative-enhance",
            {"image_url": source_url, "width": 1280, "height": 1024},
        )
        done = await finished(client, job.job_id)
    assert done.urls[0].endswith("/0.jpg")
    response = await fetch(done.urls[0])
    assert response.headers["content-type"] == "image/jpeg"
    enhanced = Image.open(io.BytesIO(response.content))
    assert (enhanced.format, enhanced.size) == ("JPEG", (1280, 1024))
    source = Image.open(io.BytesIO((await fetch(source_url)).content))
    assert difference(enhanced, source) < 6


async def test_enhance_requests_are_checked_against_the_spec(
    sim: RunningSim, http: httpx.AsyncClient
) -> None:
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        source_url = await a_picture(client)
    body = {"image_url": source_url, "width": 1024, "height": 1024}
    missing_model = await http.post(f"/generate/{STANDARD}", json=body)
    assert missing_model.status_code == 400
    assert "model" in missing_model.json()["error"]
    too_big = await http.post(
        "/generate/enhance/topaz/bloom-enhance", json={**body, "model": "Reimagine", "width": 12000}
    )
    assert too_big.status_code == 400
    assert "width" in too_big.json()["error"]
    unknown = await http.post("/generate/enhance/topaz/no-such-enhance", json=body)
    assert unknown.status_code == 404
    # The camelCase alias still works, as the spec promises until its sunset.
    aliased = await http.post(
        f"/generate/{STANDARD}",
        json={"imageUrl": source_url, "width": 600, "height": 900, "model": "CGI"},
    )
    assert aliased.status_code == 200, aliased.text


async def test_a_source_that_cannot_be_fetched_is_refused(sim: RunningSim) -> None:
    gone = f"{sim.base_url}/results/00000000-0000-4000-8000-000000000000/0.png"
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        try:
            await client.generate(
                STANDARD, {"image_url": gone, "width": 64, "height": 64, "model": "CGI"}
            )
        except KreaError as exc:
            assert exc.status == 400
            assert "image_url" in str(exc)
        else:
            raise AssertionError("an unreachable source was accepted")


async def test_the_served_spec_lists_the_enhancers_and_a_refresh_keeps_them(
    sim: RunningSim, tmp_path
) -> None:
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        spec = await client.get_openapi()
        fresh = await refresh_catalog(client.get_openapi, tmp_path)
    assert "/generate/enhance/topaz/standard-enhance" in spec["paths"]
    assert fresh is not None
    bundled = bundled_catalog()
    assert [m.path for m in fresh.enhancers()] == [m.path for m in bundled.enhancers()]
    for model in bundled.enhancers():
        again = fresh.get(model.path)
        assert again.schema == model.schema
        assert again.max_side == model.max_side
        assert again.price_usd == model.price_usd


async def test_a_restarted_durable_simulator_still_serves_the_enhanced_picture(
    make_sim: SimFactory, tmp_path
) -> None:
    state_file = str(tmp_path / "sim.sqlite3")
    first = make_sim(state_file=state_file)
    async with KreaClient(TOKEN_A, base_url=first.base_url) as client:
        source_url = await a_picture(client)
        body = {"image_url": source_url, "width": 1024, "height": 1536, "model": "CGI"}
        job = await client.generate(STANDARD, {**body, "output_format": "png"})
        done = await finished(client, job.job_id)
    before = (await fetch(done.urls[0])).content
    first.stop()
    first.sim.state.close()

    second = make_sim(state_file=state_file)
    second.sim.state.rebase(second.base_url)  # another port: as the demo service does
    async with KreaClient(TOKEN_A, base_url=second.base_url) as client:
        again = await client.get_job(job.job_id)
    assert again.urls[0].startswith(second.base_url) and again.urls[0].endswith("/0.png")
    after = (await fetch(again.urls[0])).content
    assert Image.open(io.BytesIO(after)).size == (1024, 1536)
    # The source's link still names the first run's port: it is found by its job all the same.
    assert after == before


async def test_a_source_off_this_machine_gets_a_stand_in_never_a_network_fetch(
    sim: RunningSim,
) -> None:
    body = {"image_url": "https://gen.krea.ai/images/a.png", "width": 300, "height": 200}
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as client:
        first = await finished(
            client, (await client.generate(STANDARD, {**body, "model": "CGI"})).job_id
        )
        again = await finished(
            client, (await client.generate(STANDARD, {**body, "model": "CGI"})).job_id
        )
    pictures = [(await fetch(job.urls[0])).content for job in (first, again)]
    assert Image.open(io.BytesIO(pictures[0])).size == (300, 200)
    # The same URL stands for the same picture, as a real source would.
    assert difference(Image.open(io.BytesIO(pictures[0])), Image.open(io.BytesIO(pictures[1]))) < 1
