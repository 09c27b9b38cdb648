"""Saved views, notifications' escape sequences, batch endings and the tmux status line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from krea_tui.config import ConfigError
from krea_tui.core.endings import batch_finished, job_ended
from krea_tui.core.events import JobEvent
from krea_tui.core.store import JobStore
from krea_tui.tmux_status import read_counts, summary_line
from krea_tui.tui.notify import Channels, Notifier, osc9, osc777, tmux_passthrough
from krea_tui.views import SavedView, delete_view, load_views, save_view
from tests.unit.test_query import job


def test_views_round_trip_and_keep_unknown_keys(tmp_path: Path) -> None:
    path = tmp_path / "views.toml"
    path.write_text('note = "mine"\n[views.a]\nfilter = "x"\ncolour = "red"\n')
    save_view(path, SavedView("a", "status:failed", "time", True, False))
    save_view(path, SavedView("b c", "fox"))
    views = load_views(path)
    assert views["a"] == SavedView("a", "status:failed", "time", True, False)
    assert views["b c"].filter == "fox"
    text = path.read_text()
    assert 'note = "mine"' in text and 'colour = "red"' in text
    assert delete_view(path, "a") and "a" not in load_views(path)


def test_a_broken_views_file_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "views.toml"
    path.write_text("[views\n")
    with pytest.raises(ConfigError):
        save_view(path, SavedView("a", "x"))
    with pytest.raises(ConfigError):
        load_views(path)
    assert path.read_text() == "[views\n"
    assert load_views(tmp_path / "missing.toml") == {}


def test_osc_sequences_are_clean_and_wrapped_for_tmux() -> None:
    assert osc9("done\x1b]0;evil\x07") == "\x1b]9;done ]0;evil\x07"
    assert osc777("a;b", "body") == "\x1b]777;notify;a,b;body\x07"
    assert tmux_passthrough("\x1b]9;x\x07") == "\x1bPtmux;\x1b\x1b]9;x\x07\x1b\\"


class FakeApp:
    def __init__(self) -> None:
        self.toasts: list[tuple[str, str]] = []
        self.later: list[Any] = []

    def notify(self, body: str, *, title: str, **_: Any) -> None:
        self.toasts.append((title, body))


def test_endings_in_one_moment_are_said_once_on_every_channel() -> None:
    app = FakeApp()
    notifier = Notifier(
        app,
        Channels(toast=True, bell=True, desktop=True),
        in_tmux=True,
        schedule=lambda delay, fn: app.later.append(fn),
    )
    notifier.job_ended(job(1, status="completed"))
    notifier.job_ended(job(2, status="failed", error_message="blocked"))
    assert len(app.later) == 1  # one flush for the burst
    app.later[0]()
    assert app.toasts == [("2 jobs ended", "1 done, 1 failed")]
    assert notifier.written[0] == "\a"
    assert all(s.startswith("\x1bPtmux;") for s in notifier.written[1:])
    assert len(notifier.written) == 3


def test_toast_only_by_default_and_batch_end_once() -> None:
    app = FakeApp()
    notifier = Notifier(app, Channels(), in_tmux=False, schedule=lambda d, fn: app.later.append(fn))
    batch = [job(n, batch_id="b", status="completed") for n in range(3)]
    assert batch_finished([*batch[:2], job(9, batch_id="b", status="queued")]) is None
    outcome = batch_finished(batch)
    assert outcome is not None and outcome.words() == "3 done"
    notifier.batch_ended("b", outcome)
    app.later[0]()
    assert app.toasts == [("Batch b finished", "3 done")] and notifier.written == []
    assert job_ended(JobEvent(batch[0], "sampling", "completed"))
    assert not job_ended(JobEvent(batch[0], None, "completed"))  # imported: ended long ago


def test_status_line_counts_the_history(tmp_path: Path) -> None:
    from tests.tui.queue_support import fill_mixed

    assert summary_line(read_counts(tmp_path / "none.sqlite3")) == "krea –"
    path = tmp_path / "history.sqlite3"
    fill_mixed(path, 12)
    store = JobStore(path)
    store.add_job("bfl/flux-1-dev", {"prompt": "x"})  # held: waiting
    store.close()
    line = summary_line(read_counts(path), tmux=True)
    assert line == "krea ▶0 ⏳1 ✓4 #[fg=red]✗6#[default]"


def test_status_command_is_fast_and_light(tmp_path: Path) -> None:
    """Run by tmux every few seconds: no textual, no httpx, exit 0 without any history."""
    probe = (
        "import sys; from krea_tui.cli import main; code = main(['status', '--tmux']);"
        "heavy = sorted({m.split('.')[0] for m in sys.modules} & {'textual', 'httpx', 'rich'});"
        "print(code, heavy)"
    )
    env = {"KREA_TUI_DATA_DIR": str(tmp_path), "KREA_TUI_CONFIG": str(tmp_path / "c.toml")}
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=30
    )
    assert out.stdout.splitlines() == ["krea –", "0 []"], out.stderr
