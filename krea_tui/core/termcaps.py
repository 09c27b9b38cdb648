"""What the terminal can draw, asked of the terminal itself, and how big a picture is on it.

A terminal's name (TERM) says little: Debian 12's kitty 0.26 calls itself xterm-kitty like
kitty 0.35 does, yet only kitty ≥ 0.28 draws Unicode-placeholder placements (`U=1`); older
ones log "invalid key character: 0x55" and show empty cells. So the route comes from the
terminal's answers: XTVERSION (name and version), kitty's graphics query, the cell size in
pixels (CSI 16 t) and DA1, whose attribute 4 means Sixel. DA1 is asked last because every
terminal answers it: once its reply is in, every other reply that is coming has come.

The probe must run before Textual starts reading stdin, or Textual swallows the replies.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import struct
import sys
import time
from dataclasses import dataclass
from typing import Literal

Protocol = Literal["kitty", "kitty-direct", "sixel", "halfcell"]

# Kitty's Unicode-placeholder placements (U=1) arrived in 0.28.0.
KITTY_PLACEHOLDERS_SINCE = (0, 28, 0)
# An arbitrary id for the query image; the terminal echoes it and stores nothing (a=q).
QUERY_ID = 31
# Over SSH a reply takes a round trip; 2 s covers a slow link without hanging a silent one long.
PROBE_TIMEOUT = 2.0


@dataclass(frozen=True)
class CellSize:
    width: int
    height: int


# What most terminal fonts come close to, and what textual-image assumes when nothing answers.
DEFAULT_CELL = CellSize(10, 20)


@dataclass(frozen=True)
class TerminalAnswers:
    name: str = ""
    version: str = ""
    kitty_graphics: bool = False
    sixel: bool = False
    cell: CellSize | None = None
    complete: bool = False  # the DA1 reply came, so nothing else is still on its way


@dataclass(frozen=True)
class Route:
    protocol: Protocol
    reason: str
    fix: str = ""  # what the user can change for real pixels, where something can


def probe_request(tmux: bool = False) -> bytes:
    """The probe's queries. Inside tmux the kitty query is left out: tmux would answer for
    itself anyway, and it takes an APC sequence for a pane title (the status line then reads
    "Gi=31,s=1,…")."""
    kitty = b"" if tmux else f"\x1b_Gi={QUERY_ID},s=1,v=1,a=q,t=d,f=24;AAAA\x1b\\".encode()
    return (
        b"\x1b[>0q"  # XTVERSION
        + kitty
        + b"\x1b[16t"  # cell size in pixels
        + b"\x1b[c"  # DA1, the sentinel
    )


_XTVERSION = re.compile(rb"\x1bP>\|([^\x1b]*)\x1b\\")
_KITTY_REPLY = re.compile(rb"\x1b_G([^;\x1b]*);([^\x1b]*)\x1b\\")
_CELL_REPLY = re.compile(rb"\x1b\[6;(\d+);(\d+)t")
_DA1_REPLY = re.compile(rb"\x1b\[\?([\d;]*)c")
_NAME_VERSION = re.compile(r"^\s*([^\s(]+)(?:\s*\(([^)]*)\)|\s+(\S+))?")


def parse_name_version(text: str) -> tuple[str, str]:
    """A terminal's XTVERSION text as (name, version): "kitty(0.26.5)", "XTerm(379)",
    "WezTerm 20240203-110809-5046fc22", "tmux 3.3a"."""
    match = _NAME_VERSION.match(text)
    if not match:
        return "", ""
    return match.group(1), match.group(2) or match.group(3) or ""


def parse_answers(data: bytes) -> TerminalAnswers:
    name = version = ""
    found = _XTVERSION.search(data)
    if found:
        name, version = parse_name_version(found.group(1).decode("utf-8", "replace"))
    kitty = any(
        reply.group(2).startswith(b"OK") and f"i={QUERY_ID}".encode() in reply.group(1)
        for reply in _KITTY_REPLY.finditer(data)
    )
    cell = None
    size = _CELL_REPLY.search(data)
    if size and int(size.group(1)) > 0 and int(size.group(2)) > 0:
        cell = CellSize(width=int(size.group(2)), height=int(size.group(1)))
    da1 = _DA1_REPLY.search(data)
    sixel = da1 is not None and "4" in da1.group(1).decode().split(";")
    return TerminalAnswers(name, version, kitty, sixel, cell, complete=da1 is not None)


def version_tuple(text: str) -> tuple[int, ...]:
    """The leading numbers of a version: "0.26.5" → (0, 26, 5); nothing numeric → ()."""
    numbers: list[int] = []
    for part in text.split("."):
        digits = re.match(r"\d+", part)
        if not digits:
            break
        numbers.append(int(digits.group()))
        if digits.group() != part:
            break
    return tuple(numbers)


def draws_placeholders(answers: TerminalAnswers) -> bool:
    """Known to draw kitty's Unicode-placeholder placements."""
    name = answers.name.lower()
    if name == "kitty":
        return version_tuple(answers.version) >= KITTY_PLACEHOLDERS_SINCE
    return name == "ghostty"


