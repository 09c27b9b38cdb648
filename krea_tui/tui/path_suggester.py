"""Path completion for image fields: typing `./ph` offers `./photo.png` (→ accepts it), with
folders (ending in `/`) and the picture kinds the service takes."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from textual.suggester import Suggester

from krea_tui.core.catalog import Field

PICTURE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".webp", ".heic", ".heif"})


def takes_path(field: Field) -> bool:
    """A single-URL image field (`image_url`): a local path may be typed into it."""
    return field.type == "string" and field.format == "uri" and "image" in field.name.lower()


def complete_path(value: str) -> str | None:
    """`value` completed to the first picture or folder whose name it starts, or None.
    Hidden names are offered only once a `.` is typed."""
    if "/" not in value:
        return None
    head, _, prefix = value.rpartition("/")
    folder = Path(os.path.expanduser(head + "/")) if head else Path("/")
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return None
    for name in names:
        if name == prefix or not name.startswith(prefix):
            continue
        if name.startswith(".") and not prefix.startswith("."):
            continue
        path = folder / name
        if path.is_dir():
            return value + name[len(prefix) :] + "/"
        if path.suffix.lower() in PICTURE_SUFFIXES:
            return value + name[len(prefix) :]
    return None


class PathSuggester(Suggester):
    def __init__(self) -> None:
        super().__init__(use_cache=False, case_sensitive=True)

    async def get_suggestion(self, value: str) -> str | None:
        return await asyncio.to_thread(complete_path, value)
