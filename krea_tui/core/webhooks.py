"""The optional webhook receiver: Krea POSTs a finished job here, so polling can slow down.

It serves in the engine's own event loop (`engine.receive` is not thread-safe). Deliveries are
unsigned, so nothing in one is trusted beyond what `engine.receive` checks: only job ids we track
are taken, and an unknown one learns nothing but 404. Bodies are capped; repeats are harmless.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import socket

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from krea_tui.core.engine import JobEngine
from krea_tui.core.listen import bind_tcp, url_host
from krea_tui.core.models import Job

log = logging.getLogger(__name__)

READ_TIMEOUT = 10.0  # a body trickled in slower than this is dropped (slowloris)
MAX_CONNECTIONS = 32  # beyond this uvicorn answers 503 rather than piling up


def _loggable(value: object, size: int = 12) -> str:
    # Ids and statuses come from an unauthenticated sender: keep log lines short and plain.
    return re.sub(r"[^A-Za-z0-9_.-]", "?", str(value)[:size])


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = asyncio.Event()  # set once it accepts connections, or could not

    def capture_signals(self) -> contextlib.AbstractContextManager[None]:  # type: ignore[override]
        # Ctrl-C and SIGTERM belong to the app (TUI, headless CLI), not to this side server.
        return contextlib.nullcontext()

    async def run_on(self, sock: socket.socket) -> None:
        try:
            await self.serve(sockets=[sock])
        finally:
            self.ready.set()
            sock.close()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


class _TooLarge(Exception):
    pass


def _report_crash(task: asyncio.Task[None]) -> None:
    # Deliveries would stop silently otherwise; polling still finishes the jobs, only slowly.
    if not task.cancelled() and task.exception() is not None:
        log.error("webhook receiver stopped", exc_info=task.exception())


class WebhookReceiver:
    """Serves `path` on host:port (loopback by default) and hands deliveries to `engine`.

    Await `start()` (or use `async with`) in the engine's event loop; `port` and `local_url`
    are known once it has started.
    """

    def __init__(
        self,
        engine: JobEngine,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/",
        max_body: int = 1_000_000,
    ) -> None:
        self.engine = engine
        self.host = host
        self.port = port
        self.path = path if path.startswith("/") else f"/{path}"
        self.max_body = max_body
        self.app = Starlette(routes=[Route(self.path, self._deliver, methods=["POST"])])
        self._server: _Server | None = None
        self._task: asyncio.Task[None] | None = None
        self._sock: socket.socket | None = None

    @property
    def local_url(self) -> str:
        return f"http://{url_host(self.host)}:{self.port}{self.path}"

    @property
    def bound_address(self) -> tuple[str, int] | None:
        """The listening socket's own address (host, port), while serving."""
        return self._sock.getsockname()[:2] if self._sock is not None else None

    async def start(self) -> None:
        """Bind (OSError if the address is taken or not ours) and serve until `stop()`."""
        sock = bind_tcp(self.host, self.port)
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            lifespan="off",
            access_log=False,
            log_config=None,  # never reconfigure the host process's logging
            server_header=False,
            date_header=False,
            limit_concurrency=MAX_CONNECTIONS,
            timeout_graceful_shutdown=1,
        )
        server = _Server(config)
        task = asyncio.create_task(server.run_on(sock), name="webhook-receiver")
        await server.ready.wait()
        if not server.started:
            failure = (await asyncio.gather(task, return_exceptions=True))[0]
            raise OSError(f"the webhook receiver did not start on {self.local_url}: {failure}")
        task.add_done_callback(_report_crash)
        self._server, self._task, self._sock = server, task, sock
        log.info("webhook receiver listening on %s", self.local_url)

    async def stop(self) -> None:
        if self._server is None or self._task is None:
            return
        self._server.should_exit = True
        await asyncio.gather(self._task, return_exceptions=True)
        self._server = self._task = self._sock = None

    async def __aenter__(self) -> WebhookReceiver:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _read_body(self, request: Request) -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            raise _TooLarge  # refused before a byte of it is read
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(READ_TIMEOUT):
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.max_body:  # chunked, or a Content-Length that lied
                    raise _TooLarge
                chunks.append(chunk)
        return b"".join(chunks)

    async def _deliver(self, request: Request) -> JSONResponse:
        try:
            body = await self._read_body(request)
        except _TooLarge:
            log.info("webhook refused: body over %d bytes", self.max_body)
            return JSONResponse({"error": "body too large"}, status_code=413)
        except TimeoutError:
            log.info("webhook refused: body not received within %.0f s", READ_TIMEOUT)
            return JSONResponse({"error": "timeout"}, status_code=408)
        try:
            # Redacted once decoded, like every answer: a JSON escape hides a token from text.
            job = Job.from_api(self.engine.client.redacted(json.loads(body)))
        except (ValueError, RecursionError):  # bad JSON or encoding, no job id, absurd nesting
            log.info("webhook refused: not a job object")
            return JSONResponse({"error": "bad request"}, status_code=400)
        job_id, status = _loggable(job.job_id), _loggable(job.status_text, 24)
        try:
            taken = self.engine.receive(job)
        except Exception:
            # Our fault, not the sender's: a 5xx lets Krea retry, and polling is still there.
            log.exception("webhook for job %s (%s) could not be recorded", job_id, status)
            return JSONResponse({"error": "internal error"}, status_code=500)
        if not taken:
            log.info("webhook for unknown job %s (%s) refused", job_id, status)
            return JSONResponse({"error": "unknown job"}, status_code=404)
        log.info("webhook: job %s %s", job_id, status)
        return JSONResponse({"ok": True})
