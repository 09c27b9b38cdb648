"""Telling the user a job or a batch ended: a toast, the terminal bell, a desktop notification.

Endings that arrive together (a poll that finishes forty jobs) become one message. Desktop
notifications are escape sequences the terminal turns into a system notification: OSC 9
(iTerm2, kitty, WezTerm, Windows Terminal, foot) and OSC 777 (VTE terminals, urxvt, Ghostty).
A terminal that knows neither ignores them. They are written through Textual's driver (reached
by public API, terminal.py), in order with the screen updates, so they never tear a frame.
Inside tmux they are wrapped in the DCS passthrough (`ESC P tmux; … ESC \\`), which tmux
forwards only with `set -g allow-passthrough on`; without it tmux drops them quietly.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from krea_tui.core.endings import Tally, tally
from krea_tui.core.store import StoredJob

COALESCE_SECONDS = 0.5
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def clean(text: str, limit: int = 200) -> str:
    """Text safe inside an OSC string: no control characters (an ESC or BEL would end it)."""
    text = _CONTROL.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def osc9(body: str) -> str:
    return f"\x1b]9;{clean(body)}\x07"


def osc777(title: str, body: str) -> str:
    # `;` separates the fields of OSC 777: one in the title would move text into the body.
    return f"\x1b]777;notify;{clean(title).replace(';', ',')};{clean(body)}\x07"


def tmux_passthrough(sequence: str) -> str:
    return "\x1bPtmux;" + sequence.replace("\x1b", "\x1b\x1b") + "\x1b\\"


def desktop_sequences(title: str, body: str, *, in_tmux: bool) -> list[str]:
    sequences = [osc9(f"{title}: {body}"), osc777(title, body)]
    return [tmux_passthrough(s) for s in sequences] if in_tmux else sequences


@dataclass
class Channels:
    toast: bool = True
    bell: bool = False
    desktop: bool = False

    @classmethod
    def from_settings(cls, settings: Any) -> Channels:
        return cls(
            toast=bool(getattr(settings, "notify_toast", True)),
            bell=bool(getattr(settings, "notify_bell", False)),
            desktop=bool(getattr(settings, "notify_desktop", False)),
        )


@dataclass
class _Pending:
    jobs: list[StoredJob] = field(default_factory=list)
    batches: list[tuple[str, Tally]] = field(default_factory=list)


class Notifier:
    """Collects endings for a moment, then says them once on every channel that is on."""

    def __init__(
        self,
        app: Any,
        channels: Channels,
        *,
        in_tmux: bool | None = None,
        schedule: Callable[[float, Callable[[], None]], Any] | None = None,
    ) -> None:
        self.app = app
        self.channels = channels
        self.in_tmux = bool(os.environ.get("TMUX")) if in_tmux is None else in_tmux
        self._schedule = schedule or (lambda delay, fn: app.set_timer(delay, fn))
        self._pending = _Pending()
        self._scheduled = False
        self.said: list[tuple[str, str]] = []  # (title, body) as said, newest last: for tests
        self.written: list[str] = []  # escape sequences written to the terminal

    def job_ended(self, job: StoredJob) -> None:
        self._pending.jobs.append(job)
        self._soon()

    def batch_ended(self, batch_id: str, outcome: Tally) -> None:
        self._pending.batches.append((batch_id, outcome))
        self._soon()

    def _soon(self) -> None:
        if not self._scheduled:
            self._scheduled = True
            self._schedule(COALESCE_SECONDS, self.flush)

    def flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, _Pending()
        loose = [job for job in pending.jobs if not job.batch_id]
        in_batches = [job for job in pending.jobs if job.batch_id]
        failed = [job for job in pending.jobs if job.status == "failed"]
        for batch_id, outcome in pending.batches:
            self._say(f"Batch {batch_id} finished", outcome.words(), bad=outcome.failed > 0)
        if len(loose) == 1 and not in_batches:
            job = loose[0]
            word = {"completed": "done", "failed": "failed"}.get(job.status, job.status)
            why = job.error_message if job.status == "failed" else None
            body = job.prompt[:60] + (f": {why}" if why else "")
            self._say(f"Job {job.short_id} {word}", body, bad=bool(failed))
        elif loose or failed:
            # Jobs of a running batch are told when the batch ends, except failures: those
            # are worth knowing early (as a toast only).
            shown = loose + [job for job in failed if job.batch_id]
            outcome = tally(shown)
            self._say(
                f"{len(shown)} jobs ended",
                outcome.words(),
                bad=outcome.failed > 0,
                quiet=not loose,
            )

    def _say(self, title: str, body: str, *, bad: bool, quiet: bool = False) -> None:
        self.said.append((title, body))
        if self.channels.toast:
            severity = "warning" if bad else "information"
            self.app.notify(body, title=title, severity=severity, timeout=6 if bad else 4)
        if quiet:
            return
        if self.channels.bell:
            self._write("\a")
        if self.channels.desktop:
            for sequence in desktop_sequences(title, body, in_tmux=self.in_tmux):
                self._write(sequence)

    def _write(self, sequence: str) -> None:
        self.written.append(sequence)
        if getattr(self.app, "is_headless", True):
            return
        if sequence == "\a":
            self.app.bell()  # Textual's own bell
            return
        # Through the driver, as Textual writes OSC 52 for the clipboard: in order with frames
        # (see terminal.py: the driver reached by public API only).
        writer = getattr(self.app, "terminal_writer", None)
        if writer is not None:
            writer.write(sequence)
