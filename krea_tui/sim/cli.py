"""`krea-tui sim`: flags and the foreground runner. Imports stay light until `run` is called."""

from __future__ import annotations

import argparse
import asyncio
import sys

from krea_tui.sim.config import PAYMENT_MODES, FaultConfig, RetiredModel, SimConfig


def _rate(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value


def _count(minimum: int) -> type:
    def parse(text: str) -> int:
        value = int(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be >= {minimum}")
        return value

    return parse  # type: ignore[return-value]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The simulator's flags, on the `sim` subcommand or a standalone parser."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: loopback)")
    parser.add_argument("--port", type=_count(0), default=8787, help="port (0 picks a free one)")
    parser.add_argument(
        "--token",
        action="append",
        dest="tokens",
        metavar="T",
        help="accepted bearer token; repeat for several users (default: one is generated)",
    )
    parser.add_argument(
        "--speed", type=_positive, default=1.0, help="divide every job duration by X"
    )
    parser.add_argument(
        "--concurrency", type=_count(1), default=4, help="running jobs per token (default 4)"
    )
    parser.add_argument(
        "--backlog", type=_count(0), default=16, help="backlogged jobs per token before 429"
    )
    parser.add_argument("--fail-rate", type=_rate, default=0.0, help="share of jobs that fail")
    parser.add_argument(
        "--cancel-rate", type=_rate, default=0.0, help="share of jobs the system cancels"
    )
    parser.add_argument(
        "--webhook-duplicates", action="store_true", help="deliver every webhook twice"
    )
    parser.add_argument(
        "--payment",
        choices=PAYMENT_MODES,
        default="ok",
        help="402 mode: exhausted balance or a model that needs a higher plan",
    )
    parser.add_argument(
        "--balance", type=float, default=None, help="API balance in USD (default: unlimited)"
    )
    parser.add_argument(
        "--retire",
        action="append",
        default=[],
        metavar="MODEL",
        help="answer 410 for this model path (bytedance/seedream-3 always is)",
    )
    parser.add_argument(
        "--admin", action="store_true", help="enable the /_sim/ admin endpoint (stats, faults)"
    )
    parser.add_argument("--error-rate", type=_rate, default=0.0, help="share of 5xx answers")
    parser.add_argument("--drop-rate", type=_rate, default=0.0, help="share of dropped connections")
    parser.add_argument(
        "--drop-after-create-rate",
        type=_rate,
        default=0.0,
        help="share of generate calls that create the job and then lose the answer",
    )
    parser.add_argument("--slow-rate", type=_rate, default=0.0, help="share of slow answers")
    parser.add_argument(
        "--slow-seconds", type=float, default=2.0, help="delay of a slow answer (default 2)"
    )
    parser.add_argument(
        "--burst-429", type=_count(0), default=0, help="answer 429 to the first N requests"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for jitter, failures, faults")
    parser.add_argument(
        "--validation-status",
        type=int,
        choices=(400, 422),
        default=400,
        help="status for invalid bodies (the OAS says 400; some report 422)",
    )
    parser.add_argument("--log", action="store_true", help="print uvicorn's access log")
    parser.add_argument(
        "--varied",
        action="store_true",
        help="vary the life cycle as the docs allow (skipped states, some previews, tied times)",
    )
    parser.add_argument(
        "--state-file",
        metavar="PATH",
        help="keep jobs in this SQLite file and resume from it (default: in memory)",
    )
    parser.add_argument(
        "--token-file", metavar="PATH", help="accept the token in this file (first line)"
    )
    parser.add_argument(
        "--endpoint-file",
        metavar="PATH",
        help="write {pid, port, base_url} as JSON here (0600) once serving",
    )
    parser.add_argument(
        "--idle-exit",
        type=_positive,
        metavar="SECONDS",
        help="exit after this long without a request",
    )
    parser.add_argument(
        "--port-fallback", action="store_true", help="pick a free port if --port is taken"
    )
    parser.add_argument(
        "--listen-fd",
        type=_count(0),
        metavar="FD",
        help="serve on this inherited, listening socket instead of --host/--port",
    )


def config_from_args(args: argparse.Namespace) -> SimConfig:
    config = SimConfig(
        host=args.host,
        port=args.port,
        tokens=list(args.tokens or []),
        speed=args.speed,
        concurrency=args.concurrency,
        backlog=args.backlog,
        fail_rate=args.fail_rate,
        system_cancel_rate=args.cancel_rate,
        webhook_duplicates=args.webhook_duplicates,
        admin_enabled=args.admin,
        payment_mode=args.payment,
        balance_usd=args.balance,
        seed=args.seed,
        validation_status=args.validation_status,
        log=args.log,
        varied=args.varied,
        state_file=args.state_file,
        faults=FaultConfig(
            error_rate=args.error_rate,
            drop_rate=args.drop_rate,
            drop_after_create_rate=args.drop_after_create_rate,
            slow_rate=args.slow_rate,
            slow_seconds=args.slow_seconds,
            burst_429=args.burst_429,
        ),
    )
    if args.token_file:
        with open(args.token_file, encoding="utf-8") as handle:
            token = handle.readline().strip()
        if not token:
            raise ValueError(f"{args.token_file} holds no token")
        if args.tokens:
            config.tokens.insert(0, token)
        else:
            config.tokens = [token]
    for path in args.retire:
        config.retired.setdefault(path.strip("/"), RetiredModel(path=path.strip("/")))
    return config


def run(args: argparse.Namespace) -> int:
    """Serve until interrupted. Returns the process exit code."""
    try:
        config = config_from_args(args)
    except (ValueError, OSError) as exc:
        print(f"krea-tui sim: {exc}", file=sys.stderr)
        return 2
    from krea_tui.sim.server import serve

    try:
        if args.endpoint_file or args.idle_exit or args.port_fallback or args.listen_fd:
            from pathlib import Path

            from krea_tui.sim.service import serve_service

            endpoint = Path(args.endpoint_file) if args.endpoint_file else None
            asyncio.run(
                serve_service(
                    config,
                    endpoint_file=endpoint,
                    idle_exit=args.idle_exit,
                    port_fallback=args.port_fallback,
                    listen_fd=args.listen_fd,
                )
            )
        else:
            asyncio.run(serve(config))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:  # typically the port is taken
        print(f"krea-tui sim: cannot listen on {config.host}:{config.port}: {exc}", file=sys.stderr)
        return 1
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="krea-tui sim", description="Serve a local stand-in of the Krea API over HTTP."
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))
