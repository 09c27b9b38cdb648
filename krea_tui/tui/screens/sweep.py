"""SweepModal (F4 in the compose form): the form's request over one or two parameters' values.

Nothing is sent from here without a second, explicit yes: the count and the estimated cost are
shown as the values are typed, and again in the question that sends them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from krea_tui.core.assets import validation_body
from krea_tui.core.batch import (
    SweepAxis,
    SweepError,
    parse_sweep_values,
    sweep,
    sweep_batch_id,
)
from krea_tui.core.catalog import Field, ModelInfo
from krea_tui.core.submit import Order
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.screens.modals import MODAL_CSS
from krea_tui.tui.widgets.field_form import field_hint

AXES = 2
PREFERRED = (  # what people sweep first
    "steps",
    "num_inference_steps",
    "guidance_scale_flux",
    "guidance_scale",
    "cfg_scale",
)


@dataclass(frozen=True, slots=True)
class SweepSent:
    """What the compose form hears back: the batch that was queued, and whether to watch it."""

    batch_id: str
    open_sheet: bool


@dataclass(frozen=True, slots=True)
class SweepPlan:
    axes: tuple[SweepAxis, ...]
    bodies: tuple[dict[str, Any], ...]
    problems: tuple[str, ...]
    cost: str  # Catalog.cost_text: "est. 9 × $0.007 = $0.063", or "cost unknown"

    @property
    def summary(self) -> str:
        shape = " × ".join(f"{len(a.values)} {a.name}" for a in self.axes) or "no parameter"
        return f"{len(self.bodies)} jobs ({shape} × {self._per_cell} from the form) · {self.cost}"

    @property
    def _per_cell(self) -> int:
        combos = 1
        for axis in self.axes:
            combos *= len(axis.values)
        return len(self.bodies) // combos if combos else 0


def sweepable(model: ModelInfo) -> list[Field]:
    """Numbers and choices: what has a range or a list to walk along."""
    fields = [
        f
        for f in model.fields
        if f.name != "prompt" and (f.enum or f.type in ("integer", "number"))
    ]
    return sorted(fields, key=lambda f: PREFERRED.index(f.name) if f.name in PREFERRED else 99)


class SendSweepModal(ModalScreen[str | None]):
    """The last word before anything is sent: "open" (and watch), "send", or None (back)."""

    DEFAULT_CSS = MODAL_CSS.format(name="SendSweepModal")
    BINDINGS = [
        Binding("o,enter", "answer('open')", "Send + contact sheet", id="sweep-send-open"),
        Binding("y", "answer('send')", "Send", id="sweep-send"),
        Binding("n,escape", "answer('')", "Back", id="sweep-send-back"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self._question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self._question, classes="title", id="sweep-question")
            with Horizontal(classes="buttons"):
                yield Button("Back (n)", id="back")
                yield Button("Send (y)", id="send")
                yield Button("Send + sheet (o)", id="open", variant="primary")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_answer("" if event.button.id == "back" else str(event.button.id))

    def action_answer(self, what: str) -> None:
        self.dismiss(what or None)


class SweepModal(KreaAccess, ModalScreen[SweepSent | None]):
    # The form scrolls between a docked title and docked buttons, so on a short terminal (a
    # tmux pane of 20 rows) or with many problems listed the buttons stay in sight instead of
    # below the screen's edge. A short screen gives the dialog all its rows; on a taller one the
    # form may take 55% of them, which with the title, the buttons and the spacing (10 rows)
    # fits from 23 rows up.
    DEFAULT_CSS = (
        MODAL_CSS.format(name="SweepModal")
        + """
    SweepModal > #sweep-dialog { width: 90; max-width: 100%; max-height: 100%; }
    SweepModal #sweep-dialog > .title { dock: top; }
    SweepModal #sweep-dialog > .buttons { dock: bottom; }
    SweepModal #sweep-body { height: auto; max-height: 55vh; }
    SweepModal .axis { height: auto; margin-bottom: 0; }
    SweepModal .axis > Label { width: 12; }
    SweepModal .axis > Select { width: 1fr; max-width: 30; }
    SweepModal .axis > Input { width: 1fr; }
    SweepModal .hint { color: $text-muted; padding-left: 12; height: 1; margin-bottom: 1; }
    SweepModal #sweep-problems { color: $error; height: auto; }
    SweepModal #sweep-summary { background: $panel; padding: 0 1; height: auto; }
    SweepModal #sweep-summary.-problems { color: $error; }
    /* The open drop-down lies over the dialog: a border and a background of its own keep the
       two apart. A compact Select draws it borderless (with !important) in the dialog's colour;
       the id outranks that rule. */
    SweepModal #sweep-body SelectOverlay { border: round $accent !important; background: $panel; }
    SweepModal.-short > #sweep-dialog { height: 100%; padding: 0 1; }
    SweepModal.-short #sweep-body { height: 1fr; max-height: 100%; }
    SweepModal.-short .title { margin-bottom: 0; }
    SweepModal.-short .buttons { margin-top: 0; }
    """
    )
    VERTICAL_BREAKPOINTS = [(0, "-short"), (23, "-tall")]
    BINDINGS = [
        Binding("ctrl+s", "send", "Send…", priority=True, id="sweep-submit"),
        Binding("escape", "back", "Back", id="sweep-back"),
    ]

    def __init__(
        self,
        model: str,
        bodies: Sequence[Mapping[str, Any]],
        problems: Sequence[str] = (),
        *,
        parent: str | None = None,
    ) -> None:
        super().__init__()
        self._model_path = model
        self._made_from = parent  # the job the form was opened from: each job sent is its child
        self._bodies = [dict(b) for b in bodies]  # the form's jobs: N × prompt alternatives
        self._form_problems = list(problems)

    @property
    def model(self) -> ModelInfo:
        return self.krea.catalog.get(self._model_path)

    def compose(self) -> ComposeResult:
        fields = sweepable(self.model)
        options = [(f.name, f.name) for f in fields]
        with Vertical(id="sweep-dialog"):
            yield Label(f"Sweep · {self.model.name}", classes="title")
            with VerticalScroll(id="sweep-body", can_focus=False):
                yield Static(
                    f"The form's {len(self._bodies)} job(s) are sent once for every combination "
                    "of the values below. Values: 20,30,40 or 20..40 step 10.",
                    id="sweep-intro",
                )
                for n in range(1, AXES + 1):
                    first = fields[n - 1].name if n == 1 and fields else Select.NULL
                    with Horizontal(classes="axis"):
                        yield Label(f"parameter {n}")
                        yield Select(
                            options,
                            value=first,
                            id=f"sweep-field-{n}",
                            allow_blank=n > 1 or not options,  # a Select may not be empty
                            prompt="(none)",
                            compact=True,
                        )
                        yield Input(id=f"sweep-values-{n}", placeholder="values", compact=True)
                    yield Label("", id=f"sweep-hint-{n}", classes="hint")
                yield Static("", id="sweep-problems")
                yield Static("", id="sweep-summary")
            with Horizontal(classes="buttons"):
                yield Button("Back (esc)", id="sweep-cancel")
                yield Button("Send… (ctrl+s)", id="sweep-go", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#sweep-values-1", Input).focus()
        self._check()

    # -- reading the form ----------------------------------------------------------------------

    def _axis(self, n: int) -> tuple[Field | None, str]:
        name = self.query_one(f"#sweep-field-{n}", Select).value
        text = self.query_one(f"#sweep-values-{n}", Input).value.strip()
        field = self.model.field(str(name)) if isinstance(name, str) else None
        return field, text

    def plan(self) -> SweepPlan:
        """The jobs these values make and every problem with them; nothing is sent here."""
        axes: list[SweepAxis] = []
        problems: list[str] = []
        for n in range(1, AXES + 1):
            field, text = self._axis(n)
            if field is None or (not text and n > 1):
                continue
            try:
                values = parse_sweep_values(
                    field.name, text, kind=field.type, choices=list(field.enum or ()) or None
                )
            except SweepError as exc:
                problems.append(str(exc))
                continue
            axes.append(SweepAxis(field.name, values))
        swept = {axis.name for axis in axes}
        # The form's own problems still count, except for the values the sweep replaces.
        problems += [p for p in self._form_problems if _problem_field(p) not in swept]
        bodies: list[dict[str, Any]] = []
        if axes:  # counted even while there are problems: the count is worth seeing early
            try:
                bodies = sweep(self._bodies, axes)
            except SweepError as exc:
                problems.append(str(exc))
        problems += self._invalid(axes)
        cost = self.krea.catalog.cost_text(self._model_path, bodies)
        return SweepPlan(tuple(axes), tuple(bodies), tuple(dict.fromkeys(problems)), cost)

    def _invalid(self, axes: Sequence[SweepAxis]) -> list[str]:
        """Each value the schema refuses, by name, checked alone on top of the form's request;
        then any combination the schema refuses as a whole."""
        if not self._bodies:
            return []
        catalog, base = self.krea.catalog, self._bodies[0]
        model = catalog.get(self._model_path)  # local files stand for their uploads
        found: list[str] = []
        for axis in axes:
            for value in axis.values:
                candidate = validation_body(model, {**base, axis.name: value})
                for problem in catalog.validate(self._model_path, candidate):
                    if _problem_field(problem.message) == axis.name:
                        found.append(problem.message)
        if not found:
            try:
                combinations = sweep([base], axes)
            except SweepError:
                return found  # already said by plan()
            for combination in combinations:
                checked = validation_body(model, combination)
                found += [p.message for p in catalog.validate(self._model_path, checked)]
        return found

    # -- showing -------------------------------------------------------------------------------

    @on(Input.Changed)
    @on(Select.Changed)
    def _check(self) -> SweepPlan:
        for n in range(1, AXES + 1):
            field, _ = self._axis(n)
            hint = ""
            if field is not None:
                hint = (
                    "choices: " + ", ".join(str(c) for c in field.enum)
                    if field.enum
                    else f"{field.type} · {field_hint(field)}"
                )
            self.query_one(f"#sweep-hint-{n}", Label).update(hint)
        plan = self.plan()
        self.query_one("#sweep-problems", Static).update("\n".join(plan.problems))
        summary = plan.summary if plan.axes else "Type the values of at least one parameter."
        if plan.problems:
            summary += f" · {len(plan.problems)} to fix"
        widget = self.query_one("#sweep-summary", Static)
        widget.update(summary)
        widget.set_class(bool(plan.problems), "-problems")
        return plan

    # -- actions -------------------------------------------------------------------------------

    @on(Input.Submitted)
    def action_send(self) -> None:
        plan = self._check()
        if plan.problems or not plan.bodies:
            first = plan.problems[0] if plan.problems else "no values to sweep"
            self.notify(f"Not sent: {first}", severity="error", timeout=5)
            return
        question = (
            f"Send {len(plan.bodies)} jobs for {self.model.name}? {plan.cost}.\n"
            "o sends them and opens the batch's contact sheet."
        )

        def answered(what: str | None) -> None:
            if what:
                self._send(plan, open_sheet=what == "open")

        self.app.push_screen(SendSweepModal(question), answered)

    def _send(self, plan: SweepPlan, *, open_sheet: bool) -> None:
        # The batch id names the swept parameters: the contact sheet lays the batch out by them.
        batch_id = sweep_batch_id(plan.axes, self.krea.now())
        parents = [self._made_from] * len(plan.bodies) if self._made_from else None
        order = Order(self._model_path, plan.bodies, parents=parents)
        self.krea.engine.submit(self.krea.catalog, [order], batch_id=batch_id)
        self.notify(f"Queued a sweep of {len(plan.bodies)} jobs for {self.model.name}", timeout=3)
        self.dismiss(SweepSent(batch_id, open_sheet))

    @on(Button.Pressed, "#sweep-go")
    def _go(self) -> None:
        self.action_send()

    @on(Button.Pressed, "#sweep-cancel")
    def action_back(self) -> None:
        self.dismiss(None)


def _problem_field(message: str) -> str:
    """The field a problem is about: "steps: must be at most 100" gives "steps"."""
    return message.split(":", 1)[0].split(".", 1)[0].split(" ", 1)[0].strip()
