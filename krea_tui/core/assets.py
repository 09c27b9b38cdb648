"""Local files as inputs: wherever a request takes an image URL, a path to a file works too.

A request keeps the path as the user gave it (made absolute): the history, presets, held jobs
and re-runs all name the file. Just before a job's POST, `Uploader.resolve` turns each path into
a URL: the file is checked (there, a file, at most 75 MB, an image kind the service takes),
hashed, and uploaded through `POST /assets` once: the history remembers hash → asset per API
origin, and the next job using the same bytes reuses that asset after checking it still exists
(`GET /assets/{id}`; a 404 means upload again). With Zero Data Retention on, nothing is
uploaded: the file goes inline as a `data:` URI, as the service requires in that mode.

Which fields are image fields comes from the model's schema (core/image_fields.py).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import os
import re
import stat
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from krea_tui.core.asset_types import (
    HEAD_BYTES,
    IMAGE_TEXT,
    MAX_ASSET_BYTES,
    MAX_ASSET_TEXT,
    AssetKind,
    asset_kind,
)
from krea_tui.core.catalog import Catalog, ModelInfo
from krea_tui.core.errors import (
    AuthenticationError,
    KreaError,
    NotFoundError,
    PaymentError,
    TransportError,
)
from krea_tui.core.events import NoticeEvent
from krea_tui.core.image_fields import (
    Location,
    image_locations,
    image_values,
    replace_images,
    with_aliases,
)
from krea_tui.core.models import JobStatus
from krea_tui.core.status import LocalStatus
from krea_tui.core.store import StoredJob, utcnow

if TYPE_CHECKING:
    from krea_tui.core.api import KreaClient
    from krea_tui.core.engine import JobEngine
    from krea_tui.core.store import JobStore

log = logging.getLogger(__name__)

# A remembered asset checked this recently is taken as still there (a batch of 100 jobs on one
# picture asks once, not 100 times).
VERIFIED_FOR = 600.0
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


# Why a training cannot be sent under Zero Data Retention (the TUI and `train-style` say it).
NO_TRAINING_UNDER_ZDR = (
    "training a style is not possible with Zero Data Retention on: a training needs its "
    "pictures uploaded as assets, and nothing is uploaded in that mode "
    "(zero_data_retention in the config)"
)


class InputProblem(ValueError):
    """A local input cannot be sent: the message names the file and says why."""


@dataclass(frozen=True, slots=True)
class LocalFile:
    path: Path
    data: bytes
    sha256: str
    kind: AssetKind

    @property
    def name(self) -> str:
        return self.path.name


@dataclass(frozen=True, slots=True)
class UploadProgress:
    """One step of an input's way to the service, for a progress line."""

    name: str
    sent: int
    total: int
    reused: bool = False  # the history knew this file: nothing was sent
    done: bool = False


def without_query(url: str) -> str:
    """`url` without its query and fragment: what a message may show of a signed URL."""
    parts = urlsplit(url)
    return parts._replace(query="", fragment="").geturl()


def same_origin(url: str, origin: str) -> bool:
    """Whether `url` is on `origin`'s scheme, host and port (where the API token goes)."""
    ports = {"http": 80, "https": 443}

    def key(text: str) -> tuple[str, str, int | None]:
        try:
            parts = urlsplit(text)
            scheme = parts.scheme.lower()
            return scheme, (parts.hostname or "").lower(), parts.port or ports.get(scheme)
        except ValueError:  # a port that is no number
            return "", text, None

    return key(url) == key(origin)


def is_local(value: str) -> bool:
    """A path to a local file rather than a URL: `file:`, or no scheme and the look of a path
    (a folder in it, `~`, or a file suffix); other words stay for validation to call not a URL.
    """
    text = value.strip()
    if not text:
        return False
    if text.lower().startswith("file:"):
        return True
    if _SCHEME.match(text) is not None:
        return False
    return "/" in text or text.startswith(("~", ".")) or bool(Path(text).suffix)


