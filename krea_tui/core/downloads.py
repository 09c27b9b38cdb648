"""Saving finished results: a bounded pool of downloads, each written atomically with the
request embedded, retried on passing errors, reported as events."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import KreaError
from krea_tui.core.events import DownloadEvent, EngineEvent, PreviewEvent
from krea_tui.core.files import atomic_write, free_path, result_path
from krea_tui.core.metadata import request_document, request_from_png, with_metadata
from krea_tui.core.store import JobStore, StoredJob, utcnow

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0, 3.0, 9.0)
PREVIEW_MAX_BYTES = 8 * 1024 * 1024


class Downloader:
    def __init__(
        self,
        client: KreaClient,
        store: JobStore,
        publish: Callable[[EngineEvent], None],
        *,
        output_dir: Path,
        template: str,
        concurrency: int = 4,
        preview_dir: Path | None = None,
    ) -> None:
        self._client = client
        self._store = store
        self._publish = publish
        self.output_dir = output_dir
        self.template = template
        self.preview_dir = preview_dir
        self._pool = asyncio.Semaphore(concurrency)
        self._pending: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def request(self, local_id: str) -> None:
        """Save every result of this job that is not saved yet (idempotent)."""
        if local_id in self._pending:
            return
        self._pending.add(local_id)
        self._idle.clear()
        task = asyncio.create_task(self._run(local_id), name=f"download {local_id[:8]}")
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def preview_path(self, local_id: str) -> Path | None:
        return self.preview_dir / f"{local_id}.png" if self.preview_dir else None

    def preview(self, local_id: str, url: str) -> None:
        """Fetch an in-progress preview (small, best effort: a failure is not worth a word)."""
        target = self.preview_path(local_id)
        if target is None:
            return
        task = asyncio.create_task(self._save_preview(local_id, url, target), name="preview")
        self._tasks.add(task)
        self._idle.clear()
        task.add_done_callback(self._done)

    async def _save_preview(self, local_id: str, url: str, target: Path) -> None:
        try:
            async with self._pool:
                data = await self._client.fetch(url, max_bytes=PREVIEW_MAX_BYTES)
            atomic_write(target, data)
            self._publish(PreviewEvent(self._store.get(local_id), target))
        except (KreaError, OSError, KeyError) as exc:
            log.info("preview of %s not saved: %s", local_id[:8], exc)

    def is_pending(self, local_id: str) -> bool:
        return local_id in self._pending

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not self._tasks:
            self._idle.set()

    async def wait_idle(self) -> None:
        await self._idle.wait()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, local_id: str) -> None:
        try:
            job = self._store.get(local_id)
            for index, url in enumerate(job.urls):
                if index < len(job.files) and Path(job.files[index]).exists():
                    continue
                await self._save_one(job, index, url)
        except KeyError:
            pass  # removed from history meanwhile
        finally:
            self._pending.discard(local_id)

    async def _save_one(self, job: StoredJob, index: int, url: str) -> None:
        error: str | None = None
        async with self._pool:
            for delay in (*RETRY_DELAYS, None):
                try:
                    data = await self._client.fetch(url)
                    path = self._write(job, index, url, data)
                except KreaError as exc:
                    error = exc.message
                    if not exc.retryable or delay is None:
                        break
                    await asyncio.sleep(delay)
                    continue
                except OSError as exc:
                    error = f"could not write the file: {exc}"
                    break
                self._store.add_file(job.local_id, index, url, path)
                if index == 0 and (preview := self.preview_path(job.local_id)) is not None:
                    preview.unlink(missing_ok=True)  # the real picture replaces it
                self._publish(DownloadEvent(self._store.get(job.local_id), index, path))
                log.info("job %s result %d saved as %s", job.remote_id, index, path)
                return
        log.warning("job %s result %d not saved: %s", job.remote_id, index, error)
        self._publish(DownloadEvent(job, index, None, error=error))

    def _write(self, job: StoredJob, index: int, url: str, data: bytes) -> Path:
        job_id = job.remote_id or job.local_id
        extra = {"job_id": job_id, "created_at": job.created_at.isoformat(), "index": index}
        target = free_path(
            result_path(
                self.output_dir,
                self.template,
                job_id=job_id,
                index=index,
                url=url,
                when=job.remote_created_at or job.created_at or utcnow(),
                model=job.model,
                seed=job.request.get("seed", ""),
            ),
            # Killed after writing the picture and before recording it, we find it here on
            # the next start: write over our own copy instead of leaving it as an orphan.
            reuse=lambda path: _written_for(path, job_id, index),
        )
        document = request_document(job.model, job.request, **extra, url=url)
        atomic_write(target, with_metadata(data, job.model, job.request, **extra))
        sidecar = target.with_name(target.name + ".json")
        atomic_write(sidecar, json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")
        return target


def _written_for(path: Path, job_id: str, index: int) -> bool:
    """Whether `path` is a result this app saved for result `index` of `job_id`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)  # our text chunks come before the image data
    except OSError:
        return False
    document = request_from_png(head)
    return bool(document) and document.get("job_id") == job_id and document.get("index") == index
