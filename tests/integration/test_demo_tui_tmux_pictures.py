"""Real pixels inside tmux: the real `krea-tui --demo` in a real tmux, its viewer drawn with
kitty's Unicode placeholders, and the cells read back from tmux's own grid (`capture-pane -e`)
and decoded as kitty would: every cell of the picture, in one rectangle of the pane, once,
with one image id in a 256-colour foreground. That is what tmux keeps and draws again when the
pane is switched back; the picture's data went to the terminal outside through passthrough.

Debian 12's kitty (0.26) draws no placeholders, so no screenshot can show them here: this
checks the stream, as the issue allows, and kitty 0.26 itself is routed to half-cells (the
unit tests of krea_tui.core.tmux_route).
"""

from __future__ import annotations

import re
from pathlib import Path

from krea_tui.core.kitty_placeholders import PLACEHOLDER, decode_cell
from krea_tui.core.placeholder_marks import MARKS
from tests.integration.demo_tui_support import (
    READY,
    DemoTerminal,
    compose_and_send,
    rows_done,
    until,
)
from tests.integration.test_demo_tui_killed import (  # noqa: F401 (fixtures)
    demo_env,
    terminal,
)

_SGR = re.compile(r"\x1b\[([\d;:]*)m")
_MARKS = {chr(mark) for mark in MARKS}


def placeholder_cells(capture: str) -> dict[tuple[int, int], list[tuple[int, int, int]]]:
    """(row, column, image id) of every placeholder cell, by its (line, column) in the pane,
    from `capture-pane -p -e` output (the foreground colour as SGR 38;5;N)."""
    found: dict[tuple[int, int], list[tuple[int, int, int]]] = {}
    for y, line in enumerate(capture.split("\n")):
        colour: int | None = None
        x = 0
        pos = 0
        while pos < len(line):
            sgr = _SGR.match(line, pos)
            if sgr:
                params = sgr.group(1).replace(":", ";").split(";")
                for n, param in enumerate(params):
                    if param == "38" and params[n + 1 : n + 2] == ["5"]:
                        colour = int(params[n + 2])
                    elif param in ("0", "39", ""):
                        colour = None
                pos = sgr.end()
                continue
            char = line[pos]
            pos += 1
            if char == PLACEHOLDER:
                cell = char
                while pos < len(line) and line[pos] in _MARKS:
                    cell += line[pos]
                    pos += 1
                decoded = decode_cell(cell, colour or 0)
                assert decoded is not None, f"a placeholder without its marks at {x},{y}"
                found.setdefault((y, x), []).append(decoded)
            x += 1
    return found


def test_the_viewer_inside_tmux_is_placeholder_text_that_tmux_keeps_in_place(
    terminal: DemoTerminal,  # noqa: F811 (the fixture)
) -> None:
    terminal.tmux("set-option", "-g", "allow-passthrough", "on")
    terminal.start_app("TERM=tmux-256color KREA_TUI_IMAGES=kitty")
    # The terminal probe left the pane's title alone (tmux takes an APC for a title).
    assert "Gi=" not in terminal.tmux("display-message", "-p", "#{pane_title}")
    compose_and_send(terminal, "paper boat, red", 1)

    def cells() -> dict[tuple[int, int], list[tuple[int, int, int]]]:
        return placeholder_cells(terminal.tmux("capture-pane", "-p", "-e"))

    def rows_of_cells() -> int:
        return len({y for y, _ in cells()})

    terminal.wait(lambda s: len(rows_done(s)) == 1, "the job done")
    results = Path(terminal.env["KREA_TUI_OUTPUT_DIR"])
    until(lambda: any(results.rglob("*.png")), "the result saved")
    # The detail pane may show it as a thumbnail, in placeholders too.
    thumbnail_rows = rows_of_cells()
    terminal.keys("Enter")
    # The viewer's picture fills the pane's height, unlike the detail pane's thumbnail.
    terminal.wait(lambda _: rows_of_cells() > thumbnail_rows + 4, "the viewer's placeholders")

    def whole() -> dict[tuple[int, int], list[tuple[int, int, int]]] | None:
        found = cells()
        ys = {y for y, _ in found}
        xs = {x for _, x in found}
        full = len(found) == (max(ys) - min(ys) + 1) * (max(xs) - min(xs) + 1)
        return found if found and full else None

    # A toast ("saved …") may cover a corner for its few seconds, as it covers any text.
    terminal.wait(lambda _: whole() is not None, "the whole picture, no toast over it")
    placed = whole() or {}
    ids = {image_id for at in placed.values() for (_, _, image_id) in at}
    assert len(ids) == 1 and next(iter(ids)) & 0xFF >= 16
    # One rectangle of the pane, each cell once, numbered from its top-left corner.
    top = min(y for y, _ in placed)
    left = min(x for _, x in placed)
    rows = max(y for y, _ in placed) - top + 1
    cols = max(x for _, x in placed) - left + 1
    assert len(placed) == rows * cols and rows > thumbnail_rows and cols >= 30
    for (y, x), at in placed.items():
        assert [(row, col) for row, col, _ in at] == [(y - top, x - left)]

    # Back in the table the viewer's cells are gone from tmux's grid (the detail pane may
    # show its own, smaller thumbnail, under another id).
    (viewer_id,) = ids
    terminal.keys("Escape")

    def viewer_gone(screen: str) -> bool:
        left = cells()
        return READY in screen and all(i != viewer_id for at in left.values() for *_, i in at)

    terminal.wait(viewer_gone, "the table, with the viewer's picture gone")
