"""`krea-tui enhance ID|URL... [--model M] [--scale S] [--param k=v] [--yes] [--wait]`.

Upscales the results of finished jobs (every picture of each) or pictures given by URL: one
enhance job per picture, sent through `JobEngine.submit` as every other job is. What it will
send and the total price are printed on stderr first; as `batch` does, it then asks, and
without a terminal to ask on it sends only with `--yes`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from krea_tui.core.enhance import (
    EnhanceError,
    EnhancePlan,
    Picture,
    enhancer,
    header_fetch,
    pictures_of,
    plan_enhance,
    send,
    sized,
    target_size,
)
from krea_tui.headless import EXIT_OK, UsageError, ask, finish, parse_params, resolve_ids
from krea_tui.runtime import Runtime


def pictures_for(runtime: Runtime, names: Sequence[str]) -> list[Picture]:
    pictures: list[Picture] = []
    for name in names:
        if name.startswith(("http://", "https://")):
            pictures.append(Picture(name))
            continue
        for job in resolve_ids(runtime, [name]):
            pictures.extend(pictures_of(job))
    return pictures


async def plan_for(runtime: Runtime, args: argparse.Namespace) -> EnhancePlan:
    extra = parse_params(args.param)
    pictures = pictures_for(runtime, args.ids)
    # The model and scale are checked before any picture is fetched to learn its size.
    enhancer(runtime.catalog, args.model)
    target_size(1, 1, args.scale, None)
    with_sizes = await sized(pictures, header_fetch(runtime.client))  # headers, not files
    return plan_enhance(runtime.catalog, args.model, args.scale, with_sizes, extra=extra)


async def cmd_enhance(runtime: Runtime, args: argparse.Namespace) -> int:
    try:
        plan = await plan_for(runtime, args)
    except EnhanceError as exc:
        raise UsageError(str(exc)) from None
    print(plan.summary(runtime.catalog), file=sys.stderr, flush=True)
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError(
                "nothing sent: there is no terminal to ask on; pass --yes to send without asking"
            )
        count = len(plan.items)
        question = f"Send {count} enhance job{'s' if count != 1 else ''} "
        if not await ask(f"{question}({plan.cost_text(runtime.catalog)})? [y/N] "):
            print("krea-tui enhance: nothing sent", file=sys.stderr)
            return EXIT_OK
    jobs = send(runtime.engine, runtime.catalog, plan)
    return await finish(runtime, jobs, args)
