"""Sizing a picture that is not saved here reads it only until its header gives the size: the
download stops there instead of fetching the whole file."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
from PIL import Image

from krea_tui.core.api import KreaClient
from krea_tui.core.enhance import Picture, header_fetch, sized

BASE = "https://api.krea.test"
CHUNK = 16 * 1024


def noisy_png(size: tuple[int, int] = (1024, 768)) -> bytes:
    out = io.BytesIO()
    Image.effect_noise(size, 64).convert("RGB").save(out, format="PNG", compress_level=0)
    return out.getvalue()


async def test_only_the_head_of_a_remote_picture_is_read() -> None:
    data = noisy_png()
    assert len(data) > 40 * CHUNK
    served: list[int] = []

    async def body() -> AsyncIterator[bytes]:
        for start in range(0, len(data), CHUNK):
            served.append(start)
            yield data[start : start + CHUNK]

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())

    client = KreaClient("tok", base_url=BASE, transport=httpx.MockTransport(handler))
    ((_, size),) = await sized([Picture("https://cdn.test/p.png")], header_fetch(client))
    assert size == (1024, 768)
    assert len(served) <= 3, f"{len(served)} chunks of {len(data) // CHUNK + 1} were read"


async def test_a_body_that_ends_first_still_gives_its_size() -> None:
    data = noisy_png((8, 6))

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data)

    client = KreaClient("tok", base_url=BASE, transport=httpx.MockTransport(handler))
    ((_, size),) = await sized([Picture("https://cdn.test/p.png")], header_fetch(client))
    assert size == (8, 6)
