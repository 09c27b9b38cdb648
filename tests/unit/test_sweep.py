"""Sweeps: parsing the values a user types, the cross product, and laying a batch out."""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.batch import (
    MAX_SWEEP_JOBS,
    SweepAxis,
    SweepError,
    parse_sweep_values,
    sweep,
    sweep_batch_id,
    swept_names,
)
from krea_tui.core.sheet import counts, sheet_axes, sheet_layout, state_times, varying
from krea_tui.core.store import StoredJob, TimelineEntry

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_lists_ranges_and_both_mixed() -> None:
    assert parse_sweep_values("steps", "20,30,40", kind="integer") == (20, 30, 40)
    assert parse_sweep_values("steps", "20..40 step 10", kind="integer") == (20, 30, 40)
    assert parse_sweep_values("steps", " 1, 5..10 step 5 ,30", kind="integer") == (1, 5, 10, 30)
    assert parse_sweep_values("steps", "3..1", kind="integer") == (3, 2, 1)


def test_decimal_steps_land_on_the_end_exactly() -> None:
    assert parse_sweep_values("g", "0.1..0.3 step 0.1") == (0.1, 0.2, 0.3)
    assert parse_sweep_values("g", "1.5..3 step 0.5") == (1.5, 2, 2.5, 3)
    # Whole numbers stay ints, so the request reads "guidance 3", not "3.0".
    assert [type(v) for v in parse_sweep_values("g", "3,3.5")] == [int, float]


def test_duplicates_are_dropped_in_order() -> None:
    assert parse_sweep_values("steps", "30,20,30,20..30 step 10", kind="integer") == (30, 20)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "no values"),
        ("1,,2", "empty value"),
        ("abc", "'abc' is not a number"),
        ("2.5", "2.5 is not a whole number"),
        ("1..5 step 0", "step must be above 0"),
        ("1..1000", "over 50 values"),
        ("nan", "not a number"),
    ],
)
def test_bad_values_name_the_parameter(text: str, says: str) -> None:
    with pytest.raises(SweepError) as caught:
        parse_sweep_values("steps", text, kind="integer")
    assert str(caught.value).startswith("steps: ")
    assert says in str(caught.value)


def test_choices_match_by_name() -> None:
    choices = ["1K", "2K", "4K"]
    assert parse_sweep_values("resolution", "1k, 4K", choices=choices) == ("1K", "4K")
    with pytest.raises(SweepError, match="resolution: '8K' is not one of 1K, 2K, 4K"):
        parse_sweep_values("resolution", "8K", choices=choices)


def test_sweep_is_the_cross_product_over_the_forms_bodies() -> None:
    bodies = [{"prompt": "fox", "seed": 1}, {"prompt": "fox", "seed": 2}]
    axes = [SweepAxis("steps", (20, 30)), SweepAxis("guidance", (2, 3, 4))]
    out = sweep(bodies, axes)
    assert len(out) == 12
    # First axis outermost, the form's images innermost: neighbours differ by seed only.
    assert out[0] == {"prompt": "fox", "seed": 1, "steps": 20, "guidance": 2}
    assert out[1] == {"prompt": "fox", "seed": 2, "steps": 20, "guidance": 2}
    assert out[2]["guidance"] == 3 and out[-1]["steps"] == 30
    assert bodies[0] == {"prompt": "fox", "seed": 1}  # the form's bodies are left alone


def test_sweep_refuses_a_parameter_twice_and_too_many_jobs() -> None:
    with pytest.raises(SweepError, match="steps: swept twice"):
        sweep([{}], [SweepAxis("steps", (1,)), SweepAxis("steps", (2,))])
    with pytest.raises(SweepError, match=f"{MAX_SWEEP_JOBS} at most"):
        sweep([{}] * 10, [SweepAxis("a", tuple(range(10))), SweepAxis("b", tuple(range(10)))])


@given(
    st.integers(1, 4),
    st.lists(st.integers(1, 5), min_size=1, max_size=2),
)
def test_every_combination_once_per_form_body(n_bodies: int, sizes: list[int]) -> None:
    bodies = [{"seed": i} for i in range(n_bodies)]
    axes = [SweepAxis(f"p{k}", tuple(range(size))) for k, size in enumerate(sizes)]
    out = sweep(bodies, axes)
    assert len(out) == n_bodies * math.prod(sizes)
    combos = Counter(tuple(body[a.name] for a in axes) for body in out)
    assert set(combos.values()) == {n_bodies}
    assert len(combos) == math.prod(sizes)