def local_path(value: str, cwd: Path | None = None) -> Path:
    """The absolute path a local input names (`~` expanded, `file://` undone)."""
    text = value.strip()
    if text.lower().startswith("file:"):
        text = unquote(urlsplit(text).path)
    path = Path(os.path.expanduser(text))
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    return Path(os.path.normpath(path))


def peek_input(value: str, *, cwd: Path | None = None, images_only: bool = True) -> Path:
    """The file a local input names, checked from its size and first bytes only (cheap enough
    for a form to call on every key): InputProblem naming the file, as `read_input` would."""
    path = local_path(value, cwd)
    try:
        info = path.stat()
        if stat.S_ISDIR(info.st_mode):
            raise InputProblem(f"{path} is a folder, not a picture")
        with path.open("rb") as file:
            head = file.read(HEAD_BYTES)
    except FileNotFoundError:
        raise InputProblem(f"{path}: no such file") from None
    except OSError as exc:
        raise InputProblem(f"{path}: cannot be read ({exc.strerror or exc})") from None
    _check(path, info.st_size, head, images_only)
    return path


def _check(path: Path, size: int, head: bytes, images_only: bool) -> AssetKind:
    if size > MAX_ASSET_BYTES:
        raise InputProblem(
            f"{path} is {size / 1e6:.1f} MB: uploads may be at most {MAX_ASSET_TEXT}"
        )
    if size == 0:
        raise InputProblem(f"{path} is empty")
    kind = asset_kind(head)
    if kind is None or (images_only and not kind.image):
        what = f"{kind.mime}" if kind is not None else "of a kind the service does not take"
        raise InputProblem(f"{path} is {what}: image inputs take {IMAGE_TEXT} files")
    return kind


