"""Hostile answers to the client: whatever a server, proxy or CDN sends, the client returns a
job it could read or raises a KreaError that says what was wrong; never another exception, a
hang, unbounded memory, or the token in what it keeps.

Pure parsing runs over httpx.MockTransport; the engine-level case talks to the simulator over
loopback. Long version: `KREA_TUI_SOAK=full .venv/bin/python -m pytest tests/reliability`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from krea_tui.core import api as api_module
from krea_tui.core.api import KreaClient
from krea_tui.core.errors import KreaError, RequestTimeout, UnexpectedResponseError
from krea_tui.core.events import DownloadEvent
from krea_tui.core.models import Job, JobStatus
from tests.conftest import SimFactory
from tests.integration.engine_support import FLUX, requests_for, running_engine
from tests.reliability.support import scaled

BASE = "https://api.example.test"
TOKEN = "00000000-0000-4000-8000-0000000000ff:hostile-s3cret"
SECRET = TOKEN.split(":")[1]
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
FUZZ = settings(
    deadline=None,
    max_examples=scaled(150, 3000),
    derandomize=True,  # CI replays the same examples every run
    suppress_health_check=[HealthCheck.too_slow],
)

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler, **options: Any) -> KreaClient:
    return KreaClient(TOKEN, base_url=BASE, transport=httpx.MockTransport(handler), **options)


# -- what a server might say ---------------------------------------------------------------------

scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12)
json_values = st.recursive(
    scalars,
    lambda kids: (
        st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids, max_size=4)
    ),
    max_leaves=12,
)
statuses = st.sampled_from([*(str(s) for s in JobStatus), "exploded", "", "COMPLETED", " queued"])
times = st.sampled_from(["2026-02-13T02:20:58.265Z", "2026-02-13", "yesterday", "", "9999-99-99"])
jobs = st.fixed_dictionaries(
    {},
    optional={
        "job_id": st.uuids().map(str) | json_values,
        "status": statuses | json_values,
        "created_at": times | json_values,
        "completed_at": times | json_values,
        "result": json_values
        | st.fixed_dictionaries(
            {},
            optional={"urls": json_values | st.lists(st.text(max_size=30)), "error": json_values},
        ),
        "error": json_values,
        "type": json_values,
        # A server or proxy echoing the token back inside what it says about a job.
        "note": st.just(f"called with Bearer {TOKEN}"),
    },
)
pages = st.fixed_dictionaries(
    {"items": st.lists(jobs, max_size=3) | json_values},
    optional={"next_cursor": json_values, "nextCursor": json_values},
)
bodies = st.one_of(
    jobs.map(json.dumps),
    pages.map(json.dumps),
    json_values.map(json.dumps),
    st.text(max_size=60),
    st.just(f'{{"error": "token {TOKEN} refused"}}'),
).map(str.encode) | st.binary(max_size=80)
codes = st.sampled_from(
    [200, 201, 204, 299, 301, 302, 307, 400, 401, 402, 404, 409, 410, 418, 422, 429, 500, 503]
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "content-type": st.sampled_from(
            ["application/json", "text/html", "application/json; charset=rot13", "x/y; charset="]
        ),
        "retry-after": st.sampled_from(["1", "-5", "soon", "Wed, 21 Oct 2015 07:28:00 GMT", ""]),
        "location": st.sampled_from(["https://evil.example.test/", f"{BASE}/?t={TOKEN}", ""]),
    },
)
calls = st.sampled_from(["generate", "get_job", "list_jobs", "cancel_job", "get_openapi"])


async def call(client: KreaClient, name: str) -> Any:
    if name == "generate":
        return await client.generate(FLUX, {"prompt": "x"})
    if name == "get_job":
        return await client.get_job("j-1")
    if name == "list_jobs":
        return await client.list_jobs()
    if name == "cancel_job":
        return await client.cancel_job("j-1")
    return await client.get_openapi()


def check_job(job: object) -> None:
    assert isinstance(job, Job)
    assert isinstance(job.job_id, str) and job.job_id
    assert isinstance(job.status, JobStatus | str)
    assert all(isinstance(url, str) and url for url in job.urls)
    kept = json.dumps(job.raw, default=str)
    assert SECRET not in kept, "the token would be stored in the history"


@FUZZ
@given(name=calls, code=codes, body=bodies, extra=headers)
def test_any_answer_is_a_job_or_a_krea_error(
    name: str, code: int, body: bytes, extra: dict[str, str]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(code, content=body, headers=extra)

    async def run() -> None:
        async with client_for(handler) as client:
            try:
                result = await call(client, name)
            except KreaError as exc:
                assert SECRET not in f"{exc} {exc!r}"
                assert exc.message.strip()  # says something
                return
        assert 200 <= code < 300, f"a {code} answer was taken as a success"
        if name in ("generate", "get_job"):
            check_job(result)
        elif name == "list_jobs":
            page, cursor = result
            for job in page:
                check_job(job)
            assert cursor is None or isinstance(cursor, str)
        elif name == "get_openapi":
            assert isinstance(result, dict)

    asyncio.run(run())


@FUZZ
@given(json_values | jobs)
def test_job_parsing_takes_anything_or_says_there_is_no_job(data: object) -> None:
    try:
        job = Job.from_api(data)
    except ValueError as exc:
        assert str(exc)
        return
    assert isinstance(job.job_id, str) and job.job_id
    assert not job.is_terminal or job.status in (
        JobStatus.COMPLETED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    )


# -- bodies no parser should have to swallow -----------------------------------------------------


async def test_absurdly_deep_json_is_a_clear_error() -> None:
    deep = b"[" * 200_000 + b"]" * 200_000
    async with client_for(lambda request: httpx.Response(200, content=deep)) as client:
        with pytest.raises(UnexpectedResponseError, match="not JSON"):
            await client.get_job("j-1")


async def test_an_endless_answer_is_cut_off_not_read_into_memory() -> None:
    async def endless() -> AsyncIterator[bytes]:
        yield b'{"items": ["'
        while True:
            yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())

    async with client_for(handler) as client:
        with pytest.raises(UnexpectedResponseError, match="larger than"):
            await client.list_jobs()


async def test_a_declared_huge_answer_is_refused_before_reading() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        size = str(api_module.MAX_ANSWER_BYTES + 1)
        return httpx.Response(200, content=b"{}", headers={"content-length": size})

    async with client_for(handler) as client:
        with pytest.raises(UnexpectedResponseError, match="larger than"):
            await client.get_job("j-1")


async def test_a_slow_drip_answer_times_out_and_a_post_counts_as_maybe_sent() -> None:
    async def drip() -> AsyncIterator[bytes]:
        for byte in b'{"job_id": "j-1", "status": "queued"}':
            await asyncio.sleep(0.05)  # the hostile server's pace: each byte inside any timeout
            yield bytes([byte])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=drip())

    async with client_for(handler, deadline=0.3) as client:
        with pytest.raises(RequestTimeout, match="no complete answer") as info:
            await client.generate(FLUX, {"prompt": "x"})
    assert info.value.request_sent  # the engine must not send it again


# -- redirects -----------------------------------------------------------------------------------


async def test_an_api_redirect_is_not_followed_and_the_token_stays_home() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.test":
            return httpx.Response(
                307, headers={"location": "https://evil.example.test/jobs"}, json={"job_id": "x"}
            )
        return httpx.Response(200, json={"job_id": "stolen", "status": "queued"})

    async with client_for(handler) as client:
        for name in ("generate", "get_job", "list_jobs"):
            with pytest.raises(UnexpectedResponseError, match="redirect") as info:
                await call(client, name)
            assert "evil.example.test" in info.value.message
    assert {request.url.host for request in seen} == {"api.example.test"}


async def test_a_result_redirected_to_another_host_arrives_without_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.example.test":
            return httpx.Response(302, headers={"location": "https://cdn.other.test/a.png"})
        return httpx.Response(200, content=PNG)

    async with client_for(handler) as client:
        assert await client.fetch(f"{BASE}/results/a.png") == PNG
    assert [r.url.host for r in seen] == ["api.example.test", "cdn.other.test"]
    assert "authorization" not in seen[1].headers


@pytest.mark.parametrize(
    "body",
    [b"<!doctype html><p>Sign in to the hotel wifi</p>", b"", b'{"error": "expired"}', b"\x89PN"],
)
async def test_a_result_url_answering_something_else_than_a_picture_is_an_error(
    body: bytes,
) -> None:
    async with client_for(lambda request: httpx.Response(200, content=body)) as client:
        with pytest.raises(UnexpectedResponseError, match="did not answer with an image"):
            await client.fetch("https://cdn.example.test/a.png")


async def test_a_job_whose_result_is_no_picture_keeps_its_url_and_saves_later(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    images = sim.sim.images
    images.get_or_render = lambda *args: b"<html>502 Bad Gateway</html>"  # type: ignore[method-assign]
    async with running_engine(sim, tmp_path) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.log.wait_for(lambda: bool(h.log.downloads()), 10, "the download attempt")
        (event,) = h.log.downloads()
        assert isinstance(event, DownloadEvent) and event.path is None
        assert "did not answer with an image" in (event.error or "")
        stored = h.job(job.local_id)
        assert stored.status == "completed" and stored.urls and not stored.files
        assert not any(p.is_file() for p in h.output_dir.rglob("*")), "a non-picture was saved"

        del images.get_or_render  # the CDN is fixed; asking again saves the real picture
        h.engine.downloads.request(job.local_id)
        await h.wait_settled([job.local_id])
        assert Path(h.job(job.local_id).files[0]).read_bytes().startswith(b"\x89PNG")
