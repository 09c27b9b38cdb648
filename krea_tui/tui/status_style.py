"""How a status looks: a symbol and a word that read without colour, and a colour for those
who have it."""

from __future__ import annotations

from rich.text import Text

from krea_tui.core.models import LIFECYCLE_ORDER
from krea_tui.core.status import shown

# status -> (symbol, short word, style)
STYLES: dict[str, tuple[str, str, str]] = {
    "held": ("◌", "held", "dim"),
    "submitting": ("↑", "sending", "cyan"),
    "unknown": ("?", "unknown", "bold yellow"),
    "backlogged": ("…", "backlogged", "yellow"),
    "queued": ("○", "queued", "blue"),
    "scheduled": ("◔", "scheduled", "blue"),
    "processing": ("◑", "processing", "cyan"),
    "sampling": ("◕", "sampling", "cyan"),
    "intermediate-complete": ("◕", "preview", "bold cyan"),
    "completed": ("●", "done", "green"),
    "failed": ("✗", "failed", "bold red"),
    "cancelled": ("⊘", "cancelled", "magenta"),
}
_STEPS = {str(status): index for index, status in enumerate(LIFECYCLE_ORDER)}
BAR_WIDTH = 6


def status_text(status: str) -> Text:
    # A status the server sent that we do not know keeps its `?` mark: `?held` is not our held.
    symbol, word, style = STYLES.get(status, ("•", shown(status)[:12], "yellow"))
    return Text(f"{symbol} {word}", style=style)


def progress_text(status: str) -> Text:
    """A small bar along the lifecycle while a job is in flight; empty otherwise."""
    if status not in _STEPS or status == "completed":
        return Text("")
    filled = round(BAR_WIDTH * (_STEPS[status] + 1) / len(LIFECYCLE_ORDER))
    return Text("▰" * filled + "▱" * (BAR_WIDTH - filled), style="cyan")


def word(status: str) -> str:
    return STYLES.get(status, ("", shown(status), ""))[1]
