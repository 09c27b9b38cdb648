"""The client's parsing of every answer the API documents, against httpx.MockTransport."""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from krea_tui import __version__
from krea_tui.core.api import KreaClient, model_endpoint
from krea_tui.core.errors import (
    AuthenticationError,
    ConflictError,
    KreaError,
    ModelRetiredError,
    NotFoundError,
    PaymentError,
    RateLimitError,
    RequestTimeout,
    ServerError,
    TransportError,
    UnexpectedResponseError,
    ValidationError,
)
from krea_tui.core.models import JobStatus

TOKEN = "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0:s3cr3t-t0ken-value"
BASE = "https://api.example.test"
PENDING = {
    "job_id": "j-1",
    "status": "queued",
    "created_at": "2026-02-13T02:20:58.265Z",
    "completed_at": None,
    "result": None,
}

Handler = Callable[[httpx.Request], httpx.Response]


def client_for(handler: Handler) -> KreaClient:
    return KreaClient(TOKEN, base_url=BASE, transport=httpx.MockTransport(handler))


def answer(status: int, body: object = None, headers: dict | None = None) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        content = json.dumps(body).encode() if body is not None else b""
        return httpx.Response(status, content=content, headers=headers or {})

    return handler


async def test_generate_sends_auth_agent_webhook_and_body() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PENDING)

    async with client_for(handler) as client:
        job = await client.generate(
            "bfl/flux-1-dev", {"prompt": "a chalet"}, webhook_url="https://hooks.example.test/k"
        )
    request = seen[0]
    assert request.method == "POST"
    assert request.url.path == "/generate/image/bfl/flux-1-dev"
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["user-agent"] == f"krea-tui/{__version__}"
    assert request.headers["x-webhook-url"] == "https://hooks.example.test/k"
    assert json.loads(request.content) == {"prompt": "a chalet"}
    assert job.job_id == "j-1" and job.status is JobStatus.QUEUED


async def test_no_webhook_header_unless_asked() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=PENDING)

    async with client_for(handler) as client:
        await client.generate("bfl/flux-1-dev", {"prompt": "x"})
    assert "x-webhook-url" not in seen[0].headers


def test_model_endpoint_forms() -> None:
    full = "/generate/image/bfl/flux-1-dev"
    assert model_endpoint("bfl/flux-1-dev") == full
    assert model_endpoint("image/bfl/flux-1-dev") == full
    assert model_endpoint(full) == full
    assert model_endpoint("krea/krea-2/medium") == "/generate/image/krea/krea-2/medium"


async def test_get_job_quotes_the_id() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={**PENDING, "status": "sampling"})

    async with client_for(handler) as client:
        job = await client.get_job("../admin")
    assert seen[0].url.raw_path == b"/jobs/..%2Fadmin"
    assert job.status is JobStatus.SAMPLING


@pytest.mark.parametrize("cursor_key", ["next_cursor", "nextCursor"])
async def test_list_jobs_reads_either_cursor_key(cursor_key: str) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        items = [PENDING, {**PENDING, "job_id": "j-2"}, {"no": "id"}]
        return httpx.Response(200, json={"items": items, cursor_key: "2026-02-13T02:00:00Z"})

    async with client_for(handler) as client:
        jobs, cursor = await client.list_jobs(
            limit=5000, cursor="2026-02-14T00:00:00Z", status="queued", types=["flux", "k1"]
        )
    params = seen[0].url.params
    assert params["limit"] == "1000"
    assert params["cursor"] == "2026-02-14T00:00:00Z"
    assert params["status"] == "queued"
    assert params["types"] == "flux,k1"
    assert [j.job_id for j in jobs] == ["j-1", "j-2"]
    assert cursor == "2026-02-13T02:00:00Z"


async def test_list_jobs_last_page_has_no_cursor() -> None:
    async with client_for(answer(200, {"items": [], "next_cursor": None})) as client:
        assert await client.list_jobs() == ([], None)


async def test_cancel_job_sends_delete() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200)

    async with client_for(handler) as client:
        await client.cancel_job("j-1")
    assert seen[0].method == "DELETE" and seen[0].url.path == "/jobs/j-1"


