"""`krea-tui locate` and `krea-tui doctor`: where things live, and what to change when
something does not work (token, network, colours, pictures, clipboard, tmux).

Doctor never prints the token, only where it came from. Every look at the outside world goes
through `Probe`, so tests can stand in a tmux without truecolor or a machine without xclip.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import textwrap
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from krea_tui.config import ENV_TOKEN, ConfigError, Settings
from krea_tui.core.clipboard import ClipboardRouter, run_command
from krea_tui.core.termcaps import Route
from krea_tui.core.tmux_route import PASSTHROUGH_FIX, colour_depth

Level = Literal["ok", "info", "warn", "fail"]
MARKS: dict[Level, str] = {"ok": "ok  ", "info": "info", "warn": "WARN", "fail": "FAIL"}


@dataclass(frozen=True, slots=True)
class Finding:
    area: str
    level: Level
    text: str
    fix: str = ""


@dataclass(slots=True)
class Probe:
    env: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    run: Callable[[Sequence[str]], str | None] = run_command
    which: Callable[[str], str | None] = shutil.which
    is_tty: bool = field(default_factory=sys.stdout.isatty)


# -- locate --------------------------------------------------------------------------------------


def locations(settings: Settings) -> list[tuple[str, Path]]:
    rows = [
        ("config", settings.config_path or Path("(none)")),
        ("presets", settings.presets_path),
        ("history", settings.history_path),
        ("results", settings.results_dir),
        ("log", settings.log_path),
        ("catalog cache", settings.catalog_cache_dir),
    ]
    if settings.demo:
        from krea_tui.sim.service import demo_files

        rows += list(demo_files(settings.data_dir).items())
    return rows


def locate(settings: Settings) -> str:
    rows = locations(settings)
    width = max(len(name) for name, _ in rows)
    lines = []
    for name, path in rows:
        state = "" if path.exists() else "  (not created yet)"
        lines.append(f"{name:<{width}}  {path}{state}")
    return "\n".join(lines)


# -- doctor checks -------------------------------------------------------------------------------


def check_config(settings: Settings, warnings: Sequence[str]) -> list[Finding]:
    path = settings.config_path
    if path is None or not path.exists():
        return [Finding("config", "info", f"no config file at {path}: defaults are in use")]
    found = [Finding("config", "ok", f"{path} read")]
    found += [Finding("config", "warn", w) for w in warnings]
    return found


def check_token(settings: Settings, probe: Probe) -> list[Finding]:
    if settings.demo:
        return [Finding("token", "info", "demo mode: no token is used")]
    if probe.env.get(ENV_TOKEN):
        source = f"the {ENV_TOKEN} environment variable"
    elif settings.token:
        source = f"the config file {settings.config_path}"
    elif settings.token_command:
        source = "token_command"
    else:
        return [
            Finding(
                "token",
                "fail",
                "no API token",
                f"create one at https://www.krea.ai/settings/api-tokens, then set {ENV_TOKEN} "
                "or run krea-tui once to store it (0600)",
            )
        ]
    try:
        token = settings.resolve_token()
    except ConfigError as exc:
        return [Finding("token", "fail", str(exc), "run the token_command by hand to see why")]
    if not token:
        return [Finding("token", "fail", f"{source} gave an empty token")]
    shape = ":" in token and len(token.split(":", 1)[0]) == 36
    note = "" if shape else " (it does not look like <key id>:<secret>; check it was copied whole)"
    return [Finding("token", "ok" if shape else "warn", f"found in {source}, not shown{note}")]


async def check_api(settings: Settings) -> list[Finding]:
    """One authenticated request: is the API there, and does it take the token?"""
    from krea_tui.core.api import KreaClient
    from krea_tui.core.errors import AuthenticationError, KreaError, PaymentError

    if settings.demo:
        return [Finding("api", "info", "demo mode: the built-in simulator answers, no network")]
    try:
        token = settings.resolve_token()
    except ConfigError:
        token = None
    if not token:
        return [Finding("api", "info", f"{settings.base_url} not tried: no token")]
    started = time.monotonic()
    try:
        async with KreaClient(token, base_url=settings.base_url) as client:
            await client.list_jobs(limit=1)
    except AuthenticationError:
        return [
            Finding(
                "api",
                "fail",
                f"{settings.base_url} refused the token (401)",
                "make a new token; a token is shown only once, so copy all of it",
            )
        ]
    except PaymentError as exc:
        return [Finding("api", "warn", f"reachable, but: {exc}")]
    except KreaError as exc:
        return [
            Finding(
                "api",
                "fail",
                f"{settings.base_url} unreachable: {exc}",
                "check the network, a proxy (HTTPS_PROXY) or base_url in the config",
            )
        ]
    ms = (time.monotonic() - started) * 1000
    return [Finding("api", "ok", f"{settings.base_url} answered and took the token ({ms:.0f} ms)")]


def check_colours(probe: Probe) -> list[Finding]:
    if probe.env.get("TMUX"):
        return []  # tmux decides what reaches the terminal: see check_tmux
    depth = colour_depth(probe.env)  # as the app will read it (core.tmux_route)
    if depth == "truecolor":
        return [Finding("colours", "ok", "truecolor (COLORTERM)")]
    if depth == "none":
        return [Finding("colours", "info", "no colours: NO_COLOR is set", "unset NO_COLOR")]
    return [
        Finding(
            "colours",
            "warn",
            f"{depth} colours (TERM={probe.env.get('TERM', '')!r}, COLORTERM unset): "
            "half-cell pictures lose detail",
            "use a truecolor terminal and export COLORTERM=truecolor; over SSH, "
            "add `SendEnv COLORTERM` (client) and `AcceptEnv COLORTERM` (server)",
        )
    ]


# What each route draws with, as `doctor` names it.
ROUTE_NAMES = {
    "kitty": "real pixels, kitty graphics (Unicode placeholders)",
    "kitty-direct": "real pixels, kitty graphics (direct placements)",
    "sixel": "real pixels, Sixel graphics",
}


def check_graphics(
    settings: Settings, probe: Probe, detect: Callable[[str], Route]
) -> list[Finding]:
    """The route pictures take, why, and what to change for real pixels where something can."""
    chosen = probe.env.get("KREA_TUI_IMAGES") or settings.image_protocol
    if not probe.is_tty:
        return [Finding("pictures", "info", "not a terminal: cannot ask it what it can draw")]
    route = detect(chosen)
    because = f" ({route.reason})" if route.reason else ""
    if route.protocol in ROUTE_NAMES:
        level: Level = "warn" if route.fix else "ok"
        found = [Finding("pictures", level, f"{ROUTE_NAMES[route.protocol]}{because}", route.fix)]
        if route.protocol == "kitty-direct":
            found.append(
                Finding(
                    "pictures",
                    "info",
                    "direct placements float above the text: a dialog opened over a picture "
                    "hides it until the dialog closes, and they cannot pass through tmux",
                    "kitty ≥ 0.28 draws pictures as text (Unicode placeholders), which tmux "
                    "can carry too",
                )
            )
        return found
    fix = route.fix or "kitty, Ghostty, WezTerm, foot, xterm -ti vt340 or iTerm2 show real pixels"
    return [Finding("pictures", "info", f"half-cell blocks{because}", fix)]


def check_clipboard(probe: Probe) -> list[Finding]:
    """The route the TUI's copy keys take, as that route decides it: the two never disagree."""
    route = ClipboardRouter(env=probe.env, run=probe.run, which=probe.which).route()
    if route.clipboard:
        found = [Finding("clipboard", "ok", route.where)]
    else:
        fix = f"in ~/.tmux.conf: {route.fix}" if route.fix and probe.env.get("TMUX") else route.fix
        text = f"{route.where}; not on to your terminal's clipboard: {route.caveat}"
        # A local tool still puts it on the clipboard of this machine, where the user sits;
        # with nothing to change (no terminal attached yet) it is not a problem either.
        level: Level = "info" if route.local or not fix else "warn"
        found = [Finding("clipboard", level, text, fix)]
    if route.local:
        found.append(Finding("clipboard", "ok", f"also the local clipboard via {route.local[0]}"))
    return found


