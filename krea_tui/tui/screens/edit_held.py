"""EditHeldModal: change the request of a job still in the local queue, before it is sent.

The request is edited as JSON (every field the model takes, exactly as it will be POSTed) and
checked against the model's schema before it is accepted.
"""

from __future__ import annotations

import json
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from krea_tui.core.assets import validation_body
from krea_tui.core.catalog import format_totals
from krea_tui.core.store import StoredJob
from krea_tui.tui.screens.modals import MODAL_CSS


class EditHeldModal(ModalScreen[dict[str, Any] | None]):
    DEFAULT_CSS = (
        MODAL_CSS.format(name="EditHeldModal")
        + """
    EditHeldModal > Vertical { width: 90; }
    EditHeldModal TextArea { height: 16; }
    EditHeldModal #edit-problem { color: $error; }
    EditHeldModal .hint { color: $text-muted; }
    """
    )
    BINDINGS = [
        Binding("ctrl+s", "save", "Save", id="edit-held-save"),
        Binding("escape", "close", "Cancel", id="edit-held-cancel"),
    ]

    def __init__(self, job: StoredJob, catalog: Any) -> None:
        super().__init__()
        self._job = job
        self._catalog = catalog

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Edit held job {self._job.short_id} ({self._job.model})", classes="title")
            text = json.dumps(dict(self._job.request), indent=2, ensure_ascii=False)
            yield TextArea(text, language=None, id="edit-request")
            yield Label("", id="edit-problem")
            yield Label(self._price(self._job.request), id="edit-price")
            yield Label(
                "ctrl+s saves (the job stays held in its place) · esc leaves it", classes="hint"
            )

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def _price(self, request: Any) -> str:
        """The job's estimate, and what it becomes with `request` when that differs: the
        spend limits add up these estimates (the engine prices the edit the same way)."""
        job = self._job
        if job.cost_estimate is None or job.cost_unit is None:
            return ""
        now = format_totals({job.cost_unit: job.cost_estimate})
        if not isinstance(request, dict) or job.model not in self._catalog:
            return f"est. {now}"
        cost, unit = self._catalog.cost_with_unit(job.model, request)
        if cost is None or unit is None or (cost, unit) == (job.cost_estimate, job.cost_unit):
            return f"est. {now}"
        return f"est. {now} → {format_totals({unit: cost})}"

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        try:
            request = json.loads(event.text_area.text)
        except json.JSONDecodeError:
            return  # the price stays what it last was; saving says what is wrong
        self.query_one("#edit-price", Label).update(self._price(request))

    def problem(self, text: str) -> tuple[dict[str, Any] | None, str]:
        try:
            request = json.loads(text)
        except json.JSONDecodeError as exc:
            return None, f"not JSON: {exc.msg} (line {exc.lineno})"
        if not isinstance(request, dict):
            return None, "the request is a JSON object: { ... }"
        if self._job.model in self._catalog:
            model = self._catalog.get(self._job.model)
            # A local file stands for the upload the engine makes of it when sending.
            problems = self._catalog.validate(model.path, validation_body(model, request))
            if problems:
                return None, "; ".join(str(p) for p in problems[:3])
        return request, ""

    def action_save(self) -> None:
        request, problem = self.problem(self.query_one(TextArea).text)
        if request is None:
            self.query_one("#edit-problem", Label).update(problem)
            return
        self.dismiss(request)

    def action_close(self) -> None:
        self.dismiss(None)
