"""Shared by the reliability tests: the soak switch, child processes that can be killed at a
chosen moment, and the checks every crash must pass."""

from __future__ import annotations

import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from krea_tui.sim.server import RunningSim
from tests.integration.engine_support import db_rows, sim_jobs, sim_prompt

ROOT = Path(__file__).resolve().parents[2]
# `KREA_TUI_SOAK=full` runs the long versions (more kills, rounds and examples).
FULL = os.environ.get("KREA_TUI_SOAK", "").lower() == "full"
TEMP_GLOB = ".krea-tui-*.part"


def scaled(ci: int, full: int) -> int:
    return full if FULL else ci


class Child:
    """A Python module run as a child process; stdout lines arrive on a queue as they come,
    stderr goes to a file (a full pipe would stall the child)."""

    def __init__(self, module: str, args: Sequence[str], env: dict[str, str], log: Path) -> None:
        self._log = log.open("a")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, accept: Callable[[str], bool], timeout: float) -> str:
        """The first stdout line from now on that `accept`s; AssertionError at the deadline or
        if the child ends first."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"child said nothing accepted within {timeout}s")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"child ended (rc {self.proc.wait()}) before the line")
            self.seen.append(line)
            if accept(line):
                return line

    def drain(self) -> list[str]:
        """Lines printed so far and not yet consumed."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return self.seen
            if line is None:
                return self.seen
            self.seen.append(line)

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self._log.close()
        assert self.proc.returncode == -signal.SIGKILL, self.proc.returncode


def file_rows(db: Path) -> list[dict[str, Any]]:
    connection = sqlite3.connect(db, timeout=5)
    connection.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in connection.execute("SELECT * FROM files")]
    finally:
        connection.close()


def check_store_opens(db: Path) -> None:
    """The history passes SQLite's own integrity check and opens at the current schema."""
    from krea_tui.core.store import MIGRATIONS, JobStore

    if not db.exists():
        return
    connection = sqlite3.connect(db, timeout=5)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    finally:
        connection.close()
    store = JobStore(db)
    try:
        assert store.schema_version == len(MIGRATIONS)
        store.jobs()  # every row decodes
    finally:
        store.close()


def prompt_of(row: dict[str, Any]) -> str:
    return str(json.loads(row["request"]).get("prompt", ""))


def check_nothing_lost(sim: RunningSim, db: Path) -> dict[str, int]:
    """Every job the simulator created is tracked by the history under its own request, or its
    request's job is marked as a POST whose outcome is not known; no request created two jobs.
    Returns {"adopted": n, "orphans": n} for reporting."""
    local = db_rows(db)
    by_prompt = {prompt_of(row): row for row in local}
    assert len(by_prompt) == len(local), "two local jobs share a prompt; the test needs them apart"
    by_remote = {row["remote_id"]: row for row in local if row["remote_id"]}
    on_sim = sim_jobs(sim)
    prompts = [sim_prompt(sim, job["job_id"]) for job in on_sim]
    assert len(prompts) == len(set(prompts)), f"a request was sent twice: {sorted(prompts)}"
    orphans = 0
    for job, prompt in zip(on_sim, prompts, strict=True):
        row = by_remote.get(job["job_id"])
        if row is not None:
            assert prompt_of(row) == prompt, f"{job['job_id']} adopted by the wrong request"
            continue
        orphans += 1
        row = by_prompt.get(prompt)
        assert row is not None, f"the server ran {prompt!r}, which the history does not know"
        assert row["remote_id"] is None and row["status"] in ("submitting", "unknown"), (
            f"server job of {prompt!r} is neither tracked nor flagged: {row['status']}"
        )
    for remote_id in by_remote:
        assert sim.state.job_request(remote_id) is not None, f"{remote_id} is not on the server"
    return {"adopted": len(on_sim) - orphans, "orphans": orphans}


def temp_files(*directories: Path) -> set[Path]:
    found: set[Path] = set()
    for directory in directories:
        if directory.exists():
            found.update(directory.rglob(TEMP_GLOB))
    return found


@contextmanager
def hold_sim_call(
    sim: RunningSim, owner: Any, name: str, *, before: bool
) -> Iterator[threading.Event]:
    """Block the next call of `owner.name` inside the simulator until the block ends; the
    event is set once the call is held. `before`: hold it before the real call runs (the
    server heard the request and did nothing yet), else after it (the work is done, the answer
    not sent)."""
    held = threading.Event()
    release = threading.Event()
    original = getattr(owner, name)

    def hold() -> None:
        if not held.is_set():
            held.set()
            release.wait(30)

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if before:
            hold()
        result = original(*args, **kwargs)
        if not before:
            hold()
        return result

    shadowed = name in vars(owner)
    setattr(owner, name, wrapper)
    try:
        yield held
    finally:
        release.set()
        if shadowed:
            setattr(owner, name, original)
        else:
            delattr(owner, name)
