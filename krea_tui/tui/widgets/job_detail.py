"""JobDetail: everything about the highlighted job — parameters, timeline, error, thumbnail."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from rich.table import Table
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from krea_tui.core.store import StoredJob, TimelineEntry, utcnow
from krea_tui.core.triage import state_durations, totals
from krea_tui.tui.images import UnreadablePicture, image_widget_class
from krea_tui.tui.status_style import status_text
from krea_tui.tui.thumbnails import load_fitted
from krea_tui.tui.worker_errors import ReportsWorkerFailures

THUMB_COLUMNS = 24  # the smallest box: what a 120×30 terminal's pane has always shown
THUMB_ROWS = 12


def parameters_table(job: StoredJob) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    table.add_row("model", job.model)
    if job.preset:
        table.add_row("preset", job.preset)
    if job.batch_id:
        table.add_row("batch", job.batch_id)
    for key, value in job.request.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        table.add_row(key, str(shown))
    if job.cost_estimate is not None:
        table.add_row("cost", f"{job.cost_estimate:g} {job.cost_unit or ''}".strip())
    table.add_row("local id", job.local_id)
    if job.remote_id:
        table.add_row("job id", job.remote_id)
    return table


# Children named in the detail pane at most; the rest are counted ("parent:ID" lists them all).
SHOWN_CHILDREN = 6


def lineage_text(job: StoredJob, children: Sequence[StoredJob]) -> Text:
    """The job it was made from and the jobs made from it, by short id: "parent 1a2b3c4d",
    "children 2: 5e6f7a8b (enhance, completed), 9c0d1e2f (failed)"."""
    lines: list[Text] = []
    if job.parent_id:
        parent = (job.parent_remote_id or job.parent_id)[:8]
        lines.append(Text.assemble(("parent ", "bold"), parent))
    if children:
        named = []
        for child in children[:SHOWN_CHILDREN]:
            kind = "enhance, " if child.model.startswith("enhance/") else ""
            named.append(f"{child.short_id} ({kind}{child.status})")
        more = len(children) - SHOWN_CHILDREN
        tail = f", … {more} more (filter parent:{job.short_id})" if more > 0 else ""
        lines.append(
            Text.assemble(("children ", "bold"), f"{len(children)}: {', '.join(named)}{tail}")
        )
    return Text("\n").join(lines)


def timeline_table(entries: list[TimelineEntry]) -> Table:
    table = Table.grid(padding=(0, 1))
    table.add_column(no_wrap=True, style="dim")
    table.add_column(no_wrap=True)
    start = entries[0].at if entries else None
    for entry in entries:
        offset = f"+{(entry.at - start).total_seconds():.1f}s" if start else ""
        label = status_text(entry.status)
        if entry.skipped:
            label = Text(f"{entry.status} (passed unseen)", style="dim italic")
        table.add_row(offset if not entry.skipped else "", label)
    return table


def time_in_states(entries: list[TimelineEntry], now: datetime) -> Text:
    """Where the job's time went, one state after another ("queued 2.0s · sampling 4.1s")."""
    spent = totals(state_durations(entries, now))
    parts = [f"{status} {seconds:.1f}s" for status, seconds in spent.items()]
    return Text(" · ".join(parts), style="dim") if parts else Text("")


