"""Backoff shared by the submitter and the watcher: doubling waits after failures, capped, and
the server's own Retry-After when it gives one, within bounds."""

from __future__ import annotations

import math
from dataclasses import dataclass

MAX_BACKOFF = 60.0
# What a server's Retry-After may make us wait. At least a second: "0", a date in the past or a
# negative number must not turn the retries into a request storm. At most five minutes: one
# answer saying 999999 (11.6 days) would otherwise stop the tracking of every job until then,
# and a busy API recovers well within that; the next 429 asks again anyway.
RETRY_AFTER_MIN = 1.0
RETRY_AFTER_MAX = 300.0


def bounded_retry_after(seconds: float | None) -> float | None:
    """A server's wait in seconds, clamped to [RETRY_AFTER_MIN, RETRY_AFTER_MAX]; None for no
    usable value (absent, infinite, not a number)."""
    if seconds is None or not math.isfinite(seconds):
        return None
    return min(RETRY_AFTER_MAX, max(RETRY_AFTER_MIN, seconds))


@dataclass(slots=True)
class Backoff:
    delay: float = 0.0
    until: float = 0.0  # event-loop time

    def fail(self, now: float, retry_after: float | None) -> float:
        """Record a failure at `now`; returns how long to wait before the next try: always a
        finite number of seconds, at least one."""
        self.delay = min(MAX_BACKOFF, max(1.0, self.delay * 2))
        asked = bounded_retry_after(retry_after)
        wait = asked if asked is not None else self.delay
        self.until = now + wait
        return wait

    def ok(self) -> None:
        self.delay = 0.0
        self.until = 0.0
