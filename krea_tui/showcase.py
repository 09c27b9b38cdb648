"""A fixed demo history for deterministic screens: fixed ids, times, seeds, and pictures drawn
by the simulator's own generator. The snapshot tests and `scripts/screenshots.py` both use it,
so the README's pictures and the tested screens are the same app over the same data."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from krea_tui.config import Settings
from krea_tui.core.api import KreaClient
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.engine import JobEngine
from krea_tui.core.store import JobStore
from krea_tui.runtime import Runtime, engine_config

NOW = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
PROMPTS = [
    "Swiss chalets, balconies embroidered with Edelweiss",
    "a red fox in fresh snow, morning light",
    "an anime-inspired cyberpunk market in Neo Tokyo",
    "lighthouse on a cliff during a storm, oil painting",
    "macro photo of a dragonfly wing",
]
# Statuses in the order the rows are created (oldest first).
STATUSES = [
    "completed",
    "completed",
    "failed",
    "completed",
    "cancelled",
    "completed",
    "completed",
    "completed",
    "processing",
    "sampling",
    "intermediate-complete",
    "queued",
    "backlogged",
    "scheduled",
    "submitting",
    "held",
    "held",
    "unknown",
    "completed",
    "completed",
]
LIFECYCLE = ["queued", "scheduled", "processing", "sampling", "intermediate-complete", "completed"]


def write_picture(path: Path, prompt: str, seed: int) -> None:
    from krea_tui.sim.images import draw

    path.parent.mkdir(parents=True, exist_ok=True)
    draw("bfl/flux-1-dev", prompt, seed, 256, 256).save(path, format="PNG")


def fill(store: JobStore, results: Path, count: int = 20) -> None:
    """`count` jobs in every state, created one minute apart, ending at NOW."""
    for n in range(count):
        status = STATUSES[n % len(STATUSES)]
        created = NOW - timedelta(minutes=count - n)
        prompt = PROMPTS[n % len(PROMPTS)]
        request: dict[str, Any] = {"prompt": prompt, "seed": 1000 + n, "steps": 25}
        if n % 3 == 0:
            request |= {"width": 1344, "height": 768}
        job = store.add_job(
            "bfl/flux-1-dev",
            request,
            now=created,
            local_id=f"{n:02d}" + "0" * 30,
            cost_estimate=0.007,
            cost_unit="USD",
        )
        if status in ("held", "submitting"):
            if status == "submitting":
                store.set_status(job.local_id, status, created + timedelta(seconds=1))
            continue
        remote = f"{n:02d}c0ffee-0000-4000-8000-{n:012d}"
        store.update(
            job.local_id, remote_id=remote, remote_created_at=created, submitted_at=created
        )
        at = created
        for step in LIFECYCLE:
            at += timedelta(seconds=2)
            if step == status:
                break
            if status in ("failed", "cancelled") and step == "processing":
                break
            if status in ("backlogged", "unknown"):
                break
            store.set_status(job.local_id, step, at)
        changes: dict[str, Any] = {}
        if status == "failed":
            changes = {
                "error_code": "content_moderation",
                "error_message": "The prompt was flagged by content moderation.",
            }
        store.set_status(job.local_id, status, at, **changes)
        if status == "completed":
            picture = results / f"{remote}-0.png"
            write_picture(picture, prompt, 1000 + n)
            store.update(job.local_id, urls=[f"https://gen.example.test/{remote}.png"])
            store.add_file(job.local_id, 0, f"https://gen.example.test/{remote}.png", picture)


SWEEP_BATCH = "sweep-20261123-115900-0001+steps+guidance_scale_flux"


def add_sweep(store: JobStore, results: Path) -> None:
    """A finished 3×3 steps × guidance sweep, newest of all: what the contact sheet shows."""
    created = NOW - timedelta(seconds=50)
    n = 0
    for steps in (20, 30, 40):
        for guidance in (2, 3.5, 5):
            prompt = "a paper boat on a pond, morning mist"
            request = {"prompt": prompt, "seed": 7, "steps": steps, "guidance_scale_flux": guidance}
            job = store.add_job(
                "bfl/flux-1-dev",
                request,
                batch_id=SWEEP_BATCH,
                now=created,
                local_id=f"s{n}" + "0" * 30,
                cost_estimate=0.007,
                cost_unit="USD",
            )
            remote = f"5{n}eeb000-0000-4000-8000-{n:012d}"
            store.update(
                job.local_id, remote_id=remote, remote_created_at=created, submitted_at=created
            )
            at = created
            for step in LIFECYCLE:
                at += timedelta(seconds=1 + steps / 20)
                store.set_status(job.local_id, step, at)
            picture = results / f"{remote}-0.png"
            write_picture(picture, f"{prompt} {steps} {guidance}", 7 + n)
            url = f"https://gen.example.test/{remote}.png"
            store.update(job.local_id, urls=[url])
            store.add_file(job.local_id, 0, url, picture)
            n += 1


def runtime_over(tmp_path: Path, fill_history: Callable[[JobStore, Path], None]) -> Any:
    """A runtime over a history `fill_history(store, results_dir)` writes once, whose engine
    never starts: nothing changes on screen. The pictures go to the settings' results folder,
    where the app saves them, so screens show their paths as a user would see them, whatever
    the folder of temporary files is called (`tmp_path` is no longer needed for them)."""

    @contextlib.asynccontextmanager
    async def factory(settings: Settings) -> AsyncIterator[Runtime]:
        store = JobStore(settings.history_path)
        if not store.jobs(limit=1):
            fill_history(store, settings.results_dir)
        client = KreaClient("unused-token", base_url="http://127.0.0.1:9")
        engine = JobEngine(client, store, engine_config(settings))
        try:
            yield Runtime(settings, client, store, engine, bundled_catalog())
        finally:
            await client.aclose()
            store.close()

    return factory


def static_runtime_factory(tmp_path: Path, count: int = 20, *, sweep: bool = False) -> Any:
    """The fixed history of `count` jobs in every state (and the finished sweep, if asked)."""

    def fill_history(store: JobStore, results: Path) -> None:
        fill(store, results, count)
        if sweep:
            add_sweep(store, results)

    return runtime_over(tmp_path, fill_history)


async def settle(pilot: Any) -> None:
    """Wait until the app shows the history, images are decoded and cursors stop blinking."""
    from textual.widgets import Input, TextArea

    app = pilot.app
    for _ in range(200):
        await pilot.pause()
        if getattr(app, "ready", False) and app.screen_stack[0].loaded:
            break
    await wait_for_workers(app)
    app.clear_notifications()  # toasts time out on a clock; screens are compared without them
    for widget in app.screen.query("Input, TextArea"):
        if isinstance(widget, Input | TextArea):
            widget.cursor_blink = False
    await pilot.pause()
    await wait_for_workers(app)
    await pilot.pause()


async def wait_for_workers(app: Any) -> None:
    """Finish short workers (image decoding); the engine's worker lives as long as the app."""
    workers = [w for w in app.workers if w.group != "engine"]
    if workers:  # an empty list would mean "all workers", the engine's included
        await app.workers.wait_for_complete(workers)
