"""Figure 6: downloads. 100 results of 1024×1024 from the simulator (its own process), saved by
the engine's Downloader with its bounded pool (EngineConfig.download_concurrency), against one
`curl` per file all started at once, in the same run. Each picture is fetched once beforehand
so that neither side pays for the simulator drawing it; curl and the engine then alternate,
each into an empty directory, and every file is checked to have landed."""

from __future__ import annotations

import asyncio
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.bench.common import Figure
from tests.bench.simproc import SimProcess, sim_process

SIDE = 1024


async def completed_urls(sim: SimProcess, count: int) -> list[str]:
    """`count` finished 1024×1024 Flux jobs on the simulator; their result URLs."""
    headers = {"Authorization": f"Bearer {sim.token}"}
    async with httpx.AsyncClient(base_url=sim.base_url, headers=headers, trust_env=False) as http:
        for n in range(count):
            body = {"prompt": f"download bench {n}", "seed": n, "width": SIDE, "height": SIDE}
            answer = await http.post("/generate/image/bfl/flux-1-dev", json=body)
            answer.raise_for_status()
        for _ in range(500):
            page = (await http.get("/jobs", params={"limit": 1000})).json()["items"]
            done = [job for job in page if job["status"] == "completed"]
            if len(done) >= count:
                return [job["result"]["urls"][0] for job in done]
            await asyncio.sleep(0.05)
    raise RuntimeError("the simulator did not finish the download jobs")


async def warm(urls: list[str]) -> int:
    async with httpx.AsyncClient(trust_env=False, timeout=120) as http:
        sizes = await asyncio.gather(*(http.get(url) for url in urls))
    return sum(len(r.content) for r in sizes)


def curl_all(urls: list[str], into: Path) -> float:
    curl = shutil.which("curl")
    if curl is None:
        raise RuntimeError("curl is not installed")
    into.mkdir(parents=True)
    start = time.perf_counter()
    running = [
        subprocess.Popen([curl, "-sf", "-o", str(into / f"{n}.png"), url])
        for n, url in enumerate(urls)
    ]
    codes = [p.wait() for p in running]
    took = time.perf_counter() - start
    if any(codes) or len(list(into.iterdir())) != len(urls):
        raise RuntimeError(f"curl failed: exit codes {set(codes)}")
    return took


async def engine_all(sim: SimProcess, urls: list[str], into: Path) -> tuple[float, int]:
    """The engine's Downloader saving every URL as the result of a completed job."""
    from krea_tui.core.api import KreaClient
    from krea_tui.core.downloads import Downloader
    from krea_tui.core.engine import EngineConfig
    from krea_tui.core.events import DownloadEvent, EngineEvent
    from krea_tui.core.files import DEFAULT_TEMPLATE
    from krea_tui.core.store import JobStore

    store = JobStore(into / "history.sqlite3")
    ids = []
    with store.transaction():
        for n, url in enumerate(urls):
            job = store.add_job("bfl/flux-1-dev", {"prompt": f"download bench {n}", "seed": n})
            store.set_status(job.local_id, "completed", job.created_at, urls=[url])
            store.update(job.local_id, remote_id=url.rsplit("/", 2)[-2])
            ids.append(job.local_id)
    saved: list[DownloadEvent] = []

    def publish(event: EngineEvent) -> None:
        if isinstance(event, DownloadEvent) and event.path is not None:
            saved.append(event)

    client = KreaClient(sim.token, base_url=sim.base_url)
    downloader = Downloader(
        client,
        store,
        publish,
        output_dir=into / "out",
        template=DEFAULT_TEMPLATE,
        concurrency=EngineConfig(output_dir=into).download_concurrency,
    )
    start = time.perf_counter()
    for local_id in ids:
        downloader.request(local_id)
    await downloader.wait_idle()
    took = time.perf_counter() - start
    await downloader.close()
    await client.aclose()
    landed = sum(1 for event in saved if event.path is not None and event.path.exists())
    store.close()
    return took, landed


async def measure(count: int, rounds: int) -> dict[str, object]:
    curl_times: list[float] = []
    engine_times: list[float] = []
    landed: list[int] = []
    with sim_process(speed=1000, concurrency=count, backlog=count, seed=3) as sim:
        urls = await completed_urls(sim, count)
        size = await warm(urls)
        with tempfile.TemporaryDirectory(prefix="krea-bench-") as name:
            tmp = Path(name)
            for n in range(rounds):
                curl_times.append(curl_all(urls, tmp / f"curl-{n}"))
                took, ok = await engine_all(sim, urls, tmp / f"engine-{n}")
                engine_times.append(took)
                landed.append(ok)
    return {"curl": curl_times, "engine": engine_times, "landed": landed, "bytes": size}


def figures(quick: bool) -> list[Figure]:
    count = 30 if quick else 100
    result = asyncio.run(measure(count, 2 if quick else 3))
    curl: list[float] = result["curl"]  # type: ignore[assignment]
    engine: list[float] = result["engine"]  # type: ignore[assignment]
    landed: list[int] = result["landed"]  # type: ignore[assignment]
    ratios = [e / c for e, c in zip(engine, curl, strict=True)]
    megabytes = int(result["bytes"]) / 1e6  # type: ignore[call-overload]
    return [
        Figure(
            "downloads.engine_vs_parallel_curl",
            statistics.median(ratios),
            "×",
            3.0,
            cmp="<",
            baseline=statistics.median(curl),
            runs=ratios,
            note=f"{count} results of {SIDE}×{SIDE} ({megabytes:.0f} MB in all); value: engine "
            "time ÷ curl time in the same round; baseline: curl seconds",
            extra={
                "engine_s": statistics.median(engine),
                "landed": min(landed),
                "files": count,
            },
        )
    ]