def choose_route(setting: str, answers: TerminalAnswers) -> Route:
    """How to draw pictures, given the user's setting and the terminal's answers (outside
    tmux: krea_tui.core.tmux_route decides inside).

    Placeholders are text to Textual, so toasts and dialogs cover them properly: they are
    used where the terminal is known to draw them. Direct placements are the protocol's
    baseline (every kitty version, WezTerm, Konsole) and the fallback for the rest.
    """
    who = f"{answers.name} {answers.version}".strip() or "the terminal"
    if setting == "halfcell":
        return Route("halfcell", "image_protocol = halfcell")
    if setting == "sixel":
        return Route("sixel", "image_protocol = sixel")
    if setting == "kitty":
        if draws_placeholders(answers):
            return Route("kitty", f"image_protocol = kitty; {who} draws placeholders")
        return Route(
            "kitty-direct",
            f"image_protocol = kitty; {who} is not known to draw placeholders "
            "(kitty ≥ 0.28): direct placements",
        )
    if answers.name.lower() == "kitty" or (answers.kitty_graphics and draws_placeholders(answers)):
        if draws_placeholders(answers):
            return Route("kitty", f"{who}: kitty graphics with Unicode placeholders")
        return Route(
            "kitty-direct",
            f"{who}: kitty graphics; placeholders need kitty ≥ 0.28, so direct placements",
        )
    if answers.sixel:
        return Route("sixel", f"{who} lists Sixel in its device attributes")
    if answers.kitty_graphics:
        return Route("kitty-direct", f"{who} answered the kitty graphics query")
    if not answers.complete:
        return Route("halfcell", f"{who} did not answer the graphics probe")
    return Route("halfcell", f"{who} answered, but draws neither kitty graphics nor Sixel")


def fit_box(image_w: int, image_h: int, cols: int, rows: int, cell: CellSize) -> tuple[int, int]:
    """The largest (cols, rows) box inside cols×rows that shows the picture with its own
    aspect in pixels, given the cell's size in pixels: cells are rarely exactly twice as
    tall as wide (xterm's default font: 6×13).

    The width is rounded down and the height to the nearest row, as the app always did, so
    with 10×20 cells every box is the one it was before cell sizes were known."""
    cols, rows = max(1, cols), max(1, rows)
    # The picture's width over its height, counted in cells.
    aspect = (image_w / max(1, image_h)) * (cell.height / max(1, cell.width))
    # The epsilon: a picture exactly as wide as the rows allow must not lose a column to
    # float rounding (4.0 computed as 3.9999…).
    width = max(1, min(cols, int(rows * aspect + 1e-9)))
    height = max(1, round(width / aspect))
    return width, min(rows, height)


def window_cell_size(fd: int) -> CellSize | None:
    """The cell size from the tty's window size (TIOCGWINSZ), where the terminal fills in
    its pixel fields; None where it leaves them 0 (many do, and tmux often does)."""
    try:
        import fcntl
        import termios

        packed = fcntl.ioctl(fd, termios.TIOCGWINSZ, b"\0" * 8)
    except (ImportError, OSError):
        return None
    rows, cols, width_px, height_px = struct.unpack("HHHH", packed)
    if not (rows and cols and width_px and height_px):
        return None
    return CellSize(width_px // cols, height_px // rows)


def read_answers(
    fd_in: int, fd_out: int, timeout: float = PROBE_TIMEOUT, request: bytes | None = None
) -> bytes:
    """Send the probe on fd_out and read the replies from fd_in (a tty in raw mode is the
    caller's job) until DA1's reply or the deadline."""
    os.write(fd_out, probe_request() if request is None else request)
    data = b""
    deadline = time.monotonic() + timeout
    while not _DA1_REPLY.search(data):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([fd_in], [], [], left)
        if not ready:
            break
        chunk = os.read(fd_in, 4096)
        if not chunk:
            break
        data += chunk
    return data


def _ask(request: bytes, timeout: float) -> tuple[bytes, int] | None:
    """Send `request` to the terminal on stdout and read stdin, raw, until DA1's reply; None
    where stdin or stdout is not a POSIX terminal. Also gives stdout's descriptor."""
    try:
        fd_in, fd_out = sys.stdin.fileno(), sys.stdout.fileno()
    except (AttributeError, ValueError, OSError):
        return None
    if not (os.isatty(fd_in) and os.isatty(fd_out)):
        return None
    try:
        import termios
        import tty
    except ImportError:  # not a POSIX terminal
        return None
    try:
        saved = termios.tcgetattr(fd_in)
    except termios.error:
        return None
    try:
        tty.setraw(fd_in, termios.TCSANOW)
        data = read_answers(fd_in, fd_out, timeout, request)
    except OSError:
        data = b""
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd_in, termios.TCSADRAIN, saved)
    return data, fd_out


def settle_replies(timeout: float = PROBE_TIMEOUT) -> None:
    """Read away replies still on their way to stdin (another probe's, late over SSH), so
    they never reach Textual as keys: the terminal answers in order, so once a fresh DA1's
    reply is read, everything asked before it has been read too."""
    _ask(b"\x1b[c", timeout)


def probe_terminal(timeout: float = PROBE_TIMEOUT) -> TerminalAnswers:
    """Ask the terminal on stdin/stdout; TerminalAnswers() if either is not a terminal."""
    asked = _ask(probe_request(tmux=bool(os.environ.get("TMUX"))), timeout)
    if asked is None:
        return TerminalAnswers()
    data, fd_out = asked
    answers = parse_answers(data)
    # The window size is exact where the terminal fills it in; the reply is the fallback.
    cell = window_cell_size(fd_out) or answers.cell
    return TerminalAnswers(
        answers.name,
        answers.version,
        answers.kitty_graphics,
        answers.sixel,
        cell,
        answers.complete,
    )
