"""Showing result images: choosing the terminal protocol, and decoding off the event loop.

Kitty graphics and Sixel draw real pixels where the terminal supports them; half-cell blocks
work everywhere with colour (and are what tmux gets unless passthrough is configured).
Decoding and scaling a 1024² PNG takes tens of milliseconds, so it runs in a thread and the
scaled result is cached by (file, modification time, box).

Every picture is decoded here, and only after its header is checked: one declaring more pixels
than any model makes (a 164 KB PNG can declare 13000×13000, ~835 MB decoded) or one Pillow
cannot read raises UnreadablePicture, which each caller catches, so one bad picture never
stops the others from being drawn.
"""

from __future__ import annotations

import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from krea_tui.core.pictures import PictureError, configure_pillow, picture_size

PROTOCOLS = ("auto", "kitty", "sixel", "halfcell")
ENV_PROTOCOL = "KREA_TUI_IMAGES"


def detect_protocol(setting: str = "auto", env: Mapping[str, str] | None = None) -> str:
    """The protocol to use. Must run before the app starts: the probe reads the terminal."""
    env = os.environ if env is None else env
    chosen = (env.get(ENV_PROTOCOL) or setting or "auto").lower()
    if chosen in ("kitty", "sixel", "halfcell"):
        return chosen
    if not sys.stdout.isatty():
        return "halfcell"
    if env.get("TMUX") and env.get("KREA_TUI_TMUX_PASSTHROUGH") != "1":
        # tmux drops graphics unless passthrough is set up; half-cell always works there.
        return "halfcell"
    try:
        from textual_image.renderable import Image as Auto
        from textual_image.renderable.sixel import Image as Sixel
        from textual_image.renderable.tgp import Image as TGP
    except Exception:  # the probe can fail on odd terminals (0x0 size, no answer)
        return "halfcell"
    if Auto is Sixel:
        return "sixel"
    if Auto is TGP:
        return "kitty"
    return "halfcell"


def image_widget_class(protocol: str) -> Any:
    """The widget that draws a picture with `protocol` (half-cell unless real pixels work)."""
    if protocol in ("kitty", "sixel"):
        from textual_image import widget

        return widget.TGPImage if protocol == "kitty" else widget.SixelImage
    from krea_tui.tui.widgets.halfcell import HalfcellPicture

    return HalfcellPicture


def fit_cells(image_w: int, image_h: int, cols: int, rows: int) -> tuple[int, int]:
    """Largest (cols, rows) box with the image's aspect; a cell is about twice as tall as wide."""
    aspect = image_w / max(1, image_h)
    width = min(cols, int(rows * 2 * aspect))
    height = max(1, round(width / (2 * aspect)))
    return max(1, width), min(rows, height)


class UnreadablePicture(Exception):
    """A file the app will not decode: broken, no picture, or more pixels than any model makes
    (a decompression bomb). A missing file is FileNotFoundError, as before."""


def image_size(path: Path) -> tuple[int, int]:
    """(width, height) of a picture from its header alone; UnreadablePicture if it is none or
    is larger than any model makes."""
    try:
        return picture_size(path)
    except PictureError as exc:
        raise UnreadablePicture(f"{path.name}: {exc}") from None


class ScaledImages:
    """A small LRU of decoded, downscaled images; safe to use from worker threads.

    Two threads asking for the same picture at once (the viewer loads on mount and again on
    the first resize) share one decode: the second waits for the first instead of decoding
    the same file again, and both get the same image object, which the half-cell widget
    recognises and does not redraw.
    """

    def __init__(self, capacity: int = 32) -> None:
        self._items: OrderedDict[tuple[str, int, int, int], PILImage.Image] = OrderedDict()
        self._loading: dict[tuple[str, int, int, int], threading.Event] = {}
        self._capacity = capacity
        self._lock = threading.Lock()

    def load(self, path: Path, width: int, height: int) -> PILImage.Image:
        """`path` decoded and fitted into width×height pixels (aspect kept)."""
        key = (str(path), path.stat().st_mtime_ns, width, height)
        while True:
            with self._lock:
                if key in self._items:
                    self._items.move_to_end(key)
                    return self._items[key]
                pending = self._loading.get(key)
                if pending is None:
                    self._loading[key] = threading.Event()
                    break
            pending.wait()  # then take its result (or decode ourselves if it failed)
        try:
            image = self._decode(path, width, height)
            with self._lock:
                self._items[key] = image
                while len(self._items) > self._capacity:
                    self._items.popitem(last=False)
        finally:
            with self._lock:
                self._loading.pop(key).set()
        return image

    @staticmethod
    def _decode(path: Path, width: int, height: int) -> PILImage.Image:
        """`path` decoded and scaled; UnreadablePicture for anything wrong with the picture
        itself (FileNotFoundError stays itself: a result removed meanwhile)."""
        image_size(path)  # the header first: nothing too large is ever decoded
        configure_pillow()  # Pillow's own limit too, in case the file changed meanwhile
        try:
            with PILImage.open(path) as source:
                source.draft("RGB", (width, height))  # nearly free downscale for JPEG
                image = source.convert("RGB")
            image.thumbnail((max(1, width), max(1, height)), PILImage.Resampling.BILINEAR)
        except FileNotFoundError:
            raise
        except Exception as exc:  # Pillow fails in many ways: OSError, SyntaxError, zlib.error…
            raise UnreadablePicture(f"{path.name}: {exc}") from None
        return image


SCALED = ScaledImages()
