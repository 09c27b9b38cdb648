"""What one line of the queue table shows, as a Strip: pure functions of the row, the columns
and the styles (queue_table.py decides which rows, and caches the lines)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from rich.console import Console
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.strip import Strip

from krea_tui.core.bulk import noun
from krea_tui.core.queue_view import GroupHeader
from krea_tui.tui.widgets.job_cells import MARK, Cell, batch_label
from krea_tui.tui.widgets.job_columns import Layout

PADDING = 1  # blank cells each side of a cell, as DataTable's cell_padding


def header_cells(row: GroupHeader, keys: Iterable[str], now: datetime) -> list[Cell]:
    """A batch's header: what kind of batch under the id, when it was sent under the status,
    then the count and the outcome (and a sweep's parameters) across the prompt."""
    kind, when, name = batch_label(row.batch_id, now)
    words = [noun(row.jobs), row.tally.words()]
    if name:
        words.insert(1, name)
    if row.marked:
        words.append(f"{row.marked} marked")
    cells: dict[str, Cell] = {
        "mark": MARK if row.marked and row.marked == row.jobs else "",
        "id": Text(f"━ {kind}", style="dim"),
        "status": Text(when, style="bold"),
        "prompt": Text(" · ".join(words), style="bold"),
    }
    return [cells.get(key, "") for key in keys]


def line_of(
    cells: Iterable[Cell], layout: Layout, base: Style, width: int, console: Console
) -> Strip:
    """The cells side by side, each cut or padded to its column, the line `width` cells."""
    line = Text(no_wrap=True, overflow="ellipsis")
    pad = " " * PADDING
    for cell, column in zip(cells, layout.columns, strict=True):
        text = cell.copy() if isinstance(cell, Text) else Text(cell)
        text.truncate(column.width, overflow="ellipsis", pad=True)
        line.append(pad)
        line.append_text(text)
        line.append(pad)
    strip = Strip(list(line.render(console))).apply_style(base)
    return strip.extend_cell_length(width, base).crop(0, width)


def over(strip: Strip, style: Style) -> Strip:
    """`strip` with `style` over every segment's own (the cursor's colours win)."""
    return Strip([Segment(text, (own or Style()) + style) for text, own, _ in strip]).simplify()
