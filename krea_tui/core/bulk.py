"""Actions on many jobs at once, through the engine: what the marks in the table are for.

Each returns a short sentence for one toast: three hundred jobs are one notification, not three
hundred. Nothing here draws anything, so the CLI and tests can use it as the TUI does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from krea_tui.core.batch import with_seeds
from krea_tui.core.catalog import Catalog, format_totals
from krea_tui.core.engine import JobEngine
from krea_tui.core.store import StoredJob
from krea_tui.core.submit import Order


def noun(count: int, word: str = "job") -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def requeue(
    engine: JobEngine, catalog: Catalog, jobs: Sequence[StoredJob], *, new_seed: bool
) -> tuple[list[StoredJob], int]:
    """Send each job's request again as a new job, all in one new batch (so its end is
    announced once). Imported jobs, whose request is unknown, are skipped and counted."""
    by_model: dict[tuple[str, str | None], list[dict[str, Any]]] = {}
    parents: dict[tuple[str, str | None], list[str | None]] = {}
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
        parents.setdefault((job.model, job.preset), []).append(job.local_id)  # lineage
    # One submission, so one new batch: its end is announced once, and the triage screen
    # times it as a whole.
    orders = [
        Order(model, bodies, preset, parents=parents[(model, preset)])
        for (model, preset), bodies in by_model.items()
    ]
    return engine.submit(catalog, orders), skipped


def resend_cost(catalog: Catalog, jobs: Sequence[StoredJob]) -> str:
    """What `requeue` would spend, worded as every question before sending says it
    (`Catalog.cost_text`: "est. 3 × $0.007 = $0.021"); several models are added up ("est.
    $0.049 in all"). Jobs `requeue` skips (no known request) cost nothing."""
    by_model: dict[str, list[dict[str, Any]]] = {}
    for job in jobs:
        if job.model in catalog and job.request:
            by_model.setdefault(job.model, []).append(dict(job.request))
    if len(by_model) == 1:
        [(model, bodies)] = by_model.items()
        return str(catalog.cost_text(model, bodies))
    totals: dict[str, float] = {}
    for model, bodies in by_model.items():
        found = catalog.cost_totals(model, bodies)
        if found is None:
            return "cost unknown"
        for unit, value in found.items():
            totals[unit] = totals.get(unit, 0.0) + value
    return f"est. {format_totals(totals)} in all" if totals else "cost unknown"


def home_short(path: str | Path) -> str:
    """A folder as a person types it: with ~ for the home folder."""
    path = Path(path)
    try:
        return "~/" + path.relative_to(Path.home()).as_posix()
    except (ValueError, RuntimeError):  # outside the home folder, or there is none
        return str(path)


def saved_folder(jobs: Sequence[StoredJob]) -> str:
    """Where the results of `jobs` are: the folder their files share (the results folder, or
    the day's folder in it), with ~ for the home folder."""
    folders = [os.path.dirname(path) for job in jobs for path in job.files]
    try:
        return home_short(os.path.commonpath(folders)) if folders else ""
    except ValueError:  # files on different drives
        return ""


async def cancel_all(engine: JobEngine, jobs: Sequence[StoredJob]) -> str:
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


def download_all(engine: JobEngine, jobs: Sequence[StoredJob]) -> str:
    asked = 0
    saved: list[StoredJob] = []
    for job in jobs:
        if job.status != "completed" or not job.urls:
            continue
        if len(job.files) >= len(job.urls):
            saved.append(job)
            continue
        engine.downloads.request(job.local_id)
        asked += 1
    if not asked and not saved:
        return "None of those jobs has a result to save"
    text = f"Saving the results of {noun(asked)}" if asked else ""
    if saved:
        where = saved_folder(saved)
        text += ("; " if text else "") + f"{noun(len(saved))} already saved"
        text += f" in {where}" if where else ""
    return text


def removable(jobs: Sequence[StoredJob]) -> list[StoredJob]:
    """Only ended jobs leave the history: one still running would be paid for and lost."""
    return [job for job in jobs if job.is_final]
