"""The styles screen survives what a server may send: a listing that repeats a style id, and a
cover that declares more pixels than any model makes (a decompression bomb) — neither raises
in a worker; the repeated style is shown once and the bomb leaves the cover pane empty."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable

from krea_tui.core.styles import Style
from krea_tui.tui.screens.styles import StylesScreen, _decode
from krea_tui.tui.widgets.halfcell import HalfcellPicture
from tests.tui.conftest import until
from tests.tui.test_list_fields import make_app


def bomb_png(width: int = 40000, height: int = 40000) -> bytes:
    """A tiny PNG whose header declares `width`×`height` pixels."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_cover_bomb_is_refused_from_its_header() -> None:
    with pytest.raises(ValueError, match="pixels"):
        _decode(bomb_png())
    with pytest.raises(ValueError, match="pixels"):
        _decode(bomb_png(9000, 9000))  # under Pillow's own net, over what any model makes


async def test_repeated_ids_and_a_bomb_cover_neither_raise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    failures: list[str] = []
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        client = app.engine.client
        cover = "https://cdn.example/cover.png"
        twice = [
            Style(id="s1", title="One", cover_url=cover),
            Style(id="s2", title="Two"),
            Style(id="s1", title="One again", cover_url=cover),
        ]

        async def list_styles(**_kw: Any) -> tuple[list[Style], None]:
            return list(twice), None

        async def fetch(_url: str, **_kw: Any) -> bytes:
            return bomb_png()

        monkeypatch.setattr(client, "list_styles", list_styles)
        monkeypatch.setattr(client, "fetch", fetch)
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            failures.append(message)
            original(message, *args, **kwargs)

        monkeypatch.setattr(app, "notify", notify)
        screen = StylesScreen()
        await app.push_screen(screen)
        table = screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count > 0, "the styles listed")
        await pilot.pause()
        note = screen.query_one("#styles-note")
        await until(pilot, lambda: "2 styles" in str(note.render()), "the count said")
        assert table.row_count == 2
        await until(pilot, lambda: cover in screen._covers, "the cover tried")
        await pilot.pause()
        assert screen._covers[cover] is None
        assert screen.query_one(HalfcellPicture).image is None
        assert not [m for m in failures if "failed" in m], failures
        assert app.is_running
