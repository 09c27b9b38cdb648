"""The driver reached through public API (tui/terminal.py): the app's driver class is
Textual's own, made to hand itself to the app's TerminalWriter."""

from __future__ import annotations

import asyncio
from pathlib import Path

from textual.app import App
from textual.drivers.headless_driver import HeadlessDriver

from krea_tui.config import Settings
from krea_tui.tui.app import KreaApp
from krea_tui.tui.terminal import TerminalWriter, writing_driver


def test_the_app_driver_attaches_itself_and_writes_in_order(tmp_path: Path) -> None:
    app = KreaApp(Settings(data_dir=tmp_path / "d", output_dir=tmp_path / "o", demo=True))
    assert isinstance(app.terminal_writer, TerminalWriter)
    assert not app.terminal_writer.write("\x1b]9;x\x07")  # no terminal yet
    assert writing_driver(HeadlessDriver) is writing_driver(HeadlessDriver)
    written: list[str] = []

    class Recording(HeadlessDriver):
        def write(self, data: str) -> None:
            written.append(data)

    async def make() -> None:
        writing_driver(Recording)(app)

    asyncio.run(make())
    assert app.terminal_writer.write("\x1b]9;x\x07")
    assert written == ["\x1b]9;x\x07"]
    # Textual's own choice of driver, made to attach itself.
    assert issubclass(app.driver_class, App.get_driver_class(app))
