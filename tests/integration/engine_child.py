"""A job engine in a process of its own, for the kill-and-restart tests.

    python -m tests.integration.engine_child BASE_URL DATA_DIR COUNT

The token comes from KREA_API_TOKEN. On a fresh history it queues COUNT jobs (prompts `job 0`,
`job 1`, ...); on an existing one it queues nothing and only resumes. It exits 0 once every job
has ended and its results are saved, printing the engine's request figures as JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
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


async def main(base_url: str, data_dir: Path, count: int) -> int:
    store = JobStore(data_dir / "history.sqlite3")
    client = KreaClient(os.environ["KREA_API_TOKEN"], base_url=base_url)
    config = EngineConfig(
        output_dir=data_dir / "out",
        min_interval=0.05,
        max_interval=0.2,
        max_in_flight=6,
        # One POST at a time: a kill during a POST then leaves exactly one lost answer, which
        # the restart can match unambiguously (concurrent lost POSTs stay unknown on purpose).
        max_posts=1,
    )
    engine = JobEngine(client, store, config)
    subscription = engine.subscribe()
    await engine.start()
    if not store.jobs():
        requests = [{"prompt": f"job {i}", "seed": 1000 + i} for i in range(count)]
        engine.enqueue("bfl/flux-1-dev", requests)
    while not settled(store):
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
