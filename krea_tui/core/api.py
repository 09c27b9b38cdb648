"""KreaClient: the one place that speaks HTTP to the Krea API (or the simulator).

One long-lived httpx.AsyncClient is shared by every call so that polling hundreds of jobs reuses
pooled connections. The bearer token is attached per request and only to the API's own origin:
result files live on a CDN, and a token must never travel to a host that is not the API.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from krea_tui import __version__
from krea_tui.core.errors import (
    KreaError,
    RequestTimeout,
    TransportError,
    UnexpectedResponseError,
    error_from_response,
    redact,
)
from krea_tui.core.files import media_type, replacing
from krea_tui.core.models import Job

DEFAULT_BASE_URL = "https://api.krea.ai"
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=30.0, write=30.0, pool=10.0)
# Large result files over a slow SSH-side link need longer between bytes than an API call.
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16)
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
# An API answer is JSON about jobs: a page of 1,000 jobs is well under a megabyte. A server
# sending more (or without end) is broken, and must not take the memory with it.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# A whole API call, answer body included: httpx's read timeout is per chunk, so a body dripped
# a byte at a time would otherwise hold the watcher (or a POST) for hours.
DEFAULT_DEADLINE = 120.0
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

log = logging.getLogger(__name__)


def model_endpoint(model_path: str) -> str:
    """`bfl/flux-1-dev`, `image/bfl/flux-1-dev` or the full path → the full endpoint path."""
    path = model_path.strip().strip("/")
    if path.startswith("generate/"):
        path = path[len("generate/") :]
    if not path.startswith(("image/", "video/", "enhance/", "3d/")):
        path = f"image/{path}"
    return f"/generate/{path}"


class _OriginBearerAuth(httpx.Auth):
    """Adds the bearer token only to requests aimed at the API's own scheme, host and port."""

    def __init__(self, token: str, origin: httpx.URL) -> None:
        self._token = token
        self._origin = (origin.scheme, origin.host, origin.port)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if (request.url.scheme, request.url.host, request.url.port) == self._origin:
            request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "_OriginBearerAuth(token=[redacted])"


