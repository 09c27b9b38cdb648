"""`krea-tui export [--filter TEXT] [--sheet] DIR`: copy the results the filter chooses (the
table's filter language: `is:pick`, `rating:>=4`, `status:done fox`, …) into DIR with their
sidecars, never overwriting, and with `--sheet` one contact sheet PNG of them (core/export).
It reads the history only: no token, no network, no simulator needed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from krea_tui.config import Settings
from krea_tui.core.clock import utcnow
from krea_tui.core.export import chosen as chosen_jobs
from krea_tui.core.export import export_jobs
from krea_tui.core.query import parse
from krea_tui.core.store import JobStore, StoreError
from krea_tui.headless import EXIT_NOT_SAVED, EXIT_OK, EXIT_USAGE


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    query = parse(args.filter or "")
    if query.problems:
        print(f"krea-tui export: {query.problems[0]}", file=sys.stderr)
        return EXIT_USAGE
    if not settings.history_path.exists():
        print("krea-tui export: nothing to export: the history is empty", file=sys.stderr)
        return EXIT_OK
    try:
        store = JobStore(settings.history_path)
    except StoreError:
        store = JobStore(settings.history_path, readonly=True)  # a read-only mount
    try:
        jobs = chosen_jobs(store, query, utcnow())
    finally:
        store.close()
    if not jobs:
        what = f" matches {args.filter!r}" if args.filter else " has a saved result"
        print(f"krea-tui export: nothing to export: no job{what}", file=sys.stderr)
        return EXIT_OK
    folder = Path(args.dir).expanduser()
    try:
        done = export_jobs(jobs, folder, sheet=args.sheet)
    except OSError as exc:
        print(f"krea-tui export: cannot write to {folder}: {exc}", file=sys.stderr)
        return EXIT_NOT_SAVED
    print(f"Exported {len(done.copied)} results of {done.jobs} jobs to {folder}")
    if done.sheet is not None:
        print(f"Contact sheet: {done.sheet}")
        for job in jobs:
            text = done.labels.get(job.local_id)
            if text:
                print("  " + text.replace("\n", ": ", 1))
    for missing in done.missing:
        print(f"krea-tui export: not found, skipped: {missing}", file=sys.stderr)
    return EXIT_NOT_SAVED if done.missing else EXIT_OK
