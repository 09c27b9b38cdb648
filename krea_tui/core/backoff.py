"""Backoff shared by the submitter and the watcher: doubling waits after failures, capped, and
the server's own Retry-After when it gives one."""

from __future__ import annotations

from dataclasses import dataclass

MAX_BACKOFF = 60.0


@dataclass(slots=True)
class Backoff:
    delay: float = 0.0
    until: float = 0.0  # event-loop time

    def fail(self, now: float, retry_after: float | None) -> float:
        """Record a failure at `now`; returns how long to wait before the next try."""
        self.delay = min(MAX_BACKOFF, max(1.0, self.delay * 2))
        wait = retry_after if retry_after is not None else self.delay
        self.until = now + wait
        return wait

    def ok(self) -> None:
        self.delay = 0.0
        self.until = 0.0
