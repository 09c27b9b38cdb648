"""The headless commands: `submit`, `jobs`, `wait`, `download`, `cancel`, `batch`.

They run the same engine as the TUI. Machine output goes to stdout (one JSON object per line
with --json), progress to stderr only when stderr is a terminal, and exit codes are stable:
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import sys
import threading
import tomllib
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from krea_tui.config import ConfigError, Settings
from krea_tui.core.assets import validation_body
from krea_tui.core.batch import expand
from krea_tui.core.catalog import Catalog, UnknownModelError, format_totals
from krea_tui.core.downloads import NOT_SAVED, save_error
from krea_tui.core.events import DownloadEvent, JobEvent, NoticeEvent
from krea_tui.core.job_order import age_seconds, ran_seconds
from krea_tui.core.models import JobStatus
from krea_tui.core.query import ACTIVE, STATUS_GROUPS
from krea_tui.core.status import LocalStatus, is_final
from krea_tui.core.store import JobStore, StoredJob, StoreError, utcnow
from krea_tui.core.submit import Order
from krea_tui.core.watcher import AMBIGUOUS, GAVE_UP, UNKNOWN_GIVE_UP
from krea_tui.headless_assets import cmd_assets, upload_inputs, with_local_inputs
from krea_tui.presets import load_presets
from krea_tui.runtime import Runtime, SetupError, open_runtime

EXIT_OK = 0
EXIT_JOBS_FAILED = 1  # some job ended failed or cancelled
EXIT_USAGE = 2  # bad arguments or an invalid request; nothing was sent
EXIT_SETUP = 3  # no token, unreadable config or history
# The queue stopped: token refused, balance exhausted, model retired, a spend limit reached
# (max_spend_per_day / max_spend_per_batch), paused by the user. Jobs already sent are not
# cancelled; with --wait they are waited for first.
EXIT_STOPPED = 4
# Every job completed on the server, but some result could not be saved here (output folder
# unwritable or full, a download refused or given up on): one line per such job on stderr
# names the file and the reason, which the history keeps too (`jobs`, the TUI's detail pane).
# A job that failed outright still makes it EXIT_JOBS_FAILED.
EXIT_NOT_SAVED = 5
# Some job's POST may or may not have created a job on the server (its answer was lost and no
# matching job was found): never sent again by krea-tui; stderr lists the ids to look up.
EXIT_UNKNOWN = 6
EXIT_INTERRUPTED = 130
# How often `--wait` looks again without news (a lost POST's search ending elsewhere).
WAIT_RECHECK = 5.0


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
        "parent": job.parent_id,  # lineage: the local id of the job it was made from
        "rating": job.rating,  # 0-5, null unrated (core/ratings)
        "pick": {1: "pick", -1: "reject"}.get(job.pick or 0),
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
    if not jobs:
        return
    now = utcnow()
    # The times as the TUI's queue names them: Age since it was asked for, Ran on the server.
    print(f"{'ID':8}  {'Status':21}  {'Model':24}  {'Age':>5}  {'Ran':>5}  {'Prompt':40}  Result")
    for job in jobs:
        # A result not saved says so even when another result of the job was saved.
        where = save_error(job) or (job.files[0] if job.files else (job.error_message or ""))
        print(
            f"{job.short_id:8}  {job.status:21}  {job.model:24}  "
            f"{_age(age_seconds(job, now)):>5}  {_age(ran_seconds(job, now)):>5}  "
            f"{job.prompt[:40]!s:40}  {where}"
        )


def _age(seconds: float | None) -> str:
    """A duration in its largest whole unit ("3m"); "-" for a time that has not begun."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            return f"{whole // size}{unit}"
    return f"{whole}s"


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


def given_up(job: StoredJob, now: datetime) -> bool:
    """An `unknown` job nobody looks for any more: the server forgot it (404), or its lost POST
    was searched for long enough. Only the user can tell now; `--wait` does not wait for it."""
    if job.status != LocalStatus.UNKNOWN:
        return False
    said = job.error_message or ""
    if job.remote_id is not None or said == GAVE_UP:
        return True
    since = job.submitted_at or job.created_at
    return AMBIGUOUS in said and now - since > UNKNOWN_GIVE_UP + timedelta(seconds=30)


async def wait_for(runtime: Runtime, local_ids: Sequence[str], timeout: float | None) -> bool:
    """Wait until every job has ended (or is `unknown` and no longer looked for) and its
    results are saved, by this process or the one that asked for it; False on timeout, or when
    the queue is stopped with some of these jobs still waiting to be sent."""
    engine, store = runtime.engine, runtime.store
    progress = Progress(len(local_ids))
    subscription = engine.subscribe()

    def saved_or_given_up(job: StoredJob) -> bool:
        if not unsaved(job) or save_error(job):
            return True
        if engine.downloads.is_pending(job.local_id):
            return False
        if engine.downloads_here(job.local_id):
            engine.downloads.request(job.local_id)  # its owner has ended: save it here
        return False  # being saved here, or by the process that asked for it

    def settled(ids: Sequence[str]) -> bool:
        now = utcnow()
        for local_id in ids:
            job = store.get(local_id)
            if given_up(job, now):
                continue
            if not job.is_final or not saved_or_given_up(job):
                return False
        return True

    async def loop() -> bool:
        waiting_said = False
        while not settled(local_ids):
            held = [i for i in local_ids if store.get(i).status == LocalStatus.HELD]
            if engine.paused and held:
                # A pause (a spend limit reached, the balance exhausted, the user) stops what
                # is held, never what was sent: those end and are saved before we give up.
                sent = [i for i in local_ids if i not in held]
                if settled(sent):
                    print(
                        f"krea-tui: the queue is paused ({engine.pause_reason or 'by the user'});"
                        f" {len(held)} job(s) stay held and are sent once it is resumed",
                        file=sys.stderr,
                    )
                    return False
                if not waiting_said:
                    waiting_said = True
                    print(
                        f"krea-tui: the queue is paused; waiting for the {len(sent)} job(s) "
                        "already sent to end",
                        file=sys.stderr,
                        flush=True,
                    )
            try:
                event = await asyncio.wait_for(subscription.queue.get(), WAIT_RECHECK)
            except TimeoutError:
                continue
            if event is None:
                return False
            if isinstance(event, NoticeEvent) and event.severity == "error":
                print(f"krea-tui: {event.message}", file=sys.stderr, flush=True)
            if isinstance(event, JobEvent | DownloadEvent):
                done = sum(store.get(i).is_final for i in local_ids)
                progress.show(done, f"{event.job.short_id} {getattr(event, 'new', 'saved')}")
        return True

    try:
        return await asyncio.wait_for(loop(), timeout)
    except TimeoutError:
        print("krea-tui: timed out waiting", file=sys.stderr)
        return False
    finally:
        progress.end()
        subscription.close()


def report_unknown(jobs: Sequence[StoredJob]) -> None:
    lost = [job for job in jobs if job.status == LocalStatus.UNKNOWN]
    if lost:
        ids = " ".join(job.remote_id or job.local_id for job in lost)
        print(
            f"krea-tui: {len(lost)} job(s) may or may not exist on the server: {ids}. krea-tui "
            "does not send them again; look for them in the Krea web app before you do",
            file=sys.stderr,
        )


def unsaved(job: StoredJob) -> bool:
    """Completed on the server, but not every result of it is saved here."""
    return job.status == "completed" and len(job.files) < len(job.urls)


def outcome(jobs: Sequence[StoredJob], *, saving: bool = True) -> int:
    """The exit code for jobs that have ended: a failed job first, then (when this run saves
    results) a completed one whose results are not all saved."""
    if any(job.status == LocalStatus.UNKNOWN for job in jobs):
        return EXIT_UNKNOWN
    if not all(job.status == "completed" for job in jobs):
        return EXIT_JOBS_FAILED
    if saving and any(unsaved(job) for job in jobs):
        return EXIT_NOT_SAVED
    return EXIT_OK


def report_unsaved(jobs: Sequence[StoredJob]) -> None:
    """One line on stderr per completed job whose results are not all saved: which file could
    not be written, and why (what the Downloader recorded on the job)."""
    for job in jobs:
        if unsaved(job):
            why = save_error(job)
            detail = why.removeprefix(NOT_SAVED) if why else "its results are not saved here"
            print(
                f"krea-tui: job {job.short_id} completed but is not saved: {detail}",
                file=sys.stderr,
            )


# -- commands ------------------------------------------------------------------------------------


def build_requests(runtime: Runtime, args: argparse.Namespace, prompt: str | None) -> Order:
    """The model, request bodies and preset name from flags and preset, validated before
    sending."""
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
    # Local files in image fields: made absolute (a batch file's from its folder) and checked.
    body = with_local_inputs(info, body, getattr(args, "inputs_dir", None))
    bodies = expand(body, args.count, takes_seed=info.field("seed") is not None)
    for candidate in bodies:
        problems = runtime.catalog.validate(info.path, validation_body(info, candidate))
        if problems:
            raise UsageError("invalid request:\n  " + "\n  ".join(p.message for p in problems))
    return Order(info.path, bodies, preset.name if preset else None)


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
    held = sum(job.status == LocalStatus.HELD for job in final)
    if held and runtime.engine.paused:
        if not args.wait:  # --wait said so already
            reason = runtime.engine.pause_reason or "by the user"
            print(
                f"krea-tui: the queue is paused ({reason}); {held} job(s) stay held and are "
                "sent once it is resumed (`p` in krea-tui)",
                file=sys.stderr,
            )
        return EXIT_STOPPED
    report_unknown(final)
    if code == EXIT_OK and args.wait:
        # Completed on the server is not done: `download` judges the same way.
        saving = runtime.engine.config.auto_download
        code = outcome(final, saving=saving)
        if saving:
            report_unsaved(final)
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
    # `--count 20` makes one batch, as N = 20 in the compose form does.
    order = build_requests(runtime, args, prompt)
    await upload_inputs(runtime, [order])  # local files first, with progress on stderr
    jobs = runtime.engine.submit(runtime.catalog, [order])
    return await finish(runtime, jobs, args)


Planned = Sequence[Order]


def _count(planned: Planned) -> int:
    return sum(len(order.bodies) for order in planned)


def _jobs(count: int) -> str:
    return f"{count} job" if count == 1 else f"{count} jobs"


def _by_model(planned: Planned) -> dict[str, list[Mapping[str, Any]]]:
    models: dict[str, list[Mapping[str, Any]]] = {}
    for order in planned:
        models.setdefault(order.model, []).extend(order.bodies)
    return models


def total_cost_text(catalog: Catalog, planned: Planned) -> str:
    """The estimate of the whole batch, models added up: "est. $0.070" (as the sweep's)."""
    totals: dict[str, float] = {}
    unknown = 0
    for model, bodies in _by_model(planned).items():
        found = catalog.cost_totals(model, bodies)
        if found is None:
            unknown += len(bodies)
            continue
        for unit, value in found.items():
            totals[unit] = totals.get(unit, 0.0) + value
    if not totals:
        return "cost unknown"
    known = f"est. {format_totals(totals)}"
    return f"{known} + {_jobs(unknown)} of unknown cost" if unknown else known


def batch_summary(catalog: Catalog, name: str, planned: Planned) -> str:
    """What a batch will send, before it is sent: the count, each model's share, the cost."""
    lines = [f"{name}: {_jobs(_count(planned))}"]
    for model, bodies in _by_model(planned).items():
        lines.append(f"  {len(bodies)} × {model}: {catalog.cost_text(model, bodies)}")
    lines.append(f"  in all: {total_cost_text(catalog, planned)}")
    return "\n".join(lines)


async def ask(question: str) -> bool:
    """Ask on the terminal (the question on stderr, stdout stays machine output); True for y.

    The answer is read in a thread of its own so that ctrl+c still interrupts at once."""
    loop = asyncio.get_running_loop()
    answered: asyncio.Future[str] = loop.create_future()

    def answer(line: str) -> None:
        if not answered.done():
            answered.set_result(line)

    def read() -> None:
        try:
            line = sys.stdin.readline()
        except (OSError, ValueError):
            line = ""
        with contextlib.suppress(RuntimeError):  # the loop ended while a person thought
            loop.call_soon_threadsafe(answer, line)

    print(question, end="", file=sys.stderr, flush=True)
    threading.Thread(target=read, name="krea-tui-ask", daemon=True).start()
    try:
        line = await answered
    except asyncio.CancelledError:  # ctrl+c: what follows starts on a line of its own
        print(file=sys.stderr)
        raise
    if not line.endswith("\n"):
        print(file=sys.stderr)  # end of input: the same
    return line.strip().lower() in ("y", "yes")


def read_batch_file(path: Path) -> list[dict[str, Any]]:
    """TOML with `[[jobs]]` tables (model, prompt, count, params…), or one prompt per line;
    there, blank lines and lines starting with `#` (comments) are skipped."""
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
    prompts = (line.strip() for line in text.splitlines())
    return [{"prompt": prompt} for prompt in prompts if prompt and not prompt.startswith("#")]


async def cmd_batch(runtime: Runtime, args: argparse.Namespace) -> int:
    entries = read_batch_file(Path(args.file))
    if not entries:
        raise UsageError(f"{args.file}: no jobs in it")
    planned: list[Order] = []
    for number, entry in enumerate(entries, start=1):
        entry = dict(entry)
        params = entry.pop("params", {})
        entry_args = argparse.Namespace(**vars(args))
        entry_args.model = entry.pop("model", args.model)
        entry_args.preset = entry.pop("preset", args.preset)
        entry_args.count = int(entry.pop("count", args.count))
        entry_args.inputs_dir = Path(args.file).resolve().parent
        prompt = entry.pop("prompt", None)
        entry_args.param = [*args.param, *(f"{k}={json.dumps(v)}" for k, v in entry.items())]
        entry_args.param += [f"{k}={json.dumps(v)}" for k, v in params.items()]
        try:
            planned.append(build_requests(runtime, entry_args, prompt))
        except UsageError as exc:
            raise UsageError(f"{args.file}: job {number}: {exc}") from None
    print(batch_summary(runtime.catalog, args.file, planned), file=sys.stderr, flush=True)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "nothing sent: there is no terminal to ask on; pass --yes to send without asking"
            )
        question = f"Send {_jobs(_count(planned))} ({total_cost_text(runtime.catalog, planned)})?"
        if not await ask(f"{question} [y/N] "):
            print("krea-tui batch: nothing sent", file=sys.stderr)
            return EXIT_OK
    await upload_inputs(runtime, planned)  # local files first, with progress on stderr
    jobs = runtime.engine.submit(runtime.catalog, planned)
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


