"""Runners: the simulator in a background thread (demo mode, tests) or in the foreground (CLI)."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
from types import TracebackType
from typing import Any, TextIO

import uvicorn

from krea_tui.core.catalog import Catalog
from krea_tui.core.listen import bind_tcp, url_host
from krea_tui.sim.app import Simulator
from krea_tui.sim.config import SimConfig
from krea_tui.sim.state import Clock, SimState

STARTUP_TIMEOUT = 10.0


class _Server(uvicorn.Server):
    """uvicorn.Server that tells another thread when it accepts connections (or failed)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


def _uvicorn_config(sim: Simulator, *, configure_logging: bool) -> uvicorn.Config:
    kwargs: dict[str, Any] = {
        "app": sim.asgi,
        "lifespan": "on",
        "access_log": sim.config.log,
        "log_level": "info" if sim.config.log else "warning",
        "timeout_graceful_shutdown": 2,
        "server_header": False,
        "date_header": False,  # the simulator's own clock dates its answers (sim/app.py)
    }
    if not configure_logging:
        # A library must not reconfigure the host process's logging (pytest, the TUI).
        kwargs["log_config"] = None
    return uvicorn.Config(**kwargs)


class RunningSim:
    """A simulator serving on loopback in a daemon thread. Stop it, or use it as a context."""

    def __init__(self, sim: Simulator, server: _Server, thread: threading.Thread, port: int):
        self.sim = sim
        self._server = server
        self._thread = thread
        self.port = port
        self.base_url = f"http://{url_host(sim.config.host)}:{port}"

    @property
    def config(self) -> SimConfig:
        return self.sim.config

    @property
    def state(self) -> SimState:
        return self.sim.state

    @property
    def token(self) -> str:
        return self.sim.config.token

    @property
    def tokens(self) -> list[str]:
        return list(self.sim.config.tokens)

    @property
    def admin_url(self) -> str | None:
        return f"{self.base_url}/_sim" if self.sim.config.admin_enabled else None

    def stats(self) -> dict[str, Any]:
        """Requests served by endpoint and status, plus jobs by status (no admin route needed)."""
        out = self.sim.stats.snapshot()
        out["jobs"] = self.sim.state.status_counts()
        out["webhooks"] = self.sim.webhooks.summary()
        return out

    def timeline(self, job_id: str) -> dict[str, Any] | None:
        return self.sim.state.timeline(job_id)

    def reset(self) -> None:
        """Forget every job and count; keeps the config (use between tests sharing a sim)."""
        self.sim.reset()

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        self._thread.join(timeout)

    def __enter__(self) -> RunningSim:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"RunningSim(base_url={self.base_url!r})"


def start_sim_thread(
    config: SimConfig | None = None, *, clock: Clock = time.time, catalog: Catalog | None = None
) -> RunningSim:
    """Serve a simulator in a daemon thread; returns once it accepts connections.

    Port 0 picks a free port (read `.base_url`). Raises RuntimeError if it cannot start.
    """
    config = config or SimConfig(port=0)
    sim = Simulator(config, clock=clock, catalog=catalog)
    sock = bind_tcp(config.host, config.port)
    port = sock.getsockname()[1]
    server = _Server(_uvicorn_config(sim, configure_logging=False))
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(server.serve(sockets=[sock]))
        except BaseException as exc:  # reported to the starting thread below
            failure.append(exc)
        finally:
            server.ready.set()
            sock.close()

    thread = threading.Thread(target=run, name=f"krea-sim:{port}", daemon=True)
    thread.start()
    if not server.ready.wait(STARTUP_TIMEOUT) or failure or not server.started:
        server.should_exit = True
        thread.join(2)
        raise RuntimeError(f"the simulator did not start: {failure[0] if failure else 'timeout'}")
    return RunningSim(sim, server, thread, port)


def startup_lines(config: SimConfig, port: int) -> list[str]:
    """What the CLI prints once serving. The token line is the only place a token is shown."""
    base = f"http://{url_host(config.host)}:{port}"
    lines = [f"base url: {base}", f"token: {config.token}"]
    if len(config.tokens) > 1:
        lines.append(f"accepted tokens: {len(config.tokens)} (from --token)")
    if config.admin_enabled:
        lines.append(f"admin: {base}/_sim/stats (faults: POST {base}/_sim/faults)")
    if config.host not in ("127.0.0.1", "::1", "localhost"):
        lines.append(f"warning: listening on {config.host}, not only on loopback")
    return lines


async def serve(
    config: SimConfig, *, out: TextIO | None = None, catalog: Catalog | None = None
) -> None:
    """Serve in the foreground until Ctrl-C / SIGTERM. Prints the startup lines to `out`."""
    out = out or sys.stdout
    sim = Simulator(config, catalog=catalog)
    sock = bind_tcp(config.host, config.port)
    port = sock.getsockname()[1]
    server = _Server(_uvicorn_config(sim, configure_logging=True))

    async def announce() -> None:
        await asyncio.get_running_loop().run_in_executor(None, server.ready.wait)
        if server.started:
            for line in startup_lines(config, port):
                print(line, file=out, flush=True)

    announcer = asyncio.get_running_loop().create_task(announce())
    try:
        await server.serve(sockets=[sock])
    finally:
        server.ready.set()
        with contextlib.suppress(asyncio.CancelledError):
            await announcer
        sock.close()
