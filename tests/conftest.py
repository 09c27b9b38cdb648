"""Shared fixtures: a real simulator on loopback, clients for it, and a webhook receiver.

Every simulator here is a uvicorn server in a daemon thread on a free 127.0.0.1 port (it starts
in well under 0.1 s), so each test gets its own and nothing leaks between tests.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, settings

# Property tests check behaviour, not speed: a CI machine running two suites side by side must
# not fail an example for taking 200 ms, nor a strategy for generating slowly.
settings.register_profile("default", deadline=None, suppress_health_check=[HealthCheck.too_slow])
# CI replays the same examples every run, so a red build is a change's fault, not the dice's;
# local runs keep exploring new ones.
settings.register_profile("ci", settings.get_profile("default"), derandomize=True, database=None)
settings.load_profile("ci" if os.environ.get("CI") else "default")

if TYPE_CHECKING:
    # Imported lazily below: unit and TUI tests should not pay for uvicorn and Starlette.
    from krea_tui.sim.server import RunningSim

T = TypeVar("T")

# Two users: jobs of one are invisible (404) to the other.
TOKEN_A = "00000000-0000-4000-8000-00000000000a:test-secret-a"
TOKEN_B = "00000000-0000-4000-8000-00000000000b:test-secret-b"
FAST_SPEED = 50.0  # Flux's ~7 s becomes ~0.14 s

SimFactory = Callable[..., "RunningSim"]


@pytest.fixture(autouse=True)
def _stop_demo_services(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A `--demo` front end starts a shared demo service that outlives it (sim/service.py);
    the one a test started in its temporary folder ends with the test."""
    yield
    from krea_tui.sim.service import stop_services_under

    stop_services_under(tmp_path_factory.getbasetemp())


@pytest.fixture
def make_sim() -> Iterator[SimFactory]:
    """Start simulators with config overrides: `make_sim(concurrency=1, backlog=0)`."""
    from krea_tui.sim.config import SimConfig
    from krea_tui.sim.server import start_sim_thread

    started: list[RunningSim] = []

    def start(**overrides: Any) -> RunningSim:
        settings: dict[str, Any] = {
            "port": 0,
            "speed": FAST_SPEED,
            "admin_enabled": True,
            "tokens": [TOKEN_A, TOKEN_B],
            "seed": 1234,
        }
        settings.update(overrides)
        running = start_sim_thread(SimConfig(**settings))
        started.append(running)
        return running

    yield start
    for running in started:
        # Don't wait for uvicorn's ~0.2 s shutdown: the daemon thread finishes it on its own.
        running.stop(timeout=0)


@pytest.fixture
def sim(make_sim: SimFactory) -> RunningSim:
    """A fast simulator (speed 50) with the admin endpoint on and tokens TOKEN_A, TOKEN_B."""
    return make_sim()


@pytest.fixture
async def http(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    """Raw httpx client for the `sim` fixture, authenticated as TOKEN_A."""
    async with httpx.AsyncClient(
        base_url=sim.base_url, headers={"Authorization": f"Bearer {TOKEN_A}"}, trust_env=False
    ) as client:
        yield client


@pytest.fixture
async def admin(sim: RunningSim) -> AsyncIterator[httpx.AsyncClient]:
    """Client for the admin endpoint of the `sim` fixture (no token needed)."""
    async with httpx.AsyncClient(base_url=f"{sim.base_url}/_sim", trust_env=False) as client:
        yield client


async def eventually(
    probe: Callable[[], Awaitable[T]],
    accept: Callable[[T], bool],
    *,
    timeout: float = 5.0,
    interval: float = 0.01,
) -> T:
    """Call `probe` until `accept(result)`; fail the test with the last result at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if accept(result):
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout}s; last result: {result!r}")
        await asyncio.sleep(interval)


class WebhookReceiver:
    """A tiny HTTP/1.1 server on loopback that records POSTed JSON bodies."""

    def __init__(self, status: int = 200) -> None:
        self.status = status  # what to answer; tests may change it
        self.fail_first = 0  # answer 500 to this many requests first
        self.bodies: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._arrived = asyncio.Condition()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.url = ""

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/hook"

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            # Since Python 3.12 wait_closed() waits for every connection, and the simulator's
            # client keeps its connection alive: close them ourselves.
            for writer in list(self._writers):
                writer.close()
            await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, _, value = line.partition(":")
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                if self.fail_first > 0:
                    self.fail_first -= 1
                    status = 500
                else:
                    status = self.status
                    async with self._arrived:
                        self.bodies.append(json.loads(body))
                        self.headers.append(headers)
                        self._arrived.notify_all()
                writer.write(
                    f"HTTP/1.1 {status} X\r\nContent-Length: 2\r\n"
                    "Content-Type: application/json\r\n\r\n{}".encode()
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self._writers.discard(writer)
            writer.close()

    async def wait_for(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """Wait until `count` deliveries arrived (accepted ones only); returns them all."""
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.bodies) >= count), timeout
            )
        return list(self.bodies)


@pytest.fixture
async def webhook_receiver() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    await receiver.start()
    yield receiver
    await receiver.stop()


# Tests that drive real terminals, tmux, several processes or long soaks: what they check does
# not depend on the interpreter, and they are most of the suite's time, so CI runs them under
# one Python (the README's command) and leaves them out under the others (`-m "not once"`).
_ONCE = ("tests/e2e/", "tests/reliability/", "tests/bench/")
_ONCE_FILES = ("test_real_terminals", "test_demo_tui_")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = item.path.as_posix()
        if any(part in path for part in _ONCE) or any(n in item.path.name for n in _ONCE_FILES):
            item.add_marker(pytest.mark.once)
