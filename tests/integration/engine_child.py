"""A job engine in a process of its own, for the kill-and-restart tests.

    python -m tests.integration.engine_child BASE_URL DATA_DIR COUNT

The token comes from KREA_API_TOKEN. On a fresh history it queues COUNT jobs (prompts `job 0`,
`job 1`, ...); on an existing one it queues nothing and only resumes. It exits 0 once every job
has ended and its results are saved, printing the engine's request figures as JSON.

Optional environment, for the reliability tests (tests/reliability/test_crash.py):

- KREA_CHILD_MAX_POSTS: POSTs under way at once (default 1).
- KREA_CHILD_FOREVER=1: never exit; the parent decides when it has seen enough (and kills).
- KREA_CHILD_PREVIEWS=1: fetch in-progress previews into DATA_DIR/previews.
- KREA_CHILD_CHURN=DIR: keep rewriting DIR/presets.toml (one preset more each time) and
  DIR/config.toml (holding the token), as a user saving presets would; prints `saved N` on
  stdout after the Nth preset is safely written.
- KREA_CHILD_HANG_AT_FSYNC=N: the Nth fsync of a file written by core/files.py (whose path
  contains KREA_CHILD_HANG_IN, if set) hangs, printing `hanging` first, so the parent can kill
  it inside an atomic write, after the data and before the rename.

It prints `started` on stdout once the engine has recovered from the last run.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path

from krea_tui.core.api import KreaClient
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.store import JobStore


def settled(store: JobStore) -> bool:
    for job in store.jobs():
        if not job.is_final:
            return False
        if job.status == "completed" and len(job.files) < len(job.urls):
            return False
    return True


def say(line: str) -> None:
    print(line, flush=True)


def hang_at_fsync(nth: int, inside: str) -> None:
    """Make the `nth` fsync of a file whose path contains `inside` hang, as a kill-able moment
    inside an atomic write."""
    import krea_tui.core.files as files

    real = os.fsync
    calls = 0

    def fsync(fd: int) -> None:
        nonlocal calls
        if inside not in os.readlink(f"/proc/self/fd/{fd}"):  # Linux: the file's path
            real(fd)
            return
        calls += 1
        if calls == nth:
            say("hanging")
            time.sleep(3600)  # blocks the whole loop: nothing moves until the kill
        real(fd)

    files.os = _OsWithFsync(fsync)  # type: ignore[assignment]


class _OsWithFsync:
    """The os module as files.py sees it, with fsync replaced (the rest of the process keeps
    the real one)."""

    def __init__(self, fsync: object) -> None:
        self.fsync = fsync

    def __getattr__(self, name: str) -> object:
        return getattr(os, name)


async def churn(directory: Path, token: str) -> None:
    """Save presets and the token config again and again, as a user in the form would."""
    from krea_tui.config import save_token
    from krea_tui.presets import Preset, load_presets, save_preset

    presets = directory / "presets.toml"
    n = len(load_presets(presets))
    while True:
        save_preset(Preset(f"p{n}", "bfl/flux-1-dev", {"steps": n + 1}), presets)
        save_token(directory / "config.toml", token)
        n += 1
        say(f"saved {n}")
        await asyncio.sleep(0.01)


async def main(base_url: str, data_dir: Path, count: int) -> int:
    token = os.environ["KREA_API_TOKEN"]
    if os.environ.get("KREA_CHILD_HANG_AT_FSYNC"):
        hang_at_fsync(
            int(os.environ["KREA_CHILD_HANG_AT_FSYNC"]), os.environ.get("KREA_CHILD_HANG_IN", "")
        )
    store = JobStore(data_dir / "history.sqlite3")
    client = KreaClient(token, base_url=base_url)
    config = EngineConfig(
        output_dir=data_dir / "out",
        min_interval=0.05,
        max_interval=0.2,
        max_in_flight=6,
        # One POST at a time by default: a kill during a POST then leaves exactly one lost
        # answer, which the restart can match unambiguously (concurrent lost POSTs stay unknown
        # on purpose).
        max_posts=int(os.environ.get("KREA_CHILD_MAX_POSTS", "1")),
        preview_dir=data_dir / "previews" if os.environ.get("KREA_CHILD_PREVIEWS") else None,
    )
    engine = JobEngine(client, store, config)
    subscription = engine.subscribe()
    await engine.start()
    say("started")
    if not store.jobs():
        requests = [{"prompt": f"job {i}", "seed": 1000 + i} for i in range(count)]
        engine.enqueue("bfl/flux-1-dev", requests)
    if os.environ.get("KREA_CHILD_CHURN"):
        churning = asyncio.create_task(churn(Path(os.environ["KREA_CHILD_CHURN"]), token))
        churning.add_done_callback(lambda task: task.cancelled() or task.result())
    forever = bool(os.environ.get("KREA_CHILD_FOREVER"))
    while forever or not settled(store):
        event = await subscription.queue.get()
        # What a stuck run needs explained: notices, failed downloads, pauses, status changes.
        print(f"event: {event!r}"[:300], file=sys.stderr, flush=True)
    print(json.dumps(engine.request_stats()), flush=True)
    await engine.stop()
    await client.aclose()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))))
