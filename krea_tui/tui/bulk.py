"""Actions on many jobs at once, through the engine: what the marks in the table are for.

Each returns a short sentence for one toast: three hundred jobs are one notification, not three
hundred.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from krea_tui.core.batch import new_batch_id, with_seeds
from krea_tui.core.status import LocalStatus
from krea_tui.core.store import StoredJob


def noun(count: int, word: str = "job") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def requeue(
    engine: Any, catalog: Any, jobs: Sequence[StoredJob], *, new_seed: bool
) -> tuple[list[StoredJob], int]:
    """Send each job's request again as a new job, all in one new batch (so its end is
    announced once). Imported jobs, whose request is unknown, are skipped and counted."""
    by_model: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    skipped = 0
    for job in jobs:
        if job.model not in catalog or not job.request:
            skipped += 1
            continue
        body = dict(job.request)
        if new_seed:
            body.pop("seed", None)
            takes_seed = catalog.get(job.model).field("seed") is not None
            body = with_seeds(body, 1, takes_seed=takes_seed)[0]
        by_model.setdefault((job.model, job.preset), []).append(body)
    # One new batch: its end is announced once, and the triage screen times it as a whole.
    batch_id = new_batch_id() if sum(len(b) for b in by_model.values()) > 1 else None
    queued: list[StoredJob] = []
    for (model, preset), bodies in by_model.items():
        cost, unit = catalog.cost_with_unit(model, bodies[0])
        queued += engine.enqueue(
            model, bodies, preset=preset, batch_id=batch_id, cost_estimate=cost, cost_unit=unit
        )
    return queued, skipped


async def cancel_all(engine: Any, jobs: Sequence[StoredJob]) -> str:
    done = refused = 0
    reasons: dict[str, int] = {}
    for job in jobs:
        if job.is_final:
            continue
        result = await engine.cancel(job.local_id)
        if result.ok:
            done += 1
        else:
            refused += 1
            reasons[result.message] = reasons.get(result.message, 0) + 1
    if not done and not refused:
        return "Nothing to cancel: those jobs had already ended"
    text = f"Cancelled {noun(done)}"
    if refused:
        common = max(reasons, key=lambda r: reasons[r])
        text += f"; {refused} could not be ({common})"
    return text


def download_all(engine: Any, jobs: Sequence[StoredJob]) -> str:
    asked = saved = 0
    for job in jobs:
        if job.status != "completed" or not job.urls:
            continue
        if len(job.files) >= len(job.urls):
            saved += 1
            continue
        engine.downloads.request(job.local_id)
        asked += 1
    if not asked and not saved:
        return "None of those jobs has a result to save"
    text = f"Saving the results of {noun(asked)}" if asked else ""
    if saved:
        text += ("; " if text else "") + f"{noun(saved)} already saved"
    return text


def removable(jobs: Sequence[StoredJob]) -> list[StoredJob]:
    """Only ended jobs leave the history: one still running would be paid for and lost."""
    return [job for job in jobs if job.is_final]


def held_of_batch(jobs: Sequence[StoredJob], batch_id: str) -> list[StoredJob]:
    return [job for job in jobs if job.batch_id == batch_id and job.status == LocalStatus.HELD]
