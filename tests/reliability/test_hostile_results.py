"""Hostile result files: whatever the CDN serving a finished job's pictures does, the result is
saved whole, or the job says truthfully why not; downloads stay bounded in time, memory and
disk, and one bad picture never stops the others from being drawn.

The result servers are raw asyncio servers on 127.0.0.1, started here: they drip, loop, inflate
and lie in ways no well-behaved framework would let them. Limits are module constants the tests
shrink, so each case takes a second or two, not the ten minutes a real deadline allows.
"""

from __future__ import annotations

import asyncio
import errno
import functools
import io
import os
import struct
import time
import tracemalloc
import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from krea_tui.core import api as api_module
from krea_tui.core import downloads as downloads_module
from krea_tui.core.api import KreaClient
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.downloads import Downloader
from krea_tui.core.events import DownloadEvent, EngineEvent, PreviewEvent
from krea_tui.core.files import DEFAULT_TEMPLATE
from krea_tui.core.metadata import request_from_png
from krea_tui.core.store import JobStore, StoredJob, utcnow
from krea_tui.sim.server import RunningSim
from tests.integration.cli_support import against, krea, make_cli_env

ROOT = Path(__file__).resolve().parents[2]
FLUX = "bfl/flux-1-dev"
MiB = 1 << 20


# -- pictures, good and hostile ------------------------------------------------------------------


def good_png(size: tuple[int, int] = (8, 6)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload) & 0xFFFFFFFF
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


