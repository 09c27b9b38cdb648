"""The simulator's `/assets` (reference §3.5): multipart upload with the service's type and
size limits and 400 `{"error"}` bodies, listing newest first with `next_cursor`, get, delete,
and each uploaded file served publicly at its `image_url`, as Krea's upload CDN serves it.

Assets live in memory, per token; a restarted simulator has none, which is what a client sees
when an asset it remembers is gone (it uploads the file again).
"""

from __future__ import annotations

import email.parser
import email.policy
import io
import math
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.message import EmailMessage
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from krea_tui.core.asset_types import ALLOWED_TEXT, MAX_ASSET_BYTES, MAX_ASSET_TEXT, asset_kind
from krea_tui.core.files import safe_part
from krea_tui.core.image_fields import image_locations, image_values, with_aliases
from krea_tui.sim.jobs import LIMIT_PROBLEM, iso_ms, page_limit, parse_cursor

if TYPE_CHECKING:
    from krea_tui.core.catalog import ModelInfo
    from krea_tui.sim.app import Simulator

UPLOADS_PATH = "/uploads"
ZDR_HEADER = "x-api-zero-data-retention"
ZDR_MESSAGE = "Zero data retention requires external asset inputs to be data URIs."
MULTIPART_SLACK = 64 * 1024  # boundaries, headers and a description around the file


class UploadRefused(Exception):
    """The documented 400: no file, a type the service does not take, or too large."""


@dataclass(frozen=True, slots=True)
class SimAsset:
    id: str
    token: str
    filename: str
    data: bytes
    mime: str
    uploaded_ms: int
    width: int | None
    height: int | None
    description: str | None

    def as_json(self, base_url: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "image_url": f"{base_url}{UPLOADS_PATH}/{self.id}/{quote(self.filename)}",
            "uploaded_at": iso_ms(self.uploaded_ms),
            "width": self.width,
            "height": self.height,
            "size_bytes": len(self.data),
            "mime_type": self.mime,
        }
        if self.description is not None:
            body["description"] = self.description
        return body


@dataclass(frozen=True, slots=True)
class _Part:
    filename: str | None
    data: bytes


def parse_multipart(content_type: str, body: bytes) -> dict[str, _Part]:
    """The parts of a multipart/form-data body by field name; UploadRefused when it is none."""
    if not content_type.lower().startswith("multipart/form-data"):
        raise UploadRefused("The request must be multipart/form-data with a 'file' field.")
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise UploadRefused("The multipart body could not be read.")
    parts: dict[str, _Part] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        payload = part.get_payload(decode=True)
        data = payload if isinstance(payload, bytes) else b""
        parts.setdefault(name, _Part(part.get_filename(), data))
    return parts


def _size(data: bytes) -> tuple[int | None, int | None]:
    """Pixels of an image the simulator can decode; None for video, audio, models, HEIC."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        return None, None


class AssetStore:
    """Every uploaded asset of one simulator. Thread-safe: tests look from outside the loop."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.max_bytes = MAX_ASSET_BYTES
        self._lock = threading.Lock()
        self._assets: dict[str, SimAsset] = {}
        self._last_ms = 0

    def reset(self) -> None:
        with self._lock:
            self._assets.clear()

    def add(self, token: str, filename: str, data: bytes, description: str | None) -> SimAsset:
        if not data:
            raise UploadRefused("The file is empty.")
        if len(data) > self.max_bytes:
            raise UploadRefused(f"The file is too large: assets may be at most {MAX_ASSET_TEXT}.")
        kind = asset_kind(data[:64])
        if kind is None:
            raise UploadRefused(f"Unsupported file type: upload {ALLOWED_TEXT}.")
        width, height = _size(data) if kind.image else (None, None)
        with self._lock:
            # Strictly increasing upload times: the listing's cursor is one.
            now_ms = max(math.floor(self.clock() * 1000), self._last_ms + 1)
            self._last_ms = now_ms
            asset = SimAsset(
                id=str(uuid.uuid4()),
                token=token,
                filename=safe_part(filename or "upload", fallback="upload"),
                data=data,
                mime=kind.mime,
                uploaded_ms=now_ms,
                width=width,
                height=height,
                description=description,
            )
            self._assets[asset.id] = asset
        return asset

    def get(self, token: str, asset_id: str) -> SimAsset | None:
        with self._lock:
            asset = self._assets.get(asset_id)
        return asset if asset is not None and asset.token == token else None

    def served(self, asset_id: str) -> SimAsset | None:
        with self._lock:
            return self._assets.get(asset_id)

    def delete(self, token: str, asset_id: str) -> bool:
        with self._lock:
            asset = self._assets.get(asset_id)
            if asset is None or asset.token != token:
                return False
            del self._assets[asset_id]
            return True

    def page(
        self, token: str, *, limit: int, cursor_us: int | None
    ) -> tuple[list[SimAsset], str | None]:
        """Newest first, uploaded before the cursor; the next cursor is the last one's time."""
        with self._lock:
            mine = [a for a in self._assets.values() if a.token == token]
        mine.sort(key=lambda a: a.uploaded_ms, reverse=True)
        if cursor_us is not None:
            mine = [a for a in mine if a.uploaded_ms * 1000 < cursor_us]
        items = mine[:limit]
        more = len(mine) > limit
        return items, iso_ms(items[-1].uploaded_ms) if more and items else None

    def missing_inputs(self, model: ModelInfo, body: Mapping[str, Any], base_url: str) -> list[str]:
        """Image fields of `body` that point at this simulator's uploads where there is no
        such upload (deleted, or from before a restart): "field: words" each."""
        problems = []
        for field, url in image_values(body, _locations(model)):
            asset_id = _upload_id(url, base_url)
            if asset_id is not None and self.served(asset_id) is None:
                problems.append(f"{field}: the image at {url} could not be fetched (404).")
        return problems


