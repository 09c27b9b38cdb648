"""`python -m tests.bench [--quick] [--only NAME,...] [--history N,...]`: every benchmark, one
JSON line per figure. `--history` sets the history sizes of the benchmarks that take them
(queue).

Each benchmark runs in a fresh interpreter, so one's threads, caches and heap never colour the
next one's timings or memory. Exit status: 0 when every targeted figure is ok, 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys

from tests.bench.common import Figure

BENCHMARKS = (
    "startup",
    "table",
    "memory",
    "images",
    "downloads",
    "status",
    "queue",
    "queue_table",
    "terminal_bytes",
    "gallery",
)


def run_here(name: str, quick: bool) -> list[Figure]:
    module = importlib.import_module(f"tests.bench.{name}")
    return module.figures(quick)  # type: ignore[no-any-return]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="short runs: a smoke pass (~1 min)")
    parser.add_argument("--only", help=f"comma-separated subset of: {', '.join(BENCHMARKS)}")
    parser.add_argument("--history", help="history sizes, comma-separated (queue)")
    parser.add_argument("--here", help=argparse.SUPPRESS)  # run one benchmark in this process
    args = parser.parse_args(argv)
    if args.history:
        # Read by the benchmarks themselves, in the fresh interpreter each one runs in.
        os.environ["KREA_BENCH_HISTORY"] = args.history.replace("_", "")
    if args.here:
        # Frames are produced for a truecolor terminal: with TERM=xterm alone Rich would map
        # every colour to the 16 standard ones, a cost real terminals today do not ask for.
        os.environ.setdefault("COLORTERM", "truecolor")
        for figure in run_here(args.here, args.quick):
            print(figure.json(), flush=True)
        return 0
    names = args.only.split(",") if args.only else list(BENCHMARKS)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")
    failed = False
    for name in names:
        command = [sys.executable, "-m", "tests.bench", "--here", name]
        if args.quick:
            command.append("--quick")
        done = subprocess.run(command, stdout=subprocess.PIPE, text=True, check=False)
        for line in done.stdout.splitlines():
            print(line, flush=True)
            if line.startswith("{") and json.loads(line).get("ok") is False:
                failed = True
        if done.returncode != 0:
            error = {"name": name, "value": None, "unit": None, "target": None, "ok": False}
            print(json.dumps(error | {"note": f"benchmark crashed (exit {done.returncode})"}))
            failed = True
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
