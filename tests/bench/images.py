"""Figure 4: images. A 1024×1024 result shown half-cell in an 80×40 area.

The app runs headless at 80×42 (the viewer's picture box is then 80×40: the position line and
the footer take the rest, and the metadata column hides below 100 columns). Each run writes a
new 1024×1024 PNG (drawn by the simulator, so not in any cache) atomically under a completed
job, then opens the viewer on it, as `enter` does. Measured: from the moment the file is on
disk to the first frame with the picture drawn, and the longest gap of a 2 ms ticker task on
the event loop meanwhile (what a key press would have waited at worst).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench.common import Figure, FrameProbe, build_history, repeated, wait_loaded

SIZE = (80, 42)
SIDE = 1024


class Ticker:
    """Measures event-loop responsiveness: the gaps between wake-ups of a 2 ms sleeper."""

    def __init__(self) -> None:
        self.marks: list[float] = []
        self._task: asyncio.Task[None] | None = None

    async def _run(self) -> None:
        while True:
            self.marks.append(time.perf_counter())
            await asyncio.sleep(0.002)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def max_gap(self, start: float, end: float) -> float:
        inside = [m for m in self.marks if start <= m <= end]
        edges = [start, *inside, end]
        return max(b - a for a, b in itertools.pairwise(edges))


async def measure(runs: int) -> tuple[list[float], list[float]]:
    from krea_tui.config import Settings
    from krea_tui.core.files import atomic_write
    from krea_tui.sim.images import render_png
    from krea_tui.tui.app import KreaApp
    from krea_tui.tui.screens.viewer import ResultViewer
    from tests.tui.history import static_runtime_factory

    latencies: list[float] = []
    gaps: list[float] = []
    with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
        tmp = Path(name)
        settings = Settings(
            data_dir=tmp / "data", output_dir=tmp / "out", demo=False, auto_download=False
        )
        build_history(settings.history_path, 3)
        # Pictures are drawn before the clock starts: the simulator's drawing is not the app's.
        pictures = [
            render_png("bfl/flux-1-dev", f"bench picture {n}", n, SIDE, SIDE) for n in range(runs)
        ]
        app = KreaApp(
            settings, image_protocol="halfcell", runtime_factory=static_runtime_factory(tmp)
        )
        probe = FrameProbe(app)
        async with app.run_test(headless=True, size=SIZE) as pilot:
            await wait_loaded(app, pilot)
            store = app.store
            job = next(j for j in store.jobs() if j.status == "completed")
            ticker = Ticker()
            ticker.start()
            for n, data in enumerate(pictures):
                await pilot.pause(0.1)
                path = tmp / "results" / f"picture-{n}.png"
                store.add_file(job.local_id, 0, job.urls[0], path)
                atomic_write(path, data)
                on_disk = time.perf_counter()
                app.open_viewer(job.local_id)
                shown: asyncio.Future[float] = asyncio.get_running_loop().create_future()

                def drawn() -> bool:
                    screen: Any = app.screen
                    if not isinstance(screen, ResultViewer):
                        return False
                    picture = screen.query_one("#picture")
                    built: Any = getattr(picture, "_built_for", (0, 0))
                    return picture.image is not None and built != (0, 0)  # type: ignore[attr-defined]

                probe.on_frame_when(drawn, shown.set_result)
                at = await asyncio.wait_for(shown, 10)
                latencies.append(at - on_disk)
                gaps.append(ticker.max_gap(on_disk, at))
                screen = app.screen
                picture = screen.query_one("#picture")
                assert picture.size.width >= 70, picture.size  # really the 80-column area
                app.pop_screen()
            await ticker.stop()
    return latencies, gaps


def figures(quick: bool) -> list[Figure]:
    latencies, gaps = asyncio.run(measure(3 if quick else 9))
    return [
        repeated(
            "images.halfcell_shown",
            [1000 * x for x in latencies],
            "ms",
            150.0,
            note="1024×1024 PNG on disk → viewer opened on it → first frame with the picture "
            "(80×40 cells, half-cell)",
        ),
        repeated(
            "images.loop_gap_max",
            [1000 * x for x in gaps],
            "ms",
            50.0,
            note="longest event-loop gap (2 ms ticker) while that picture was decoded and drawn",
        ),
    ]
