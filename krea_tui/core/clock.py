"""This machine's wall clock, as every part of krea-tui reads it.

One place, so that tests can play a clock that is minutes off or that jumps in the middle of a
batch (`CLOCK.offset`), and so that times compared with the server's are all read the same way.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class WallClock:
    offset = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset


CLOCK = WallClock()


def utcnow() -> datetime:
    return CLOCK.now()
