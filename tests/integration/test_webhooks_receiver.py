"""The webhook receiver against the simulator: deliveries finish jobs long before the slow
safety-net poll would, repeats change nothing, and anything else is refused plainly."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from krea_tui.config import Settings
from krea_tui.core.status import FINAL
from krea_tui.core.webhooks import WebhookReceiver
from krea_tui.runtime import SetupError, open_runtime, parse_listen
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory, eventually
from tests.integration.engine_support import (
    FLUX,
    Harness,
    check_event_chains,
    check_saved_files,
    requests_for,
    running_engine,
)

SLOW_POLL = 30.0  # the engine looks again only after this: anything sooner is the webhook
DEADLINE = 10.0  # well inside SLOW_POLL
# Queued long enough that the poll right after the POST sees the job unfinished.
QUEUED_A_WHILE = {"durations": [0.3, 0.0, 0.1, 0.0, 0.0]}


@pytest.fixture
async def hooked(sim: RunningSim, tmp_path: Path) -> AsyncIterator[tuple[Harness, WebhookReceiver]]:
    async with hooked_engine(sim, tmp_path) as pair:
        yield pair


@contextlib.asynccontextmanager
async def hooked_engine(
    sim: RunningSim, tmp_path: Path, **receiver: Any
) -> AsyncIterator[tuple[Harness, WebhookReceiver]]:
    """An engine whose jobs carry the URL of a receiver in its own loop; polling is slow."""
    async with (
        running_engine(
            sim, tmp_path, start=False, min_interval=SLOW_POLL, max_interval=SLOW_POLL
        ) as h,
        WebhookReceiver(h.engine, path="/hook", **receiver) as hooks,
    ):
        # The URL exists only once the receiver is bound; nothing is sent before start.
        h.engine.config.webhook_url = hooks.local_url
        await h.engine.start()
        yield h, hooks


def status_polls(h: Harness) -> int:
    return h.client.request_counts["GET /jobs"]


async def delivered(sim: RunningSim, count: int) -> list[dict[str, Any]]:
    """The simulator's delivery log once `count` deliveries succeeded and none is pending."""
    hooks = sim.sim.webhooks
    return await eventually(
        lambda: _entries(sim),
        lambda entries: hooks.pending == 0 and sum(e["ok"] for e in entries) >= count,
        timeout=DEADLINE,
    )


async def _job_reads(h: Harness) -> int:
    return h.client.request_counts["GET /jobs/{id}"]


async def _entries(sim: RunningSim) -> list[dict[str, Any]]:
    return sim.sim.webhooks.entries()


async def test_webhooks_finish_jobs_long_before_the_next_poll(
    sim: RunningSim, hooked: tuple[Harness, WebhookReceiver]
) -> None:
    h, _ = hooked
    sim.state.force_outcomes([QUEUED_A_WHILE] * 3)
    ids = [job.local_id for job in h.engine.enqueue(FLUX, requests_for(3, "hooked"))]
    await h.wait_settled(ids, timeout=DEADLINE)

    check_event_chains(h.log, ids)
    for local_id in ids:
        job = h.job(local_id)
        assert job.status == "completed"
        check_saved_files(job, h.output_dir)
    log = await delivered(sim, 3)
    assert {e["job_id"] for e in log if e["ok"]} == {h.job(i).remote_id for i in ids}
    assert all(e["http_status"] == 200 for e in log)
    # At most the one look right after the POSTs: the webhook, not polling, finished them,
    # each confirmed by reading that job back once.
    assert status_polls(h) <= 1, h.client.request_counts
    assert h.client.request_counts["GET /jobs/{id}"] == len(ids), h.client.request_counts