class RequestBudget:
    """A token bucket shared by every API call of one client: at most `rate` requests a second
    on average, `burst` at once. It keeps hundreds of tracked jobs, retries and user actions
    together inside what a polite client sends."""

    def __init__(
        self,
        rate: float,
        burst: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError("the request budget needs rate > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._last = clock()
        self._lock = asyncio.Lock()
        self.waited = 0.0  # seconds spent waiting, for reports

    async def take(self) -> None:
        async with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens < 1:
                wait = (1 - self._tokens) / self.rate
                self.waited += wait
                await self._sleep(wait)
                self._tokens = 1.0
                self._last = self._clock()
            self._tokens -= 1


class KreaClient:
    """Async client for the Krea REST API. Use as `async with KreaClient(token) as client:`."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: httpx.Timeout = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        max_connections: int | None = None,
        budget: RequestBudget | None = None,
        deadline: float = DEFAULT_DEADLINE,
    ) -> None:
        if not token:
            raise ValueError("an API token is required")
        self._token = token
        self.base_url = base_url.rstrip("/")
        limits = DEFAULT_LIMITS
        if max_connections is not None:
            limits = httpx.Limits(
                max_connections=max_connections, max_keepalive_connections=max_connections
            )
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            auth=_OriginBearerAuth(token, httpx.URL(self.base_url)),
            headers={"User-Agent": f"krea-tui/{__version__}", "Accept": "application/json"},
            timeout=timeout,
            limits=limits,
            transport=transport,
            follow_redirects=False,
            # Proxy settings from the environment are for the internet, not the simulator.
            trust_env=httpx.URL(self.base_url).host not in LOOPBACK_HOSTS,
        )
        # Requests sent, by "METHOD /route": the engine and the benchmarks read this.
        self.request_counts: Counter[str] = Counter()
        self.budget = budget
        self.deadline = deadline

    def __repr__(self) -> str:
        return f"KreaClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> KreaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    @property
    def requests_sent(self) -> int:
        return sum(self.request_counts.values())

    # -- the API -----------------------------------------------------------------------------

    async def generate(
        self, model_path: str, params: Mapping[str, Any], *, webhook_url: str | None = None
    ) -> Job:
        """Submit one generation; returns the job in its first (pending) state."""
        endpoint = model_endpoint(model_path)
        headers = {"X-Webhook-URL": webhook_url} if webhook_url else None
        data = await self._json(
            "POST", endpoint, route="POST /generate", json=dict(params), headers=headers
        )
        return self._job(data)

    async def get_job(self, job_id: str) -> Job:
        data = await self._json("GET", f"/jobs/{quote(job_id, safe='')}", route="GET /jobs/{id}")
        return self._job(data)

    async def list_jobs(
        self,
        *,
        limit: int = 100,
        cursor: str | None = None,
        status: str | None = None,
        types: Sequence[str] | str | None = None,
    ) -> tuple[list[Job], str | None]:
        """One page of the caller's jobs, newest first, and the next page's cursor (or None)."""
        params: dict[str, Any] = {"limit": max(1, min(1000, int(limit)))}
        if cursor:
            params["cursor"] = cursor
        if status:
            params["status"] = str(status)
        if types:
            params["types"] = types if isinstance(types, str) else ",".join(types)
        data = await self._json("GET", "/jobs", route="GET /jobs", params=params)
        if not isinstance(data, Mapping) or not isinstance(data.get("items", []), list):
            raise UnexpectedResponseError("the job list answer has no 'items' list", status=200)
        jobs = []
        for item in data.get("items", []):
            try:
                jobs.append(Job.from_api(item))
            except ValueError:
                log.warning("skipping a job list item without a job id")
        next_cursor = data.get("next_cursor", data.get("nextCursor"))
        return jobs, str(next_cursor) if next_cursor else None

    async def cancel_job(self, job_id: str) -> None:
        """Ask the server to cancel; ConflictError/ValidationError when the state forbids it."""
        await self._json("DELETE", f"/jobs/{quote(job_id, safe='')}", route="DELETE /jobs/{id}")

    async def get_openapi(self) -> dict[str, Any]:
        """The API's own OpenAPI document (the catalogue refreshes from it)."""
        data = await self._json("GET", "/openapi.json", route="GET /openapi.json")
        if not isinstance(data, dict):
            raise UnexpectedResponseError("openapi.json is not a JSON object", status=200)
        return data

    async def download(
        self, url: str, dest: Path | str, *, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> Path:
        """Stream a result file to `dest` atomically: never a partial file under that name."""
        dest = Path(dest)
        with replacing(dest) as out:
            async for chunk in self._result_chunks(url, max_bytes):
                out.write(chunk)
        return dest

    async def fetch(self, url: str, *, max_bytes: int = MAX_DOWNLOAD_BYTES) -> bytes:
        """A result file's bytes in memory (images are small; the engine adds metadata first).
        Bytes that are no image, video or model (an HTML page answered with 200 by a CDN or a
        captive portal) raise UnexpectedResponseError instead of being saved as a result."""
        data = b"".join([chunk async for chunk in self._result_chunks(url, max_bytes)])
        if media_type(data[:16]) is None:
            start = data[:40].decode("ascii", "replace")
            raise UnexpectedResponseError(
                f"{url} did not answer with an image or video (it starts {start!r})", status=200
            )
        return data

    async def _result_chunks(self, url: str, max_bytes: int) -> AsyncIterator[bytes]:
        """The body of a result URL, refusing to read past `max_bytes`."""
        async with self._stream("GET", url, route="GET result") as response:
            if response.status_code >= 400:
                body = (await response.aread()).decode("utf-8", "replace")
                raise self._error(response.status_code, body, response.headers)
            size = 0
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > max_bytes:
                    raise UnexpectedResponseError(
                        f"result file is larger than {max_bytes} bytes", status=200
                    )
                yield chunk

    # -- plumbing ----------------------------------------------------------------------------

    def _job(self, data: Any) -> Job:
        try:
            return Job.from_api(data)
        except ValueError as exc:
            raise UnexpectedResponseError(f"not a job: {exc}", status=200) from None

    def _error(self, status: int, body: str, headers: Mapping[str, str]) -> KreaError:
        return error_from_response(status, body, headers, secrets=(self._token,))

    def _transport_error(self, exc: httpx.HTTPError, method: str, url: str) -> TransportError:
        # Connect failures mean nothing reached the server; anything later may have.
        sent = not isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)
        what = type(exc).__name__
        detail = redact(str(exc), (self._token,)) or "no details"
        message = f"{method} {url}: {what}: {detail}"
        if isinstance(exc, httpx.TimeoutException):
            return RequestTimeout(message, request_sent=sent)
        return TransportError(message, request_sent=sent)

    async def _json(self, method: str, url: str, *, route: str, **kwargs: Any) -> Any:
        if self.budget is not None:
            await self.budget.take()
        self.request_counts[route] += 1
        try:
            async with asyncio.timeout(self.deadline):
                response, body = await self._exchange(method, url, **kwargs)
        except TimeoutError:
            # The request may have arrived (a POST may have created a job): say so.
            raise RequestTimeout(
                f"{method} {url}: no complete answer within {self.deadline:g} s",
                request_sent=True,
            ) from None
        status = response.status_code
        log.debug("%s %s -> %s", method, url, status)
        # A server or proxy echoing the token must not carry it into errors or the history.
        text = redact(_decode(body, response.encoding), (self._token,))
        if status >= 400:
            raise self._error(status, text, response.headers)
        if 300 <= status < 400:
            # Never followed: the token would go wherever the redirect points.
            where = redact(response.headers.get("location", "nowhere"), (self._token,))
            raise UnexpectedResponseError(
                f"{method} {url}: answered {status}, a redirect to {where[:200]}, which "
                "krea-tui does not follow",
                status=status,
            )
        if not text.strip():
            return None
        try:
            return json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise UnexpectedResponseError(
                f"{method} {url}: the answer is not JSON", status=status
            ) from None

    async def _exchange(self, method: str, url: str, **kwargs: Any) -> tuple[httpx.Response, bytes]:
        """Send one request; the answer and its body, read up to MAX_ANSWER_BYTES."""
        try:
            request = self._http.build_request(method, url, **kwargs)
            response = await self._http.send(request, stream=True)
            try:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > MAX_ANSWER_BYTES:
                    raise self._too_large(method, url, response.status_code)
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_ANSWER_BYTES:
                        raise self._too_large(method, url, response.status_code)
                    chunks.append(chunk)
            finally:
                await response.aclose()
        except httpx.HTTPError as exc:
            raise self._transport_error(exc, method, url) from None
        return response, b"".join(chunks)

    @staticmethod
    def _too_large(method: str, url: str, status: int) -> UnexpectedResponseError:
        return UnexpectedResponseError(
            f"{method} {url}: the answer is larger than {MAX_ANSWER_BYTES} bytes", status=status
        )

    def _stream(self, method: str, url: str, *, route: str) -> _StreamContext:
        self.request_counts[route] += 1
        return _StreamContext(self, method, url)


def _decode(body: bytes, encoding: str | None) -> str:
    try:
        return body.decode(encoding or "utf-8", "replace")
    except LookupError:  # a charset that names no text codec (`charset=rot13`)
        return body.decode("utf-8", "replace")


class _StreamContext:
    """`async with` wrapper that maps httpx failures to our TransportError."""

    def __init__(self, client: KreaClient, method: str, url: str) -> None:
        self._client = client
        self._method = method
        self._url = url
        self._cm: Any = None

    async def __aenter__(self) -> _Response:
        self._cm = self._client._http.stream(
            self._method, self._url, timeout=DOWNLOAD_TIMEOUT, follow_redirects=True
        )
        try:
            response = await self._cm.__aenter__()
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self._method, self._url) from None
        return _Response(response, self._client, self._method, self._url)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._cm.__aexit__(exc_type, exc, tb)


class _Response:
    """A streaming response whose reads raise our errors, not httpx's."""

    def __init__(self, response: httpx.Response, client: KreaClient, method: str, url: str):
        self._response = response
        self._client = client
        self._method = method
        self._url = url
        self.status_code = response.status_code
        self.headers = response.headers

    async def aread(self) -> bytes:
        try:
            return await self._response.aread()
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self._method, self._url) from None

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self._method, self._url) from None
