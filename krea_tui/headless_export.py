"""`krea-tui export [--filter TEXT] [--sheet] DIR`: copy the results the filter chooses (the
table's filter language: `is:pick`, `rating:>=4`, `status:done fox`, …) into DIR with their
sidecars, never overwriting, and with `--sheet` one contact sheet PNG of them (core/export).
It reads the history only: no token, no network, no simulator needed. When nothing is chosen
there but the other history (demo results live in one of their own) has some, it says so and
what to add or leave out; nothing to export is not an error (exit 0) either way."""

from __future__ import annotations

import argparse
import dataclasses
import sqlite3
import sys
from pathlib import Path

from krea_tui.config import Settings
from krea_tui.core.clock import utcnow
from krea_tui.core.export import chosen as chosen_jobs
from krea_tui.core.export import export_jobs
from krea_tui.core.query import Query, parse
from krea_tui.core.store import JobStore, StoreError
from krea_tui.headless import EXIT_NOT_SAVED, EXIT_OK, EXIT_USAGE


def cmd_export(settings: Settings, args: argparse.Namespace) -> int:
    query = parse(args.filter or "")
    if query.problems:
        print(f"krea-tui export: {query.problems[0]}", file=sys.stderr)
        return EXIT_USAGE
    if not settings.history_path.exists():
        jobs = None
    else:
        try:
            store = JobStore(settings.history_path)
        except StoreError:
            store = JobStore(settings.history_path, readonly=True)  # a read-only mount
        try:
            jobs = chosen_jobs(store, query, utcnow())
        finally:
            store.close()
    if not jobs:
        # An empty export did what was asked (as `jobs` listing none): exit 0, not an error.
        what = f" matches {args.filter!r}" if args.filter else " has a saved result"
        empty = "the demo history is empty" if settings.demo else "the history is empty"
        said = empty if jobs is None else f"no job{what}"
        print(
            f"krea-tui export: nothing to export: {said}{_elsewhere(settings, query, args.filter)}",
            file=sys.stderr,
        )
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


def _elsewhere(settings: Settings, query: Query, text: str | None) -> str:
    """What the other history (demo or real) has for `query`, and the flag that reaches it:
    "; the demo history has 3 jobs that match 'is:pick': add --demo", or "" (none there)."""
    other = dataclasses.replace(settings, demo=not settings.demo)
    try:
        store = JobStore(other.history_path, readonly=True)  # looked at, never created
    except StoreError:
        return ""
    try:
        found = chosen_jobs(store, query, utcnow())
    except (StoreError, sqlite3.Error):  # a hint only: an old or damaged history gives none
        found = []
    finally:
        store.close()
    if not found:
        return ""
    jobs = f"{len(found)} job{'s' if len(found) != 1 else ''}"
    what = (
        f"that match{'es' if len(found) == 1 else ''} {text!r}" if text else "with a saved result"
    )
    if settings.demo:
        return f"; the history of real jobs has {jobs} {what}: run it without --demo"
    return f"; the demo history has {jobs} {what}: add --demo"
