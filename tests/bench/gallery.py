"""The gallery (ctrl+g) over a long history: 5,000 finished jobs, each with a real PNG on disk.

Measured in the app's process (App.run_test, headless, 160×48, frames turned into a
terminal's bytes by FrameProbe), over the static runtime (no engine running):

- first open: ctrl+g handed to the driver, to the first frame showing the gallery; then to the
  frame where every tile on screen has its thumbnail, with an empty thumbnail cache (each
  picture decoded) and again with a warm one (read back from the disk cache);
- key to frame while scrolling: page-down through every one of the 5,000 results to the last
  (thumbnails made as they come into view, in a worker thread), then `k`/page-up back; each
  key 30–70 ms after the last one's frame, to the first frame showing the cursor's new tile.
  How long the thumbnails take to fill in behind the cursor is reported next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import statistics
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.bench.common import FLUX, PROMPTS, Figure, FrameProbe, percentile, wait_loaded

RESULTS = 5_000
SIZE = (160, 48)
PICTURE_PX = 256  # a small real PNG (the demo's pictures are this size too)


# -- the history -----------------------------------------------------------------------------------


def picture(n: int) -> Any:
    """A 256² picture of its own for result `n`: two gradients in colours of its own."""
    from PIL import Image

    ramp = Image.linear_gradient("L").resize((PICTURE_PX, PICTURE_PX))
    across = ramp.rotate(90 * (n % 4))
    rng = random.Random(n)
    flat = Image.new("L", (PICTURE_PX, PICTURE_PX), rng.randrange(256))
    return Image.merge("RGB", (ramp, across, flat))


def build(data_dir: Path, results: Path, count: int) -> None:
    """`count` completed jobs, each with one saved PNG, written straight into a store."""
    from krea_tui.core.store import JobStore

    results.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    store = JobStore(data_dir / "history.sqlite3")
    jobs: list[tuple[Any, ...]] = []
    files: list[tuple[Any, ...]] = []
    for n in range(count):
        created = (now - timedelta(seconds=(count - n) * 6)).isoformat(timespec="milliseconds")
        local_id = f"{n:08d}" + "0" * 24
        remote_id = f"{n:08d}-bench-4000-8000-{n:012d}"
        request = {"prompt": f"{PROMPTS[n % len(PROMPTS)]} #{n}", "seed": 1000 + n}
        path = results / f"{remote_id}-0.png"
        picture(n).save(path, format="PNG", compress_level=1)
        url = f"https://gen.example.test/{remote_id}.png"
        jobs.append(
            (
                local_id,
                FLUX,
                json.dumps(request),
                float(n + 1),
                remote_id,
                "completed",
                created,
                created,
                created,
                created,
                json.dumps([url]),
                0.007,
                "USD",
            )
        )
        files.append((local_id, 0, url, str(path)))
    with store.bulk_import() as db:
        db.executemany(
            "INSERT INTO jobs (local_id, model, request, position, remote_id, status, created_at,"
            " submitted_at, remote_created_at, finished_at, urls, cost_estimate, cost_unit)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            jobs,
        )
        db.executemany("INSERT INTO files (local_id, idx, url, path) VALUES (?,?,?,?)", files)
    store.close()


@contextlib.contextmanager
def history(count: int) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="krea-bench-gallery-") as name:
        tmp = Path(name)
        (tmp / "data").mkdir()
        build(tmp / "data", tmp / "out", count)
        yield tmp


# -- measuring -------------------------------------------------------------------------------------


def make_app(tmp: Path) -> Any:
    from krea_tui.config import Settings
    from krea_tui.tui.app import KreaApp
    from tests.tui.history import static_runtime_factory

    settings = Settings(
        data_dir=tmp / "data", output_dir=tmp / "out", demo=False, auto_download=False
    )
    return KreaApp(settings, image_protocol="halfcell", runtime_factory=static_runtime_factory(tmp))


async def frame_when(probe: FrameProbe, condition: Any, timeout: float = 30) -> float:
    done = asyncio.get_running_loop().create_future()
    probe.on_frame_when(condition, done.set_result)
    return await asyncio.wait_for(done, timeout)  # type: ignore[no-any-return]


async def open_gallery(app: Any, probe: FrameProbe) -> dict[str, Any]:
    """ctrl+g to the gallery's first frame, and to every visible thumbnail drawn."""
    from textual import events

    from krea_tui.tui.screens.gallery import GalleryScreen, thumb_cache

    cache = thumb_cache(app.settings.data_dir)
    made, read = cache.made, cache.read

    def grid() -> Any:
        screen = app.screen
        return getattr(screen, "grid", None) if isinstance(screen, GalleryScreen) else None

    def shown() -> bool:
        found = grid()
        return found is not None and found.is_mounted and found.size.height > 0

    def filled() -> bool:
        found = grid()
        return shown() and found.thumbs_shown() == found.visible_count() > 0

    sent = time.perf_counter()
    app._driver.send_message(events.Key("ctrl+g", None))
    first = await frame_when(probe, shown)
    full = await frame_when(probe, filled)
    return {
        "first_frame_s": first - sent,
        "filled_s": full - sent,
        "made": cache.made - made,
        "read": cache.read - read,
        "visible": grid().visible_count(),
        "grid": grid(),
    }


