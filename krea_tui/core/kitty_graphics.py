"""Kitty graphics protocol, direct placements: the picture is sent once, then only placed.

Direct placements are what every kitty version draws (Debian 12 ships 0.26, which has no
Unicode placeholders) and what WezTerm and Konsole draw too. The escape strings are built here,
with no terminal and no Textual, so they can be checked byte for byte.

Over a slow link the bytes matter more than the last bit of sharpness: the terminal scales a
placement to the cells it is given, so a picture that would exceed BUDGET as a full-size
truecolour PNG is sent as a 256-colour PNG, then smaller, rather than as a megabyte.
"""

from __future__ import annotations

import base64
import io
import math

from PIL import Image

from krea_tui.core.termcaps import CellSize

CHUNK = 4096  # the protocol's largest base64 payload per escape
# Bytes on the wire for one picture, escapes included: a full-screen picture in about a second
# over a 1.5 Mbit/s link.
BUDGET = 150_000


def graphics_command(control: str, payload: str = "") -> str:
    """One escape of the graphics protocol (APC G): its keys, then its base64 payload."""
    return f"\x1b_G{control};{payload}\x1b\\" if payload else f"\x1b_G{control}\x1b\\"


def transmit(image_id: int, png: bytes) -> str:
    """Store `png` in the terminal under `image_id` without showing it (q=2: no replies,
    which would arrive as keys once Textual reads stdin)."""
    data = base64.standard_b64encode(png).decode("ascii")
    chunks = [data[i : i + CHUNK] for i in range(0, len(data), CHUNK)] or [""]
    out = []
    for n, chunk in enumerate(chunks):
        more = 1 if n < len(chunks) - 1 else 0
        control = f"a=t,f=100,i={image_id},q=2,m={more}" if n == 0 else f"m={more}"
        out.append(graphics_command(control, chunk))
    return "".join(out)


def place(image_id: int, cols: int, rows: int, placement_id: int = 1) -> str:
    """Show the stored image at the cursor, scaled to cols×rows cells; the same placement id
    moves an earlier placement instead of adding one. C=1 leaves the cursor where it was."""
    return graphics_command(f"a=p,i={image_id},p={placement_id},c={cols},r={rows},C=1,q=2")


def delete_placements(image_id: int) -> str:
    """Take the image off the screen and keep its data, to place it again later."""
    return graphics_command(f"a=d,d=i,i={image_id},q=2")


def delete_image(image_id: int) -> str:
    """Take the image off the screen and free its data in the terminal."""
    return graphics_command(f"a=d,d=I,i={image_id},q=2")


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=6)
    return out.getvalue()


def _wire_size(png: bytes) -> int:
    chunks = math.ceil(len(png) / 3 * 4 / CHUNK) or 1
    return math.ceil(len(png) / 3) * 4 + chunks * 32  # base64 plus each escape's keys


def encode_picture(
    image: Image.Image, cols: int, rows: int, cell: CellSize, budget: int = BUDGET
) -> bytes:
    """`image` as a PNG no larger than the cols×rows cells it will occupy, within `budget`
    bytes on the wire where one pixel per column still allows it."""
    box = (max(1, cols * cell.width), max(1, rows * cell.height))
    scale = min(1.0, box[0] / image.width, box[1] / image.height)
    rgb = image.convert("RGB")

    def sized(factor: float) -> Image.Image:
        size = (max(1, round(rgb.width * factor)), max(1, round(rgb.height * factor)))
        return rgb if size == rgb.size else rgb.resize(size, Image.Resampling.BILINEAR)

    full = sized(scale)
    png = _png(full)
    if _wire_size(png) <= budget:
        return png
    # Palette PNGs are about a third of truecolour ones for photographs; banding is mild.
    png = _png(full.quantize(256, dither=Image.Dither.NONE))
    smallest = min(1.0, cols / max(1, full.width))  # one pixel per column
    factor = 1.0
    while _wire_size(png) > budget and factor > smallest:
        # Size goes with the area, so shrink by the square root of the excess, a bit more.
        factor = max(smallest, factor * min(0.9, math.sqrt(budget / _wire_size(png)) * 0.95))
        png = _png(sized(scale * factor).quantize(256, dither=Image.Dither.NONE))
    return png
