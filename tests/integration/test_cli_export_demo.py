"""`krea-tui export` when the results asked for live in the other history: demo results are
in a history of their own (`--demo`), so an export without `--demo` after a demo session
finds nothing there, and says where they are and what to add rather than "the history is
empty". Nothing to export is not an error: exit 0 either way."""

from __future__ import annotations

from pathlib import Path

from krea_tui.core import ratings
from krea_tui.core.store import JobStore
from krea_tui.showcase import fill
from tests.integration.cli_support import krea


def judged(history: Path, results: Path) -> int:
    """The showcase's 20 jobs in `history`, three of those with a picture picked."""
    store = JobStore(history)
    try:
        fill(store, results)
        done = [job.local_id for job in store.jobs() if job.files]
        ratings.set_pick(store, done[:3], ratings.PICK)
    finally:
        store.close()
    return 3


def test_after_a_demo_session_export_points_to_the_demo_history(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    picks = judged(tmp_path / "data" / "demo-history.sqlite3", tmp_path / "out" / "demo")
    target = tmp_path / "keepers"
    result = krea(cli_env, "export", "--filter", "is:pick", str(target))
    assert result.code == 0, result.err
    assert "nothing to export" in result.err
    assert "history is empty" in result.err  # no real job at all
    assert f"demo history has {picks} jobs" in result.err and "--demo" in result.err
    assert not list(target.glob("*.png"))
    demo = krea(cli_env, "export", "--demo", "--filter", "is:pick", str(target))
    assert demo.code == 0, demo.err
    assert len(list(target.glob("*.png"))) == picks


def test_a_filter_matching_nothing_here_but_demo_results_says_add_demo(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    picks = judged(tmp_path / "data" / "demo-history.sqlite3", tmp_path / "out" / "demo")
    JobStore(tmp_path / "data" / "history.sqlite3").close()  # a real history, no pick in it
    result = krea(cli_env, "export", "--filter", "is:pick", str(tmp_path / "keepers"))
    assert result.code == 0, result.err
    assert "no job matches 'is:pick'" in result.err
    assert f"demo history has {picks} jobs" in result.err and "--demo" in result.err


def test_demo_export_of_nothing_points_back_to_the_real_history(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    picks = judged(tmp_path / "data" / "history.sqlite3", tmp_path / "out")
    result = krea(cli_env, "export", "--demo", "--filter", "is:pick", str(tmp_path / "keepers"))
    assert result.code == 0, result.err
    assert "nothing to export" in result.err
    assert f"history of real jobs has {picks} jobs" in result.err
    assert "without --demo" in result.err


def test_nothing_anywhere_says_so_without_a_hint(cli_env: dict[str, str], tmp_path: Path) -> None:
    judged(tmp_path / "data" / "demo-history.sqlite3", tmp_path / "out" / "demo")
    result = krea(cli_env, "export", "--filter", "rating:5", str(tmp_path / "keepers"))
    assert result.code == 0, result.err
    assert "nothing to export" in result.err and "--demo" not in result.err
