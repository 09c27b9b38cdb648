"""Injected faults (5xx, dropped connections, slow answers, 429 bursts), request counts, admin."""

from __future__ import annotations

import time

import httpx
import pytest

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import RateLimitError, RequestTimeout, ServerError, TransportError
from krea_tui.sim.config import FaultConfig
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory, eventually


async def test_error_rate_gives_a_share_of_5xx(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    assert (await admin.post("/faults", json={"error_rate": 0.5})).status_code == 200
    statuses = [(await http.get("/jobs")).status_code for _ in range(60)]
    errors = [s for s in statuses if s >= 500]
    assert set(statuses) <= {200, 500, 502, 503}
    assert 15 <= len(errors) <= 45
    stats = (await admin.get("/stats")).json()
    assert stats["faults_injected"]["error"] == len(errors)
    assert sum(stats["requests"]["GET /jobs"].values()) == 60

    await admin.post("/faults", json={"error_rate": 1.0})
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        with pytest.raises(ServerError) as caught:
            await client.list_jobs()
    assert caught.value.status in (500, 502, 503)


async def test_fault_decisions_are_reproducible_with_the_same_seed(make_sim: SimFactory) -> None:
    runs = []
    for _ in range(2):
        sim = make_sim(seed=7, faults=FaultConfig(error_rate=0.3))
        async with httpx.AsyncClient(
            base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}, trust_env=False
        ) as http:
            runs.append([(await http.get("/jobs")).status_code for _ in range(30)])
    assert runs[0] == runs[1]
    assert any(status >= 500 for status in runs[0])


async def test_dropped_connections_are_transport_errors(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"drop_rate": 1.0})
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get("/jobs")
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        with pytest.raises(TransportError) as caught:
            await client.generate("bfl/flux-1-dev", {"prompt": "lost"})
        assert caught.value.status is None
        assert caught.value.request_sent is True
    await admin.post("/faults", json={"drop_rate": 0.0})
    listed = (await http.get("/jobs")).json()
    assert listed["items"] == []  # dropped before handling: nothing was created
    assert (await admin.get("/stats")).json()["requests"]["GET /jobs"]["dropped"] == 1


async def test_an_answer_lost_after_create_leaves_the_job_on_the_server(
    sim: RunningSim, admin: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"drop_after_create_rate": 1.0})
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        with pytest.raises(TransportError) as caught:
            await client.generate("bfl/flux-1-dev", {"prompt": "unknown outcome"})
        assert caught.value.request_sent is True
        jobs, _ = await client.list_jobs()  # GET is not affected by this fault
    assert len(jobs) == 1
    stats = (await admin.get("/stats")).json()
    assert stats["requests"]["POST /generate/image/{model}"] == {"dropped after 200": 1}


async def test_slow_answers_are_delayed(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"slow_rate": 1.0, "slow_seconds": 0.3})
    started = time.monotonic()
    assert (await http.get("/jobs")).status_code == 200
    assert time.monotonic() - started >= 0.3
    async with KreaClient(
        token=TOKEN_A, base_url=sim.base_url, timeout=httpx.Timeout(0.1)
    ) as impatient:
        with pytest.raises(RequestTimeout):
            await impatient.list_jobs()
    assert (await admin.get("/stats")).json()["faults_injected"]["slow"] == 2


async def test_429_bursts_then_recovery(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    await admin.post("/faults", json={"burst_429": 3})
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        for _ in range(2):
            with pytest.raises(RateLimitError) as caught:
                await client.generate("bfl/flux-1-dev", {"prompt": "x"})
            assert caught.value.retry_after == 1
        third = await http.get("/jobs")
        assert third.status_code == 429 and third.headers["Retry-After"] == "1"
        assert (await client.generate("bfl/flux-1-dev", {"prompt": "x"})).status == "queued"
    assert (await admin.get("/stats")).json()["faults"]["burst_429"] == 0


async def test_faults_set_at_start_and_limited_to_their_groups(make_sim: SimFactory) -> None:
    sim = make_sim(faults=FaultConfig(error_rate=1.0, groups=("generate",)))
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}, trust_env=False
    ) as http:
        assert (
            await http.post("/generate/image/bfl/flux-1-dev", json={"prompt": "x"})
        ).status_code >= 500
        assert (await http.get("/jobs")).status_code == 200
        assert (await http.get("/openapi.json")).status_code == 200


async def test_bad_fault_settings_are_refused(admin: httpx.AsyncClient) -> None:
    for body in ({"error_rate": 2}, {"slow_seconds": -1}, {"groups": ["admin"]}, {"bogus": 1}):
        assert (await admin.post("/faults", json=body)).status_code == 400, body


async def test_stats_count_requests_by_endpoint_and_status(
    sim: RunningSim, admin: httpx.AsyncClient, http: httpx.AsyncClient
) -> None:
    job = (await http.post("/generate/image/bfl/flux-1-dev", json={"prompt": "x"})).json()
    for _ in range(3):
        await http.get("/jobs")
    await http.get(f"/jobs/{job['job_id']}")
    await http.get("/jobs/missing")

    async def fetch() -> dict:
        return (await http.get(f"/jobs/{job['job_id']}")).json()

    done = await eventually(fetch, lambda j: j["status"] == "completed")
    await http.get(done["result"]["urls"][0])
    stats = (await admin.get("/stats")).json()
    requests = stats["requests"]
    assert requests["POST /generate/image/{model}"] == {"200": 1}
    assert requests["GET /jobs"] == {"200": 3}
    assert requests["GET /jobs/{id}"]["404"] == 1
    assert requests["GET /results/{id}/{file}"] == {"200": 1}
    assert not any(label.startswith(("GET /_sim", "POST /_sim")) for label in requests)
    assert stats["requests_total"] == sum(sum(v.values()) for v in requests.values())
    assert stats["generate_by_model"] == {"bfl/flux-1-dev": 1}
    assert stats["jobs"] == {"completed": 1}
    assert sim.stats()["requests"]["GET /jobs"] == {"200": 3}


async def test_admin_endpoint_is_404_when_disabled(make_sim: SimFactory) -> None:
    sim = make_sim(admin_enabled=False)
    async with httpx.AsyncClient(base_url=sim.base_url, trust_env=False) as plain:
        assert (await plain.get("/_sim/stats")).status_code == 404
        assert (await plain.post("/_sim/faults", json={"drop_rate": 1})).status_code == 404
        assert (await plain.get("/_sim/jobs/x/timeline")).status_code == 404
    assert sim.config.faults.drop_rate == 0
