"""Exporting the keepers: the saved results of chosen jobs copied to a folder with their
sidecars, and one contact sheet PNG of them labelled with the parameters that differ.

A copy never overwrites anything: a name taken in the folder gets `-1`, `-2`… (its name is
claimed with an exclusive create before it is written). A PNG is written again with its text
chunks made anew (the request, and now the rating and pick: see core/ratings), so the copy
carries the judgement where the saved original could not cheaply; other files are copied as
they are. The sidecar is the original's, with the rating and pick, or made from the history
when the original has none.
"""

from __future__ import annotations

import json
import math
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from krea_tui.core import queue_sql
from krea_tui.core.files import replacing
from krea_tui.core.metadata import PNG_SIGNATURE, copy_with_metadata, request_document
from krea_tui.core.query import Query
from krea_tui.core.ratings import judgement, label
from krea_tui.core.sheet import show_value, varying
from krea_tui.core.store import JobStore, StoredJob

SHEET_NAME = "contact-sheet.png"
THUMB = 256  # pixels, the longer side of a picture on the sheet
LABEL_LINES = 3
LINE_HEIGHT = 14
MAX_COLUMNS = 6


@dataclass
class Exported:
    """What an export did: the files written, and the jobs' results that were not there."""

    copied: list[Path] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # "<short id>: <path>" of files gone
    jobs: int = 0  # jobs with at least one result copied
    sheet: Path | None = None
    labels: dict[str, str] = field(default_factory=dict)  # local id -> its label on the sheet


def chosen(store: JobStore, query: Query, now: datetime) -> list[StoredJob]:
    """The jobs `query` matches (the queue view's filter language, as SQL) that have a saved
    result, in queue order."""
    where = queue_sql.where(query, now, indexed=store.has_word_index, absent=store.absent_filters)
    rows = store.jobs_select(
        f"WHERE ({where.text}) AND local_id IN (SELECT local_id FROM files) ORDER BY position",
        where.args,
    )
    return [job for _, job in rows]


def claim(path: Path) -> Path:
    """`path`, or `name-1.ext`, `name-2.ext`… : the first name free both for the file and its
    sidecar, claimed by creating it empty (exclusively), so no two exports share one."""
    for n in range(10_000):
        candidate = path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if candidate.with_name(candidate.name + ".json").exists():
            continue
        try:
            fd = os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            continue
        os.close(fd)
        return candidate
    raise FileExistsError(f"no free name next to {path}")


def _sidecar_document(job: StoredJob, source: Path, index: int) -> dict[str, Any]:
    try:
        read = json.loads(source.with_name(source.name + ".json").read_text("utf-8"))
    except (OSError, ValueError):
        read = None
    document: dict[str, Any]
    if isinstance(read, dict):
        document = read
    else:
        url = job.urls[index] if index < len(job.urls) else None
        document = request_document(
            job.model,
            job.request,
            job_id=job.remote_id or job.local_id,
            created_at=job.created_at.isoformat(),
            index=index,
            url=url,
        )
    document.update(judgement(job))
    return document


def _copy_one(job: StoredJob, index: int, source: Path, folder: Path) -> Path:
    target = claim(folder / source.name)
    try:
        with source.open("rb") as handle, replacing(target) as out:
            if handle.read(len(PNG_SIGNATURE)) == PNG_SIGNATURE:
                handle.seek(0)
                extra = {
                    "job_id": job.remote_id or job.local_id,
                    "created_at": job.created_at.isoformat(),
                    "index": index,
                    **judgement(job),
                }
                copy_with_metadata(handle, out, job.model, job.request, **extra)
            else:
                handle.seek(0)
                shutil.copyfileobj(handle, out, 1024 * 1024)
        shutil.copystat(source, target, follow_symlinks=True)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    document = _sidecar_document(job, source, index)
    text = json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with replacing(target.with_name(target.name + ".json")) as out:
        out.write(text.encode())
    return target


def export_jobs(
    jobs: Sequence[StoredJob],
    folder: Path,
    *,
    sheet: bool = False,
    progress: Callable[[Path], None] | None = None,
) -> Exported:
    """Copy every saved result of `jobs` into `folder` (made if need be), with sidecars; with
    `sheet`, also one contact sheet PNG of the first result of each."""
    folder.mkdir(parents=True, exist_ok=True)
    done = Exported()
    pictures: list[tuple[StoredJob, Path]] = []
    for job in jobs:
        copied_any = False
        for index, name in enumerate(job.files):
            source = Path(name)
            if not source.is_file():
                done.missing.append(f"{job.short_id}: {source}")
                continue
            target = _copy_one(job, index, source, folder)
            done.copied.append(target)
            if progress is not None:
                progress(target)
            if not copied_any:
                pictures.append((job, source))
            copied_any = True
        done.jobs += copied_any
    if sheet and pictures:
        done.labels = sheet_labels([job for job, _ in pictures])
        done.sheet = write_sheet(pictures, done.labels, claim(folder / SHEET_NAME))
    return done


