"""The A/B screen (`a` in the table): two results side by side (stacked when narrow), space
flips between them in place, the requests' differences below, and a choice picks the winner,
takes the loser's pick away, and brings the next picture up in the loser's place."""

from __future__ import annotations

from collections.abc import Callable

from krea_tui.core import ratings
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compare import CompareScreen, stacked
from tests.tui.conftest import settle


async def open_compare(app: KreaApp, pilot, marked: int = 0) -> CompareScreen:  # type: ignore[no-untyped-def]
    await settle(pilot)
    main = app.screen
    main.set_filter("status:done", typing=False)  # type: ignore[attr-defined]
    await pilot.pause()
    await pilot.press("a")
    await settle(pilot)
    screen = app.screen
    assert isinstance(screen, CompareScreen)
    return screen


async def test_two_side_by_side_flip_in_place_and_narrow_down_by_pairs(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(160, 48)) as pilot:
        screen = await open_compare(app, pilot)
        done = [job.local_id for job in app.store.jobs() if job.files]
        ratings.set_pick(app.store, done, ratings.PICK)  # narrowing the picks down
        assert not screen.has_class("-stacked")
        first, second = screen.duel.pair  # type: ignore[misc]
        assert (first, second) == (done[0], done[1])
        rows = {name: (a, b) for name, a, b in screen.diff_rows}
        assert rows["seed"] == ("1000", "1001")
        assert "steps" not in rows  # the same in both: not listed
        left, right = screen.query_one("#pane-0"), screen.query_one("#pane-1")
        assert left.display and right.display
        assert screen.query_one("#picture-0").image is not None  # type: ignore[attr-defined]

        await pilot.press("space")  # flip: one picture in place, A first
        assert screen.flipped == 0 and left.display and not right.display
        await pilot.press("space")
        assert screen.flipped == 1 and right.display and not left.display
        await pilot.press("enter")  # the one shown (B) wins
        await settle(pilot)
        assert app.store.get(second).pick == ratings.PICK
        assert app.store.get(first).pick is None  # lost: its pick is gone, not rejected
        assert screen.duel.pair == (done[2], second)  # the next came up in A's place
        assert screen.flipped is None  # back side by side

        await pilot.press("left")  # A (done[2]) wins
        await settle(pilot)
        assert screen.duel.pair == (done[2], done[3])
        assert app.store.get(second).pick is None


def test_pictures_stack_only_where_that_makes_them_larger() -> None:
    assert not stacked(80, 24) and not stacked(160, 48)
    assert stacked(50, 60)  # a narrow tmux pane


async def test_stacked_on_a_narrow_terminal_and_done_at_the_last_pair(
    static_app: Callable[..., KreaApp],
) -> None:
    app = static_app()
    async with app.run_test(size=(50, 60)) as pilot:
        await settle(pilot)
        table = app.screen.table  # type: ignore[attr-defined]
        done = [job.local_id for job in app.store.jobs() if job.files]
        table.set_marks(done[:2], True)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.has_class("-stacked")
        assert screen.duel.pair == (done[0], done[1])
        await pilot.press("right")
        await settle(pilot)
        assert not isinstance(app.screen, CompareScreen)  # one left: it is the keeper
        assert app.store.get(done[1]).pick == ratings.PICK


async def test_a_in_the_contact_sheet_compares_the_batch(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.tui.test_contact_sheet import BATCH, job_at, sweep_app

    app = sweep_app(tmp_path)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        app.open_contact_sheet(BATCH)
        await settle(pilot)
        await pilot.press("a")
        await settle(pilot)
        screen = app.screen
        assert isinstance(screen, CompareScreen)
        assert screen.duel.pair == (job_at(0), job_at(1))
        assert {name for name, _, _ in screen.diff_rows} == {"guidance_scale_flux"}
