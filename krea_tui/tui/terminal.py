"""A way to write escape sequences to the terminal, in order with Textual's frames, through
public API only.

Textual's App does not expose its driver and offers no method to write a raw
sequence other than the bell (`App.bell`) and OSC 52 (`App.copy_to_clipboard`). The driver
class, though, is the App's public choice (`App.get_driver_class`) and `Driver.write` is
public: `writing_driver` makes a subclass of the driver Textual would use that hands itself
to the app when made (`TerminalWriter.attach`). Headless apps (tests) never make one.
"""

from __future__ import annotations

from typing import Any

from textual.driver import Driver

_MADE: dict[type[Driver], type[Driver]] = {}


class TerminalWriter:
    """What the app holds: the running driver, once a real terminal's driver is made."""

    def __init__(self) -> None:
        self.driver: Driver | None = None

    def attach(self, driver: Driver) -> None:
        self.driver = driver

    def write(self, sequence: str) -> bool:
        """Write `sequence` after what the driver has queued; False without a terminal."""
        if self.driver is None:
            return False
        self.driver.write(sequence)
        return True


def writing_driver(base: type[Driver]) -> type[Driver]:
    """`base`, made to attach itself to its app's `terminal_writer` when made."""
    made = _MADE.get(base)
    if made is None:

        def __init__(self: Driver, app: Any, *args: Any, **kwargs: Any) -> None:
            base.__init__(self, app, *args, **kwargs)
            writer = getattr(app, "terminal_writer", None)
            if isinstance(writer, TerminalWriter):
                writer.attach(self)

        namespace = {"__init__": __init__, "__module__": __name__}
        made = _MADE[base] = type(base.__name__, (base,), namespace)
    return made
