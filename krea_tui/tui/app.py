"""KreaApp: owns the engine for the app's lifetime and turns its events into messages.

The engine runs in one long-lived worker on the App (workers on a popped screen would be
cancelled). Every worker in the app runs with `exit_on_error=False`, and their failures all come
to `_on_worker_failed`: the engine's becomes a modal with the reason, any other a toast.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from textual import on, work
from textual.app import App
from textual.binding import Binding
from textual.driver import Driver

from krea_tui.config import Settings
from krea_tui.core.catalog import Catalog
from krea_tui.core.clipboard import ClipboardRouter
from krea_tui.core.engine import DRAIN_TIMEOUT, JobEngine
from krea_tui.core.events import EngineEvent, Subscription
from krea_tui.core.store import JobStore, StoredJob, utcnow
from krea_tui.runtime import Runtime, SetupError, open_runtime
from krea_tui.tui.commands import KreaCommands
from krea_tui.tui.hangup import quit_on_hang_up
from krea_tui.tui.key_order import KeysInOrder
from krea_tui.tui.messages import EngineEvents, EngineUpdate, RuntimeFailed, RuntimeReady
from krea_tui.tui.screens.main import MainScreen
from krea_tui.tui.screens.modals import MessageModal
from krea_tui.tui.terminal import TerminalWriter, writing_driver
from krea_tui.tui.worker_errors import ReportsWorkerFailures, WorkerFailed

RuntimeFactory = Callable[[Settings], Any]
# Engine events per EngineUpdate message at most (a 2 s poll brings ~600): between two parts,
# keys pressed meanwhile are handled and the screen may draw.
EVENTS_PER_MESSAGE = 250


class KreaApp(ReportsWorkerFailures, KeysInOrder[None]):
    TITLE = "krea-tui"
    COMMANDS = App.COMMANDS | {KreaCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True, id="quit-now"),
        Binding("f1,question_mark", "help", "Help", id="help"),
        Binding("ctrl+g", "gallery", "Gallery", show=False, id="gallery"),
    ]

    def get_driver_class(self) -> type[Driver]:
        # Textual's choice of driver, made to hand itself to `terminal_writer` (terminal.py):
        # desktop notifications are written through it, not through the App's private state.
        return writing_driver(super().get_driver_class())

    def __init__(
        self,
        settings: Settings,
        *,
        image_protocol: str = "halfcell",
        runtime_factory: RuntimeFactory = open_runtime,
        clock: Callable[[], datetime] = utcnow,
        warnings: Sequence[str] = (),
    ) -> None:
        self.terminal_writer = TerminalWriter()  # before App's init, which makes the driver class
        super().__init__()
        self.settings = settings
        self._startup_warnings = list(warnings)  # config problems: shown once the screen is up
        self.now = clock  # one time source, so snapshot tests can fix it
        self.image_protocol = image_protocol
        self._runtime_factory = runtime_factory
        self._quitting = False
        self.runtime: Runtime | None = None
        self._update_handled = asyncio.Event()  # set when an EngineUpdate has been applied
        self._restore_hang_up: Callable[[], None] = lambda: None

    # -- start-up ------------------------------------------------------------------------------

    def get_default_screen(self) -> MainScreen:
        return MainScreen()

    async def action_quit(self) -> None:
        """Quit; POSTs under way get a bounded wait for their answers first, so the jobs they
        created are known by id (a second quit does not wait)."""
        if self.runtime is not None and self.runtime.engine.sending and not self._quitting:
            self._quitting = True
            engine = self.runtime.engine
            self.notify(
                f"Waiting up to {DRAIN_TIMEOUT:.0f} s for {engine.sending} job(s) being sent to "
                "Krea; press q again to quit now (they are looked for at the next start)",
                title="Quitting",
                timeout=DRAIN_TIMEOUT,
            )
            await engine.drain(DRAIN_TIMEOUT)
        self.exit()

    def on_unmount(self) -> None:
        self._restore_hang_up()

    def _terminate(self) -> None:
        """SIGTERM or SIGHUP (a closed SSH session): quit as `q` does."""
        self.call_later(self.action_quit)

    def on_mount(self) -> None:
        loop = asyncio.get_running_loop()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signal.SIGTERM, self._terminate)
        self._restore_hang_up = quit_on_hang_up(loop, self._terminate)
        if self.settings.keymap:
            self.set_keymap(dict(self.settings.keymap))
        if self.settings.theme in self.available_themes:
            self.theme = self.settings.theme
        else:
            names = ", ".join(sorted(self.available_themes))
            self._startup_warnings.append(f"unknown theme {self.settings.theme!r}; one of {names}")
        for warning in self._startup_warnings:
            self.notify(warning, title="Config", severity="warning", timeout=12)
        self.sub_title = "demo: simulated results" if self.settings.demo else self.settings.base_url
        self._run_engine()

    @work(name="engine", group="engine", exit_on_error=False)
    async def _run_engine(self) -> None:
        try:
            async with self._runtime_factory(self.settings) as runtime:
                subscription = runtime.engine.subscribe()
                self.runtime = runtime
                self.post_message(RuntimeReady())
                await self._forward_events(subscription)
        except SetupError as exc:
            self.post_message(RuntimeFailed(str(exc)))

    async def _forward_events(self, subscription: Subscription) -> None:
        """Post the engine's events as they come, each message carrying every event that is
        already waiting. A poll publishes hundreds at once (all before this wakes up); one
        message per event made a key pressed meanwhile wait behind all of them."""
        queue = subscription.queue
        while True:
            event = await queue.get()
            if event is None:
                return  # the subscription was closed
            batch: list[EngineEvent] = [event]
            closed = False
            while not queue.empty():
                waiting = queue.get_nowait()
                if waiting is None:
                    closed = True
                    break
                batch.append(waiting)
            for start in range(0, len(batch), EVENTS_PER_MESSAGE):
                self._update_handled.clear()
                if not self.post_message(EngineUpdate(batch[start : start + EVENTS_PER_MESSAGE])):
                    return  # the app is closing
                # The next part goes once this one is applied: a key pressed meanwhile gets
                # in between, and what the engine publishes meanwhile joins the next message.
                await self._update_handled.wait()
            if closed:
                return

    @on(WorkerFailed)
    def _on_worker_failed(self, message: WorkerFailed) -> None:
        """The one place a failed worker is reported, wherever it ran (worker_errors.py)."""
        worker = message.worker
        if worker.group == "engine":
            self.post_message(RuntimeFailed(f"the job engine stopped: {worker.error}"))
            return
        self.log.error(message.summary)
        self.notify(message.summary, title="Error", severity="error", timeout=12)

    @property
    def ready(self) -> bool:
        return self.runtime is not None

    @property
    def store(self) -> JobStore:
        assert self.runtime is not None
        return self.runtime.store

    @property
    def engine(self) -> JobEngine:
        assert self.runtime is not None
        return self.runtime.engine

    @property
    def catalog(self) -> Catalog:
        assert self.runtime is not None
        return self.runtime.catalog

    def _main(self) -> MainScreen:
        screen = self.screen_stack[0]
        assert isinstance(screen, MainScreen)
        return screen

    @on(RuntimeReady)
    def _on_ready(self) -> None:
        self._main().load()  # demo mode is said above the table (MainScreen), not in a toast

    @on(EngineUpdate)
    def _on_engine_update(self, message: EngineUpdate) -> None:
        try:
            if not self.screen_stack:
                return  # shutting down: events still queued (downloads ending) have nowhere to go
            self._main().handle_batch(message.events)
            for screen in self.screen_stack:
                if not isinstance(screen, MainScreen):
                    screen.post_message(EngineEvents(message.events))
        finally:
            self._update_handled.set()  # the engine worker may send the next part

    @on(RuntimeFailed)
    def _on_failed(self, message: RuntimeFailed) -> None:
        self.runtime = None
        self.show_error("krea-tui cannot run the job engine", message.reason)

    # -- things screens ask for ----------------------------------------------------------------

    def show_error(self, title: str, message: str) -> None:
        self.push_screen(MessageModal(title, message))

    # The one place that decides where copies go (doctor asks it too); tests give it a fake tmux.
    clipboard_router: ClipboardRouter = ClipboardRouter()

    def copy(self, text: str, what: str) -> None:
        """Copy `text` along the clipboard route; the toast says where it went, and why not
        to the clipboard when it did not get there."""
        self._copy_along_route(text, what)

    @work(group="clipboard", exit_on_error=False)
    async def _copy_along_route(self, text: str, what: str) -> None:
        # Asking tmux and feeding it (or xclip) are subprocesses: kept off the event loop.
        copied = await asyncio.to_thread(self.clipboard_router.copy, text)
        if copied.route.osc52:
            self.copy_to_clipboard(text)
        if copied.reached_clipboard:
            self.notify(copied.message(what, text), timeout=4)
        else:
            self.notify(copied.message(what, text), severity="warning", timeout=12)

    def open_compose(
        self,
        *,
        model: str | None = None,
        request: Mapping[str, Any] | None = None,
        parent: str | None = None,
    ) -> None:
        """The compose form, blank or filled from `request`; `parent`: the local id of the job
        it was opened from (edit, use as input), which the jobs it sends record (lineage)."""
        if not self.ready:
            self.notify("The engine is not running yet.", severity="warning")
            return
        from krea_tui.tui.screens.compose import ComposeScreen

        if model is not None and model not in self.catalog:
            self.notify(f"{model} is not in the model catalogue; using the default", timeout=4)
            model, request = None, None
        elif model is not None and self.catalog.get(model).kind != "image":
            # The form lists image models only: an upscaler's request has no place in it.
            self.notify(
                f"{model} made an enhance job, not a picture: opening the default image model",
                timeout=4,
            )
            model, request = None, None
        self.push_screen(ComposeScreen(model=model, request=request, parent=parent))

    def open_viewer(self, local_id: str) -> None:
        from krea_tui.tui.screens.viewer import ResultViewer

        with_results = self.store.ids_with_files()
        self.push_screen(ResultViewer(with_results, local_id, protocol=self.image_protocol))

    def open_contact_sheet(self, batch_id: str | None) -> None:
        """The batch's results as a grid (screens/contact_sheet.py)."""
        if not self.ready:
            self.notify("The engine is not running yet.", severity="warning")
            return
        if not batch_id or not self.store.jobs(batch_id=batch_id, limit=1):
            self.notify("This job is not part of a batch: nothing to lay out", timeout=3)
            return
        from krea_tui.tui.screens.contact_sheet import ContactSheet

        self.push_screen(ContactSheet(batch_id))

    action_open_contact_sheet = open_contact_sheet

    def submit(
        self,
        model: str,
        bodies: Sequence[Mapping[str, Any]],
        *,
        preset: str | None = None,
        parents: Sequence[str | None] | None = None,
    ) -> list[StoredJob]:
        """Queue `bodies`; `parents`: each body's parent job, when made from one (lineage)."""
        from krea_tui.core.submit import Order

        # Several jobs from one form share a batch id, so the contact sheet (b) can show them.
        order = Order(model, bodies, preset, parents=parents)
        jobs = self.engine.submit(self.catalog, [order], now=self.now())
        noun = "job" if len(jobs) == 1 else "jobs"
        self.notify(f"Queued {len(jobs)} {noun} for {model}", timeout=3)
        return jobs

    def resend(
        self,
        jobs: Sequence[StoredJob],
        *,
        new_seed: bool,
        what: str = "",
        note: str = "",
        sent: Callable[[], None] | None = None,
    ) -> None:
        """Send the jobs' requests again as new jobs (one batch, each recording its parent),
        once the user has seen what they cost: from the table (r, R, one job or many) and from
        the viewer and triage alike. `what` names the jobs in the question ("3 jobs" unless
        given), `note` is added to it; `sent` runs once they are queued."""
        from krea_tui.core import bulk
        from krea_tui.tui.screens.modals import ConfirmModal

        if not any(job.model in self.catalog and job.request for job in jobs):
            what = jobs[0].short_id if len(jobs) == 1 else "these jobs"
            self.notify(
                f"{what}: imported from the server; the request is not known here",
                severity="warning",
            )
            return

        def answered(ok: bool | None) -> None:
            if not ok:
                return
            queued, skipped = bulk.requeue(self.engine, self.catalog, jobs, new_seed=new_seed)
            if sent is not None:
                sent()
            text = f"Queued {bulk.noun(len(queued))}"
            if len(queued) > 1 and queued[0].batch_id:
                text += f" as batch {queued[0].batch_id}"
            if skipped:
                text += f"; {skipped} imported without a known request were skipped"
            self.notify(text, severity="warning" if skipped else "information", timeout=5)

        how = "with a new seed" if new_seed else "with the same request"
        if new_seed and len(jobs) > 1:
            how = "with new seeds"
        cost = bulk.resend_cost(self.catalog, jobs)
        question = f"Send {what or bulk.noun(len(jobs))} again {how}{note}? {cost}."
        self.push_screen(ConfirmModal(question, "Send again", "Keep"), answered)

    def toggle_queue(self) -> None:
        if self.engine.paused:
            self.engine.resume()
            self.notify("Local queue running", timeout=2)
        else:
            self.engine.pause()  # no reason: nothing went wrong, so no modal
            self.notify("Local queue paused: held jobs wait; sent jobs keep running", timeout=3)

    @work(group="import", exclusive=True, exit_on_error=False)
    async def import_from_server(self) -> None:
        """Jobs this token made elsewhere join the table (they arrive as engine events)."""
        from krea_tui.core.errors import KreaError

        if not self.ready:
            return
        self.notify("Importing jobs from the server…", timeout=2)
        try:
            imported = await self.engine.import_remote()
        except KreaError as exc:
            self.notify(f"Import failed: {exc.message}", severity="error", timeout=8)
            return
        self.notify(f"Imported {len(imported)} job(s) made elsewhere", timeout=4)

    def action_gallery(self) -> None:
        """Every result the table's filter matches, as thumbnails (screens/gallery.py)."""
        from krea_tui.tui.screens.gallery import open_gallery

        open_gallery(self)

    def action_help(self) -> None:
        from krea_tui.tui.screens.help import HelpScreen

        self.push_screen(HelpScreen())
