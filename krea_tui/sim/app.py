"""The simulator's HTTP surface: Krea's routes, auth and error bodies, on Starlette.

`Simulator` bundles one instance's config, state, stats and ASGI app. The scheduler that wakes
at the next job end (to deliver webhooks on time) runs in the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from email.utils import format_datetime, formatdate
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from krea_tui.core.catalog import Catalog, UnknownModelError, bundled_catalog
from krea_tui.sim import admin, jobspec
from krea_tui.sim.assets import AssetStore, check_inputs
from krea_tui.sim.assets import routes as asset_routes
from krea_tui.sim.config import SimConfig
from krea_tui.sim.enhance import Enhancer, EnhanceRefused, is_enhance, media_type
from krea_tui.sim.faults import CONCURRENCY_MESSAGE, FaultMiddleware, RequestStats
from krea_tui.sim.images import ImageCache
from krea_tui.sim.jobs import LIMIT_PROBLEM, LORA_TRAINING, JobRequest, page_limit
from krea_tui.sim.openapi import build_openapi
from krea_tui.sim.state import STATUSES, BacklogFull, Clock, PaymentRequired, SimState, parse_cursor
from krea_tui.sim.styles import StyleStore
from krea_tui.sim.styles import routes as style_routes
from krea_tui.sim.webhooks import WebhookSender

NOT_AUTHENTICATED = "You are not authenticated."
INVALID_TOKEN = "Invalid API token."


def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


class ServerDate:
    """Every answer's `Date` header from the simulator's own clock, as a real server's Date
    and its jobs' `created_at` come from one clock (uvicorn's would use this machine's)."""

    def __init__(self, app: ASGIApp, clock: Clock) -> None:
        self.app = app
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def dated(message: Message) -> None:
            if message["type"] == "http.response.start":
                date = formatdate(self.clock(), usegmt=True).encode()
                message = {**message, "headers": [*message.get("headers", []), (b"date", date)]}
            await send(message)

        await self.app(scope, receive, dated)


