"""KreaClient: the one place that speaks HTTP to the Krea API (or the simulator).

One long-lived httpx.AsyncClient is shared by every call so that polling hundreds of jobs reuses
pooled connections. The bearer token is attached per request and only to the API's own origin:
result files live on a CDN, and a token must never travel to a host that is not the API.
"""

from __future__ import annotations

import asyncio
import email.utils
import io
import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import (
    AsyncGenerator,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Iterator,
    Mapping,
    Sequence,
)
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import quote, urlsplit

import httpx

from krea_tui import __version__
from krea_tui.core.asset_types import Asset
from krea_tui.core.awake import awake_for
from krea_tui.core.clock import utcnow
from krea_tui.core.errors import (
    KreaError,
    RequestTimeout,
    TransportError,
    UnexpectedResponseError,
    error_from_response,
    redact,
    redact_json,
)
from krea_tui.core.files import media_type, replacing
from krea_tui.core.models import Job
from krea_tui.core.styles import TRAIN_MODEL, Style

DEFAULT_BASE_URL = "https://api.krea.ai"
# No read timeout of httpx's own for API calls: its timer counts a stopped process's stop, and
# fires before the answer waiting in the socket is read. The whole call's deadline (awake time,
# see core/awake.py) bounds a silent server instead.
DEFAULT_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=30.0, pool=10.0)
# Large result files over a slow SSH-side link need longer between bytes than an API call.
DOWNLOAD_TIMEOUT = httpx.Timeout(connect=10.0, read=120.0, write=30.0, pool=30.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=32, max_keepalive_connections=16)
MAX_DOWNLOAD_BYTES = 512 * 1024 * 1024
# `fetch(enough=...)` asks whether it has enough only while this much has come (a picture's
# header is within its first few KB, past EXIF and colour profiles); past it, all is read.
ENOUGH_BYTES = 1024 * 1024
# A whole result download, from the request to the last byte: httpx's read timeout is per
# chunk, so a CDN dripping a byte every few seconds would otherwise hold a download slot (and
# `--wait`) for ever. Generous: 512 MiB at under 1 MB/s still fits.
DOWNLOAD_DEADLINE = 600.0
# ...and sooner when, DOWNLOAD_RATE_GRACE seconds after the answer's head, fewer than
# DOWNLOAD_MIN_RATE bytes a second of its body have come on average: no link a person works
# over is that slow.
DOWNLOAD_MIN_RATE = 1024
DOWNLOAD_RATE_GRACE = 30.0
# A compressed result body is inflated at most this much at a time, so a gzip bomb (a
# megabyte inflating to gigabytes) reaches the size cap without ever being held in memory.
DECODE_PIECE = 256 * 1024
# What result bodies may be encoded with: what _Decoder undoes, a piece at a time.
RESULT_ENCODINGS = "gzip, deflate"
# How much of a result URL's error page is read for the message (the rest is not wanted).
MAX_ERROR_PAGE_BYTES = 64 * 1024
# An API answer is JSON about jobs: a page of 1,000 jobs is well under a megabyte. A server
# sending more (or without end) is broken, and must not take the memory with it.
MAX_ANSWER_BYTES = 32 * 1024 * 1024
# A whole API call, answer body included: httpx's read timeout is per chunk, so a body dripped
# a byte at a time would otherwise hold the watcher (or a POST) for hours.
DEFAULT_DEADLINE = 60.0
# An upload's whole call may take longer than DEFAULT_DEADLINE: at least this many bytes a
# second are expected of the link (75 MB in 25 minutes).
UPLOAD_MIN_RATE = 50_000
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

log = logging.getLogger(__name__)


