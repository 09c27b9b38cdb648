"""The job lifecycle against the running simulator, through our KreaClient over loopback."""

from __future__ import annotations

import io
import re
from pathlib import Path

import httpx
from PIL import Image

from krea_tui.core.api import KreaClient
from krea_tui.core.models import LIFECYCLE_ORDER, Job, JobStatus
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory, eventually

SEED_PROMPT = "Swiss chalets, balconies embroidered with Edelweiss."
ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
# The documented path after the first status (a new job starts queued here).
LIFECYCLE = [str(status) for status in LIFECYCLE_ORDER[1:]]


def client_for(sim: RunningSim, token: str = TOKEN_A) -> KreaClient:
    return KreaClient(token=token, base_url=sim.base_url)


async def wait_terminal(client: KreaClient, job_id: str, timeout: float = 5.0) -> Job:
    return await eventually(
        lambda: client.get_job(job_id),
        lambda job: job.status in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED),
        timeout=timeout,
    )


async def png(url: str) -> bytes:
    async with httpx.AsyncClient(trust_env=False) as plain:  # result links need no token
        response = await plain.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "image/png"
    return response.content


async def test_seed_example_walks_every_status_to_a_1024_png(
    sim: RunningSim, admin: httpx.AsyncClient, tmp_path: Path
) -> None:
    # 120 ms per phase, polled every 10 ms: every status must be seen at least once.
    await admin.post("/outcomes", json={"outcomes": [{"durations": [0.12] * 5}]})
    async with client_for(sim) as client:
        job = await client.generate("bfl/flux-1-dev", {"prompt": SEED_PROMPT})
        assert job.status == JobStatus.QUEUED
        assert job.completed_at is None
        seen: list[str] = [str(job.status)]
        previews: list[str] = []

        def record(polled: Job) -> bool:
            if str(polled.status) != seen[-1]:
                seen.append(str(polled.status))
            if polled.status == JobStatus.INTERMEDIATE_COMPLETE:
                previews.extend(polled.urls)
            return polled.status == JobStatus.COMPLETED

        done = await eventually(lambda: client.get_job(job.job_id), record, interval=0.01)
        assert seen == LIFECYCLE
        assert previews and previews[0].endswith("/preview.png")
        assert done.completed_at is not None and done.created_at is not None
        assert done.completed_at >= done.created_at
        assert len(done.urls) == 1

        path = await client.download(done.urls[0], tmp_path / "result.png")
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size == (1024, 1024)


async def test_job_json_has_the_documented_shape(sim: RunningSim, http: httpx.AsyncClient) -> None:
    created = (await http.post("/generate/image/bfl/flux-1-dev", json={"prompt": "a"})).json()
    assert set(created) == {"job_id", "status", "type", "created_at", "completed_at", "result"}
    assert created["type"] == "flux"
    assert ISO_MS.match(created["created_at"])
    assert created["completed_at"] is None
    other = (await http.post("/generate/image/google/imagen-4-fast", json={"prompt": "a"})).json()
    assert other["type"] == "externalImage"

    async def fetch() -> dict:
        return (await http.get(f"/jobs/{created['job_id']}")).json()

    done = await eventually(fetch, lambda job: job["status"] == "completed")
    assert ISO_MS.match(done["completed_at"])
    assert done["result"]["urls"][0].startswith(sim.base_url + "/results/")


async def test_same_request_same_bytes_and_different_prompt_different_bytes(
    sim: RunningSim,
) -> None:
    async with client_for(sim) as client:
        jobs = [
            await client.generate("bfl/flux-1-dev", {"prompt": SEED_PROMPT}),
            await client.generate("bfl/flux-1-dev", {"prompt": SEED_PROMPT}),
            await client.generate("bfl/flux-1-dev", {"prompt": "A red fox in deep snow"}),
            await client.generate("bfl/flux-1-dev", {"prompt": SEED_PROMPT, "seed": 7}),
        ]
        done = [await wait_terminal(client, job.job_id) for job in jobs]
    images = [await png(job.urls[0]) for job in done]
    assert images[0] == images[1]
    assert images[0] != images[2]
    assert images[0] != images[3]
    # Visibly different, not just a byte apart: compare mean colours.
    means = [
        Image.open(io.BytesIO(data)).convert("RGB").resize((1, 1)).getpixel((0, 0))
        for data in images
    ]
    assert sum(abs(a - b) for a, b in zip(means[0], means[2], strict=True)) > 10


