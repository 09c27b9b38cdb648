"""Kitty graphics with Unicode placeholders: the picture as text.

The picture is stored in the terminal once and given a virtual placement (U=1) of cols×rows
cells; then each cell of the box is written as U+10EEEE followed by two combining marks that
number its row and column, and a third that holds the high byte of the image id. The low byte
is the cell's foreground colour. Being text, the picture is moved, clipped, covered by dialogs
and redrawn by whoever handles the text: Textual's compositor, and tmux, which keeps the cells
in its own grid and puts them back when the pane is shown again. kitty draws these from 0.28.

Ids are 256-colour indices (16-255) rather than RGB: Textual sends those as they are, where it
turns theme colours (0-15) into RGB, and tmux passes them on even without truecolor. The high
byte, random per picture, keeps two programs in one kitty window from sharing ids.

Inside tmux the graphics escapes go to the terminal outside through tmux's passthrough
(`allow-passthrough on`): each escape is wrapped in `ESC P tmux; … ESC \\` with its own escapes
doubled, one chunk per wrapper so that no wrapper is large.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from krea_tui.core.kitty_graphics import graphics_command, transmit
from krea_tui.core.placeholder_marks import MARKS

PLACEHOLDER = "\U0010eeee"
_NUMBER = {chr(mark): n for n, mark in enumerate(MARKS)}
_TMUX_START = "\x1bPtmux;"
_TMUX_END = "\x1b\\"


@dataclass(frozen=True)
class PlaceholderId:
    colour: int  # the 256-colour index of the cells' foreground, 16-255
    high: int  # the id's most significant byte, written as each cell's third mark

    @property
    def image_id(self) -> int:
        return (self.high << 24) | self.colour

    @classmethod
    def new(cls) -> PlaceholderId:
        return cls(colour=random.randint(16, 255), high=random.randint(1, 255))


def placeholder_cells(image: PlaceholderId, cols: int, rows: int) -> list[list[str]]:
    """The text of every cell of a cols×rows box, row by row; each is one cell wide."""
    if cols > len(MARKS) or rows > len(MARKS):
        raise ValueError(f"placeholders number at most {len(MARKS)} rows and columns")
    high = chr(MARKS[image.high])
    marks = [chr(mark) for mark in MARKS[: max(cols, rows)]]
    return [[PLACEHOLDER + marks[r] + marks[c] + high for c in range(cols)] for r in range(rows)]


def text_bytes(cols: int, rows: int) -> int:
    """What a cols×rows box of placeholder cells costs on the wire each time it is painted:
    each cell's character and three marks in UTF-8, and a cursor move per line."""
    cells = placeholder_cells(PlaceholderId(16, 1), min(cols, len(MARKS)), min(rows, len(MARKS)))
    return sum(len("".join(row).encode()) + 8 for row in cells)


def decode_cell(text: str, colour: int) -> tuple[int, int, int] | None:
    """(row, column, image id) of one cell written in `colour`; None if it is no placeholder.
    The reading a terminal does, for tests and for checking what tmux kept."""
    if not text.startswith(PLACEHOLDER) or len(text) < 3:
        return None
    numbers = [_NUMBER.get(mark) for mark in text[1:4]]
    if any(n is None for n in numbers[:2]):
        return None
    row, col = numbers[0], numbers[1]
    high = numbers[2] if len(numbers) > 2 and numbers[2] is not None else 0
    assert row is not None and col is not None
    return row, col, (high << 24) | colour


def virtual_placement(image_id: int, cols: int, rows: int) -> str:
    """Where the stored picture may be shown: wherever its placeholders are, cols×rows cells."""
    return graphics_command(f"a=p,U=1,i={image_id},c={cols},r={rows},q=2")


def for_tmux(sequence: str) -> str:
    """`sequence` wrapped for tmux to pass on to the terminal outside, unchanged."""
    return _TMUX_START + sequence.replace("\x1b", "\x1b\x1b") + _TMUX_END


def unwrap_tmux(text: str) -> str:
    """What the terminal outside receives from `text` written inside tmux (for tests)."""
    out = []
    for part in text.split(_TMUX_START):
        if part.endswith(_TMUX_END):
            part = part[: -len(_TMUX_END)].replace("\x1b\x1b", "\x1b")
        out.append(part)
    return "".join(out)


def _each_escape(text: str) -> list[str]:
    return [piece + "\x1b\\" for piece in text.split("\x1b\\") if piece]


def for_terminal(sequence: str, *, tmux: bool) -> str:
    """`sequence` as written from inside tmux (each escape in its own passthrough) or not."""
    if not tmux:
        return sequence
    return "".join(for_tmux(escape) for escape in _each_escape(sequence))


def transmit_placeholder_picture(
    image: PlaceholderId, png: bytes, cols: int, rows: int, *, tmux: bool
) -> str:
    """Everything the terminal needs once: the PNG stored under the image's id, and its
    virtual placement of cols×rows cells."""
    sequence = transmit(image.image_id, png) + virtual_placement(image.image_id, cols, rows)
    return for_terminal(sequence, tmux=tmux)
