"""Enhance (upscale) finished pictures: one job per picture, through the one submit path.

What every front end (the viewer, the contact sheet, the table's marks, `krea-tui enhance`)
does, in three steps:

1. `pictures_of(job)` (or `Picture(url)` for a bare link): the pictures to enhance.
2. `await sized(pictures, fetch)`: each with its pixel size, read from the saved file's header
   when there is one, else from the fetched picture (`KreaClient.fetch`; with
   `header_fetch(client)`, only until its header gives the size).
3. `plan_enhance(catalog, model, scale, sized_pictures)`: the target size of each (the source
   times `scale`, within the upscaler's largest side and what krea-tui can show), a request
   body valid for the model, and the price (`plan.cost_text(catalog)`) to show before sending;
   `plan.order()` is what `JobEngine.submit` takes.

Each item keeps the local id of the job its picture came from (`Picture.parent`) for lineage.
"""

from __future__ import annotations

import io
import math
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from krea_tui.core.catalog import Catalog, ModelInfo, UnknownModelError
from krea_tui.core.pictures import MAX_PICTURE_PIXELS, PictureError, picture_size
from krea_tui.core.store import StoredJob
from krea_tui.core.submit import Order

DEFAULT_ENHANCER = "enhance/topaz/standard-enhance"
DEFAULT_SCALE = 2.0
SCALES = (1.5, 2.0, 4.0)  # what a form offers; any scale in [MIN_SCALE, MAX_SCALE] works
MIN_SCALE = 1.0
MAX_SCALE = 32.0  # the schemas' image_scaling_factor maximum
SUMMARY_LINES = 8  # pictures listed by name before "… and N more": the dialog fits 80×24
# Fields the plan sets itself: extra fields never override them.
_OWN_FIELDS = frozenset({"image_url", "width", "height"})

Fetch = Callable[[str], Awaitable[bytes]]


class EnhanceError(ValueError):
    """Nothing can be sent as asked; the message says why in the user's terms."""


@dataclass(frozen=True, slots=True)
class Picture:
    """One picture to enhance: its URL, the job it came from, and a saved copy if any."""

    url: str
    parent: str | None = None  # local id of the job whose result this is
    file: Path | None = None


@dataclass(frozen=True, slots=True)
class EnhanceItem:
    picture: Picture
    source_size: tuple[int, int]
    size: tuple[int, int]
    body: Mapping[str, Any]
    note: str | None = None  # set when the scale could not be honoured in full


@dataclass(frozen=True, slots=True)
class EnhancePlan:
    model: ModelInfo
    scale: float
    items: tuple[EnhanceItem, ...] = field(default=())

    def order(self) -> Order:
        return Order(
            self.model.path,
            [item.body for item in self.items],
            parents=[item.picture.parent for item in self.items],
        )

    def cost_text(self, catalog: Catalog) -> str:
        """The total price, as every question before sending says it: "est. 4 × $0.10 = $0.400"."""
        return catalog.cost_text(self.model.path, [item.body for item in self.items])

    def summary(self, catalog: Catalog) -> str:
        """A line per picture (source → target size), named by its job's short id, up to
        SUMMARY_LINES of them; then the model and the total price."""
        names = _names(item.picture for item in self.items)
        lines = [
            f"  {name}: {_size(item.source_size)} → {_size(item.size)}"
            + (f" ({item.note})" if item.note else "")
            for name, item in zip(names, self.items, strict=True)
        ]
        if len(lines) > SUMMARY_LINES:
            lines[SUMMARY_LINES - 1 :] = [f"  … and {len(lines) - SUMMARY_LINES + 1} more"]
        count = len(self.items)
        head = f"enhance {count} picture{'s' if count != 1 else ''} with {self.model.name}"
        lines.insert(0, f"{head} ({self.model.path}), {self.scale:g}×")
        lines.append(f"  in all: {self.cost_text(catalog)}")
        return "\n".join(lines)


def _names(pictures: Iterable[Picture]) -> list[str]:
    """Each picture as a user knows it: its job's short id, numbered where a job gave several
    pictures; the file name of a picture from no job of ours."""
    pictures = list(pictures)
    per_job = Counter(p.parent for p in pictures if p.parent)
    seen: Counter[str] = Counter()
    names = []
    for picture in pictures:
        if not picture.parent:
            names.append(picture.url.rstrip("/").rsplit("/", 1)[-1] or picture.url)
            continue
        seen[picture.parent] += 1
        number = f" #{seen[picture.parent]}" if per_job[picture.parent] > 1 else ""
        names.append(picture.parent[:8] + number)
    return names


def _size(size: tuple[int, int]) -> str:
    return f"{size[0]}×{size[1]}"


def enhancer(catalog: Catalog, name: str | None) -> ModelInfo:
    """The upscaler named `name` ("topaz/standard-enhance", "standard-enhance"...)."""
    try:
        model = catalog.get(name or DEFAULT_ENHANCER)
    except UnknownModelError as exc:
        raise EnhanceError(str(exc)) from None
    if model.kind != "enhance":
        names = ", ".join(m.path.removeprefix("enhance/") for m in catalog.enhancers())
        raise EnhanceError(f"{model.path} is not an upscaler; the upscalers: {names}")
    return model


