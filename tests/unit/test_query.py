"""The queue view's filter language, job ordering and triage figures: pure functions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.job_order import SORT_CYCLE, grouped, next_sort, ordered
from krea_tui.core.query import parse, parse_age, status_group, with_status
from krea_tui.core.store import StoredJob, TimelineEntry
from krea_tui.core.triage import batch_times, failure_groups, state_durations

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
STATUSES = ["held", "submitting", "queued", "processing", "completed", "failed", "cancelled"]


def job(n: int = 0, **changes: Any) -> StoredJob:
    values: dict[str, Any] = {
        "local_id": f"{n:032x}",
        "model": "bfl/flux-1-dev",
        "request": {"prompt": f"a red fox number {n}", "seed": n},
        "status": "completed",
        "position": float(n),
        "created_at": NOW - timedelta(minutes=n),
    }
    values.update(changes)
    return StoredJob(**values)


def test_words_and_tokens_all_have_to_hold() -> None:
    fox = job(1, status="failed", preset="portrait", batch_id="b2026-1")
    assert parse("fox").matches(fox, NOW)
    assert parse("FOX status:failed model:flux preset:port batch:b2026").matches(fox, NOW)
    assert not parse("fox status:done").matches(fox, NOW)
    assert not parse("-fox").matches(fox, NOW)
    assert parse("-status:done,cancelled").matches(fox, NOW)
    assert parse(f"{fox.local_id[:6]}").matches(fox, NOW)  # ids are searched too


def test_status_groups() -> None:
    assert parse("status:active").matches(job(status="held"), NOW)
    assert parse("status:active").matches(job(status="sampling"), NOW)
    assert parse("status:active").matches(job(status="some-new-state"), NOW)
    assert not parse("status:active").matches(job(status="failed"), NOW)
    assert parse("status:done").matches(job(status="completed"), NOW)
    assert parse("status:ended").matches(job(status="cancelled"), NOW)
    assert parse("status:local").matches(job(status="unknown"), NOW)


def test_age() -> None:
    young, old = job(5), job(120)  # 5 and 120 minutes old
    assert parse("age:<1h").matches(young, NOW) and not parse("age:<1h").matches(old, NOW)
    assert parse("age:>90m").matches(old, NOW) and not parse("age:>90m").matches(young, NOW)
    assert parse_age("30") == ("<", 1800.0)  # minutes when no unit is given
    assert parse_age(">2d") == (">", 172800.0)
    broken = parse("age:<3x fox")
    assert broken.problems and not broken.matches(young, NOW)


def test_quick_status_keeps_the_words() -> None:
    assert with_status("fox status:done -cat", "failed") == "fox -cat status:failed"
    assert with_status("fox status:done", None) == "fox"
    assert status_group("fox status:failed") == "failed"


@given(st.text(max_size=60))
def test_parsing_never_fails_and_the_empty_query_matches_all(text: str) -> None:
    query = parse(text)
    query.matches(job(), NOW)  # never raises
    if not text.split():
        assert query.is_empty and query.matches(job(status="failed"), NOW)


@given(st.text(alphabet=st.characters(blacklist_categories=("Cc", "Zs")), min_size=1, max_size=12))
def test_any_part_of_the_prompt_finds_the_job(part: str) -> None:
    if part.startswith("-") or ":" in part:
        return  # a negation or a token, not a plain word
    found = job(request={"prompt": f"x{part}y", "seed": 1})
    assert parse(part).matches(found, NOW)


@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=30), st.sampled_from(SORT_CYCLE))
def test_sorting_keeps_every_job_and_reverse_flips_the_key(statuses: list[str], sort: str) -> None:
    jobs = [job(n, status=s) for n, s in enumerate(statuses)]
    forward = ordered(jobs, NOW, sort=sort)
    backward = ordered(jobs, NOW, sort=sort, reverse=True)
    assert sorted(j.local_id for j in forward) == sorted(j.local_id for j in jobs)
    assert len(backward) == len(jobs)


def test_status_sort_follows_the_lifecycle_and_cycle_wraps() -> None:
    jobs = [job(n, status=s) for n, s in enumerate(["failed", "held", "queued", "completed"])]
    assert [j.status for j in ordered(jobs, NOW, sort="status")][:3] == [
        "held",
        "queued",
        "completed",
    ]
    assert next_sort(SORT_CYCLE[-1]) == SORT_CYCLE[0]


def test_grouping_by_batch_puts_loose_jobs_last() -> None:
    jobs = [job(0), job(1, batch_id="b"), job(2, batch_id="a"), job(3, batch_id="b")]
    groups = grouped(jobs)
    assert [g.batch_id for g in groups] == ["b", "a", None]
    assert [len(g.jobs) for g in groups] == [2, 1, 1]


def test_failures_grouped_by_cause_most_frequent_first() -> None:
    jobs = [
        job(0, status="failed", error_code="timeout", error_message="too slow"),
        job(1, status="failed", error_code="nsfw", error_message="blocked"),
        job(2, status="failed", error_code="nsfw", error_message="blocked"),
        job(3, status="failed"),
        job(4),
    ]
    groups = failure_groups(jobs)
    assert [(g.code, len(g.jobs)) for g in groups] == [("nsfw", 2), (None, 1), ("timeout", 1)]
    assert groups[1].label == "no reason given"


def test_time_in_each_state_skips_states_passed_unseen() -> None:
    t0 = NOW - timedelta(seconds=20)
    timeline = [
        TimelineEntry("held", t0),
        TimelineEntry("queued", t0 + timedelta(seconds=2)),
        TimelineEntry("scheduled", t0 + timedelta(seconds=7), skipped=True),
        TimelineEntry("processing", t0 + timedelta(seconds=7)),
        TimelineEntry("completed", t0 + timedelta(seconds=10)),
    ]
    assert state_durations(timeline, NOW) == [("held", 2.0), ("queued", 5.0), ("processing", 3.0)]
    running = timeline[:4]
    assert state_durations(running, NOW)[-1] == ("processing", 13.0)  # until now
    done = job(0, created_at=t0, finished_at=t0 + timedelta(seconds=10), batch_id="b")
    times = batch_times("b", [done], {done.local_id: timeline}, NOW)
    assert times.per_state["queued"] == 5.0 and times.wall == 10.0 and times.ended == 1
