"""The last demo scenario of issue 15: the real `krea-tui --demo`, in a real terminal (tmux),
composes jobs from the keyboard and is killed with SIGKILL right after sending them; started
again, it finds every job completed with its picture saved, none `unknown`, each counted once
in the spend, and the demo service ran each request once.

The kill moments are read from the history the TUI commits (a job is in it before its POST is
sent, and its server id once the answer came), so they are exact, not slept towards:
- `queued`: every POST answered, the jobs queued or running on the service; the app comes
  back at once, or once the service has completed them with no client attached;
- `in flight`: the service created the job but its answer never reached the TUI (the service
  holds its answer back, as a slow network would). One job alone is matched to the server's
  job at the next start; several sent at the same moment cannot be told apart (the job list
  does not show requests), so they stay `unknown` and are never sent again: the design's rule
  against paying twice, checked here too.
"""

import json
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core.watcher import AMBIGUOUS
from krea_tui.sim.service import (
    ENDPOINT_NAME,
    LOG_NAME,
    STATE_NAME,
    TOKEN_NAME,
    demo_token,
    read_endpoint,
    service_pids,
    stop_service,
)
from tests.integration.cli_support import ROOT, make_cli_env
from tests.integration.demo_tui_support import (
    COLOURS,
    FINAL,
    DemoTerminal,
    alternatives,
    check_every_job_completed,
    compose_and_send,
    history_db,
    kill_app,
    prompt_of,
    service_requests,
    service_statuses,
    spend_on_screen,
    until,
)
from tests.integration.engine_support import db_rows

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture
def demo_env(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A throwaway demo data directory; whatever demo service ran there is stopped after."""
    env = make_cli_env(tmp_path)
    env["KREA_TUI_DEMO_SPEED"] = "4"  # Flux takes ~2 s: the jobs still run at the kill
    try:
        yield env
    finally:
        stop_service(Path(env["KREA_TUI_DATA_DIR"]))
        assert service_pids(Path(env["KREA_TUI_DATA_DIR"])) == []


@pytest.fixture
def terminal(demo_env: dict[str, str]) -> Iterator[DemoTerminal]:
    term = DemoTerminal(demo_env)
    try:
        yield term
    finally:
        term.close()


@pytest.mark.parametrize("restart", ["at once", "after the jobs ended"])
def test_tui_killed_once_its_jobs_are_queued_finds_them_completed(
    demo_env: dict[str, str], terminal: DemoTerminal, restart: str
) -> None:
    count = 3
    pid = terminal.start_app()
    prompts = [f"a killed fox, {colour}" for colour in COLOURS[:count]]
    compose_and_send(terminal, alternatives("a killed fox", count), count)
    db = history_db(demo_env)

    def all_queued() -> list[dict[str, Any]] | None:
        rows = db_rows(db)
        done = len(rows) == count and all(row["remote_id"] for row in rows)
        return rows if done else None

    def state() -> str:
        rows = [(r["status"], r["remote_id"], prompt_of(r)) for r in db_rows(db)]
        return f"history {rows}\n{terminal.screen()}"

    rows = until(all_queued, "every POST answered", explain=state)
    kill_app(terminal, pid)
    assert not any(row["status"] in FINAL for row in rows), "the jobs ended before the kill"
    if restart != "at once":
        # The service runs them while no client is attached; the app comes back to results.
        remote_ids = [str(row["remote_id"]) for row in rows]
        until(
            lambda: service_statuses(demo_env, remote_ids) == ["completed"] * count,
            "the service to complete the jobs",
            explain=lambda: service_statuses(demo_env, remote_ids),
        )

    terminal.start_app()
    check_every_job_completed(terminal, demo_env, prompts)


@pytest.fixture
def admin_service(demo_env: dict[str, str]) -> Iterator[str]:
    """The data directory's demo service, started before the app as `--demo` starts it (same
    files and settings, so the app uses it) but with the simulator's admin endpoint on, through
    which the test holds POST answers back. Yields its base URL."""
    data = Path(demo_env["KREA_TUI_DATA_DIR"])
    data.mkdir(parents=True, exist_ok=True)
    demo_token(data)
    command = [
        sys.executable,
        "-m",
        "krea_tui.sim",
        "--port",
        "0",
        "--token-file",
        str(data / TOKEN_NAME),
        "--state-file",
        str(data / STATE_NAME),
        "--endpoint-file",
        str(data / ENDPOINT_NAME),
        "--idle-exit",
        "600",
        "--speed",
        demo_env["KREA_TUI_DEMO_SPEED"],
        "--concurrency",
        "4",
        "--backlog",
        "64",
        "--varied",
        "--admin",
    ]
    with (data / LOG_NAME).open("ab") as log:
        child = subprocess.Popen(
            command,
            cwd=ROOT,
            env=demo_env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # it outlives the app, as the real one does
        )

    def serving() -> dict[str, Any] | None:
        info = read_endpoint(data)
        return info if info is not None and info["pid"] == child.pid else None

    try:
        yield str(until(serving, "the demo service to serve")["base_url"])
    finally:
        stop_service(data)
        child.wait(10)


def set_faults(base_url: str, **faults: Any) -> None:
    request = urllib.request.Request(
        f"{base_url}/_sim/faults",
        data=json.dumps(faults).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.status == 200


def send_and_kill_unanswered(
    terminal: DemoTerminal, env: dict[str, str], base_url: str, count: int
) -> list[str]:
    """The app sends `count` jobs; the service creates them and holds every answer back; the
    app is killed while it waits for them. Returns the prompts."""
    hold = {"slow_rate": 1.0, "slow_seconds": 30.0, "slow_after_handling": True}
    set_faults(base_url, groups=["generate"], **hold)
    pid = terminal.start_app()
    prompts = [f"an unanswered owl, {colour}" for colour in COLOURS[:count]]
    compose_and_send(terminal, alternatives("an unanswered owl", count), count)
    db = history_db(env)

    def created_unanswered() -> bool:
        rows = db_rows(db)
        sending = len(rows) == count and all(
            row["status"] == "submitting" and not row["remote_id"] for row in rows
        )
        return sending and len(service_requests(env)) == count

    def state() -> str:
        rows = [(r["status"], r["remote_id"], prompt_of(r)) for r in db_rows(db)]
        return f"history {rows}, service {service_requests(env)}\n{terminal.screen()}"

    until(created_unanswered, "every job created on the service, unanswered", explain=state)
    kill_app(terminal, pid)
    set_faults(base_url, slow_rate=0.0)
    return prompts


# The terminal is the last fixture set up, so its app ends before the service is stopped.
def test_tui_killed_while_its_post_is_unanswered_finds_the_job_completed(
    demo_env: dict[str, str], admin_service: str, terminal: DemoTerminal
) -> None:
    """One POST cut off after the service created its job: the next start finds that job in
    the service's list (the only new one) and follows it to the end."""
    prompts = send_and_kill_unanswered(terminal, demo_env, admin_service, 1)
    terminal.start_app()
    check_every_job_completed(terminal, demo_env, prompts)


def test_tui_killed_while_several_posts_are_unanswered_sends_none_again(
    demo_env: dict[str, str], admin_service: str, terminal: DemoTerminal
) -> None:
    """Three POSTs cut off at the same moment, each job created: the list does not say which
    job is which request's, so the jobs stay `unknown`, say why, and none is sent again."""
    prompts = send_and_kill_unanswered(terminal, demo_env, admin_service, 3)
    terminal.start_app()
    db = history_db(demo_env)

    def explained() -> bool:
        rows = db_rows(db)
        return len(rows) == 3 and all(AMBIGUOUS in (row["error_message"] or "") for row in rows)

    until(explained, "every job to say why it stays unknown")
    assert [row["status"] for row in db_rows(db)] == ["unknown"] * 3
    # Nothing known to be done is counted in the spend.
    terminal.wait(
        lambda s: "unknown 3" in s and spend_on_screen(s) == "$0", "unknown 3 and ~$0 in the bar"
    )
    assert sorted(service_requests(demo_env)) == sorted(prompts), "a request was sent twice"
