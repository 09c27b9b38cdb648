"""`krea-tui status`: one line about the local history, for tmux's status bar or a prompt.

    set -g status-right '#(krea-tui status --tmux) %H:%M'
    set -g status-interval 5

With `max_spend_per_day` set it ends with what the limit still allows today ("$0.420 left",
red in tmux once nothing is).

It runs every few seconds, so it stays small: no textual, no httpx, no engine; the history is
opened read-only (a running krea-tui keeps writing to it undisturbed) and asked one GROUP BY
(and, with the day limit, one sum of today's spend).
No history yet, or one that cannot be read, still prints a line and exits 0: a status bar
has no place for a traceback.
"""

from __future__ import annotations

import argparse
import sqlite3
from pathlib import Path

# status -> which figure it counts in
RUNNING = {"scheduled", "processing", "sampling", "intermediate-complete"}
WAITING = {"held", "submitting", "backlogged", "queued"}


def read_counts(path: Path) -> dict[str, int] | None:
    """Jobs per status, or None when there is no readable history."""
    if not path.exists():
        return None
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            rows = db.execute("SELECT status, COUNT(*) FROM jobs GROUP BY status").fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return {str(status): int(count) for status, count in rows}


def read_left_today(path: Path, per_day: float | None) -> float | None:
    """What `max_spend_per_day` still allows today (USD), by the history; None without a
    limit or a readable history. The same count the engine checks before each POST."""
    if per_day is None or not path.exists():
        return None
    from krea_tui.core.clock import utcnow
    from krea_tui.core.spend_limit import SpendLimits, left_today

    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1.0)
        try:
            return left_today(
                lambda sql, args: db.execute(sql, args).fetchone(),
                SpendLimits(per_day=per_day),
                utcnow(),
            )
        finally:
            db.close()
    except sqlite3.Error:
        return None


def summary_line(
    counts: dict[str, int] | None,
    *,
    tmux: bool = False,
    demo: bool = False,
    left: float | None = None,
) -> str:
    label = "krea demo" if demo else "krea"
    if counts is None:
        return f"{label} –"
    running = sum(n for s, n in counts.items() if s in RUNNING)
    waiting = sum(n for s, n in counts.items() if s in WAITING)
    parts = [
        ("▶", running, "cyan"),
        ("⏳", waiting, "yellow"),
        ("✓", counts.get("completed", 0), "green"),
        ("✗", counts.get("failed", 0), "red"),
    ]
    if counts.get("unknown"):
        parts.append(("?", counts["unknown"], "yellow"))
    words = []
    for symbol, number, colour in parts:
        text = f"{symbol}{number}"
        # Colour only what needs a look: failures and lost POSTs; tmux's own style elsewhere.
        if tmux and number and symbol in ("✗", "?"):
            text = f"#[fg={colour}]{text}#[default]"
        words.append(text)
    if left is not None:
        # What max_spend_per_day still allows today; red once nothing is left.
        from krea_tui.core.spend_limit import usd

        text = f"{usd(left)} left"
        words.append(f"#[fg=red]{text}#[default]" if tmux and left == 0 else text)
    return f"{label} " + " ".join(words)


def run_status(args: argparse.Namespace) -> int:
    from krea_tui.config import ConfigError, load_settings

    overrides = {
        "data_dir": getattr(args, "data_dir", None),
        "demo": getattr(args, "demo", False) or None,
    }
    try:
        settings, _ = load_settings(config_path=getattr(args, "config", None), overrides=overrides)
    except ConfigError:
        print("krea ⚠ config")  # `krea-tui doctor` says what is wrong
        return 0
    counts = read_counts(settings.history_path)
    left = read_left_today(settings.history_path, settings.max_spend_per_day)
    tmux = bool(getattr(args, "tmux", False))
    print(summary_line(counts, tmux=tmux, demo=settings.demo, left=left))
    return 0
