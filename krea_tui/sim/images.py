"""Procedural result images: a small landscape drawn from the prompt and seed.

Drawn on a canvas of at most 160 px and scaled up, so a 1024×1024 PNG costs tens of
milliseconds. The same (model, prompt, seed, size) always gives the same bytes; different prompts
give visibly different skies, ridges and suns.
"""

from __future__ import annotations

import hashlib
import io
import random
import threading
from collections import OrderedDict

from PIL import Image, ImageDraw, ImageFilter

CANVAS = 160  # long side of the drawing canvas
PREVIEW_SIDE = 128  # long side of the intermediate preview
_CACHE_LIMIT_BYTES = 128 * 1024 * 1024

Colour = tuple[int, int, int]

# Skies keyed by words, so prompts about sunsets or night look like them. Anything else takes a
# palette from the prompt's hash.
_WORD_SKIES: dict[str, tuple[Colour, Colour]] = {
    "sunset": ((250, 112, 80), (255, 206, 120)),
    "sunrise": ((255, 160, 120), (255, 228, 170)),
    "night": ((10, 14, 40), (40, 50, 100)),
    "space": ((5, 5, 20), (30, 20, 60)),
    "snow": ((200, 220, 240), (245, 248, 255)),
    "winter": ((170, 195, 225), (235, 242, 250)),
    "desert": ((240, 190, 120), (255, 230, 170)),
    "forest": ((120, 170, 140), (210, 235, 200)),
    "ocean": ((40, 110, 170), (150, 210, 235)),
    "sea": ((40, 110, 170), (150, 210, 235)),
    "fire": ((120, 20, 10), (250, 140, 40)),
    "neon": ((40, 0, 70), (230, 40, 160)),
    "cyberpunk": ((30, 0, 60), (0, 200, 220)),
}


def _mix(a: Colour, b: Colour, t: float) -> Colour:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def _random_colour(rng: random.Random, low: int = 0, high: int = 255) -> Colour:
    return (rng.randint(low, high), rng.randint(low, high), rng.randint(low, high))


def _sky(prompt: str, rng: random.Random) -> tuple[Colour, Colour]:
    words = {w.strip(".,!?;:'\"()").lower() for w in prompt.split()}
    for word, sky in _WORD_SKIES.items():
        if word in words:
            top, bottom = sky
            # Nudge the named sky so two sunset prompts still differ.
            return _mix(top, _random_colour(rng), 0.15), _mix(bottom, _random_colour(rng), 0.15)
    return _random_colour(rng, 20, 235), _random_colour(rng, 60, 255)


def _canvas_size(width: int, height: int, side: int) -> tuple[int, int]:
    scale = side / max(width, height)
    return max(4, round(width * scale)), max(4, round(height * scale))


def draw(model: str, prompt: str, seed: int, width: int, height: int) -> Image.Image:
    """The image at canvas resolution (long side CANVAS), before scaling."""
    digest = hashlib.sha256(f"{model}\0{prompt}\0{seed}".encode()).digest()
    rng = random.Random(digest)
    cw, ch = _canvas_size(width, height, CANVAS)
    top, bottom = _sky(prompt, rng)

    mask = Image.linear_gradient("L").resize((cw, ch))
    img = Image.composite(Image.new("RGB", (cw, ch), bottom), Image.new("RGB", (cw, ch), top), mask)
    pen = ImageDraw.Draw(img, "RGBA")

    # A sun or moon with a soft halo.
    sx, sy = rng.uniform(0.1, 0.9) * cw, rng.uniform(0.1, 0.5) * ch
    radius = rng.uniform(0.05, 0.14) * max(cw, ch)
    glow = _mix(bottom, (255, 250, 220), 0.7)
    for step in range(4, 0, -1):
        r = radius * (1 + step * 0.35)
        pen.ellipse([sx - r, sy - r, sx + r, sy + r], fill=(*glow, 28))
    pen.ellipse([sx - radius, sy - radius, sx + radius, sy + radius], fill=(*glow, 235))

    # Ridges: each a random walk, nearer ones darker and lower (atmospheric perspective).
    land = _random_colour(rng, 10, 120)
    layers = rng.randint(3, 5)
    for layer in range(layers):
        depth = (layer + 1) / layers
        colour = _mix(_mix(top, bottom, 0.6), land, 0.35 + 0.65 * depth)
        base = ch * (0.45 + 0.45 * depth * rng.uniform(0.8, 1.0))
        rough = ch * rng.uniform(0.03, 0.12) * (1.2 - depth * 0.5)
        y = base - rng.uniform(0, rough * 2)
        points = [(0.0, float(ch))]
        steps = 24
        for i in range(steps + 1):
            y += rng.uniform(-rough, rough)
            y = min(max(y, ch * 0.25), ch * 0.98)
            points.append((cw * i / steps, y))
        points.append((float(cw), float(ch)))
        pen.polygon(points, fill=(*colour, 255))

    # A few bright shapes in the foreground so close seeds still differ at a glance.
    for _ in range(rng.randint(2, 6)):
        c = _random_colour(rng, 40, 255)
        x, y = rng.uniform(0, cw), rng.uniform(0.55, 1.0) * ch
        s = rng.uniform(0.02, 0.07) * cw
        pen.ellipse([x - s, y - s, x + s, y + s], fill=(*c, rng.randint(120, 220)))

    return img.filter(ImageFilter.GaussianBlur(0.8))


def _encode(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    # Fast compression: these files only travel over loopback.
    img.save(buf, "PNG", compress_level=1)
    return buf.getvalue()


class ImageCache:
    """Rendered PNG bytes by key, bounded by total size. Thread-safe."""

    def __init__(self, limit_bytes: int = _CACHE_LIMIT_BYTES) -> None:
        self._limit = limit_bytes
        self._items: OrderedDict[tuple[object, ...], bytes] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get_or_render(
        self, model: str, prompt: str, seed: int, width: int, height: int, preview: bool = False
    ) -> bytes:
        key = (model, prompt, seed, width, height, preview)
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
        data = render_png(model, prompt, seed, width, height, preview=preview)
        with self._lock:
            if key not in self._items:
                self._items[key] = data
                self._size += len(data)
            while self._size > self._limit and len(self._items) > 1:
                _, old = self._items.popitem(last=False)
                self._size -= len(old)
        return data


def render_png(
    model: str, prompt: str, seed: int, width: int, height: int, *, preview: bool = False
) -> bytes:
    """PNG bytes at width×height, or a small blurred preview of the same picture."""
    img = draw(model, prompt, seed, width, height)
    if preview:
        size = _canvas_size(width, height, PREVIEW_SIDE)
        small = img.resize(size, Image.Resampling.BILINEAR).filter(ImageFilter.GaussianBlur(2.5))
        return _encode(small)
    return _encode(img.resize((width, height), Image.Resampling.BICUBIC))
