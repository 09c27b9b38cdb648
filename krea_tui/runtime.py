"""Builds what every front end needs from the settings: client, store, engine, and, in demo
mode, the shared demo service of the data directory (started if none runs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from krea_tui.config import DEFAULT_WEBHOOK_LISTEN, Settings
from krea_tui.core.api import KreaClient, RequestBudget
from krea_tui.core.assets import Uploader, notices
from krea_tui.core.catalog import Catalog, load_catalog, refresh_catalog
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.store import JobStore, StoreError

if TYPE_CHECKING:
    from krea_tui.core.webhooks import WebhookReceiver

log = logging.getLogger(__name__)
ENV_DEMO_SPEED = "KREA_TUI_DEMO_SPEED"
ENV_DEMO_IDLE = "KREA_TUI_DEMO_IDLE"  # seconds without a request before the demo service exits


class SetupError(Exception):
    """The app cannot start as configured (no token, unreadable store, …); says what to do."""


@dataclass(slots=True)
class Runtime:
    settings: Settings
    client: KreaClient
    store: JobStore
    engine: JobEngine
    catalog: Catalog
    sim: Any = None  # the shared demo service (sim/service.py DemoService) in demo mode
    webhooks: WebhookReceiver | None = None  # serving while the engine runs, if configured

    @property
    def demo(self) -> bool:
        return self.sim is not None


def start_demo_simulator(data_dir: Path) -> Any:
    """The service behind `--demo`: one simulator per demo data directory, shared by every
    process using it and durable (sim/service.py). Real HTTP on loopback, no cost."""
    from krea_tui.sim.service import DEFAULT_IDLE_EXIT, connect

    speed = float(os.environ.get(ENV_DEMO_SPEED, "2"))
    idle = float(os.environ.get(ENV_DEMO_IDLE, DEFAULT_IDLE_EXIT))
    try:
        return connect(data_dir, speed=speed, idle_exit=idle)
    except (RuntimeError, OSError) as exc:
        why = exc.strerror.lower() if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise SetupError(
            f"cannot start the demo service in {data_dir}: {why}. Point KREA_TUI_DATA_DIR (or "
            "data_dir in the config) at a folder you can write"
        ) from None


async def watch_demo_service(service: Any, every: float = 5.0) -> None:
    """Start the demo service again if it goes away (killed, or idle while we slept)."""
    while True:
        await asyncio.sleep(every)
        with contextlib.suppress(Exception):
            await asyncio.to_thread(service.ensure)


def engine_config(settings: Settings) -> EngineConfig:
    return EngineConfig(
        output_dir=settings.results_dir,
        name_template=settings.name_template,
        max_in_flight=settings.max_in_flight,
        max_posts=settings.max_posts,
        min_interval=settings.min_interval,
        max_interval=settings.max_interval,
        auto_download=settings.auto_download,
        webhook_url=settings.webhook_url,
        max_spend_per_day=settings.max_spend_per_day,
        max_spend_per_batch=settings.max_spend_per_batch,
        preview_dir=settings.data_dir / ("demo-previews" if settings.demo else "previews"),
    )


def parse_listen(address: str) -> tuple[str, int]:
    """An address like "127.0.0.1:8788" or "[::1]:8788" as (host, port)."""
    host, sep, port = address.strip().rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    host = host[1:-1] if bracketed else host
    if not sep or not host or (":" in host and not bracketed) or not port.isdigit():
        raise SetupError(
            f"webhook_listen {address!r} is not host:port (an IPv6 address goes in brackets)"
        )
    if int(port) > 65535:
        raise SetupError(f"webhook_listen {address!r}: port {port} is out of range")
    return host, int(port)


async def start_webhooks(settings: Settings, engine: JobEngine) -> WebhookReceiver:
    """The receiver for `settings.webhook_url`, serving on `webhook_listen` (loopback unless
    told otherwise) at the URL's own path, as a tunnel or reverse proxy passes it on."""
    # Imported here: without webhooks nobody pays for Starlette and uvicorn.
    from krea_tui.core.webhooks import WebhookReceiver

    address = settings.webhook_listen or DEFAULT_WEBHOOK_LISTEN
    host, port = parse_listen(address)
    path = urlsplit(settings.webhook_url or "").path or "/"
    receiver = WebhookReceiver(engine, host=host, port=port, path=path)
    try:
        await receiver.start()
    except OSError as exc:
        raise SetupError(
            f"cannot listen for webhooks on {address}: {exc.strerror or exc}; "
            "set webhook_listen to a free host:port, or unset webhook_url"
        ) from None
    return receiver


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, start_engine: bool = True) -> AsyncIterator[Runtime]:
    """Everything wired together; the engine runs (and the demo simulator serves) inside."""
    sim = None
    watchdog: asyncio.Task[None] | None = None
    if settings.demo:
        sim = await asyncio.to_thread(start_demo_simulator, settings.data_dir)
        watchdog = asyncio.create_task(watch_demo_service(sim))
        # The simulator must not POST to a real public webhook URL of the user's.
        settings = replace(settings, base_url=sim.base_url, token=sim.token, webhook_url=None)
    try:
        token = settings.resolve_token()
        if not token:
            raise SetupError(
                "no API token: set KREA_API_TOKEN, put `token` or `token_command` in the config "
                "file, or try the simulator with --demo"
            )
        try:
            store = JobStore(settings.history_path)
        except StoreError as exc:
            raise SetupError(str(exc)) from None
        cache_dir = settings.catalog_cache_dir
        catalog = load_catalog(cache_dir)
        budget = RequestBudget(
            settings.request_budget, burst=max(1, int(settings.request_budget * 2))
        )
        client = KreaClient(token, base_url=settings.base_url, budget=budget)
        client.zero_data_retention = settings.zero_data_retention
        engine = JobEngine(client, store, engine_config(settings))
        engine.submitter.inputs = Uploader(
            client,
            store,
            catalog=catalog,
            zero_data_retention=settings.zero_data_retention,
            on_progress=notices(engine.publish),
        )
        runtime = Runtime(settings, client, store, engine, catalog, sim)
        refresh = asyncio.create_task(refresh_catalog(client.get_openapi, cache_dir))
        try:
            if start_engine:
                await engine.start()
                if settings.webhook_url:
                    runtime.webhooks = await start_webhooks(settings, engine)
            yield runtime
        finally:
            refresh.cancel()
            with contextlib.suppress(BaseException):
                await refresh
            if runtime.webhooks is not None:
                await runtime.webhooks.stop()  # no delivery may reach a stopped engine
            if start_engine:
                await engine.stop()
            await client.aclose()
            store.close()
    finally:
        if watchdog is not None:
            watchdog.cancel()
            with contextlib.suppress(BaseException):
                await watchdog
        if sim is not None:
            sim.stop()  # the shared service keeps serving; it exits by itself when idle
