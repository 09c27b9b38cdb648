"""The `krea-tui` command: argument parsing and dispatch.

Heavy modules (textual, httpx, uvicorn, Pillow) are imported inside the commands that need them,
so `krea-tui --help` stays fast on a small server.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from krea_tui import __version__

DESCRIPTION = (
    "A keyboard-driven terminal client for the Krea image-generation API: "
    "compose jobs, watch hundreds of them live, and look at the results without leaving "
    "the terminal."
)
EPILOG = """exit codes (headless commands):
  0  success          1  a job failed or was cancelled     2  bad arguments or request
  3  set-up problem (token, config, history)
  4  the queue stopped (paused, a spend limit reached, token refused, balance exhausted,
     model retired); with --wait, after the jobs already sent have ended
  5  completed on the server but not saved here (the reason on stderr and in `jobs`)
  6  a job's POST may or may not have made a job on the server (never sent again; stderr
     lists the ids to look up)                          130  interrupted"""


def add_common_arguments(parser: argparse.ArgumentParser, *, on_command: bool = False) -> None:
    """The connection flags. On a subcommand their defaults are suppressed, so that
    `krea-tui --demo jobs` and `krea-tui jobs --demo` mean the same."""
    extra: dict[str, Any] = {"default": argparse.SUPPRESS} if on_command else {}
    group = parser.add_argument_group("where and how to connect")
    group.add_argument(
        "--demo",
        action="store_true",
        help="use the built-in simulator: no token, no cost, simulated results",
        **extra,
    )
    group.add_argument("--base-url", help="API base URL (default: https://api.krea.ai)", **extra)
    group.add_argument(
        "--config", type=Path, help="config file (default: platform config dir)", **extra
    )
    group.add_argument("--data-dir", type=Path, help="where the job history lives", **extra)
    group.add_argument("--output-dir", type=Path, help="where results are saved", **extra)


def add_request_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", "--model", help="model path (default: bfl/flux-1-dev)")
    parser.add_argument("--preset", metavar="NAME", help="start from a saved preset")
    parser.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any request field; values are JSON where they parse (steps=30, raw=true)",
    )
    parser.add_argument("--width", type=int)
    parser.add_argument("--height", type=int)
    parser.add_argument("--steps", type=int)
    parser.add_argument("--seed", type=int, help="seed of the first image; +1 per further image")
    parser.add_argument("-n", "--count", type=int, default=1, help="images per prompt (default 1)")


def add_wait_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--wait", action="store_true", help="wait until every job has ended")
    parser.add_argument("--json", action="store_true", help="one JSON record per job on stdout")
    parser.add_argument("--timeout", type=float, help="give up waiting after this many seconds")


def add_style_commands(command: Any) -> None:
    """`styles` (list, share, unshare) and `train-style` (headless_styles.py)."""
    styles = command("styles", "list the styles (LoRAs) this token may use, or share one")
    which = styles.add_mutually_exclusive_group()
    for flag, word, text in (
        ("--mine", "mine", "only styles you trained"),
        ("--shared", "shared", "only styles shared with your workspace"),
        ("--krea", "krea", "only Krea's own styles"),
        ("--community", "community", "only public styles of other users"),
        ("--public", "public", "only public styles"),
    ):
        which.add_argument(flag, dest="which", action="store_const", const=word, help=text)
    styles.add_argument("--liked", action="store_true", help="only styles you liked")
    styles.add_argument("--model", dest="style_model", metavar="M", help="only styles for M "
                        "(flux_dev, wan, qwen, ...)")  # fmt: skip
    styles.add_argument("--limit", type=int, default=100, help="at most N (default 100)")
    styles.add_argument("--json", action="store_true", help="one JSON record per style")
    actions = styles.add_subparsers(dest="styles_action", metavar="ACTION")
    for name, text in (
        ("share", "share a style you trained with your workspace"),
        ("unshare", "stop sharing a style with your workspace"),
    ):
        sub = actions.add_parser(name, help=text, description=text)
        sub.add_argument("id", metavar="ID", help="the style's id")

    train = command(
        "train-style",
        "train a style (LoRA) from a folder of pictures: uploads them, says the steps and the "
        "price, and asks first; the training is a job of the queue",
    )
    train.add_argument("name", help="the style's name")
    train.add_argument("dir", metavar="DIR", help="a folder of JPEG, PNG, WebP or HEIC pictures")
    train.add_argument("--model", default="flux_dev", help="flux_dev (default), flux_schnell, "
                       "wan, wan22, qwen or z-image")  # fmt: skip
    train.add_argument("--type", help="Style, Object, Character or Default (the service's "
                       "default: Default, or Style for qwen and z-image)")  # fmt: skip
    train.add_argument("--trigger", metavar="WORD", help="the word that calls the style up")
    train.add_argument("--steps", type=int, default=1000, help="training steps, 1-2000 "
                       "(default 1000); the price is per step")  # fmt: skip
    train.add_argument(
        "-y", "--yes", action="store_true",
        help="send without asking (needed when stdin is not a terminal, as in scripts)",
    )  # fmt: skip
    add_wait_arguments(train)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="krea-tui",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"krea-tui {__version__}")
    add_common_arguments(parser)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        add_common_arguments(sub, on_command=True)
        return sub

    submit = command("submit", "submit jobs and optionally wait for their results")
    submit.add_argument("prompt", nargs="*", help="the prompt (words are joined)")
    add_request_arguments(submit)
    add_wait_arguments(submit)

    batch = command(
        "batch",
        "submit every job of a file (TOML [[jobs]], or one prompt a line: lines starting with # "
        "and blank ones are skipped); says how many jobs and their cost, and asks first",
    )
    batch.add_argument("file", help="batch file")
    batch.add_argument(
        "-y",
        "--yes",
        action="store_true",
        help="send without asking (needed when stdin is not a terminal, as in scripts)",
    )
    add_request_arguments(batch)
    add_wait_arguments(batch)

    enhance = command(
        "enhance",
        "upscale the pictures of finished jobs (or picture URLs), one enhance job each; says "
        "the sizes and the price, and asks first",
    )
    enhance.add_argument(
        "ids", nargs="+", metavar="ID", help="a finished job's id (or its first characters), or "
        "a picture's URL; every picture of each job is enhanced"
    )  # fmt: skip
    enhance.add_argument(
        "-m",
        "--model",
        help="the upscaler (default topaz/standard-enhance; also topaz/generative-enhance, "
        "topaz/bloom-enhance)",
    )
    enhance.add_argument(
        "--scale", type=float, default=2.0, help="times the source's size (default 2), within "
        "the model's largest side"
    )  # fmt: skip
    enhance.add_argument(
        "--param", action="append", default=[], metavar="KEY=VALUE",
        help="another request field, e.g. output_format=png (repeatable)",
    )  # fmt: skip
    enhance.add_argument(
        "-y", "--yes", action="store_true",
        help="send without asking (needed when stdin is not a terminal, as in scripts)",
    )  # fmt: skip
    add_wait_arguments(enhance)

    jobs = command("jobs", "list the job history")
    jobs.add_argument(
        "--status",
        help="only these statuses or groups, comma-separated (failed,held; active; done)",
    )
    jobs.add_argument("--limit", type=int, default=50, help="newest N jobs (default 50)")
    jobs.add_argument("--json", action="store_true", help="one JSON record per job")
    export = command(
        "export",
        "copy the saved results the filter chooses (with their sidecars) into DIR, never "
        "overwriting; reads the history only",
    )
    export.add_argument("dir", metavar="DIR", help="the folder to copy into (made if need be)")
    export.add_argument(
        "--filter", default="", metavar="TEXT",
        help="the table's filter language: 'is:pick', 'rating:>=4', 'status:done fox' "
        "(default: every saved result)",
    )  # fmt: skip
    export.add_argument(
        "--sheet", action="store_true",
        help="also write contact-sheet.png: them all, labelled with the parameters that differ",
    )  # fmt: skip

    for name, text in (
        ("wait", "wait until jobs end; their results are saved"),
        ("download", "save the results of completed jobs"),
        ("cancel", "cancel jobs (locally if not sent yet, on the server otherwise)"),
    ):
        sub = command(name, text)
        sub.add_argument("ids", nargs="+", metavar="ID", help="job id or its first characters")
        if name != "cancel":
            sub.add_argument("--json", action="store_true", help="one JSON record per job")
        if name == "wait":
            sub.add_argument("--timeout", type=float, help="give up after this many seconds")

    imports = command("import", "bring jobs this token created elsewhere into the history")
    imports.add_argument("--limit", type=int, default=1000, help="newest N jobs (default 1000)")
    imports.add_argument("--json", action="store_true", help="one JSON record per job")

    assets = command("assets", "list the files uploaded as inputs (assets), or delete them")
    asset_actions = assets.add_subparsers(dest="assets_action", metavar="ACTION")
    asset_list = asset_actions.add_parser("list", help="list uploads, newest first (the default)")
    asset_list.add_argument("--limit", type=int, default=100, help="newest N (default 100)")
    asset_list.add_argument("--json", action="store_true", help="one JSON record per asset")
    asset_delete = asset_actions.add_parser("delete", help="delete uploads by id")
    asset_delete.add_argument("ids", nargs="+", metavar="ID", help="asset id")

    add_style_commands(command)

    status = command("status", "one line about the history (running, waiting, done, failed)")
    status.add_argument(
        "--tmux", action="store_true", help="with tmux colour codes, for status-right"
    )

    command("locate", "print where the config, presets, history, results and log live")
    command(
        "doctor",
        "check the token, the API, colours, pictures, clipboard and tmux; say what to change",
    )

    sim = commands.add_parser(
        "sim",
        help="run a local simulator of the Krea API (no token, no cost)",
        description="Serve a faithful local stand-in of the Krea API over HTTP on loopback.",
    )
    from krea_tui.sim.cli import add_arguments as add_sim_arguments

    add_sim_arguments(sim)
    return parser


def log_to_file(settings: object) -> Path:
    """Send log records to a file: anything written to the terminal would tear the screen."""
    import logging

    path: Path = settings.log_path  # type: ignore[attr-defined]
    handler: logging.Handler
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError as exc:
        # A read-only data folder: `jobs` can still read the history, and the command that
        # needs to write says so itself.
        why = (exc.strerror or str(exc)).lower()
        print(f"krea-tui: warning: no log this time: cannot write {path} ({why})", file=sys.stderr)
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    # One line per poll request would bury what matters.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return path


def ask_for_token(settings: object, config_path: Path | None) -> int | None:
    """First run without a token: ask once, store it 0600. None: go on; a number: exit."""
    import getpass

    from krea_tui.config import ConfigError, config_file, save_token

    if settings.demo or settings.resolve_token():  # type: ignore[attr-defined]
        return None
    if not sys.stdin.isatty():
        return None  # the app says what is missing; a script must not hang on a prompt
    print("No Krea API token found (KREA_API_TOKEN, or `token` in the config file).")
    print("Create one at https://www.krea.ai/settings/api-tokens, or run `krea-tui --demo`.")
    try:
        token = getpass.getpass("API token (hidden; empty to quit): ").strip()
    except (EOFError, KeyboardInterrupt):
        print()
        return 130
    if not token:
        return 0
    path = config_file(config_path)
    try:
        save_token(path, token)
    except (ConfigError, OSError) as exc:
        print(f"krea-tui: could not store the token: {exc}", file=sys.stderr)
        return 3
    print(f"Stored in {path} (readable only by you).")
    settings.token = token  # type: ignore[attr-defined]
    return None


def run_tui(settings: object, config_path: Path | None = None, warnings: Sequence[str] = ()) -> int:
    stop = ask_for_token(settings, config_path)
    if stop is not None:
        return stop
    log_to_file(settings)
    from krea_tui.tui.images import detect_protocol

    # The graphics probe talks to the terminal, so it must run before Textual owns stdin.
    protocol = detect_protocol(settings.image_protocol)  # type: ignore[attr-defined]
    from krea_tui.tui.app import KreaApp

    KreaApp(settings, image_protocol=protocol, warnings=warnings).run()  # type: ignore[arg-type]
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "sim":
        from krea_tui.sim.cli import run as run_sim

        return run_sim(args)
    if args.command == "status":
        # Before the headless import below: a status bar runs this every few seconds, and
        # that import brings httpx and the engine.
        from krea_tui.tmux_status import run_status

        return run_status(args)

    from krea_tui.config import ConfigError, load_settings
    from krea_tui.headless import EXIT_SETUP, overrides_from

    try:
        settings, warnings = load_settings(config_path=args.config, overrides=overrides_from(args))
    except ConfigError as exc:
        print(f"krea-tui: {exc}", file=sys.stderr)
        return EXIT_SETUP
    if args.command is None:
        # Printed now, they would vanish under the app's screen: the app shows them as toasts.
        return run_tui(settings, args.config, warnings)
    if args.command in ("locate", "doctor"):
        from krea_tui.doctor import locate, run_doctor

        if args.command == "doctor":
            return run_doctor(settings, warnings)  # its report names every warning itself
        print(locate(settings))
    for warning in warnings:
        print(f"krea-tui: warning: {warning}", file=sys.stderr)
    if args.command == "locate":
        return 0
    from krea_tui.headless import run

    # Scripts get their own messages on stderr; what the engine noticed goes to the log, as
    # in the TUI, so a failed night batch can be read about the next morning.
    log_to_file(settings)
    try:
        return run(args, settings)
    except BrokenPipeError:
        # `krea-tui jobs | head`: the reader left; that is not an error.
        sys.stderr.close()
        return 0


if __name__ == "__main__":  # pragma: no cover - `python -m krea_tui.cli`
    sys.exit(main())
