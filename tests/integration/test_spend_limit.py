"""The hard spend limits (`max_spend_per_day`, `max_spend_per_batch`) against the simulator over
loopback: a batch that would go over sends exactly the jobs that fit and pauses the queue once
with which limit and by how much; what was sent keeps running; the day's spend is read from the
history, so a restart (or a second process on it) does not start from zero; the headless
commands exit 4 with the same words."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core import engine as engine_module
from krea_tui.core.catalog import bundled_catalog, format_totals
from krea_tui.core.clock import CLOCK
from krea_tui.core.store import StoredJob
from krea_tui.core.submit import Order
from tests.conftest import SimFactory
from tests.integration.cli_support import against, krea
from tests.integration.engine_support import (
    FLUX,
    Harness,
    requests_for,
    running_engine,
    sim_jobs,
)

CATALOG = bundled_catalog()


def price(body: dict[str, Any] | None = None) -> float:
    """What one Flux job costs by the catalogue: the tests follow the catalogue's prices."""
    value, unit = CATALOG.cost_with_unit(FLUX, body or {"prompt": "x"})
    assert value is not None and unit == "USD", "Flux needs a USD price for these tests"
    return value


def usd(value: float) -> str:
    return format_totals({"USD": value})


def send(h: Harness, count: int, tag: str = "job") -> list[str]:
    jobs = h.engine.submit(CATALOG, [Order(FLUX, requests_for(count, tag))])
    return [job.local_id for job in jobs]


def now_sent(h: Harness, ids: list[str]) -> list[StoredJob]:
    return [h.job(i) for i in ids if h.job(i).remote_id is not None]


async def wait_limit_pause(h: Harness, ids: list[str]) -> None:
    """Until the queue is paused, its pause event delivered (it reaches subscribers a tick
    after `engine.paused` is set), and no POST of these jobs is still under way."""
    await h.log.wait_for(
        lambda: (
            h.engine.paused
            and any(e.paused for e in h.log.queue_events())
            and all(h.job(i).status != "submitting" for i in ids)
        ),
        what="the spend limit's pause with every POST answered",
    )