@pytest.mark.parametrize(
    ("status", "body", "headers", "kind"),
    [
        (400, {"error": "prompt: too long"}, {}, ValidationError),
        (422, {"detail": [{"loc": ["body", "steps"], "msg": "too small"}]}, {}, ValidationError),
        (401, {"error": "You are not authenticated."}, {}, AuthenticationError),
        (402, {"error": "You have run out of credits."}, {}, PaymentError),
        (404, {"error": "Job not found"}, {}, NotFoundError),
        (409, {"error": "Job is completed; cannot cancel"}, {}, ConflictError),
        (
            410,
            {"error": "model_unavailable", "message": "Seedream 3 was retired."},
            {},
            ModelRetiredError,
        ),
        (
            429,
            {"error": "You have reached the maximum number of concurrent jobs."},
            {"Retry-After": "7"},
            RateLimitError,
        ),
        (500, {"error": "boom"}, {}, ServerError),
        (503, None, {}, ServerError),
        (418, {"error": "teapot"}, {}, UnexpectedResponseError),
    ],
)
async def test_each_error_status_maps_to_its_exception(
    status: int, body: object, headers: dict, kind: type[KreaError]
) -> None:
    async with client_for(answer(status, body, headers)) as client:
        with pytest.raises(kind) as info:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
    error = info.value
    assert error.status == status
    if isinstance(body, dict):
        expected = body.get("message") if status == 410 else body.get("error")
        if expected:
            assert error.message == expected


async def test_validation_error_keeps_field_paths() -> None:
    body = {
        "issues": [
            {"path": ["steps"], "message": "must be >= 1"},
            {"path": ["styles", 0, "strength"], "message": "must be <= 2"},
        ]
    }
    async with client_for(answer(422, body)) as client:
        with pytest.raises(ValidationError) as info:
            await client.generate("bfl/flux-1-dev", {"prompt": "x", "steps": 0})
    assert [(p.field, p.message) for p in info.value.problems] == [
        ("steps", "must be >= 1"),
        ("styles.0.strength", "must be <= 2"),
    ]


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Insufficient API balance: top up at krea.ai/app/api.", "balance"),
        ("You have run out of credits.", "balance"),
        ("This model requires a higher plan.", "plan"),
        ("Payment required.", "unknown"),
    ],
)
async def test_payment_error_tells_balance_from_plan(message: str, reason: str) -> None:
    async with client_for(answer(402, {"error": message})) as client:
        with pytest.raises(PaymentError) as info:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
    assert info.value.reason == reason


async def test_retired_model_carries_replacement() -> None:
    body = {
        "error": "model_unavailable",
        "reason": "deprecated",
        "message": "This model was retired on 2026-05-13.",
        "sunset_date": "2026-05-13",
        "replacement": "image/bytedance/seedream-5-lite",
        "migration_url": "https://docs.krea.ai/developers/deprecations#seedream-3",
    }
    async with client_for(answer(410, body)) as client:
        with pytest.raises(ModelRetiredError) as info:
            await client.generate("bytedance/seedream-3", {"prompt": "x"})
    assert info.value.replacement == "image/bytedance/seedream-5-lite"
    assert info.value.migration_url.endswith("#seedream-3")
    assert info.value.sunset_date == "2026-05-13"


async def test_rate_limit_without_retry_after() -> None:
    async with client_for(answer(429, {"error": "slow down"})) as client:
        with pytest.raises(RateLimitError) as info:
            await client.get_job("j-1")
    assert info.value.retry_after is None
    assert info.value.retryable


async def test_retry_after_as_http_date_is_read() -> None:
    headers = {"Retry-After": "Wed, 21 Oct 2099 07:28:00 GMT"}
    async with client_for(answer(429, {"error": "later"}, headers)) as client:
        with pytest.raises(RateLimitError) as info:
            await client.get_job("j-1")
    assert info.value.retry_after is not None and info.value.retry_after > 0


async def test_non_json_success_is_a_clear_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"<html>gateway</html>")

    async with client_for(handler) as client:
        with pytest.raises(UnexpectedResponseError, match="not JSON"):
            await client.get_job("j-1")
        with pytest.raises(UnexpectedResponseError):
            await client.list_jobs()


