"""`krea-tui styles` and `krea-tui train-style` (reference §3.6).

`styles [--mine|--shared|--krea|--community|--public] [--liked] [--model M] [--json]` lists the
styles this token may use: id, name, whose (Krea, mine, or the owner's name) and the models each
fits. `styles share ID` / `styles unshare ID` share a style of one's own with the workspace.

`train-style NAME DIR [--model flux_dev] [--type Style] [--trigger WORD] [--steps N] [--yes]
[--wait]` trains a style from the pictures of a folder: what it will send and its price (steps
and compute units, the only price Krea publishes for training) are said on stderr first, and it
asks (without a terminal, it sends only with `--yes`). The pictures are uploaded as assets (once
each: the history remembers them, core/assets.py), then the training goes into the queue as a
job like any other (core/styles.py). With `--wait` it waits and prints the new style's id on
stdout, so that `STYLE=$(krea-tui train-style ... --yes --wait)` works in a script.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from krea_tui.core.assets import NO_TRAINING_UNDER_ZDR
from krea_tui.core.errors import KreaError
from krea_tui.core.store import StoredJob
from krea_tui.core.styles import (
    DEFAULT_TRAIN_STEPS,
    FILTERS,
    TRAIN_MODEL,
    Style,
    StyleProblem,
    TrainingPricing,
    training_body,
    training_pictures,
    training_summary,
)
from krea_tui.core.submit import Order
from krea_tui.headless import (
    EXIT_OK,
    UsageError,
    ask,
    job_record,
    outcome,
    print_jobs,
    report_unknown,
    wait_for,
)
from krea_tui.headless_assets import upload_all
from krea_tui.runtime import Runtime, SetupError

PAGE = 1000


async def all_styles(
    runtime: Runtime, *, filter: str, liked: bool, model: str | None, limit: int
) -> list[Style]:
    """Up to `limit` styles of one filter, every page followed."""
    styles: list[Style] = []
    cursor = None
    while len(styles) < limit:
        page, cursor = await runtime.client.list_styles(
            filter=filter,
            liked=liked,
            model=model,
            limit=min(PAGE, limit - len(styles)),
            cursor=cursor,
        )
        styles += page
        if cursor is None or not page:
            break
    return styles


async def my_style_ids(runtime: Runtime) -> set[str]:
    """The ids of this token's own styles (what "mine" means in the listing)."""
    return {s.id for s in await all_styles(runtime, filter="user", liked=False, model=None,
                                           limit=10_000)}  # fmt: skip


def style_line(style: Style, mine: set[str]) -> str:
    models = ",".join(style.models) or "?"
    return f"{style.id:<36}  {style.name[:32]:<32}  {style.whose(mine)[:16]:<16}  {models}"


async def cmd_styles(runtime: Runtime, args: argparse.Namespace) -> int:
    action = getattr(args, "styles_action", None)
    try:
        if action in ("share", "unshare"):
            return await _share(runtime, action, args.id)
        filter_word = getattr(args, "which", None) or "all"
        styles = await all_styles(
            runtime,
            filter=FILTERS[filter_word],
            liked=bool(getattr(args, "liked", False)),
            model=getattr(args, "style_model", None),
            limit=max(1, int(getattr(args, "limit", 100))),
        )
        mine = {s.id for s in styles} if filter_word == "mine" else await my_style_ids(runtime)
    except KreaError as exc:
        raise SetupError(exc.message) from None
    for style in styles:
        if getattr(args, "json", False):
            print(json.dumps(style.record(mine)))
        else:
            print(style_line(style, mine))
    return EXIT_OK


async def _share(runtime: Runtime, action: str, style_id: str) -> int:
    try:
        if action == "unshare":
            await runtime.client.unshare_style(style_id)
            print(f"{style_id}: no longer shared with the workspace")
            return EXIT_OK
        answer = await runtime.client.share_style(style_id)
    except KreaError as exc:
        if exc.status in (400, 403, 404):
            raise UsageError(f"{style_id}: {exc.message}") from None
        raise
    workspace = answer.get("workspace")
    name = ""
    if isinstance(workspace, dict):
        name = str(workspace.get("name") or workspace.get("id") or "")
    print(f"{style_id}: shared with the workspace {name}".rstrip())
    return EXIT_OK


