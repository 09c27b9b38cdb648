"""CompareScreen: A/B, two results at a time, a batch narrowed down by pairs (core/compare).

Side by side, or one over the other when the terminal is narrow (taller than wide: see
`stacked`); `space` flips between the
two in place (one picture, the whole area, A then B then A…), which shows small differences
side by side hides. Below: only the parameters whose values differ. A choice (`←`/`h` A,
`→`/`l` B, `enter` the one flipped to) picks the winner and takes a pick the loser had (it
lost to a better one: not a reject); the winner stays where it is and the next picture comes
up in the loser's place. `n`: neither, the next picture instead of the challenger. When one is
left, it is the keeper, and the screen closes. Pictures are half-cells, decoded off the event
loop through the viewer's LRU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Container, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static

from krea_tui.core import ratings
from krea_tui.core.compare import Duel, request_diff
from krea_tui.core.store import StoredJob
from krea_tui.tui.images import SCALED, UnreadablePicture, fit_cells
from krea_tui.tui.rating_keys import publish
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.widgets.halfcell import HalfcellPicture

AROUND = 10  # rows of the screen that are not pictures: head, captions, borders, diff, footer


def stacked(width: int, height: int) -> bool:
    """Whether two pictures one over the other come out larger than side by side: a cell is
    about twice as tall as wide (a half-cell is a square pixel), so only a terminal much
    taller than wide (a narrow tmux pane) stacks them."""
    rows = max(1, height - AROUND)
    side_by_side = min(width / 2, 2 * rows)  # a square picture's side, in half-cell pixels
    one_over_other = min(width, rows)  # (rows / 2 rows each, 2 pixels a row)
    return one_over_other > side_by_side


SIDES = ("A", "B")


class CompareScreen(KreaAccess, Screen[None]):
    BINDING_GROUP_TITLE = "A/B"
    DEFAULT_CSS = """
    CompareScreen #compare-head { height: 1; padding: 0 1; background: $panel; }
    CompareScreen #panes { layout: horizontal; height: 1fr; }
    CompareScreen.-stacked #panes { layout: vertical; }
    CompareScreen .pane { width: 1fr; height: 1fr; border: round $panel-lighten-2; }
    CompareScreen .pane.-shown { border: heavy $accent; }
    CompareScreen .picture-box { width: 1fr; height: 1fr; align: center middle; }
    CompareScreen .caption { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    CompareScreen #compare-diff { height: auto; max-height: 8; padding: 0 1; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="compare-back"),
        Binding("left,h,up,k", "choose(0)", "A wins", id="compare-a"),
        Binding("right,l,down,j", "choose(1)", "B wins", id="compare-b"),
        Binding("space", "flip", "Flip", id="compare-flip"),
        Binding("enter", "choose_shown", "This one wins", show=False, id="compare-shown"),
        Binding("s", "side_by_side", "Side by side", show=False, id="compare-side"),
        Binding("n", "skip", "Neither", id="compare-skip"),
    ]

    def __init__(self, local_ids: list[str]) -> None:
        super().__init__()
        self.duel = Duel(local_ids)
        self.flipped: int | None = None  # which one flip mode shows; None: both
        self._shown: list[str] = ["", ""]  # the file each picture shows (or is decoding)
        self._total = len(local_ids)
        self.diff_rows: list[tuple[str, str, str]] = []  # what the table below says

    def compose(self) -> ComposeResult:
        yield Static("", id="compare-head")
        with Container(id="panes"):
            for side in (0, 1):
                with Vertical(classes="pane", id=f"pane-{side}"):
                    with Center(classes="picture-box", id=f"box-{side}"):
                        yield HalfcellPicture(id=f"picture-{side}")
                    yield Label("", classes="caption", id=f"caption-{side}")
        yield Static("", id="compare-diff")
        yield Footer()

    def on_mount(self) -> None:
        self.set_class(stacked(*self.app.size), "-stacked")
        self._show_pair()

    def on_resize(self) -> None:
        self.set_class(stacked(*self.app.size), "-stacked")
        self._shown = ["", ""]
        self.call_after_refresh(self._load_pictures)

    # -- showing -------------------------------------------------------------------------------

    def _job(self, local_id: str) -> StoredJob | None:
        try:
            return self.krea.store.get(local_id)
        except KeyError:
            return None

    def _show_pair(self) -> None:
        pair = self.duel.pair
        if pair is None:
            return
        jobs = [self._job(local_id) for local_id in pair]
        done = self._total - self.duel.left - 1
        self.query_one("#compare-head", Static).update(
            Text.assemble(
                ("A/B ", "bold"),
                f"choice {done + 1} of {self._total - 1} · ",
                ("←", "bold"),
                " A wins · ",
                ("→", "bold"),
                " B wins · ",
                ("space", "bold"),
                " flip · ",
                ("n", "bold"),
                " neither",
            )
        )
        for side, job in enumerate(jobs):
            caption = Text.assemble((f" {SIDES[side]} ", "reverse bold"))
            if job is not None:
                judged = ratings.label(job)
                caption.append(f" {job.short_id}")
                if judged:
                    caption.append(f" {judged}", style="bold yellow")
                caption.append(f" · {job.prompt}", style="dim")
            self.query_one(f"#caption-{side}", Label).update(caption)
        a, b = jobs
        self.diff_rows = (
            [] if a is None or b is None else request_diff(a.model, a.request, b.model, b.request)
        )
        self.query_one("#compare-diff", Static).update(self._diff(self.diff_rows))
        self._apply_flip()
        self.call_after_refresh(self._load_pictures)

    @staticmethod
    def _diff(rows: list[tuple[str, str, str]]) -> Any:
        if not rows:
            return Text("The two requests are the same: only chance tells them apart", "dim")
        table = Table(box=None, show_header=True, padding=(0, 2), header_style="bold")
        table.add_column("differs")
        table.add_column("A")
        table.add_column("B")
        for name, left, right in rows:
            table.add_row(name, left[:60], right[:60])
        return table

    def _apply_flip(self) -> None:
        for side in (0, 1):
            pane = self.query_one(f"#pane-{side}")
            pane.display = self.flipped is None or self.flipped == side
            pane.set_class(self.flipped == side, "-shown")

    def _load_pictures(self) -> None:
        pair = self.duel.pair
        if pair is None or not self.is_attached:
            return
        wanted: list[tuple[int, Path, tuple[int, int]]] = []
        for side, local_id in enumerate(pair):
            if self.flipped is not None and self.flipped != side:
                continue
            job = self._job(local_id)
            box = self.query_one(f"#box-{side}")
            size = (max(4, box.size.width), max(2, box.size.height))
            path = job.files[0] if job is not None and job.files else ""
            key = f"{path}@{size}"
            if path and key != self._shown[side]:
                self._shown[side] = key
                wanted.append((side, Path(path), size))
        if wanted:
            self._decode(wanted)

    @work(thread=True, group="compare-pictures", exit_on_error=False)
    def _decode(self, wanted: list[tuple[int, Path, tuple[int, int]]]) -> None:
        for side, path, (cols, rows) in wanted:
            try:
                image = SCALED.load(path, cols, rows * 2)
            except (OSError, UnreadablePicture):
                continue
            cells = fit_cells(image.width, image.height, cols, rows)
            self.app.call_from_thread(self._place, side, image, cells)

    def _place(self, side: int, image: Any, cells: tuple[int, int]) -> None:
        if not self.is_attached:
            return
        picture = self.query_one(f"#picture-{side}", HalfcellPicture)
        picture.styles.width, picture.styles.height = cells
        picture.image = image

    # -- actions -------------------------------------------------------------------------------

    def action_flip(self) -> None:
        self.flipped = 0 if self.flipped is None else 1 - self.flipped
        self._apply_flip()
        self.call_after_refresh(self._load_pictures)

    def action_side_by_side(self) -> None:
        self.flipped = None
        self._apply_flip()
        self.call_after_refresh(self._load_pictures)

    def action_choose_shown(self) -> None:
        if self.flipped is None:
            self.notify("Side by side: ← or → says which wins (space flips)", timeout=3)
            return
        self.action_choose(self.flipped)

    def action_choose(self, side: int) -> None:
        if self.duel.pair is None:
            return
        winner, loser = self.duel.choose(side)
        store = self.krea.store
        changed = ratings.set_pick(store, [winner], ratings.PICK)
        lost = self._job(loser)
        if lost is not None and lost.pick == ratings.PICK:
            changed += ratings.set_pick(store, [loser], None)
        publish(self.krea, changed)
        self._next()

    def action_skip(self) -> None:
        self.duel.skip()
        self._next()

    def _next(self) -> None:
        if self.duel.done:
            kept = self.duel.kept
            job = self._job(kept) if kept else None
            if job is not None:
                if job.pick != ratings.PICK:
                    publish(self.krea, ratings.set_pick(self.krea.store, [kept or ""], 1))
                self.notify(f"{job.short_id} is the keeper (picked)", timeout=4)
            self.dismiss()
            return
        self.flipped = None
        self._shown = ["", ""]
        self._show_pair()

    def action_back(self) -> None:
        self.dismiss()


def compare_ids(krea: Any, local_ids: list[str]) -> list[str]:
    """Of `local_ids`, those with a saved picture, in the same order."""
    kept: list[str] = []
    for local_id in local_ids:
        try:
            job = krea.store.get(local_id)
        except KeyError:
            continue
        if job.files:
            kept.append(local_id)
    return kept
