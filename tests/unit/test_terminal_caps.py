"""What the terminal can draw, decided from its own answers, and the cell box a picture gets.

Both defects of issue 19 are decisions that can be checked without a terminal: kitty 0.26
(Debian 12's) was sent Unicode placeholders it cannot draw, and a square picture in xterm's
6×13-pixel cells came out 8 % taller than wide because the box assumed cells twice as tall
as wide.
"""

from __future__ import annotations

import os
import threading
import time
import tty

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.termcaps import (
    DEFAULT_CELL,
    CellSize,
    TerminalAnswers,
    choose_route,
    fit_box,
    parse_answers,
    probe_request,
    read_answers,
    version_tuple,
)

KITTY_0_26 = TerminalAnswers(name="kitty", version="0.26.5", kitty_graphics=True, sixel=False)
KITTY_0_35 = TerminalAnswers(name="kitty", version="0.35.2", kitty_graphics=True, sixel=False)
XTERM_VT340 = TerminalAnswers(name="XTerm", version="379", kitty_graphics=False, sixel=True)
SILENT = TerminalAnswers()


def test_parse_kitty_0_26_answers() -> None:
    # What kitty 0.26.5 answers the probe with: XTVERSION, the graphics query, cell size, DA1.
    raw = b"\x1bP>|kitty(0.26.5)\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[6;21;10t\x1b[?62;c"
    answers = parse_answers(raw)
    assert answers.name == "kitty"
    assert answers.version == "0.26.5"
    assert answers.kitty_graphics
    assert not answers.sixel
    assert answers.cell == CellSize(10, 21)
    assert answers.complete


def test_parse_xterm_vt340_answers() -> None:
    raw = b"\x1bP>|XTerm(379)\x1b\\\x1b[6;13;6t\x1b[?63;1;2;4;6;9;15;16;22;28;29c"
    answers = parse_answers(raw)
    assert (answers.name, answers.version) == ("XTerm", "379")
    assert answers.sixel
    assert not answers.kitty_graphics
    assert answers.cell == CellSize(6, 13)


@pytest.mark.parametrize(
    ("reply", "name", "version"),
    [
        (b"kitty(0.26.5)", "kitty", "0.26.5"),
        (b"XTerm(379)", "XTerm", "379"),
        (b"tmux 3.3a", "tmux", "3.3a"),
        (b"WezTerm 20240203-110809-5046fc22", "WezTerm", "20240203-110809-5046fc22"),
        (b"foot(1.16.2)", "foot", "1.16.2"),
        (b"ghostty 1.1.3", "ghostty", "1.1.3"),
    ],
)
def test_parse_xtversion_forms(reply: bytes, name: str, version: str) -> None:
    answers = parse_answers(b"\x1bP>|" + reply + b"\x1b\\\x1b[?1;2c")
    assert (answers.name, answers.version) == (name, version)


def test_parse_a_kitty_error_reply_is_no_graphics() -> None:
    answers = parse_answers(b"\x1b_Gi=31;EINVAL:unsupported\x1b\\\x1b[?62c")
    assert not answers.kitty_graphics
    assert answers.complete


def test_parse_nothing_or_garbage() -> None:
    assert parse_answers(b"") == TerminalAnswers()
    assert not parse_answers(b"\x1b[?1;").complete


def test_probe_request_ends_with_da1_sentinel() -> None:
    # Every terminal answers DA1, so it comes last: its reply says all the others are in.
    request = probe_request()
    assert request.endswith(b"\x1b[c")
    assert b"\x1b[>0q" in request and b"\x1b_G" in request and b"\x1b[16t" in request


@pytest.mark.parametrize(
    ("text", "expected"),
    [("0.26.5", (0, 26, 5)), ("0.28.0", (0, 28, 0)), ("379", (379,)), ("", ()), ("x", ())],
)
def test_version_tuple(text: str, expected: tuple[int, ...]) -> None:
    assert version_tuple(text) == expected