# What `jobs --status` takes: the server's statuses, the local ones, and the groups of the
# queue view's filter language (`status:active`, `status:done`, …).
STATUS_NAMES = tuple(str(s) for s in JobStatus) + tuple(str(s) for s in LocalStatus)
GROUP_NAMES = tuple(n for n in (ACTIVE, *STATUS_GROUPS) if n not in STATUS_NAMES)


def wanted_statuses(text: str | None) -> tuple[frozenset[str], bool] | None:
    """`--status failed,active` as (the statuses named, whether every active job is wanted);
    None: all jobs. A name that is neither a status nor a group is a usage error naming them."""
    if not text or not text.strip():
        return None
    named: set[str] = set()
    active = False
    for name in (part.strip().lower() for part in text.split(",")):
        if not name:
            continue
        if name == ACTIVE:
            active = True  # tested as "not ended", as in the queue view's filter
        elif name in STATUS_GROUPS:
            named |= STATUS_GROUPS[name]
        elif name in STATUS_NAMES:
            named.add(name)
        else:
            raise UsageError(
                f"unknown status {name!r}; statuses: {', '.join(STATUS_NAMES)}; "
                f"groups: {', '.join(GROUP_NAMES)} (several: comma-separated)"
            )
    return (frozenset(named), active) if named or active else None


