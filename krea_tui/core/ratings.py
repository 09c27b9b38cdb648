"""Ratings and picks: choosing the keepers of a session.

A job's rating is 0-5 (None: unrated; 0 is "seen, worth nothing", not "unrated"); its pick
is PICK (1), REJECT (-1) or None. Both live in the history (schema 7) and every change is a
revision (`JobStore.update`), so other processes on the history follow it as they follow
status changes. A screen hands the queue model `events(...)` for the jobs it changed.

The saved file's JSON sidecar is rewritten with them (a few hundred bytes); the picture
itself is not: its metadata sits in a PNG text chunk before the pixels, and changing it means
writing the whole file again (megabytes, per key pressed while culling). The picture gets
them when it is written anew: `krea-tui export` writes its copies with the rating and pick in
the PNG's `krea-tui` chunk, next to the request.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Protocol

from krea_tui.core.events import JobEvent
from krea_tui.core.files import atomic_write
from krea_tui.core.store import JobStore, StoredJob

log = logging.getLogger(__name__)

PICK = 1
REJECT = -1
RATINGS = range(0, 6)
PICK_WORDS = {PICK: "pick", REJECT: "reject"}
Changed = list[tuple[StoredJob, StoredJob]]  # (before, after) of each job written


def _write(store: JobStore, local_ids: Iterable[str], column: str, value: int | None) -> Changed:
    ids = list(dict.fromkeys(local_ids))
    changed: Changed = []
    with store.transaction():  # one commit for a thousand marked jobs
        for local_id in ids:
            try:
                before = store.get(local_id)
            except KeyError:
                continue  # removed meanwhile (by another process)
            store.update(local_id, **{column: value})
            changed.append((before, store.get(local_id)))
    return changed


def rate(store: JobStore, local_ids: Iterable[str], rating: int | None) -> Changed:
    """Give these jobs `rating` (0-5, None: unrated); (before, after) of each."""
    if rating is not None and rating not in RATINGS:
        raise ValueError(f"a rating is 0 to 5, not {rating}")
    return _write(store, local_ids, "rating", rating)


def set_pick(store: JobStore, local_ids: Iterable[str], pick: int | None) -> Changed:
    """Mark these jobs picked (PICK), rejected (REJECT) or neither (None)."""
    if pick is not None and pick not in PICK_WORDS:
        raise ValueError(f"a pick is 1 (pick), -1 (reject) or None, not {pick}")
    return _write(store, local_ids, "pick", pick)


def toggled_rating(jobs: Sequence[StoredJob], rating: int) -> int | None:
    """The rating a key gives these jobs: `rating`, or None (unrated) when they all have it
    already (the same key again takes it back)."""
    return None if jobs and all(job.rating == rating for job in jobs) else rating


def toggled_pick(jobs: Sequence[StoredJob], pick: int) -> int | None:
    """As `toggled_rating`, for the pick and reject keys."""
    return None if jobs and all(job.pick == pick for job in jobs) else pick


def events(changed: Changed) -> list[JobEvent]:
    """What the queue model is handed for jobs rated here: a status "change" to the same
    status, carrying the job as it was (so a filter on ratings lets the row leave or enter)."""
    return [JobEvent(after, after.status, after.status, before=before) for before, after in changed]


class Judged(Protocol):
    """What a label is made from: a stored job, or the gallery's item for one."""

    @property
    def rating(self) -> int | None: ...
    @property
    def pick(self) -> int | None: ...


def label(job: Judged) -> str:
    """`✔★★★`: the pick (✔) or reject (✘), then a star per point (☆ for a rating of 0)."""
    flag = {PICK: "✔", REJECT: "✘"}.get(job.pick or 0, "")
    if job.rating is None:
        return flag
    return flag + ("★" * job.rating if job.rating else "☆")


def judgement(job: StoredJob) -> dict[str, Any]:
    """The rating and pick as the saved files' metadata carry them."""
    return {"rating": job.rating, "pick": PICK_WORDS.get(job.pick or 0)}


def write_sidecars(jobs: Iterable[StoredJob]) -> int:
    """Rewrite the JSON sidecar of each saved file of `jobs` with its rating and pick (the
    request and the rest are kept); returns how many were written. A missing or unreadable
    sidecar is left alone: the history is what holds the rating."""
    written = 0
    for job in jobs:
        for path in job.files:
            sidecar = Path(path).with_name(Path(path).name + ".json")
            try:
                document = json.loads(sidecar.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if not isinstance(document, dict):
                continue
            document.update(judgement(job))
            text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
            try:
                atomic_write(sidecar, text.encode())
            except OSError as exc:
                log.warning("sidecar %s not updated: %s", sidecar, exc)
                continue
            written += 1
    return written