def _tmux_option(probe: Probe, scope: str, name: str) -> str | None:
    return probe.run(["tmux", "show-options", scope + "v", name])


def check_tmux(probe: Probe) -> list[Finding]:
    if not probe.env.get("TMUX"):
        return []
    version = probe.run(["tmux", "-V"]) or "tmux (version unknown)"
    found = [Finding("tmux", "info", f"inside {version}")]

    features = " ".join(
        filter(
            None,
            [
                probe.run(["tmux", "display-message", "-p", "#{client_termfeatures}"]),
                _tmux_option(probe, "-s", "terminal-features"),
                _tmux_option(probe, "-s", "terminal-overrides"),
            ],
        )
    )
    if "RGB" in features or "Tc" in features:
        found.append(Finding("tmux", "ok", "truecolor passes through tmux (RGB)"))
    else:
        outer = probe.env.get("TERM", "screen")
        found.append(
            Finding(
                "tmux",
                "warn",
                f"tmux is not passing truecolor on (no RGB feature; TERM inside is {outer!r}): "
                "colours are rounded to 256, so pictures and the status colours look banded",
                'add to ~/.tmux.conf: `set -g default-terminal "tmux-256color"` and '
                '`set -as terminal-features ",*:RGB"`, then restart tmux (tmux kill-server)',
            )
        )

    passthrough = _tmux_option(probe, "-g", "allow-passthrough")
    if passthrough in ("on", "all"):
        found.append(Finding("tmux", "ok", "allow-passthrough on: kitty graphics can pass"))
    else:
        found.append(
            Finding(
                "tmux",
                "info",
                f"allow-passthrough is {passthrough or 'unsupported'}: "
                "no kitty graphics through tmux",
                PASSTHROUGH_FIX,
            )
        )
    return found


