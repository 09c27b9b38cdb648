"""The real `krea-tui --demo` in a real terminal (tmux at 80×24), typed at as a user would.

Compose three jobs from one prompt, save a preset, watch them finish, open a result, quit,
start again: the history and the preset are still there. The screen is read back with
`tmux capture-pane`, so this sees what a user sees, escape sequences and all.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

DEADLINE = 60.0
# The job table's footer: on screen only once the app has drawn (the typed command line holds
# "DEMO" too, in KREA_TUI_DEMO_SPEED).
READY = "n New"


class Terminal:
    """One tmux server of our own (its own socket, no tmux.conf) with one 80×24 window."""

    def __init__(self, tmp_path: Path) -> None:
        self.socket = f"krea-e2e-{uuid.uuid4().hex[:8]}"
        self.tmp_path = tmp_path
        env = {
            "KREA_TUI_CONFIG": tmp_path / "config" / "config.toml",
            "KREA_TUI_DATA_DIR": tmp_path / "data",
            "KREA_TUI_OUTPUT_DIR": tmp_path / "out",
            "KREA_TUI_DEMO_SPEED": "10",
        }
        self.env = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in env.items())
        self.tmux("new-session", "-d", "-x", "80", "-y", "24", "sh")
        self.tmux("set-option", "-g", "escape-time", "0")

    def tmux(self, *args: str) -> str:
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        )
        return done.stdout

    def start_app(self) -> None:
        app = f"{shlex.quote(sys.executable)} -m krea_tui.cli --demo"
        self.type_line(f"env TERM=xterm-256color COLORTERM=truecolor {self.env} {app}; echo EXITED")

    def type_line(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)
        self.tmux("send-keys", "Enter")

    def keys(self, *keys: str) -> None:
        for key in keys:  # one at a time: "Escape q" in one call would arrive as alt+q
            self.tmux("send-keys", key)

    def text(self, text: str) -> None:
        self.tmux("send-keys", "-l", text)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p")

    def wait(self, condition: Callable[[str], bool], what: str) -> str:
        end = time.monotonic() + DEADLINE
        while True:
            screen = self.screen()
            if condition(screen):
                return screen
            if time.monotonic() > end:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{screen}")
            time.sleep(0.1)

    def wait_for(self, text: str) -> str:
        return self.wait(lambda screen: text in screen, repr(text))

    def quit_app(self) -> None:
        """q, and yes if the app asks; then the shell prompt is back (the screen is cleared)."""
        self.keys("q")
        self.wait(lambda s: "EXITED" in s or "Quit" in s, "quitting")
        if "EXITED" not in self.screen():
            self.keys("y")
        self.wait_for("EXITED")
        self.type_line("clear")
        self.wait(lambda s: "EXITED" not in s, "a clear screen")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Terminal]:
    term = Terminal(tmp_path)
    try:
        yield term
    finally:
        term.close()


def done_rows(screen: str) -> int:
    return sum(1 for line in screen.splitlines() if "done" in line and "paper boat" in line)


def test_a_new_user_composes_submits_views_saves_a_preset_and_comes_back(
    terminal: Terminal, tmp_path: Path
) -> None:
    terminal.start_app()
    terminal.wait_for(READY)

    terminal.keys("n")
    terminal.wait_for("Save preset")
    terminal.text("paper boat, {red|green|blue}")
    screen = terminal.wait_for("3 job(s)")
    assert "3 variants" in screen

    terminal.keys("F3")
    terminal.wait_for("Save the form's model and settings as a preset")
    terminal.text("boats")
    terminal.keys("Enter")
    terminal.wait(lambda s: "Save the form" not in s, "the save dialog to close")
    assert (tmp_path / "config" / "presets.toml").exists()

    terminal.keys("C-s")
    screen = terminal.wait(lambda s: done_rows(s) == 3, "three jobs done")
    for colour in ("red", "green", "blue"):
        assert f"paper boat, {colour}" in screen

    saved = time.monotonic() + DEADLINE
    while len(list((tmp_path / "out").rglob("*.png"))) < 3:  # "done" shows before the download
        assert time.monotonic() < saved, "the three results were not saved"
        time.sleep(0.1)
    terminal.keys("Enter")  # the cursor row's result, in the viewer
    screen = terminal.wait(lambda s: s.count("▀") > 100, "the picture as half-cells")
    terminal.keys("Escape")
    terminal.wait(lambda s: done_rows(s) == 3, "the job list again")

    terminal.quit_app()
    assert len(list((tmp_path / "out").rglob("*.png"))) == 3

    terminal.start_app()
    screen = terminal.wait(lambda s: done_rows(s) == 3, "the history after a restart")
    terminal.keys("n")
    terminal.wait_for("Save preset")
    terminal.keys("F2")
    screen = terminal.wait_for("enter loads")
    assert "boats" in screen and "bfl/flux-1-dev" in screen
    terminal.keys("Escape")
    terminal.wait(lambda s: "enter loads" not in s, "the preset list to close")
    terminal.keys("Escape")
    terminal.wait(lambda s: done_rows(s) == 3, "the job list")
    terminal.quit_app()
    assert os.path.exists(tmp_path / "data" / "demo-history.sqlite3")
