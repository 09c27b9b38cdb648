"""TrainStyleModal: train a style (LoRA) from a folder of pictures, from the styles screen.

The form asks what `krea-tui train-style` does: a name, the folder (path completion), the model
and type, a trigger word and the steps. Below it, what will be sent and its price (steps ×
compute units, the only training price Krea publishes) follow every change. ctrl+s sends:
the pictures are uploaded as assets (once each; progress in the usual notices), then the
training joins the queue as a job like any other (core/styles.py). It takes 15-45 minutes on
the real service; when it completes, its style is listed under "mine" on the styles screen.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from krea_tui.core.assets import NO_TRAINING_UNDER_ZDR, InputProblem
from krea_tui.core.errors import KreaError
from krea_tui.core.styles import (
    DEFAULT_TRAIN_STEPS,
    TRAIN_MODEL,
    TRAIN_MODELS,
    TRAIN_TYPES,
    StyleProblem,
    TrainingPricing,
    training_body,
    training_pictures,
    training_summary,
)
from krea_tui.core.submit import Order
from krea_tui.tui.path_suggester import PathSuggester
from krea_tui.tui.worker_errors import ReportsWorkerFailures

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp


# How long the folder field must rest before its folder is looked at (each picture is opened).
SCAN_DELAY = 0.15


class TrainStyleModal(ReportsWorkerFailures, ModalScreen[dict[str, Any] | None]):
    """Dismissed with the training's settings (`plan`), or None; `start_training` sends it.

    The folder is looked at (every file opened for its first bytes) only when the folder field
    changes, in a thread, once the field rests; other fields replan from what it found."""

    DEFAULT_CSS = """
    TrainStyleModal { align: center middle; }
    TrainStyleModal > Vertical {
        width: 80; height: auto; border: round $accent; background: $surface; padding: 0 1;
    }
    TrainStyleModal .title { text-style: bold; margin-bottom: 1; }
    TrainStyleModal Grid { grid-size: 2; grid-columns: 12 1fr; height: auto; grid-rows: 1; }
    TrainStyleModal Grid > Label { padding-right: 1; }
    TrainStyleModal #train-summary { margin-top: 1; height: auto; }
    TrainStyleModal #train-keys { color: $text-muted; }
    """
    BINDINGS = [
        Binding("ctrl+s", "send", "Train", priority=True, id="train-send"),
        Binding("escape", "close", "Close", id="train-close"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.plan: dict[str, Any] | None = None
        self.pictures: list[Path] = []
        self.summary = ""
        self._folder = ""  # the folder field's text the scan below is of
        self._scan: list[Path] | StyleProblem | None = None  # None: being looked at

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Train a style from a folder of pictures", classes="title")
            with Grid():
                yield Label("Name")
                yield Input(id="train-name", compact=True)
                yield Label("Folder")
                yield Input(id="train-folder", compact=True, suggester=PathSuggester())
                yield Label("Model")
                yield Select(
                    [(m, m) for m in TRAIN_MODELS],
                    value=TRAIN_MODELS[0],
                    id="train-model",
                    allow_blank=False,
                    compact=True,
                )
                yield Label("Type")
                yield Select(
                    [(t, t) for t in TRAIN_TYPES],
                    id="train-type",
                    prompt="the service's default",
                    compact=True,
                )
                yield Label("Trigger")
                yield Input(id="train-trigger", compact=True, placeholder="optional")
                yield Label("Steps")
                yield Input(
                    str(DEFAULT_TRAIN_STEPS), id="train-steps", type="integer", compact=True
                )
            yield Static("", id="train-summary")
            yield Label("ctrl+s uploads and trains · esc closes", id="train-keys")

    def on_mount(self) -> None:
        self.query_one("#train-name", Input).focus()
        self._replan()

    def on_input_changed(self, event: Input.Changed) -> None:
        if event.input.id == "train-folder":
            self._rescan(event.value.strip())
        self._replan()

    def _rescan(self, folder: str) -> None:
        if folder == self._folder and self._scan is not None:
            return
        self._folder, self._scan = folder, None
        if folder:
            self._look_at(folder)

    @work(group="train-scan", exclusive=True, exit_on_error=False)
    async def _look_at(self, folder: str) -> None:
        await asyncio.sleep(SCAN_DELAY)  # a key typed meanwhile cancels this (exclusive)
        try:
            found: list[Path] | StyleProblem = await asyncio.to_thread(
                training_pictures, Path(folder).expanduser()
            )
        except StyleProblem as exc:
            found = exc
        except OSError as exc:  # a folder that cannot be listed
            found = StyleProblem(f"{folder}: {exc.strerror or exc}")
        if folder == self._folder:
            self._scan = found
            self._replan()

    def on_select_changed(self, _event: Select.Changed) -> None:
        self._replan()

    def _replan(self) -> None:
        """Check the form and say what would be sent, or what is wrong."""
        self.plan = None
        shown = self.query_one("#train-summary", Static)
        name = self.query_one("#train-name", Input).value.strip()
        folder = self.query_one("#train-folder", Input).value.strip()
        model = self.query_one("#train-model", Select).value
        kind = self.query_one("#train-type", Select).value
        trigger = self.query_one("#train-trigger", Input).value.strip()
        steps_text = self.query_one("#train-steps", Input).value.strip()
        try:
            if not name:
                raise StyleProblem("the style needs a name")
            if not folder:
                raise StyleProblem("the folder of pictures to train on")
            if folder != self._folder:  # set before the field's Changed message came
                self._rescan(folder)
            if self._scan is None:
                self.summary = f"looking at {folder}…"
                shown.update(Text(self.summary, style="dim"))
                return
            if isinstance(self._scan, StyleProblem):
                raise StyleProblem(str(self._scan))
            self.pictures = self._scan
            steps = int(steps_text) if steps_text else DEFAULT_TRAIN_STEPS
            plan = training_body(
                name,
                [str(p) for p in self.pictures],
                model=str(model),
                kind=kind if isinstance(kind, str) else None,
                trigger=trigger or None,
                steps=steps,
            )
        except (StyleProblem, ValueError) as exc:
            self.summary = str(exc)
            shown.update(Text(self.summary, style="bold red" if name and folder else "dim"))
            return
        self.plan = plan
        self.summary = training_summary(plan)
        shown.update(Text(self.summary))

    def action_send(self) -> None:
        if self.plan is None:
            self.app.bell()
            return
        self.dismiss(self.plan)

    def action_close(self) -> None:
        self.dismiss(None)


def open_training(app: KreaApp) -> None:
    """Ask for a training, then upload and queue it in a worker of the app."""
    if _refused(app):
        return

    def asked(plan: dict[str, Any] | None) -> None:
        if plan is not None:
            app.run_worker(start_training(app, plan), group="train-style", exit_on_error=False)

    app.push_screen(TrainStyleModal(), asked)


async def start_training(app: KreaApp, plan: dict[str, Any]) -> None:
    """Upload the plan's pictures (named by path) and queue the training with their URLs."""
    if _refused(app):
        return
    uploader = app.engine.submitter.inputs
    if uploader is None:
        app.notify("Not sent: this connection cannot upload files", severity="error")
        return
    try:
        urls = [await uploader.url_for(path) for path in plan["urls"]]
    except (InputProblem, KreaError) as exc:
        app.notify(f"Not sent: {exc}", severity="error", timeout=8)
        return
    body = {**plan, "urls": urls}
    app.engine.submit(TrainingPricing(), [Order(TRAIN_MODEL, [body])], now=app.now())
    app.notify(
        f"Training {plan['name']!r} queued; its style is listed under “mine” once it is done",
        timeout=6,
    )


def _refused(app: KreaApp) -> bool:
    """Under Zero Data Retention a training is refused (said in a toast): its pictures would
    go inline, and the history would keep them, base64, in the job's request."""
    uploader = app.engine.submitter.inputs if app.ready else None
    if uploader is not None and uploader.zero_data_retention:
        app.notify(f"Not sent: {NO_TRAINING_UNDER_ZDR}", severity="error", timeout=8)
        return True
    return False