def test_kitty_before_0_28_gets_direct_placements_not_placeholders() -> None:
    route = choose_route("auto", KITTY_0_26)
    assert route.protocol == "kitty-direct"
    assert "0.28" in route.reason


def test_kitty_forced_on_0_26_still_avoids_placeholders() -> None:
    assert choose_route("kitty", KITTY_0_26).protocol == "kitty-direct"


def test_kitty_0_28_and_later_gets_placeholders() -> None:
    assert choose_route("auto", KITTY_0_35).protocol == "kitty"
    at_0_28 = TerminalAnswers(name="kitty", version="0.28.0", kitty_graphics=True)
    assert choose_route("auto", at_0_28).protocol == "kitty"


def test_xterm_with_sixel_gets_sixel() -> None:
    assert choose_route("auto", XTERM_VT340).protocol == "sixel"


def test_unknown_terminal_answering_kitty_query_gets_direct_placements() -> None:
    # Konsole and WezTerm answer the query and draw direct placements, not placeholders.
    other = TerminalAnswers(name="WezTerm", version="20240203", kitty_graphics=True)
    assert choose_route("auto", other).protocol == "kitty-direct"


def test_sixel_wins_over_kitty_query_for_unknown_terminals() -> None:
    both = TerminalAnswers(name="Konsole", kitty_graphics=True, sixel=True)
    assert choose_route("auto", both).protocol == "sixel"


def test_silent_terminal_gets_halfcells() -> None:
    route = choose_route("auto", SILENT)
    assert route.protocol == "halfcell"
    assert route.reason


def test_explicit_settings_win() -> None:
    assert choose_route("halfcell", KITTY_0_35).protocol == "halfcell"
    assert choose_route("sixel", KITTY_0_35).protocol == "sixel"


def test_forced_kitty_on_a_silent_terminal_uses_direct_placements() -> None:
    # Direct placements are the protocol's baseline; placeholders only where known to work.
    assert choose_route("kitty", SILENT).protocol == "kitty-direct"


def test_xterm_cells_keep_a_square_picture_square_in_pixels() -> None:
    # The defect: 456×494 px for a 1024² picture in xterm's 6×13 cells.
    cols, rows = fit_box(1024, 1024, 200, 38, CellSize(6, 13))
    width_px, height_px = cols * 6, rows * 13
    assert abs(width_px / height_px - 1) < 0.02
    assert rows == 38  # the height is what limits it


def test_default_cells_keep_the_old_box() -> None:
    assert fit_box(1024, 1024, 80, 40, CellSize(10, 20)) == (80, 40)
    assert fit_box(1024, 1024, 200, 40, CellSize(10, 20)) == (80, 40)


@given(
    st.integers(16, 4096),
    st.integers(16, 4096),
    st.integers(4, 300),
    st.integers(2, 120),
    st.integers(4, 30),
    st.integers(8, 60),
)
def test_fit_box_stays_inside_and_keeps_the_aspect(
    image_w: int, image_h: int, cols: int, rows: int, cell_w: int, cell_h: int
) -> None:
    w, h = fit_box(image_w, image_h, cols, rows, CellSize(cell_w, cell_h))
    assert 1 <= w <= cols
    assert 1 <= h <= rows
    # Off by less than a column (rounded down) or half a row (rounded to the nearest).
    aspect = image_w / image_h
    if w > 1 and h > 1:
        low = (w * cell_w) / ((h + 0.5) * cell_h)
        high = ((w + 1) * cell_w) / ((h - 0.5) * cell_h)
        assert low <= aspect * (1 + 1e-9) and aspect <= high * (1 + 1e-9)
    # And it is the widest box that fits: one more column would need more rows than there are.
    assert w == cols or (w + 1) * cell_w > rows * cell_h * aspect


