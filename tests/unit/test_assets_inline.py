"""Zero Data Retention inlines a URL's picture; an HTTP error from a host that is not the API
is that input's problem (the job fails naming the URL, without its query), never a pause of
the whole queue as if the API token had been refused."""

from __future__ import annotations

from typing import Any

import pytest

from krea_tui.core.assets import InputProblem, Uploader
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.errors import AuthenticationError, KreaError, PaymentError, ServerError
from krea_tui.core.models import JobStatus

API = "https://api.krea.ai"
KONTEXT = "bfl/flux-1-kontext-dev"


class FailingClient:
    base_url = API

    def __init__(self, error: KreaError) -> None:
        self.error = error
        self.fetched: list[str] = []

    async def fetch(self, url: str, **_kw: Any) -> bytes:
        self.fetched.append(url)
        raise self.error


def uploader(error: KreaError) -> Uploader:
    return Uploader(FailingClient(error), None, zero_data_retention=True)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("401: unauthorized", status=401),
        PaymentError("402: payment required"),
        ServerError("503: unavailable", status=503),
    ],
)
async def test_an_http_error_from_another_host_is_an_input_problem(error: KreaError) -> None:
    url = "https://cdn.example.com/results/p.png?X-Amz-Signature=secret"
    with pytest.raises(InputProblem) as caught:
        await uploader(error).url_for(url)
    said = str(caught.value)
    assert "https://cdn.example.com/results/p.png" in said
    assert "secret" not in said and "X-Amz" not in said


async def test_a_refused_token_at_the_api_itself_stays_an_api_error() -> None:
    with pytest.raises(AuthenticationError):
        await uploader(AuthenticationError("401", status=401)).url_for(f"{API}/uploads/a/p.png")


class FakeEngine:
    def __init__(self) -> None:
        self.moves: list[tuple[Any, Any, dict[str, Any]]] = []
        self.paused: list[str] = []

    def move(self, job: Any, status: Any, **kw: Any) -> None:
        self.moves.append((job, status, kw))

    def pause(self, reason: str) -> None:
        self.paused.append(reason)


class FakeJob:
    model = KONTEXT
    request = {"prompt": "x", "image_url": "https://cdn.example.com/p.png?sig=secret"}


async def test_a_401_from_a_cdn_fails_the_job_and_never_pauses() -> None:
    inputs = Uploader(
        FailingClient(AuthenticationError("401", status=401)),  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        catalog=bundled_catalog(),
        zero_data_retention=True,
    )
    engine = FakeEngine()
    job = FakeJob()
    assert await inputs.for_job(engine, job) is None  # type: ignore[arg-type]
    assert engine.paused == []
    ((_, status, said),) = engine.moves
    assert status == JobStatus.FAILED and said["error_code"] == "input"
    assert "https://cdn.example.com/p.png" in said["error_message"]
    assert "secret" not in said["error_message"]