def _locations(model: ModelInfo) -> tuple[tuple[str, ...], ...]:
    return with_aliases(image_locations(model.schema), model.aliases)


def check_inputs(
    store: AssetStore, model: ModelInfo, body: Mapping[str, Any], request: Request, base_url: str
) -> JSONResponse | None:
    """The refusal a generation's image inputs earn, if any: under Zero Data Retention every
    input must be a data: URI (422, reference §7.2); an upload of this simulator must exist."""
    if request.headers.get(ZDR_HEADER, "").strip() not in ("", "0", "false"):
        for _field, url in image_values(body, _locations(model)):
            if not url.startswith("data:"):
                return _error(422, ZDR_MESSAGE)
    missing = store.missing_inputs(model, body, base_url)
    return _error(400, " ".join(missing)) if missing else None


def _upload_id(url: str, base_url: str) -> str | None:
    """The asset id of a URL of this simulator's uploads, else None."""
    if not url.startswith(base_url + UPLOADS_PATH + "/"):
        return None
    parts = urlsplit(url).path.split("/")
    return parts[2] if len(parts) > 2 else None


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def routes(sim: Simulator) -> list[Route]:
    """The asset routes bound to one simulator."""
    store = sim.assets

    def authorised(request: Request) -> tuple[str | None, Response | None]:
        return sim._token(request)

    async def upload(request: Request) -> Response:
        token, denied = authorised(request)
        if token is None:
            return denied or _error(401, "You are not authenticated.")
        limit = store.max_bytes + MULTIPART_SLACK
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            return _error(400, f"The file is too large: assets may be at most {MAX_ASSET_TEXT}.")
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                return _error(
                    400, f"The file is too large: assets may be at most {MAX_ASSET_TEXT}."
                )
            chunks.append(chunk)
        content_type = request.headers.get("content-type", "")

        def store_upload() -> SimAsset:
            parts = parse_multipart(content_type, b"".join(chunks))
            file = parts.get("file")
            if file is None or file.filename is None:
                raise UploadRefused("The 'file' field is required.")
            described = parts.get("description")
            description = described.data.decode("utf-8", "replace") if described else None
            return store.add(token, file.filename, file.data, description)

        try:
            asset = await anyio.to_thread.run_sync(store_upload)
        except UploadRefused as exc:
            return _error(400, str(exc))
        return JSONResponse(asset.as_json(sim._base_url(request)))

    async def listing(request: Request) -> Response:
        token, denied = authorised(request)
        if token is None:
            return denied or _error(401, "You are not authenticated.")
        query = request.query_params
        limit = page_limit(query)
        if limit is None:
            return _error(400, LIMIT_PROBLEM)
        cursor_us = None
        if query.get("cursor"):
            try:
                cursor_us = parse_cursor(query["cursor"])
            except ValueError:
                return _error(400, "cursor must be an ISO 8601 date-time.")
        items, next_cursor = store.page(token, limit=limit, cursor_us=cursor_us)
        base = sim._base_url(request)
        return JSONResponse(
            {"items": [a.as_json(base) for a in items], sim.config.cursor_key: next_cursor}
        )

    async def get_one(request: Request) -> Response:
        token, denied = authorised(request)
        if token is None:
            return denied or _error(401, "You are not authenticated.")
        asset_id = request.path_params["asset_id"]
        asset = store.get(token, asset_id)
        if asset is None:
            return _error(404, f"Asset {asset_id} not found.")
        return JSONResponse(asset.as_json(sim._base_url(request)))

    async def delete(request: Request) -> Response:
        token, denied = authorised(request)
        if token is None:
            return denied or _error(401, "You are not authenticated.")
        asset_id = request.path_params["asset_id"]
        if not store.delete(token, asset_id):
            return _error(404, f"Asset {asset_id} not found.")
        return JSONResponse({"success": True, "message": f"Asset {asset_id} deleted."})

    async def file(request: Request) -> Response:
        """The uploaded bytes. Public, like Krea's upload CDN: no token needed."""
        asset = store.served(request.path_params["asset_id"])
        if asset is None or request.path_params["name"] != asset.filename:
            return _error(404, "Not found.")
        return Response(
            asset.data,
            media_type=asset.mime,
            headers={"Cache-Control": "public, max-age=86400", "ETag": f'"{asset.id}"'},
        )

    return [
        Route("/assets", upload, methods=["POST"]),
        Route("/assets", listing, methods=["GET"]),
        Route("/assets/{asset_id}", get_one, methods=["GET"]),
        Route("/assets/{asset_id}", delete, methods=["DELETE"]),
        Route(UPLOADS_PATH + "/{asset_id}/{name}", file, methods=["GET", "HEAD"]),
    ]