def model_endpoint(model_path: str) -> str:
    """`bfl/flux-1-dev`, `image/bfl/flux-1-dev` or the full path → the full endpoint path."""
    path = model_path.strip().strip("/")
    if path.startswith("generate/"):
        path = path[len("generate/") :]
    if path.startswith("styles/"):  # a training (core/styles.py): POST /styles/train
        return f"/{path}"
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
        # Called with (sent, answered, the server's Date) after every answer (the engine
        # learns the server's clock from it).
        self.on_server_time: Callable[[datetime, datetime, datetime], None] | None = None
        # Requests sent, by "METHOD /route": the engine and the benchmarks read this.
        self.request_counts: Counter[str] = Counter()
        self.budget = budget
        self.deadline = deadline
        # Zero Data Retention (reference §1): every generation carries the header. Inputs must
        # then be data: URIs, which core/assets.py makes of local files.
        self.zero_data_retention = False

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
        headers = {"X-Webhook-URL": webhook_url} if webhook_url else {}
        if self.zero_data_retention:
            headers["X-Api-Zero-Data-Retention"] = "1"
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

    # -- assets (reference §3.5) ---------------------------------------------------------------

    async def upload_asset(
        self,
        data: bytes,
        filename: str,
        *,
        mime_type: str,
        description: str | None = None,
        progress: Callable[[int, int], None] | None = None,
    ) -> Asset:
        """`POST /assets` (multipart); `progress(sent, total)` as the file's bytes go out."""
        files = {"file": (filename, _ProgressReader(data, progress), mime_type)}
        form = {"description": description} if description else None
        deadline = max(self.deadline, len(data) / UPLOAD_MIN_RATE)
        answer = await self._json(
            "POST", "/assets", route="POST /assets", files=files, data=form, deadline=deadline
        )
        return _asset(answer)

    async def list_assets(
        self, *, limit: int = 100, cursor: str | None = None
    ) -> tuple[list[Asset], str | None]:
        """One page of the uploads, newest first, and the next page's cursor (or None)."""
        params: dict[str, Any] = {"limit": max(1, min(1000, int(limit)))}
        if cursor:
            params["cursor"] = cursor
        data = await self._json("GET", "/assets", route="GET /assets", params=params)
        if not isinstance(data, Mapping) or not isinstance(data.get("items", []), list):
            raise UnexpectedResponseError("the asset list answer has no 'items' list", status=200)
        assets = []
        for item in data.get("items", []):
            try:
                assets.append(Asset.from_api(item))
            except ValueError:
                log.warning("skipping an asset list item without an id or URL")
        next_cursor = data.get("next_cursor", data.get("nextCursor"))
        return assets, str(next_cursor) if next_cursor else None

    async def get_asset(self, asset_id: str) -> Asset:
        """NotFoundError when the asset was deleted (or is not this token's)."""
        path = f"/assets/{quote(asset_id, safe='')}"
        return _asset(await self._json("GET", path, route="GET /assets/{id}"))

    async def delete_asset(self, asset_id: str) -> None:
        path = f"/assets/{quote(asset_id, safe='')}"
        await self._json("DELETE", path, route="DELETE /assets/{id}")

    # -- styles (reference §3.6) ---------------------------------------------------------------

    async def list_styles(
        self,
        *,
        filter: str | None = None,
        liked: bool = False,
        ids: Sequence[str] = (),
        user: str | None = None,
        model: str | None = None,
        limit: int = 100,
        cursor: str | None = None,
    ) -> tuple[list[Style], str | None]:
        """One page of `GET /styles` and the next page's cursor (or None)."""
        params: dict[str, Any] = {"limit": max(1, min(1000, int(limit)))}
        if filter:
            params["filter"] = filter
        if liked:
            params["liked"] = "true"
        if ids:
            params["ids"] = ",".join(ids)
        if user:
            params["user"] = user
        if model:
            params["model"] = model
        if cursor:
            params["cursor"] = cursor
        data = await self._json("GET", "/styles", route="GET /styles", params=params)
        if not isinstance(data, Mapping) or not isinstance(data.get("items", []), list):
            raise UnexpectedResponseError("the style list answer has no 'items' list", status=200)
        styles = []
        for item in data.get("items", []):
            try:
                styles.append(Style.from_api(item))
            except ValueError:
                log.warning("skipping a style list item without an id")
        next_cursor = data.get("next_cursor", data.get("nextCursor"))
        return styles, str(next_cursor) if next_cursor else None

    async def get_style(self, style_id: str) -> Style:
        """NotFoundError when there is none this token may see."""
        path = f"/styles/{quote(style_id, safe='')}"
        return _style(await self._json("GET", path, route="GET /styles/{id}"))

    async def update_style(self, style_id: str, **changes: Any) -> Style:
        """`PATCH /styles/{id}` with `public`, `title`, `urls` or `cover_url` (owner only)."""
        path = f"/styles/{quote(style_id, safe='')}"
        return _style(await self._json("PATCH", path, route="PATCH /styles/{id}", json=changes))

    async def style_share_link(self, style_id: str) -> tuple[str, bool]:
        """(the share link, whether it was made just now)."""
        path = f"/styles/{quote(style_id, safe='')}/share/link"
        data = await self._json("GET", path, route="GET /styles/{id}/share/link")
        if not isinstance(data, Mapping) or not isinstance(data.get("share_link"), str):
            raise UnexpectedResponseError("the share answer has no 'share_link'", status=200)
        return str(data["share_link"]), bool(data.get("is_new"))

    async def share_style(self, style_id: str) -> dict[str, Any]:
        """Share with the workspace; the answer (`workspace`: id, name, is_default). A
        KreaError with the server's words: 403 when not the owner, 404 when not visible."""
        path = f"/styles/{quote(style_id, safe='')}/share/workspace"
        data = await self._json("POST", path, route="POST /styles/{id}/share/workspace")
        return dict(data) if isinstance(data, Mapping) else {}

    async def unshare_style(self, style_id: str) -> None:
        path = f"/styles/{quote(style_id, safe='')}/share/workspace"
        await self._json("DELETE", path, route="DELETE /styles/{id}/share/workspace")

    async def train_style(self, body: Mapping[str, Any], *, webhook_url: str | None = None) -> Job:
        """`POST /styles/train` directly (the queue sends trainings through `generate`)."""
        return await self.generate(TRAIN_MODEL, body, webhook_url=webhook_url)

    async def download(
        self, url: str, dest: Path | str, *, max_bytes: int = MAX_DOWNLOAD_BYTES
    ) -> Path:
        """Stream a result file to `dest` atomically: never a partial file under that name."""
        dest = Path(dest)
        with replacing(dest) as out:
            await self.download_into(url, out, max_bytes=max_bytes)
        return dest

    async def fetch(
        self,
        url: str,
        *,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        enough: Callable[[bytes], bool] | None = None,
    ) -> bytes:
        """A small result file's bytes in memory (previews). Bytes that are no image, video or
        model (an HTML page answered with 200 by a CDN or a captive portal) raise
        UnexpectedResponseError instead of being saved as a result. With `enough`, only the
        start of the body: the download stops once `enough(the bytes so far)` holds (asked
        while at most ENOUGH_BYTES have come), e.g. once a picture's header gives its size."""
        out = io.BytesIO()
        await self.download_into(url, out, max_bytes=max_bytes, enough=enough)
        data = out.getvalue()
        if media_type(data[:16]) is None:
            start = data[:40].decode("ascii", "replace")
            raise UnexpectedResponseError(
                f"{url} did not answer with an image or video (it starts {start!r})", status=200
            )
        return data

    async def download_into(
        self,
        url: str,
        out: BinaryIO,
        *,
        max_bytes: int = MAX_DOWNLOAD_BYTES,
        enough: Callable[[bytes], bool] | None = None,
    ) -> int:
        """Write a result's body, decoded, into `out`; how many bytes. Never more than
        `max_bytes` (UnexpectedResponseError), and never longer than DOWNLOAD_DEADLINE seconds
        or slower than DOWNLOAD_MIN_RATE (RequestTimeout, which is worth retrying).

        Only an absolute http(s) URL is fetched: a relative one (a server's `cover_url` of
        `/styles/X/share/link`) would be resolved against the API and sent the token, with
        whatever that route does; it is refused before any request (UnexpectedResponseError)."""
        check_absolute(url)
        deadline = DOWNLOAD_DEADLINE
        size = 0
        head = bytearray()  # what `enough` is asked about
        try:
            async with asyncio.timeout(deadline):
                chunks = self._result_chunks(url, max_bytes)
                try:
                    async for chunk in chunks:
                        out.write(chunk)
                        size += len(chunk)
                        if enough is not None and size <= ENOUGH_BYTES:
                            head += chunk
                            if enough(bytes(head)):
                                break  # the rest is not needed: the stream is closed unread
                finally:
                    await chunks.aclose()
        except TimeoutError:
            raise RequestTimeout(
                f"GET {url}: the download did not finish within {deadline:g} s "
                f"({size} bytes had come)",
                request_sent=True,
            ) from None
        return size

    async def _result_chunks(self, url: str, max_bytes: int) -> AsyncGenerator[bytes, None]:
        """The body of a result URL, decoded a bounded piece at a time, refusing to go past
        `max_bytes` decoded bytes and giving up on a trickle."""
        async with self._stream("GET", url, route="GET result") as response:
            started = time.monotonic()  # the rate counts from the answer's head on
            if response.status_code >= 400:
                body = await response.read_text(MAX_ERROR_PAGE_BYTES)
                raise self._error(response.status_code, body, response.headers)
            declared = response.headers.get("content-length", "")
            encoding = response.encoding
            if declared.isdigit() and int(declared) > max_bytes and not encoding:
                raise _too_big(url, max_bytes)
            decoder = _Decoder(encoding, url)
            size = 0
            async for raw in response.aiter_raw():
                for chunk in decoder.decode(raw):
                    size += len(chunk)
                    if size > max_bytes:
                        raise _too_big(url, max_bytes)
                    yield chunk
                elapsed = time.monotonic() - started
                if elapsed > DOWNLOAD_RATE_GRACE and size < DOWNLOAD_MIN_RATE * elapsed:
                    raise RequestTimeout(
                        f"GET {url}: slower than {DOWNLOAD_MIN_RATE} bytes/s "
                        f"({size} bytes in {elapsed:.0f} s)",
                        request_sent=True,
                    )
            for chunk in decoder.flush():
                size += len(chunk)
                if size > max_bytes:
                    raise _too_big(url, max_bytes)
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

    async def _json(
        self, method: str, url: str, *, route: str, deadline: float | None = None, **kwargs: Any
    ) -> Any:
        if self.budget is not None:
            await self.budget.take()
        self.request_counts[route] += 1
        sent = utcnow()
        deadline = deadline or self.deadline
        try:
            response, body = await awake_for(self._exchange(method, url, **kwargs), deadline)
        except TimeoutError:
            # The request may have arrived (a POST may have created a job): say so.
            raise RequestTimeout(
                f"{method} {url}: no complete answer within {deadline:g} s",
                request_sent=True,
            ) from None
        self._saw_server_time(sent, response.headers.get("date"))
        status = response.status_code
        log.debug("%s %s -> %s", method, url, status)
        text = _decode(body, response.encoding)
        if status >= 400:
            raise self._error(status, text, response.headers)  # redacts once decoded
        if 300 <= status < 400:
            # Never followed: the token would go wherever the redirect points.
            where = self.redacted(response.headers.get("location", "nowhere"))
            raise UnexpectedResponseError(
                f"{method} {url}: answered {status}, a redirect to {where[:200]}, which "
                "krea-tui does not follow",
                status=status,
            )
        if not text.strip():
            return None
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
            raise UnexpectedResponseError(
                f"{method} {url}: the answer is not JSON", status=status
            ) from None
        return self.redacted(data, source=text)

    def _saw_server_time(self, sent: datetime, date: str | None) -> None:
        """Tell `on_server_time` what the server's clock read (its `Date` header) between
        `sent` and now, on ours: lost POSTs are matched on the server's clock."""
        if self.on_server_time is None or not date:
            return
        try:
            server = email.utils.parsedate_to_datetime(date)
        except (TypeError, ValueError):
            return
        if server.tzinfo is None:
            return  # "-0000": the docs' way of saying the zone is unknown
        self.on_server_time(sent, utcnow(), server)

    def redacted(self, value: Any, *, source: str | None = None) -> Any:
        """A server's answer (decoded JSON, or text) without this client's token in any string
        of it. Redacted after decoding, never before: `\\u0073k-...` in the raw text is the
        token once decoded. Everything read from a server passes here before it is kept,
        logged or shown (webhook deliveries too). `source`: the text `value` was decoded from,
        which lets a clean answer through without a walk over it."""
        if isinstance(value, str):
            return redact(value, (self._token,))
        return redact_json(value, (self._token,), source=source)

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


