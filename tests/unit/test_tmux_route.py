"""Inside tmux the route comes from what tmux says of the terminal outside: its XTVERSION
answer (client_termtype) and allow-passthrough. On main every tmux got half-cells unless the
user exported a variable, and with it kitty 0.26 outside was sent placeholders it cannot draw.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from krea_tui.core.termcaps import Route, TerminalAnswers
from krea_tui.core.tmux_route import (
    TmuxClient,
    choose_tmux_route,
    colour_depth,
    read_tmux_client,
)
from krea_tui.tui import images

TMUX_ITSELF = TerminalAnswers(name="tmux", version="3.3a", complete=True)
TMUX_WITH_SIXEL = TerminalAnswers(name="tmux", version="3.4", sixel=True, complete=True)
KITTY_NEW = TmuxClient("xterm-kitty", "kitty(0.35.2)", "on")
KITTY_OLD = TmuxClient("xterm-kitty", "kitty(0.26.5)", "on")
XTERM = TmuxClient("xterm", "XTerm(379)", "on")


def test_kitty_that_draws_placeholders_gets_them_through_passthrough() -> None:
    route = choose_tmux_route("auto", TMUX_ITSELF, KITTY_NEW, "256")
    assert route.protocol == "kitty" and "kitty 0.35.2" in route.reason and not route.fix
    assert choose_tmux_route("auto", TMUX_ITSELF, KITTY_NEW, "truecolor").protocol == "kitty"
    ghostty = TmuxClient("xterm-ghostty", "ghostty 1.1.0", "all")
    assert choose_tmux_route("auto", TMUX_ITSELF, ghostty, "256").protocol == "kitty"


def test_passthrough_off_says_what_to_add() -> None:
    route = choose_tmux_route(
        "auto", TMUX_ITSELF, TmuxClient("xterm-kitty", "kitty(0.35.2)", "off"), "256"
    )
    assert route.protocol == "halfcell" and "allow-passthrough" in route.reason
    assert "set -g allow-passthrough on" in route.fix


def test_kitty_0_26_outside_gets_halfcells_not_boxes_it_cannot_draw() -> None:
    route = choose_tmux_route("auto", TMUX_ITSELF, KITTY_OLD, "256")
    assert (
        route.protocol == "halfcell" and "0.28" in route.reason and "kitty 0.26.5" in route.reason
    )


def test_a_tmux_with_sixel_draws_sixel_itself() -> None:
    assert choose_tmux_route("auto", TMUX_WITH_SIXEL, XTERM, "256").protocol == "sixel"
    route = choose_tmux_route("auto", TMUX_ITSELF, XTERM, "256")
    assert route.protocol == "halfcell" and "no Sixel" in route.reason


@pytest.mark.parametrize("depth", ["basic", "none"])
def test_without_256_colours_the_id_cannot_travel(depth: str) -> None:
    route = choose_tmux_route("auto", TMUX_ITSELF, KITTY_NEW, depth)
    assert route.protocol == "halfcell" and route.fix


def test_a_tmux_that_names_no_terminal_outside_is_explained() -> None:
    route = choose_tmux_route("auto", TMUX_ITSELF, TmuxClient("xterm-kitty", "", "on"), "256")
    assert route.protocol == "halfcell" and 'image_protocol = "kitty"' in route.fix


def test_asked_for_kitty_inside_tmux_gets_placeholders_and_a_warning_without_passthrough() -> None:
    off = TmuxClient("xterm-kitty", "kitty(0.35.2)", "off")
    route = choose_tmux_route("kitty", TMUX_ITSELF, off, "256")
    assert route.protocol == "kitty" and "allow-passthrough on" in route.fix
    assert choose_tmux_route("halfcell", TMUX_ITSELF, KITTY_NEW, "256").protocol == "halfcell"


def test_the_client_is_read_from_tmux() -> None:
    asked: list[list[str]] = []

    def run(argv: Sequence[str]) -> str | None:
        asked.append(list(argv))
        if "display-message" in argv:
            return "xterm-kitty\tkitty(0.26.5)"
        return "on"

    assert read_tmux_client(run) == KITTY_OLD
    assert read_tmux_client(lambda _: None) == TmuxClient()


def test_colour_depth_as_textual_will_use_it() -> None:
    assert colour_depth({"TERM": "tmux-256color"}) == "256"
    assert colour_depth({"TERM": "screen"}) == "basic"
    assert colour_depth({"TERM": "screen", "COLORTERM": "truecolor"}) == "truecolor"
    assert colour_depth({"TERM": "tmux-256color", "NO_COLOR": "1"}) == "none"


def test_detect_inside_tmux_asks_tmux_not_the_environment() -> None:
    env = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color"}

    def run(argv: Sequence[str]) -> str | None:
        return "xterm-kitty\tkitty(0.36.0)" if "display-message" in argv else "on"

    route = images.detect_route(
        "auto", env, lambda: TMUX_ITSELF, is_tty=True, settle=lambda: None, run=run
    )
    assert route.protocol == "kitty"
    widget = images.image_widget_class("kitty", env)
    assert widget.keywords["tmux"] is True


@pytest.mark.parametrize(
    ("client", "says", "fix"),
    [
        ("xterm-kitty\tkitty(0.35.2)|off", "allow-passthrough is off", "allow-passthrough on"),
        ("xterm-kitty\tkitty(0.26.5)|on", "kitty ≥ 0.28", "upgrade kitty"),
        ("xterm-kitty\tkitty(0.35.2)|on", "Unicode placeholders", ""),
    ],
)
def test_doctor_says_the_route_inside_tmux_and_what_to_change(
    client: str, says: str, fix: str
) -> None:
    from krea_tui.config import Settings
    from krea_tui.doctor import Probe, check_graphics

    shown, passthrough = client.split("|")

    def run(argv: Sequence[str]) -> str | None:
        return shown if "display-message" in argv else passthrough

    env = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "tmux-256color"}
    probe = Probe(env=env, run=run, which=lambda _: None, is_tty=True)

    def detect(setting: str) -> Route:
        return images.detect_route(
            setting, env, lambda: TMUX_ITSELF, is_tty=True, settle=lambda: None, run=run
        )

    (finding, *_) = check_graphics(Settings(), probe, detect)
    assert says in finding.text
    assert fix in finding.fix if fix else finding.level == "ok"


def test_the_probe_inside_tmux_sends_no_kitty_query() -> None:
    # tmux takes an APC sequence for a pane title: on main the status line read
    # "Gi=31,s=1,v=1,a=q,t=d" after every start inside tmux.
    from krea_tui.core.termcaps import probe_request

    assert b"\x1b_G" in probe_request()
    inside = probe_request(tmux=True)
    assert b"\x1b_" not in inside and inside.endswith(b"\x1b[c")
