"""`krea-tui --help` names every exit code a headless command can end with."""

from __future__ import annotations

import re

from krea_tui import cli, headless


def test_every_exit_code_is_in_the_help() -> None:
    codes = {v for k, v in vars(headless).items() if k.startswith("EXIT_") and isinstance(v, int)}
    listed = {int(n) for n in re.findall(r"(?:^|\s)(\d+)  \S", cli.EPILOG)}
    assert codes <= listed, sorted(codes - listed)