async def test_output_size_follows_width_height_and_aspect_ratio(sim: RunningSim) -> None:
    requests = [
        ("bfl/flux-1-dev", {"prompt": "wide", "width": 768, "height": 512}, (768, 512)),
        (
            "google/nano-banana-2",
            {"prompt": "cinema", "aspect_ratio": "16:9", "resolution": "2K"},
            (2048, 1152),
        ),
        (
            "krea/krea-2/medium",
            {"prompt": "portrait", "aspect_ratio": "9:16", "resolution": "1K"},
            (576, 1024),
        ),
        ("google/imagen-4-fast", {"prompt": "default size"}, (1024, 1024)),
    ]
    async with client_for(sim) as client:
        created = [(await client.generate(m, p), size) for m, p, size in requests]
        for job, size in created:
            done = await wait_terminal(client, job.job_id)
            assert done.status == JobStatus.COMPLETED
            with Image.open(io.BytesIO(await png(done.urls[0]))) as image:
                assert image.size == size


async def test_preview_exists_from_intermediate_complete_and_is_small(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    await admin.post("/outcomes", json={"outcomes": [{"durations": [0, 0, 0, 0.3, 0.3]}]})
    job = (await http.post("/generate/image/bfl/flux-1-dev", json={"prompt": "p"})).json()
    preview_url = f"{sim.base_url}/results/{job['job_id']}/preview.png"
    final_url = f"{sim.base_url}/results/{job['job_id']}/0.png"
    assert (await http.get(preview_url)).status_code == 404  # still sampling

    async def fetch() -> dict:
        return (await http.get(f"/jobs/{job['job_id']}")).json()

    middle = await eventually(fetch, lambda j: j["status"] == "intermediate-complete")
    assert middle["result"]["urls"] == [preview_url]
    assert middle["completed_at"] is None
    assert (await http.get(final_url)).status_code == 404  # not done yet
    with Image.open(io.BytesIO(await png(preview_url))) as image:
        assert max(image.size) <= 128


async def test_failures_carry_result_error_and_error_object(
    sim: RunningSim, admin: httpx.AsyncClient
) -> None:
    codes = ["content_moderation", "provider_error", "timeout"]
    response = await admin.post(
        "/outcomes", json={"outcomes": [{"status": "failed", "code": c} for c in codes]}
    )
    assert response.status_code == 200
    async with client_for(sim) as client:
        jobs = [await client.generate("bfl/flux-1-dev", {"prompt": c}) for c in codes]
        for job, code in zip(jobs, codes, strict=True):
            done = await wait_terminal(client, job.job_id)
            assert done.status == JobStatus.FAILED
            assert done.error_code == code
            assert done.error_message
            assert done.completed_at is not None
            assert done.raw["result"]["error"] == done.error_message
            assert done.raw["error"] == {"code": code, "message": done.error_message}
            assert done.urls == ()


async def test_system_cancellation_is_terminal_with_a_reason(
    sim: RunningSim, admin: httpx.AsyncClient
) -> None:
    await admin.post("/outcomes", json={"outcomes": [{"status": "cancelled", "phase": 2}]})
    async with client_for(sim) as client:
        job = await client.generate("bfl/flux-1-dev", {"prompt": "x"})
        done = await wait_terminal(client, job.job_id)
    assert done.status == JobStatus.CANCELLED
    assert done.completed_at is not None
    assert "system" in (done.error_message or "")
    timeline = (await admin.get(f"/jobs/{job.job_id}/timeline")).json()["timeline"]
    assert [e["status"] for e in timeline] == ["queued", "scheduled", "processing", "cancelled"]


async def test_fail_rate_makes_every_job_fail(make_sim: SimFactory) -> None:
    sim = make_sim(fail_rate=1.0)
    async with client_for(sim) as client:
        jobs = [await client.generate("bfl/flux-1-dev", {"prompt": str(i)}) for i in range(4)]
        done = [await wait_terminal(client, job.job_id) for job in jobs]
    assert {job.status for job in done} == {JobStatus.FAILED}
    assert {job.error_code for job in done} <= {"content_moderation", "provider_error", "timeout"}


async def test_timeline_records_every_transition_in_order(
    sim: RunningSim, admin: httpx.AsyncClient
) -> None:
    async with client_for(sim) as client:
        job = await client.generate("bfl/flux-1-dev", {"prompt": "t"})
        done = await wait_terminal(client, job.job_id)
    found = (await admin.get(f"/jobs/{job.job_id}/timeline")).json()
    events = found["timeline"]
    assert [e["status"] for e in events] == LIFECYCLE
    offsets = [e["offset"] for e in events]
    assert offsets == sorted(offsets)
    # Flux's ~7 s at speed 50, give or take the jitter.
    assert 0.1 < offsets[-1] < 0.2
    assert events[-1]["at"] == done.raw["completed_at"]
    assert sim.timeline(job.job_id) is not None