def check_absolute(url: str) -> None:
    """UnexpectedResponseError unless `url` is an absolute http(s) URL with a host."""
    try:
        parts = urlsplit(url)
        absolute = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        absolute = False
    if not absolute:
        raise UnexpectedResponseError(
            f"{url[:200]!r} is no absolute http(s) URL: pictures are fetched only from one "
            "(a relative link would go to the API, with the token)"
        )


def _asset(data: Any) -> Asset:
    try:
        return Asset.from_api(data)
    except ValueError as exc:
        raise UnexpectedResponseError(f"not an asset: {exc}", status=200) from None


def _style(data: Any) -> Style:
    try:
        return Style.from_api(data)
    except ValueError as exc:
        raise UnexpectedResponseError(f"not a style: {exc}", status=200) from None


class _ProgressReader(io.BytesIO):
    """An upload's bytes, read by httpx a chunk at a time; each read reports how far it got."""

    def __init__(self, data: bytes, report: Callable[[int, int], None] | None) -> None:
        super().__init__(data)
        self._report = report
        self._total = len(data)

    def read(self, size: int | None = -1, /) -> bytes:
        chunk = super().read(size)
        if chunk and self._report is not None:
            self._report(self.tell(), self._total)
        return chunk


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
            self._method,
            self._url,
            timeout=DOWNLOAD_TIMEOUT,
            follow_redirects=True,
            headers={"Accept-Encoding": RESULT_ENCODINGS},
        )
        try:
            response = await self._cm.__aenter__()
        except httpx.TooManyRedirects:
            # A loop (or a chain no CDN needs): asking again leads round the same circle.
            raise UnexpectedResponseError(
                f"{self._method} {self._url}: too many redirects (a redirect loop?)", status=302
            ) from None
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

    @property
    def _read_already(self) -> bool:
        # An answer made in memory (httpx.MockTransport) comes read and decoded already.
        return hasattr(self._response, "_content")

    @property
    def encoding(self) -> str:
        """The Content-Encoding `aiter_raw`'s bytes are in."""
        return "" if self._read_already else self.headers.get("content-encoding", "")

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        """The body as it came, still compressed: `_Decoder` inflates it in bounded pieces."""
        if self._read_already:
            yield self._response.content
            return
        try:
            async for chunk in self._response.aiter_raw():
                yield chunk
        except httpx.HTTPError as exc:
            raise self._client._transport_error(exc, self._method, self._url) from None

    async def read_text(self, limit: int) -> str:
        """The start of an error answer's body, as text: at most `limit` decoded bytes are
        read, so an endless or inflating error page costs no more than that."""
        parts: list[bytes] = []
        size = 0
        try:
            decoder = _Decoder(self.encoding, self._url)
            async for raw in self.aiter_raw():
                for chunk in decoder.decode(raw):
                    parts.append(chunk[: limit - size])
                    size += len(parts[-1])
                    if size >= limit:
                        break
                if size >= limit:
                    break
        except KreaError:
            pass  # an error is being reported already: its page is only a detail
        return b"".join(parts).decode("utf-8", "replace")