# -- train-style -----------------------------------------------------------------------------


def _plan(
    args: argparse.Namespace, count: int, urls: Sequence[str] | None = None
) -> dict[str, object]:
    try:
        return training_body(
            args.name,
            list(urls) if urls is not None else [f"picture-{i}" for i in range(count)],
            model=args.model,
            kind=args.type,
            trigger=args.trigger,
            steps=args.steps,
        )
    except StyleProblem as exc:
        raise UsageError(str(exc)) from None


async def cmd_train_style(runtime: Runtime, args: argparse.Namespace) -> int:
    _refuse_under_zdr(runtime)
    try:
        pictures = training_pictures(Path(args.dir).expanduser())
    except StyleProblem as exc:
        raise UsageError(str(exc)) from None
    planned = _plan(args, len(pictures))  # checked before anything is uploaded
    print(training_summary(planned), file=sys.stderr, flush=True)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "nothing sent: there is no terminal to ask on; pass --yes to send without asking"
            )
        if not await ask("Upload the pictures and start the training? [y/N] "):
            print("krea-tui train-style: nothing sent", file=sys.stderr)
            return EXIT_OK
    urls = await upload_pictures(runtime, pictures)
    body = _plan(args, len(pictures), urls)
    jobs = runtime.engine.submit(TrainingPricing(), [Order(TRAIN_MODEL, [body])])
    return await _finish(runtime, jobs, args)


async def upload_pictures(runtime: Runtime, pictures: Sequence[Path]) -> list[str]:
    """Each picture's asset URL, uploading those not uploaded before (progress on stderr)."""
    _refuse_under_zdr(runtime)
    uploader = runtime.engine.submitter.inputs
    if uploader is None:
        raise SetupError("nothing sent: this connection cannot upload files")
    return await upload_all(uploader, [str(path.resolve()) for path in pictures])


def _refuse_under_zdr(runtime: Runtime) -> None:
    """Under Zero Data Retention the pictures would go inline, and the history would keep
    them, base64, in the training's request: refused before anything is read."""
    uploader = runtime.engine.submitter.inputs
    if uploader is not None and uploader.zero_data_retention:
        raise UsageError(f"nothing sent: {NO_TRAINING_UNDER_ZDR}")


async def _finish(runtime: Runtime, jobs: Sequence[StoredJob], args: argparse.Namespace) -> int:
    """Without --wait: as `submit` does (the job's line once it reached the server). With
    --wait: the new style's id on stdout (the job's record with `style_id` under --json)."""
    from krea_tui.headless import finish

    if not args.wait:
        return await finish(runtime, jobs, args)
    (job,) = jobs
    ended = await wait_for(runtime, [job.local_id], args.timeout)
    final = runtime.store.get(job.local_id)
    report_unknown([final])
    if not ended or final.status != "completed" or final.remote_id is None:
        if args.json:
            print_jobs([final], as_json=True)
        said = f": {final.error_message}" if final.error_message else ""
        print(f"krea-tui train-style: the training is {final.status}{said}", file=sys.stderr)
        return outcome([final], saving=False) or 1
    try:
        style_id = (await runtime.client.get_job(final.remote_id)).style_id
    except KreaError as exc:
        raise SetupError(f"the training completed, but its style id: {exc.message}") from None
    if style_id is None:
        print("krea-tui train-style: the training completed without a style id", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps({**job_record(final), "style_id": style_id}))
    else:
        print(style_id)
    print(
        f"krea-tui: style {style_id} is ready; use it with --param "
        f'\'styles=[{{"id": "{style_id}", "strength": 1}}]\'',
        file=sys.stderr,
    )
    return EXIT_OK


__all__ = ["DEFAULT_TRAIN_STEPS", "cmd_styles", "cmd_train_style"]
