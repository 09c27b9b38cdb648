"""Where a copy goes: one decision, from what tmux and the environment say, shared by the
TUI's `y`/`c` and `krea-tui doctor`. tmux is a fake here; tests/e2e has the real one."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from krea_tui.core.clipboard import (
    FACTS_FORMAT,
    ClipboardRouter,
    TmuxFacts,
    ask_tmux,
    decide,
)

IN_TMUX = {"TMUX": "/tmp/tmux-1000/default,1,0", "TERM": "tmux-256color"}
XTERM_FEATURES = frozenset({"bpaste", "ccolour", "clipboard", "cstyle", "focus", "title"})


def facts(
    set_clipboard: str, *, version: str = "3.3a", client: str = "xterm-256color"
) -> TmuxFacts:
    features = XTERM_FEATURES if client.startswith("xterm") else frozenset({"title"})
    return TmuxFacts(version, set_clipboard, client, features if client else frozenset())


class FakeTmux:
    """Answers the facts query like tmux would, and records what it is fed."""

    def __init__(self, answer: str | None, *, takes_buffers: bool = True) -> None:
        self.answer = answer
        self.takes_buffers = takes_buffers
        self.fed: list[tuple[list[str], str]] = []

    def run(self, argv: Sequence[str]) -> str | None:
        return (
            self.answer if list(argv) == ["tmux", "display-message", "-p", FACTS_FORMAT] else None
        )

    def feed(self, argv: Sequence[str], text: str) -> bool:
        self.fed.append((list(argv), text))
        return self.takes_buffers if argv[0] == "tmux" else True


def router(env: Mapping[str, str], tmux: FakeTmux, tools: Sequence[str] = ()) -> ClipboardRouter:
    return ClipboardRouter(
        env=env,
        run=tmux.run,
        feed=tmux.feed,
        which=lambda t: f"/usr/bin/{t}" if t in tools else None,
    )


def test_the_facts_come_from_one_tmux_query() -> None:
    answer = "3.3a|external|xterm-256color|bpaste,clipboard,focus"
    got = ask_tmux(FakeTmux(answer).run)
    assert got == TmuxFacts(
        "3.3a", "external", "xterm-256color", frozenset({"bpaste", "clipboard", "focus"})
    )
    assert ask_tmux(FakeTmux(None).run) is None  # tmux missing, or its server gone


@pytest.mark.parametrize("setting", ["external", "on"])
def test_inside_tmux_the_text_goes_to_tmux_which_passes_it_on(setting: str) -> None:
    route = decide(IN_TMUX, facts(setting), local=None)
    assert route.via == "tmux" and route.pass_on and route.buffer and route.clipboard
    assert not route.osc52  # tmux drops a program's OSC 52 unless set-clipboard is on
    assert route.caveat == ""


def test_with_set_clipboard_off_tmux_keeps_it_and_the_user_is_told_how_to_change_that() -> None:
    route = decide(IN_TMUX, facts("off"), local=None)
    assert route.via == "tmux" and route.buffer and not route.pass_on and not route.clipboard
    assert "set-clipboard is off" in route.caveat
    assert route.fix == "`set -g set-clipboard on`"


def test_a_terminal_tmux_does_not_know_for_clipboard_copies_is_named_with_the_line_to_add() -> None:
    route = decide(IN_TMUX, facts("external", client="foot"), local=None)
    assert route.buffer and not route.clipboard
    assert "foot" in route.caveat
    assert route.fix == "`set -as terminal-features ',foot:clipboard'`, then attach again"


def test_with_no_client_attached_the_copy_stays_in_the_buffer() -> None:
    route = decide(IN_TMUX, facts("external", client=""), local=None)
    assert route.buffer and not route.clipboard and "no terminal is attached" in route.caveat


def test_a_tmux_before_3_2_passes_copies_on_only_as_osc52_with_set_clipboard_on() -> None:
    on = decide(IN_TMUX, facts("on", version="3.1c"), local=None)
    assert on.via == "osc52" and on.osc52 and on.buffer and on.clipboard
    external = decide(IN_TMUX, facts("external", version="3.1c"), local=None)
    assert external.via == "tmux" and not external.pass_on and not external.clipboard
    assert "tmux 3.1c" in external.caveat and external.fix == "`set -g set-clipboard on`"


def test_a_tmux_that_does_not_answer_gets_osc52_and_an_honest_maybe() -> None:
    route = decide(IN_TMUX, None, local=None)
    assert route.via == "osc52" and not route.buffer and not route.clipboard
    assert "set-clipboard" in route.caveat


def test_outside_tmux_osc52_and_locally_a_clipboard_tool_too() -> None:
    local = decide({"DISPLAY": ":0"}, None, local=("xclip", "-selection", "clipboard"))
    assert local.via == "osc52" and local.clipboard and local.local is not None
    remote = decide({"SSH_CONNECTION": "1 2 3 4"}, None, local=("xclip",))
    assert remote.clipboard and remote.local is None  # the server's clipboard is not the user's
    apple = decide({"TERM_PROGRAM": "Apple_Terminal", "SSH_TTY": "x"}, None, local=None)
    assert not apple.clipboard and "Terminal.app" in apple.caveat


def test_a_copy_inside_tmux_is_fed_to_load_buffer_and_the_toast_says_where_it_went() -> None:
    tmux = FakeTmux("3.3a|external|xterm-256color|clipboard,focus")
    copied = router(IN_TMUX, tmux).copy("id-1\nid-2")
    assert tmux.fed == [(["tmux", "load-buffer", "-w", "-"], "id-1\nid-2")]
    assert copied.reached_clipboard
    assert copied.message("2 job ids", "id-1\nid-2").startswith(
        "Copied 2 job ids to tmux's paste buffer and your clipboard"
    )


def test_with_set_clipboard_off_the_toast_says_it_is_only_in_the_buffer_and_why() -> None:
    tmux = FakeTmux("3.3a|off|xterm-256color|clipboard,focus")
    copied = router(IN_TMUX, tmux).copy("id-1")
    assert tmux.fed == [(["tmux", "load-buffer", "-"], "id-1")]
    assert not copied.reached_clipboard
    assert copied.message("2 job ids", "id-1") == (
        "Copied 2 job ids to tmux's paste buffer (prefix ] pastes); tmux's set-clipboard is "
        "off, so not to your clipboard: `set -g set-clipboard on`"
    )


def test_when_load_buffer_fails_the_copy_falls_back_to_osc52_and_says_so() -> None:
    tmux = FakeTmux("3.3a|external|xterm-256color|clipboard", takes_buffers=False)
    copied = router(IN_TMUX, tmux).copy("id-1")
    assert copied.route.osc52 and not copied.reached_clipboard
    assert "set-clipboard" in copied.message("job id", "id-1")


def test_a_local_tool_that_worked_counts_as_the_clipboard() -> None:
    tmux = FakeTmux("3.3a|off|xterm-256color|clipboard")
    copied = router({**IN_TMUX, "DISPLAY": ":0"}, tmux, tools=["xclip"]).copy("id-1")
    assert (["xclip", "-selection", "clipboard"], "id-1") in tmux.fed
    assert copied.reached_clipboard
    assert copied.message("job id", "id-1") == (
        "Copied job id to tmux's paste buffer and your clipboard: id-1"
    )


def test_outside_tmux_the_toast_names_osc52() -> None:
    copied = router({}, FakeTmux(None)).copy("1234")
    assert copied.route.osc52 and copied.reached_clipboard
    assert copied.message("seed", "1234") == "Copied seed to your clipboard (OSC 52): 1234"
