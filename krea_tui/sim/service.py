"""The demo service: one simulator per demo data directory, shared by every process using it.

The first `--demo` process to need it starts `python -m krea_tui.sim` detached, with its jobs
in a SQLite state file (sim/durable.py), and the service writes an endpoint file once it
accepts connections. Later processes read the endpoint file and check that the service answers
before using it; a missing or dead one is replaced under a lock file, so concurrent starters
elect one. The new service replays the state file: jobs kept progressing by the clock while
nothing served them. The service exits by itself after being idle (no request) for a while.

Files in the data directory, all 0600:
  demo-service.sqlite3  the jobs (and -wal, -shm)
  demo-service.json     {"pid", "port", "base_url", "started"} of the running service
  demo-service.token    the demo token, generated once (a demo token, not the user's)
  demo-service.lock     held while electing a starter, and by a service shutting down
  demo-service.log      the service's stdout and stderr
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

STATE_NAME = "demo-service.sqlite3"
ENDPOINT_NAME = "demo-service.json"
TOKEN_NAME = "demo-service.token"
LOCK_NAME = "demo-service.lock"
LOG_NAME = "demo-service.log"
DEFAULT_IDLE_EXIT = 600.0  # seconds without a request before the service exits
START_TIMEOUT = 30.0  # waiting for another process's start
LOG_LIMIT = 1_000_000  # bytes; a longer log is started afresh


def demo_files(data_dir: Path) -> dict[str, Path]:
    """The demo service's files in a data directory, by role (what `krea-tui locate` lists)."""
    return {
        "demo service state": data_dir / STATE_NAME,
        "demo service endpoint": data_dir / ENDPOINT_NAME,
        "demo service token": data_dir / TOKEN_NAME,
        "demo service log": data_dir / LOG_NAME,
    }


# -- both sides ------------------------------------------------------------------------------


