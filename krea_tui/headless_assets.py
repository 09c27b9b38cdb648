"""Local input files for the headless commands, and `krea-tui assets`.

`submit` and `batch` check every local file named in an image field and upload it before any
job is queued (progress on stderr), so a wrong path or a refused upload sends nothing. The jobs
keep the paths; the engine's uploader finds each file's asset in the history when it sends
them (core/assets.py). `krea-tui assets` lists the uploads and deletes them.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from krea_tui.core.asset_types import Asset
from krea_tui.core.assets import (
    InputProblem,
    Uploader,
    UploadProgress,
    absolute_inputs,
    local_inputs,
    peek_input,
)
from krea_tui.core.catalog import ModelInfo
from krea_tui.core.errors import KreaError, NotFoundError
from krea_tui.core.submit import Order
from krea_tui.runtime import Runtime, SetupError


def with_local_inputs(
    model: ModelInfo, body: Mapping[str, Any], cwd: Path | None
) -> dict[str, Any]:
    """The body with its local inputs made absolute and checked (UsageError naming the file)."""
    from krea_tui.headless import UsageError  # headless imports this module

    body = absolute_inputs(model, body, cwd=cwd)
    for _field, value in local_inputs(model, body):
        try:
            peek_input(value)  # read whole when uploaded
        except InputProblem as exc:
            raise UsageError(str(exc)) from None
    return body


class ProgressLine:
    """Upload progress on stderr: one line rewritten in place on a terminal, else a line when
    each upload starts and ends (logs of a cron job stay short)."""

    def __init__(self, out: TextIO | None = None) -> None:
        self.out = out or sys.stderr
        self.live = self.out.isatty()

    def __call__(self, step: UploadProgress) -> None:
        size = f"{step.total / 1e6:.1f} MB"
        if step.reused:
            self._line(f"krea-tui: {step.name} was uploaded before; reusing it", end=True)
        elif step.done:
            self._line(f"krea-tui: uploaded {step.name} ({size})", end=True)
        elif step.sent == 0:
            self._line(f"krea-tui: uploading {step.name} ({size})…", end=not self.live)
        elif self.live:
            share = 100 * step.sent // max(1, step.total)
            self._line(f"krea-tui: uploading {step.name} ({size})… {share}%", end=False)

    def _line(self, text: str, *, end: bool) -> None:
        if self.live:
            self.out.write("\r\x1b[K" + text + ("\n" if end else ""))
        else:
            self.out.write(text + "\n")
        self.out.flush()


async def upload_inputs(runtime: Runtime, orders: Sequence[Order]) -> None:
    """Upload every local file the orders name, once each, before any job is queued."""

    uploader = runtime.engine.submitter.inputs
    if uploader is None:
        return
    values = list(
        dict.fromkeys(
            value
            for order in orders
            for body in order.bodies
            for _field, value in local_inputs(runtime.catalog.get(order.model), body)
        )
    )
    if not values or uploader.zero_data_retention:
        return  # inline data: URIs are made when each job is sent
    await upload_all(uploader, values)


async def upload_all(uploader: Uploader, values: Sequence[str]) -> list[str]:
    """Each local file's asset URL, uploading those not uploaded before, with a progress line
    on stderr; a file that cannot go (or the service refusing) sends nothing and exits."""
    from krea_tui.headless import UsageError  # headless imports this module

    before = uploader.on_progress
    uploader.on_progress = ProgressLine()
    try:
        return [await uploader.url_for(value) for value in values]
    except InputProblem as exc:
        raise UsageError(f"nothing sent: {exc}") from None
    except KreaError as exc:
        raise SetupError(f"nothing sent: {exc.message}") from None
    finally:
        uploader.on_progress = before


# -- krea-tui assets -----------------------------------------------------------------------------


async def cmd_assets(runtime: Runtime, args: argparse.Namespace) -> int:
    client, store = runtime.client, runtime.store
    try:
        if getattr(args, "assets_action", None) == "delete":
            code = 0
            for asset_id in args.ids:
                try:
                    await client.delete_asset(asset_id)
                except NotFoundError as exc:
                    print(f"{asset_id}: {exc.message}", file=sys.stderr)
                    code = 1
                    continue
                store.forget_asset(asset_id)
                print(f"{asset_id}: deleted")
            return code
        limit = max(1, getattr(args, "limit", 100))
        known = store.uploads_by_asset(client.base_url)
        assets: list[Asset] = []
        cursor = None
        while len(assets) < limit:
            page, cursor = await client.list_assets(
                limit=min(1000, limit - len(assets)), cursor=cursor
            )
            assets += page
            if cursor is None or not page:
                break
    except KreaError as exc:
        raise SetupError(exc.message) from None
    for asset in assets:
        record = known.get(asset.id)
        name = record.name if record is not None else ""
        if getattr(args, "json", False):
            row = {
                "id": asset.id,
                "url": asset.url,
                "uploaded_at": asset.uploaded_at,
                "size_bytes": asset.size_bytes,
                "mime_type": asset.mime_type,
                "width": asset.width,
                "height": asset.height,
                "file": name or None,
            }
            print(json.dumps(row))
        else:
            size = f"{asset.size_bytes / 1e6:.1f} MB" if asset.size_bytes is not None else "?"
            pixels = f"{asset.width}×{asset.height}" if asset.width and asset.height else ""
            when = (asset.uploaded_at or "")[:19].replace("T", " ")
            print("  ".join(p for p in (asset.id, when, size, pixels, name, asset.url) if p))
    return 0
