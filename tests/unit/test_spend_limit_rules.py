"""The spend limits' rules on a real history file: which jobs count as spent, where the day
starts, what a check says, the two settings, and what `krea-tui status` shows is left."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from krea_tui.config import load_settings
from krea_tui.core.spend_limit import (
    Candidate,
    SpendLimits,
    check,
    day_limit_passed,
    day_start,
    is_limit_reason,
    left_today,
    spent_in_batch,
    spent_since,
)
from krea_tui.core.store import JobStore
from krea_tui.tmux_status import read_left_today, summary_line

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
FLUX = "bfl/flux-1-dev"


@pytest.fixture
def store(tmp_path: Path) -> JobStore:
    return JobStore(tmp_path / "history.sqlite3")


def sent(
    store: JobStore,
    status: str,
    *,
    at: datetime = NOW,
    cost: float | None = 0.01,
    unit: str | None = "USD",
    remote: bool = True,
    batch: str | None = None,
) -> str:
    """A job whose POST started at `at`, now in `status` (with a server id if `remote`)."""
    job = store.add_job(
        FLUX, {"prompt": "x"}, cost_estimate=cost, cost_unit=unit, batch_id=batch, now=at
    )
    remote_id = f"r-{job.local_id}" if remote else None
    store.set_status(job.local_id, status, at, submitted_at=at, remote_id=remote_id)
    return job.local_id


def test_what_counts_as_sent_today(store: JobStore) -> None:
    since = NOW - timedelta(hours=1)
    counted = [
        sent(store, "completed"),
        sent(store, "failed"),  # failed on the server: may have been charged
        sent(store, "cancelled"),  # cancelled after it was sent: the same
        sent(store, "processing"),
        sent(store, "submitting", remote=False),  # a POST under way, in any process
        sent(store, "unknown", remote=False),  # its answer was lost: it may exist
    ]
    # Not counted: a POST refused (429, 402) is held again, a request rejected before any job
    # existed, yesterday's jobs, and prices that are not USD.
    sent(store, "held", remote=False)
    sent(store, "failed", remote=False)
    sent(store, "completed", at=since - timedelta(seconds=1))
    sent(store, "completed", unit="CU", cost=24.0)
    sent(store, "completed", unit=None, cost=None)
    store.add_job(FLUX, {"prompt": "never sent"}, cost_estimate=0.5, cost_unit="USD", now=NOW)
    assert len(counted) == 6
    assert spent_since(store.first, since) == pytest.approx(0.06)


def test_a_job_queued_yesterday_and_sent_today_counts_today(store: JobStore) -> None:
    job = store.add_job(
        FLUX, {"prompt": "x"}, cost_estimate=0.5, cost_unit="USD", now=NOW - timedelta(days=2)
    )
    store.set_status(job.local_id, "queued", NOW, submitted_at=NOW, remote_id="r1")
    assert spent_since(store.first, NOW - timedelta(hours=1)) == 0.5


def test_day_starts_at_local_midnight() -> None:
    berlin = ZoneInfo("Europe/Berlin")
    # 23:30 UTC on the 29th is already the 30th in Berlin (UTC+1 in November).
    late = datetime(2026, 11, 29, 23, 30, tzinfo=UTC)
    assert day_start(late, berlin) == datetime(2026, 11, 30, tzinfo=berlin)
    assert day_start(late, berlin).astimezone(UTC) == datetime(2026, 11, 29, 23, 0, tzinfo=UTC)
    # The day a clock goes forward: midnight is still midnight, at that day's offset.
    spring = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)
    assert day_start(spring, berlin).astimezone(UTC) == datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    fixed = timezone(timedelta(hours=-5))
    assert day_start(NOW, fixed) == datetime(2026, 11, 30, tzinfo=fixed)
    # No zone given: this machine's, and always before `now` by less than a day.
    start = day_start(NOW)
    assert timedelta(0) <= NOW - start < timedelta(days=1, hours=1)


def candidate(
    cost: float | None = 0.01, unit: str | None = "USD", batch: str | None = None
) -> Candidate:
    return Candidate("abcd1234", FLUX, batch, cost, unit)


def test_check_names_the_limit_and_by_how_much(store: JobStore) -> None:
    for _ in range(3):
        sent(store, "completed", cost=0.01)
    limits = SpendLimits(per_day=0.035)
    # Not in the history yet: its price is added (0.04 > 0.035).
    over = check(store.first, candidate(), limits, NOW, counted=False)
    assert over is not None and over.limit == "max_spend_per_day"
    day = day_start(NOW).date().isoformat()  # the local day, in this machine's zone
    assert over.message == (
        f"max_spend_per_day $0.035 reached on {day}: job abcd1234 ($0.010) would bring "
        "today's spend to $0.040, $0.005 over"
    )
    # Exactly at the limit (0.03 + 0.005) is within it.
    assert check(store.first, candidate(0.005), limits, NOW, counted=False) is None


def test_money_adds_up_without_float_drift(store: JobStore) -> None:
    for _ in range(3):
        sent(store, "completed", cost=0.1)
    assert 0.1 + 0.1 + 0.1 > 0.3  # the float trap the check must not fall into
    assert check(store.first, candidate(0.1), SpendLimits(0.3), NOW, counted=True) is None
    assert left_today(store.first, SpendLimits(0.3), NOW) == 0.0


def test_batch_limit_counts_the_batch_whenever_sent(store: JobStore) -> None:
    sent(store, "completed", cost=0.02, batch="b1", at=NOW - timedelta(days=3))
    sent(store, "completed", cost=0.02, batch="b2")
    limits = SpendLimits(per_batch=0.03)
    over = check(store.first, candidate(0.02, batch="b1"), limits, NOW, counted=False)
    assert over is not None and over.limit == "max_spend_per_batch"
    assert "batch b1 to $0.040, $0.010 over" in over.message
    assert spent_in_batch(store.first, "b2") == 0.02
    # A job of no batch is a batch of one.
    alone = check(store.first, candidate(0.04), limits, NOW, counted=False)
    assert alone is not None and "job abcd1234 alone to $0.040" in alone.message
    assert check(store.first, candidate(0.02), limits, NOW, counted=False) is None


def test_a_job_without_a_usd_price_is_held_when_a_limit_is_set(store: JobStore) -> None:
    limits = SpendLimits(per_day=1.0)
    unpriced = check(store.first, candidate(None, None), limits, NOW, counted=False)
    assert unpriced is not None and "has no price" in unpriced.message
    in_cu = check(store.first, candidate(24.0, "CU"), limits, NOW, counted=False)
    assert in_cu is not None and "priced in CU" in in_cu.message
    # No limit: nothing to check, whatever the price.
    assert check(store.first, candidate(None, None), SpendLimits(), NOW, counted=False) is None


def test_settings_read_from_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text("max_spend_per_day = 5\nmax_spend_per_batch = 0.5\n")
    settings, warnings = load_settings(config_path=config, env={})
    assert warnings == []
    assert (settings.max_spend_per_day, settings.max_spend_per_batch) == (5.0, 0.5)
    config.write_text('max_spend_per_day = -1\nmax_spend_per_batch = "lots"\n')
    settings, warnings = load_settings(config_path=config, env={})
    assert settings.max_spend_per_day is None and settings.max_spend_per_batch is None
    assert len(warnings) == 2 and "max_spend_per_day must be more than 0" in warnings[0]


def test_status_line_shows_what_is_left_today(store: JobStore, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    sent(store, "completed", cost=0.25, at=now)
    path = tmp_path / "history.sqlite3"
    left = read_left_today(path, 1.0)
    assert left == 0.75
    assert summary_line({"completed": 1}, tmux=True, left=left).endswith(" $0.750 left")
    assert read_left_today(path, None) is None
    assert read_left_today(tmp_path / "none.sqlite3", 1.0) is None
    spent = summary_line({"completed": 1}, tmux=True, left=0.0)
    assert spent.endswith("#[fg=red]$0.000 left#[default]")
    assert "left" not in summary_line({"completed": 1}, tmux=True)


def test_status_reads_a_history_it_cannot_write(store: JobStore, tmp_path: Path) -> None:
    """`krea-tui status` opens the history read-only: a running krea-tui is undisturbed."""
    path = tmp_path / "history.sqlite3"
    db = sqlite3.connect(path)
    db.execute("BEGIN IMMEDIATE")  # another process in the middle of a write
    try:
        assert read_left_today(path, 1.0) == 1.0
    finally:
        db.execute("ROLLBACK")
        db.close()


def test_a_day_limit_pause_is_over_once_its_local_day_is(store: JobStore) -> None:
    sent(store, "completed", cost=0.5)
    over = check(store.first, candidate(0.75), SpendLimits(per_day=1.0), NOW, counted=False)
    assert over is not None and is_limit_reason(over.message)
    assert day_start(NOW).date().isoformat() in over.message
    assert not day_limit_passed(over.message, NOW)
    assert day_limit_passed(over.message, NOW + timedelta(days=1))
    batch = check(store.first, candidate(2.0), SpendLimits(per_batch=1.0), NOW, counted=False)
    assert batch is not None and is_limit_reason(batch.message)
    assert not day_limit_passed(batch.message, NOW + timedelta(days=1))  # not a day's limit
    assert not is_limit_reason("the API balance is exhausted: out of credits")
    assert not is_limit_reason(None)