def target_size(
    width: int,
    height: int,
    scale: float,
    max_side: int | None,
    *,
    max_pixels: int = MAX_PICTURE_PIXELS,
) -> tuple[tuple[int, int], str | None]:
    """The size to ask for: `scale` times the source, shrunk (same shape) to the model's
    largest side and to `max_pixels`; with a note saying so when it had to be shrunk."""
    if not MIN_SCALE <= scale <= MAX_SCALE:
        raise EnhanceError(f"scale must be between {MIN_SCALE:g} and {MAX_SCALE:g}, not {scale:g}")
    if width < 1 or height < 1:
        raise EnhanceError(f"a picture of {width}×{height} pixels cannot be enhanced")
    wanted = (max(1, round(width * scale)), max(1, round(height * scale)))
    factor = 1.0
    why = ""
    if max_side is not None and max(wanted) > max_side:
        factor, why = max_side / max(wanted), "the most this model makes"
    if wanted[0] * wanted[1] * factor * factor > max_pixels:
        factor, why = math.sqrt(max_pixels / (wanted[0] * wanted[1])), "the most krea-tui can show"
    if factor >= 1.0:
        return wanted, None
    size = (max(1, math.floor(wanted[0] * factor)), max(1, math.floor(wanted[1] * factor)))
    return size, f"{scale:g}× would be {_size(wanted)}: made {_size(size)}, {why}"


def enhance_body(
    model: ModelInfo, url: str, size: tuple[int, int], extra: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A request for `model`: required choices at their default (or first) value, `extra`
    fields on top, and the source and size, which `extra` never overrides."""
    body: dict[str, Any] = {}
    properties: Mapping[str, Any] = model.schema.get("properties", {})
    for spec in model.fields:
        if spec.required and spec.name not in _OWN_FIELDS:
            const = properties.get(spec.name, {}).get("const")
            if const is not None:  # bloom's `model` is the one choice "Reimagine"
                body[spec.name] = const
            elif spec.default is not None:
                body[spec.name] = spec.default
            elif spec.enum:
                body[spec.name] = spec.enum[0]
    body.update({k: v for k, v in (extra or {}).items() if k not in _OWN_FIELDS})
    return {"image_url": url, "width": size[0], "height": size[1], **body}


def plan_enhance(
    catalog: Catalog,
    model_name: str | None,
    scale: float,
    pictures: Sequence[tuple[Picture, tuple[int, int]]],
    *,
    extra: Mapping[str, Any] | None = None,
) -> EnhancePlan:
    """One valid request per (picture, its size). Raises EnhanceError, naming the problem."""
    model = enhancer(catalog, model_name)
    if not pictures:
        raise EnhanceError("no picture to enhance")
    items: list[EnhanceItem] = []
    for picture, (width, height) in pictures:
        size, note = target_size(width, height, scale, model.max_side)
        body = enhance_body(model, picture.url, size, extra)
        problems = catalog.validate(model.path, body)
        if problems:
            said = "; ".join(p.message for p in problems)
            raise EnhanceError(f"{model.path} refuses the request for {picture.url}: {said}")
        items.append(EnhanceItem(picture, (width, height), size, body, note))
    return EnhancePlan(model, scale, tuple(items))


def pictures_of(job: StoredJob) -> list[Picture]:
    """A finished job's result pictures, each with its saved file when the files line up."""
    if job.status != "completed":
        raise EnhanceError(f"job {job.short_id} is {job.status}: only completed jobs have results")
    if not job.urls:
        raise EnhanceError(f"job {job.short_id} has no result to enhance")
    files: Sequence[str | None] = job.files if len(job.files) == len(job.urls) else ()
    if not files:
        files = [None] * len(job.urls)
    return [
        Picture(url, parent=job.local_id, file=Path(path) if path else None)
        for url, path in zip(job.urls, files, strict=True)
    ]


def local_size(picture: Picture) -> tuple[int, int] | None:
    """The saved copy's size from its header; None when there is no readable copy."""
    if picture.file is None:
        return None
    try:
        return picture_size(picture.file)
    except (OSError, PictureError):
        return None


def size_known(data: bytes) -> bool:
    """Whether the start of a picture, `data`, already gives its size (from its header)."""
    try:
        picture_size(io.BytesIO(data))
    except PictureError:
        return False  # not yet (or never: then the whole file is read, and `sized` says why)
    return True


class HeadFetcher(Protocol):
    """What `header_fetch` needs: `KreaClient.fetch`, which can stop once it has enough."""

    async def fetch(
        self, url: str, *, max_bytes: int = ..., enough: Callable[[bytes], bool] | None = ...
    ) -> bytes: ...


def header_fetch(client: HeadFetcher) -> Fetch:
    """A Fetch for `sized` that reads each picture only until its header gives its size,
    instead of downloading the whole file."""

    async def fetch(url: str) -> bytes:
        return await client.fetch(url, enough=size_known)

    return fetch


async def sized(pictures: Sequence[Picture], fetch: Fetch) -> list[tuple[Picture, tuple[int, int]]]:
    """Each picture with its size: from its saved copy, else from its fetched bytes (only its
    start, with `header_fetch`)."""
    out: list[tuple[Picture, tuple[int, int]]] = []
    for picture in pictures:
        size = local_size(picture)
        if size is None:
            try:
                data = await fetch(picture.url)
                size = picture_size(io.BytesIO(data))
            except PictureError as exc:
                raise EnhanceError(f"{picture.url}: {exc}") from None
        out.append((picture, size))
    return out


class Submitter(Protocol):
    """What `send` needs of the engine: `JobEngine.submit`."""

    def submit(self, pricing: Catalog, orders: Sequence[Order]) -> list[StoredJob]: ...


def send(engine: Submitter, catalog: Catalog, plan: EnhancePlan) -> list[StoredJob]:
    """Queue the plan's jobs (one batch when there are several) through `JobEngine.submit`."""
    return engine.submit(catalog, [plan.order()])
