"""Deadlines that count only the time this process was running.

A process stopped with SIGSTOP (ctrl+z, a laptop lid, a debugger) finds on waking that every
timer has expired, and a timer fires before the answer that sits in the socket is read: a POST
whose answer had arrived would be taken as lost. A stop is not the server's slowness, so these
deadlines do not count it.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")

# The deadline is checked at least this often (seconds of loop time). A check that comes later
# than asked was a stop (or a loop too busy to look): only the time asked for counts.
STEP = 0.25


async def awake_for(awaitable: Awaitable[T], seconds: float) -> T:
    """`await awaitable`, or TimeoutError once it has taken `seconds` of time awake."""
    task = asyncio.ensure_future(awaitable)
    loop = asyncio.get_running_loop()
    left = seconds
    try:
        while True:
            step = max(0.0, min(left, STEP))
            before = loop.time()
            done, _ = await asyncio.wait({task}, timeout=step)
            if done:
                return task.result()
            left -= min(loop.time() - before, step)
            if left <= 0:
                raise TimeoutError
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