async def test_connect_failure_is_a_transport_error_not_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with client_for(handler) as client:
        with pytest.raises(TransportError) as info:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
    assert info.value.request_sent is False


async def test_broken_answer_means_the_post_may_have_arrived() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("server disconnected", request=request)

    async with client_for(handler) as client:
        with pytest.raises(TransportError) as info:
            await client.generate("bfl/flux-1-dev", {"prompt": "x"})
    assert info.value.request_sent is True


async def test_read_timeout_is_a_timeout() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    async with client_for(handler) as client:
        with pytest.raises(RequestTimeout):
            await client.get_job("j-1")


async def test_token_never_appears_in_errors_or_reprs() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        # A hostile or broken proxy echoing the Authorization header back.
        leaked = request.headers["authorization"]
        return httpx.Response(
            400, json={"error": f"bad header {leaked}", "detail": [{"loc": ["x"], "msg": leaked}]}
        )

    def explode(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"failed with {TOKEN}", request=request)

    for handler in (echo, explode):
        client = client_for(handler)
        async with client:
            with pytest.raises(KreaError) as info:
                await client.generate("bfl/flux-1-dev", {"prompt": "x"})
        error = info.value
        texts = [
            str(error),
            repr(error),
            repr(client),
            error.message,
            *(p.message for p in getattr(error, "problems", ())),
        ]
        assert all(TOKEN not in t and "s3cr3t" not in t for t in texts), texts


async def test_token_not_sent_to_other_hosts(tmp_path: Path) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"\x89PNG fake bytes")

    async with client_for(handler) as client:
        await client.download("https://cdn.example.test/images/a.png", tmp_path / "a.png")
        await client.download(f"{BASE}/results/a.png", tmp_path / "b.png")
    assert "authorization" not in seen[0].headers
    assert seen[1].headers["authorization"] == f"Bearer {TOKEN}"


async def test_download_streams_to_the_destination(tmp_path: Path) -> None:
    payload = bytes(range(256)) * 4096

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=payload)

    dest = tmp_path / "out" / "result.png"
    async with client_for(handler) as client:
        path = await client.download("https://cdn.example.test/r.png", dest)
    assert path == dest and dest.read_bytes() == payload
    assert list(dest.parent.iterdir()) == [dest]


async def test_failed_download_leaves_no_file(tmp_path: Path) -> None:
    async with client_for(answer(404, {"error": "gone"})) as client:
        with pytest.raises(NotFoundError):
            await client.download("https://cdn.example.test/r.png", tmp_path / "r.png")
    async with client_for(answer(200, {"big": "x" * 5000})) as client:
        with pytest.raises(UnexpectedResponseError, match="larger"):
            await client.download(
                "https://cdn.example.test/r.png", tmp_path / "r.png", max_bytes=100
            )
    assert list(tmp_path.iterdir()) == []


def test_empty_token_is_refused() -> None:
    with pytest.raises(ValueError):
        KreaClient("")


async def test_request_budget_spaces_requests_beyond_the_burst() -> None:
    from krea_tui.core.api import RequestBudget

    now = [0.0]

    async def fake_sleep(seconds: float) -> None:
        now[0] += seconds

    budget = RequestBudget(rate=5.0, burst=2, clock=lambda: now[0], sleep=fake_sleep)
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(now[0])
        return httpx.Response(200, json=PENDING)

    async with KreaClient(
        TOKEN, base_url=BASE, transport=httpx.MockTransport(handler), budget=budget
    ) as client:
        for _ in range(6):
            await client.get_job("j-1")
    # Two at once, then one every 1/5 s: the sixth request goes out 0.8 s after the first.
    assert seen[:2] == [0.0, 0.0]
    assert seen[-1] == pytest.approx(0.8)
    assert all(b - a == pytest.approx(0.2) for a, b in itertools.pairwise(seen[1:]))
    assert budget.waited == pytest.approx(0.8)


def test_request_budget_refuses_nonsense() -> None:
    from krea_tui.core.api import RequestBudget

    with pytest.raises(ValueError):
        RequestBudget(rate=0, burst=1)
