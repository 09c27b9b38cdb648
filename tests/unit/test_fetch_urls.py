"""Pictures are fetched only from absolute http(s) URLs: a relative one from a server (a
style's cover_url of `/styles/X/share/link`) would otherwise be resolved against the API and
sent the token, with whatever that route does. It is refused before any request."""

from __future__ import annotations

import httpx
import pytest

from krea_tui.core.api import KreaClient
from krea_tui.core.errors import KreaError

BASE = "https://api.krea.test"
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32


def client(seen: list[httpx.Request]) -> KreaClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=PNG)

    return KreaClient("tok", base_url=BASE, transport=httpx.MockTransport(handler))


@pytest.mark.parametrize(
    "url",
    ["/styles/s1/share/link", "styles/s1/cover.png", "//evil.test/x.png", "ftp://h/x.png", ""],
)
async def test_a_relative_or_non_http_url_is_refused_unsent(url: str) -> None:
    seen: list[httpx.Request] = []
    with pytest.raises(KreaError, match="absolute http"):
        await client(seen).fetch(url)
    assert seen == []


async def test_an_absolute_url_is_fetched_and_the_token_stays_home() -> None:
    seen: list[httpx.Request] = []
    assert await client(seen).fetch("https://cdn.test/p.png?sig=1") == PNG
    assert [str(r.url) for r in seen] == ["https://cdn.test/p.png?sig=1"]
    assert "authorization" not in seen[0].headers
