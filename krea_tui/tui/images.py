"""Showing result images: choosing the terminal protocol, and decoding off the event loop.

Kitty graphics and Sixel draw real pixels where the terminal supports them; half-cell blocks
work everywhere with colour (and are what tmux gets unless passthrough is configured). Which
one is decided from the terminal's own answers (krea_tui.core.termcaps), and every box is
fitted with the terminal's real cell size in pixels.
Decoding and scaling a 1024² PNG takes tens of milliseconds, so it runs in a thread and the
scaled result is cached by (file, modification time, box).

Every picture is decoded here, and only after its header is checked: one declaring more pixels
than any model makes (a 164 KB PNG can declare 13000×13000, ~835 MB decoded) or one Pillow
cannot read raises UnreadablePicture, which each caller catches, so one bad picture never
stops the others from being drawn.
"""

from __future__ import annotations

import functools
import os
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from PIL import Image as PILImage

from krea_tui.core.clipboard import Run, run_command
from krea_tui.core.pictures import PictureError, configure_pillow, picture_size
from krea_tui.core.termcaps import (
    DEFAULT_CELL,
    CellSize,
    Route,
    TerminalAnswers,
    choose_route,
    fit_box,
    probe_terminal,
    settle_replies,
)
from krea_tui.core.tmux_route import choose_tmux_route, colour_depth, read_tmux_client

PROTOCOLS = ("auto", "kitty", "sixel", "halfcell")
ENV_PROTOCOL = "KREA_TUI_IMAGES"

# The cell size in pixels, from the probe: every box a picture gets is fitted with it, so that
# the picture keeps its own aspect in pixels (xterm's default cells are 6×13, not 1×2).
_cell = DEFAULT_CELL
_route: Route | None = None


def cell_size() -> CellSize:
    return _cell


def set_cell_size(cell: CellSize) -> None:
    global _cell
    _cell = cell


def last_route() -> Route | None:
    """The route detect_protocol chose, with its reason (for `doctor`)."""
    return _route


def detect_route(
    setting: str = "auto",
    env: Mapping[str, str] | None = None,
    probe: Callable[[], TerminalAnswers] = probe_terminal,
    is_tty: bool | None = None,
    settle: Callable[[], None] = settle_replies,
    run: Run = run_command,
) -> Route:
    """How to draw pictures here. Must run before the app starts: the probe reads the terminal."""
    env = os.environ if env is None else env
    chosen = (env.get(ENV_PROTOCOL) or setting or "auto").lower()
    tty = sys.stdout.isatty() if is_tty is None else is_tty
    if chosen == "halfcell" or chosen == "sixel":
        answers = probe() if chosen == "sixel" and tty else TerminalAnswers()
    elif not tty:
        return Route("kitty-direct" if chosen == "kitty" else "halfcell", "not a terminal")
    else:
        answers = probe()
    if answers.cell is not None:
        set_cell_size(answers.cell)
    if env.get("TMUX"):
        route = choose_tmux_route(chosen, answers, read_tmux_client(run), colour_depth(env))
    else:
        route = choose_route(chosen, answers)
    if route.protocol == "sixel":
        # textual-image probes the terminal when first imported: now, before Textual reads
        # stdin, not when the viewer first composes.
        try:
            import textual_image.widget  # noqa: F401
        except Exception:  # its probe can fail on odd terminals (0x0 size, no answer)
            return Route("halfcell", f"{route.reason}; but textual-image failed to load")
        finally:
            # Its queries wait 0.1 s for an answer; one arriving later over SSH would
            # otherwise be typed into the app.
            settle()
    return route


def detect_protocol(
    setting: str = "auto",
    env: Mapping[str, str] | None = None,
    probe: Callable[[], TerminalAnswers] = probe_terminal,
    is_tty: bool | None = None,
) -> str:
    """The protocol to use: kitty (placeholders), kitty-direct, sixel or halfcell."""
    global _route
    _route = detect_route(setting, env, probe, is_tty)
    return _route.protocol


def image_widget_class(protocol: str, env: Mapping[str, str] | None = None) -> Any:
    """The widget that draws a picture with `protocol` (half-cell unless real pixels work)."""
    if protocol == "sixel":
        from textual_image import widget

        return widget.SixelImage
    if protocol == "kitty":
        from krea_tui.tui.widgets.placeholder_picture import PlaceholderPicture

        env = os.environ if env is None else env
        return functools.partial(PlaceholderPicture, cell=cell_size(), tmux=bool(env.get("TMUX")))
    if protocol == "kitty-direct":
        from krea_tui.tui.widgets.kitty_picture import KittyPicture

        return functools.partial(KittyPicture, cell=cell_size())
    from krea_tui.tui.widgets.halfcell import HalfcellPicture

    return HalfcellPicture


def fit_cells(
    image_w: int, image_h: int, cols: int, rows: int, cell: CellSize | None = None
) -> tuple[int, int]:
    """Largest (cols, rows) box that shows the image with its own aspect in pixels."""
    return fit_box(image_w, image_h, cols, rows, cell or cell_size())


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
