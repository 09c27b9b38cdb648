"""`y` in the real `krea-tui --demo` inside a real tmux left at `set-clipboard external`.

A program's own OSC 52 is dropped by such a tmux, so the ids must reach tmux some other way:
this test reads them back with `tmux show-buffer`, watches the bytes tmux sends to the
terminal attached to it (a pty standing in for the user's terminal emulator) for the clipboard
sequence carrying them, and reads the toast off the screen.
"""

from __future__ import annotations

import base64
import contextlib
import fcntl
import os
import pty
import shlex
import shutil
import sqlite3
import struct
import sys
import termios
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.test_tmux_demo import DEADLINE, READY, Terminal, done_rows

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


class AttachedTerminal:
    """The user's terminal emulator: a tmux client on an 80×24 pty whose output is kept."""

    def __init__(self, socket: str) -> None:
        self.output = bytearray()
        self._lock = threading.Lock()
        pid, fd = pty.fork()
        if pid == 0:  # the child: becomes the tmux client
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
            env = {k: v for k, v in os.environ.items() if k != "TMUX"}
            env["TERM"] = "xterm-256color"  # tmux's default terminal-features give it clipboard
            os.execvpe("tmux", ["tmux", "-L", socket, "-f", "/dev/null", "attach"], env)
        self.pid, self.fd = pid, fd
        # Drained all the time: a client whose terminal stops reading makes tmux stall.
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:
                return
            if not chunk:
                return
            with self._lock:
                self.output.extend(chunk)

    def received(self) -> bytes:
        with self._lock:
            return bytes(self.output)

    def close(self) -> None:
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def sent_ids(history: Path) -> set[str]:
    """The Krea ids of the jobs in the history, read as any SQLite reader would (read-only,
    so the app's own store code and its migrations stay out of this)."""
    with contextlib.closing(sqlite3.connect(f"file:{history}?mode=ro", uri=True)) as db:
        rows = db.execute("SELECT remote_id FROM jobs WHERE remote_id IS NOT NULL").fetchall()
    assert len(rows) == 2, rows
    return {row[0] for row in rows}


def toast_text(screen: str) -> str:
    """The words of the toast (right-hand side of the screen), its wrapped lines joined."""
    parts = [line.split("▌")[-1].strip() for line in screen.splitlines() if "▌" in line]
    return " ".join(" ".join(parts).split())


def test_y_inside_tmux_with_set_clipboard_external_reaches_the_buffer_and_the_terminal(
    terminal: Terminal, tmp_path: Path
) -> None:
    terminal.tmux("set-option", "-g", "set-clipboard", "external")
    attached = AttachedTerminal(terminal.socket)
    try:
        app = f"{shlex.quote(sys.executable)} -m krea_tui.cli --demo"
        # No DISPLAY: a test must not write to the desktop clipboard of whoever runs it.
        terminal.type_line(
            "env -u DISPLAY -u WAYLAND_DISPLAY -u SSH_CONNECTION -u SSH_TTY TERM=xterm-256color "
            f"COLORTERM=truecolor {terminal.env} {app}; echo EXITED"
        )
        terminal.wait_for(READY)
        terminal.keys("n")
        terminal.wait_for("Save preset")
        terminal.text("paper boat, {red|green}")
        terminal.wait_for("2 job(s)")
        terminal.keys("C-s")
        terminal.wait(lambda s: done_rows(s) == 2, "two jobs done")

        terminal.keys("A")  # mark all shown: both, wherever the cursor went
        terminal.wait_for("2 marked")
        terminal.keys("y")
        screen = terminal.wait(lambda s: "Copied 2 job ids" in toast_text(s), "the copy's toast")
        said = toast_text(screen)
        assert "Copied 2 job ids to tmux's paste buffer and your clipboard" in said, said

        copied = terminal.tmux("show-buffer")
        assert set(copied.splitlines()) == sent_ids(tmp_path / "data" / "demo-history.sqlite3")

        sequence = b"]52;;" + base64.b64encode(copied.encode())
        end = time.monotonic() + DEADLINE
        while sequence not in attached.received():
            assert time.monotonic() < end, "tmux did not pass the copy on to the terminal"
            time.sleep(0.05)
        terminal.quit_app()

        # doctor, in the same pane, says the same as the toast did.
        report = tmp_path / "doctor.txt"
        terminal.type_line(
            f"env COLUMNS=200 {terminal.env} {app.replace('--demo', 'doctor --demo')} "
            f"> {shlex.quote(str(report))} 2>&1; echo end-of-report >> {shlex.quote(str(report))}"
        )
        end = time.monotonic() + DEADLINE
        while not (report.exists() and "end-of-report" in report.read_text()):
            assert time.monotonic() < end, "doctor did not finish"
            time.sleep(0.05)
        said = report.read_text()
        clipboard = [line for line in said.splitlines() if "clipboard" in line]
        assert any(
            line.startswith("ok    clipboard") and "and on to your terminal's clipboard" in line
            for line in clipboard
        ), said
        assert not any(line.startswith("WARN") for line in clipboard), clipboard
    finally:
        attached.close()
