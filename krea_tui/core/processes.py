"""Who is running: an id for this process, and whether another one (named by its PID and start
time) is still alive. Several krea-tui processes share one history and one output folder (a TUI
and a cron `krea-tui submit`); a claim or a temp file left by a process that died must be freed,
and one left by a live process must not."""

from __future__ import annotations

import os
import uuid
from functools import cache


def _start_ticks(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (Linux); None where it cannot be read.
    Together with the PID it names a process even after the PID is reused."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    fields = stat[stat.rfind(b")") + 2 :].split()
    try:
        return int(fields[19])  # field 22 of the whole line
    except (IndexError, ValueError):
        return None


@cache
def this_process() -> str:
    """This process's id in the shared history: `pid:start-ticks:random` (random, for a fork)."""
    pid = os.getpid()
    return f"{pid}:{_start_ticks(pid) or 0}:{uuid.uuid4().hex[:8]}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (or might: another user's process says EPERM)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # someone else's process, or we cannot tell: assume it lives
    return True


def process_alive(process_id: str | None) -> bool:
    """Whether the process named by `this_process()`-style id is still running. An id we cannot
    read names nobody (a leftover from an older version): not alive."""
    if not process_id:
        return False
    if process_id == this_process():
        return True
    parts = process_id.split(":")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return False
    pid, ticks = int(parts[0]), int(parts[1])
    if pid == os.getpid():
        return False  # our PID, but not our id: a process before us that had our PID
    if not pid_alive(pid):
        return False
    now_ticks = _start_ticks(pid)
    # A PID reused by another program started at another time: the claimant is gone.
    return not (ticks and now_ticks and now_ticks != ticks)