class JobDetail(ReportsWorkerFailures, VerticalScroll):
    DEFAULT_CSS = """
    JobDetail { padding: 0 1; }
    JobDetail > .section { margin-bottom: 1; }
    JobDetail > #detail-thumb { margin-bottom: 1; }
    JobDetail > #detail-error { color: $error; }
    """

    def __init__(self, *, protocol: str | None = None, id: str | None = None) -> None:
        """`protocol`: how to draw the thumbnail; by default the app's, as the viewer does."""
        super().__init__(id=id)
        self._protocol = protocol
        self._shown: tuple[str, str, str] | None = None
        self._picture: Path | None = None
        self._box = (0, 0)  # the box the thumbnail was last asked for

    @property
    def protocol(self) -> str:
        if self._protocol is None:
            self._protocol = str(getattr(self.app, "image_protocol", "halfcell"))
        return self._protocol

    def compose(self) -> ComposeResult:
        yield Static("No job selected.", id="detail-title", classes="section")
        yield Static("", id="detail-error", classes="section")
        yield image_widget_class(self.protocol)(id="detail-thumb")
        yield Static("", id="detail-params", classes="section")
        lineage = Static("", id="detail-lineage", classes="section")
        lineage.display = False  # shown for a job with a parent or children
        yield lineage
        yield Static("", id="detail-timeline", classes="section")
        yield Static("", id="detail-spent", classes="section")

    def show(
        self,
        job: StoredJob | None,
        timeline: list[TimelineEntry],
        preview: Path | None = None,
        now: datetime | None = None,
        children: Sequence[StoredJob] = (),
    ) -> None:
        """Show `job`; its saved picture, or else the in-progress `preview` if there is one;
        `children`: the jobs made from it (lineage)."""
        if job is None:
            self.query_one("#detail-title", Static).update("No job selected.")
            for part in ("#detail-error", "#detail-params", "#detail-timeline", "#detail-spent"):
                self.query_one(part, Static).update("")
            self.query_one("#detail-lineage", Static).display = False
            return
        title = Text.assemble(
            (f"{job.short_id} ", "bold"), status_text(job.status), ("  ", ""), (job.prompt, "")
        )
        self.query_one("#detail-title", Static).update(title)
        error = f"{job.error_code}: " if job.error_code else ""
        self.query_one("#detail-error", Static).update(
            f"{error}{job.error_message}" if job.error_message else ""
        )
        self.query_one("#detail-params", Static).update(parameters_table(job))
        lineage = self.query_one("#detail-lineage", Static)
        lineage.update(lineage_text(job, children))
        lineage.display = bool(job.parent_id or children)
        self.query_one("#detail-timeline", Static).update(timeline_table(timeline))
        self.query_one("#detail-spent", Static).update(time_in_states(timeline, now or utcnow()))
        picture = job.files[0] if job.files else ""
        if not picture and preview is not None and preview.exists():
            picture = str(preview)
        key = (job.local_id, job.status, picture)
        if key != self._shown:
            self._shown = key
            self._picture = Path(picture) if picture else None
            self._box = self._thumb_box()
            self._load_thumbnail(self._picture, self._box)

    def _thumb_box(self) -> tuple[int, int]:
        """The cells the thumbnail may take: 24×12 grown evenly while the pane has room for
        it across and in two fifths of its height (so the parameters below stay in sight).
        Never less than 24×12, which is what an 80- or 120-column pane keeps."""
        width, height = self.scrollable_content_region.size
        grow = max(1.0, min((width - 1) / THUMB_COLUMNS, height * 2 / 5 / THUMB_ROWS))
        return int(THUMB_COLUMNS * grow), int(THUMB_ROWS * grow)

    def on_resize(self) -> None:
        box = self._thumb_box()
        if box != self._box and self._picture is not None:
            self._box = box
            self._load_thumbnail(self._picture, box)

    @work(thread=True, exclusive=True, group="thumbnail", exit_on_error=False)
    def _load_thumbnail(self, path: Path | None, box: tuple[int, int]) -> None:
        image = None
        cells = (0, 0)
        if path is not None and path.exists():
            try:
                image, cells = load_fitted(path, *box, self.protocol)
            except (OSError, UnreadablePicture):
                image = None  # removed meanwhile, broken, or a decompression bomb: no thumbnail
        self.app.call_from_thread(self._set_thumbnail, image, cells, path, box)

    def _set_thumbnail(
        self, image: object, cells: tuple[int, int], path: Path | None, box: tuple[int, int]
    ) -> None:
        if (path, box) != (self._picture, self._box):
            return  # decoded for a box or a picture since replaced: the newer one is coming
        thumb = self.query_one("#detail-thumb")
        # An explicit cell size: "auto" would size by pixels and stretch or crop.
        thumb.styles.width, thumb.styles.height = cells
        thumb.image = image  # type: ignore[attr-defined]
        thumb.display = image is not None
