"""`krea-tui status`: one line about the local history, for tmux's status bar or a prompt.

    set -g status-right '#(krea-tui status --tmux) %H:%M'
    set -g status-interval 5

It runs every few seconds, so it stays small: no textual, no httpx, no engine; the history is
opened read-only (a running krea-tui keeps writing to it undisturbed) and asked one GROUP BY.
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


def summary_line(counts: dict[str, int] | None, *, tmux: bool = False, demo: bool = False) -> str:
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
    print(summary_line(counts, tmux=bool(getattr(args, "tmux", False)), demo=settings.demo))
    return 0
