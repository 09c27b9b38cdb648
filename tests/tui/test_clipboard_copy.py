"""`y` inside tmux hands the ids to tmux, and the toast says where they went (a fake tmux here;
tests/e2e/test_tmux_clipboard.py has the real one)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from krea_tui.core.clipboard import FACTS_FORMAT, ClipboardRouter
from krea_tui.tui.app import KreaApp
from tests.tui.conftest import settle, until
from tests.tui.queue_support import main_screen, mixed_app

IN_TMUX = {"TMUX": "/tmp/tmux-1000/default,1,0"}


class FakeTmux:
    def __init__(self, set_clipboard: str) -> None:
        self.answer = f"3.3a|{set_clipboard}|xterm-256color|bpaste,clipboard,focus"
        self.buffers: list[tuple[list[str], str]] = []

    def run(self, argv: Sequence[str]) -> str | None:
        return self.answer if list(argv)[-1] == FACTS_FORMAT else None

    def feed(self, argv: Sequence[str], text: str) -> bool:
        self.buffers.append((list(argv), text))
        return True


def toasts(app: KreaApp) -> str:
    return " ".join(str(toast.render()) for toast in app.screen.query("Toast"))


async def copy_two_ids(app: KreaApp) -> list[str]:
    async with app.run_test(size=(120, 30), notifications=True) as pilot:
        await settle(pilot)
        table = main_screen(app).table
        ids = table.shown_ids()
        table.move_cursor(row=0)
        await pilot.press("space", "space", "y")
        await until(pilot, lambda: "Copied" in toasts(app), "the copy's toast")
        return [toasts(app), *(app.store.get(i).remote_id for i in ids[:2])]


async def test_y_inside_tmux_goes_to_tmuxs_buffer_and_the_toast_says_so(tmp_path: Path) -> None:
    app = mixed_app(tmp_path, 6)
    tmux = FakeTmux("external")
    app.clipboard_router = ClipboardRouter(env=IN_TMUX, run=tmux.run, feed=tmux.feed)
    said, *ids = await copy_two_ids(app)
    assert tmux.buffers == [(["tmux", "load-buffer", "-w", "-"], "\n".join(ids))]
    assert "Copied 2 job ids to tmux's paste buffer and your clipboard" in said


async def test_with_set_clipboard_off_the_toast_says_how_to_reach_the_clipboard(
    tmp_path: Path,
) -> None:
    app = mixed_app(tmp_path, 6)
    tmux = FakeTmux("off")
    app.clipboard_router = ClipboardRouter(env=IN_TMUX, run=tmux.run, feed=tmux.feed)
    said, *ids = await copy_two_ids(app)
    assert tmux.buffers == [(["tmux", "load-buffer", "-"], "\n".join(ids))]
    assert "to tmux's paste buffer (prefix ] pastes)" in said
    assert "not to your clipboard: `set -g set-clipboard on`" in said
