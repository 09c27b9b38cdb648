"""Which columns of the job table show at a width: a pure function, checked without a screen."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from krea_tui.tui.widgets.job_columns import OPTIONAL, PROMPT_FAIR, PROMPT_MIN, SPECS, fit_columns

ALWAYS = ("mark", "id", "status", "prompt")


def total(width: int, **kwargs: object) -> int:
    """Cells the layout takes: each column, its padding, and the scrollbar's room."""
    layout = fit_columns(width, **kwargs)  # type: ignore[arg-type]
    return sum(column.width + 2 for column in layout.columns) + 2


def test_80_columns_keep_the_first_screen_and_leave_out_what_has_no_room() -> None:
    layout = fit_columns(80)
    assert layout.keys == ("mark", "id", "status", "progress", "prompt", "model", "time")
    assert layout.width_of("prompt") >= PROMPT_MIN
    # Nothing is cut to a sliver: a column shows whole or not at all.
    assert set(layout.no_room) == {"rating", "age", "cost", "seed", "size"}
    assert total(80) == 80


def test_a_wide_terminal_shows_seed_size_and_cost_in_full() -> None:
    layout = fit_columns(250)
    assert set(OPTIONAL) <= set(layout.keys)
    assert layout.label_of("seed") == "Seed"
    assert layout.width_of("seed") >= len("3317551338")  # a full seed, the catalogue's default
    assert layout.width_of("size") >= len("1024×1024")
    assert not layout.no_room
    assert total(250) == 250


def test_columns_come_in_by_priority_as_the_width_grows() -> None:
    seen: list[str] = []
    for width in range(40, 200):
        for key in fit_columns(width).keys:
            if key not in seen and key not in ALWAYS:
                seen.append(key)
    assert seen == [key for key in OPTIONAL]


def test_hidden_columns_stay_hidden_and_the_prompt_takes_their_room() -> None:
    wide = fit_columns(250)
    without = fit_columns(250, hidden=frozenset({"seed", "size"}))
    assert "seed" not in without.keys and "size" not in without.keys
    assert "seed" not in without.no_room  # hidden is not "no room"
    assert without.width_of("prompt") == wide.width_of("prompt") + 10 + 2 + 9 + 2


def test_the_sort_column_is_marked_in_its_header_and_wide_enough_for_it() -> None:
    up = fit_columns(250, sort="seed")
    assert up.label_of("seed") == "Seed ▲"
    down = fit_columns(250, sort="time", reverse=True)
    assert down.label_of("time") == "Ran ▼"
    assert down.width_of("time") >= len("Ran ▼")
    assert fit_columns(250, sort="created").labels == fit_columns(250).labels  # queue order


@given(
    width=st.integers(min_value=0, max_value=400),
    hidden=st.frozensets(st.sampled_from([spec.key for spec in SPECS])),
)
def test_any_width_fits_and_keeps_what_must_show(width: int, hidden: frozenset[str]) -> None:
    layout = fit_columns(width, hidden=hidden)
    assert set(ALWAYS) <= set(layout.keys)  # these cannot be hidden
    order = [spec.key for spec in SPECS]
    assert list(layout.keys) == sorted(layout.keys, key=order.index)
    if width >= 45 + 2:
        assert total(width, hidden=hidden) == width


def test_at_60_columns_the_run_time_stays_beside_the_prompt() -> None:
    assert fit_columns(60).keys == ("mark", "id", "status", "prompt", "time")


def test_spare_width_reads_the_prompt_then_whole_model_names() -> None:
    every = fit_columns(250)
    narrowest = 47 + sum(fit_columns(250).width_of(key) + 2 for key in OPTIONAL) - 6
    assert fit_columns(narrowest).width_of("model") == 12  # just fits: nothing spare
    roomy = fit_columns(narrowest + 32 + 6)
    assert roomy.width_of("prompt") == 48 and roomy.width_of("model") == 18
    assert every.width_of("prompt") > 48 and every.width_of("model") == 18


def test_the_prompt_reads_fairly_before_age_cost_seed_and_size_come_in() -> None:
    for width in range(47, 300):
        layout = fit_columns(width)
        if {"age", "cost", "seed", "size"} & set(layout.keys):
            assert layout.width_of("prompt") >= PROMPT_FAIR, width
    assert "age" not in fit_columns(96).keys  # 160 columns with the detail pane open


def test_rate_first_puts_the_rating_where_the_progress_bar_was_at_80_columns() -> None:
    layout = fit_columns(80, rate_first=True)
    assert layout.keys == ("mark", "id", "status", "prompt", "model", "time", "rating")
    assert "progress" in layout.no_room
    assert layout.width_of("prompt") == fit_columns(80).width_of("prompt")  # the same room
    assert total(80, rate_first=True) == 80
    # Wide enough for both, both show, in their usual places.
    assert fit_columns(160, rate_first=True) == fit_columns(160)
    # Hidden, the rating gives way as ever.
    assert fit_columns(80, rate_first=True, hidden={"rating"}) == fit_columns(80, hidden={"rating"})
