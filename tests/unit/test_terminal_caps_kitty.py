"""The kitty graphics stream for direct placements: what kitty before 0.28 can draw.

The picture goes once (a=t, PNG, 4096-byte base64 chunks), then each redraw only places it
again (a=p, C=1 so the cursor stays); placeholders (U=1) are never part of this route.
"""

from __future__ import annotations

import base64
import io
import random
import re

from PIL import Image

from krea_tui.core.kitty_graphics import (
    BUDGET,
    delete_image,
    encode_picture,
    place,
    transmit,
)
from krea_tui.core.termcaps import CellSize

APC = re.compile(r"\x1b_G([^;\x1b]*)(?:;([^\x1b]*))?\x1b\\")


def keys(control: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in control.split(","))


def noisy(side: int) -> Image.Image:
    # Noise is the worst case for PNG: a photograph compresses better than this.
    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(side * side * 3))
    return Image.frombytes("RGB", (side, side), data)


def test_transmit_sends_the_png_in_chunks_with_one_id() -> None:
    png = bytes(range(256)) * 40
    stream = transmit(1234, png)
    messages = APC.findall(stream)
    assert len(messages) > 1
    first = keys(messages[0][0])
    assert first["a"] == "t" and first["f"] == "100" and first["i"] == "1234"
    assert first["q"] == "2"
    assert all(len(payload) <= 4096 for _, payload in messages)
    assert [keys(c).get("m") for c, _ in messages] == ["1"] * (len(messages) - 1) + ["0"]
    assert base64.b64decode("".join(payload for _, payload in messages)) == png


def test_place_is_a_direct_placement_that_keeps_the_cursor() -> None:
    (control, payload), *rest = APC.findall(place(1234, 40, 20))
    assert not rest and not payload
    placed = keys(control)
    assert placed["a"] == "p" and placed["i"] == "1234"
    assert (placed["c"], placed["r"], placed["C"]) == ("40", "20", "1")
    assert "U" not in placed


def test_delete_frees_the_image() -> None:
    (control, _), *_ = APC.findall(delete_image(1234))
    assert keys(control) == {"a": "d", "d": "I", "i": "1234", "q": "2"}


def test_a_small_picture_is_sent_at_the_cells_pixels() -> None:
    picture = Image.new("RGB", (1024, 1024), (200, 30, 30))
    png = encode_picture(picture, 20, 10, CellSize(10, 20))
    with Image.open(io.BytesIO(png)) as sent:
        assert sent.size == (200, 200)


def test_never_sent_larger_than_the_cells_it_occupies() -> None:
    picture = Image.new("RGB", (1024, 1024), (10, 200, 30))
    png = encode_picture(picture, 96, 48, CellSize(10, 20))
    with Image.open(io.BytesIO(png)) as sent:
        assert sent.size[0] <= 960 and sent.size[1] <= 960


def test_a_full_screen_noisy_picture_stays_within_the_budget() -> None:
    png = encode_picture(noisy(512), 96, 48, CellSize(10, 20))
    assert len(transmit(1, png)) <= BUDGET  # escapes included
    with Image.open(io.BytesIO(png)) as sent:
        assert sent.size[0] >= 96  # still at least one pixel per column
