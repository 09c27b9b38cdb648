"""A TUI whose terminal goes away (a dropped SSH session, a killed tmux) while its jobs run
quits, and a restart finds every job completed with its picture saved (the design's "loses
the SSH connection; later starts again and finds every job where it was").

The kernel sends SIGHUP and SIGCONT when a terminal hangs up; Textual's driver took that
SIGCONT for a resume after ctrl+z and the app then hung for good (tui/driver.py). A hung app
counts as alive, so no other process saved the pictures of the jobs it had sent.
"""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.demo_tui_support import (
    COLOURS,
    FINAL,
    DemoTerminal,
    alternatives,
    check_every_job_completed,
    compose_and_send,
    history_db,
    until,
)
from tests.integration.engine_support import db_rows
from tests.integration.test_demo_tui_killed import demo_env  # noqa: F401 (a fixture)

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None or not Path("/proc/self").exists(),
    reason="needs tmux, and /proc to follow processes",
)


@pytest.fixture
def first_terminal(demo_env: dict[str, str]) -> Iterator[DemoTerminal]:  # noqa: F811
    term = DemoTerminal(demo_env)
    try:
        yield term
    finally:
        if term.app_alive():  # the bug this tests: leave no hung app behind
            assert term.pid is not None
            os.kill(term.pid, signal.SIGKILL)
            until(lambda: not term.app_alive(), "the hung app to end", 10)
        term.close()


def test_tui_whose_terminal_closes_quits_and_a_restart_saves_every_picture(
    demo_env: dict[str, str],  # noqa: F811
    first_terminal: DemoTerminal,
) -> None:
    count = 3
    first_terminal.start_app()
    prompts = [f"a dropped fox, {colour}" for colour in COLOURS[:count]]
    compose_and_send(first_terminal, alternatives("a dropped fox", count), count)
    db = history_db(demo_env)

    def running() -> bool:
        rows = db_rows(db)
        return len(rows) == count and all(
            row["remote_id"] and row["status"] not in FINAL for row in rows
        )

    until(running, "every job on the service, none ended")
    first_terminal.tmux("kill-server")  # the terminal goes away with the app in it
    until(
        lambda: not first_terminal.app_alive(),
        "the app to quit after its terminal closed",
        30,
    )

    second = DemoTerminal(demo_env)
    try:
        second.start_app()
        check_every_job_completed(second, demo_env, prompts)
    finally:
        second.close()
