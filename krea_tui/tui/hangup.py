"""Quitting when the terminal goes away (a dropped SSH session, a killed tmux).

On a hang-up the kernel sends SIGHUP and then SIGCONT. Textual's terminal driver takes any
SIGCONT for a resume after ctrl+z and starts a second output thread; once the terminal is gone
every write fails, the output threads end, and the next frames fill their queue and block the
event loop for good. A hung app still counts as the live owner of the jobs it sent, so no other
process would save their pictures.

So SIGHUP is handled by a plain `signal` handler, which Python runs before the SIGCONT handler
(pending signals run in number order). It restores SIGCONT's default, and when the terminal
really is gone it points the output descriptors at /dev/null, so the app's last frames and its
terminal-restoring sequences go nowhere instead of blocking; then the app quits as `q` does,
waiting for POSTs under way. A SIGHUP sent while the terminal is still there (`kill -HUP`) only
quits: the terminal gets its normal mode back.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import termios
from collections.abc import Callable
from types import FrameType
from typing import Any

OUTPUT_FDS = (1, 2)  # Textual draws on stderr; stdout for anything printed on the way out


def terminal_gone(fd: int) -> bool:
    """True when `fd` was a terminal that has hung up (its ioctls answer EIO)."""
    try:
        termios.tcgetattr(fd)
    except termios.error as exc:
        return bool(exc.args) and exc.args[0] == 5  # EIO; ENOTTY means it never was one
    except OSError:
        return False
    return False


def silence_output() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in OUTPUT_FDS:
            with contextlib.suppress(OSError):
                os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def quit_on_hang_up(
    loop: asyncio.AbstractEventLoop, quit: Callable[[], None]
) -> Callable[[], None]:
    """Handle SIGHUP by calling `quit` on `loop`; returns what puts the old handler back.
    Does nothing off the main thread (signal handlers can only be set there)."""

    def hung_up(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ValueError, OSError):
            signal.signal(signal.SIGCONT, signal.SIG_DFL)
        if any(terminal_gone(fd) for fd in (0, *OUTPUT_FDS)):
            silence_output()
        loop.call_soon_threadsafe(quit)

    try:
        previous: Any = signal.signal(signal.SIGHUP, hung_up)
    except (ValueError, OSError, AttributeError):
        return lambda: None

    def restore() -> None:
        with contextlib.suppress(ValueError, OSError, TypeError):
            signal.signal(signal.SIGHUP, previous)

    return restore