@functools.cache
def png_declaring(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of width×height black pixels: a few KB that decode to gigabytes."""
    row = b"\x00" * (1 + (width + 7) // 8)
    pixels = zlib.compressobj(9)
    idat = b"".join(pixels.compress(row) for _ in range(height)) + pixels.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    )


@functools.cache
def gzip_bomb(size: int) -> bytes:
    """gzip of a PNG signature and `size` zero bytes: ~1/1000 of `size` on the wire."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\x00" * MiB
    parts = [packer.compress(b"\x89PNG\r\n\x1a\n")]
    parts += [packer.compress(zeros) for _ in range(size // MiB)]
    return b"".join(parts) + packer.flush()


# -- a result server that does what it is told ---------------------------------------------------

Writer = asyncio.StreamWriter
Route = Callable[["Hostile", Writer, str], Awaitable[None]]


@dataclass
class Hostile:
    """Result URLs served by hand over raw TCP on loopback."""

    routes: dict[str, Route] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)  # body bytes written, by path
    port: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _serve(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            request = await reader.readline()
            while (await reader.readline()).strip():
                pass  # headers
            path = request.split()[1].decode()
            self.hits[path] += 1
            await self.routes[path](self, writer, path)
        except (ConnectionError, IndexError):
            pass  # the client hung up on us: what it should do to a server like this
        except asyncio.CancelledError:
            pass  # the test is over (ending normally keeps asyncio 3.11 from logging it)
        finally:
            self._tasks.discard(task)
            writer.close()

    async def head(self, writer: Writer, status: int = 200, **headers: str) -> None:
        lines = [f"HTTP/1.1 {status} X", "Connection: close"]
        lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        await writer.drain()

    async def body(self, writer: Writer, path: str, data: bytes) -> None:
        writer.write(data)
        self.sent[path] += len(data)
        await writer.drain()


@asynccontextmanager
async def hostile_server(routes: dict[str, Route]) -> AsyncIterator[Hostile]:
    hostile = Hostile(routes)
    server = await asyncio.start_server(hostile._serve, "127.0.0.1", 0)
    hostile.port = server.sockets[0].getsockname()[1]
    try:
        yield hostile
    finally:
        server.close()
        for task in list(hostile._tasks):
            task.cancel()
        await asyncio.gather(*hostile._tasks, return_exceptions=True)


def serve(data: bytes, **headers: str) -> Route:
    async def route(server: Hostile, writer: Writer, path: str) -> None:
        await server.head(writer, Content_Length=str(len(data)), **headers)
        await server.body(writer, path, data)

    return route


def drip(data: bytes, every: float) -> Route:
    """One byte every `every` seconds: inside any per-read timeout, for ever in all."""

    async def route(server: Hostile, writer: Writer, path: str) -> None:
        await server.head(writer, Content_Length=str(len(data)))
        for byte in data:
            await server.body(writer, path, bytes([byte]))
            await asyncio.sleep(every)  # the hostile server's pace

    return route


def endless(start: bytes) -> Route:
    """`start`, then zeros until the client hangs up (no length: read until close)."""

    async def route(server: Hostile, writer: Writer, path: str) -> None:
        await server.head(writer)
        await server.body(writer, path, start)
        block = b"\x00" * (256 * 1024)
        while True:
            await server.body(writer, path, block)

    return route


def redirect_loop() -> Route:
    async def route(server: Hostile, writer: Writer, path: str) -> None:
        await server.head(writer, 302, Location=path, Content_Length="0")

    return route


# -- a downloader over a real store --------------------------------------------------------------


@dataclass
class Rig:
    store: JobStore
    downloads: Downloader
    output_dir: Path
    events: list[tuple[float, EngineEvent]] = field(default_factory=list)

    def completed(self, *urls: str, model: str = FLUX) -> str:
        job = self.store.add_job(model, {"prompt": "a lighthouse", "seed": 7})
        self.store.update(job.local_id, remote_id=f"r-{job.local_id[:12]}")
        self.store.set_status(job.local_id, "completed", utcnow(), urls=list(urls))
        return job.local_id

    def job(self, local_id: str) -> StoredJob:
        return self.store.get(local_id)

    async def save(self, *local_ids: str, within: float = 10.0) -> None:
        for local_id in local_ids:
            self.downloads.request(local_id)
        await asyncio.wait_for(self.downloads.wait_idle(), within)

    def downloads_of(self, local_id: str) -> list[DownloadEvent]:
        return [
            e for _, e in self.events if isinstance(e, DownloadEvent) and e.job.local_id == local_id
        ]

    def saved_at(self, local_id: str) -> float | None:
        return next(
            (
                at
                for at, e in self.events
                if isinstance(e, DownloadEvent) and e.job.local_id == local_id and e.path
            ),
            None,
        )

    def files_on_disk(self) -> list[Path]:
        return sorted(p for p in self.output_dir.rglob("*") if p.is_file())


@asynccontextmanager
async def rig(tmp_path: Path, **options: Any) -> AsyncIterator[Rig]:
    store = JobStore(tmp_path / "history.sqlite3")
    client = KreaClient("unused-token", base_url="http://127.0.0.1:9")
    output_dir = tmp_path / "out"
    events: list[tuple[float, EngineEvent]] = []
    loop = asyncio.get_running_loop()
    downloads = Downloader(
        client,
        store,
        lambda event: events.append((loop.time(), event)),
        output_dir=output_dir,
        template=DEFAULT_TEMPLATE,
        **options,
    )
    try:
        yield Rig(store, downloads, output_dir, events)
    finally:
        await downloads.close()
        await client.aclose()
        store.close()


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(downloads_module, "RETRY_DELAYS", (0.05, 0.05, 0.05))


@contextmanager
def peak_memory() -> Iterator[list[int]]:
    """The peak of Python allocations inside the block, in bytes (in the list, once done)."""
    tracemalloc.start()
    peak: list[int] = []
    try:
        yield peak
    finally:
        peak.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()


def not_saved(job: StoredJob) -> str:
    """What the job says about its results, checked to be a truthful 'not saved'."""
    assert job.status == "completed"  # the server made it: that stays true
    assert not job.files
    assert job.error_message and job.error_message.startswith("not saved"), job.error_message
    return job.error_message


# -- 7: results not saved are no success --------------------------------------------------------


@contextmanager
def full_disk(directory: Path) -> Iterator[io.BytesIO]:
    """What `scratch_file` gives on a full disk: a file that takes no more bytes."""

    class Full(io.BytesIO):
        def write(self, data: Any) -> int:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    yield Full()


@pytest.mark.parametrize("cause", ["unwritable", "full"])
async def test_a_result_that_cannot_be_written_is_recorded_on_the_job_and_cleared_once_saved(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cause: str
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    async with (
        hostile_server({"/a.png": serve(good_png())}) as cdn,
        rig(tmp_path) as r,
    ):
        if cause == "unwritable":
            r.downloads.output_dir = blocker / "out"
            why = "Not a directory"
        else:
            monkeypatch.setattr(downloads_module, "scratch_file", full_disk, raising=False)
            why = "No space left on device"
        local_id = r.completed(cdn.url("/a.png"))
        await r.save(local_id)
        message = not_saved(r.job(local_id))
        assert str(r.downloads.output_dir) in message  # which file could not be written…
        assert why in message  # …and why
        (event,) = r.downloads_of(local_id)
        assert event.path is None and event.error
        assert event.job.error_message == message  # what the TUI's detail pane shows
        assert r.files_on_disk() == []

        # The user makes room (or fixes the folder) and asks again.
        monkeypatch.undo()
        r.downloads.output_dir = tmp_path / "out"
        await r.save(local_id)
        job = r.job(local_id)
        assert job.status == "completed" and len(job.files) == 1
        assert job.error_message is None
        assert r.downloads_of(local_id)[-1].job.error_message is None


def run(env: dict[str, str], *args: str) -> tuple[int, list[dict[str, Any]], str]:
    done = krea(env, *args)
    return done.code, done.records, done.err


def test_submit_wait_and_download_agree_that_unsaved_results_are_no_success(
    sim: RunningSim, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where the output folder should be")
    env = make_cli_env(tmp_path) | against(sim) | {"KREA_TUI_OUTPUT_DIR": str(blocker / "out")}

    code, records, err = run(env, "submit", "--count", "2", "--wait", "--json", "a red car")
    assert code == 5, err  # completed on the server, not saved here
    assert [r["status"] for r in records] == ["completed", "completed"]
    for record in records:
        assert record["files"] == []
        assert record["error"].startswith("not saved") and "Not a directory" in record["error"]
    lines = err.splitlines()
    assert len(lines) == 2, err  # one line per job, naming the file and the reason
    for record, line in zip(records, lines, strict=True):
        assert record["id"][:8] in line and str(blocker / "out") in line
        assert "Not a directory" in line

    ids = [r["local_id"] for r in records]
    code, again, err = run(env, "download", "--json", *ids)
    assert code == 5, err  # `download` says the same as `submit --wait`
    assert [r["error"] for r in again] == [r["error"] for r in records]
    assert len(err.splitlines()) == 2

    fixed = env | {"KREA_TUI_OUTPUT_DIR": str(tmp_path / "out")}
    code, saved, err = run(fixed, "download", "--json", *ids)
    assert code == 0, err
    for record in saved:
        assert record["error"] is None and len(record["files"]) == 1
        assert request_from_png(Path(record["files"][0]).read_bytes())
    code, listed, err = run(fixed, "jobs", "--json")
    assert code == 0 and all(r["error"] is None for r in listed)


async def test_a_redirect_loop_is_reported_on_the_job(tmp_path: Path, quick_retries: None) -> None:
    async with hostile_server({"/loop.png": redirect_loop()}) as cdn, rig(tmp_path) as r:
        local_id = r.completed(cdn.url("/loop.png"))
        await r.save(local_id)
        assert "redirect" in not_saved(r.job(local_id))
        assert cdn.hits["/loop.png"] <= 25, "a redirect loop is not worth asking again"
        assert r.files_on_disk() == []


# -- 8: every download has a deadline ------------------------------------------------------------


async def test_dripping_results_do_not_hold_back_a_healthy_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_retries: None
) -> None:
    deadline = 0.5
    monkeypatch.setattr(api_module, "DOWNLOAD_DEADLINE", deadline, raising=False)
    picture = good_png()
    routes: dict[str, Route] = {f"/drip{i}.png": drip(picture, 0.1) for i in range(4)}
    routes["/fine.png"] = serve(picture)
    async with hostile_server(routes) as cdn, rig(tmp_path, concurrency=4) as r:
        dripping = [r.completed(cdn.url(f"/drip{i}.png")) for i in range(4)]
        healthy = r.completed(cdn.url("/fine.png"))
        started = asyncio.get_running_loop().time()
        for local_id in dripping:
            r.downloads.request(local_id)  # these four take the whole pool first
        await r.save(healthy, within=20)  # --wait must end, not hang

        saved_at = r.saved_at(healthy)
        assert saved_at is not None, r.downloads_of(healthy)
        assert saved_at - started < deadline + 1.0, "the healthy result waited behind the drips"
        assert request_from_png(Path(r.job(healthy).files[0]).read_bytes())
        for local_id in dripping:
            assert f"did not finish within {deadline:g} s" in not_saved(r.job(local_id))
        # Retried per RETRY_DELAYS, then given up on; nothing half-written stays behind.
        assert all(cdn.hits[f"/drip{i}.png"] == 4 for i in range(4)), cdn.hits
        assert [p.name for p in r.files_on_disk()] == [
            Path(r.job(healthy).files[0]).name,
            Path(r.job(healthy).files[0]).name + ".json",
        ]


async def test_a_result_slower_than_the_minimum_rate_gives_up_early(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quick_retries: None
) -> None:
    monkeypatch.setattr(api_module, "DOWNLOAD_RATE_GRACE", 0.3, raising=False)
    monkeypatch.setattr(api_module, "DOWNLOAD_MIN_RATE", 1000, raising=False)
    monkeypatch.setattr(downloads_module, "RETRY_DELAYS", ())
    async with hostile_server({"/slow.png": drip(good_png(), 0.05)}) as cdn, rig(tmp_path) as r:
        local_id = r.completed(cdn.url("/slow.png"))
        await r.save(local_id)
        assert "slower than 1000 bytes/s" in not_saved(r.job(local_id))


# -- 10: bounded in memory and on disk -----------------------------------------------------------


def test_caps_follow_what_the_model_can_make() -> None:
    from krea_tui.core import pictures

    flux = pictures.result_limits(FLUX)
    assert flux.max_pixels == int(2368 * 2368 * pictures.PIXEL_HEADROOM)
    assert flux.max_bytes == flux.max_pixels * pictures.BYTES_PER_PIXEL + pictures.BYTES_HEADROOM
    unknown = pictures.result_limits("imported:image")
    assert unknown.max_bytes == pictures.UNKNOWN_IMAGE_MAX_BYTES == 64 * MiB
    assert unknown.max_pixels == pictures.MAX_PICTURE_PIXELS
    for model in bundled_catalog().models():
        # No model makes more than the app agrees to decode.
        assert pictures.result_limits(model.path).max_pixels <= pictures.MAX_PICTURE_PIXELS
    # ...which is the most any model can be asked for: 8192×8192.
    sizes = [(m.field("width"), m.field("height")) for m in bundled_catalog().models()]
    largest = max(
        int(w.maximum) * int(h.maximum) for w, h in sizes if w and h and w.maximum and h.maximum
    )
    assert largest == pictures.MAX_PICTURE_PIXELS


async def test_an_endless_result_is_refused_at_the_cap_with_bounded_memory(
    tmp_path: Path, quick_retries: None
) -> None:
    async with hostile_server({"/huge.png": endless(good_png()[:33])}) as cdn, rig(tmp_path) as r:
        local_id = r.completed(cdn.url("/huge.png"))
        with peak_memory() as peak:
            await r.save(local_id, within=60)
        assert peak[0] < 16 * MiB, f"{peak[0] / MiB:.0f} MiB held while downloading"
        assert "larger than" in not_saved(r.job(local_id))
        from krea_tui.core.pictures import result_limits

        cap = result_limits(FLUX).max_bytes  # Flux: 2368² pixels at most, times the headroom
        assert cdn.hits["/huge.png"] == 1, "a result over the cap is not worth asking again"
        assert cdn.sent["/huge.png"] < cap + 16 * MiB  # read up to the cap, no further
        assert r.files_on_disk() == []  # and nothing left on disk


async def test_a_gzip_bomb_is_refused_by_its_decoded_size_and_not_saved(
    tmp_path: Path, quick_retries: None
) -> None:
    bomb = gzip_bomb(64 * MiB)  # a PNG signature and zeros: more than Flux's cap, inflated
    assert len(bomb) < MiB
    routes = {"/bomb.png": serve(bomb, Content_Encoding="gzip", Content_Type="image/png")}
    async with hostile_server(routes) as cdn, rig(tmp_path) as r:
        local_id = r.completed(cdn.url("/bomb.png"))
        with peak_memory() as peak:
            await r.save(local_id, within=60)
        assert "larger than" in not_saved(r.job(local_id))
        assert peak[0] < 16 * MiB, f"{peak[0] / MiB:.0f} MiB held inflating a gzip bomb"
        assert r.files_on_disk() == []


async def test_a_small_gzip_result_that_is_no_picture_is_not_saved(
    tmp_path: Path, quick_retries: None
) -> None:
    bomb = gzip_bomb(4 * MiB)  # under the cap: a PNG signature and zeros is still no picture
    routes = {"/zeros.png": serve(bomb, Content_Encoding="gzip")}
    async with hostile_server(routes) as cdn, rig(tmp_path) as r:
        local_id = r.completed(cdn.url("/zeros.png"))
        await r.save(local_id)
        assert "not a picture" in not_saved(r.job(local_id))
        assert r.files_on_disk() == []


async def test_a_picture_declaring_more_pixels_than_the_model_makes_is_refused(
    tmp_path: Path, quick_retries: None
) -> None:
    bomb = png_declaring(13000, 13000)
    assert len(bomb) < 200_000
    async with (
        hostile_server({"/big.png": serve(bomb), "/preview.png": serve(bomb)}) as cdn,
        rig(tmp_path, preview_dir=tmp_path / "previews") as r,
    ):
        local_id = r.completed(cdn.url("/big.png"))
        with peak_memory() as peak:
            await r.save(local_id)
            r.downloads.preview(local_id, cdn.url("/preview.png"))
            await asyncio.wait_for(r.downloads.wait_idle(), 10)
        assert "13000×13000" in not_saved(r.job(local_id))
        assert peak[0] < 16 * MiB, "the picture was decoded to be refused"
        assert r.files_on_disk() == []
        assert cdn.hits["/preview.png"] == 1
        assert not any(isinstance(e, PreviewEvent) for _, e in r.events)
        assert not (tmp_path / "previews" / f"{local_id}.png").exists()


async def test_a_good_picture_within_the_limits_is_saved_with_its_request(
    tmp_path: Path,
) -> None:
    picture = good_png((64, 48))
    async with hostile_server({"/ok.png": serve(picture)}) as cdn, rig(tmp_path) as r:
        local_id = r.completed(cdn.url("/ok.png"))
        await r.save(local_id)
        (path,) = r.job(local_id).files
        data = Path(path).read_bytes()
        document = request_from_png(data)
        assert document is not None
        assert document["model"] == FLUX and document["index"] == 0
        assert document["request"] == {"prompt": "a lighthouse", "seed": 7}
        assert document["job_id"] == r.job(local_id).remote_id
        assert Path(path + ".json").is_file()
        with Image.open(io.BytesIO(data)) as image:
            image.load()  # every chunk's CRC checks out
            assert image.size == (64, 48)
        assert r.job(local_id).error_message is None


# -- 10: decoding pictures in the TUI ------------------------------------------------------------


def test_the_decode_helper_refuses_a_bomb_and_still_decodes_the_next_picture(
    tmp_path: Path,
) -> None:
    from krea_tui.tui.images import ScaledImages, UnreadablePicture

    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(13000, 13000))
    broken = tmp_path / "broken.png"
    broken.write_bytes(good_png()[:40])
    good = tmp_path / "good.png"
    good.write_bytes(good_png((40, 30)))
    images = ScaledImages()
    with peak_memory() as peak, pytest.raises(UnreadablePicture, match="13000×13000"):
        images.load(bomb, 20, 20)
    assert peak[0] < 16 * MiB
    with pytest.raises(UnreadablePicture):
        images.load(broken, 20, 20)
    assert images.load(good, 20, 20).size == (20, 15)


async def test_the_contact_sheet_draws_the_other_pictures_after_a_bomb(tmp_path: Path) -> None:
    from tests.tui.conftest import settle, until
    from tests.tui.test_contact_sheet import BATCH, sweep_app

    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        # The first cell's picture turns out to be a bomb (replaced on disk after start-up).
        first = Path(app.store.get("00" + "5" * 30).files[0])  # type: ignore[attr-defined]
        first.write_bytes(png_declaring(13000, 13000))
        app.open_contact_sheet(BATCH)  # type: ignore[attr-defined]
        await settle(pilot)

        def drawn() -> int:
            pictures = app.screen.query("HalfcellPicture")
            return sum(1 for p in pictures if p.display and p.image is not None)

        # Six done: the bomb is refused, the five others are drawn.
        await until(pilot, lambda: drawn() == 5, "the five good pictures", deadline=20)
        await pilot.pause(0.2)
        assert drawn() == 5


def test_hostile_helpers_make_what_they_say() -> None:
    # Guards the guards: the bomb really declares 13000×13000 and is a real PNG.
    bomb = png_declaring(13000, 13000)
    assert struct.unpack(">II", bomb[16:24]) == (13000, 13000)
    assert len(zlib.decompress(bomb[41:-16])) == 13000 * (1 + 1625)  # every row is there
    assert zlib.decompress(gzip_bomb(2 * MiB), 31)[:8] == b"\x89PNG\r\n\x1a\n"
    started = time.monotonic()
    png_declaring(13000, 13000)
    assert time.monotonic() - started < 0.1  # cached: built once per run
