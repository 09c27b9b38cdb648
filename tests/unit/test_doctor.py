"""`krea-tui doctor` says what is wrong and what to change, and never shows the token."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from krea_tui.config import Settings
from krea_tui.core.termcaps import Route
from krea_tui.doctor import Probe, diagnose, locate, report

SECRET = "0123abcd-0000-4000-8000-000000000000:do-not-print-me"


def fake_tmux(options: Mapping[str, str]) -> Probe:
    """A machine inside tmux whose `tmux` answers from `options` (missing: the command fails)."""

    def run(argv: Sequence[str]) -> str | None:
        if list(argv) == ["tmux", "-V"]:
            return "tmux 3.3a"
        if "#{set-clipboard}" in argv[-1]:  # the clipboard route's one query
            client = options.get("#{client_termname}", "xterm-256color")
            features = options.get("#{client_termfeatures}", "")
            return f"3.3a|{options.get('set-clipboard', '')}|{client}|{features}"
        return options.get(argv[-1])

    env = {"TMUX": "/tmp/tmux-0/default,1,0", "TERM": "screen-256color"}
    return Probe(env=env, run=run, which=lambda _: None, is_tty=True)


def halfcell(_: str) -> Route:
    return Route("halfcell", "")


def text_of(settings: Settings, probe: Probe) -> str:
    return report(diagnose(settings, probe=probe, detect=halfcell), width=200)


def test_a_tmux_without_truecolor_is_explained_with_the_lines_to_add() -> None:
    probe = fake_tmux(
        {
            "#{client_termfeatures}": "bpaste,clipboard,focus,title",
            "terminal-features": "xterm*:clipboard:ccolour:cstyle:focus:title",
            "terminal-overrides": "",
            "set-clipboard": "external",
            "allow-passthrough": "off",
        }
    )
    text = text_of(Settings(demo=True), probe)
    assert "WARN  tmux" in text and "not passing truecolor" in text
    assert 'set -as terminal-features ",*:RGB"' in text
    assert "allow-passthrough on" in text
    # set-clipboard external does not stop krea-tui's copies: they go through tmux itself.
    assert "set-clipboard on" not in text
    assert text.endswith("1 thing(s) to look at, above")


def test_a_well_set_up_tmux_passes() -> None:
    probe = fake_tmux(
        {
            "#{client_termfeatures}": "bpaste,clipboard,RGB,title",
            "set-clipboard": "on",
            "allow-passthrough": "on",
        }
    )
    text = text_of(Settings(demo=True), probe)
    assert "WARN" not in text and "FAIL" not in text
    assert "truecolor passes through tmux" in text


def lines_about_the_clipboard(text: str) -> list[str]:
    return [line for line in text.splitlines() if "clipboard" in line]


@pytest.mark.parametrize("setting", ["on", "external"])
def test_the_clipboard_through_tmux_is_ok_whether_set_clipboard_is_on_or_external(
    setting: str,
) -> None:
    probe = fake_tmux(
        {
            "#{client_termfeatures}": "bpaste,clipboard,RGB,title",
            "set-clipboard": setting,
            "allow-passthrough": "on",
        }
    )
    text = text_of(Settings(demo=True), probe)
    said = lines_about_the_clipboard(text)
    assert any(line.startswith("ok    clipboard") and "paste buffer" in line for line in said)
    assert not any(line.startswith(("WARN", "FAIL")) for line in said), said
    assert "WARN" not in text


def test_with_set_clipboard_off_doctor_warns_once_and_never_also_says_ok() -> None:
    probe = fake_tmux(
        {
            "#{client_termfeatures}": "bpaste,clipboard,RGB,title",
            "set-clipboard": "off",
            "allow-passthrough": "on",
        }
    )
    text = text_of(Settings(demo=True), probe)
    said = lines_about_the_clipboard(text)
    assert not any(line.startswith("ok    clipboard") for line in said), said
    (warning,) = [line for line in said if line.startswith("WARN")]
    assert "paste buffer" in warning and "set-clipboard is off" in warning
    assert "set -g set-clipboard on" in text
    assert text.endswith("1 thing(s) to look at, above")


def test_outside_tmux_the_colour_depth_comes_from_the_environment() -> None:
    basic = Probe(env={"TERM": "xterm"}, run=lambda _: None, which=lambda _: None, is_tty=True)
    assert "COLORTERM=truecolor" in text_of(Settings(demo=True), basic)
    true = Probe(
        env={"TERM": "xterm-256color", "COLORTERM": "truecolor"},
        run=lambda _: None,
        which=lambda _: None,
        is_tty=True,
    )
    text = text_of(Settings(demo=True), true)
    assert "ok    colours" in text and "tmux" not in text


def test_a_missing_token_fails_and_says_where_to_get_one() -> None:
    probe = Probe(env={}, run=lambda _: None, which=lambda _: None, is_tty=False)
    findings = diagnose(Settings(), probe=probe, detect=halfcell)
    (token,) = [f for f in findings if f.area == "token"]
    assert token.level == "fail" and "api-tokens" in token.fix


def test_the_token_is_named_by_its_source_and_never_shown(tmp_path: Path) -> None:
    probe = Probe(env={"KREA_API_TOKEN": SECRET}, run=lambda _: None, which=lambda _: None)
    # A closed loopback port: the API check fails fast, and its message must not leak either.
    settings = Settings(token=SECRET, base_url="http://127.0.0.1:9")
    text = text_of(settings, probe)
    assert "KREA_API_TOKEN environment variable" in text
    assert SECRET not in text and "do-not-print-me" not in text
    assert "FAIL  api" in text and "unreachable" in text


def test_over_ssh_the_clipboard_route_is_osc52() -> None:
    probe = Probe(
        env={"SSH_CONNECTION": "1 2 3 4", "COLORTERM": "truecolor"},
        run=lambda _: None,
        which=lambda tool: "/usr/bin/xclip" if tool == "xclip" else None,
    )
    text = text_of(Settings(demo=True), probe)
    assert "your own machine's clipboard" in text
    assert "xclip" not in text  # the server's clipboard is not the user's


def test_locate_lists_every_path_next_to_the_config_in_use(tmp_path: Path) -> None:
    config = tmp_path / "conf" / "config.toml"
    settings = Settings(config_path=config, data_dir=tmp_path / "data", output_dir=tmp_path / "o")
    lines = locate(settings).splitlines()
    by_name = {line.split("  ")[0].strip(): line for line in lines}
    assert str(tmp_path / "conf" / "presets.toml") in by_name["presets"]
    assert str(tmp_path / "data" / "history.sqlite3") in by_name["history"]
    assert str(tmp_path / "data" / "krea-tui.log") in by_name["log"]
    assert "(not created yet)" in by_name["results"]
