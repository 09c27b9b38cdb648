"""The simulator's state file and varied life cycle: a restarted simulator is the one that never
stopped, paging over tied created_at values sees every job once, and the life cycle varies as
the docs allow (reference §4.2) while staying seeded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from krea_tui.core.api import KreaClient
from krea_tui.sim.config import SimConfig
from krea_tui.sim.server import start_sim_thread
from krea_tui.sim.state import JobRequest, SimState, parse_cursor

T0 = 1_800_000_000.0


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def request(prompt: str = "a fox", seconds: float = 10.0) -> JobRequest:
    return JobRequest(
        model="bfl/flux-1-dev",
        job_type="flux",
        params={"prompt": prompt},
        prompt=prompt,
        seed=1,
        width=1024,
        height=1024,
        seconds=seconds,
        price_usd=0.01,
    )


def pages(state: SimState, token: str, limit: int, **filters: Any) -> list[list[dict[str, Any]]]:
    out: list[list[dict[str, Any]]] = []
    cursor: str | None = None
    while True:
        items, cursor = state.list(
            token,
            cursor_us=None if cursor is None else parse_cursor(cursor),
            limit=limit,
            **filters,
        )
        out.append(items)
        if cursor is None:
            return out
        assert len(out) < 1000


def test_paging_over_tied_created_at_sees_every_job_once() -> None:
    clock = Clock()
    state = SimState(SimConfig(varied=True, concurrency=100, backlog=0), clock)
    created: list[str] = []
    for i in range(40):
        if i % 7 == 0:
            clock.now += 0.0005  # groups of up to 7 jobs in one millisecond, some alone
        created.append(state.create("t", request(str(i)))["job_id"])
    stamps = [item["created_at"] for page in pages(state, "t", 100) for item in page]
    assert len(set(stamps)) < len(stamps), "created_at values tie"
    expected = list(reversed(created))
    for limit in (1, 2, 3, 5, 7, 40, 100):
        ids = [item["job_id"] for page in pages(state, "t", limit) for item in page]
        assert ids == expected, f"limit={limit}"


def test_paging_over_ties_over_http_with_the_client() -> None:
    clock = Clock()
    config = SimConfig(port=0, varied=True, concurrency=100, backlog=0, tokens=["tok"])
    with start_sim_thread(config, clock=clock) as sim:
        import asyncio

        async def run() -> None:
            async with KreaClient(token="tok", base_url=sim.base_url) as client:
                made = [
                    (await client.generate("bfl/flux-1-dev", {"prompt": str(i)})).job_id
                    for i in range(12)
                ]  # the clock stands still: all twelve share one created_at
                seen: list[str] = []
                cursor: str | None = None
                while True:
                    jobs, cursor = await client.list_jobs(limit=5, cursor=cursor)
                    seen += [job.job_id for job in jobs]
                    if cursor is None:
                        break
                assert seen == list(reversed(made))

        asyncio.run(run())


def test_a_plain_date_time_cursor_still_means_created_before() -> None:
    clock = Clock()
    state = SimState(SimConfig(varied=True, concurrency=100, backlog=0), clock)
    for i in range(3):
        state.create("t", request(str(i)))
    clock.now += 1
    state.create("t", request("later"))
    items, _ = state.list("t", cursor_us=parse_cursor("2027-01-15T08:00:00.500Z"))
    assert len(items) == 3  # the three before, none after


def timelines(state: SimState, ids: list[str]) -> list[list[tuple[str, float]]]:
    out = []
    for job_id in ids:
        timeline = state.timeline(job_id)
        assert timeline is not None
        out.append([(e["status"], round(e["t"], 6)) for e in timeline["timeline"]])
    return out


def test_a_restarted_simulator_is_the_one_that_never_stopped(tmp_path: Path) -> None:
    """Jobs (some backlogged, one cancelled) written to the state file; a new SimState on the
    same file, later, shows exactly the transitions the first would have shown."""
    path = tmp_path / "state.sqlite3"
    clock = Clock()
    config = dict(concurrency=2, backlog=20, varied=True, seed=3)
    first = SimState(SimConfig(**config, state_file=str(path)), clock)  # type: ignore[arg-type]
    ids = []
    for i in range(7):
        ids.append(first.create("t", request(str(i)))["job_id"])
        clock.now += 0.3
    clock.now += 1.0
    status, _ = first.cancel("t", ids[0])
    assert status == "ok", "the first job is processing, cancellable; a backlogged one starts"
    cancelled_at = clock.now
    first.close()  # as good as a kill: every write is committed when made

    clock.now += 300  # nobody served meanwhile
    second = SimState(SimConfig(**config, state_file=str(path)), clock)  # type: ignore[arg-type]
    assert second.status_counts() == {"completed": 6, "cancelled": 1}
    assert second.get("t", ids[1])["result"]["urls"]  # type: ignore[index]
    assert second.get("other", ids[1]) is None  # still one user's jobs

    # The reference: the same jobs in memory, never stopped.
    clock.now = T0
    again = SimState(SimConfig(**config), clock)  # type: ignore[arg-type]
    again_ids = []
    for i in range(7):
        again_ids.append(again.create("t", request(str(i)))["job_id"])
        clock.now += 0.3
    clock.now = cancelled_at
    again.cancel("t", again_ids[0])
    clock.now += 300
    assert timelines(second, ids) == timelines(again, again_ids)


def test_the_state_file_keeps_new_jobs_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite3"
    clock = Clock()
    one = SimState(SimConfig(state_file=str(path)), clock)
    a = one.create("t", request("a"))["job_id"]
    one.close()
    two = SimState(SimConfig(state_file=str(path)), clock)
    b = two.create("t", request("b"))["job_id"]
    two.close()
    three = SimState(SimConfig(state_file=str(path)), clock)
    items, _ = three.list("t")
    assert [item["job_id"] for item in items] == [b, a]
    three.reset()
    three.close()
    assert SimState(SimConfig(state_file=str(path)), clock).status_counts() == {}


def statuses_seen(state: SimState, job_id: str) -> list[str]:
    timeline = state.timeline(job_id)
    assert timeline is not None
    return [event["status"] for event in timeline["timeline"]]


def test_the_varied_life_cycle_is_varied_and_seeded() -> None:
    def run(seed: int) -> tuple[list[str], list[list[str]]]:
        clock = Clock()
        state = SimState(SimConfig(varied=True, concurrency=100, backlog=0, seed=seed), clock)
        first_status = []
        ids = []
        for i in range(40):
            body = state.create("t", request(str(i)))
            first_status.append(body["status"])
            ids.append(body["job_id"])
            clock.now += 0.01
        clock.now += 1000
        return first_status, [statuses_seen(state, job_id) for job_id in ids]

    first, paths = run(7)
    assert run(7) == (first, paths)  # seeded
    assert "processing" in first and "queued" in first  # some are created already processing
    assert any("scheduled" not in path for path in paths)  # states skipped
    assert any("scheduled" in path for path in paths)
    with_preview = [path for path in paths if "intermediate-complete" in path]
    assert 0 < len(with_preview) < len(paths)  # only some have a preview
    assert all(path[-1] == "completed" for path in paths)


def test_the_uniform_life_cycle_stays_the_default() -> None:
    clock = Clock()
    state = SimState(SimConfig(concurrency=100, backlog=0), clock)
    ids = [state.create("t", request(str(i)))["job_id"] for i in range(10)]
    clock.now += 1000
    for job_id in ids:
        assert statuses_seen(state, job_id) == [
            "queued",
            "scheduled",
            "processing",
            "sampling",
            "intermediate-complete",
            "completed",
        ]
    stamps = [item["created_at"] for item in state.list("t")[0]]
    assert len(set(stamps)) == len(stamps)  # unique created_at, as before