def write_private(path: Path, text: str) -> None:
    """Replace `path` atomically with `text`, readable by its owner only."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, text.encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def read_endpoint(data_dir: Path) -> dict[str, Any] | None:
    try:
        data = json.loads((data_dir / ENDPOINT_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("port"), int):
        return None
    return data


def demo_token(data_dir: Path) -> str:
    """The demo service's token: generated once, kept 0600 in the data directory."""
    from krea_tui.sim.config import generate_token

    path = data_dir / TOKEN_NAME
    with contextlib.suppress(OSError):
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token
    data_dir.mkdir(parents=True, exist_ok=True)
    token = generate_token()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process was first: use its token
        for _ in range(50):
            token = path.read_text(encoding="utf-8").strip()
            if token:
                return token
            time.sleep(0.02)
        raise RuntimeError(f"{path} is empty") from None
    try:
        os.write(fd, (token + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    return token


@contextlib.contextmanager
def _locked(
    data_dir: Path, *, blocking: bool = True, timeout: float = START_TIMEOUT
) -> Iterator[bool]:
    """Hold the data directory's service lock; yields False when not blocking and it is taken."""
    fd = os.open(data_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not blocking or time.monotonic() > deadline:
                    yield False
                    return
                time.sleep(0.05)
        yield True
    finally:
        os.close(fd)


def ping(port: int, token: str, timeout: float = 3.0) -> bool:
    """Does a simulator that takes `token` answer on this loopback port?"""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", "/jobs?limit=1", headers={"Authorization": f"Bearer {token}"})
        response = conn.getresponse()
        response.read()
        return response.status == 200
    except (OSError, http.client.HTTPException):
        return False
    finally:
        conn.close()


# -- the client side: find or start the service ----------------------------------------------


@dataclass
class DemoService:
    """A handle on the shared demo service, in the shape runtime.Runtime.sim expects."""

    data_dir: Path
    base_url: str
    token: str
    pid: int
    port: int
    speed: float = 2.0
    idle_exit: float = DEFAULT_IDLE_EXIT

    def alive(self) -> bool:
        return ping(self.port, self.token)

    def ensure(self) -> bool:
        """Start the service again if it died (on the same port when free, so this handle's
        base_url stays right). True when it answers on this handle's port."""
        if self.alive():
            return True
        again = connect(self.data_dir, speed=self.speed, idle_exit=self.idle_exit)
        self.pid = again.pid
        return again.port == self.port

    def stop(self) -> None:
        """Nothing: the service is shared and durable; it exits by itself when idle."""


def _live(data_dir: Path, token: str) -> dict[str, Any] | None:
    """The endpoint of a service that runs (it may still be starting: its socket already
    listens, so requests wait for it) or answers; None when it must be (re)started."""
    info = read_endpoint(data_dir)
    if info is None:
        return None
    if _is_service(int(info.get("pid", 0)), data_dir) or ping(info["port"], token):
        return info
    return None


def _handle(
    data_dir: Path, info: dict[str, Any], token: str, speed: float, idle: float
) -> DemoService:
    return DemoService(
        data_dir=data_dir,
        base_url=f"http://127.0.0.1:{info['port']}",
        token=token,
        pid=int(info.get("pid", 0)),
        port=int(info["port"]),
        speed=speed,
        idle_exit=idle,
    )


def connect(
    data_dir: Path, *, speed: float = 2.0, idle_exit: float = DEFAULT_IDLE_EXIT
) -> DemoService:
    """The demo service of `data_dir`, started if none answers. Raises RuntimeError."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    token = demo_token(data_dir)
    info = _live(data_dir, token)
    if info is None:
        with _locked(data_dir) as held:
            if not held:
                raise RuntimeError(f"the demo service in {data_dir} is being started: timeout")
            info = _live(data_dir, token)  # another process may have started it meanwhile
            if info is None:
                info = _start(data_dir, token, speed=speed, idle_exit=idle_exit)
    return _handle(data_dir, info, token, speed, idle_exit)


def _start(data_dir: Path, token: str, *, speed: float, idle_exit: float) -> dict[str, Any]:
    """Spawn the service on a socket bound and listening here, so its port is known at once
    and requests sent before it is ready wait in the socket's queue instead of failing: a
    front end does not wait for the service's start-up. The previous port is reused when free
    (a long-running client keeps its base URL across a restart of the service)."""
    from krea_tui.core.listen import bind_tcp

    old = read_endpoint(data_dir)
    try:
        sock = bind_tcp("127.0.0.1", old["port"] if old else 0)
    except OSError:
        sock = bind_tcp("127.0.0.1", 0)
    log_path = data_dir / LOG_NAME
    with contextlib.suppress(OSError):
        if log_path.stat().st_size > LOG_LIMIT:
            log_path.unlink()
    try:
        sock.listen(128)
        port = sock.getsockname()[1]
        command = [
            sys.executable,
            "-m",
            "krea_tui.sim",
            "--listen-fd",
            str(sock.fileno()),
            "--token-file",
            str(data_dir / TOKEN_NAME),
            "--state-file",
            str(data_dir / STATE_NAME),
            "--endpoint-file",
            str(data_dir / ENDPOINT_NAME),
            "--idle-exit",
            str(idle_exit),
            "--speed",
            str(speed),
            "--concurrency",
            "4",
            "--backlog",
            "64",
            "--varied",
        ]
        fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            child = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=fd,
                stderr=fd,
                start_new_session=True,
                pass_fds=(sock.fileno(),),
                env={k: v for k, v in os.environ.items() if not k.startswith("PYTEST")},
            )
        finally:
            os.close(fd)
    finally:
        sock.close()  # the child has its own copy
    info = {
        "pid": child.pid,
        "port": port,
        "base_url": f"http://127.0.0.1:{port}",
        "started": time.time(),
    }
    write_private(data_dir / ENDPOINT_NAME, json.dumps(info))  # before the lock is let go
    return info


def service_pids(data_dir: Path) -> list[int]:
    """Live processes serving this data directory's state file (normally none or one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _is_service(int(entry.name), Path(data_dir)):
            found.append(int(entry.name))
    return found


def stop_service(data_dir: Path, timeout: float = 5.0) -> list[int]:
    """Stop every demo service of `data_dir` (tests; `kill <pid>` by hand works too); returns
    their pids. Only processes serving this data directory's state file are signalled."""
    pids = service_pids(data_dir)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(_is_service(p, Path(data_dir)) for p in pids):
        time.sleep(0.05)
    for pid in pids:
        if _is_service(pid, Path(data_dir)):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    return pids


def stop_services_under(root: Path) -> list[int]:
    """Stop the demo services whose data directory is under `root` (a test run's temporary
    folder): the services outlive the processes that started them, but not the test run."""
    stopped = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            args = (entry / "cmdline").read_bytes().split(b"\0")
            if b"krea_tui.sim" in args and b"--state-file" in args:
                state = Path(os.fsdecode(args[args.index(b"--state-file") + 1]))
                if state.is_relative_to(root) and state.name == STATE_NAME:
                    stopped += stop_service(state.parent)
    return stopped


def _is_service(pid: int, data_dir: Path) -> bool:
    """Is `pid` a live (not zombie) demo service of this data directory?"""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    if stat.rpartition(")")[2].split()[0] == "Z":
        return False
    return b"krea_tui.sim" in cmdline and str(data_dir / STATE_NAME).encode() in cmdline


# -- the service side ------------------------------------------------------------------------


class _Activity:
    """ASGI wrapper: remembers when the last request came; answers 503 once shutting down."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last = time.monotonic()
        self.closing = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.last = time.monotonic()
            if self.closing:
                body = b'{"error": "The demo service is stopping."}'
                await send(
                    {
                        "type": "http.response.start",
                        "status": 503,
                        "headers": [(b"content-type", b"application/json"), (b"retry-after", b"1")],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)


async def serve_service(
    config: Any,
    *,
    endpoint_file: Path | None,
    idle_exit: float | None,
    port_fallback: bool,
    listen_fd: int | None = None,
) -> None:
    """Serve like `server.serve`, plus: the endpoint file once ready, an exit when idle, and
    the state file's result links rebased on this run's port."""
    from krea_tui.core.listen import bind_tcp, url_host
    from krea_tui.sim.app import Simulator
    from krea_tui.sim.server import _Server, _uvicorn_config

    os.umask(0o077)  # the state file's -wal and -shm too
    sim = Simulator(config)
    if listen_fd is not None:
        sock = socket.socket(fileno=listen_fd)  # bound and listening in the starting process
    else:
        try:
            sock = bind_tcp(config.host, config.port)
        except OSError:
            if not port_fallback or config.port == 0:
                raise
            sock = bind_tcp(config.host, 0)
    port = sock.getsockname()[1]
    base_url = f"http://{url_host(config.host)}:{port}"
    sim.state.rebase(base_url)
    activity = _Activity(sim.asgi)
    sim.asgi = activity  # type: ignore[assignment]
    server = _Server(_uvicorn_config(sim, configure_logging=True))
    loop = asyncio.get_running_loop()
    lock_fd: list[int] = []

    async def watch() -> None:
        await loop.run_in_executor(None, server.ready.wait)
        if not server.started:
            return
        if endpoint_file is not None:
            info = {"pid": os.getpid(), "port": port, "base_url": base_url, "started": time.time()}
            write_private(endpoint_file, json.dumps(info))
        print(f"demo service: {base_url}, {sim.state.job_count} jobs", flush=True)
        if idle_exit is None:
            return
        while True:
            idle = time.monotonic() - activity.last
            await asyncio.sleep(max(0.05, min(5.0, idle_exit - idle, idle_exit / 4)))
            if time.monotonic() - activity.last < idle_exit:
                continue
            # Leave under the start lock so a starter never picks this service as it goes.
            if endpoint_file is not None:
                fd = os.open(endpoint_file.with_name(LOCK_NAME), os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    os.close(fd)
                    continue
                lock_fd.append(fd)  # held until this process ends
            activity.closing = True  # the endpoint file stays: its port is reused next start
            print(f"demo service: idle for {idle_exit:g} s, exiting", flush=True)
            server.should_exit = True
            return

    watcher = loop.create_task(watch())
    try:
        await server.serve(sockets=[sock])
    finally:
        server.ready.set()
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
        sock.close()
        sim.state.close()
