"""How pictures are drawn inside tmux, from what tmux says of the terminal outside.

Inside tmux, the terminal's answers to the probe come from tmux itself ("tmux 3.3a"), so the
terminal outside is known only through tmux: `client_termtype` holds its own XTVERSION answer
("kitty(0.26.5)"), `allow-passthrough` whether escapes may reach it. Only Unicode placeholders
survive tmux: they are text, which tmux keeps in its grid, moves, clips and draws again when
the pane comes back, while the picture itself reaches the terminal once through passthrough.
Direct placements would float at the wrong place, so kitty before 0.28 gets half-cells. A tmux
built with Sixel draws Sixel itself, and says so in its own DA1 answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from krea_tui.core.clipboard import Run
from krea_tui.core.termcaps import Route, TerminalAnswers, draws_placeholders, parse_name_version

PASSTHROUGH_FIX = "add `set -g allow-passthrough on` to ~/.tmux.conf (tmux ≥ 3.3)"
COLOURS_FIX = (
    'add `set -g default-terminal "tmux-256color"` to ~/.tmux.conf, then restart tmux '
    "(tmux kill-server)"
)


@dataclass(frozen=True)
class TmuxClient:
    termname: str = ""  # client_termname: TERM outside, e.g. xterm-kitty
    termtype: str = ""  # client_termtype: the terminal's XTVERSION answer, e.g. kitty(0.26.5)
    passthrough: str = ""  # allow-passthrough: on, all, off; empty where tmux has no such option


def read_tmux_client(run: Run) -> TmuxClient:
    """Ask the tmux this process runs in; `run` gives a command's output or None."""
    shown = run(["tmux", "display-message", "-p", "#{client_termname}\t#{client_termtype}"])
    termname, _, termtype = (shown or "").partition("\t")
    passthrough = run(["tmux", "show-options", "-gv", "allow-passthrough"]) or ""
    return TmuxClient(termname.strip(), termtype.strip(), passthrough.strip())


def colour_depth(env: Mapping[str, str]) -> str:
    """truecolor, 256, basic or none: what the app will send, from the environment as Rich
    (and so Textual) reads it."""
    if "NO_COLOR" in env:
        return "none"
    if env.get("COLORTERM", "").lower() in ("truecolor", "24bit"):
        return "truecolor"
    if env.get("TERM", "").endswith("256color"):
        return "256"
    return "basic"


def choose_tmux_route(
    setting: str, inner: TerminalAnswers, client: TmuxClient, colours: str
) -> Route:
    """The route inside tmux. `inner` is tmux's own answer to the probe."""
    name, version = parse_name_version(client.termtype)
    outside = TerminalAnswers(name=name, version=version)
    who = f"{name} {version}".strip() or client.termname or "the terminal outside"
    passes = client.passthrough in ("on", "all")
    if setting == "halfcell":
        return Route("halfcell", "image_protocol = halfcell")
    if setting == "sixel":
        return Route("sixel", "image_protocol = sixel")
    if colours in ("basic", "none"):
        return Route(
            "halfcell",
            f"inside tmux with {colours} colours: placeholders carry the picture's id in a "
            "256-colour foreground",
            COLOURS_FIX if colours == "basic" else "unset NO_COLOR",
        )
    if setting == "kitty":
        return Route(
            "kitty",
            "image_protocol = kitty inside tmux: Unicode placeholders"
            + ("" if passes else ", but allow-passthrough is off, so none will arrive"),
            "" if passes else PASSTHROUGH_FIX,
        )
    if draws_placeholders(outside):
        if passes:
            return Route(
                "kitty", f"inside tmux, {who} outside draws Unicode placeholders (passthrough on)"
            )
        return Route(
            "halfcell",
            f"inside tmux, {who} outside could draw pictures, but allow-passthrough is "
            f"{client.passthrough or 'not supported'}",
            PASSTHROUGH_FIX,
        )
    if inner.sixel:
        return Route(
            "sixel", "inside tmux, which draws Sixel itself (its device attributes list it)"
        )
    if name.lower() == "kitty":
        return Route(
            "halfcell",
            f"inside tmux, {who} outside draws no Unicode placeholders (they need kitty ≥ 0.28), "
            "and direct placements cannot pass through tmux",
            "upgrade kitty to 0.28 or later, or run krea-tui outside tmux",
        )
    if not client.termtype:
        return Route(
            "halfcell",
            f"inside tmux, which does not say which terminal is outside ({client.termname or '?'})",
            'with kitty ≥ 0.28 or Ghostty outside: set image_protocol = "kitty"',
        )
    return Route(
        "halfcell",
        f"inside tmux, {who} outside draws no Unicode placeholders, and this tmux has no Sixel",
        "kitty ≥ 0.28 or Ghostty show real pixels inside tmux",
    )
