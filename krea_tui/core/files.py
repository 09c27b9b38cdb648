"""Writing result files safely: atomic writes, names that cannot escape the output directory,
and no overwriting of a file that is already there."""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import BinaryIO
from urllib.parse import urlsplit

from krea_tui.core.processes import pid_alive

TEMP_PREFIX = ".krea-tui-"
TEMP_SUFFIX = ".part"
_WRITER_PID = re.compile(rf"{re.escape(TEMP_PREFIX)}(\d+)-")
DEFAULT_TEMPLATE = "{date}/{job_id}-{index}.{ext}"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
KNOWN_EXTENSIONS = {"png", "jpg", "jpeg", "webp", "gif", "mp4", "webm", "mov", "glb", "zip"}


def safe_part(text: str, *, fallback: str = "x", max_length: int = 80) -> str:
    """One path component made only of safe characters; never '.', '..' or empty."""
    cleaned = _UNSAFE.sub("_", text).strip("._")[:max_length]
    return cleaned or fallback


def extension_of(url: str, default: str = "png") -> str:
    suffix = PurePosixPath(urlsplit(url).path).suffix.lower().lstrip(".")
    return suffix if suffix in KNOWN_EXTENSIONS else default


def render_name(template: str, values: Mapping[str, str]) -> Path:
    """Fill the naming template; every field is sanitised so the result stays relative."""
    safe = {key: safe_part(str(value)) for key, value in values.items()}
    try:
        rendered = template.format(**safe)
    except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
        # "{date.year}" or "{date[0]}": format() reaches into our strings and fails oddly.
        raise ValueError(f"bad file-name template {template!r}: {exc}") from None
    parts = [safe_part(p) for p in PurePosixPath(rendered).parts if p not in ("/", "..", ".")]
    if not parts:
        raise ValueError(f"file-name template {template!r} gives an empty name")
    return Path(*parts)


def result_path(
    output_dir: Path,
    template: str,
    *,
    job_id: str,
    index: int,
    url: str,
    when: datetime,
    model: str = "",
    seed: object = "",
) -> Path:
    values = {
        "date": when.strftime("%Y-%m-%d"),
        "time": when.strftime("%H%M%S"),
        "job_id": job_id,
        "short_id": job_id[:8],
        "index": str(index),
        "ext": extension_of(url),
        "model": model.replace("/", "_"),
        "seed": str(seed),
    }
    return output_dir / render_name(template, values)


def check_name_template(template: str) -> str | None:
    """What is wrong with a file-name template, in words, or None (checked when the config is
    read, so a typo shows at start-up rather than at the first download)."""
    try:
        result_path(Path("."), template, job_id="0" * 8, index=0, url="x.png", when=datetime.now())
    except ValueError as exc:
        return (
            f"is not usable ({exc}); fields: {{date}} {{time}} {{job_id}} {{short_id}} "
            "{index} {ext} {model} {seed}"
        )
    return None


# The first bytes of every kind of result Krea serves (images, videos, 3D models, zips).
_MEDIA_SIGNATURES: tuple[tuple[int, bytes, str], ...] = (
    (0, b"\x89PNG\r\n\x1a\n", "png"),
    (0, b"\xff\xd8\xff", "jpeg"),
    (0, b"GIF87a", "gif"),
    (0, b"GIF89a", "gif"),
    (8, b"WEBP", "webp"),  # after RIFF and a length
    (4, b"ftyp", "mp4"),  # MP4 and QuickTime
    (0, b"\x1a\x45\xdf\xa3", "webm"),
    (0, b"glTF", "glb"),
    (0, b"PK\x03\x04", "zip"),
)


def media_type(head: bytes) -> str | None:
    """What kind of result file these first bytes start, or None when it is none of them (an
    HTML error page from a CDN or a captive portal must not be saved as a picture)."""
    for offset, signature, kind in _MEDIA_SIGNATURES:
        if head[offset : offset + len(signature)] == signature:
            return kind
    return None


def free_path(path: Path, *, reuse: Callable[[Path], bool] | None = None) -> Path:
    """`path`, or `name-1.ext`, `name-2.ext`… if something is already there. A taken name for
    which `reuse` says yes is returned as it is: our own earlier copy of the same thing."""
    for n in range(10_000):
        candidate = path if n == 0 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not candidate.exists() or (reuse is not None and reuse(candidate)):
            return candidate
    raise FileExistsError(f"no free name next to {path}")


@contextmanager
def replacing(path: Path, *, mode: int = 0o644) -> Iterator[BinaryIO]:
    """A file to write `path` through: it appears under that name whole, with `mode`, when the
    block ends, and not at all when the block fails (temp file in the same directory + rename).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    # Our PID in the name tells another krea-tui's start-up sweep this is no leftover.
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=path.parent
    )
    try:
        with os.fdopen(fd, "wb") as out:
            yield out
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise


@contextmanager
def scratch_file(directory: Path) -> Iterator[BinaryIO]:
    """A temp file in `directory` to read and write (a download being checked before it is
    kept), removed when the block ends, whatever happens. Named as `replacing` names its own,
    so the start-up sweep removes one that a killed process left behind."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=directory
    )
    try:
        with os.fdopen(fd, "w+b") as handle:
            yield handle
    finally:
        Path(tmp_name).unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes, *, mode: int = 0o644) -> Path:
    """Write all of `data` under `path` or nothing."""
    with replacing(path, mode=mode) as out:
        out.write(data)
    return path


def _writer_alive(leftover: Path) -> bool:
    """Whether the process named in a temp file's name may still be writing it. Names from
    before PIDs were added name nobody: those are leftovers."""
    found = _WRITER_PID.match(leftover.name)
    if not found:
        return False
    return pid_alive(int(found.group(1)))


def sweep_temp_files(directory: Path, *, recursive: bool = True) -> int:
    """Remove the temp files killed processes left behind; returns how many. Those of a
    krea-tui still running (a TUI and a `krea-tui submit` sharing an output folder) stay."""
    if not directory.is_dir():
        return 0
    pattern = f"{TEMP_PREFIX}*{TEMP_SUFFIX}"
    removed = 0
    for leftover in directory.rglob(pattern) if recursive else directory.glob(pattern):
        if _writer_alive(leftover):
            continue
        try:
            leftover.unlink()
            removed += 1
        except OSError:
            pass
    return removed
