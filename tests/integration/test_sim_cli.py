"""`python -m krea_tui.sim` and `krea-tui sim` as a user runs them: a subprocess that serves."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

STARTUP_TIMEOUT = 20.0


@asynccontextmanager
async def running(*args: str) -> AsyncIterator[tuple[dict[str, str], asyncio.subprocess.Process]]:
    """Start the simulator CLI, yield its startup lines as {key: value} once it serves."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    lines: dict[str, str] = {}
    try:
        while "token" not in lines or ("admin" not in lines and "--admin" in args):
            raw = await asyncio.wait_for(process.stdout.readline(), STARTUP_TIMEOUT)
            if not raw:
                stderr = await process.stderr.read() if process.stderr else b""
                raise AssertionError(f"simulator exited early: {stderr.decode()}")
            key, _, value = raw.decode().strip().partition(": ")
            lines[key] = value
        yield lines, process
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGINT)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def test_module_entry_point_prints_url_and_token_and_serves() -> None:
    async with running(
        "-m", "krea_tui.sim", "--port", "0", "--token", "cli-token", "--token", "second", "--admin"
    ) as (lines, process):
        base = lines["base url"]
        assert base.startswith("http://127.0.0.1:")
        assert lines["token"] == "cli-token"
        assert lines["admin"].startswith(f"{base}/_sim/stats")
        async with httpx.AsyncClient(base_url=base, trust_env=False) as http:
            for token in ("cli-token", "second"):
                created = await http.post(
                    "/generate/image/bfl/flux-1-dev",
                    json={"prompt": "Swiss chalets, balconies embroidered with Edelweiss."},
                    headers={"Authorization": f"Bearer {token}"},
                )
                assert created.status_code == 200
                assert created.json()["status"] == "queued"
            denied = await http.get("/jobs", headers={"Authorization": "Bearer other"})
            assert denied.status_code == 401
            assert (await http.get("/_sim/stats")).status_code == 200
        process.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(process.wait(), 10) == 0


async def test_main_cli_generates_a_token_when_none_is_given() -> None:
    async with running("-m", "krea_tui", "sim", "--port", "0", "--speed", "20") as (lines, _):
        token = lines["token"]
        assert len(token) > 20
        assert "admin" not in lines
        async with httpx.AsyncClient(
            base_url=lines["base url"],
            headers={"Authorization": f"Bearer {token}"},
            trust_env=False,
        ) as http:
            assert (await http.get("/jobs")).json() == {"items": [], "next_cursor": None}
            assert (await http.get("/_sim/stats")).status_code == 404


async def test_bad_flags_exit_with_usage_error() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "krea_tui.sim",
        "--fail-rate",
        "3",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, stderr = await asyncio.wait_for(process.communicate(), STARTUP_TIMEOUT)
    assert process.returncode == 2
    assert b"--fail-rate" in stderr
