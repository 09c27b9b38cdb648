"""ContactSheet: one batch's results side by side, laid out by the values its sweep walked.

Tiles are drawn the way the viewer draws (images.image_widget_class): real pixels in kitty and
Sixel terminals, half-cells elsewhere. A kitty tile is sent once and only placed again when
its cell is redrawn, and taken off the screen when the grid scrolls it away or another screen
covers the sheet (widgets/kitty_picture.py). Pictures are decoded in a thread through the same
LRU as the viewer, and the sheet fills in as engine events say a job moved or saved.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Grid, Vertical, VerticalScroll
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Label, Static

from krea_tui.core import ratings
from krea_tui.core.events import DownloadEvent, EngineEvent, JobEvent, PreviewEvent
from krea_tui.core.sheet import SheetLayout, counts, sheet_axes, sheet_layout, state_times
from krea_tui.core.store import StoredJob
from krea_tui.tui.images import UnreadablePicture, image_widget_class
from krea_tui.tui.messages import EngineEvents
from krea_tui.tui.rating_keys import judge, picture_bindings
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.status_style import status_text, word
from krea_tui.tui.thumbnails import load_fitted

HEADER_ROWS = 3  # title, counts, times
MIN_CELL, MAX_CELL = 20, 36  # columns per cell, border included: room for a status
MIN_PICTURE_ROWS = 6  # smaller says little; the grid scrolls instead
TIMES_REFRESH_SECONDS = 1.0
RESIZE_SETTLE_SECONDS = 0.15


def cell_size(screen: tuple[int, int], shape: tuple[int, int], row_head: int) -> tuple[int, int]:
    """(cell width, picture rows): as large as fits the screen, within reason; beyond that the
    grid scrolls. A picture of r rows is 2r columns wide: half-cells make square pixels."""
    width, height = screen
    rows, cols = max(1, shape[0]), max(1, shape[1])
    cell_w = max(MIN_CELL, min(MAX_CELL, (width - row_head - 2) // cols))
    picture_rows = (cell_w - 2) // 2
    room = height - HEADER_ROWS - 1 - 1  # footer, column headers
    if rows * (picture_rows + 3) > room:
        picture_rows = max(MIN_PICTURE_ROWS, room // rows - 3)
        cell_w = max(MIN_CELL, 2 * picture_rows + 2)  # no wider than its picture needs
    return cell_w, picture_rows


def fit_sheet(
    batch_id: str, jobs: list[StoredJob], size: tuple[int, int]
) -> tuple[SheetLayout, list[str], int, int, int]:
    """(layout, row labels, row-header width, cell width, picture rows) of the batch's sheet on
    a screen of `size` (the real-terminal test finds the tiles with it)."""
    # Without swept values, as many 24-column cells a row as the screen takes.
    columns = max(1, (size[0] - 2) // 24)
    layout = sheet_layout(jobs, sheet_axes(batch_id, jobs), columns=columns)
    row_head = 0
    row_labels = [_head(layout.row_axis, v, 18) for v in layout.row_labels]
    if any(row_labels):
        row_head = max(len(label) for label in row_labels) + 2
    cell_w, picture_rows = cell_size(size, layout.shape, row_head)
    return layout, row_labels, row_head, cell_w, picture_rows


class SheetCell(Vertical):
    """One job: its picture (or its status while there is none) and a line about it."""

    DEFAULT_CSS = """
    SheetCell { border: round $panel-lighten-2; height: auto; }
    SheetCell.-cursor { border: heavy $accent; }
    SheetCell > .picture-box { width: 1fr; align: center middle; }
    SheetCell > .picture-box > .waiting { width: 1fr; height: auto; max-height: 100%;
                                          text-align: center; color: $text-muted; }
    SheetCell > .caption { width: 1fr; height: 1; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def __init__(
        self, job: StoredJob, note: str, picture: tuple[int, int], protocol: str, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.job = job
        self.note = note
        self.picture_cells = picture  # (columns, rows) the picture may use
        self.protocol = protocol
        self.shown_path: str = ""  # the file whose picture is shown (or being decoded)

    def compose(self) -> ComposeResult:
        with Center(classes="picture-box") as box:
            box.styles.height = self.picture_cells[1]
            yield image_widget_class(self.protocol)(id="thumb")
            yield Static("", classes="waiting")
        yield Label("", classes="caption")

    def on_mount(self) -> None:
        self.query_one("#thumb").display = False
        self.show_job(self.job)

    def show_job(self, job: StoredJob) -> None:
        self.job = job
        caption = status_text(job.status)
        if job.status == "completed" and self.note:
            caption = Text("●", style="green")  # the picture says it is done; room for the note
        judged = ratings.label(job)
        if judged:
            caption = Text.assemble((judged, "bold yellow"), " ", caption)
        if self.note:
            caption.append(f" {self.note}", style="dim")
        self.query_one(".caption", Label).update(caption)
        waiting = self.query_one(".waiting", Static)
        waiting.update(status_text(job.status))
        if job.error_message:
            waiting.update(Text(f"{word(job.status)}: {job.error_message}", style="red"))

    def set_picture(self, image: Any, cells: tuple[int, int]) -> None:
        picture = self.query_one("#thumb")
        picture.styles.width, picture.styles.height = cells
        picture.image = image  # type: ignore[attr-defined]
        picture.display = True
        self.query_one(".waiting").display = False


class ContactSheet(KreaAccess, Screen[None]):
    BINDING_GROUP_TITLE = "Contact sheet"
    DEFAULT_CSS = """
    ContactSheet #sheet-head { height: auto; padding: 0 1; background: $panel; }
    ContactSheet #sheet-times { color: $text-muted; }
    ContactSheet #sheet-scroll { height: 1fr; }
    ContactSheet #sheet-grid { height: auto; grid-gutter: 0 0; }
    ContactSheet .head { height: 1; text-style: bold; text-wrap: nowrap; text-overflow: ellipsis;
                         content-align: center middle; }
    ContactSheet .row-head { height: 100%; content-align: right middle; padding-right: 1; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="sheet-back"),
        Binding("left,h", "move(0, -1)", "Left", show=False, id="sheet-left"),
        Binding("right,l", "move(0, 1)", "Right", show=False, id="sheet-right"),
        Binding("up,k", "move(-1, 0)", "Up", show=False, id="sheet-up"),
        Binding("down,j", "move(1, 0)", "Down", show=False, id="sheet-down"),
        Binding("home,g", "ends(False)", "First", show=False, id="sheet-first"),
        Binding("end,G", "ends(True)", "Last", show=False, id="sheet-last"),
        Binding("enter", "open", "Open", id="sheet-open"),
        Binding("t", "toggle_times", "Times", id="sheet-times"),
        Binding("u", "enhance(False)", "Enhance", id="sheet-enhance"),
        Binding("U", "enhance(True)", "Enhance all", show=False, id="sheet-enhance-all"),
        *picture_bindings("sheet"),  # 0-5 rate, p pick, x reject (rating_keys)
        Binding("a", "compare", "A/B", id="sheet-compare"),
    ]

    def __init__(self, batch_id: str, start: str | None = None) -> None:
        """`start`: the job to select first; by default the job under the main table's cursor,
        when it is one of this batch (else the first tile)."""
        super().__init__()
        self.batch_id = batch_id
        self._start = start
        self.sheet: SheetLayout | None = None
        self.cursor: tuple[int, int] = (0, 0)
        self._cells: dict[str, SheetCell] = {}
        self._jobs: dict[str, StoredJob] = {}
        self._times_dirty = True
        self._built_for: tuple[tuple[int, int], int, int] | None = None
        self._resize_timer: Timer | None = None

    # -- building ------------------------------------------------------------------------------

    def _fit(self) -> tuple[SheetLayout, list[str], int, int, int]:
        return fit_sheet(
            self.batch_id, list(self._jobs.values()), (self.app.size.width, self.app.size.height)
        )

    def compose(self) -> ComposeResult:
        if not self._jobs:
            jobs = self.krea.store.jobs(batch_id=self.batch_id)
            self._jobs = {job.local_id: job for job in jobs}
        axes = sheet_axes(self.batch_id, list(self._jobs.values()))
        layout, row_labels, row_head, cell_w, picture_rows = self._fit()
        self.sheet = layout
        self._built_for = (layout.shape, cell_w, picture_rows)
        self._picture = (cell_w - 2, picture_rows)
        self._cells = {}
        with Vertical(id="sheet-head"):
            yield Static(self._title(axes), id="sheet-title")
            yield Static("", id="sheet-counts")
            yield Static("", id="sheet-times")
        # Not focusable: the arrows move the selection (which scrolls into view), they do not
        # scroll the grid from under it. The mouse wheel still scrolls.
        with VerticalScroll(id="sheet-scroll", can_focus=False):
            yield from self._grid(layout, row_labels, row_head, cell_w)
        yield Footer()

    def _grid(
        self, layout: SheetLayout, row_labels: list[str], row_head: int, cell_w: int
    ) -> ComposeResult:
        """Headers across the top, one down the left (when rows have labels), then the cells."""
        n_rows, n_cols = layout.shape
        grid = Grid(id="sheet-grid")
        grid.styles.grid_size_columns = n_cols + (1 if row_head else 0)
        grid.styles.grid_size_rows = n_rows + 1
        columns = ([str(row_head)] if row_head else []) + [str(cell_w)] * n_cols
        grid.styles.grid_columns = " ".join(columns)
        grid.styles.grid_rows = " ".join(["1"] + [str(self._picture[1] + 3)] * n_rows)
        grid.styles.width = row_head + cell_w * n_cols
        with grid:
            if row_head:
                yield Static("", classes="head")
            for c, value in enumerate(layout.col_labels):
                label = _head(layout.col_axis, value, cell_w - 1)
                yield Static(label, classes="head", id=f"sheet-col-{c}")
            for r, line in enumerate(layout.cells):
                if row_head:
                    yield Static(row_labels[r], classes="head row-head", id=f"sheet-row-{r}")
                for c, local_id in enumerate(line):
                    if local_id is None:
                        yield Static("")
                        continue
                    note = layout.notes.get(local_id, "")
                    cell = SheetCell(
                        self._jobs[local_id],
                        note,
                        self._picture,
                        self.krea.image_protocol,
                        id=f"cell-{r}-{c}",
                    )
                    self._cells[local_id] = cell
                    yield cell

    def _title(self, axes: list[str]) -> Text:
        jobs = list(self._jobs.values())
        model = jobs[0].model if jobs else "?"
        shape = " × ".join(axes[:2]) if axes else "no swept parameters"
        return Text.assemble(
            ("Batch ", "bold"),
            (self.batch_id.split("+", 1)[0], "bold"),
            f" · {model} · {len(jobs)} jobs · {shape}",
        )

    def on_mount(self) -> None:
        self._after_build(self._start or self._table_job())
        self.set_interval(TIMES_REFRESH_SECONDS, self._refresh_head)

    def _after_build(self, keep: str | None) -> None:
        """Cursor on `keep` (or the first job), head filled, pictures decoded for this size."""
        places = [
            ((r, c), local_id)
            for r, line in enumerate(self.sheet.cells if self.sheet else ())
            for c, local_id in enumerate(line)
            if local_id is not None
        ]
        at = next((place for place, i in places if i == keep), places[0][0] if places else (0, 0))
        self._set_cursor(at)
        self._times_dirty = True
        self._refresh_head()
        self._load_pictures(list(self._jobs.values()))

    def _table_job(self) -> str | None:
        """The job under the main table's cursor (None on a header, or with no table), unless
        it is the sheet's last: the table sits on the newest job, the batch's last tile, and
        opened there the judging keys would have no next picture to move on to (a burst typed
        after `b` would judge that one over and over)."""
        from krea_tui.tui.screens.main import MainScreen

        main = self.app.screen_stack[0] if self.app.screen_stack else None
        if not (isinstance(main, MainScreen) and main.loaded):
            return None
        order = [i for line in (self.sheet.cells if self.sheet else ()) for i in line if i]
        return None if order and main.table.current_id == order[-1] else main.table.current_id

    def on_resize(self) -> None:
        # Rebuilt once the terminal settles (a drag sends many sizes), and only when the cells
        # would change: thumbnails sized for the old screen cut off or waste the new one.
        layout, _, _, cell_w, picture_rows = self._fit()
        if (layout.shape, cell_w, picture_rows) == self._built_for:
            return
        if self._resize_timer is not None:
            self._resize_timer.stop()
        self._resize_timer = self.set_timer(RESIZE_SETTLE_SECONDS, self._rebuild)

    async def _rebuild(self) -> None:
        self._resize_timer = None
        job = self.current_job()
        await self.recompose()
        self._after_build(job.local_id if job else None)

    # -- pictures ------------------------------------------------------------------------------

    def _picture_path(self, job: StoredJob) -> str:
        if job.files:
            return job.files[0]
        if self.krea.ready:
            preview = self.krea.engine.downloads.preview_path(job.local_id)
            if preview is not None and preview.exists():
                return str(preview)
        return ""

    def _load_pictures(self, jobs: list[StoredJob]) -> None:
        wanted: list[tuple[str, Path]] = []
        for job in jobs:
            cell = self._cells.get(job.local_id)
            path = self._picture_path(job)
            if cell is not None and path and path != cell.shown_path:
                cell.shown_path = path
                wanted.append((job.local_id, Path(path)))
        if wanted:
            self._decode(wanted, self._picture, self.krea.image_protocol)

    @work(thread=True, group="sheet-pictures", exit_on_error=False)
    def _decode(self, wanted: list[tuple[str, Path]], box: tuple[int, int], protocol: str) -> None:
        """Decode and scale off the event loop; each picture appears as soon as it is ready."""
        cols, rows = box
        for local_id, path in wanted:
            try:
                image, cells = load_fitted(path, cols, rows, protocol)
            except (OSError, UnreadablePicture):
                # Removed meanwhile, broken, or a decompression bomb: the cell keeps its
                # status, and the pictures after it are still drawn.
                continue
            self.app.call_from_thread(self._place, local_id, image, cells)

    def _place(self, local_id: str, image: Any, cells: tuple[int, int]) -> None:
        cell = self._cells.get(local_id)
        if cell is not None and cell.is_mounted:
            cell.set_picture(image, cells)

    # -- live updates --------------------------------------------------------------------------

    def on_engine_events(self, message: EngineEvents) -> None:
        for event in message.events:
            self._follow(event)

    def _follow(self, event: EngineEvent) -> None:
        if not isinstance(event, JobEvent | DownloadEvent | PreviewEvent):
            return
        local_id = event.job.local_id
        cell = self._cells.get(local_id)
        if cell is None:
            return
        try:
            job = self.krea.store.get(local_id)  # with its files: the event may predate them
        except KeyError:
            return
        self._jobs[local_id] = job
        self._times_dirty = True
        if cell.is_mounted:
            cell.show_job(job)
        self._load_pictures([job])
        self._refresh_counts()

    def _refresh_head(self) -> None:
        self._refresh_counts()
        running = any(not job.is_final for job in self._jobs.values())
        if not (self._times_dirty or running):
            return
        self._times_dirty = False
        store = self.krea.store
        timelines = {local_id: store.timeline(local_id) for local_id in self._jobs}
        parts: list[Any] = [("time in state, sum/median: ", "")]
        for entry in state_times(timelines, self.krea.now()):
            parts.append((f"{word(entry.status)} ", "bold"))
            parts.append(f"{_seconds(entry.total)}/{_seconds(entry.median)}  ")
        if len(parts) == 1:
            parts.append("nothing measured yet")
        self.query_one("#sheet-times", Static).update(Text.assemble(*parts))

    def _refresh_counts(self) -> None:
        text = Text()
        for status, n in counts(list(self._jobs.values())).items():
            text.append_text(status_text(status).append(f" {n}"))
            text.append("   ")
        self.query_one("#sheet-counts", Static).update(text)

    # -- actions -------------------------------------------------------------------------------

    def _set_cursor(self, at: tuple[int, int]) -> None:
        old = self.query(f"#cell-{self.cursor[0]}-{self.cursor[1]}")
        for cell in old:
            cell.remove_class("-cursor")
        self.cursor = at
        for cell in self.query(f"#cell-{at[0]}-{at[1]}"):
            cell.add_class("-cursor")
            # After the next layout: a sheet just built has no places to scroll to yet.
            scroll = self.query_one("#sheet-scroll", VerticalScroll)
            self.call_after_refresh(scroll.scroll_to_widget, cell, animate=False)

    def current_job(self) -> StoredJob | None:
        if self.sheet is None or not self.sheet.cells:
            return None
        local_id = self.sheet.cells[self.cursor[0]][self.cursor[1]]
        return self._jobs.get(local_id) if local_id else None

    def action_move(self, rows: int, cols: int) -> None:
        """One cell over, skipping empty ones; at the edge the cursor stays."""
        if self.sheet is None:
            return
        n_rows, n_cols = self.sheet.shape
        r, c = self.cursor
        while True:
            r, c = r + rows, c + cols
            if not (0 <= r < n_rows and 0 <= c < n_cols):
                return
            if self.sheet.cells[r][c] is not None:
                self._set_cursor((r, c))
                return

    def action_ends(self, last: bool) -> None:
        """To the first picture of the sheet, or its last, in reading order."""
        if self.sheet is None:
            return
        places = [
            (r, c)
            for r, line in enumerate(self.sheet.cells)
            for c, local_id in enumerate(line)
            if local_id is not None
        ]
        if places:
            self._set_cursor(places[-1] if last else places[0])

    def action_judge(self, kind: str, value: int) -> None:
        """Rate, pick or reject the picture under the cursor (again: take it back), then on to
        the next one in reading order (the next row's first at a row's end)."""
        job = self.current_job()
        if job is None or self.sheet is None:
            return
        changed = judge(self.krea, [job], (kind, value))
        for _, after in changed:  # the cell shows it now; the events come a tick later
            self._jobs[after.local_id] = after
            cell = self._cells.get(after.local_id)
            if cell is not None and cell.is_mounted:
                cell.show_job(after)
        places = [
            (r, c)
            for r, line in enumerate(self.sheet.cells)
            for c, local_id in enumerate(line)
            if local_id is not None
        ]
        at = places.index(self.cursor) if self.cursor in places else -1
        if at + 1 < len(places):
            self._set_cursor(places[at + 1])

    def action_compare(self) -> None:
        """A/B over this batch's saved results, in the sheet's order (screens/compare.py)."""
        from krea_tui.tui.screens.compare import CompareScreen

        order = [i for line in (self.sheet.cells if self.sheet else ()) for i in line if i]
        ids = [i for i in order if self._jobs[i].files]
        if len(ids) < 2:
            self.notify("A/B needs two saved results in the batch", timeout=3)
            return
        self.app.push_screen(CompareScreen(ids))

    def action_open(self) -> None:
        job = self.current_job()
        if job is None or self.sheet is None:
            return
        if not job.files:
            self.notify(f"{job.short_id} has no saved result yet ({word(job.status)})", timeout=3)
            return
        from krea_tui.tui.screens.viewer import ResultViewer

        # The viewer steps through this batch, in the sheet's order.
        order = [i for line in self.sheet.cells for i in line if i is not None]
        with_files = [i for i in order if self._jobs[i].files]
        self.app.push_screen(
            ResultViewer(with_files, job.local_id, protocol=self.krea.image_protocol)
        )

    def action_enhance(self, every: bool) -> None:
        """`u`: the picture under the cursor; `U`: every finished picture of the batch."""
        from krea_tui.tui.screens.enhance import enhance_jobs

        if every:
            local_ids = (
                list(self._jobs)
                if self.sheet is None
                else [i for line in self.sheet.cells for i in line if i is not None]
            )
            jobs = [self.krea.store.get(i) for i in local_ids]
            jobs = [job for job in jobs if job.status == "completed"]
        else:
            job = self.current_job()
            jobs = [self.krea.store.get(job.local_id)] if job is not None else []
        if not jobs:
            self.notify("No finished picture to enhance here yet", timeout=3)
            return
        enhance_jobs(self.krea, jobs)

    def action_toggle_times(self) -> None:
        times = self.query_one("#sheet-times")
        times.display = not times.display

    def action_back(self) -> None:
        self.dismiss()


def _head(axis: str | None, value: str, width: int) -> str:
    """A header: `guidance_scale_flux 3.5` where it fits, else `guidance 3.5`, else `3.5`;
    the value is what tells the cells apart, the name is in the title too."""
    if axis and value:
        for name in (axis, axis.split("_")[0]):
            if len(f"{name} {value}") <= width:
                return f"{name} {value}"
    return value[:width]


def _seconds(value: float) -> str:
    if value >= 120:
        return f"{value / 60:.1f}m"
    return f"{value:.1f}s"
