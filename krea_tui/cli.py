"""The `krea-tui` command: argument parsing and dispatch.

Heavy modules (textual, httpx, uvicorn, Pillow) are imported inside the commands that need them,
so `krea-tui --help` stays fast on a small server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from krea_tui import __version__

DESCRIPTION = (
    "A keyboard-driven terminal client for the Krea image-generation API: "
    "compose jobs, watch hundreds of them live, and look at the results without leaving "
    "the terminal."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="krea-tui", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"krea-tui {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    sim = commands.add_parser(
        "sim",
        help="run a local simulator of the Krea API (no token, no cost)",
        description="Serve a faithful local stand-in of the Krea API over HTTP on loopback.",
    )
    from krea_tui.sim.cli import add_arguments as add_sim_arguments

    add_sim_arguments(sim)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sim":
        from krea_tui.sim.cli import run as run_sim

        return run_sim(args)
    # The interactive app is the default command once it exists; until then, show the commands.
    parser.print_help()
    return 0


if __name__ == "__main__":  # pragma: no cover - `python -m krea_tui.cli`
    sys.exit(main())