async def scroll(
    app: Any, probe: FrameProbe, grid: Any, keys: list[str], rng: random.Random
) -> dict[str, Any]:
    """Send `keys` one at a time; seconds from each to the frame with the cursor moved, and
    to the frame where the tiles on screen all have their thumbnails."""
    from textual import events

    latencies: list[float] = []
    fills: list[float] = []
    filled_at_frame: list[float] = []
    for key in keys:
        await asyncio.sleep(rng.uniform(0.03, 0.07))
        before = grid.cursor
        sent = time.perf_counter()
        app._driver.send_message(events.Key(key, None))
        at = await frame_when(probe, lambda before=before: grid.cursor != before)
        latencies.append(at - sent)
        visible = grid.visible_count() or 1
        filled_at_frame.append(grid.thumbs_shown() / visible)
        if grid.thumbs_shown() < visible:
            full = await frame_when(probe, lambda: grid.thumbs_shown() == grid.visible_count())
            fills.append(full - sent)
        else:
            fills.append(at - sent)
    return {"latencies": latencies, "fills": fills, "filled_at_frame": filled_at_frame}


def keys_through(count: int, per_page: int, columns: int, quick: bool) -> tuple[list[str], ...]:
    """Page-down to the last result, then back up by `k` and page-up."""
    pages = -(-(count - 1) // per_page)  # the last press lands on the last result
    if quick:
        pages = min(pages, 40)
    down = ["pagedown"] * pages
    up = (["k"] * 30 + ["pageup"] * 10) * max(1, pages // 10)
    return down, up[: len(down)]


def count_reads(model: Any) -> dict[str, int]:
    """Count the windows the grid reads from its model (and their rows) from now on."""
    counter = {"windows": 0, "rows": 0}
    original = model.window

    def window(offset: int, limit: int) -> Any:
        rows = original(offset, limit)
        counter["windows"] += 1
        counter["rows"] += len(rows)
        return rows

    model.window = window
    return counter


async def measure(count: int, quick: bool) -> dict[str, Any]:
    from krea_tui.tui.screens.gallery import GalleryScreen, thumb_cache

    with history(count) as tmp:
        app = make_app(tmp)
        probe = FrameProbe(app)
        async with app.run_test(headless=True, size=SIZE) as pilot:
            await wait_loaded(app, pilot)
            await pilot.pause()
            cold = await open_gallery(app, probe)
            grid = cold.pop("grid")
            read = count_reads(grid.model)
            rng = random.Random(7)
            per_page = grid.visible_rows() * grid.columns
            down, up = keys_through(count, per_page, grid.columns, quick)
            went_down = await scroll(app, probe, grid, down, rng)
            at_end = grid.cursor
            came_up = await scroll(app, probe, grid, up, rng)
            # Garbage collections the gallery ran between frames (young, middle, full).
            collections = list(app.screen.collector.collections)
            cache = thumb_cache(app.settings.data_dir)
            made_scrolling = cache.made
            app.pop_screen()
            await pilot.pause(0.2)
            warm = await open_gallery(app, probe)
            warm.pop("grid")
            assert isinstance(app.screen, GalleryScreen)
            return {
                "count": len(grid.model),
                "columns": grid.columns,
                "per_page": per_page,
                "cold": cold,
                "warm": warm,
                "down": went_down,
                "up": came_up,
                "at_end": at_end,
                "made": made_scrolling,
                "frames": len(probe.frames),
                "windows_read": read["windows"],
                "collections": collections,
                "rows_read": read["rows"],
            }


def figures(quick: bool) -> list[Figure]:
    count = 1_000 if quick else RESULTS
    found = asyncio.run(measure(count, quick))
    keys = found["down"]["latencies"] + found["up"]["latencies"]
    fills = found["down"]["fills"] + found["up"]["fills"]
    at_frame = found["down"]["filled_at_frame"] + found["up"]["filled_at_frame"]
    cold, warm = found["cold"], found["warm"]
    where = f"{found['count']} results, headless {SIZE[0]}×{SIZE[1]}, {found['per_page']} a page"
    return [
        Figure(
            "gallery.key_to_frame_p99",
            1000 * percentile(keys, 99),
            "ms",
            50.0,
            note=f"{where}: page-down to the last result, then k / page-up back, each key to "
            "the frame showing the cursor's new tile (thumbnails made meanwhile in a thread)",
            extra={
                "p50_ms": 1000 * percentile(keys, 50),
                "max_ms": 1000 * max(keys),
                "keys": len(keys),
                "down_p99_ms": 1000 * percentile(found["down"]["latencies"], 99),
                "up_p99_ms": 1000 * percentile(found["up"]["latencies"], 99),
                "thumbs_filled_p50_ms": 1000 * percentile(fills, 50),
                "thumbs_filled_p99_ms": 1000 * percentile(fills, 99),
                "tiles_ready_at_key_frame": statistics.mean(at_frame),
                "reached": found["at_end"] + 1,
                "rows_read": found["rows_read"],
                "thumbnails_made": found["made"],
                "gc_young_middle_full": found["collections"],
            },
        ),
        Figure(
            "gallery.first_open",
            cold["first_frame_s"],
            "s",
            0.5,
            note=f"{where}: ctrl+g to the first frame of the gallery (empty thumbnail cache)",
            extra={
                "visible": cold["visible"],
                "cold_filled_s": cold["filled_s"],
                "cold_made": cold["made"],
                "warm_first_frame_s": warm["first_frame_s"],
                "warm_filled_s": warm["filled_s"],
                "warm_made": warm["made"],
                "warm_read": warm["read"],
            },
        ),
    ]
