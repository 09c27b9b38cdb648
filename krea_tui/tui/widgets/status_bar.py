"""StatusBar: demo or real, connection, counts per state, spend, and the local queue."""

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


class StatusBar(Static):
    DEFAULT_CSS = """
    StatusBar { height: 1; background: $panel; color: $text; padding: 0 1; }
    """

    summary: reactive[Summary] = reactive(Summary, layout=False)

    def render(self) -> Text:
        s = self.summary
        wide = self.size.width >= 120
        text = Text()
        if s.demo:
            text.append(" DEMO · simulated " if wide else " DEMO ", style="bold reverse yellow")
        else:
            text.append(" LIVE ", style="bold reverse green")
        text.append(" ")
        if s.connection == "ok":
            text.append("● connected" if wide else "● online", style="green")
        elif s.connection in ("starting", "idle"):
            text.append(f"○ {s.connection}", style="dim")
        else:
            text.append(f"◐ {s.connection}", style="bold yellow")
        text.append("  ")
        c = s.counts
        counts = [
            ("held", s.held, "dim"),
            ("flight", s.in_flight, "cyan"),
            ("backlog", c.get("backlogged", 0), "yellow"),
            ("done", c.get("completed", 0), "green"),
            ("failed", c.get("failed", 0), "red"),
        ]
        if c.get("unknown"):
            counts.append(("unknown", c["unknown"], "bold yellow"))
        for label, number, style in counts:
            text.append(f"{label} {number}" + ("  " if wide else " "), style=style)
        text.append(f" ~{spend_text(s.spend)} " if not wide else f" spent ~{spend_text(s.spend)}  ")
        if s.paused:
            text.append("⏸ paused" if not wide else "⏸ queue paused", style="bold reverse red")
        else:
            text.append("▶ running" if not wide else "▶ queue running", style="green")
        return text