async def test_day_limit_sends_exactly_the_jobs_that_fit_then_pauses_once_saying_by_how_much(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(concurrency=4)
    each = price()
    async with running_engine(sim, tmp_path, max_spend_per_day=5 * each) as h:
        ids = send(h, 8)
        await wait_limit_pause(h, ids)

        assert len(sim_jobs(sim)) == 5  # exactly what fits was POSTed
        assert [h.job(i).status for i in ids[5:]] == ["held"] * 3  # the rest waits, in order
        reason = h.engine.pause_reason or ""
        assert "max_spend_per_day" in reason and usd(5 * each) in reason
        assert f"{usd(6 * each)}, {usd(each)} over" in reason
        assert ids[5][:8] in reason  # the job that was held
        assert [(e.paused, e.reason) for e in h.log.queue_events()] == [(True, reason)]

        # The limit never cancels what is already running: those five end as they would.
        await h.wait_settled(ids[:5])
        assert [h.job(i).status for i in ids[:5]] == ["completed"] * 5
        assert len(sim_jobs(sim)) == 5
        assert len(h.log.queue_events()) == 1  # paused once, not once per held job

        # Resumed while still over: the next job meets the same limit, and is held again.
        h.engine.resume()
        await h.log.wait_for(lambda: h.engine.paused, what="paused again")
        assert len(sim_jobs(sim)) == 5


async def test_batch_limit_holds_what_would_go_over_and_a_new_batch_has_its_own(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(concurrency=4)
    each = price()
    async with running_engine(sim, tmp_path, max_spend_per_batch=3 * each) as h:
        first = send(h, 5, "first")
        await wait_limit_pause(h, first)
        assert len(sim_jobs(sim)) == 3
        batch = h.job(first[0]).batch_id
        assert batch is not None
        reason = h.engine.pause_reason or ""
        assert "max_spend_per_batch" in reason and batch in reason
        assert f"{usd(4 * each)}, {usd(each)} over" in reason

        # The held rest of that batch cancelled, a new batch is sent whole: the limit is per
        # batch, not a running total.
        for local_id in first[3:]:
            assert (await h.engine.cancel(local_id)).ok
        second = send(h, 3, "second")
        h.engine.resume()
        await h.wait_settled(second)
        assert [h.job(i).status for i in second] == ["completed"] * 3
        assert len(sim_jobs(sim)) == 6
        assert not h.engine.paused


async def test_restart_does_not_reset_the_days_spend(make_sim: SimFactory, tmp_path: Path) -> None:
    sim = make_sim(concurrency=4)
    each = price()
    limit = 3 * each
    async with running_engine(sim, tmp_path, max_spend_per_day=limit) as h:
        before = send(h, 2, "morning")
        await h.wait_settled(before)
        assert not h.engine.paused
        assert h.engine.spend_left_today() == pytest.approx(each)
    # A new engine on the same history: two of the three jobs' worth are spent already.
    async with running_engine(sim, tmp_path, max_spend_per_day=limit) as h:
        after = send(h, 2, "afternoon")
        await wait_limit_pause(h, after)
        assert len(sim_jobs(sim)) == 3
        assert h.job(after[1]).status == "held"
        assert f"{usd(4 * each)}, {usd(each)} over" in (h.engine.pause_reason or "")


async def test_a_limit_pause_is_checked_again_at_start_and_lifts_when_the_limit_allows(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(concurrency=4)
    each = price()
    async with running_engine(sim, tmp_path, max_spend_per_day=2 * each) as h:
        ids = send(h, 4)
        await wait_limit_pause(h, ids)
        assert len(sim_jobs(sim)) == 2
    # Started again with the same limit: paused again at once, with today's figures.
    async with running_engine(sim, tmp_path, max_spend_per_day=2 * each) as h:
        await h.log.wait_for(lambda: h.engine.paused, what="paused again")
        assert f"{usd(3 * each)}, {usd(each)} over" in (h.engine.pause_reason or "")
        assert len(sim_jobs(sim)) == 2
    # The limit raised in the config: the held jobs go out, as far as it allows.
    async with running_engine(sim, tmp_path, max_spend_per_day=3 * each) as h:
        await wait_limit_pause(h, ids)
        assert len(sim_jobs(sim)) == 3
        assert [h.job(i).status == "held" for i in ids] == [False, False, False, True]


async def test_a_process_without_the_limit_does_not_lift_its_pause(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(concurrency=4)
    each = price()
    async with running_engine(sim, tmp_path, max_spend_per_day=2 * each) as h:
        ids = send(h, 4)
        await wait_limit_pause(h, ids)
    # Another config (no limit in it) opens the same history: the pause is not its to lift;
    # the user resumes it, or a process with the limit finds it lifted (a new day, raised).
    async with running_engine(sim, tmp_path) as h:
        await asyncio.sleep(0)  # the start has run
        assert h.engine.paused and "max_spend_per_day" in (h.engine.pause_reason or "")
        assert len(sim_jobs(sim)) == 2


async def test_a_day_limit_pause_lifts_after_local_midnight(
    make_sim: SimFactory, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "ORPHAN_CHECK_EVERY", 1)  # look at every follow
    sim = make_sim(concurrency=4)
    each = price()
    async with running_engine(sim, tmp_path, max_spend_per_day=2 * each) as h:
        ids = send(h, 3)
        await wait_limit_pause(h, ids)
        assert len(sim_jobs(sim)) == 2
        monkeypatch.setattr(CLOCK, "offset", timedelta(days=1))  # the next day
        await h.wait_settled(ids, timeout=15)
        assert len(sim_jobs(sim)) == 3
        assert not h.engine.paused
        await h.log.wait_for(lambda: len(h.log.queue_events()) == 2, what="the resume event")
        assert [e.paused for e in h.log.queue_events()] == [True, False]


async def test_two_engines_on_one_history_share_one_day_total(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    """The check reads the history in the transaction that claims the job: what another
    process sent a moment ago counts."""
    sim = make_sim(concurrency=8)
    each = price()
    async with (
        running_engine(sim, tmp_path, max_spend_per_day=5 * each) as one,
        running_engine(sim, tmp_path, max_spend_per_day=5 * each) as two,
    ):
        ids = send(one, 4, "one") + send(two, 4, "two")
        await wait_limit_pause(one, ids)
        await wait_limit_pause(two, ids)
        assert len(sim_jobs(sim)) == 5
        assert sum(one.job(i).status == "held" for i in ids) == 3


def limited_config(env: dict[str, str], line: str) -> None:
    config = Path(env["KREA_TUI_CONFIG"])
    config.write_text(config.read_text() + line + "\n", encoding="utf-8")


def test_headless_submit_exits_4_with_the_limit_and_sends_what_fits(
    cli_env: dict[str, str], make_sim: SimFactory
) -> None:
    sim = make_sim()
    each = price()
    limited_config(cli_env, f"max_spend_per_day = {2 * each!r}")
    result = krea(cli_env, "submit", "--json", "-n", "4", "x", **against(sim))
    assert result.code == 4, result.err
    assert "max_spend_per_day" in result.err
    assert f"{usd(3 * each)}, {usd(each)} over" in result.err
    assert len(sim_jobs(sim)) == 2
    assert sorted(r["status"] for r in result.records).count("held") == 2

    # Run again: the history still knows today's spend, nothing more is sent.
    again = krea(cli_env, "submit", "--wait", "--json", "y", **against(sim))
    assert again.code == 4, again.err
    assert "max_spend_per_day" in again.err
    assert len(sim_jobs(sim)) == 2


def test_headless_batch_exits_4_with_the_batch_limit(
    cli_env: dict[str, str], make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    each = price()
    limited_config(cli_env, f"max_spend_per_batch = {3 * each!r}")
    batch = tmp_path / "prompts.txt"
    batch.write_text("a fox\na heron\na moth\na newt\na wren\n", encoding="utf-8")
    result = krea(cli_env, "batch", "--yes", "--wait", "--json", str(batch), **against(sim))
    assert result.code == 4, result.err
    assert "max_spend_per_batch" in result.err
    assert f"{usd(4 * each)}, {usd(each)} over" in result.err
    assert len(sim_jobs(sim)) == 3
    # --wait still waits for what was sent: those three end and are saved before exit 4.
    records = sorted(result.records, key=lambda r: r["status"])
    assert [r["status"] for r in records] == ["completed"] * 3 + ["held"] * 2
    assert all(r["files"] for r in records[:3])


def test_two_headless_processes_at_once_share_one_day_total(
    cli_env: dict[str, str], make_sim: SimFactory
) -> None:
    """Two `krea-tui submit` at the same moment on one history: between them they send what
    the day allows, not twice that."""
    sim = make_sim()
    each = price()
    limited_config(cli_env, f"max_spend_per_day = {3 * each!r}")
    with ThreadPoolExecutor(2) as pool:
        runs = [
            pool.submit(krea, cli_env, "submit", "--json", "-n", "3", tag, **against(sim))
            for tag in ("one", "two")
        ]
        results = [run.result() for run in runs]
    assert len(sim_jobs(sim)) == 3
    assert any(r.code == 4 and "max_spend_per_day" in r.err for r in results)
    statuses = [record["status"] for r in results for record in r.records]
    assert statuses.count("held") == 3