def read_input(value: str, *, cwd: Path | None = None, images_only: bool = True) -> LocalFile:
    """The file a local input names, checked before anything is sent."""
    path = local_path(value, cwd)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InputProblem(f"{path}: no such file") from None
    except OSError as exc:
        raise InputProblem(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise InputProblem(f"{path} is a folder, not a picture")
    if info.st_size > MAX_ASSET_BYTES:
        raise InputProblem(
            f"{path} is {info.st_size / 1e6:.1f} MB: uploads may be at most {MAX_ASSET_TEXT}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputProblem(f"{path}: cannot be read ({exc.strerror or exc})") from None
    kind = _check(path, len(data), data[:HEAD_BYTES], images_only)  # as read, not as it was
    return LocalFile(path, data, hashlib.sha256(data).hexdigest(), kind)


def data_uri(file: LocalFile) -> str:
    return f"data:{file.kind.mime};base64,{base64.b64encode(file.data).decode('ascii')}"


_LOCATIONS: dict[int, tuple[ModelInfo, tuple[Location, ...]]] = {}


def locations_of(model: ModelInfo) -> tuple[Location, ...]:
    """The model's image fields, deprecated names included (kept per model object)."""
    cached = _LOCATIONS.get(id(model))
    if cached is not None and cached[0] is model:
        return cached[1]
    locations = with_aliases(image_locations(model.schema), model.aliases)
    _LOCATIONS[id(model)] = (model, locations)
    return locations


def image_fields(model: ModelInfo) -> frozenset[str]:
    """Top-level names of the fields that hold images in any way (for forms)."""
    return frozenset(location[0] for location in locations_of(model) if location)


def local_inputs(model: ModelInfo, body: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(field path, value) of every local path in the body's image fields."""
    return [(f, v) for f, v in image_values(body, locations_of(model)) if is_local(v)]


def absolute_inputs(
    model: ModelInfo, body: Mapping[str, Any], *, cwd: Path | None = None
) -> dict[str, Any]:
    """The body with each local input as an absolute path: what the history and presets keep,
    so a job sent later, from another folder or process, still finds its file."""

    def absolute(value: str) -> str:
        return str(local_path(value, cwd)) if is_local(value) else value

    return replace_images(body, locations_of(model), absolute)


def validation_body(model: ModelInfo, body: Mapping[str, Any]) -> dict[str, Any]:
    """The body as the service will see it, for validation: a URL where a path is."""

    def placeholder(value: str) -> str:
        if not is_local(value):
            return value
        return "https://uploads.invalid/" + (Path(value).name or "file")

    return replace_images(body, locations_of(model), placeholder)


class Uploader:
    """Turns local inputs into URLs for one client and history (see the module's note)."""

    def __init__(
        self,
        client: KreaClient,
        store: JobStore,
        *,
        catalog: Catalog | None = None,
        zero_data_retention: bool = False,
        on_progress: Callable[[UploadProgress], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.store = store
        self.catalog = catalog  # what the engine's jobs are read with (for_job)
        self.zero_data_retention = zero_data_retention
        self.on_progress = on_progress
        self._clock = clock
        self._locks: dict[str, asyncio.Lock] = {}
        self._verified: dict[str, float] = {}  # sha256 -> when its asset was last seen there

    @property
    def origin(self) -> str:
        return self.client.base_url

    def check(self, model: ModelInfo, body: Mapping[str, Any]) -> list[LocalFile]:
        """Every local input of `body`, read and checked; InputProblem for the first bad one."""
        return [read_input(value) for _field, value in local_inputs(model, body)]

    def to_resolve(self, model: ModelInfo, body: Mapping[str, Any]) -> list[str]:
        """The image inputs of `body` that must change before it is sent: local files, and
        under Zero Data Retention every input that is not a data: URI yet (a result used as
        input: the service refuses URLs in that mode)."""
        values = [value for _field, value in image_values(body, locations_of(model))]
        if self.zero_data_retention:
            return [v for v in values if not v.startswith("data:")]
        return [v for v in values if is_local(v)]

    async def resolve(self, model: ModelInfo, body: Mapping[str, Any]) -> dict[str, Any]:
        """The body to POST: each local input replaced by its asset URL (or data: URI)."""
        found = self.to_resolve(model, body)
        if not found:
            return dict(body)
        urls: dict[str, str] = {}
        for value in found:
            if value not in urls:
                urls[value] = await self.url_for(value)
        return replace_images(body, locations_of(model), lambda v: urls.get(v, v))

    async def url_for(self, value: str) -> str:
        if not is_local(value):  # Zero Data Retention: a URL's picture goes inline
            return await self._inline(value)
        file = read_input(value)
        if self.zero_data_retention:
            return data_uri(file)
        lock = self._locks.setdefault(file.sha256, asyncio.Lock())
        async with lock:  # two jobs on one new file upload it once
            known = self.store.upload_for(file.sha256, self.origin)
            if known is not None and await self._still_there(file.sha256, known.asset_id):
                size = len(file.data)
                self._report(UploadProgress(file.name, size, size, reused=True, done=True))
                return known.url
            return await self._upload(file)

    async def _inline(self, url: str) -> str:
        """The picture at `url` as a data: URI (it is downloaded: a result, usually).

        An HTTP error from any host but the API's (a CDN's 401, 403, 404, 5xx...) is this
        input's problem, InputProblem: it says nothing of the API token or the account, so it
        fails this job alone and never pauses the queue. The URL is named without its query
        (signed URLs carry their signature there)."""
        shown = without_query(url)
        try:
            data = await self.client.fetch(url, max_bytes=MAX_ASSET_BYTES)
        except KreaError as exc:
            said = exc.message.replace(url, shown)
            message = f"reading {shown} to send it inline (Zero Data Retention): {said}"
            if not isinstance(exc, TransportError) and not same_origin(url, self.origin):
                raise InputProblem(message) from None
            exc.message = message
            exc.args = (exc.message,)
            raise
        kind = asset_kind(data[:HEAD_BYTES])
        if kind is None or not kind.image:
            raise InputProblem(f"{shown} is no picture: image inputs take {IMAGE_TEXT} files")
        return f"data:{kind.mime};base64,{base64.b64encode(data).decode('ascii')}"

    async def _still_there(self, sha256: str, asset_id: str) -> bool:
        seen = self._verified.get(sha256)
        if seen is not None and self._clock() - seen < VERIFIED_FOR:
            return True
        try:
            await self.client.get_asset(asset_id)
        except NotFoundError:
            log.info("asset %s is gone; its file is uploaded again", asset_id)
            self.store.forget_asset(asset_id)
            self._verified.pop(sha256, None)
            return False
        self._verified[sha256] = self._clock()
        return True

    async def _upload(self, file: LocalFile) -> str:
        total = len(file.data)
        self._report(UploadProgress(file.name, 0, total))

        def sent(done: int, _total: int) -> None:
            self._report(UploadProgress(file.name, done, total))

        try:
            asset = await self.client.upload_asset(
                file.data, file.name, mime_type=file.kind.mime, progress=sent
            )
        except KreaError as exc:
            exc.message = f"uploading {file.path}: {exc.message}"
            exc.args = (exc.message,)
            raise
        self.store.remember_upload(file.sha256, self.origin, asset, name=file.name, size=total)
        self._verified[file.sha256] = self._clock()
        self._report(UploadProgress(file.name, total, total, done=True))
        return asset.url

    def _model(self, path: str) -> ModelInfo | None:
        if self.catalog is None:
            return None
        try:
            return self.catalog.get(path)
        except KeyError:  # UnknownModelError: the POST will say so in the server's words
            return None

    def _report(self, progress: UploadProgress) -> None:
        if self.on_progress is not None:
            self.on_progress(progress)

    async def for_job(
        self, engine: JobEngine, job: StoredJob
    ) -> tuple[dict[str, Any], StoredJob] | None:
        """The body to POST for a claimed job, and the job as it then is; None when the job
        cannot go now (moved back to held, or failed with the reason naming the file)."""
        try:
            model = self._model(job.model)
            if model is None or not self.to_resolve(model, job.request):
                return dict(job.request), job
            body = await self.resolve(model, job.request)
        except InputProblem as exc:
            engine.move(job, JobStatus.FAILED, error_code="input", error_message=str(exc))
            return None
        except (AuthenticationError, PaymentError) as exc:
            from krea_tui.core.submitter import stop_reason

            engine.move(job, LocalStatus.HELD)
            engine.pause(stop_reason(exc))
            return None
        except KreaError as exc:
            if isinstance(exc, TransportError) or exc.retryable:
                loop_now = asyncio.get_running_loop().time()
                wait = engine.submitter.backoff.fail(loop_now, None)
                engine.move(job, LocalStatus.HELD)
                engine.set_connection("backing-off", exc.message, wait)
            else:
                engine.move(job, JobStatus.FAILED, error_code="input", error_message=exc.message)
            return None
        # The POST starts now, not when the job was claimed: lost POSTs are matched by time.
        engine.store.update(job.local_id, submitted_at=utcnow())
        return body, engine.store.get(job.local_id)

    async def warm(self, job: StoredJob) -> None:
        """Upload a held job's local files before it is claimed, so that claiming and
        POSTing follow each other at once: a quit or a crash during a long upload leaves the
        job held, not `submitting` (which the next start must take for a POST that may have
        reached the server). Problems are left for `for_job` to report after the claim."""
        model = self._model(job.model)
        if model is None or self.zero_data_retention or not self.to_resolve(model, job.request):
            return
        with contextlib.suppress(InputProblem, KreaError, OSError):
            await self.resolve(model, job.request)


def input_problems(model: ModelInfo, body: Mapping[str, Any]) -> list[str]:
    """Each local input of `body` that cannot be sent, as "field: why" (cheap: peek_input)."""
    problems = []
    for field, value in local_inputs(model, body):
        try:
            peek_input(value)
        except InputProblem as exc:
            problems.append(f"{field}: {exc}")
    return problems


def notices(publish: Callable[[NoticeEvent], None]) -> Callable[[UploadProgress], None]:
    """Upload progress as engine notices (a toast in the TUI): when each upload starts and
    ends; a reused upload says nothing."""

    def report(step: UploadProgress) -> None:
        size = f"{step.total / 1e6:.1f} MB"
        if step.reused:
            return
        if step.done:
            publish(NoticeEvent(f"uploaded {step.name} ({size})"))
        elif step.sent == 0:
            publish(NoticeEvent(f"uploading {step.name} ({size})…"))

    return report
