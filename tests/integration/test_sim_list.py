"""GET /jobs: newest first, cursor paging, limit bounds, status and type filters."""

from __future__ import annotations

import httpx
import pytest

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import ValidationError
from krea_tui.core.models import Job
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, TOKEN_B, SimFactory, eventually

HOLD = {"durations": [30.0, 0, 0, 0, 0]}


async def all_pages(client: KreaClient, limit: int, **filters: object) -> list[list[Job]]:
    pages: list[list[Job]] = []
    cursor: str | None = None
    while True:
        jobs, cursor = await client.list_jobs(limit=limit, cursor=cursor, **filters)  # type: ignore[arg-type]
        pages.append(jobs)
        if cursor is None:
            return pages
        assert cursor == jobs[-1].raw["created_at"], "next_cursor is the last item's created_at"
        assert len(pages) < 1000, "paging does not end"


async def test_pages_cover_every_job_once_newest_first(make_sim: SimFactory) -> None:
    sim = make_sim(concurrency=50, backlog=0)
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        # Created back to back: several share a millisecond, paging must still be exact.
        created = [await client.generate("bfl/flux-1-dev", {"prompt": str(i)}) for i in range(25)]
        expected = [job.job_id for job in reversed(created)]
        for limit in (1, 4, 25, 1000):
            pages = await all_pages(client, limit)
            ids = [job.job_id for page in pages for job in page]
            assert ids == expected, f"limit={limit}"
            assert all(len(page) <= limit for page in pages)
        created_at = [
            job.raw["created_at"] for page in await all_pages(client, 100) for job in page
        ]
        assert created_at == sorted(created_at, reverse=True)
        assert len(set(created_at)) == len(created_at)


async def test_default_limit_is_100(make_sim: SimFactory) -> None:
    sim = make_sim(concurrency=200, backlog=0)
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        for i in range(105):
            await client.generate("google/imagen-4-fast", {"prompt": str(i)})
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}, trust_env=False
    ) as http:
        first = (await http.get("/jobs")).json()
        assert len(first["items"]) == 100
        assert first["next_cursor"] == first["items"][-1]["created_at"]
        rest = (await http.get("/jobs", params={"cursor": first["next_cursor"]})).json()
        assert len(rest["items"]) == 5
        assert rest["next_cursor"] is None


async def test_status_and_type_filters(sim: RunningSim, http: httpx.AsyncClient) -> None:
    await http.post(
        f"{sim.base_url}/_sim/outcomes",
        json={"outcomes": [{"status": "failed", "code": "timeout"}, HOLD, {}, HOLD]},
    )
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        failed = await client.generate("bfl/flux-1-dev", {"prompt": "fails"})
        held = await client.generate("bfl/flux-1-dev", {"prompt": "held"})
        done = await client.generate("google/imagen-4-fast", {"prompt": "done"})
        held_external = await client.generate("google/imagen-4-fast", {"prompt": "held"})
        for job in (failed, done):
            await eventually(
                lambda job=job: client.get_job(job.job_id),
                lambda j: j.status in ("failed", "completed"),
            )

        async def ids(**filters: object) -> list[str]:
            jobs, _ = await client.list_jobs(**filters)  # type: ignore[arg-type]
            return [job.job_id for job in jobs]

        assert await ids(status="failed") == [failed.job_id]
        assert await ids(status="completed") == [done.job_id]
        assert await ids(status="queued") == [held_external.job_id, held.job_id]
        assert await ids(types=["flux"]) == [held.job_id, failed.job_id]
        assert await ids(types=["externalImage"]) == [held_external.job_id, done.job_id]
        assert len(await ids(types=["flux", "externalImage"])) == 4
        assert await ids(types=["loraTraining"]) == []
        assert await ids(status="queued", types=["flux"]) == [held.job_id]


async def test_each_token_lists_only_its_own_jobs(sim: RunningSim) -> None:
    async with (
        KreaClient(token=TOKEN_A, base_url=sim.base_url) as a,
        KreaClient(token=TOKEN_B, base_url=sim.base_url) as b,
    ):
        mine = await a.generate("bfl/flux-1-dev", {"prompt": "a"})
        assert [job.job_id for job in (await a.list_jobs())[0]] == [mine.job_id]
        assert (await b.list_jobs()) == ([], None)


@pytest.mark.parametrize(
    "params",
    [
        {"limit": "0"},
        {"limit": "1001"},
        {"limit": "ten"},
        {"status": "done"},
        {"cursor": "yesterday"},
    ],
)
async def test_bad_query_parameters_are_400(
    http: httpx.AsyncClient, params: dict[str, str]
) -> None:
    response = await http.get("/jobs", params=params)
    assert response.status_code == 400
    assert isinstance(response.json()["error"], str)


async def test_bad_status_filter_raises_validation_error_in_the_client(sim: RunningSim) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        with pytest.raises(ValidationError):
            await client.list_jobs(status="done")


async def test_older_cursor_key_can_be_served(sim: RunningSim, http: httpx.AsyncClient) -> None:
    await http.post(f"{sim.base_url}/_sim/config", json={"cursor_key": "nextCursor"})
    for i in range(3):
        await http.post("/generate/image/bfl/flux-1-dev", json={"prompt": str(i)})
    body = (await http.get("/jobs", params={"limit": 2})).json()
    assert "next_cursor" not in body
    assert body["nextCursor"] == body["items"][-1]["created_at"]
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        pages = await all_pages(client, 2)
    assert sum(len(page) for page in pages) == 3
