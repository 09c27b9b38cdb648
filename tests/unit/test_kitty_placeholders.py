"""Kitty's Unicode placeholders: pictures as text, which tmux moves, clips and redraws.

The picture is stored in the terminal once (through tmux's passthrough when inside tmux) and
shown by a virtual placement; every cell of its box holds U+10EEEE with two combining marks
numbering its row and column, coloured with the image id. These tests decode what is written
and check that every cell of the box is placed exactly once, with one id.
"""

from __future__ import annotations

import unicodedata

import pytest

from krea_tui.core.kitty_placeholders import (
    PLACEHOLDER,
    PlaceholderId,
    decode_cell,
    for_tmux,
    placeholder_cells,
    transmit_placeholder_picture,
    unwrap_tmux,
)
from krea_tui.core.placeholder_marks import MARKS


def test_the_marks_follow_the_rule_they_were_made_by() -> None:
    # The rule (scripts/placeholder_marks.py): Unicode 6.0 marks drawn above, with no
    # decomposition; Python's own database can check all but the age.
    assert len(MARKS) == 297 and MARKS[0] == 0x0305
    assert list(MARKS) == sorted(MARKS) and len(set(MARKS)) == len(MARKS)
    for mark in MARKS:
        assert unicodedata.combining(chr(mark)) == 230, hex(mark)
        assert unicodedata.decomposition(chr(mark)) == "", hex(mark)


def test_every_cell_of_the_box_is_placed_once_with_one_id() -> None:
    image = PlaceholderId(colour=201, high=77)
    rows = placeholder_cells(image, cols=120, rows=40)
    assert len(rows) == 40 and all(len(row) == 120 for row in rows)
    seen: set[tuple[int, int]] = set()
    for text_row in rows:
        for text in text_row:
            assert text.startswith(PLACEHOLDER)
            decoded = decode_cell(text, colour=201)
            assert decoded is not None
            row, col, image_id = decoded
            assert image_id == image.image_id == (77 << 24) | 201
            assert (row, col) not in seen
            seen.add((row, col))
    assert seen == {(r, c) for r in range(40) for c in range(120)}


def test_a_box_larger_than_the_marks_can_number_is_refused() -> None:
    with pytest.raises(ValueError, match="297"):
        placeholder_cells(PlaceholderId(20, 1), cols=300, rows=10)


def test_ids_are_256_colour_indices_that_textual_passes_unchanged() -> None:
    # Indices 0-15 are the theme's colours, which Textual turns into RGB; 16-255 are sent
    # as they are, and survive a tmux without truecolor.
    for _ in range(200):
        image = PlaceholderId.new()
        assert 16 <= image.colour <= 255 and 1 <= image.high <= 255


def test_text_that_is_no_placeholder_decodes_to_nothing() -> None:
    assert decode_cell("x", colour=20) is None
    assert decode_cell(PLACEHOLDER, colour=20) is None  # no row or column mark
    assert decode_cell(PLACEHOLDER + "\u0305\u0041", colour=20) is None


def test_tmux_passthrough_doubles_every_escape_and_unwraps_to_the_original() -> None:
    sequence = "\x1b_Ga=p,U=1,i=5,c=2,r=1,q=2\x1b\\"
    wrapped = for_tmux(sequence)
    assert wrapped.startswith("\x1bPtmux;\x1b\x1b_G") and wrapped.endswith("\x1b\x1b\\\x1b\\")
    assert unwrap_tmux(wrapped) == sequence


def test_inside_tmux_each_chunk_travels_in_its_own_passthrough() -> None:
    png = bytes(range(256)) * 200  # 51 KB: several 4 KB chunks
    image = PlaceholderId(40, 9)
    wrapped = transmit_placeholder_picture(image, png, cols=30, rows=10, tmux=True)
    parts = wrapped.split("\x1bPtmux;")[1:]
    assert len(parts) >= 13  # every chunk and the placement, each its own DCS
    assert all(part.endswith("\x1b\\") and len(part) < 8300 for part in parts)
    plain = transmit_placeholder_picture(image, png, cols=30, rows=10, tmux=False)
    assert unwrap_tmux(wrapped) == plain
    assert plain.endswith(f"\x1b_Ga=p,U=1,i={image.image_id},c=30,r=10,q=2\x1b\\")
    assert "\x1bP" not in plain
