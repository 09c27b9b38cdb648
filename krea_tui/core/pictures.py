"""How big a result may be: bytes on the wire and on disk, pixels once decoded.

A result is only ever what a model makes. The catalogue knows the largest width and height
each model takes, so a download is capped at a few bytes per pixel of that (a gzip bomb or an
endless body stops there), and a picture whose header declares more pixels than the model can
make is refused before anything decodes it (a 164 KB PNG can declare 13000×13000 pixels, which
costs ~835 MB to decode). Headers are read with Pillow, which reads only the header on open.
"""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from krea_tui.core.catalog import ModelInfo, UnknownModelError, bundled_catalog

# The largest width × height any catalogued model takes (8192 × 8192, checked against the
# catalogue by the tests): no picture with more pixels is decoded anywhere in the app.
MAX_PICTURE_PIXELS = 8192 * 8192
# A model may return somewhat more than it was asked for (rounding to multiples of 64, an
# upscaling mode): pixel limits are the model's maxima times this, up to MAX_PICTURE_PIXELS.
PIXEL_HEADROOM = 2.0
# An 8-bit RGBA PNG stored without compression is 4 bytes a pixel plus a little per row: no
# real result file is bigger than this per pixel, plus a megabyte for metadata and headers.
BYTES_PER_PIXEL = 4
BYTES_HEADROOM = 1024 * 1024
# A picture from a model the catalogue does not know (imported from the account's history).
UNKNOWN_IMAGE_MAX_BYTES = 64 * 1024 * 1024
# Videos and 3D models have no pixel size to go by: the client's general download cap.
OTHER_MEDIA_MAX_BYTES = 512 * 1024 * 1024
# Kinds of result (files.media_type) that are pictures, so have a header with a pixel size.
PICTURE_KINDS = frozenset({"png", "jpeg", "gif", "webp"})
_RESOLUTION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*k\s*$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ResultLimits:
    max_bytes: int  # decoded body bytes: the download stops past this
    max_pixels: int  # width × height a picture's header may declare


class PictureError(ValueError):
    """A file that is no readable picture, or one with more pixels than allowed."""


def _model_pixels(model: ModelInfo) -> int | None:
    """The most pixels this model's request can ask for, from its schema; None if unknown."""
    width, height = model.field("width"), model.field("height")
    if width is not None and height is not None and width.maximum and height.maximum:
        return int(width.maximum) * int(height.maximum)
    resolution = model.field("resolution")
    if resolution is not None and resolution.enum:
        # "1K", "2K", "4K": about that many thousand pixels a side (at any aspect ratio the
        # area stays near the square's).
        sides = [_RESOLUTION.match(str(value)) for value in resolution.enum]
        if all(sides):
            side = max(float(found.group(1)) for found in sides if found) * 1024
            return int(side * side)
    return None


def result_limits(model: str) -> ResultLimits:
    """What a result of `model` may be: derived from the catalogue when it knows the model."""
    try:
        info = bundled_catalog().get(model)
    except UnknownModelError:
        info = None
    pixels = _model_pixels(info) if info is not None else None
    if pixels is None:
        kind = model.partition(":")[2].lower() if model.startswith("imported:") else ""
        if "video" in kind or "3d" in kind:
            return ResultLimits(OTHER_MEDIA_MAX_BYTES, MAX_PICTURE_PIXELS)
        return ResultLimits(UNKNOWN_IMAGE_MAX_BYTES, MAX_PICTURE_PIXELS)
    max_pixels = min(MAX_PICTURE_PIXELS, int(pixels * PIXEL_HEADROOM))
    return ResultLimits(max_pixels * BYTES_PER_PIXEL + BYTES_HEADROOM, max_pixels)


@functools.cache
def configure_pillow() -> None:
    """Set Pillow to decode nothing larger than any model makes (once per process).

    Pillow's own check raises only past twice its limit and warns in between; every caller
    here checks the size itself first (`picture_size`), so that warning is only noise.
    """
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PICTURE_PIXELS
    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def picture_size(
    source: Path | IO[bytes], max_pixels: int = MAX_PICTURE_PIXELS, *, of: str = "any model"
) -> tuple[int, int]:
    """The (width, height) a picture's header declares, reading only the header. PictureError
    when it is no picture Pillow can read, or declares more than `max_pixels` pixels (more
    than `of` makes or takes, as the message says)."""
    configure_pillow()
    from PIL import Image

    try:
        with Image.open(source) as image:
            width, height = image.size
    except Image.DecompressionBombError:
        # Pillow's own net, past twice its limit: say the size where the header is simple.
        width, height = _png_size(source) or (0, 0)
        if width * height <= max_pixels:
            raise PictureError(
                f"it declares more than {2 * MAX_PICTURE_PIXELS:,} pixels, more than {of} "
                f"can make ({max_pixels:,} at most)"
            ) from None
    except FileNotFoundError:
        raise  # not a bad picture: no picture (a result removed meanwhile)
    except Image.UnidentifiedImageError:
        raise PictureError("it is not a picture (its header is no image format's)") from None
    except Exception as exc:  # Pillow raises many kinds (OSError, SyntaxError, struct.error…)
        raise PictureError(f"it is not a picture Pillow can read ({exc})") from None
    check_pixels(width, height, max_pixels, of=of)
    return width, height


def _png_size(source: Path | IO[bytes]) -> tuple[int, int] | None:
    """The size in a PNG's IHDR (the first 24 bytes), or None for any other file."""
    try:
        if isinstance(source, Path):
            with source.open("rb") as handle:
                head = handle.read(24)
        else:
            source.seek(0)
            head = source.read(24)
    except OSError:
        return None
    if head[:8] != b"\x89PNG\r\n\x1a\n" or head[12:16] != b"IHDR":
        return None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def check_pixels(
    width: int, height: int, max_pixels: int = MAX_PICTURE_PIXELS, *, of: str = "any model"
) -> None:
    if width * height > max_pixels:
        raise PictureError(
            f"it is {width}×{height} pixels, more than {of} can make ({max_pixels:,} at most)"
        )