def cmd_jobs(settings: Settings, args: argparse.Namespace) -> int:
    """Reads the history only: no token, no network, no simulator needed."""
    wanted = wanted_statuses(args.status)
    if not settings.history_path.exists():
        print_jobs([], as_json=args.json)
        return EXIT_OK
    try:
        store = JobStore(settings.history_path)
    except StoreError:
        # A history on a read-only mount, or another user's: it can still be read.
        store = JobStore(settings.history_path, readonly=True)
    try:
        if wanted is None or not wanted[1]:
            statuses = sorted(wanted[0]) if wanted else None
            jobs = store.jobs(statuses=statuses, limit=args.limit, newest_first=True)
        else:
            # "active" includes statuses the server may add later: asked of each job, not SQL.
            named = wanted[0]
            jobs = [
                job
                for job in store.jobs(newest_first=True)
                if job.status in named or not is_final(job.status)
            ]
            if args.limit >= 0:  # as SQL's LIMIT, a negative one means none
                jobs = jobs[: args.limit]
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
    report_unsaved(final)
    return outcome(final)  # what `submit --wait` says of the same jobs


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


async def cmd_enhance(runtime: Runtime, args: argparse.Namespace) -> int:
    from krea_tui.headless_enhance import cmd_enhance as enhance

    return await enhance(runtime, args)


