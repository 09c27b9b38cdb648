"""The outermost ASGI layer: counts every request and injects faults.

It sits outside Starlette so that a "dropped connection" can really drop the connection: the
client must see a transport error (httpx.RemoteProtocolError), never a 500.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import threading
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from krea_tui.sim.config import FaultConfig

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_sim/"
CONCURRENCY_MESSAGE = "You have reached the maximum number of concurrent jobs."


def classify(method: str, path: str) -> tuple[str, str]:
    """(label for the request counts, fault group) of a request."""
    if path.startswith(ADMIN_PREFIX):
        return f"{method} {path}", "admin"
    if path.startswith("/generate/"):
        return f"{method} /generate/image/{{model}}", "generate"
    if path == "/jobs" or path == "/jobs/":
        return f"{method} /jobs", "jobs"
    if path.startswith("/jobs/"):
        return f"{method} /jobs/{{id}}", "jobs"
    if path.startswith("/results/"):
        return f"{method} /results/{{id}}/{{file}}", "results"
    if path == "/openapi.json":
        return f"{method} /openapi.json", "openapi"
    return f"{method} (other)", "other"


class RequestStats:
    """Requests served, by endpoint label and status code (or "dropped"). Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[tuple[str, str]] = Counter()
        self._models: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    def record(self, label: str, outcome: str) -> None:
        with self._lock:
            self._counts[(label, outcome)] += 1

    def record_model(self, model: str) -> None:
        with self._lock:
            self._models[model] += 1

    def inject(self, kind: str) -> None:
        with self._lock:
            self.injected[kind] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            by_label: dict[str, dict[str, int]] = {}
            for (label, outcome), count in sorted(self._counts.items()):
                by_label.setdefault(label, {})[outcome] = count
            return {
                "requests": by_label,
                "requests_total": sum(self._counts.values()),
                "generate_by_model": dict(self._models),
                "faults_injected": dict(self.injected),
            }

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()
            self._models.clear()
            self.injected.clear()


def _late(send: Send, seconds: float) -> Send:
    """`send` that holds the answer back `seconds` once the request has been handled."""

    async def late_send(message: Message) -> None:
        if message["type"] == "http.response.start":
            await asyncio.sleep(seconds)
        await send(message)

    return late_send


async def _json_response(
    send: Send, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    data = json.dumps(body).encode()
    raw_headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": data})


async def _drain(receive: Receive) -> None:
    """Read the whole request body, so a drop happens after the server 'heard' the request."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return


async def drop_connection(send: Send) -> None:
    """Close the TCP connection without answering.

    ASGI has no "abort" message, so reach the server's transport through the bound `send`
    (uvicorn's RequestResponseCycle). Waiting for connection_lost marks the cycle disconnected,
    which keeps uvicorn from answering 500 on our behalf. Under a server without that shape,
    fall back to a truncated response: still a protocol error on the client.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is not None and hasattr(cycle, "disconnected"):
        transport.close()
        for _ in range(50):
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0)
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-length", b"1000")],
        }
    )


class FaultMiddleware:
    """Wraps the Starlette app: decides faults per request with a seeded RNG, counts answers."""

    def __init__(self, app: ASGIApp, faults: FaultConfig, stats: RequestStats, seed: int) -> None:
        self.app = app
        self.faults = faults
        self.stats = stats
        self._rng = random.Random(seed)

    def reseed(self, seed: int) -> None:
        self._rng = random.Random(seed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        label, group = classify(scope["method"], scope["path"])
        if group == "admin":
            await self.app(scope, receive, send)
            return

        status_seen: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen.append(int(message["status"]))
            await send(message)

        outcome = await self._handle(scope, receive, send, counting_send, group)
        self.stats.record(label, outcome or (str(status_seen[0]) if status_seen else "none"))

    async def _handle(
        self, scope: Scope, receive: Receive, raw_send: Send, send: Send, group: str
    ) -> str | None:
        """Returns "dropped" when the connection was dropped, else None (status seen by send)."""
        faults = self.faults
        if group not in faults.groups:
            await self.app(scope, receive, send)
            return None
        if faults.burst_429 > 0:
            faults.burst_429 -= 1
            self.stats.inject("burst_429")
            await _drain(receive)
            message = CONCURRENCY_MESSAGE if group == "generate" else "Too many requests."
            await _json_response(send, 429, {"error": message}, {"Retry-After": "1"})
            return None
        rng = self._rng
        # Draw every roll each time, so one setting does not shift the others' sequences.
        drop, error, slow, lose = rng.random(), rng.random(), rng.random(), rng.random()
        if drop < faults.drop_rate:
            self.stats.inject("drop")
            await _drain(receive)
            await drop_connection(raw_send)
            return "dropped"
        if error < faults.error_rate:
            self.stats.inject("error")
            await _drain(receive)
            status = rng.choice((500, 502, 503))
            headers = {"Retry-After": "1"} if status == 503 else None
            body = {"error": f"Simulated server error ({status})."}
            await _json_response(send, status, body, headers)
            return None
        if slow < faults.slow_rate:
            self.stats.inject("slow")
            if faults.slow_after_handling:
                send = _late(send, faults.slow_seconds)
            else:
                await asyncio.sleep(faults.slow_seconds)
        if group == "generate" and lose < faults.drop_after_create_rate:
            self.stats.inject("drop_after_create")
            status_seen: list[int] = []

            async def swallow(message: Message) -> None:
                if message["type"] == "http.response.start":
                    status_seen.append(int(message["status"]))

            await self.app(scope, receive, swallow)
            await drop_connection(raw_send)
            return "dropped" + (f" after {status_seen[0]}" if status_seen else "")
        await self.app(scope, receive, send)
        return None
