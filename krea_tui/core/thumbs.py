"""Thumbnails made once and kept on disk, for the gallery (no UI).

A thumbnail is the picture fitted into a tile of `cols` × `rows` half-cells (cols × 2·rows
pixels, aspect kept), stored as a small PNG under a name made of the picture's path, its
modification time and size in bytes, and the tile's size in cells: a changed file or another
tile size gets a thumbnail of its own, and nothing has to be invalidated. Making one (decoding
the full picture, with its size checked first) is the caller's `make`, so every picture is
decoded through the one guarded path (tui/images.py); this module only reads back what it
wrote, and checks that it is no larger than a tile before decoding it.

Safe to call from worker threads. A folder that cannot be written (a read-only data
directory) only means thumbnails are made again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path

from PIL import Image

Make = Callable[[Path, int, int], Image.Image]
"""(picture, width px, height px) -> the picture decoded and fitted into that box."""


class ThumbCache:
    def __init__(self, directory: Path, make: Make) -> None:
        self.directory = directory
        self._make = make
        self._lock = threading.Lock()
        self.made = 0  # thumbnails made from their pictures (full decodes)
        self.read = 0  # thumbnails read back from the disk

    def file_for(self, path: Path, cols: int, rows: int) -> Path:
        """Where the thumbnail of `path` for a cols × rows tile is kept (FileNotFoundError:
        no such picture)."""
        stat = path.stat()
        name = f"{path.resolve()}\0{stat.st_mtime_ns}\0{stat.st_size}\0{cols}x{rows}"
        digest = hashlib.sha1(name.encode("utf-8", "surrogateescape")).hexdigest()
        return self.directory / digest[:2] / f"{digest}.png"

    def load(self, path: Path, cols: int, rows: int) -> Image.Image:
        """The thumbnail of `path` for a cols × rows tile of half-cells, in RGB: from the disk
        when it was made before, else made now (and kept). Raises what `make` raises for a
        missing or unreadable picture."""
        kept = self.file_for(path, cols, rows)
        image = self._read(kept, cols, 2 * rows)
        if image is not None:
            with self._lock:
                self.read += 1
            return image
        image = self._make(path, cols, 2 * rows).convert("RGB")
        with self._lock:
            self.made += 1
        self._write(image, kept)
        return image

    @staticmethod
    def _read(kept: Path, width: int, height: int) -> Image.Image | None:
        try:
            with Image.open(kept) as source:
                if source.width > width or source.height > height:
                    return None  # not one this cache wrote: never decode it
                return source.convert("RGB")
        except FileNotFoundError:
            return None
        except Exception:  # a damaged file (a crash while writing): made again
            return None

    @staticmethod
    def _write(image: Image.Image, kept: Path) -> None:
        """Write through a temporary file and rename, so a reader never sees half a PNG."""
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            fd, temporary = tempfile.mkstemp(dir=kept.parent, suffix=".part")
        except OSError:
            return
        try:
            with os.fdopen(fd, "wb") as out:
                image.save(out, format="PNG")
            os.replace(temporary, kept)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
