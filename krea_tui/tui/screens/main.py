"""MainScreen: the live job table (filtered, sorted, marked), the detail pane and the status bar.

The queue is a UI-free model over the history (core/queue_model.py): this screen hands it the
engine's events, and the table, the status bar and the notifications draw what it says changed.
What the keys do to many jobs lives in `job_actions.JobActions`, to the table's own layout
(follow, newest first, columns) in `table_prefs.TablePrefs`; the view (filter, sort, grouping)
is set here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from krea_tui.core.events import (
    ConnectionEvent,
    DownloadEvent,
    EngineEvent,
    JobEvent,
    NoticeEvent,
    PreviewEvent,
    QueueEvent,
)
from krea_tui.core.job_order import SORT_KEYS, next_sort
from krea_tui.core.query import QUICK_STATUS, parse, with_status
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import QueueView
from krea_tui.core.store import StoredJob
from krea_tui.tui.notify import Channels, Notifier
from krea_tui.tui.screens.job_actions import JobActions
from krea_tui.tui.screens.keeper_actions import KeeperActions
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.screens.table_prefs import TablePrefs
from krea_tui.tui.widgets.filter_bar import FilterBar, FilterInput
from krea_tui.tui.widgets.job_detail import JobDetail
from krea_tui.tui.widgets.queue_table import QueueTable
from krea_tui.tui.widgets.status_bar import StatusBar, Summary

TIME_REFRESH_SECONDS = 2.0
SORT_WORDS = {"created": "queue order", "time": "run time"}
# Said above the table, not in a toast over its newest rows and the status bar; it goes at the
# first key or after a while (the status bar's DEMO stays).
DEMO_NOTE = "Demo: simulated pictures, nothing billed, a history of its own · n new job"
DEMO_NOTE_SECONDS = 20.0
OPENING = "Opening the history…"
# What works before the history is open (see MainScreen.check_action).
WITHOUT_HISTORY = frozenset({"new_job", "filter"})


def _moves_spend(event: EngineEvent) -> bool:
    """Whether `event` may change what is left to spend today (MainScreen._refresh_spend_left)."""
    if isinstance(event, QueueEvent):
        return True
    if isinstance(event, JobEvent):
        priced = event.job.cost_estimate is not None and event.old != event.new
        return event.new == "submitting" or priced
    return False


class MainScreen(KreaAccess, JobActions, KeeperActions, TablePrefs, Screen[None]):
    BINDING_GROUP_TITLE = "Jobs"
    # Keys typed before the first frame (a fast typist, a paste) go to the table: the hidden
    # filter input comes first in the DOM and would otherwise take them. Until the history is
    # open there is no table, and nothing has focus: the screen's keys still work.
    AUTO_FOCUS = "#jobs"
    DEFAULT_CSS = """
    MainScreen #panes { height: 1fr; }
    MainScreen #left { width: 3fr; min-width: 40; height: 1fr; }
    MainScreen QueueTable { height: 1fr; }
    MainScreen #opening { height: 1fr; padding: 1 2; color: $text-muted; }
    MainScreen JobDetail { width: 2fr; min-width: 30; border-left: solid $panel-lighten-2; }
    MainScreen.-narrow JobDetail { display: none; }
    MainScreen #demo-note {
        height: auto; display: none; padding: 0 1; background: $warning 25%; color: $text;
    }
    MainScreen.-demo-note #demo-note { display: block; }
    /* Toasts stand above the status bar: it says "paused" and the failed count, which a
       toast over its right end hid (Textual keeps them one line up, above the footer). */
    MainScreen ToastRack { margin-bottom: 2; }
    """
    BINDINGS = [
        Binding("n", "new_job", "New", id="new-job"),
        Binding("enter", "open_result", "Open", id="open-result"),
        Binding("slash", "filter", "Filter", id="filter"),
        Binding("space", "toggle_mark", "Mark", id="mark"),
        Binding("c", "cancel_job", "Cancel", id="cancel-job"),
        Binding("r", "rerun", "Retry", id="rerun"),
        Binding("t", "triage", "Triage", id="triage"),
        Binding("p", "toggle_queue", "Pause/Resume", id="toggle-queue"),
        Binding("R", "rerun_new_seed", "Re-run with new seeds", show=False, id="rerun-new-seed"),
        Binding("e", "edit_job", "Edit as new job", show=False, id="edit-job"),
        Binding("d", "toggle_detail", "Detail", show=False, id="toggle-detail"),
        Binding("y", "copy_id", "Copy ids", show=False, id="copy-job-id"),
        Binding("D", "download", "Save results", show=False, id="download"),
        Binding("x", "remove", "Remove from history", show=False, id="remove"),
        Binding("U", "enhance", "Enhance (upscale) results", show=False, id="table-enhance"),
        # Ratings (rating_keys): 1-4 are the quick views here, p pauses and x removes, so the
        # table rates after `*` and picks with + and -.
        Binding("asterisk", "rate", "Rate: * then 0–5", show=False, id="rate"),
        Binding("plus", "judge('pick', 1)", "Pick (again: unpick)", show=False, id="pick"),
        Binding("minus", "judge('pick', -1)", "Reject (again: undo)", show=False, id="reject"),
        Binding("X", "export", "Export shown results to a folder", show=False, id="export"),
        Binding("a", "compare", "A/B: narrow results down by pairs", show=False, id="compare"),
        Binding("1", "quick_view('all')", "Show all", show=False, id="view-all"),
        Binding("2", "quick_view('active')", "Show active", show=False, id="view-active"),
        Binding("3", "quick_view('failed')", "Show failed", show=False, id="view-failed"),
        Binding("4", "quick_view('done')", "Show done", show=False, id="view-done"),
        Binding("o", "sort_next", "Sort by next column", show=False, id="sort-next"),
        Binding("O", "sort_reverse", "Reverse the sort", show=False, id="sort-reverse"),
        Binding("N", "newest_first", "Newest first, or not (kept)", show=False, id="newest-first"),
        Binding("f", "toggle_follow", "Follow new jobs (⇣), or not", show=False, id="follow"),
        Binding("L", "choose_columns", "Choose columns (kept)", show=False, id="choose-columns"),
        Binding("B", "group_batches", "Group by batch", show=False, id="group-batch"),
        Binding("b", "contact_sheet", "Contact sheet", show=False, id="contact-sheet"),
        Binding("w", "save_view", "Save this view", show=False, id="save-view"),
        Binding("V", "recall_view", "Saved views", show=False, id="recall-view"),
        Binding("shift+down", "mark_move(1)", "Mark and go down", show=False, id="mark-down"),
        Binding("shift+up", "mark_move(-1)", "Mark and go up", show=False, id="mark-up"),
        Binding("v", "mark_range", "Mark a range (press twice)", show=False, id="mark-range"),
        Binding("A", "mark_all", "Mark all shown", show=False, id="mark-all"),
        Binding("I", "invert_marks", "Invert marks", show=False, id="mark-invert"),
        Binding("u", "clear_marks", "Clear marks", show=False, id="mark-clear"),
        Binding("K", "move_held(-1)", "Move held job up", show=False, id="held-up"),
        Binding("J", "move_held(1)", "Move held job down", show=False, id="held-down"),
        Binding("E", "edit_held", "Edit held job", show=False, id="edit-held"),
        Binding("C", "cancel_held_batch", "Cancel batch's held jobs", show=False, id="cancel-held"),
        Binding("escape", "clear_view", "Clear marks, then filter", show=False, id="clear-view"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self._summary = Summary()
        self._narrow = False
        self._mounted = False
        self.loaded = False
        # The queue as the table shows it: made once the history is open (`load`).
        self._model: QueueModel | None = None
        self._table: QueueTable | None = None
        self.notifier: Notifier | None = None
        self._anchor: str | None = None  # where `v` started a range
        self._detail_soon = False  # the detail pane is to follow the cursor after a frame

    @property
    def model(self) -> QueueModel:
        if self._model is None:
            raise RuntimeError("the history is not open yet")
        return self._model

    @property
    def table(self) -> QueueTable:
        if self._table is None:
            raise RuntimeError("the history is not open yet")
        return self._table

    def compose(self) -> ComposeResult:
        yield Static(DEMO_NOTE, id="demo-note")
        with Horizontal(id="panes"):
            with Vertical(id="left"):
                yield FilterBar(id="filter-bar")
                yield Static(OPENING, id="opening")
            yield JobDetail(id="detail")
        yield StatusBar(id="status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(StatusBar).summary = Summary(demo=self.krea.settings.demo)
        self.notifier = Notifier(self.app, Channels.from_settings(self.krea.settings))
        self.set_interval(TIME_REFRESH_SECONDS, self._refresh_times)
        self.load_table_prefs()
        if self.krea.settings.demo:
            self.add_class("-demo-note")
            self.set_timer(DEMO_NOTE_SECONDS, self._end_demo_note)
        self._apply_width(self.size.width)
        self._mounted = True
        if self.krea.ready:
            self.load()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # Until the history is open there is no table: the keys about jobs do nothing (the
        # footer shows them dimmed); a new job can be written meanwhile.
        if not self.loaded and action not in WITHOUT_HISTORY:
            return None
        return True

    def on_resize(self) -> None:
        self._apply_width(self.size.width)

    def on_screen_resume(self) -> None:
        if self.live:
            self.table.catch_up()

    def on_key(self, event: events.Key) -> None:
        self._end_demo_note()

    def _end_demo_note(self) -> None:
        self.remove_class("-demo-note")

    def _apply_width(self, width: int) -> None:
        # At 80 columns the table needs the whole width; the detail pane is one key away.
        if width and not self._narrow and width < 110:
            self._narrow = True
            self.add_class("-narrow")

    # -- engine → widgets ----------------------------------------------------------------------

    def load(self) -> None:
        """Open the queue once both the widgets and the engine exist. The model reads what the
        view shows a window at a time, so this costs the same for any length of history;
        events that arrived before are already in the store."""
        if self.loaded or not self._mounted or not self.krea.ready:
            return
        self.loaded = True
        bar = self.query_one(FilterBar)
        view = QueueView(query=parse(bar.input.value), reverse=self.newest_first)
        self._model = QueueModel(self.krea.store, now=self.krea.now, view=view)
        self._table = QueueTable(self._model, hidden=self.hidden_columns, id="jobs")
        opening = self.query_one("#opening")
        self.query_one("#left").mount(self._table, after=opening)
        opening.remove()
        if self.focused is None:
            self.set_focus(self._table)
        self.refresh_bindings()
        engine = self.krea.engine
        summary = self._model.summary
        self._set_summary(
            counts=dict(summary.counts),
            spend=dict(summary.spend),
            following=self._table.following,
            connection=engine.connection,
            paused=engine.paused,
            pause_reason=engine.pause_reason,
            spend_left=engine.spend_left_today(),
        )
        self._describe_view()
        self._show_current()

    def _set_summary(self, **changes: Any) -> None:
        self._summary = replace(self._summary, demo=self.krea.settings.demo, **changes)
        # A focus change or an engine event may come while the screen is torn down (quit,
        # a test ending): the bar may be gone already, and nothing is left to show.
        for bar in self.query(StatusBar):
            bar.summary = self._summary

    @property
    def live(self) -> bool:
        """Filled and not being torn down: timers and queued events may still fire on exit."""
        table = self._table
        return self.loaded and self.is_attached and table is not None and table.is_attached

    def handle_batch(self, events: Sequence[EngineEvent]) -> None:
        """Events the engine published together (a poll's changes), in order: the model takes
        them all, then the table, the status bar, the detail pane and the notifications
        follow once for the whole burst."""
        if not self.live:
            return
        model, table = self.model, self.table
        new_here = [e.job.local_id for e in events if isinstance(e, JobEvent) and self._new(e)]
        changes = model.apply(events)
        table.changed(changes)
        if not table.following and any(i in changes.entered for i in new_here):
            table.set_following(True)  # the user just sent it: show it, wherever it sorts
        assert self.notifier is not None
        for job in changes.ended:
            self.notifier.job_ended(job)
        for batch_id, outcome in changes.batches_ended.items():
            self.notifier.batch_ended(batch_id, outcome)
        if changes.summary:
            summary = model.summary
            self._set_summary(counts=dict(summary.counts), spend=dict(summary.spend))
        self._refresh_spend_left(events)
        current = table.current_id
        for event in events:
            self._say(event, current)
        if current is not None and (
            current in changes.cells or any(self._about(e, current) for e in events)
        ):
            self._show_current()

    def _refresh_spend_left(self, events: Sequence[EngineEvent]) -> None:
        """What `max_spend_per_day` leaves, asked of the history (one scan) once for a burst
        that may change it: a job being sent, a priced job changing status, or the queue
        paused or resumed; never per frame, never without the limit."""
        if self.krea.settings.max_spend_per_day is None:
            return
        if any(_moves_spend(event) for event in events):
            self._set_summary(spend_left=self.krea.engine.spend_left_today())

    def _new(self, event: JobEvent) -> bool:
        """A job this process just asked for (compose, re-run), not a script's elsewhere."""
        return event.old is None and event.new == "held" and self._sent_here(event.job)

    @staticmethod
    def _about(event: EngineEvent, local_id: str) -> bool:
        """Whether the detail pane of `local_id` shows what `event` changed (its preview,
        its saved files) that the row's cells do not."""
        if isinstance(event, (PreviewEvent, DownloadEvent)):
            return event.job.local_id == local_id
        return False

    def _say(self, event: EngineEvent, current: str | None) -> None:
        """What an event tells the user beyond the rows: the status bar, a toast."""
        if isinstance(event, DownloadEvent) and event.error:
            self.notify(f"saving {event.job.short_id} failed: {event.error}", severity="error")
        elif isinstance(event, QueueEvent):
            self._set_summary(paused=event.paused, pause_reason=event.reason)
            if event.paused and event.reason:
                self.krea.show_error("Queue paused", event.reason)
        elif isinstance(event, ConnectionEvent):
            self._set_summary(connection=event.state, connection_detail=event.detail)
            if event.state != "ok" and event.detail:
                wait = f" (retrying in {event.retry_in:.0f}s)" if event.retry_in else ""
                self.notify(f"{event.detail}{wait}", severity="warning", timeout=4)
        elif isinstance(event, NoticeEvent):
            self.notify(event.message, severity=event.severity)  # type: ignore[arg-type]

    def handle(self, event: EngineEvent) -> None:
        self.handle_batch([event])

    def _sent_here(self, job: StoredJob) -> bool:
        """Whether this process asked for `job` (compose, re-run), not a script elsewhere."""
        store = self.krea.store
        return bool(store.owner_of(job.local_id) == store.me)

    def _refresh_times(self) -> None:
        if not self.live:
            return
        self.table.refresh_times()

    @on(QueueTable.RowHighlighted, "#jobs")
    def _on_highlight(self) -> None:
        # The detail pane follows once the moved cursor is on screen: filling it asks for a
        # new layout (~15 ms at 120x40), which made the cursor's own frame wait for it. Keys
        # pressed faster than frames fill it once.
        if not self._detail_soon:
            self._detail_soon = True
            self.call_after_refresh(self._show_current_soon)

    def _show_current_soon(self) -> None:
        self._detail_soon = False
        if self.is_attached:
            self._show_current()

    @on(QueueTable.RowSelected, "#jobs")
    def _on_select(self) -> None:
        self.action_open_result()

    def _show_current(self) -> None:
        job = self.current_job()
        timeline = self.krea.store.timeline(job.local_id) if job else []
        preview = self.krea.engine.downloads.preview_path(job.local_id) if job else None
        # Lineage, read each time (one indexed lookup): a job just re-run gains a child
        # without an event of its own.
        children = self.krea.store.children(job.local_id) if job else []
        self.query_one(JobDetail).show(
            job, timeline, preview=preview, now=self.krea.now(), children=children
        )

    def current_job(self) -> StoredJob | None:
        if not self.krea.ready:
            return None
        local_id = self.table.current_id
        if local_id is None:
            return None
        try:
            return self.krea.store.get(local_id)
        except KeyError:
            return None

    # -- the view: filter, sort, grouping --------------------------------------------------------

    @on(QueueTable.FollowChanged)
    def _on_follow_changed(self, message: QueueTable.FollowChanged) -> None:
        self._set_summary(following=message.following)

    @on(QueueTable.HeaderSelected, "#jobs")
    def _on_header_clicked(self, event: QueueTable.HeaderSelected) -> None:
        """A click on a column's label sorts by it; a second click reverses."""
        key = event.column
        view = self.table.view
        if key not in SORT_KEYS:
            return
        reverse = not view.reverse if view.sort == key else False
        self.table.set_view(replace(view, sort=key, reverse=reverse))

    @on(QueueTable.ViewChanged)
    def _on_view_changed(self) -> None:
        if self.live:
            self._describe_view()

    def _describe_view(self, typing: bool | None = None, waiting: str | None = None) -> None:
        """The bar shows while typing, and whenever the view is not "every job": a user must
        always see why rows are missing, in what order they are, and what is marked.
        `waiting`: a filter typed that runs on Enter only (it reads every job)."""
        model = self.model
        view = model.view
        bar = self.query_one(FilterBar)
        info = Text()
        if waiting is not None:
            total = f"{model.summary.total:,}"
            info.append(f"Enter filters: reads all {total} jobs  ", style="bold yellow")
        info.append(f"{model.shown_count()} of {model.summary.total}", style="bold")
        if view.query.problems:
            info.append(f"  {view.query.problems[0]}", style="bold red")
        if view.sort == "created" and view.reverse:
            info.append("  newest first")
        elif view.sort != "created":
            arrow = "↓" if view.reverse else "↑"
            info.append(f"  sort {SORT_WORDS.get(view.sort, view.sort)} {arrow}")
        if view.group:
            info.append("  by batch")
        if model.marks:
            info.append(f"  {len(model.marks)} marked", style="bold yellow")
        bar.describe(info)
        typing = bar.input.has_focus if typing is None else typing
        bar.set_class(typing or not view.is_default or bool(model.marks), "-shown")

    @on(Input.Changed, "#filter-input")
    def _on_filter_typed(self, event: Input.Changed) -> None:
        if not self.live:
            return  # the history opens with what was typed (`load`)
        if self.model.filter_waits(event.value):
            self._describe_view(typing=True, waiting=event.value)  # Enter runs it
            return
        self.table.set_filter(event.value)
        self._describe_view(typing=True)

    @on(Input.Submitted, "#filter-input")
    def _on_filter_done(self, event: Input.Submitted) -> None:
        if self.live:
            self.table.set_filter(event.value)  # one that waited for Enter runs now
            self.set_focus(self.table)
            self._describe_view(typing=False)

    @on(FilterInput.Closed)
    def _on_filter_closed(self) -> None:
        if self.live:
            self.set_focus(self.table)
        self.set_filter("", typing=False)

    def set_filter(self, text: str, *, typing: bool | None = None) -> None:
        """Show `text` in the filter bar and filter by it (also what the quick keys do)."""
        bar = self.query_one(FilterBar)
        with bar.input.prevent(Input.Changed):
            bar.input.value = text
        if self.live:
            self.table.set_filter(text)
            self._describe_view(typing)

    def action_filter(self) -> None:
        bar = self.query_one(FilterBar)
        bar.add_class("-shown")
        if bar.input.value and not bar.input.value.endswith(" "):
            with bar.input.prevent(Input.Changed):
                bar.input.value += " "  # what is typed next is a new word, not part of the last
        # Focus now, not on the next tick (what .focus() does): keys typed right after the
        # slash (a paste, a fast typist over SSH) must land in the filter, not in the table.
        self.set_focus(bar.input)
        bar.input.cursor_position = len(bar.input.value)

    def action_quick_view(self, name: str) -> None:
        self.set_filter(with_status(self.table.view.query.text, QUICK_STATUS.get(name)))

    def action_sort_next(self) -> None:
        view = self.table.view
        self.table.set_view(replace(view, sort=next_sort(view.sort), reverse=False))

    def action_sort_reverse(self) -> None:
        view = self.table.view
        self.table.set_view(replace(view, reverse=not view.reverse))

    def action_group_batches(self) -> None:
        view = self.table.view
        self.table.set_view(replace(view, group=not view.group))

    def action_clear_view(self) -> None:
        if self.model.marks:
            self.table.clear_marks()
        elif not self.table.view.query.is_empty:
            self.set_filter("", typing=False)

    def action_contact_sheet(self) -> None:
        """The cursor's batch as a grid of results (the app's ContactSheet screen)."""
        opener = getattr(self.krea, "open_contact_sheet", None)
        if opener is not None and self.krea.ready:
            opener(self.table.current_batch)

    def action_toggle_detail(self) -> None:
        self.toggle_class("-narrow")
        self._narrow = self.has_class("-narrow")
