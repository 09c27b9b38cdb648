"""EnhanceModal: which upscaler and how much bigger, the sizes and the price, then send.

Opened at once with the pictures: saved copies are sized from their headers on mount, the
others are fetched in a worker while the modal says "sizing N pictures…" (core/enhance.py
`sized`); the sizes and the price appear when known, and Send waits for them. Dismissed with
the plan to send, or None. `enhance_jobs(app, jobs)` is the one entry point for every front
end (the viewer, the contact sheet, the table's marks): it asks, and sends through
`KreaApp.submit`, so the jobs join the one queue.
Keys act at once (the app takes keys one at a time; see modals.py): `m` the next upscaler, `s`
the next scale, enter (or the Send button) to send, escape or `n` to close without sending.
No printable key sends: a "y" typed for something else never sends paid jobs.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from krea_tui.core.catalog import Catalog
from krea_tui.core.enhance import (
    DEFAULT_ENHANCER,
    DEFAULT_SCALE,
    SCALES,
    EnhanceError,
    EnhancePlan,
    Fetch,
    Picture,
    header_fetch,
    local_size,
    pictures_of,
    plan_enhance,
    sized,
)
from krea_tui.core.errors import KreaError
from krea_tui.core.store import StoredJob
from krea_tui.tui.screens.modals import MODAL_CSS
from krea_tui.tui.worker_errors import ReportsWorkerFailures

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp


def enhance_jobs(
    app: KreaApp, jobs: Sequence[StoredJob], sent: Callable[[], None] | None = None
) -> None:
    """Enhance every picture of `jobs`: ask model and scale (EnhanceModal, which sizes the
    pictures and says the total price), then send one job per picture. Jobs without results
    are left out, and said so. Returns at once; the asking runs in a worker of the app.
    `sent` runs once the jobs are queued (the table clears its marks, as after any send)."""
    pictures: list[Picture] = []
    left_out: list[str] = []
    for job in jobs:
        try:
            pictures.extend(pictures_of(job))
        except EnhanceError as exc:
            left_out.append(str(exc))
    if not pictures:
        app.notify(left_out[0] if len(left_out) == 1 else "Nothing to enhance", severity="warning")
        return
    if left_out:
        app.notify(f"{len(left_out)} job(s) without results left out", timeout=4)
    app.run_worker(
        _ask_and_send(app, pictures, sent), group="enhance", exclusive=True, exit_on_error=False
    )


async def _ask_and_send(
    app: KreaApp, pictures: list[Picture], sent: Callable[[], None] | None
) -> None:
    # Pictures not saved here are read only until their headers give their sizes.
    fetch = header_fetch(app.engine.client)
    plan = await app.push_screen_wait(EnhanceModal(app.catalog, pictures, fetch))
    if plan is not None:
        order = plan.order()
        app.submit(order.model, order.bodies, parents=order.parents)
        if sent is not None:
            sent()


class EnhanceModal(ReportsWorkerFailures, ModalScreen[EnhancePlan | None]):
    DEFAULT_CSS = MODAL_CSS.format(name="EnhanceModal")
    BINDINGS = [
        Binding("m", "next_model", "Model", id="enhance-model"),
        Binding("s", "next_scale", "Scale", id="enhance-scale"),
        Binding("enter", "send", "Send", priority=True, id="enhance-send"),
        Binding("escape,n", "close", "Close", id="enhance-close"),
    ]

    def __init__(
        self,
        catalog: Catalog,
        pictures: Sequence[Picture],
        fetch: Fetch,
        *,
        model: str = DEFAULT_ENHANCER,
        scale: float = DEFAULT_SCALE,
    ) -> None:
        super().__init__()
        self._catalog = catalog
        self._wanted = list(pictures)
        self._fetcher = fetch
        self._pictures: list[tuple[Picture, tuple[int, int]]] | None = None  # None: sizing
        self._models = [m.path for m in catalog.enhancers()]
        self._model = model if model in self._models else (self._models or [model])[0]
        self._scale = scale
        self.plan: EnhancePlan | None = None

    def compose(self) -> ComposeResult:
        count = len(self._wanted)
        with Vertical():
            yield Label(f"Enhance {count} picture{'s' if count != 1 else ''}", classes="title")
            yield Static(id="enhance-summary")
            yield Label(
                "[b]m[/] model · [b]s[/] scale · [b]enter[/] send · [b]esc[/] close",
                id="enhance-keys",
            )
            with Horizontal(classes="buttons"):
                yield Button("Close (esc)", id="enhance-close-button")
                yield Button(
                    "Send (enter)", id="enhance-send-button", variant="primary", disabled=True
                )

    def on_mount(self) -> None:
        # Saved copies: their headers, read at once (as cheap as a stat). Others are fetched.
        known = [(picture, local_size(picture)) for picture in self._wanted]
        missing = sum(1 for _, size in known if size is None)
        if not missing:
            self._pictures = [(picture, size) for picture, size in known if size is not None]
            self._replan()
            return
        self.query_one("#enhance-summary", Static).update(
            Text(f"sizing {missing} picture{'s' if missing != 1 else ''}…", style="dim")
        )
        self.run_worker(self._measure(), group="enhance-sizing", exit_on_error=False)

    async def _measure(self) -> None:
        try:
            with_sizes = await sized(self._wanted, self._fetcher)
        except (EnhanceError, KreaError) as exc:
            self.query_one("#enhance-summary", Static).update(
                Text(f"Cannot enhance: {exc}", style="bold red")
            )
            return
        self._pictures = with_sizes
        self._replan()

    def _replan(self) -> None:
        if self._pictures is None:  # still sizing: the plan follows when the sizes are known
            return
        summary = self.query_one("#enhance-summary", Static)
        send = self.query_one("#enhance-send-button", Button)
        try:
            self.plan = plan_enhance(self._catalog, self._model, self._scale, self._pictures)
        except EnhanceError as exc:
            self.plan = None
            send.disabled = True
            summary.update(Text(f"{self._model}, {self._scale:g}×: {exc}", style="bold red"))
            return
        send.disabled = False
        summary.update(Text(self.plan.summary(self._catalog)))

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "enhance-send-button":
            self.action_send()
        elif event.button.id == "enhance-close-button":
            self.action_close()

    def action_next_model(self) -> None:
        if self._models:
            index = self._models.index(self._model) if self._model in self._models else -1
            self._model = self._models[(index + 1) % len(self._models)]
            self._replan()

    def action_next_scale(self) -> None:
        later = [s for s in SCALES if s > self._scale]
        self._scale = later[0] if later else SCALES[0]
        self._replan()

    def action_send(self) -> None:
        if self.plan is None:
            self.app.bell()
            return
        self.dismiss(self.plan)

    def action_close(self) -> None:
        self.dismiss(None)
