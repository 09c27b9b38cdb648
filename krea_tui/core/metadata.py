"""The request, embedded in every saved result so a job can be re-created from the file alone.

PNG files get two text chunks inserted after IHDR without re-encoding the pixels: `parameters`
(the A1111 convention other tools already read) and `krea-tui` (the exact request as JSON).
Every file also gets a JSON sidecar, which is the only carrier for non-PNG results.
"""

from __future__ import annotations

import json
import shutil
import struct
import zlib
from collections.abc import Mapping
from typing import Any, BinaryIO

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
REQUEST_KEY = "krea-tui"


def a1111_parameters(model: str, request: Mapping[str, Any]) -> str:
    """`prompt\\nNegative prompt: …\\nSteps: 25, CFG scale: 3, Seed: 1, Size: WxH, Model: …`."""
    lines = [str(request.get("prompt", ""))]
    negative = request.get("negative_prompt")
    if negative:
        lines.append(f"Negative prompt: {negative}")
    pairs: list[str] = []
    steps = request.get("steps", request.get("num_inference_steps"))
    if steps is not None:
        pairs.append(f"Steps: {steps}")
    cfg = request.get(
        "guidance_scale", request.get("guidance_scale_flux", request.get("cfg_scale"))
    )
    if cfg is not None:
        pairs.append(f"CFG scale: {cfg}")
    if request.get("seed") is not None:
        pairs.append(f"Seed: {request['seed']}")
    if request.get("width") and request.get("height"):
        pairs.append(f"Size: {request['width']}x{request['height']}")
    pairs.append(f"Model: {model}")
    lines.append(", ".join(pairs))
    return "\n".join(lines)


def request_document(model: str, request: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """What the sidecar and the `krea-tui` chunk hold: enough to send the same request again."""
    return {"model": model, "request": dict(request), **extra}


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def _itxt(key: str, text: str) -> bytes:
    # iTXt keeps UTF-8 prompts intact (tEXt is Latin-1 only).
    payload = key.encode("latin-1") + b"\x00\x00\x00\x00\x00" + text.encode("utf-8")
    return _chunk(b"iTXt", payload)


# Enough of a file's start to find where text chunks go: signature and IHDR (33 bytes).
HEAD_BYTES = 64


def text_position(head: bytes) -> int | None:
    """Where in a PNG starting with `head` text chunks go (right after IHDR), or None when it
    is no PNG to add them to. `head` needs HEAD_BYTES of the file (or all of a shorter one)."""
    if not head.startswith(PNG_SIGNATURE) or len(head) < 33:
        return None
    ihdr_length: int = struct.unpack(">I", head[8:12])[0]
    if head[12:16] != b"IHDR":
        return None
    return 8 + 12 + ihdr_length


def text_chunks(texts: Mapping[str, str]) -> bytes:
    return b"".join(_itxt(key, value) for key, value in texts.items())


def embed_in_png(data: bytes, texts: Mapping[str, str]) -> bytes:
    """PNG bytes with `texts` added as iTXt chunks; other bytes are returned unchanged."""
    split = text_position(data)
    if split is None:
        return data
    return data[:split] + text_chunks(texts) + data[split:]


def read_png_texts(data: bytes) -> dict[str, str]:
    """The tEXt/iTXt chunks of a PNG, for reading a request back out of a saved file."""
    found: dict[str, str] = {}
    if not data.startswith(PNG_SIGNATURE):
        return found
    offset = 8
    while offset + 8 <= len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        payload = data[offset + 8 : offset + 8 + length]
        offset += 12 + length
        if kind == b"tEXt" and b"\x00" in payload:
            key, _, value = payload.partition(b"\x00")
            found[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"iTXt" and b"\x00" in payload:
            key, _, rest = payload.partition(b"\x00")
            # compression flag, method, language tag\0, translated keyword\0, text
            rest = rest[2:]
            _, _, rest = rest.partition(b"\x00")
            _, _, text = rest.partition(b"\x00")
            found[key.decode("latin-1")] = text.decode("utf-8", "replace")
        elif kind == b"IEND":
            break
    return found


def request_from_png(data: bytes) -> dict[str, Any] | None:
    """The request document embedded by `with_metadata`, or None."""
    text = read_png_texts(data).get(REQUEST_KEY)
    if not text:
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def metadata_texts(model: str, request: Mapping[str, Any], **extra: Any) -> dict[str, str]:
    """The text chunks every saved PNG gets: `parameters` and the request as JSON."""
    document = request_document(model, request, **extra)
    return {
        "parameters": a1111_parameters(model, request),
        REQUEST_KEY: json.dumps(document, sort_keys=True, ensure_ascii=False),
    }


def with_metadata(data: bytes, model: str, request: Mapping[str, Any], **extra: Any) -> bytes:
    return embed_in_png(data, metadata_texts(model, request, **extra))


def copy_with_metadata(
    source: BinaryIO, out: BinaryIO, model: str, request: Mapping[str, Any], **extra: Any
) -> None:
    """`with_metadata` from file to file, holding only a small piece in memory at a time:
    result files can be tens of megabytes."""
    head = source.read(HEAD_BYTES)
    split = text_position(head)
    if split is not None and split <= len(head):
        out.write(head[:split] + text_chunks(metadata_texts(model, request, **extra)))
        # A file that has them already (a saved result being exported) keeps one set only.
        head = _copy_dropping_own_texts(source, out, head[split:])
    out.write(head)
    shutil.copyfileobj(source, out, 1024 * 1024)


OWN_TEXTS = frozenset({b"parameters", REQUEST_KEY.encode()})
_TEXT_KINDS = frozenset({b"tEXt", b"iTXt", b"zTXt"})
_MAX_HEAD_CHUNK = 16 * 1024 * 1024


def _copy_dropping_own_texts(source: BinaryIO, out: BinaryIO, pending: bytes) -> bytes:
    """Copy the chunks before the pixels (IDAT) from `pending` + `source` to `out`, leaving
    out our own text chunks (`OWN_TEXTS`); the bytes read but not written yet are returned."""
    while True:
        while len(pending) < 8:
            more = source.read(8 - len(pending))
            if not more:
                return pending
            pending += more
        (length,) = struct.unpack(">I", pending[:4])
        kind = pending[4:8]
        if kind in (b"IDAT", b"IEND") or length > _MAX_HEAD_CHUNK:
            return pending
        while len(pending) < 12 + length:
            more = source.read(12 + length - len(pending))
            if not more:
                return pending
            pending += more
        chunk, pending = pending[: 12 + length], pending[12 + length :]
        key = chunk[8 : 8 + length].partition(b"\x00")[0]
        if not (kind in _TEXT_KINDS and key in OWN_TEXTS):
            out.write(chunk)
