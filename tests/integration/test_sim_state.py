"""The simulator's lifecycle arithmetic under an injected clock: exact, no server, no waiting.

The HTTP tests show the behaviour over loopback; these pin the timing rules to the millisecond.
"""

from __future__ import annotations

import pytest

from krea_tui.sim.config import SimConfig
from krea_tui.sim.state import BacklogFull, JobRequest, PaymentRequired, SimState, parse_cursor


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def request(seconds: float = 10.0, price: float = 0.01, job_type: str = "flux") -> JobRequest:
    return JobRequest(
        model="bfl/flux-1-dev",
        job_type=job_type,
        params={"prompt": "p"},
        prompt="p",
        seed=1,
        width=1024,
        height=1024,
        seconds=seconds,
        price_usd=price,
    )


def make(**overrides: object) -> tuple[SimState, Clock]:
    settings: dict[str, object] = {"tokens": ["t"], "jitter": 0.0, "port": 0}
    settings.update(overrides)
    clock = Clock()
    return SimState(SimConfig(**settings), clock), clock  # type: ignore[arg-type]


def status(state: SimState, job_id: str, token: str = "t") -> str:
    job = state.get(token, job_id)
    assert job is not None
    return job["status"]


def test_phases_follow_the_shares_of_the_duration() -> None:
    state, clock = make()
    job = state.create("t", request(seconds=10.0))["job_id"]
    # Shares 8/7/25/35/25 % of 10 s.
    expected = [
        (0.0, "queued"),
        (0.79, "queued"),
        (0.8, "scheduled"),
        (1.5, "processing"),
        (4.0, "sampling"),
        (7.5, "intermediate-complete"),
        (9.99, "intermediate-complete"),
        (10.0, "completed"),
    ]
    start = clock.now
    for offset, wanted in expected:
        clock.now = start + offset
        assert status(state, job) == wanted, offset


def test_speed_divides_durations() -> None:
    state, clock = make(speed=10.0)
    job = state.create("t", request(seconds=10.0))["job_id"]
    clock.now += 1.0
    assert status(state, job) == "completed"


def test_backlog_leaves_fifo_at_the_exact_moment_a_slot_frees() -> None:
    state, clock = make(concurrency=2, backlog=5)
    start = clock.now
    ids = [state.create("t", request(seconds=10.0 + i))["job_id"] for i in range(4)]
    assert [status(state, i) for i in ids] == ["queued", "queued", "backlogged", "backlogged"]
    clock.now = start + 100.0  # look only much later: history must still be exact
    timelines = [state.timeline(i)["timeline"] for i in ids]  # type: ignore[index]
    starts = [t[0]["t"] if t[0]["status"] == "queued" else t[1]["t"] for t in timelines]
    assert starts[2] == pytest.approx(start + 10.0)  # when job 0 ended
    assert starts[3] == pytest.approx(start + 11.0)  # when job 1 ended
    assert [t[-1]["status"] for t in timelines] == ["completed"] * 4


def test_backlog_capacity_and_retry_after() -> None:
    state, clock = make(concurrency=1, backlog=1)
    state.create("t", request(seconds=10.0))
    state.create("t", request(seconds=10.0))
    clock.now += 2.5
    with pytest.raises(BacklogFull) as caught:
        state.create("t", request())
    assert caught.value.retry_after == 8  # ceil(10 - 2.5)
    state.create("other", request())  # limits are per token


def test_cancel_frees_the_slot_now_and_only_in_cancellable_states() -> None:
    state, clock = make(concurrency=1)
    first = state.create("t", request(seconds=10.0))["job_id"]
    second = state.create("t", request(seconds=10.0))["job_id"]
    assert state.cancel("t", second) == ("backlogged", None)
    clock.now += 0.85  # scheduled
    assert state.cancel("t", first) == ("scheduled", None)
    clock.now += 1.0  # processing
    outcome, body = state.cancel("t", first)
    assert outcome == "ok" and body is not None and body["status"] == "cancelled"
    assert status(state, second) == "queued"
    assert state.cancel("x", second) == ("missing", None)
    assert state.charged_usd == 0


def test_list_paging_is_exact_when_jobs_share_a_millisecond() -> None:
    state, _ = make(concurrency=100)
    ids = [state.create("t", request())["job_id"] for _ in range(10)]  # same clock reading
    seen: list[str] = []
    cursor = None
    while True:
        items, cursor = state.list("t", cursor_us=parse_cursor(cursor) if cursor else None, limit=3)
        seen += [item["job_id"] for item in items]
        if cursor is None:
            break
    assert seen == ids[::-1]


def test_balance_is_charged_on_completion_and_blocks_new_jobs() -> None:
    state, clock = make(balance_usd=0.015)
    state.create("t", request(seconds=1.0, price=0.01))
    state.create("t", request(seconds=1.0, price=0.01))
    clock.now += 2.0
    with pytest.raises(PaymentRequired, match="balance"):
        state.create("t", request())
    assert state.balance_usd == pytest.approx(-0.005)


def test_forced_outcomes_and_webhooks_on_terminal_states_only() -> None:
    state, clock = make()
    state.force_outcomes([{"status": "failed", "code": "timeout"}])
    job = request(seconds=10.0)
    job.webhook_url = "http://127.0.0.1:9/hook"
    job_id = state.create("t", job)["job_id"]
    clock.now += 5.0
    assert state.poll_webhooks() == []
    clock.now += 5.0
    [(url, body)] = state.poll_webhooks()
    assert url == job.webhook_url
    assert body["status"] == "failed" and body["error"]["code"] == "timeout"
    assert body == state.get("t", job_id)
    with pytest.raises(ValueError):
        state.force_outcomes([{"status": "failed", "code": "gremlins"}])
