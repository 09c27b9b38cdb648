"""The demo service behaves like the real one: jobs outlive the process that sent them, every
process on one demo history sees the same service, and a killed service comes back from its
state file with every job (issue 15). The real CLI in processes of its own, as a user runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from krea_tui.sim.service import (
    ENDPOINT_NAME,
    STATE_NAME,
    TOKEN_NAME,
    read_endpoint,
    service_pids,
    stop_service,
)
from tests.integration.cli_support import ROOT, Result, krea, make_cli_env


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A CLI environment in tmp_path; whatever demo service it started is stopped afterwards."""
    env = make_cli_env(tmp_path)
    try:
        yield env
    finally:
        stop_service(Path(env["KREA_TUI_DATA_DIR"]))
        assert service_pids(Path(env["KREA_TUI_DATA_DIR"])) == []


def data_dir(env: dict[str, str]) -> Path:
    return Path(env["KREA_TUI_DATA_DIR"])


def submitted_ids(result: Result) -> list[str]:
    assert result.code == 0, result.err
    return [record["local_id"] for record in result.records]


def history(env: dict[str, str]) -> list[dict[str, object]]:
    result = krea(env, "jobs", "--demo", "--json")
    assert result.code == 0, result.err
    return result.records


def assert_all_completed_and_saved(env: dict[str, str], count: int) -> None:
    jobs = history(env)
    assert len(jobs) == count
    assert [job["status"] for job in jobs] == ["completed"] * count, jobs
    for job in jobs:
        files = job["files"]
        assert files, job
        assert all(Path(str(f)).is_file() for f in files), files  # type: ignore[union-attr]


def test_submit_without_wait_then_wait_completes_every_job(demo_env: dict[str, str]) -> None:
    ids = submitted_ids(krea(demo_env, "submit", "--demo", "-n", "4", "--json", "a fox"))
    assert len(ids) == 4
    # The process that sent them has ended; the service kept them, and a new process finds them.
    waited = krea(demo_env, "wait", "--demo", *ids, timeout=90)
    assert waited.code == 0, waited.err
    assert_all_completed_and_saved(demo_env, 4)
    shown = krea(demo_env, "jobs", "--demo")
    assert "unknown" not in shown.out
    assert shown.out.count("completed") == 4


def test_two_processes_at_once_share_one_service(demo_env: dict[str, str]) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "krea_tui", "submit", "--demo", "--wait", "-n", "3", prompt],
            cwd=ROOT,
            env=demo_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for prompt in ("first pane", "second pane")
    ]
    # Both raced to start the service: one was elected, the other uses it.
    outputs = [proc.communicate(timeout=120) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err
    assert len(service_pids(data_dir(demo_env))) == 1
    assert_all_completed_and_saved(demo_env, 6)
    assert "unknown" not in krea(demo_env, "jobs", "--demo").out


def test_a_killed_service_comes_back_from_its_state_file(demo_env: dict[str, str]) -> None:
    ids = submitted_ids(krea(demo_env, "submit", "--demo", "-n", "4", "--json", "a killed fox"))
    first = read_endpoint(data_dir(demo_env))
    assert first is not None
    os.kill(first["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while service_pids(data_dir(demo_env)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert service_pids(data_dir(demo_env)) == []

    waited = krea(demo_env, "wait", "--demo", *ids, timeout=90)
    assert waited.code == 0, waited.err
    second = read_endpoint(data_dir(demo_env))
    assert second is not None and second["pid"] != first["pid"]
    assert_all_completed_and_saved(demo_env, 4)


def test_jobs_progress_while_no_service_runs(demo_env: dict[str, str]) -> None:
    """A job sent before quitting is completed, with its picture, when the user comes back:
    the service is stopped right after the submit and only started again by `wait`, after
    the jobs' planned end; they are completed at once, not run again from the start."""
    ids = submitted_ids(krea(demo_env, "submit", "--demo", "-n", "2", "--json", "a patient owl"))
    stop_service(data_dir(demo_env))
    time.sleep(1.5)  # Flux at speed 20 takes ~0.4 s: both have ended by the clock
    started = time.monotonic()
    waited = krea(demo_env, "wait", "--demo", *ids, timeout=90)
    assert waited.code == 0, waited.err
    assert_all_completed_and_saved(demo_env, 2)
    assert time.monotonic() - started < 30


def test_demo_files_are_private(demo_env: dict[str, str]) -> None:
    assert krea(demo_env, "submit", "--demo", "--wait", "a private fox").code == 0
    for name in (STATE_NAME, ENDPOINT_NAME, TOKEN_NAME):
        mode = (data_dir(demo_env) / name).stat().st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))
    info = json.loads((data_dir(demo_env) / ENDPOINT_NAME).read_text())
    assert info["base_url"].startswith("http://127.0.0.1:")  # loopback only
    token = (data_dir(demo_env) / TOKEN_NAME).read_text().strip()
    # The token is made once: a new service after a stop takes the same one.
    stop_service(data_dir(demo_env))
    assert krea(demo_env, "submit", "--demo", "--wait", "another private fox").code == 0
    assert (data_dir(demo_env) / TOKEN_NAME).read_text().strip() == token
    assert_all_completed_and_saved(demo_env, 2)


def test_the_service_exits_when_idle(demo_env: dict[str, str]) -> None:
    result = krea(demo_env, "submit", "--demo", "--wait", "a fox", KREA_TUI_DEMO_IDLE="1")
    assert result.code == 0, result.err
    deadline = time.monotonic() + 15
    while service_pids(data_dir(demo_env)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert service_pids(data_dir(demo_env)) == []
    assert "idle" in (data_dir(demo_env) / "demo-service.log").read_text()


def test_locate_lists_the_demo_service_files(demo_env: dict[str, str]) -> None:
    shown = krea(demo_env, "locate", "--demo")
    assert shown.code == 0, shown.err
    assert str(data_dir(demo_env) / STATE_NAME) in shown.out
    assert str(data_dir(demo_env) / "demo-service.log") in shown.out
