"""The headless commands: `submit`, `jobs`, `wait`, `download`, `cancel`, `batch`.

They run the same engine as the TUI. Machine output goes to stdout (one JSON object per line
with --json), progress to stderr only when stderr is a terminal, and exit codes are stable:
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from krea_tui.config import ConfigError, Settings
from krea_tui.core.batch import expand
from krea_tui.core.catalog import UnknownModelError
from krea_tui.core.events import DownloadEvent, JobEvent
from krea_tui.core.store import JobStore, StoredJob, utcnow
from krea_tui.presets import load_presets
from krea_tui.runtime import Runtime, SetupError, open_runtime

EXIT_OK = 0
EXIT_JOBS_FAILED = 1  # some job ended failed or cancelled
EXIT_USAGE = 2  # bad arguments or an invalid request; nothing was sent
EXIT_SETUP = 3  # no token, unreadable config or history
EXIT_STOPPED = 4  # the queue stopped: token refused, balance exhausted, model retired
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    pass


# -- argument parsing ----------------------------------------------------------------------------


def parse_value(text: str) -> Any:
    """`--param key=value` values: JSON where they parse (numbers, true, lists), else text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def parse_params(pairs: Iterable[str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"--param needs key=value, got {pair!r}")
        params[key.strip()] = parse_value(value)
    return params


# -- records and progress ------------------------------------------------------------------------


def job_record(job: StoredJob) -> dict[str, Any]:
    return {
        "id": job.remote_id,
        "local_id": job.local_id,
        "status": job.status,
        "model": job.model,
        "request": dict(job.request),
        "batch": job.batch_id,
        "preset": job.preset,
        "created_at": job.created_at.isoformat(),
        "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        "urls": list(job.urls),
        "files": list(job.files),
        "error": job.error_message,
        "error_code": job.error_code,
    }


def print_jobs(jobs: Sequence[StoredJob], *, as_json: bool) -> None:
    if as_json:
        for job in jobs:
            print(json.dumps(job_record(job), sort_keys=True), flush=True)
        return
    now = utcnow()
    for job in jobs:
        age = int((now - job.created_at).total_seconds())
        where = job.files[0] if job.files else (job.error_message or "")
        print(
            f"{job.short_id:8}  {job.status:21}  {job.model:24}  {_age(age):>5}  "
            f"{job.prompt[:40]!s:40}  {where}"
        )


def _age(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


class Progress:
    """A one-line counter on stderr, only when a person is watching it."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.enabled = sys.stderr.isatty()

    def show(self, done: int, text: str) -> None:
        if self.enabled:
            print(f"\r{done}/{self.total} {text}\x1b[K", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        if self.enabled:
            print(file=sys.stderr, flush=True)


# -- waiting -------------------------------------------------------------------------------------


async def wait_for(runtime: Runtime, local_ids: Sequence[str], timeout: float | None) -> bool:
    """Wait until every job has ended and its results are saved; False on timeout or stop."""
    engine, store = runtime.engine, runtime.store
    progress = Progress(len(local_ids))
    subscription = engine.subscribe()

    def settled() -> bool:
        for local_id in local_ids:
            job = store.get(local_id)
            if not job.is_final:
                return False
            saving = len(job.files) < len(job.urls) and engine.downloads.is_pending(local_id)
            if job.status == "completed" and saving:
                return False
        return True

    async def loop() -> bool:
        while not settled():
            if engine.paused:
                print(f"krea-tui: queue stopped: {engine.pause_reason}", file=sys.stderr)
                return False
            event = await subscription.queue.get()
            if isinstance(event, JobEvent | DownloadEvent):
                done = sum(store.get(i).is_final for i in local_ids)
                progress.show(done, f"{event.job.short_id} {getattr(event, 'new', 'saved')}")
            if event is None:
                return False
        return True

    try:
        return await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        print("krea-tui: timed out waiting", file=sys.stderr)
        return False
    finally:
        progress.end()
        subscription.close()


def outcome(jobs: Sequence[StoredJob]) -> int:
    return EXIT_OK if all(job.status == "completed" for job in jobs) else EXIT_JOBS_FAILED


# -- commands ------------------------------------------------------------------------------------


def build_requests(
    runtime: Runtime, args: argparse.Namespace, prompt: str | None
) -> tuple[str, list[dict[str, Any]], str | None]:
    """(model, request bodies, preset name) from flags and preset, validated before sending."""
    overrides = parse_params(args.param)
    for key in ("width", "height", "steps", "seed"):
        value = getattr(args, key, None)
        if value is not None:
            overrides[key] = value
    preset = None
    model = args.model
    if args.preset:
        presets = load_presets(runtime.settings.presets_path)
        if args.preset not in presets:
            known = ", ".join(sorted(presets)) or "none saved yet"
            raise UsageError(f"no preset named {args.preset!r} (known: {known})")
        preset = presets[args.preset]
        model = model or preset.model
        body = preset.request(prompt, overrides)
    else:
        body = {**({"prompt": prompt} if prompt is not None else {}), **overrides}
    model = model or "bfl/flux-1-dev"
    try:
        info = runtime.catalog.get(model)
    except UnknownModelError as exc:
        raise UsageError(str(exc)) from None
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    bodies = expand(body, args.count, takes_seed=info.field("seed") is not None)
    for candidate in bodies:
        problems = runtime.catalog.validate(info.path, candidate)
        if problems:
            raise UsageError("invalid request:\n  " + "\n  ".join(p.message for p in problems))
    return info.path, bodies, preset.name if preset else None


async def finish(runtime: Runtime, jobs: Sequence[StoredJob], args: argparse.Namespace) -> int:
    ids = [job.local_id for job in jobs]
    code = EXIT_OK
    if args.wait:
        if not await wait_for(runtime, ids, args.timeout):
            code = EXIT_STOPPED if runtime.engine.paused else EXIT_JOBS_FAILED
    else:
        # Without --wait the jobs must at least reach the server before we exit.
        await _until_sent(runtime, ids, args.timeout)
    final = [runtime.store.get(i) for i in ids]
    print_jobs(final, as_json=args.json)
    if code == EXIT_OK and args.wait:
        code = outcome(final)
    return code


async def _until_sent(runtime: Runtime, local_ids: Sequence[str], timeout: float | None) -> None:
    async def loop() -> None:
        subscription = runtime.engine.subscribe()
        try:
            while any(runtime.store.get(i).status in ("held", "submitting") for i in local_ids):
                if runtime.engine.paused:
                    return
                await subscription.queue.get()
        finally:
            subscription.close()

    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(loop(), timeout)


async def cmd_submit(runtime: Runtime, args: argparse.Namespace) -> int:
    prompt = " ".join(args.prompt) if args.prompt else None
    model, bodies, preset = build_requests(runtime, args, prompt)
    cost, unit = runtime.catalog.cost_with_unit(model, bodies[0])
    jobs = runtime.engine.enqueue(model, bodies, preset=preset, cost_estimate=cost, cost_unit=unit)
    return await finish(runtime, jobs, args)


def read_batch_file(path: Path) -> list[dict[str, Any]]:
    """TOML with `[[jobs]]` tables (model, prompt, count, params…), or one prompt per line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror}") from None
    if path.suffix == ".toml":
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UsageError(f"{path}: not valid TOML: {exc}") from None
        entries = data.get("jobs")
        if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
            raise UsageError(f"{path}: expected [[jobs]] tables")
        return entries
    return [{"prompt": line.strip()} for line in text.splitlines() if line.strip()]


async def cmd_batch(runtime: Runtime, args: argparse.Namespace) -> int:
    entries = read_batch_file(Path(args.file))
    if not entries:
        raise UsageError(f"{args.file}: no jobs in it")
    planned: list[tuple[str, list[dict[str, Any]], str | None]] = []
    for number, entry in enumerate(entries, start=1):
        entry = dict(entry)
        params = entry.pop("params", {})
        entry_args = argparse.Namespace(**vars(args))
        entry_args.model = entry.pop("model", args.model)
        entry_args.preset = entry.pop("preset", args.preset)
        entry_args.count = int(entry.pop("count", args.count))
        prompt = entry.pop("prompt", None)
        entry_args.param = [*args.param, *(f"{k}={json.dumps(v)}" for k, v in entry.items())]
        entry_args.param += [f"{k}={json.dumps(v)}" for k, v in params.items()]
        try:
            planned.append(build_requests(runtime, entry_args, prompt))
        except UsageError as exc:
            raise UsageError(f"{args.file}: job {number}: {exc}") from None
    batch_id = utcnow().strftime("b%Y%m%d-%H%M%S")
    jobs: list[StoredJob] = []
    for model, bodies, preset in planned:
        cost, unit = runtime.catalog.cost_with_unit(model, bodies[0])
        jobs += runtime.engine.enqueue(
            model, bodies, preset=preset, batch_id=batch_id, cost_estimate=cost, cost_unit=unit
        )
    return await finish(runtime, jobs, args)


def resolve_ids(runtime: Runtime, prefixes: Sequence[str]) -> list[StoredJob]:
    jobs: list[StoredJob] = []
    for prefix in prefixes:
        found = runtime.store.find(prefix)
        if not found:
            raise UsageError(f"no job in the history matches {prefix!r}")
        if len(found) > 1:
            raise UsageError(f"{prefix!r} matches {len(found)} jobs; give more of the id")
        jobs.append(found[0])
    return jobs


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    """Reads the history only: no token, no network, no simulator needed."""
    if not settings.history_path.exists():
        print_jobs([], as_json=args.json)
        return EXIT_OK
    store = JobStore(settings.history_path)
    try:
        statuses = args.status.split(",") if args.status else None
        jobs = store.jobs(statuses=statuses, limit=args.limit, newest_first=True)
    finally:
        store.close()
    print_jobs(list(reversed(jobs)), as_json=args.json)
    return EXIT_OK


async def cmd_wait(runtime: Runtime, args: argparse.Namespace) -> int:
    jobs = resolve_ids(runtime, args.ids)
    args.wait = True
    return await finish(runtime, jobs, args)


async def cmd_download(runtime: Runtime, args: argparse.Namespace) -> int:
    jobs = resolve_ids(runtime, args.ids)
    not_done = [job for job in jobs if job.status != "completed"]
    if not_done:
        names = ", ".join(f"{j.short_id} ({j.status})" for j in not_done)
        raise UsageError(f"only completed jobs have results to download: {names}")
    for job in jobs:
        runtime.engine.downloads.request(job.local_id)
    await runtime.engine.downloads.wait_idle()
    final = [runtime.store.get(job.local_id) for job in jobs]
    print_jobs(final, as_json=args.json)
    return EXIT_OK if all(len(j.files) >= len(j.urls) for j in final) else EXIT_JOBS_FAILED


async def cmd_import(runtime: Runtime, args: argparse.Namespace) -> int:
    imported = await runtime.engine.import_remote(limit=args.limit)
    print_jobs(imported, as_json=args.json)
    if not args.json:
        print(f"imported {len(imported)} job(s)", file=sys.stderr)
    return EXIT_OK


async def cmd_cancel(runtime: Runtime, args: argparse.Namespace) -> int:
    code = EXIT_OK
    for job in resolve_ids(runtime, args.ids):
        result = await runtime.engine.cancel(job.local_id)
        print(f"{job.short_id}: {result.message}")
        if not result.ok:
            code = EXIT_JOBS_FAILED
    return code


COMMANDS = {
    "submit": cmd_submit,
    "batch": cmd_batch,
    "wait": cmd_wait,
    "download": cmd_download,
    "cancel": cmd_cancel,
    "import": cmd_import,
}


def run(args: argparse.Namespace, settings: Settings) -> int:
    async def main() -> int:
        async with open_runtime(settings) as runtime:
            return await COMMANDS[args.command](runtime, args)

    try:
        if args.command == "jobs":
            return cmd_jobs(settings, args)
        return asyncio.run(main())
    except UsageError as exc:
        print(f"krea-tui {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SetupError, ConfigError) as exc:
        print(f"krea-tui: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except KeyboardInterrupt:
        print(
            "krea-tui: interrupted; jobs already sent keep running on the server", file=sys.stderr
        )
        return EXIT_INTERRUPTED


def overrides_from(args: argparse.Namespace) -> Mapping[str, Any]:
    return {
        "base_url": getattr(args, "base_url", None),
        "data_dir": getattr(args, "data_dir", None),
        "output_dir": getattr(args, "output_dir", None),
        "demo": getattr(args, "demo", False) or None,
    }