def _too_big(url: str, max_bytes: int) -> UnexpectedResponseError:
    return UnexpectedResponseError(
        f"GET {url}: the result is larger than {max_bytes:,} bytes",
        status=200,
    )


class _Decoder:
    """Undoes a result body's Content-Encoding (gzip or deflate, as RESULT_ENCODINGS asks
    for) a piece of at most DECODE_PIECE bytes at a time. httpx's own decoder inflates each
    network chunk whole: 64 KB of a gzip bomb become 64 MB in one go."""

    def __init__(self, encoding: str, url: str) -> None:
        self._url = url
        names = [n.strip().lower() for n in encoding.split(",") if n.strip()]
        names = [n for n in names if n != "identity"]
        self._kind = names[0] if names else ""
        if len(names) > 1 or self._kind not in ("", "gzip", "x-gzip", "deflate"):
            raise UnexpectedResponseError(
                f"GET {url}: the result came with Content-Encoding {encoding!r}, which "
                f"krea-tui did not ask for (it asks for {RESULT_ENCODINGS})",
                status=200,
            )
        wbits = zlib.MAX_WBITS | 16 if self._kind in ("gzip", "x-gzip") else zlib.MAX_WBITS
        self._inflate = zlib.decompressobj(wbits) if self._kind else None
        self._started = False

    def decode(self, data: bytes) -> Iterator[bytes]:
        if self._inflate is None:
            if data:
                yield data
            return
        try:
            if not self._started and data:
                self._started = True
                wrapped = len(data) < 2 or (
                    data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
                )
                if self._kind == "deflate" and not wrapped:
                    # Raw deflate, without the zlib header: some servers send that.
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
            while not self._inflate.eof:
                piece = self._inflate.decompress(data, DECODE_PIECE)
                data = self._inflate.unconsumed_tail
                if piece:
                    yield piece
                if not data and len(piece) < DECODE_PIECE:
                    break  # all taken in, nothing more pending
        except zlib.error as exc:
            raise UnexpectedResponseError(
                f"GET {self._url}: the result's {self._kind} encoding is broken ({exc})",
                status=200,
            ) from None

    def flush(self) -> Iterator[bytes]:
        if self._inflate is not None and self._started and not self._inflate.eof:
            yield from self.decode(b"")
            if not self._inflate.eof:
                raise UnexpectedResponseError(
                    f"GET {self._url}: the result's {self._kind} stream ends early", status=200
                )
