"""Enhance (upscale) jobs in the simulator: the source picture at the asked size and format.

A POST to `/generate/enhance/...` is validated against the catalogue's schema like any model;
then the source at `image_url` is fetched once to check it is a picture (a source that cannot
be fetched is refused with a 400 naming `image_url`). The result file is made when first asked
for: the source fetched again, resized with Pillow to `width`×`height`, encoded as
`output_format`. Nothing but the request is kept, so a durable simulator serves the result after
a restart too.

Where the source comes from:
- a result of this simulator (`/results/<job>/<file>` on a loopback host): read directly,
  whatever port the link carries (a restarted service may have a new one);
- any other loopback URL (another simulator, an uploaded asset): fetched over HTTP;
- anything else: the simulator never goes out to the internet, so a stand-in picture drawn from
  the URL takes its place (same URL, same picture), so the demo still works with pasted links.
"""

from __future__ import annotations

import io
import math
import re
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

import anyio.to_thread
import httpx
from PIL import Image, ImageFilter

from krea_tui.core.catalog import ModelInfo
from krea_tui.sim.images import PREVIEW_SIDE, render_png
from krea_tui.sim.jobs import JobRequest

# output_format -> (Pillow format, media type)
FORMATS: dict[str, tuple[str, str]] = {
    "png": ("PNG", "image/png"),
    "jpg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}
DEFAULT_FORMAT = "jpg"  # every Topaz schema's default
MAX_SOURCE_BYTES = 75 * 1024 * 1024  # the asset limit: nothing bigger reaches Krea
# A guard for the machine running the simulator, not a Krea limit: 100 MP is 300 MB of RGB.
MAX_RESULT_PIXELS = 100_000_000
STAND_IN_SIDE = 1024
# The real service's times are not documented; upscales take a while, bloom the longest.
SECONDS: dict[str, float] = {
    "enhance/topaz/standard-enhance": 15.0,
    "enhance/topaz/generative-enhance": 30.0,
    "enhance/topaz/bloom-enhance": 45.0,
}
# The real service's job type for upscales is not documented; Topaz is an outside provider.
JOB_TYPE = "externalImage"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
_CACHE_LIMIT_BYTES = 128 * 1024 * 1024
_OWN_RESULT = re.compile(r"^/results/(?P<job>[^/]+)/(?P<name>[^/]+)$")

# (job id, file name) -> (bytes, media type) of a ready result of this simulator, else None.
OwnResult = Callable[[str, str], Awaitable[tuple[bytes, str] | None]]


class EnhanceRefused(Exception):
    """The request is valid by the schema but cannot be served: answered with a 400."""


def is_enhance(request: JobRequest) -> bool:
    return request.model.startswith("enhance/")


def result_name(body: Mapping[str, Any]) -> str:
    fmt = body.get("output_format", DEFAULT_FORMAT)
    return f"0.{fmt if fmt in FORMATS else DEFAULT_FORMAT}"


def media_type(name: str) -> str:
    return FORMATS.get(name.rsplit(".", 1)[-1], FORMATS["png"])[1]


def _side(value: Any) -> int:
    return max(1, math.ceil(float(value))) if isinstance(value, int | float) else 1


class Enhancer:
    """Fetches sources and makes (and keeps, within a byte budget) enhanced results."""

    def __init__(self, own_result: OwnResult, limit_bytes: int = _CACHE_LIMIT_BYTES) -> None:
        self._own_result = own_result
        self._limit = limit_bytes
        self._items: OrderedDict[tuple[str, str], bytes] = OrderedDict()
        self._size = 0

    async def job_request(
        self,
        model: ModelInfo,
        body: Mapping[str, Any],
        *,
        default_seconds: float,
        webhook_url: str | None,
        base_url: str,
    ) -> JobRequest:
        """`body` must already be normalised and valid. Raises EnhanceRefused."""
        width, height = _side(body.get("width")), _side(body.get("height"))
        if width * height > MAX_RESULT_PIXELS:
            raise EnhanceRefused(
                f"width × height: the simulator makes at most {MAX_RESULT_PIXELS // 1_000_000} "
                f"megapixels; {width}×{height} is {width * height / 1e6:.0f}."
            )
        source = await self.source(str(body.get("image_url", "")))
        await anyio.to_thread.run_sync(_check_picture, source)
        prompt = body.get("prompt")
        return JobRequest(
            model=model.path,
            job_type=JOB_TYPE,
            params=dict(body),
            prompt=prompt if isinstance(prompt, str) else "",
            seed=0,
            width=width,
            height=height,
            seconds=model.avg_seconds or SECONDS.get(model.path, default_seconds),
            price_usd=model.price_usd if model.price_usd is not None else 0.1,
            webhook_url=webhook_url,
            base_url=base_url.rstrip("/"),
            result_name=result_name(body),
        )

    async def source(self, url: str) -> bytes:
        """The bytes at `url` (see the module docstring). Raises EnhanceRefused."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise EnhanceRefused(f"image_url: {url!r} is not an http(s) URL.")
        if parts.hostname not in LOOPBACK_HOSTS:
            return await anyio.to_thread.run_sync(_stand_in, url)
        own = _OWN_RESULT.match(parts.path)
        if own is not None:
            found = await self._own_result(own["job"], own["name"])
            if found is not None:
                return found[0]
        return await _download(url)

    async def render(self, job_id: str, request: JobRequest, *, preview: bool) -> bytes:
        """The result (or the preview, a small blurred PNG) of enhance job `job_id`."""
        key = (job_id, "preview" if preview else request.result_name)
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        source = await self.source(str(request.params.get("image_url", "")))
        if preview:
            data = await anyio.to_thread.run_sync(_preview, source)
        else:
            fmt = FORMATS[request.result_name.rsplit(".", 1)[-1]][0]
            data = await anyio.to_thread.run_sync(
                _resized, source, request.width, request.height, fmt
            )
        self._items[key] = data
        self._size += len(data)
        while self._size > self._limit and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._size -= len(old)
        return data


async def _download(url: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        async with (
            httpx.AsyncClient(trust_env=False, timeout=10.0, follow_redirects=True) as client,
            client.stream("GET", url) as response,
        ):
            if response.status_code != 200:
                raise EnhanceRefused(
                    f"image_url could not be fetched: HTTP {response.status_code} from {url}."
                )
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > MAX_SOURCE_BYTES:
                    raise EnhanceRefused(f"image_url: {url} is larger than 75 MB.")
                chunks.append(chunk)
    except httpx.HTTPError as exc:
        raise EnhanceRefused(f"image_url could not be fetched: {exc} ({url}).") from exc
    return b"".join(chunks)


def _open(data: bytes) -> Image.Image:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise EnhanceRefused(f"image_url is not a picture Pillow can read: {exc}") from exc
    return image


def _check_picture(data: bytes) -> None:
    _open(data)


def _encode(image: Image.Image, fmt: str) -> bytes:
    if fmt == "JPEG" and image.mode != "RGB":
        image = image.convert("RGB")
    elif image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    buffer = io.BytesIO()
    if fmt == "PNG":
        image.save(buffer, "PNG", compress_level=1)  # these files only travel over loopback
    else:
        image.save(buffer, fmt, quality=90)
    return buffer.getvalue()


def _resized(data: bytes, width: int, height: int, fmt: str) -> bytes:
    image = _open(data)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "A" in image.mode else "RGB")
    return _encode(image.resize((width, height), Image.Resampling.BICUBIC), fmt)


def _preview(data: bytes) -> bytes:
    image = _open(data).convert("RGB")
    scale = PREVIEW_SIDE / max(image.size)
    size = (max(4, round(image.width * scale)), max(4, round(image.height * scale)))
    small = image.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(2.5))
    return _encode(small, "PNG")


def _stand_in(url: str) -> bytes:
    return render_png("stand-in", url, 0, STAND_IN_SIDE, STAND_IN_SIDE)
