"""Saving finished results: a bounded pool of downloads, each streamed to a temp file on disk
(never whole in memory), checked to be a picture of a size its model can make, then written
atomically with the request embedded; retried on passing errors, reported as events.

A result that cannot be saved (output folder unwritable or full, a download refused or given
up on) is said so on its job: `error_message` starts with NOT_SAVED while the status stays
`completed` (the server did make it), and is cleared once a later try saves everything.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import KreaError, UnexpectedResponseError
from krea_tui.core.events import DownloadEvent, EngineEvent, PreviewEvent
from krea_tui.core.files import (
    atomic_write,
    free_path,
    media_type,
    replacing,
    result_path,
    scratch_file,
)
from krea_tui.core.metadata import copy_with_metadata, request_document, request_from_png
from krea_tui.core.pictures import (
    PICTURE_KINDS,
    PictureError,
    ResultLimits,
    picture_size,
    result_limits,
)
from krea_tui.core.ratings import judgement
from krea_tui.core.store import JobStore, StoredJob, utcnow

log = logging.getLogger(__name__)
RETRY_DELAYS = (1.0, 3.0, 9.0)
PREVIEW_MAX_BYTES = 8 * 1024 * 1024
# How a completed job's error_message starts when some result of it could not be saved here.
NOT_SAVED = "not saved: "


def save_error(job: StoredJob) -> str | None:
    """Why some result of this completed job is not saved here, as the Downloader recorded it
    (the message, NOT_SAVED included); None when it recorded nothing."""
    message = job.error_message or ""
    return message if job.status == "completed" and message.startswith(NOT_SAVED) else None


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
        limits: Callable[[str], ResultLimits] = result_limits,
    ) -> None:
        self._client = client
        self._store = store
        self._publish = publish
        self.output_dir = output_dir
        self.template = template
        self.preview_dir = preview_dir
        self._pool = asyncio.Semaphore(concurrency)
        self._limits = limits  # model -> how big its results may be
        self._failed: dict[str, dict[int, str]] = {}  # local id -> index -> why, this run
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
            model = self._store.get(local_id).model
            async with self._pool:
                data = await self._client.fetch(url, max_bytes=PREVIEW_MAX_BYTES)
            if media_type(data[:16]) not in PICTURE_KINDS:
                raise PictureError("it is no picture")
            # Decoded by the detail pane and the contact sheet: checked like a result.
            picture_size(io.BytesIO(data), self._limits(model).max_pixels, of=model)
            atomic_write(target, data)
            self._publish(PreviewEvent(self._store.get(local_id), target))
        except (KreaError, OSError, KeyError, PictureError) as exc:
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
            self._failed.pop(local_id, None)

    async def _save_one(self, job: StoredJob, index: int, url: str) -> None:
        limits = self._limits(job.model)
        error = ""
        target: Path | None = None
        for delay in (*RETRY_DELAYS, None):
            try:
                # A pool slot for each try, not across the waits between tries: a result that
                # keeps failing must not hold back the healthy ones queued behind it.
                async with self._pool:
                    target = self._target(job, index, url)
                    await self._download(job, index, url, target, limits)
            except KreaError as exc:
                error = exc.message
                if not exc.retryable or delay is None:
                    break
                await asyncio.sleep(delay)
                continue
            except OSError as exc:
                error = f"could not write it ({exc.strerror or exc})"
                break
            except ValueError as exc:  # a file-name template that gives no usable name
                error = str(exc)
                break
            self._store.add_file(job.local_id, index, url, target)
            self._failed.get(job.local_id, {}).pop(index, None)
            if index == 0 and (preview := self.preview_path(job.local_id)) is not None:
                preview.unlink(missing_ok=True)  # the real picture replaces it
            self._publish(DownloadEvent(self._record(job.local_id), index, target))
            log.info("job %s result %d saved as %s", job.remote_id, index, target)
            return
        where = str(target) if target is not None else f"result {index} ({url})"
        why = f"{where}: {error}"  # which file could not be written, and why
        log.warning("job %s result %d not saved: %s", job.remote_id, index, why)
        self._failed.setdefault(job.local_id, {})[index] = why
        self._publish(DownloadEvent(self._record(job.local_id), index, None, error=why))

    def _record(self, local_id: str) -> StoredJob:
        """Write down on the job which of its results could not be saved and why, or clear
        that once every result is saved; the job as it now stands."""
        job = self._store.get(local_id)
        failed = self._failed.get(local_id)
        if failed:
            message: str | None = NOT_SAVED + "; ".join(failed[i] for i in sorted(failed))
        elif save_error(job) and len(job.files) >= len(job.urls):
            message = None
        else:
            return job
        if message != job.error_message:
            self._store.update(local_id, error_message=message)
            job = self._store.get(local_id)
        return job

    def _target(self, job: StoredJob, index: int, url: str) -> Path:
        job_id = job.remote_id or job.local_id
        return free_path(
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

    async def _download(
        self, job: StoredJob, index: int, url: str, target: Path, limits: ResultLimits
    ) -> None:
        """Stream the result to a temp file next to `target` (bounded by `limits`), check it,
        and only then write it under `target`: nothing half-checked is ever kept."""
        with scratch_file(target.parent) as scratch:
            await self._client.download_into(url, scratch, max_bytes=limits.max_bytes)
            scratch.seek(0)
            _check(scratch, url, job.model, limits)
            scratch.seek(0)
            self._write(job, index, url, scratch, target)

    def _write(self, job: StoredJob, index: int, url: str, source: BinaryIO, target: Path) -> None:
        job_id = job.remote_id or job.local_id
        extra = {"job_id": job_id, "created_at": job.created_at.isoformat(), "index": index}
        if job.rating is not None or job.pick is not None:  # rated before it was saved
            extra.update(judgement(job))
        document = request_document(job.model, job.request, **extra, url=url)
        with replacing(target) as out:
            copy_with_metadata(source, out, job.model, job.request, **extra)
        sidecar = target.with_name(target.name + ".json")
        atomic_write(sidecar, json.dumps(document, indent=2, sort_keys=True).encode() + b"\n")


def _check(source: BinaryIO, url: str, model: str, limits: ResultLimits) -> None:
    """Refuse what is no result (an HTML page from a CDN or a captive portal) and a picture
    whose header declares more pixels than `model` makes; only the header is read."""
    head = source.read(40)
    kind = media_type(head)
    if kind is None:
        start = head.decode("ascii", "replace")
        raise UnexpectedResponseError(
            f"{url} did not answer with an image or video (it starts {start!r})", status=200
        )
    if kind in PICTURE_KINDS:
        source.seek(0)
        try:
            picture_size(source, limits.max_pixels, of=model)
        except PictureError as exc:
            raise UnexpectedResponseError(f"refused: {exc}", status=200) from None


def _written_for(path: Path, job_id: str, index: int) -> bool:
    """Whether `path` is a result this app saved for result `index` of `job_id`."""
    try:
        with path.open("rb") as handle:
            head = handle.read(1 << 16)  # our text chunks come before the image data
    except OSError:
        return False
    document = request_from_png(head)
    return (
        document is not None and document.get("job_id") == job_id and document.get("index") == index
    )