async def cmd_styles(runtime: Runtime, args: argparse.Namespace) -> int:
    from krea_tui.headless_styles import cmd_styles as styles

    return await styles(runtime, args)


async def cmd_train_style(runtime: Runtime, args: argparse.Namespace) -> int:
    from krea_tui.headless_styles import cmd_train_style as train

    return await train(runtime, args)


COMMANDS = {
    "submit": cmd_submit,
    "enhance": cmd_enhance,
    "batch": cmd_batch,
    "wait": cmd_wait,
    "download": cmd_download,
    "cancel": cmd_cancel,
    "import": cmd_import,
    "assets": cmd_assets,
    "styles": cmd_styles,
    "train-style": cmd_train_style,
}


def run(args: argparse.Namespace, settings: Settings) -> int:
    async def main() -> int:
        # SIGTERM (a service manager, `kill`, a closed SSH session's hang-up) ends the command
        # as ctrl+c does: POSTs under way get their answers before the process goes.
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for stop in (signal.SIGTERM, signal.SIGHUP):
            loop.add_signal_handler(stop, task.cancel)
        async with open_runtime(settings) as runtime:
            runtime.engine.on_closing = lambda message: print(
                f"krea-tui: {message}", file=sys.stderr, flush=True
            )
            return await COMMANDS[args.command](runtime, args)

    try:
        if args.command == "jobs":
            return cmd_jobs(settings, args)
        if args.command == "export":  # the history and the files only: no runtime
            from krea_tui.headless_export import cmd_export

            return cmd_export(settings, args)
        return asyncio.run(main())
    except UsageError as exc:
        print(f"krea-tui {args.command}: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (SetupError, ConfigError, StoreError) as exc:
        print(f"krea-tui: {exc}", file=sys.stderr)
        return EXIT_SETUP
    except (KeyboardInterrupt, asyncio.CancelledError):
        print(
            "krea-tui: interrupted; jobs already sent keep running on the server, and the "
            "next krea-tui started on this history follows them",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED


def overrides_from(args: argparse.Namespace) -> Mapping[str, Any]:
    return {
        "base_url": getattr(args, "base_url", None),
        "data_dir": getattr(args, "data_dir", None),
        "output_dir": getattr(args, "output_dir", None),
        "demo": getattr(args, "demo", False) or None,
    }