async def test_a_forged_completion_is_checked_with_the_api_and_not_believed(
    sim: RunningSim, hooked: tuple[Harness, WebhookReceiver]
) -> None:
    h, hooks = hooked
    sim.state.force_outcomes([{"durations": [0.0, 0.0, 60.0, 0.0, 0.0]}])  # processing a while
    (job,) = h.engine.enqueue(FLUX, requests_for(1, "running"))
    running = await h.wait_status(job.local_id, ["processing"], timeout=DEADLINE)
    forged = {
        "job_id": running.remote_id,
        "status": "completed",
        "result": {"urls": ["http://127.0.0.1:9/not-krea.png"]},
    }
    looked = h.client.request_counts["GET /jobs/{id}"]
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(hooks.local_url, json=forged)
    assert response.status_code == 200  # ours: answered at once, as Krea asks
    await eventually(lambda: _job_reads(h), lambda n: n > looked)  # read back from the API
    await h.engine.downloads.wait_idle()
    after = h.job(job.local_id)
    assert after.status == "processing", after
    assert after.urls == ()
    assert h.log.downloads() == []
    assert h.client.request_counts["GET result"] == 0


async def test_duplicate_deliveries_make_one_terminal_event_per_job(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(webhook_duplicates=True)
    sim.state.force_outcomes([QUEUED_A_WHILE, {**QUEUED_A_WHILE, "code": "content_moderation"}])
    async with hooked_engine(sim, tmp_path) as (h, _):
        ids = [job.local_id for job in h.engine.enqueue(FLUX, requests_for(2, "twice"))]
        await h.wait_settled(ids, timeout=DEADLINE)
        log = await delivered(sim, 4)  # every copy arrived and was answered 2xx
        assert len({e["job_id"] for e in log}) == 2
        assert all(e["http_status"] == 200 for e in log)
        # Which POST the simulator saw first, and so which job fails, is not fixed.
        assert sorted(h.job(i).status for i in ids) == ["completed", "failed"]

    check_event_chains(h.log, ids)
    for local_id in ids:
        terminal = [e for e in h.log.job_events(local_id) if e.new in FINAL]
        assert len(terminal) == 1, h.log.job_events(local_id)
    assert len(h.log.downloads()) >= 1
    assert len(list((h.output_dir).rglob("*.png"))) == 1  # the completed one, saved once


async def test_an_unknown_job_id_is_refused_and_changes_nothing(
    sim: RunningSim, hooked: tuple[Harness, WebhookReceiver]
) -> None:
    h, hooks = hooked
    (job,) = h.engine.enqueue(FLUX, requests_for(1, "mine"))
    await h.wait_settled([job.local_id], timeout=DEADLINE)
    before = h.store.jobs()
    events = len(h.log.events)

    stranger = {
        "job_id": "11111111-2222-4333-8444-555555555555",
        "status": "completed",
        "result": {"urls": ["https://example.invalid/x.png"]},
    }
    async with httpx.AsyncClient(trust_env=False) as http:
        response = await http.post(hooks.local_url, json=stranger)
    assert response.status_code == 404
    assert response.json() == {"error": "unknown job"}
    assert h.store.jobs() == before
    assert len(h.log.events) == events


async def test_oversized_malformed_and_non_post_requests_are_refused(
    sim: RunningSim, tmp_path: Path
) -> None:
    async with hooked_engine(sim, tmp_path, max_body=256) as (h, hooks):
        async with httpx.AsyncClient(trust_env=False) as http:
            url = hooks.local_url
            big = b'{"job_id": "' + b"x" * 1000 + b'"}'
            assert (await http.post(url, content=big)).status_code == 413

            async def trickle() -> AsyncIterator[bytes]:
                # Chunked: no Content-Length to check, so the count while reading must stop it.
                for _ in range(100):
                    yield b"x" * 64

            assert (await http.post(url, content=trickle())).status_code == 413
            assert (await http.post(url, content=b"{not json")).status_code == 400
            assert (await http.post(url, content=b"\xff\xfe")).status_code == 400
            assert (await http.post(url, content=b"[" * 200)).status_code == 400
            assert (await http.post(url, json={"status": "completed"})).status_code == 400
            assert (await http.post(url, json=["a", "list"])).status_code == 400
            assert (await http.get(url)).status_code == 405
            assert (await http.put(url, json={})).status_code == 405
            other = url.replace("/hook", "/elsewhere")
            assert (await http.post(other, json={"job_id": "x"})).status_code == 404
        assert h.store.jobs() == []


async def test_a_declared_oversized_body_is_refused_before_it_is_read(
    sim: RunningSim, tmp_path: Path
) -> None:
    async with hooked_engine(sim, tmp_path, max_body=256) as (_, hooks):
        reader, writer = await asyncio.open_connection("127.0.0.1", hooks.port)
        try:
            # Only the head is sent: an answer proves nothing waited for the 10 MB.
            writer.write(
                b"POST /hook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 10000000\r\n\r\n"
            )
            await writer.drain()
            status_line = await asyncio.wait_for(reader.readline(), DEADLINE)
        finally:
            writer.close()
        assert status_line.split()[1] == b"413"


async def test_it_listens_on_loopback_by_default(sim: RunningSim, tmp_path: Path) -> None:
    async with running_engine(sim, tmp_path, start=False) as h:
        async with WebhookReceiver(h.engine) as hooks:
            assert hooks.bound_address == ("127.0.0.1", hooks.port)
            assert hooks.port != 0
            assert hooks.local_url == f"http://127.0.0.1:{hooks.port}/"
        assert hooks.bound_address is None


def demo_less(sim: RunningSim, tmp_path: Path, **changes: Any) -> Settings:
    return Settings(
        base_url=sim.base_url,
        token=TOKEN_A,
        data_dir=tmp_path / "data",
        output_dir=tmp_path / "out",
        webhook_url="https://hooks.example.invalid/krea/done",
        webhook_listen="127.0.0.1:0",
        **changes,
    )


async def test_the_runtime_starts_and_stops_the_receiver(sim: RunningSim, tmp_path: Path) -> None:
    async with open_runtime(demo_less(sim, tmp_path)) as runtime:
        hooks = runtime.webhooks
        assert hooks is not None
        assert hooks.bound_address == ("127.0.0.1", hooks.port)
        assert hooks.local_url.endswith("/krea/done")  # the public URL's path, as passed on
        async with httpx.AsyncClient(trust_env=False) as http:
            answer = await http.post(hooks.local_url, json={"job_id": "nope", "status": "x"})
        assert answer.status_code == 404
        url = hooks.local_url
    assert runtime.webhooks.bound_address is None
    async with httpx.AsyncClient(trust_env=False) as http:
        with pytest.raises(httpx.ConnectError):
            await http.post(url, json={"job_id": "nope"})


async def test_the_runtime_names_an_address_it_cannot_listen_on(
    sim: RunningSim, tmp_path: Path
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        settings = demo_less(sim, tmp_path)
        settings.webhook_listen = address
        with pytest.raises(SetupError, match=address):
            async with open_runtime(settings):
                pass


async def test_no_receiver_without_a_webhook_url(sim: RunningSim, tmp_path: Path) -> None:
    settings = demo_less(sim, tmp_path)
    settings.webhook_url = None
    async with open_runtime(settings) as runtime:
        assert runtime.webhooks is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:8788", ("127.0.0.1", 8788)),
        ("[::1]:0", ("::1", 0)),
        ("localhost:1", ("localhost", 1)),
    ],
)
def test_listen_addresses(text: str, expected: tuple[str, int]) -> None:
    assert parse_listen(text) == expected


@pytest.mark.parametrize(
    "text", ["8788", "127.0.0.1", "::1:8788", "127.0.0.1:http", ":80", "h:70000"]
)
def test_bad_listen_addresses(text: str) -> None:
    with pytest.raises(SetupError, match="webhook_listen"):
        parse_listen(text)
