"""Which columns the job table shows at a width, and how wide each is.

A column shows whole or not at all: a sliver headed `S` says nothing. The ID, the status and
the prompt (at `PROMPT_MIN`) always show. Then, strictly in this order while the width allows
(what does not fit keeps everything after it out, so columns appear in the same order as a
terminal widens): Ran, Model, Prog, Rate, the prompt grown to `PROMPT_FAIR` (what tells jobs
apart comes before more facts about them), Age, Cost, Seed, Size; a column the user hid is
skipped. `rate_first` puts Rate before Prog: the table asks for it when the progress bar
would be blank on every row shown (no job in view under way) and a job shown is rated or
picked, as after filtering by `rating:>=4`. What is left goes to the prompt up to
`PROMPT_EASY`, then to long model names, then to the prompt again. So at 80 cells the table is
what it always was (but for the stars of a judged, finished view), beside the detail pane at
160 it shows the rating (culling is done there), and a wide terminal adds age, cost, seed and
size instead of a 200-cell prompt. Pure: no widget, tested without a screen.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    key: str
    label: str
    width: int  # cells the content needs (the prompt's is its least)
    rank: int = 0  # 0: always shown; else the order optional columns get room in
    about: str = ""  # what the column picker says of it


# Left to right, as shown.
SPECS: tuple[ColumnSpec, ...] = (
    ColumnSpec("mark", "", 1),
    ColumnSpec("id", "ID", 8),
    ColumnSpec("status", "Status", 12),
    ColumnSpec("progress", "Prog", 6, 3, "a bar along the job's life"),
    ColumnSpec("prompt", "Prompt", 16),
    ColumnSpec("model", "Model", 12, 2, "the model's short name"),
    ColumnSpec("age", "Age", 4, 5, "since it was asked for, time held here included"),
    ColumnSpec("time", "Ran", 4, 1, "the server's time on it"),
    ColumnSpec("cost", "Cost", 7, 6, "the estimated price"),
    ColumnSpec("seed", "Seed", 10, 7, "the request's seed, whole"),
    ColumnSpec("size", "Size", 9, 8, "width × height, or the aspect ratio"),
    ColumnSpec("rating", "Rate", 6, 4, "the rating ★ and the pick ✔ or reject ✘"),
)
BY_KEY = {spec.key: spec for spec in SPECS}
OPTIONAL: tuple[str, ...] = tuple(
    spec.key for spec in sorted((s for s in SPECS if s.rank), key=lambda s: s.rank)
)
_WITHOUT_RATE = [key for key in OPTIONAL if key != "rating"]
_PROG_AT = _WITHOUT_RATE.index("progress")
# The same with Rate before Prog (`rate_first`).
RATE_FIRST: tuple[str, ...] = (*_WITHOUT_RATE[:_PROG_AT], "rating", *_WITHOUT_RATE[_PROG_AT:])
PROMPT_MIN = BY_KEY["prompt"].width
PROMPT_FAIR_RANK = 4  # where the prompt's growing to PROMPT_FAIR comes among the ranks
PROMPT_FAIR = 32  # enough of a prompt to tell jobs apart, before age, cost, seed and size
PROMPT_EASY = 48  # a prompt this wide reads well; past it, long model names come first
MODEL_MAX = 18  # the longest model name of the catalogue ("flux-1.1-pro-ultra")
SCROLLBAR = 2  # the vertical scrollbar's cells, kept free so no column hides under it
MARKERS = {False: "▲", True: "▼"}  # ascending, reversed: the sort column's header says which


@dataclass(frozen=True, slots=True)
class Shown:
    key: str
    label: str
    width: int


@dataclass(frozen=True, slots=True)
class Layout:
    columns: tuple[Shown, ...]
    no_room: tuple[str, ...] = ()  # optional columns wanted but without room at this width

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(column.key for column in self.columns)

    @property
    def labels(self) -> tuple[str, ...]:
        return tuple(column.label for column in self.columns)

    def width_of(self, key: str) -> int:
        return next(column.width for column in self.columns if column.key == key)

    def label_of(self, key: str) -> str:
        return next(column.label for column in self.columns if column.key == key)


def fit_columns(
    width: int,
    *,
    hidden: Collection[str] = (),
    sort: str | None = None,
    reverse: bool = False,
    padding: int = 1,
    rate_first: bool = False,
) -> Layout:
    """The columns for a table `width` cells wide, each cell padded by `padding` both sides.
    `sort` names the column the rows are sorted by (none for the queue's own order);
    `rate_first`: Rate gets room before Prog (the bar would be blank, the stars would not)."""
    labels = {spec.key: spec.label for spec in SPECS}
    widths = {spec.key: spec.width for spec in SPECS}
    if sort is not None and labels.get(sort):
        labels[sort] = f"{labels[sort]} {MARKERS[reverse]}"
        widths[sort] = max(widths[sort], len(labels[sort]))
    room = width - SCROLLBAR
    shown = {spec.key for spec in SPECS if not spec.rank}
    room -= sum(widths[key] + 2 * padding for key in shown)
    no_room: list[str] = []
    blocked = False  # something did not fit: everything after it stays out
    fair = False  # the prompt was given its fair width
    for key in RATE_FIRST if rate_first else OPTIONAL:
        if not fair and BY_KEY[key].rank > PROMPT_FAIR_RANK:
            fair = True
            grow = min(max(0, room), PROMPT_FAIR - widths["prompt"])
            widths["prompt"] += grow
            room -= grow
            blocked = blocked or widths["prompt"] < PROMPT_FAIR
        if key in hidden:
            continue
        need = widths[key] + 2 * padding
        if blocked or need > room:
            no_room.append(key)
            blocked = True
        else:
            shown.add(key)
            room -= need
    room = max(0, room)
    for key, most in (("prompt", PROMPT_EASY), ("model", MODEL_MAX), ("prompt", None)):
        if key in shown:
            grow = room if most is None else min(room, max(0, most - widths[key]))
            widths[key] += grow
            room -= grow
    columns = tuple(
        Shown(spec.key, labels[spec.key], widths[spec.key]) for spec in SPECS if spec.key in shown
    )
    return Layout(columns, tuple(no_room))
