"""The request embedded in every saved result: read back, it re-creates the request."""

from __future__ import annotations

import io
import json

from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from krea_tui.core.metadata import (
    a1111_parameters,
    embed_in_png,
    read_png_texts,
    request_from_png,
    with_metadata,
)

FLUX = "bfl/flux-1-dev"


def image_bytes(kind: str = "PNG") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(out, kind)
    return out.getvalue()


def test_request_round_trips_through_a_png_that_stays_a_valid_image() -> None:
    request = {"prompt": "Edelweiß ☃ «snow»", "seed": 42, "steps": 28, "width": 8}
    data = with_metadata(image_bytes(), FLUX, request, job_id="j-1", index=0)
    document = request_from_png(data)
    assert document == {"model": FLUX, "request": request, "job_id": "j-1", "index": 0}
    with Image.open(io.BytesIO(data)) as image:
        image.load()  # every chunk CRC checks out
        assert image.size == (8, 6)
        assert image.getpixel((0, 0)) == (200, 30, 30)  # pixels untouched
        assert image.text["parameters"] == a1111_parameters(FLUX, request)
        assert json.loads(image.text["krea-tui"])["request"] == request


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.one_of(st.text(), st.integers(), st.floats(allow_nan=False), st.booleans()),
        max_size=6,
    )
)
def test_any_json_request_round_trips(request: dict) -> None:
    data = with_metadata(image_bytes(), FLUX, request)
    assert request_from_png(data) == {"model": FLUX, "request": request}


def test_bytes_that_are_not_png_are_returned_unchanged() -> None:
    jpeg = image_bytes("JPEG")
    assert with_metadata(jpeg, FLUX, {"prompt": "p"}) == jpeg
    assert request_from_png(jpeg) is None
    assert with_metadata(b"", FLUX, {}) == b""
    assert embed_in_png(b"\x89PNG\r\n\x1a\nshort", {"a": "b"}) == b"\x89PNG\r\n\x1a\nshort"


def test_pngs_without_our_chunk_or_with_a_broken_one_give_none() -> None:
    plain = image_bytes()
    assert request_from_png(plain) is None
    broken = embed_in_png(plain, {"krea-tui": "{not json"})
    assert request_from_png(broken) is None
    listed = embed_in_png(plain, {"krea-tui": "[1, 2]"})
    assert request_from_png(listed) is None
    assert read_png_texts(broken)["krea-tui"] == "{not json"


def test_parameters_follow_the_a1111_layout() -> None:
    text = a1111_parameters(
        FLUX,
        {
            "prompt": "a red car",
            "negative_prompt": "blur",
            "steps": 25,
            "guidance_scale": 3.5,
            "seed": 7,
            "width": 768,
            "height": 512,
        },
    )
    assert text == (
        "a red car\nNegative prompt: blur\n"
        "Steps: 25, CFG scale: 3.5, Seed: 7, Size: 768x512, Model: bfl/flux-1-dev"
    )
    assert a1111_parameters("m", {"prompt": "p"}) == "p\nModel: m"