def test_detect_on_kitty_0_26_picks_direct_placements_and_its_cells() -> None:
    from krea_tui.tui import images

    answers = TerminalAnswers("kitty", "0.26.5", kitty_graphics=True, cell=CellSize(9, 19))
    try:
        assert images.detect_protocol("auto", {}, lambda: answers, is_tty=True) == "kitty-direct"
        assert images.cell_size() == CellSize(9, 19)
        route = images.last_route()
        assert route is not None and "0.28" in route.reason
        # KREA_TUI_IMAGES=kitty was the same defect: still no placeholders for 0.26.
        env = {"KREA_TUI_IMAGES": "kitty"}
        assert images.detect_protocol("auto", env, lambda: answers, is_tty=True) == "kitty-direct"
    finally:
        images.set_cell_size(DEFAULT_CELL)


def test_viewer_box_in_xterm_cells_is_square_in_pixels() -> None:
    # On main: 76×38 cells, 456×494 px, for a 1024² result in a 120×38 box.
    from krea_tui.tui import images

    images.set_cell_size(CellSize(6, 13))
    try:
        cols, rows = images.fit_cells(1024, 1024, 120, 38)
    finally:
        images.set_cell_size(DEFAULT_CELL)
    assert (cols, rows) == (82, 38)
    assert abs((cols * 6) / (rows * 13) - 1) < 0.02


def test_default_cells_give_the_boxes_the_app_always_gave() -> None:
    # Snapshots and layouts made with 10×20 cells stay as they were.
    def before(image_w: int, image_h: int, cols: int, rows: int) -> tuple[int, int]:
        aspect = image_w / max(1, image_h)
        width = min(cols, int(rows * 2 * aspect))
        height = max(1, round(width / (2 * aspect)))
        return max(1, width), min(rows, height)

    for size in [(1024, 1024), (768, 1024), (1344, 768), (64, 48)]:
        for cols in range(4, 200, 7):
            for rows in range(2, 70, 5):
                assert fit_box(*size, cols, rows, DEFAULT_CELL) == before(*size, cols, rows)


def test_doctor_names_the_route_and_why() -> None:
    from krea_tui.config import Settings
    from krea_tui.doctor import Probe, check_graphics

    probe = Probe(
        env={"TERM": "xterm-kitty"}, run=lambda _: None, which=lambda _: None, is_tty=True
    )
    route = choose_route("auto", KITTY_0_26)
    found = check_graphics(Settings(), probe, lambda _: route)
    assert found[0].level == "ok"
    assert "direct placements" in found[0].text and "kitty 0.26.5" in found[0].text
    assert found[1].fix is not None and "0.28" in found[1].fix

    sixel = choose_route("auto", XTERM_VT340)
    found = check_graphics(Settings(), probe, lambda _: sixel)
    assert [f.level for f in found] == ["ok"] and "Sixel" in found[0].text


def fake_terminal(reply: bytes | None) -> tuple[int, threading.Thread]:
    """A pty whose far end answers the probe like a terminal would (or never, for None);
    gives the near end, raw, as the app sees its tty."""
    master, slave = os.openpty()
    tty.setraw(slave)

    def answer() -> None:
        asked = b""
        while not asked.endswith(b"\x1b[c"):
            asked += os.read(master, 1024)
        if reply is not None:
            os.write(master, reply)

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    return slave, thread


def test_probe_reads_every_reply_up_to_da1_from_a_pty() -> None:
    reply = b"\x1bP>|kitty(0.26.5)\x1b\\\x1b_Gi=31;OK\x1b\\\x1b[6;20;9t\x1b[?62;c"
    near, thread = fake_terminal(reply)
    data = read_answers(near, near, timeout=5)
    thread.join(5)
    answers = parse_answers(data)
    assert (answers.name, answers.version, answers.cell) == ("kitty", "0.26.5", CellSize(9, 20))
    assert choose_route("auto", answers).protocol == "kitty-direct"


def test_probe_of_a_silent_terminal_ends_at_its_deadline() -> None:
    near, _ = fake_terminal(None)
    started = time.monotonic()
    data = read_answers(near, near, timeout=0.3)
    assert data == b""
    assert time.monotonic() - started < 2
    assert choose_route("auto", parse_answers(data)).protocol == "halfcell"
