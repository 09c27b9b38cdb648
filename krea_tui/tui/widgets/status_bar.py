"""StatusBar: demo or real, connection, counts per state, spend (and what is left today under
`max_spend_per_day`), following, the local queue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from krea_tui.core.store import StoredJob

IN_FLIGHT = {"submitting", "queued", "scheduled", "processing", "sampling", "intermediate-complete"}


@dataclass(frozen=True)
class Summary:
    demo: bool = False
    connection: str = "starting"
    connection_detail: str | None = None
    paused: bool = False
    pause_reason: str | None = None
    counts: dict[str, int] = field(default_factory=dict)
    spend: dict[str, float] = field(default_factory=dict)
    following: bool = False  # the table keeps the newest job in view (f)
    spend_left: float | None = None  # USD `max_spend_per_day` still allows; None: no limit

    @property
    def held(self) -> int:
        return self.counts.get("held", 0)

    @property
    def in_flight(self) -> int:
        return sum(n for status, n in self.counts.items() if status in IN_FLIGHT)


def summarize_jobs(jobs: Iterable[StoredJob]) -> tuple[dict[str, int], dict[str, float]]:
    counts: dict[str, int] = {}
    spend: dict[str, float] = {}
    for job in jobs:
        counts[job.status] = counts.get(job.status, 0) + 1
        if job.status == "completed" and job.cost_estimate is not None:
            unit = job.cost_unit or "?"
            spend[unit] = spend.get(unit, 0.0) + job.cost_estimate
    return counts, spend


def spend_text(spend: dict[str, float]) -> str:
    parts = []
    for unit, total in sorted(spend.items()):
        parts.append(f"${total:.3f}" if unit == "USD" else f"{total:g} {unit}")
    return " + ".join(parts) if parts else "$0"


# Counts in the order shown: (status key, word, short word, style). `None` is the in-flight sum.
COUNTS = [
    ("held", "held", "held", "dim"),
    (None, "flight", "fly", "cyan"),
    ("backlogged", "backlog", "bklg", "yellow"),
    ("completed", "done", "done", "green"),
    ("failed", "failed", "fail", "red"),
    ("unknown", "unknown", "unk", "bold yellow"),
]
# What always shows, however narrow: the failed count (even 0) and unknown jobs (when any).
ALWAYS = {"failed", "unknown"}
# The other counts, the first dropped first: finished work says least about what to do now.
MINOR = ["completed", "held", "backlogged", None]


@dataclass(frozen=True)
class Fit:
    """One way to say the summary; the bar takes the first that fits its width."""

    wide: bool = False  # the long words of a wide terminal
    zeros: bool = True  # counts of 0 (the failed count always shows)
    calm: bool = False  # the usual states by their sign alone: "●", "▶" (not news)
    short: bool = False  # short words too: "fail 12"
    spend: bool = True
    left: bool = True  # what is left to spend today (with a daily limit); goes early
    minor: int = 4  # how many of the minor counts show, dropped in the order of MINOR
    follow_word: bool = True  # "⇣ follow", else the sign alone (F1 says what it means)


FITS = [
    Fit(wide=True),
    Fit(),
    Fit(zeros=False),
    Fit(zeros=False, left=False),
    Fit(zeros=False, calm=True, left=False),
    Fit(zeros=False, calm=True, short=True, left=False),
    Fit(zeros=False, calm=True, short=True, follow_word=False, left=False),
    Fit(zeros=False, calm=True, short=True, follow_word=False, spend=False, left=False),
    *(
        Fit(
            zeros=False,
            calm=True,
            short=True,
            follow_word=False,
            spend=False,
            left=False,
            minor=n,
        )
        for n in (3, 2, 1, 0)
    ),
]


def status_line(s: Summary, fit: Fit) -> Text:
    wide, short, calm = fit.wide, fit.short, fit.calm
    text = Text(no_wrap=True, overflow="ellipsis")
    if s.demo:
        text.append(" DEMO · simulated " if wide else " DEMO ", style="bold reverse yellow")
    else:
        text.append(" LIVE ", style="bold reverse green")
    text.append(" ")
    if s.connection == "ok":
        text.append("●" if calm else "● connected" if wide else "● online", style="green")
    elif s.connection in ("starting", "idle"):
        text.append("○" if calm else f"○ {s.connection}", style="dim")
    else:
        text.append(f"◐ {s.connection}", style="bold yellow")  # news: never shortened
    text.append(" " if calm else "  ")
    gap = "  " if wide else " "
    kept = MINOR[len(MINOR) - fit.minor :]
    for key, long_word, short_word, style in COUNTS:
        number = s.in_flight if key is None else s.counts.get(key, 0)
        if key not in ALWAYS and (key not in kept or (number == 0 and not fit.zeros)):
            continue
        if key == "unknown" and not number:
            continue
        text.append(f"{short_word if short else long_word} {number}{gap}", style=style)
    if fit.spend:
        if wide:
            text.append(f" spent ~{spend_text(s.spend)}  ")
        else:
            text.append(f"~{spend_text(s.spend)} " if short else f" ~{spend_text(s.spend)} ")
        if fit.left and s.spend_left is not None:
            left = f"${s.spend_left:.3f} left" + (" today" if wide else "")
            text.append(left, style="bold red" if s.spend_left <= 0 else "dim")
            text.append("  " if wide else " ")
    if s.following:
        word = "following" if wide else "follow" if fit.follow_word else ""
        text.append(f"⇣ {word} " if word else "⇣ ", style="cyan")
    if s.paused:
        text.append("⏸ queue paused" if wide else "⏸ paused", style="bold reverse red")
    else:
        text.append("▶" if calm else "▶ queue running" if wide else "▶ running", style="green")
    return text


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    summary: reactive[Summary] = reactive(Summary, layout=False)

    def render(self) -> Text:
        """The most said that fits: zero counts go first, then what is left today, then long
        words, then the spend, then the minor counts; "paused" and the failed count always
        show."""
        width = self.size.width
        fits = FITS if width >= 120 else FITS[1:]
        for fit in fits:
            text = status_line(self.summary, fit)
            if text.cell_len <= width:
                return text
        return text
