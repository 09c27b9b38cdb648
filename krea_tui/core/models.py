"""Jobs as the Krea API reports them, parsed tolerantly.

The API changed shape several times during 2026 (see the reference's "eras"): results may be
null, `{}`, a list of URL strings, a list of `{type, url}` objects or a name → URL map; a
failure reason may sit in `result.error` or in a top-level `error {code, message}`. A job that
we cannot fully understand is still a job the user paid for, so parsing keeps what it can and
never fails on an unexpected extra or an unknown status.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class JobStatus(StrEnum):
    """The server-side statuses documented for every Krea job."""

    BACKLOGGED = "backlogged"
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    PROCESSING = "processing"
    SAMPLING = "sampling"
    INTERMEDIATE_COMPLETE = "intermediate-complete"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES

    @property
    def is_cancellable(self) -> bool:
        return self in CANCELLABLE_STATUSES


TERMINAL_STATUSES: frozenset[JobStatus] = frozenset(
    {JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED}
)
# Only these two are documented as cancellable; the others may be refused by the server.
CANCELLABLE_STATUSES: frozenset[JobStatus] = frozenset({JobStatus.QUEUED, JobStatus.PROCESSING})
# The order a job normally walks; used to tell which states were skipped between two looks.
LIFECYCLE_ORDER: tuple[JobStatus, ...] = (
    JobStatus.BACKLOGGED,
    JobStatus.QUEUED,
    JobStatus.SCHEDULED,
    JobStatus.PROCESSING,
    JobStatus.SAMPLING,
    JobStatus.INTERMEDIATE_COMPLETE,
    JobStatus.COMPLETED,
)


# A status the server sends that is none of JobStatus is kept as the server's own word behind
# this mark: `held` from the server is "?held", and a missing or blank status is the mark alone,
# "?". Neither JobStatus values nor the local statuses (status.LocalStatus: held, submitting,
# unknown) start with it, so nothing a server says can put a job into a local state: as `held`
# the job would be sent (and paid for) again, as `unknown` or `submitting` nobody would look at
# it again. Such a status counts as active: the watcher keeps following the job.
UNRECOGNISED = "?"
# An unrecognised word is kept this long at most, and only its printable characters: it goes
# to the history's timeline, the log and the terminal.
MAX_STATUS_WORD = 40


def parse_status(raw: object) -> JobStatus | str:
    """The documented status, or the server's own word behind UNRECOGNISED ("?held"; "?" when
    the server sent none)."""
    text = str(raw).strip() if raw is not None else ""
    try:
        return JobStatus(text.lower())
    except ValueError:
        word = text[:MAX_STATUS_WORD].strip()
        return UNRECOGNISED + "".join(c if c.isprintable() else "?" for c in word)


def parse_time(raw: object) -> datetime | None:
    """ISO 8601 as the API sends it (`2026-02-13T02:20:58.265Z`); None when absent or unreadable."""
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None


def _url_of(item: object) -> str | None:
    if isinstance(item, str):
        return item or None
    if isinstance(item, Mapping):
        url = item.get("url") or item.get("uri")
        return url if isinstance(url, str) and url else None
    return None


def parse_urls(raw: object) -> tuple[str, ...]:
    """Result URLs from any of the documented shapes: strings, `{type, url}` objects, or a map."""
    if isinstance(raw, str):
        return (raw,) if raw else ()
    if isinstance(raw, Mapping):
        items: list[object] = list(raw.values())
    elif isinstance(raw, list | tuple):
        items = list(raw)
    else:
        return ()
    return tuple(url for url in map(_url_of, items) if url)


def _parse_error(
    data: Mapping[str, Any], result: Mapping[str, Any]
) -> tuple[str | None, str | None]:
    """(code, message) from the top-level `error` object (newer API) or `result.error` (older)."""
    for candidate in (data.get("error"), result.get("error")):
        if isinstance(candidate, Mapping):
            code = candidate.get("code")
            message = candidate.get("message") or candidate.get("error")
            if code is not None or message is not None:
                return (
                    str(code) if code is not None else None,
                    str(message) if message is not None else None,
                )
        elif isinstance(candidate, str) and candidate:
            return None, candidate
    return None, None


@dataclass(frozen=True, slots=True)
class Job:
    """One job as last reported by the server. `raw` keeps the full answer for the history."""

    job_id: str
    status: JobStatus | str
    created_at: datetime | None = None
    completed_at: datetime | None = None
    urls: tuple[str, ...] = ()
    type: str | None = None
    style_id: str | None = None
    error_code: str | None = None
    error_message: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_api(cls, data: object) -> Job:
        """Parse one job object; raises ValueError only when there is no job id at all."""
        if not isinstance(data, Mapping):
            raise ValueError(f"expected a job object, got {type(data).__name__}")
        job_id = data.get("job_id") or data.get("jobId") or data.get("id")
        if not isinstance(job_id, str | int) or not str(job_id):
            raise ValueError("job object has no job_id")
        result = data.get("result")
        result_map: Mapping[str, Any] = result if isinstance(result, Mapping) else {}
        code, message = _parse_error(data, result_map)
        style_id = result_map.get("style_id")
        job_type = data.get("type")
        return cls(
            job_id=str(job_id),
            status=parse_status(data.get("status")),
            created_at=parse_time(data.get("created_at") or data.get("createdAt")),
            completed_at=parse_time(data.get("completed_at") or data.get("completedAt")),
            urls=parse_urls(result_map.get("urls")),
            type=str(job_type) if job_type is not None else None,
            style_id=str(style_id) if style_id is not None else None,
            error_code=code,
            error_message=message,
            raw=dict(data),
        )

    @property
    def is_terminal(self) -> bool:
        return isinstance(self.status, JobStatus) and self.status.is_terminal

    @property
    def is_cancellable(self) -> bool:
        return isinstance(self.status, JobStatus) and self.status.is_cancellable

    @property
    def status_text(self) -> str:
        return str(self.status)