def sheet_labels(jobs: Sequence[StoredJob]) -> dict[str, str]:
    """Each job's label on the sheet: its short id and judgement, then the parameters whose
    values differ among `jobs` (the model too, when they differ), as `key value`."""
    requests = [job.request for job in jobs]
    keys = varying(requests)
    if len({repr(r.get("seed")) for r in requests}) > 1:
        keys.append("seed")
    models = len({job.model for job in jobs}) > 1
    labels: dict[str, str] = {}
    for job in jobs:
        judged = " ".join(
            part
            for part in (
                f"{job.rating}/5" if job.rating is not None else "",
                {1: "pick", -1: "reject"}.get(job.pick or 0, ""),
            )
            if part
        )
        # Short values first, the prompt (when it differs) last; a parameter a job has not
        # got is left out of its label.
        parts = [
            f"{key} {show_value(job.request[key])}"
            for key in sorted(keys, key=lambda k: k == "prompt")
            if job.request.get(key) is not None
        ]
        if models:
            parts.insert(0, job.model.rsplit("/", 1)[-1])
        head = f"{job.short_id} {judged}".strip()
        labels[job.local_id] = "\n".join([head, ", ".join(parts)]) if parts else head
    return labels


def _fit_lines(text: str, width: int, measure: Callable[[str], float]) -> list[str]:
    """`text` broken into lines no wider than `width` pixels (words kept whole where they
    fit), at most LABEL_LINES of them, the last cut with … when there is more."""
    lines: list[str] = []
    # Pillow's own font may be a bitmap one, which draws Latin-1 only.
    text = text.encode("latin-1", "replace").decode("latin-1")
    for paragraph in text.split("\n"):
        line = ""
        for word in paragraph.split(" "):
            trial = f"{line} {word}".strip()
            if measure(trial) <= width or not line:
                line = trial
            else:
                lines.append(line)
                line = word
        lines.append(line)
    if len(lines) > LABEL_LINES:
        lines = [*lines[: LABEL_LINES - 1], lines[LABEL_LINES - 1] + " ..."]
    out = []
    for line in lines:
        while len(line) > 3 and measure(line) > width:
            line = line[:-4] + "..."
        out.append(line)
    return out


def write_sheet(
    pictures: Sequence[tuple[StoredJob, Path]], labels: dict[str, str], target: Path
) -> Path:
    """One PNG: the pictures in a grid (at most MAX_COLUMNS across), each scaled to THUMB
    pixels on its longer side, with its label below."""
    from PIL import Image, ImageDraw, ImageFont

    count = len(pictures)
    columns = min(MAX_COLUMNS, max(1, math.ceil(math.sqrt(count))))
    rows = math.ceil(count / columns)
    pad = 8
    cell_w, cell_h = THUMB + 2 * pad, THUMB + 2 * pad + LABEL_LINES * LINE_HEIGHT
    sheet = Image.new("RGB", (columns * cell_w, rows * cell_h), (24, 24, 28))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default()

    def measure(text: str) -> float:
        return float(draw.textlength(text, font=font))

    for n, (job, path) in enumerate(pictures):
        x, y = (n % columns) * cell_w + pad, (n // columns) * cell_h + pad
        try:
            with Image.open(path) as picture:
                picture.thumbnail((THUMB, THUMB))
                thumb = picture.convert("RGB")
        except (OSError, Image.DecompressionBombError, ValueError):
            thumb = None
        if thumb is not None:
            sheet.paste(thumb, (x + (THUMB - thumb.width) // 2, y + (THUMB - thumb.height) // 2))
        else:
            draw.text((x + 4, y + 4), "(cannot read)", fill=(200, 90, 90), font=font)
        lines = _fit_lines(labels.get(job.local_id, label(job)), THUMB, measure)
        for i, line in enumerate(lines):
            draw.text((x, y + THUMB + 4 + i * LINE_HEIGHT), line, fill=(230, 230, 230), font=font)
    with replacing(target) as out:
        sheet.save(out, format="PNG")
    return target
