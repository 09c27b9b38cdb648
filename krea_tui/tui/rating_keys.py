"""Rating and picking from any screen: the keys, and what a judgement does once made.

The keys are the same wherever pictures are looked at one by one (the viewer, the contact
sheet, the gallery): `0`-`5` rate, `p` (or `+`) picks, `x` (or `-`) rejects, each once more
takes it back, and each moves on to the next picture. The main table has `1`-`4` for its
quick views and `p`/`x` for pause and remove: there `*` then `0`-`5` rates (RateModal), and
`+` / `-` pick and reject.

`judge` writes to the history (core/ratings), hands the main screen's queue model the
change (its rows redraw, and leave a view filtered on ratings), tells the other screens as
engine events do, and rewrites the saved files' sidecars off the event loop.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label

from krea_tui.core import ratings
from krea_tui.core.store import StoredJob
from krea_tui.tui.messages import EngineEvents

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp

# One judgement: ("rating", 0-5) or ("pick", PICK / REJECT).
Judgement = tuple[str, int]


# The footer shows the six rating keys together, as `012345 Rate`.
RATE_GROUP = Binding.Group("Rate", compact=True)


def picture_bindings(prefix: str, *, rate_in_footer: bool = False) -> list[Binding]:
    """The rating keys of a screen of pictures (ids `<prefix>-rate-N`, `-pick`, `-reject`).
    `rate_in_footer`: the footer shows `0`-`5` too (where it has the room for them)."""
    keys = [
        Binding(
            str(n),
            f"judge('rating', {n})",
            f"Rate {n}",
            show=rate_in_footer,
            id=f"{prefix}-rate-{n}",
            group=RATE_GROUP if rate_in_footer else None,
        )
        for n in ratings.RATINGS
    ]
    keys.append(Binding("p,plus", "judge('pick', 1)", "Pick", id=f"{prefix}-pick"))
    keys.append(Binding("x,minus", "judge('pick', -1)", "Reject", id=f"{prefix}-reject"))
    return keys


class RateModal(ModalScreen[Judgement | None]):
    """`*` in the table: the next key rates (0-5), picks (+) or rejects (-)."""

    DEFAULT_CSS = """
    RateModal { align: center bottom; background: $background 0%; }
    RateModal > Vertical { width: auto; height: auto; border: round $accent;
                           background: $surface; padding: 0 1; margin-bottom: 3; }
    """
    BINDINGS = [
        *(Binding(str(n), f"choose('rating', {n})", str(n), show=False) for n in ratings.RATINGS),
        Binding("plus,p", "choose('pick', 1)", "Pick", show=False),
        Binding("minus,x", "choose('pick', -1)", "Reject", show=False),
        Binding("escape,asterisk", "choose('', 0)", "Never mind", show=False),
    ]

    def __init__(self, count: int) -> None:
        super().__init__()
        self._count = count

    def compose(self) -> ComposeResult:
        what = "this job" if self._count == 1 else f"{self._count} marked jobs"
        with Vertical():
            yield Label(f"Rate {what}: [b]0[/]–[b]5[/] · [b]+[/] pick · [b]-[/] reject · Esc")

    def action_choose(self, kind: str, value: int) -> None:
        self.dismiss((kind, value) if kind else None)


def judge(krea: KreaApp, jobs: Sequence[StoredJob], judgement: Judgement) -> ratings.Changed:
    """Rate or pick `jobs` (the same key again takes it back, when all of them have it), and
    tell every screen; (before, after) of each job written."""
    if not jobs or not krea.ready:
        return []
    store = krea.store
    kind, value = judgement
    ids = [job.local_id for job in jobs]
    fresh = []  # as the history has them now: another process may have rated them
    for local_id in ids:
        with contextlib.suppress(KeyError):
            fresh.append(store.get(local_id))
    if kind == "rating":
        changed = ratings.rate(store, ids, ratings.toggled_rating(fresh, value))
    else:
        changed = ratings.set_pick(store, ids, ratings.toggled_pick(fresh, value))
    publish(krea, changed)
    return changed


def publish(krea: KreaApp, changed: ratings.Changed) -> None:
    """Tell every screen of judgements written here (as engine events are told), and rewrite
    the saved files' sidecars off the event loop."""
    events = ratings.events(changed)
    if not events:
        return
    stack = krea.screen_stack
    main: Any = stack[0] if stack else None
    if main is not None and hasattr(main, "handle_batch"):
        main.handle_batch(events)
    for screen in stack[1:]:
        screen.post_message(EngineEvents(list(events)))
    written = [after for _, after in changed if after.files]
    if written:
        krea.run_worker(
            lambda: ratings.write_sidecars(written),
            thread=True,
            group="sidecars",
            exit_on_error=False,
        )


def said(changed: ratings.Changed) -> str:
    """What a toast says of a judgement: `3f2a91c0 ★★★★` or `12 jobs: ✔`."""
    if not changed:
        return "Nothing rated"
    after = changed[-1][1]
    shown = ratings.label(after) or "unrated, no pick"
    if len(changed) == 1:
        return f"{after.short_id} {shown}"
    return f"{len(changed)} jobs: {shown}"
