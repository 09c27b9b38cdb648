"""Webhooks: the job JSON is POSTed to X-Webhook-URL on terminal states only, once or twice."""

from __future__ import annotations

from typing import Any

import httpx

from krea_tui.core.api import KreaClient
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A, SimFactory, WebhookReceiver, eventually

TERMINAL = {"completed", "failed", "cancelled"}


async def deliveries_settled(sim: RunningSim, count: int) -> list[dict[str, Any]]:
    """The simulator's own delivery log once `count` attempts are made and none is pending."""

    async def fetch() -> dict[str, Any]:
        async with httpx.AsyncClient(trust_env=False) as plain:
            return (await plain.get(f"{sim.base_url}/_sim/webhooks")).json()

    log = await eventually(
        fetch, lambda log: log["pending"] == 0 and len(log["deliveries"]) >= count
    )
    return log["deliveries"]


async def test_completed_job_is_posted_once(
    sim: RunningSim, webhook_receiver: WebhookReceiver
) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        job = await client.generate(
            "bfl/flux-1-dev", {"prompt": "hook"}, webhook_url=webhook_receiver.url
        )
        [body] = await webhook_receiver.wait_for(1)
        polled = await client.get_job(job.job_id)
    assert body == dict(polled.raw)  # the same shape as GET /jobs/{id}
    assert body["job_id"] == job.job_id
    assert body["status"] == "completed"
    assert body["completed_at"] is not None
    assert body["result"]["urls"]
    assert webhook_receiver.headers[0]["content-type"] == "application/json"
    assert not any("signature" in key for key in webhook_receiver.headers[0])
    log = await deliveries_settled(sim, 1)
    assert len(log) == 1 and log[0]["ok"]
    assert len(webhook_receiver.bodies) == 1


async def test_duplicate_mode_delivers_each_webhook_twice(
    make_sim: SimFactory, webhook_receiver: WebhookReceiver
) -> None:
    sim = make_sim(webhook_duplicates=True)
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        job = await client.generate(
            "bfl/flux-1-dev", {"prompt": "twice"}, webhook_url=webhook_receiver.url
        )
        first, second = await webhook_receiver.wait_for(2)
    assert first == second
    assert first["job_id"] == job.job_id
    await deliveries_settled(sim, 2)
    assert len(webhook_receiver.bodies) == 2


async def test_failed_and_cancelled_jobs_are_posted_too(
    sim: RunningSim, webhook_receiver: WebhookReceiver
) -> None:
    async with httpx.AsyncClient(trust_env=False) as plain:
        await plain.post(
            f"{sim.base_url}/_sim/outcomes",
            json={
                "outcomes": [
                    {"status": "failed", "code": "provider_error"},
                    {"durations": [30, 0, 0, 0, 0]},
                ]
            },
        )
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        failed = await client.generate(
            "bfl/flux-1-dev", {"prompt": "f"}, webhook_url=webhook_receiver.url
        )
        held = await client.generate(
            "bfl/flux-1-dev", {"prompt": "c"}, webhook_url=webhook_receiver.url
        )
        await client.cancel_job(held.job_id)
        bodies = await webhook_receiver.wait_for(2)
    by_id = {body["job_id"]: body for body in bodies}
    assert by_id[failed.job_id]["status"] == "failed"
    assert by_id[failed.job_id]["error"]["code"] == "provider_error"
    assert by_id[held.job_id]["status"] == "cancelled"
    assert {body["status"] for body in bodies} <= TERMINAL  # never a webhook mid-way


async def test_failed_delivery_is_retried(
    sim: RunningSim, webhook_receiver: WebhookReceiver
) -> None:
    webhook_receiver.fail_first = 1
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        job = await client.generate(
            "bfl/flux-1-dev", {"prompt": "retry"}, webhook_url=webhook_receiver.url
        )
        [body] = await webhook_receiver.wait_for(1)
    assert body["job_id"] == job.job_id
    log = await deliveries_settled(sim, 2)
    assert [(entry["attempt"], entry["ok"]) for entry in log] == [(0, False), (1, True)]
    assert log[0]["http_status"] == 500


async def test_jobs_without_the_header_send_nothing(
    sim: RunningSim, webhook_receiver: WebhookReceiver
) -> None:
    async with KreaClient(token=TOKEN_A, base_url=sim.base_url) as client:
        plain = await client.generate("bfl/flux-1-dev", {"prompt": "quiet"})
        hooked = await client.generate(
            "bfl/flux-1-dev", {"prompt": "loud"}, webhook_url=webhook_receiver.url
        )
        await eventually(lambda: client.get_job(plain.job_id), lambda j: j.status == "completed")
        bodies = await webhook_receiver.wait_for(1)
    await deliveries_settled(sim, 1)
    assert [body["job_id"] for body in bodies] == [hooked.job_id]