@given(st.lists(st.integers(-1000, 1000), min_size=1, max_size=20))
def test_a_written_list_reads_back(values: list[int]) -> None:
    text = ",".join(str(v) for v in values)
    assert parse_sweep_values("x", text, kind="integer") == tuple(dict.fromkeys(values))


def test_the_batch_id_carries_the_swept_names() -> None:
    batch = sweep_batch_id([SweepAxis("steps", (1,)), SweepAxis("guidance_scale_flux", (1,))], T0)
    assert batch.startswith("sweep-20261123-120000-")
    assert "," not in batch  # the job filter splits at commas
    assert swept_names(batch) == ("steps", "guidance_scale_flux")
    assert swept_names("b20261123-120000") == ()
    assert swept_names(None) == ()


# -- contact sheet layout ------------------------------------------------------------------------


def job(n: int, request: dict[str, Any], status: str = "completed") -> StoredJob:
    return StoredJob(
        local_id=f"j{n}", model="m", request=request, status=status, position=n, created_at=T0
    )


def swept_jobs(repeat: int = 1) -> list[StoredJob]:
    bodies = [{"prompt": "p", "seed": s} for s in range(repeat)]
    requests = sweep(bodies, [SweepAxis("steps", (20, 30, 40)), SweepAxis("g", (2, 3.5))])
    return [job(n, r) for n, r in enumerate(requests)]


def test_two_axes_make_a_grid_with_values_as_headers() -> None:
    jobs = swept_jobs()
    layout = sheet_layout(jobs, ["steps", "g"])
    assert layout.shape == (3, 2)
    assert (layout.row_axis, layout.col_axis) == ("steps", "g")
    assert layout.row_labels == ("20", "30", "40")
    assert layout.col_labels == ("2", "3.5")
    assert layout.cells[2][1] == "j5"
    assert layout.position("j3") == (1, 1)
    assert layout.notes["j0"] == ""  # one seed for all: nothing more to say per cell


def test_repeats_sit_side_by_side_labelled_by_seed() -> None:
    layout = sheet_layout(swept_jobs(repeat=2), ["steps", "g"])
    assert layout.shape == (3, 4)
    assert layout.col_labels == ("2 #1", "2 #2", "3.5 #1", "3.5 #2")
    assert layout.notes["j1"] == "seed 1"


def test_axes_come_from_the_batch_id_or_else_from_what_varies() -> None:
    jobs = swept_jobs()
    assert sheet_axes("sweep-x-1234+g+steps", jobs) == ["g", "steps"]
    # Without names: the outer loop (changes least often) first; seeds never count.
    assert sheet_axes("b1", jobs) == ["steps", "g"]
    assert varying([{"seed": 1}, {"seed": 2}]) == []


def test_one_axis_runs_across_and_no_axis_flows() -> None:
    jobs = [job(n, {"steps": s, "seed": n}) for n, s in enumerate([10, 10, 20, 20, 30])]
    strip = sheet_layout(jobs, ["steps"])
    assert strip.col_labels == ("10", "20", "30")
    assert strip.cells == (("j0", "j2", "j4"), ("j1", "j3", None))
    flow = sheet_layout(jobs, [], columns=2)
    assert flow.cells == (("j0", "j1"), ("j2", "j3"), ("j4", None))
    assert len(flow.col_labels) == flow.shape[1] == 2
    few = sheet_layout(jobs[:3], [], columns=8)  # one short row: only as wide as its jobs
    assert few.shape == (1, 3) and len(few.col_labels) == 3


def test_counts_and_time_in_state_sum_and_median() -> None:
    def timeline(*steps: tuple[str, float]) -> list[TimelineEntry]:
        return [TimelineEntry(s, T0 + timedelta(seconds=t)) for s, t in steps]

    timelines = {
        "a": timeline(("held", 0), ("queued", 1), ("processing", 3), ("completed", 7)),
        "b": timeline(("held", 0), ("queued", 2), ("processing", 8), ("completed", 9)),
        "c": timeline(("held", 0), ("queued", 1)),  # still queued: counts until now
    }
    now = T0 + timedelta(seconds=11)
    times = {t.status: t for t in state_times(timelines, now)}
    assert list(times) == ["held", "queued", "processing"]
    assert times["queued"].total == 2 + 6 + 10
    assert times["queued"].median == 6
    assert times["processing"].jobs == 2 and times["processing"].median == 2.5
    jobs = [job(0, {}, "queued"), job(1, {}, "completed"), job(2, {}, "held")]
    assert list(counts(jobs).items()) == [("held", 1), ("queued", 1), ("completed", 1)]
