"""When to tell the user something ended: a job, or the last job of a batch.

Pure decisions over engine events and the store, so the TUI only chooses how to say it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from krea_tui.core.events import JobEvent
from krea_tui.core.status import is_final
from krea_tui.core.store import StoredJob


def job_ended(event: JobEvent) -> bool:
    """A job we watched reached completed, failed or cancelled just now. A job that arrives
    already ended (imported, or loaded at start) has `old` None and ended long ago."""
    return event.old is not None and not is_final(event.old) and is_final(event.new)


@dataclass(frozen=True, slots=True)
class Tally:
    done: int = 0
    failed: int = 0
    cancelled: int = 0

    @property
    def total(self) -> int:
        return self.done + self.failed + self.cancelled

    def words(self) -> str:
        parts = [f"{self.done} done"]
        if self.failed:
            parts.append(f"{self.failed} failed")
        if self.cancelled:
            parts.append(f"{self.cancelled} cancelled")
        return ", ".join(parts)


def tally(jobs: Iterable[StoredJob]) -> Tally:
    done = failed = cancelled = 0
    for job in jobs:
        if job.status == "completed":
            done += 1
        elif job.status == "failed":
            failed += 1
        elif job.status == "cancelled":
            cancelled += 1
    return Tally(done, failed, cancelled)


def batch_finished(batch: Iterable[StoredJob]) -> Tally | None:
    """The batch's outcome if every job in it has ended, else None."""
    jobs = list(batch)
    if not jobs or not all(job.is_final for job in jobs):
        return None
    return tally(jobs)
