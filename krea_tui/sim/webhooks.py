"""Webhook delivery: POST the job JSON to X-Webhook-URL when a job reaches a terminal state.

No signature (none is documented). Any 2xx counts as delivered; failures are retried with
backoff; with `duplicates` every successful delivery is sent a second time, because the docs
warn that duplicates happen and clients must be idempotent.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx

log = logging.getLogger(__name__)

USER_AGENT = "krea-sim-webhooks/1"


class WebhookSender:
    """Runs inside the server's event loop; `submit` is called from the scheduler."""

    def __init__(
        self,
        *,
        duplicates: Callable[[], bool],
        retries: Callable[[], int],
        timeout: float = 5.0,
        backoff: float = 0.25,
    ) -> None:
        self._duplicates = duplicates
        self._retries = retries
        self._timeout = timeout
        self._backoff = backoff
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._lock = threading.Lock()
        self.log: list[dict[str, Any]] = []  # one entry per attempt, for the admin endpoint

    async def start(self) -> None:
        # trust_env=False: a proxy from the environment must never see simulator traffic.
        self._client = httpx.AsyncClient(
            timeout=self._timeout, trust_env=False, headers={"User-Agent": USER_AGENT}
        )

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def submit(self, url: str, body: dict[str, Any]) -> None:
        task = asyncio.get_running_loop().create_task(self._deliver(url, body))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def pending(self) -> int:
        return len(self._tasks)

    def summary(self) -> dict[str, int]:
        with self._lock:
            ok = sum(1 for e in self.log if e["ok"])
            return {"attempts": len(self.log), "delivered": ok, "failed": len(self.log) - ok}

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self.log]

    def reset(self) -> None:
        with self._lock:
            self.log.clear()

    async def _deliver(self, url: str, body: dict[str, Any]) -> None:
        copies = 2 if self._duplicates() else 1
        for copy in range(copies):
            if not await self._attempts(url, body, copy):
                return

    async def _attempts(self, url: str, body: dict[str, Any], copy: int) -> bool:
        retries = max(0, self._retries())
        for attempt in range(retries + 1):
            if attempt:
                await asyncio.sleep(self._backoff * 2 ** (attempt - 1))
            status: int | None = None
            error: str | None = None
            try:
                assert self._client is not None, "WebhookSender.start() was not awaited"
                response = await self._client.post(url, json=body)
                status = response.status_code
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            ok = status is not None and 200 <= status < 300
            with self._lock:
                self.log.append(
                    {
                        "job_id": body.get("job_id"),
                        "status": body.get("status"),
                        "url": url,
                        "copy": copy,
                        "attempt": attempt,
                        "http_status": status,
                        "error": error,
                        "ok": ok,
                        "at": time.time(),
                    }
                )
            if ok:
                return True
            log.info("webhook to %s failed (%s)", url, error or status)
        return False
