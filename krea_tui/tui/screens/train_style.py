"""TrainStyleModal: train a style (LoRA) from a folder of pictures, from the styles screen.

The form asks what `krea-tui train-style` does: a name, the folder (path completion), the model
and type, a trigger word and the steps. Below it, what will be sent and its price (steps ×
compute units, the only training price Krea publishes) follow every change. ctrl+s sends:
the pictures are uploaded as assets (once each; progress in the usual notices), then the
training joins the queue as a job like any other (core/styles.py). It takes 15-45 minutes on
the real service; when it completes, its style is listed under "mine" on the styles screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Select, Static

from krea_tui.core.assets import InputProblem
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

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp


class TrainStyleModal(ModalScreen[dict[str, Any] | None]):
    """Dismissed with the training's settings (`plan`), or None; `start_training` sends it."""

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

    def on_input_changed(self, _event: Input.Changed) -> None:
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
            self.pictures = training_pictures(Path(folder).expanduser())
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

    def asked(plan: dict[str, Any] | None) -> None:
        if plan is not None:
            app.run_worker(start_training(app, plan), group="train-style", exit_on_error=False)

    app.push_screen(TrainStyleModal(), asked)


async def start_training(app: KreaApp, plan: dict[str, Any]) -> None:
    """Upload the plan's pictures (named by path) and queue the training with their URLs."""
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
