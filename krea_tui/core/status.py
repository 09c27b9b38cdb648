"""Status rules shared by the store, the engine and every view.

A job's status is either one of the server's (JobStatus) or one of three local ones that exist
before the server knows the job: `held` (waiting in our queue), `submitting` (its POST is under
way) and `unknown` (a POST whose outcome we never heard: never re-sent automatically).

The two are separate namespaces. A status the server sends that we do not know is kept as its
own word behind the UNRECOGNISED mark (`"?held"`, or `"?"` when it sent none; see
`models.parse_status`), so it can never equal a local status nor a JobStatus, and it counts as
active: the job stays followed until the server says something we know.
"""

from __future__ import annotations

from enum import StrEnum

from krea_tui.core.models import LIFECYCLE_ORDER, TERMINAL_STATUSES, UNRECOGNISED, JobStatus


class LocalStatus(StrEnum):
    HELD = "held"
    SUBMITTING = "submitting"
    UNKNOWN = "unknown"


FINAL = frozenset(str(s) for s in TERMINAL_STATUSES)
LOCAL = frozenset(str(s) for s in LocalStatus)
_ORDER = {str(s): i for i, s in enumerate(LIFECYCLE_ORDER)}


def is_final(status: str) -> bool:
    return status in FINAL


def is_active_remote(status: str) -> bool:
    """Known to the server and not finished: the watcher must keep looking at it.

    A status string we do not know is treated as active, so a new server state never makes us
    stop tracking a job the user paid for.
    """
    return status not in FINAL and status not in LOCAL


def shown(status: str) -> str:
    """A status as people read it: an unrecognised one stays the server's word with its mark
    (`?held`: not our `held`), a missing one reads `?(no status)`; the others as they are."""
    return f"{UNRECOGNISED}(no status)" if status == UNRECOGNISED else status


def skipped_between(old: str, new: str) -> tuple[str, ...]:
    """Lifecycle states a job must have passed through, unseen, to get from `old` to `new`.

    Only the forward path to `completed` is implied; a jump to failed or cancelled can happen
    from anywhere, so nothing is invented for it.
    """
    if old not in _ORDER or new not in _ORDER:
        return ()
    start, end = _ORDER[old], _ORDER[new]
    passed = LIFECYCLE_ORDER[start + 1 : end]
    # A preview stage happens only for some models, so missing it is not evidence of a skip.
    return tuple(str(s) for s in passed if s is not JobStatus.INTERMEDIATE_COMPLETE)


def is_backwards(old: str, new: str) -> bool:
    """True when `new` comes before `old` in the lifecycle: a stale answer, not a change."""
    if old in FINAL and new not in FINAL:
        return True
    return old in _ORDER and new in _ORDER and _ORDER[new] < _ORDER[old]


__all__ = [
    "FINAL",
    "LOCAL",
    "UNRECOGNISED",
    "JobStatus",
    "LocalStatus",
    "is_active_remote",
    "is_backwards",
    "is_final",
    "shown",
    "skipped_between",
]
