"""The real `krea-tui --demo` in a tmux terminal of its own, for the tests that kill it or
close its terminal and start it again: typing at it, killing it, and what a user must find
after the restart."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from krea_tui.sim.service import STATE_NAME, demo_token, read_endpoint
from tests.integration.cli_support import ROOT, krea
from tests.integration.engine_support import db_rows

DEADLINE = 60.0
WIDTH, HEIGHT = 120, 30  # wide enough that the status bar keeps the spend
READY = "n New"  # the job table's footer: the app has drawn
APP = Path(sys.executable).with_name("krea-tui")
FINAL = {"completed", "failed", "cancelled"}
COLOURS = ("red", "green", "blue")


def until(
    condition: Callable[[], Any],
    what: str,
    timeout: float = DEADLINE,
    explain: Callable[[], object] | None = None,
) -> Any:
    """Poll `condition` until it gives something true; AssertionError at the deadline, with
    what `explain` says about the state then."""
    end = time.monotonic() + timeout
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > end:
            said = f"; {explain()}" if explain is not None else ""
            raise AssertionError(f"timed out waiting for {what}{said}")
        time.sleep(0.02)


class DemoTerminal:
    """A tmux server of our own (its own socket, no tmux.conf) whose one pane runs the app.
    The pane stays when its process dies, as a terminal window would, and is started again
    in place; the tmux server gets the test's clean environment, so the app does too."""

    def __init__(self, env: dict[str, str]) -> None:
        self.socket = f"krea-killed-{uuid.uuid4().hex[:8]}"
        self.env = env
        self.pid: int | None = None  # the app's, while it runs
        self.tmux("new-session", "-d", "-x", str(WIDTH), "-y", str(HEIGHT), "sh")
        self.socket_path = Path(self.tmux("display-message", "-p", "#{socket_path}").strip())
        self.tmux("set-option", "-g", "escape-time", "0")
        self.tmux("set-option", "-g", "remain-on-exit", "on")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
            env=self.env,
        )
        return done.stdout

    def start_app(self, env: str = "TERM=xterm-256color") -> int:
        """`krea-tui --demo` in the pane (instead of whatever ran there), with `env`'s
        variables; returns its pid."""
        # exec: the pane's process is the app itself, so its pid is the one to kill.
        command = f"exec env {env} {shlex.quote(str(APP))} --demo"
        self.tmux("respawn-pane", "-k", "-c", str(ROOT), command)
        self.pid = int(self.tmux("display-message", "-p", "#{pane_pid}").strip())
        self.wait(lambda s: READY in s, "the app to draw")
        return self.pid

    def app_alive(self) -> bool:
        """Whether the app's process still runs (checked by its command line, never another
        process that took its pid)."""
        if self.pid is None:
            return False
        try:
            cmdline = Path(f"/proc/{self.pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"krea-tui" in cmdline and b"--demo" in cmdline

    def keys(self, *keys: str) -> None:
        for key in keys:  # one at a time: "Escape q" in one call would arrive as alt+q
            self.tmux("send-keys", key)

    def text(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait(self, condition: Callable[[str], bool], what: str) -> str:
        last = ""

        def check() -> str | None:
            nonlocal last
            last = self.screen()
            if condition(last):
                return last
            if self.dead():  # the app ended (a crash shows its traceback): no use waiting
                raise AssertionError(f"the app ended while waiting for {what}:\n{last}")
            return None

        try:
            return str(until(check, what))
        except AssertionError as exc:
            if str(exc).startswith("the app ended"):
                raise
            raise AssertionError(f"timed out waiting for {what}; the screen:\n{last}") from None

    def dead(self) -> bool:
        return self.tmux("display-message", "-p", "#{pane_dead}").strip() == "1"

    def close(self) -> None:
        """End the app (SIGTERM, as a closing terminal would) and wait until it has ended: its
        watchdog would start the demo service again after the test stopped it."""
        if self.app_alive():
            assert self.pid is not None
            os.kill(self.pid, signal.SIGTERM)
            until(lambda: not self.app_alive(), "the app to end after SIGTERM", 30)
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env
        )
        self.socket_path.unlink(missing_ok=True)  # tmux leaves its socket file behind


def history_db(env: dict[str, str]) -> Path:
    return Path(env["KREA_TUI_DATA_DIR"]) / "demo-history.sqlite3"


def service_requests(env: dict[str, str]) -> list[str]:
    """The prompt of every job the demo service holds, from its own state file: what was sent
    and paid for, whatever the history says."""
    state = Path(env["KREA_TUI_DATA_DIR"]) / STATE_NAME
    connection = sqlite3.connect(f"file:{state}?mode=ro", uri=True, timeout=5)
    try:
        rows = connection.execute("SELECT request FROM jobs ORDER BY seq").fetchall()
    finally:
        connection.close()
    return [json.loads(request)["prompt"] for (request,) in rows]


def alternatives(subject: str, count: int) -> str:
    """A prompt the form turns into `count` jobs, one per colour."""
    if count == 1:
        return f"{subject}, {COLOURS[0]}"
    return f"{subject}, {{{'|'.join(COLOURS[:count])}}}"


def compose_and_send(terminal: DemoTerminal, prompt: str, count: int) -> None:
    """n, the prompt (one job per alternative), ctrl+s: what a user types."""
    terminal.keys("n")
    terminal.wait(lambda s: "Save preset" in s, "the compose form")
    terminal.text(prompt)
    # As a user does: send once the form shows the whole prompt and what it will send.
    terminal.wait(
        lambda s: prompt in s and f"{count} job(s)" in s, f"the prompt and {count} job(s)"
    )
    terminal.keys("C-s")
    terminal.wait(lambda s: READY in s, "the job table again")


def kill_app(terminal: DemoTerminal, pid: int) -> None:
    """SIGKILL to the app's process, after checking it is the app (never another process)."""
    assert terminal.pid == pid and terminal.app_alive()
    os.kill(pid, signal.SIGKILL)
    until(terminal.dead, "the killed app's pane to be dead", 10)


def prompt_of(row: dict[str, Any]) -> str:
    return str(json.loads(row["request"]).get("prompt", ""))


def rows_done(screen: str) -> set[str]:
    """The short ids of the table rows that say done."""
    return set(re.findall(r"^\s*([0-9a-f]{8})\s+\S+ done\b", screen, re.MULTILINE))


def spend_on_screen(screen: str) -> str | None:
    found = re.search(r"~(\$\d+(?:\.\d+)?)", screen)
    return found.group(1) if found else None


def check_every_job_completed(
    terminal: DemoTerminal, env: dict[str, str], prompts: list[str]
) -> None:
    """What a user finds after the restart: every job done with its picture saved, none
    unknown, the spend counting each job once; and the service ran each request once."""
    db = history_db(env)
    count = len(prompts)

    def settled() -> bool:
        rows = db_rows(db)
        return len(rows) == count and all(row["status"] in FINAL for row in rows)

    def state() -> str:
        rows = [(r["status"], r["error_message"], prompt_of(r)) for r in db_rows(db)]
        return f"history {rows}, service {service_requests(env)}\n{terminal.screen()}"

    until(settled, "every job to end", explain=state)
    ids = [str(row["remote_id"])[:8] for row in db_rows(db)]
    # One frame with every row and the bar's count done (a capture can catch a frame half
    # drawn: the rows before the bar).
    screen = terminal.wait(
        lambda s: rows_done(s) >= set(ids) and f"done {count}" in s,
        f"rows {ids} and the bar's count done on screen",
    )
    # The detail pane's timeline may show `unknown` passed through; the rows and the bar not.
    assert not re.search(r"^\s*\S{8}\s+\S+ unknown", screen, re.MULTILINE), screen
    assert not re.search(r"\bunknown [1-9]\d*(?![.\d])", screen), screen
    jobs = krea(env, "jobs", "--demo", "--json")
    assert jobs.code == 0, jobs.err
    records = jobs.records
    assert sorted(str(r["request"]["prompt"]) for r in records) == sorted(prompts), records
    assert [r["status"] for r in records] == ["completed"] * count, records

    def saved() -> bool:
        listed = krea(env, "jobs", "--demo", "--json").records
        return all(r["files"] and all(Path(str(f)).is_file() for f in r["files"]) for r in listed)

    until(saved, "every picture saved")
    assert sorted(service_requests(env)) == sorted(prompts), "a request was sent twice"

    costs = {row["cost_estimate"] for row in db_rows(db)}
    assert len(costs) == 1 and None not in costs, costs
    (cost,) = costs
    expected = f"${cost * count:.3f}"
    terminal.wait(lambda s: spend_on_screen(s) == expected, f"the spend {expected} on screen")


def service_statuses(env: dict[str, str], remote_ids: list[str]) -> list[str]:
    """What the demo service says of each job, asked over HTTP as any client would."""
    data = Path(env["KREA_TUI_DATA_DIR"])
    info = read_endpoint(data)
    assert info is not None
    token = demo_token(data)
    statuses = []
    for remote_id in remote_ids:
        request = urllib.request.Request(
            f"{info['base_url']}/jobs/{remote_id}", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            statuses.append(str(json.loads(answer.read())["status"]))
    return statuses
