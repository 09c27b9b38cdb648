"""Matching POSTs whose answer was lost to the jobs the server shows: only on evidence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from krea_tui.core.models import Job
from krea_tui.core.reconcile import ClockSkew, pair_lost
from krea_tui.core.store import StoredJob

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MS = timedelta(milliseconds=1)


def lost(name: str, sent: float, given_up: float) -> tuple[StoredJob, datetime]:
    job = StoredJob(
        local_id=name,
        model="bfl/flux-1-dev",
        request={"prompt": name},
        status="unknown",
        position=1.0,
        created_at=T0,
        submitted_at=T0 + timedelta(seconds=sent),
    )
    return job, T0 + timedelta(seconds=given_up)


def remote(name: str, created: float | None) -> Job:
    when = None if created is None else T0 + timedelta(seconds=created)
    return Job(job_id=name, status="completed", created_at=when)


def learnt(offset: float = 0.0) -> ClockSkew:
    """A skew learnt from a quick answered POST with the server `offset` s ahead of us."""
    skew = ClockSkew()
    sent = T0 - timedelta(seconds=10)
    skew.learn(sent, sent + 20 * MS, sent + timedelta(seconds=offset) + 10 * MS)
    return skew


def match(posts, candidates, skew=None):
    jobs = [job for job, _ in posts]
    given_up = {job.local_id: at for job, at in posts}
    result = pair_lost(jobs, given_up, candidates, skew or learnt())
    return {job.local_id: r.job_id for job, r in result.pairs}, result.ambiguous


def test_skew_bounds_narrow_with_every_answer_and_restart_on_a_contradiction() -> None:
    skew = ClockSkew()
    assert not skew.learnt
    skew.learn(T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=5.5))
    assert (skew.low, skew.high) == (
        timedelta(seconds=4.45),
        timedelta(seconds=5.55),
    )
    skew.learn(T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=5.2))
    assert skew.low == timedelta(seconds=4.45) and skew.high == timedelta(seconds=5.25)
    skew.learn(T0, T0 + MS, T0)  # the server clock was set back: start over
    assert skew.high < timedelta(seconds=1)
    skew.learn(T0, T0, None)  # an answer without a time teaches nothing
    assert skew.high < timedelta(seconds=1)


def test_one_lost_post_and_the_job_it_created() -> None:
    pairs, ambiguous = match([lost("a", 0, 0.1)], [remote("x", 0.05)])
    assert pairs == {"a": "x"} and ambiguous == {}


def test_the_server_clock_offset_is_allowed_for() -> None:
    ahead = learnt(offset=30.0)
    pairs, _ = match([lost("a", 0, 0.1), lost("b", 5, 5.1)], [remote("y", 35.05)], ahead)
    assert pairs == {"b": "y"}


def test_a_post_that_created_nothing_does_not_take_a_later_posts_job() -> None:
    posts = [lost("nothing", 0, 0.1), lost("created", 3, 3.1)]
    pairs, ambiguous = match(posts, [remote("x", 3.05)])
    assert pairs == {"created": "x"}
    assert ambiguous == {}


def test_jobs_from_posts_sent_at_the_same_moment_are_not_guessed() -> None:
    posts = [lost("a", 0, 0.2), lost("b", 0.01, 0.2), lost("c", 0.02, 0.2)]
    candidates = [remote("x", 0.05), remote("y", 0.06), remote("z", 0.07)]
    pairs, ambiguous = match(posts, candidates)
    assert pairs == {}
    assert ambiguous == {"a": 3, "b": 3, "c": 3}


def test_sequential_lost_posts_are_each_matched() -> None:
    posts = [lost("a", 0, 0.1), lost("b", 1, 1.1), lost("c", 2, 2.1)]
    candidates = [remote("z", 2.05), remote("x", 0.05), remote("y", 1.05)]
    pairs, _ = match(posts, candidates)
    assert pairs == {"a": "x", "b": "y", "c": "z"}


def test_a_lone_job_created_after_a_timeout_still_belongs_to_the_lone_post() -> None:
    pairs, _ = match([lost("a", 0, 30)], [remote("late", 42)])
    assert pairs == {"a": "late"}


def test_jobs_older_than_the_post_or_without_a_time_are_never_taken() -> None:
    pairs, ambiguous = match([lost("a", 10, 10.1)], [remote("old", 2)])
    assert pairs == {} and ambiguous == {}
    pairs, _ = match([lost("a", 10, 10.1)], [remote("timeless", None)])
    assert pairs == {}


def test_before_any_answer_a_wider_window_is_used() -> None:
    # With no answered POST yet the clocks may differ by up to two seconds.
    pairs, _ = match([lost("a", 0, 0.1)], [remote("x", 1.5)], ClockSkew())
    assert pairs == {"a": "x"}
    pairs, ambiguous = match(
        [lost("a", 0, 0.1), lost("b", 1, 1.1)], [remote("x", 0.5)], ClockSkew()
    )
    assert pairs == {} and ambiguous == {"a": 1, "b": 1}
