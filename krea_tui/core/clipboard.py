"""Where a copy goes, decided in one place for the TUI's copy keys and for `krea-tui doctor`.

Inside tmux, an OSC 52 sequence written by a program reaches the terminal only with
`set-clipboard on`; at tmux's default, `external`, tmux drops it without a word. So inside tmux
the text is handed to tmux itself: `tmux load-buffer -w -` keeps it as a paste buffer and
(tmux ≥ 3.2) sends it on to the terminal's clipboard, the way tmux's own copy mode does.
Measured with tmux 3.3a (and so in tmux's source to date): `-w` passes the text on whatever
set-clipboard says, if tmux knows the attached terminal takes clipboard copies (its
`clipboard` feature). We follow copy mode's rule and do not pass it on when set-clipboard is
`off`: that is the user telling tmux to leave the clipboard alone.

Outside tmux, OSC 52 goes to the terminal (over SSH it reaches the user's own machine), and a
local tool (wl-copy, xclip, xsel, pbcopy) is used as well when not over SSH. Every look at
tmux or a tool is a subprocess with a timeout: callers keep it off their event loop.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

TIMEOUT = 2.0
# One query for everything the route depends on. The client_* fields are empty when no
# terminal is attached to the session.
FACTS_FORMAT = "#{version}|#{set-clipboard}|#{client_termname}|#{client_termfeatures}"
SET_CLIPBOARD_ON = "`set -g set-clipboard on`"
# name, argv, the variable that must be set for the tool to reach a display
LOCAL_TOOLS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("wl-copy", ("wl-copy",), "WAYLAND_DISPLAY"),
    ("xclip", ("xclip", "-selection", "clipboard"), "DISPLAY"),
    ("xsel", ("xsel", "--clipboard", "--input"), "DISPLAY"),
    ("pbcopy", ("pbcopy",), None),
)

Run = Callable[[Sequence[str]], str | None]
Feed = Callable[[Sequence[str], str], bool]
Which = Callable[[str], str | None]


def run_command(argv: Sequence[str]) -> str | None:
    """A command's output, or None when it is missing, fails or hangs."""
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def feed_command(argv: Sequence[str], text: str) -> bool:
    """Give `text` to a command on its stdin; True when it took it."""
    try:
        # No pipes for its output: xclip and wl-copy leave a child running that keeps them open.
        done = subprocess.run(
            argv,
            input=text.encode(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


@dataclass(frozen=True, slots=True)
class TmuxFacts:
    version: str  # "3.3a", "next-3.6", "master"; "" when tmux would not say
    set_clipboard: str  # on, external, off; "" when unknown
    client_terminal: str  # the attached terminal's TERM; "" when none is attached
    client_features: frozenset[str] = field(default_factory=frozenset)

    @property
    def passes_on(self) -> bool:
        """`load-buffer -w` exists (tmux 3.2)."""
        if self.version == "master":
            return True
        found = re.search(r"(\d+)\.(\d+)", self.version)
        return found is not None and (int(found[1]), int(found[2])) >= (3, 2)


def ask_tmux(run: Run) -> TmuxFacts | None:
    """What the tmux we run in says about itself and its client; None when it does not answer."""
    answer = run(["tmux", "display-message", "-p", FACTS_FORMAT])
    if answer is None:
        return None
    fields = answer.split("|", 3)
    version, set_clipboard, terminal, features = fields + [""] * (4 - len(fields))
    return TmuxFacts(
        version, set_clipboard, terminal, frozenset(f for f in features.split(",") if f)
    )


@dataclass(frozen=True, slots=True)
class Route:
    via: Literal["tmux", "osc52"]
    buffer: bool = False  # the text lands in tmux's paste buffer
    pass_on: bool = False  # `load-buffer -w`: tmux sends it on to the terminal's clipboard
    clipboard: bool = False  # the user's clipboard is expected to get it (OSC 52 or -w)
    local: tuple[str, ...] | None = None  # a local clipboard tool, also used
    caveat: str = ""  # why the clipboard is not reached
    fix: str = ""
    tmux: TmuxFacts | None = None
    over_ssh: bool = False

    @property
    def osc52(self) -> bool:
        """We write the OSC 52 sequence ourselves."""
        return self.via == "osc52"

    @property
    def where(self) -> str:
        """Where the text goes, in words."""
        if self.via == "tmux":
            version = self.tmux.version if self.tmux else ""
            how = "load-buffer -w" if self.pass_on else "load-buffer"
            onward = " and on to your terminal's clipboard" if self.clipboard else ""
            return f"handed to tmux {version} ({how}): into its paste buffer{onward}"
        if self.buffer:
            return "OSC 52, which tmux (set-clipboard on) keeps and passes on to your clipboard"
        if not self.clipboard:
            return "sent as an OSC 52 escape sequence"
        if self.over_ssh:
            return "OSC 52 escape sequence: reaches your own machine's clipboard, over SSH too"
        return "OSC 52 escape sequence: reaches the clipboard"


def local_tool(env: Mapping[str, str], which: Which) -> tuple[str, ...] | None:
    """The first clipboard tool that is installed and has a display to reach."""
    for name, argv, needs in LOCAL_TOOLS:
        if which(name) and (needs is None or env.get(needs)):
            return argv
    return None


def is_over_ssh(env: Mapping[str, str]) -> bool:
    return bool(env.get("SSH_CONNECTION") or env.get("SSH_TTY"))


def decide(env: Mapping[str, str], tmux: TmuxFacts | None, local: tuple[str, ...] | None) -> Route:
    """The route for a copy, from the environment and what tmux said (None: it did not)."""
    over_ssh = is_over_ssh(env)
    # The server's clipboard is not the user's when they are connected over SSH.
    local = None if over_ssh else local
    if not env.get("TMUX"):
        if env.get("TERM_PROGRAM") == "Apple_Terminal":
            return Route(
                "osc52",
                local=local,
                caveat="Terminal.app ignores OSC 52",
                fix="iTerm2, kitty, Ghostty or WezTerm take OSC 52 copies",
                over_ssh=over_ssh,
            )
        return Route("osc52", clipboard=True, local=local, over_ssh=over_ssh)
    if tmux is None:
        return Route(
            "osc52",
            local=local,
            caveat="tmux did not answer, and it passes a program's OSC 52 on only with "
            "set-clipboard on",
            fix=SET_CLIPBOARD_ON,
            over_ssh=over_ssh,
        )
    tmux_route = Route("tmux", buffer=True, local=local, tmux=tmux, over_ssh=over_ssh)
    if not tmux.passes_on:
        if tmux.set_clipboard == "on":
            return replace(tmux_route, via="osc52", clipboard=True)
        return replace(
            tmux_route,
            caveat=f"tmux {tmux.version or '(old)'} passes copies on only with set-clipboard on",
            fix=SET_CLIPBOARD_ON,
        )
    if tmux.set_clipboard == "off":
        return replace(tmux_route, caveat="tmux's set-clipboard is off", fix=SET_CLIPBOARD_ON)
    terminal = tmux.client_terminal
    if not terminal:
        return replace(tmux_route, caveat="no terminal is attached to tmux")
    if "clipboard" not in tmux.client_features:
        return replace(
            tmux_route,
            pass_on=True,
            caveat=f"tmux does not know that {terminal} takes clipboard copies",
            fix=f"`set -as terminal-features ',{terminal}:clipboard'`, then attach again",
        )
    return replace(tmux_route, pass_on=True, clipboard=True)


def shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "…"


@dataclass(frozen=True, slots=True)
class Copied:
    """What happened to one copy."""

    route: Route
    local: bool = False  # the local tool took it

    @property
    def reached_clipboard(self) -> bool:
        return self.route.clipboard or self.local

    def message(self, what: str, text: str) -> str:
        places = ["tmux's paste buffer"] if self.route.buffer else []
        if self.reached_clipboard:
            places.append("your clipboard")
            how = " (OSC 52)" if self.route.osc52 and not self.route.buffer else ""
            return f"Copied {what} to {' and '.join(places)}{how}: {shorten(text)}"
        fix = f": {self.route.fix}" if self.route.fix else ""
        if places:
            return (
                f"Copied {what} to tmux's paste buffer (prefix ] pastes); "
                f"{self.route.caveat}, so not to your clipboard{fix}"
            )
        return f"Sent {what} as OSC 52, but {self.route.caveat}{fix}"


@dataclass(frozen=True, slots=True)
class ClipboardRouter:
    """Decides the route (anew for each copy: the user may attach from another terminal) and
    copies along it. Blocking: run it in a thread."""

    env: Mapping[str, str] | None = None  # None: this process's environment, read at each copy
    run: Run = run_command
    feed: Feed = feed_command
    which: Which = shutil.which

    def route(self) -> Route:
        env = os.environ if self.env is None else self.env
        tmux = ask_tmux(self.run) if env.get("TMUX") else None
        return decide(env, tmux, local_tool(env, self.which))

    def copy(self, text: str) -> Copied:
        """Hand `text` to tmux and the local tool as the route says. OSC 52, when the route
        asks for it, is the caller's to write: it goes to the terminal, in order with frames."""
        route = self.route()
        if route.via == "tmux":
            argv = ["tmux", "load-buffer", *(["-w"] if route.pass_on else []), "-"]
            if not self.feed(argv, text):
                env = os.environ if self.env is None else self.env
                route = decide(env, None, route.local)
        local = route.local is not None and self.feed(route.local, text)
        return Copied(route, local)
