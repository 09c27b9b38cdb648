"""A job's two times, named for what they are in the CLI's `jobs` and the TUI's queue alike:
Age (since it was asked for, held time included) and Ran (the server's time on it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from krea_tui.core.job_order import age_seconds, ran_seconds
from krea_tui.core.store import StoredJob

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)


def _held() -> StoredJob:
    return StoredJob(
        local_id="a" * 32,
        model="bfl/flux-1-dev",
        request={"prompt": "a fox"},
        status="held",
        position=1.0,
        created_at=T0,
    )


def _done_after_holding(held_for: float, ran_for: float) -> StoredJob:
    sent = T0 + timedelta(seconds=held_for)
    return replace(
        _held(),
        status="completed",
        remote_id="r" * 32,
        submitted_at=sent,
        remote_created_at=sent + timedelta(seconds=0.4),
        finished_at=sent + timedelta(seconds=0.4 + ran_for),
    )


def test_age_counts_from_when_the_job_was_asked_for() -> None:
    assert age_seconds(_held(), NOW) == 3600
    assert age_seconds(_done_after_holding(300, 12), NOW) == 3600


def test_a_done_job_ran_for_its_server_time_not_its_time_held_here() -> None:
    # Held five minutes in the local queue (concurrency limit), then 12 s on the server.
    assert ran_seconds(_done_after_holding(300, 12), NOW) == 12


def test_a_job_the_server_never_took_has_not_run() -> None:
    assert ran_seconds(_held(), NOW) is None
    sending = replace(_held(), status="submitting", submitted_at=NOW - timedelta(seconds=2))
    assert ran_seconds(sending, NOW) is None
    # Refused before it was sent (a bad request): it ended, yet never ran.
    refused = replace(_held(), status="failed", finished_at=T0 + timedelta(seconds=5))
    assert ran_seconds(refused, NOW) is None


def test_a_running_job_has_run_since_it_was_sent_on_this_machine_clock() -> None:
    # The server's clock is 3 minutes ahead: its created_at is not compared with our `now`.
    sent = NOW - timedelta(seconds=40)
    running = replace(
        _held(),
        status="sampling",
        remote_id="r" * 32,
        submitted_at=sent,
        remote_created_at=sent + timedelta(minutes=3),
    )
    assert ran_seconds(running, NOW) == 40
    # An imported job was not sent from here: the server's creation time is all there is.
    imported = replace(running, submitted_at=None, remote_created_at=NOW - timedelta(seconds=9))
    assert ran_seconds(imported, NOW) == 9
