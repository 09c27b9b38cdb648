"""Builds what every front end needs from the settings: client, store, engine, and, in demo
mode, an embedded simulator on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any

from krea_tui.config import Settings
from krea_tui.core.api import KreaClient
from krea_tui.core.catalog import Catalog, load_catalog, refresh_catalog
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.store import JobStore

log = logging.getLogger(__name__)
ENV_DEMO_SPEED = "KREA_TUI_DEMO_SPEED"


class SetupError(Exception):
    """The app cannot start as configured (no token, unreadable store, …); says what to do."""


@dataclass(slots=True)
class Runtime:
    settings: Settings
    client: KreaClient
    store: JobStore
    engine: JobEngine
    catalog: Catalog
    sim: Any = None  # RunningSim in demo mode

    @property
    def demo(self) -> bool:
        return self.sim is not None


def start_demo_simulator() -> Any:
    """The simulator behind `--demo`: real HTTP on loopback, a generated token, no cost."""
    from krea_tui.sim.config import SimConfig
    from krea_tui.sim.server import start_sim_thread

    speed = float(os.environ.get(ENV_DEMO_SPEED, "2"))
    return start_sim_thread(SimConfig(port=0, speed=speed, concurrency=4, backlog=64))


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
        preview_dir=settings.data_dir / ("demo-previews" if settings.demo else "previews"),
    )


@contextlib.asynccontextmanager
async def open_runtime(settings: Settings, *, start_engine: bool = True) -> AsyncIterator[Runtime]:
    """Everything wired together; the engine runs (and the demo simulator serves) inside."""
    sim = None
    if settings.demo:
        sim = start_demo_simulator()
        settings = replace(settings, base_url=sim.base_url, token=sim.token)
    try:
        token = settings.resolve_token()
        if not token:
            raise SetupError(
                "no API token: set KREA_API_TOKEN, put `token` or `token_command` in the config "
                "file, or try the simulator with --demo"
            )
        try:
            store = JobStore(settings.history_path)
        except Exception as exc:
            raise SetupError(f"cannot open the history at {settings.history_path}: {exc}") from None
        cache_dir = settings.data_dir / ("demo-cache" if settings.demo else "cache")
        catalog = load_catalog(cache_dir)
        client = KreaClient(token, base_url=settings.base_url)
        engine = JobEngine(client, store, engine_config(settings))
        runtime = Runtime(settings, client, store, engine, catalog, sim)
        refresh = asyncio.create_task(refresh_catalog(client.get_openapi, cache_dir))
        try:
            if start_engine:
                await engine.start()
            yield runtime
        finally:
            refresh.cancel()
            with contextlib.suppress(BaseException):
                await refresh
            if start_engine:
                await engine.stop()
            await client.aclose()
            store.close()
    finally:
        if sim is not None:
            sim.stop()