def diagnose(
    settings: Settings,
    warnings: Sequence[str] = (),
    probe: Probe | None = None,
    detect: Callable[[str], Route] | None = None,
) -> list[Finding]:
    probe = probe or Probe()
    if detect is None:
        from krea_tui.tui.images import detect_route

        env = probe.env

        def detect(setting: str) -> Route:
            return detect_route(setting, env, run=probe.run)

    return [
        *check_config(settings, warnings),
        *check_token(settings, probe),
        *asyncio.run(check_api(settings)),
        *check_colours(probe),
        *check_graphics(settings, probe, detect),
        *check_clipboard(probe),
        *check_tmux(probe),
    ]


def report(findings: Sequence[Finding], width: int | None = None) -> str:
    width = width or shutil.get_terminal_size((100, 24)).columns
    area_width = max((len(f.area) for f in findings), default=0)
    indent = " " * (6 + area_width + 2)
    lines = []
    for finding in findings:
        first = f"{MARKS[finding.level]}  {finding.area:<{area_width}}  {finding.text}"
        lines += textwrap.wrap(first, width, subsequent_indent=indent)
        if finding.fix:
            lines += textwrap.wrap(
                f"→ {finding.fix}", width, initial_indent=indent, subsequent_indent=indent + "  "
            )
    problems = sum(f.level in ("warn", "fail") for f in findings)
    lines.append("")
    lines.append("all good" if not problems else f"{problems} thing(s) to look at, above")
    return "\n".join(lines)


def run_doctor(settings: Settings, warnings: Sequence[str] = ()) -> int:
    findings = diagnose(settings, warnings)
    print(report(findings))
    return 1 if any(f.level == "fail" for f in findings) else 0