class Simulator:
    """One simulator instance. `asgi` is what uvicorn serves."""

    def __init__(
        self, config: SimConfig, *, clock: Clock = time.time, catalog: Catalog | None = None
    ) -> None:
        self.config = config
        self.catalog = catalog or bundled_catalog()
        self.state = SimState(config, clock)
        self.stats = RequestStats()
        self.images = ImageCache()
        self.enhancer = Enhancer(self._result_bytes)
        self.assets = AssetStore(clock)
        self.styles = StyleStore(lambda: self.state.jobs_of_type(LORA_TRAINING))
        self.webhooks = WebhookSender(
            duplicates=lambda: self.config.webhook_duplicates,
            retries=lambda: self.config.webhook_retries,
        )
        self._wake: asyncio.Event | None = None
        self._openapi: dict[str, Any] | None = None
        routes = [
            Route("/generate/image/{model:path}", self.generate, methods=["POST"]),
            Route("/generate/enhance/{model:path}", self.generate, methods=["POST"]),
            Route("/jobs", self.list_jobs, methods=["GET"]),
            Route("/jobs/{job_id}", self.get_job, methods=["GET"]),
            Route("/jobs/{job_id}", self.cancel_job, methods=["DELETE"]),
            Route("/openapi.json", self.openapi, methods=["GET"]),
            Route("/results/{job_id}/{name}", self.result_file, methods=["GET"]),
            *asset_routes(self),
            *style_routes(self),
        ]
        if config.admin_enabled:
            routes += admin.routes(self)
        self.starlette = Starlette(
            routes=routes,
            lifespan=self._lifespan,
            exception_handlers={HTTPException: self._http_error},  # type: ignore[dict-item]
        )
        dated = ServerDate(self.starlette, clock)
        self.asgi = FaultMiddleware(dated, config.faults, self.stats, config.seed)

    # -- lifespan: the scheduler -------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        wake = self._wake

        def on_change() -> None:
            loop.call_soon_threadsafe(wake.set)

        self.state.on_change = on_change
        await self.webhooks.start()
        task = loop.create_task(self._scheduler(wake))
        try:
            yield
        finally:
            self.state.on_change = None
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            await self.webhooks.stop()

    async def _scheduler(self, wake: asyncio.Event) -> None:
        """Deliver webhooks when jobs end; sleeps until the next end or a change."""
        while True:
            for url, body in self.state.poll_webhooks():
                self.webhooks.submit(url, body)
            due = self.state.next_due()
            timeout = None if due is None else max(0.001, due - self.state.clock())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout)
            wake.clear()

    def reset(self) -> None:
        """Forget jobs, counts and deliveries; the config (faults included) stays."""
        self.state.reset()
        self.assets.reset()
        self.styles.reset()
        self.stats.reset()
        self.webhooks.reset()
        self.asgi.reseed(self.config.seed)

    def wake(self) -> None:
        self.state.notify()

    # -- helpers -----------------------------------------------------------------------------

    async def _http_error(self, request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 404:
            return error(404, f"No route for {request.method} {request.url.path}.")
        if exc.status_code == 405:
            return error(405, f"Method {request.method} is not allowed here.")
        return error(exc.status_code, str(exc.detail))

    def _token(self, request: Request) -> tuple[str | None, Response | None]:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.strip().partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token:
            return None, error(401, NOT_AUTHENTICATED)
        if token not in self.config.tokens:
            return None, error(401, INVALID_TOKEN)
        return token, None

    @staticmethod
    def _base_url(request: Request) -> str:
        return str(request.base_url).rstrip("/")

    # -- the API -----------------------------------------------------------------------------

    async def generate(self, request: Request) -> Response:
        token, denied = self._token(request)
        if denied is not None or token is None:
            return denied or error(401, NOT_AUTHENTICATED)
        path = request.path_params["model"].strip("/")
        if request.url.path.startswith("/generate/enhance/"):
            path = f"enhance/{path}"  # the catalogue's key for an upscaler
        retired = self.config.retired.get(path)
        if retired is not None:
            return JSONResponse(retired.body(), status_code=410)
        named = path if path.startswith("enhance/") else f"image/{path}"
        try:
            model = self.catalog.get(path)
        except UnknownModelError:
            return error(404, f"Unknown model: {named}.")
        if model.path != path:  # only exact endpoints exist on the real API
            return error(404, f"Unknown model: {named}.")
        self.stats.record_model(model.path)

        try:
            body = json.loads(await request.body() or b"null")
        except ValueError:
            return error(400, "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return error(400, "The request body must be a JSON object.")
        webhook_url = request.headers.get("x-webhook-url")
        if webhook_url is not None:
            parts = urlsplit(webhook_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                return error(400, "X-Webhook-URL must be an absolute http(s) URL.")
        problems = self.catalog.validate(model.path, body)
        if problems:
            message = "; ".join(_problem_text(p.field, p.message) for p in problems)
            return error(self.config.validation_status, message)
        normalized = self.catalog.normalize(model.path, body)
        refused = check_inputs(self.assets, model, normalized, request, self._base_url(request))
        if refused is not None:
            return refused
        unusable = self.styles.usable_problems(token, normalized)
        if unusable:
            return error(400, " ".join(unusable))
        if model.kind == "enhance":
            try:
                job = await self.enhancer.job_request(
                    model,
                    normalized,
                    default_seconds=self.config.default_seconds,
                    webhook_url=webhook_url,
                    base_url=self._base_url(request),
                )
            except EnhanceRefused as exc:
                return error(400, str(exc))
        else:
            job = jobspec.job_request(
                model,
                normalized,
                default_seconds=self.config.default_seconds,
                webhook_url=webhook_url,
                base_url=self._base_url(request),
            )
        try:
            created = self.state.create(token, job)
        except PaymentRequired as exc:
            return error(402, str(exc))
        except BacklogFull as exc:
            return error(429, CONCURRENCY_MESSAGE, {"Retry-After": str(exc.retry_after)})
        return JSONResponse(created, headers=self._deprecation_headers(model.path))

    def create_job(self, token: str, job: JobRequest) -> Response:
        """Queue a job for `token` (POST /styles/train's): its JSON, or the 402/429."""
        try:
            created = self.state.create(token, job)
        except PaymentRequired as exc:
            return error(402, str(exc))
        except BacklogFull as exc:
            return error(429, CONCURRENCY_MESSAGE, {"Retry-After": str(exc.retry_after)})
        return JSONResponse(created)

    def _deprecation_headers(self, path: str) -> dict[str, str] | None:
        sunset = self.config.deprecated.get(path)
        if sunset is None:
            return None
        when = datetime.fromisoformat(sunset).replace(tzinfo=UTC)
        slug = path.replace("/", "-")
        return {
            "Deprecation": "true",
            "Sunset": format_datetime(when, usegmt=True),
            "Link": f'<https://docs.krea.ai/developers/deprecations#{slug}>; rel="deprecation"; '
            'type="text/html"',
        }

    async def get_job(self, request: Request) -> Response:
        token, denied = self._token(request)
        if denied is not None or token is None:
            return denied or error(401, NOT_AUTHENTICATED)
        job_id = request.path_params["job_id"]
        job = self.state.get(token, job_id)
        if job is None:
            return error(404, f"Job {job_id} not found.")
        return JSONResponse(job)

    async def list_jobs(self, request: Request) -> Response:
        token, denied = self._token(request)
        if denied is not None or token is None:
            return denied or error(401, NOT_AUTHENTICATED)
        query = request.query_params
        limit = page_limit(query)
        if limit is None:
            return error(400, LIMIT_PROBLEM)
        cursor_us = None
        if query.get("cursor"):
            try:
                cursor_us = parse_cursor(query["cursor"])
            except ValueError:
                return error(400, "cursor must be an ISO 8601 date-time.")
        status = query.get("status") or None
        if status is not None and status not in STATUSES:
            return error(400, f"status must be one of: {', '.join(STATUSES)}.")
        types = [t.strip() for t in query.get("types", "").split(",") if t.strip()] or None
        items, next_cursor = self.state.list(
            token, cursor_us=cursor_us, limit=limit, status=status, types=types
        )
        return JSONResponse({"items": items, self.config.cursor_key: next_cursor})

    async def cancel_job(self, request: Request) -> Response:
        token, denied = self._token(request)
        if denied is not None or token is None:
            return denied or error(401, NOT_AUTHENTICATED)
        job_id = request.path_params["job_id"]
        outcome, _job = self.state.cancel(token, job_id)
        if outcome == "missing":
            return error(404, f"Job {job_id} not found.")
        if outcome != "ok":
            return error(
                self.config.cancel_conflict_status,
                f"Job {job_id} is {outcome}; only queued or processing jobs can be cancelled.",
            )
        return JSONResponse({"job_id": job_id, "deleted": True})

    async def openapi(self, request: Request) -> Response:
        if self._openapi is None:
            self._openapi = build_openapi(self.catalog)
        document = dict(self._openapi, servers=[{"url": self._base_url(request)}])
        return JSONResponse(document)

    async def result_file(self, request: Request) -> Response:
        """Result and preview PNGs. Public, like Krea's CDN links: no token needed."""
        job_id, name = request.path_params["job_id"], request.path_params["name"]
        try:
            found = await self._result_bytes(job_id, name)
        except EnhanceRefused as exc:  # an enhance job's source is gone since it was sent
            return error(404, f"Not found: {exc}")
        if found is None:
            return error(404, "Not found.")
        data, media = found
        return Response(
            data,
            media_type=media,
            headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{job_id}-{name}"'},
        )

    async def _result_bytes(self, job_id: str, name: str) -> tuple[bytes, str] | None:
        """(bytes, media type) of a ready result or preview file; None when there is none."""
        found = self.state.job_request(job_id)
        if found is None or name not in (found[0].result_name, "preview.png"):
            return None
        job, status = found
        preview = name == "preview.png"
        ready = status == "completed" or (preview and status == "intermediate-complete")
        if not ready:
            return None
        if is_enhance(job):
            data = await self.enhancer.render(job_id, job, preview=preview)
            return data, media_type(name)
        data = await anyio.to_thread.run_sync(
            self.images.get_or_render,
            job.model,
            job.prompt,
            job.seed,
            job.width,
            job.height,
            preview,
        )
        return data, "image/png"


def _problem_text(field: str, message: str) -> str:
    """Name the field even when the catalogue's sentence does not."""
    if not field or field in message:
        return message
    return f"{field}: {message}"
