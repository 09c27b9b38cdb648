"""The queue model without a UI: windows, the cursor's row, marks and bulk targets, the summary
the status bar shows, and what each engine event changes."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core.endings import Tally
from krea_tui.core.events import DownloadEvent, JobEvent, QueueEvent, RemovedEvent
from krea_tui.core.job_order import ordered
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import GroupHeader, QueueView, summary_of_jobs
from krea_tui.core.store import JobStore, StoredJob

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FLUX = "bfl/flux-1-dev"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = JobStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


def add(
    store: JobStore, prompt: str, status: str = "held", *, batch: str | None = None, **kw: object
) -> StoredJob:
    job = store.add_job(FLUX, {"prompt": prompt}, batch_id=batch, now=T0, **kw)  # type: ignore[arg-type]
    if status != "held":
        store.set_status(job.local_id, status, T0)
    return store.get(job.local_id)


def move(store: JobStore, job: StoredJob, status: str, **changes: Any) -> JobEvent:
    """What the engine does: write the change, then tell of it."""
    store.set_status(job.local_id, status, T0, **changes)
    return JobEvent(store.get(job.local_id), job.status, status)


def ids(rows: list[GroupHeader | StoredJob]) -> list[str]:
    return [r.local_id if isinstance(r, StoredJob) else f"header:{r.batch_id}" for r in rows]


def model_of(store: JobStore, text: str = "", **view: object) -> QueueModel:
    return QueueModel(store, now=lambda: T0, view=QueueView(parse(text), **view))  # type: ignore[arg-type]


# -- windows and the cursor ----------------------------------------------------------------------


@pytest.mark.parametrize("reverse", [False, True])
def test_windows_of_the_queue_order_read_anywhere_from_anchors_and_ends(
    store: JobStore, reverse: bool
) -> None:
    jobs = [add(store, f"job {n}") for n in range(60)]
    want = [job.local_id for job in (jobs[::-1] if reverse else jobs)]
    model = model_of(store, reverse=reverse)
    assert model.row_count() == 60
    # The end first (where the cursor starts), then page by page up, jumps, and back down:
    # each read from an end or from the window read before.
    for offset in [50, 40, 30, 0, 10, 27, 3, 55, 59, 58, 20, 21, 0]:
        assert ids(model.window(offset, 10)) == want[offset : offset + 10], offset
    assert model.window(60, 10) == []
    for local_id in (want[0], want[33], want[-1]):
        assert model.index_of(local_id) == want.index(local_id)
    assert model.index_of("no-such-job") is None


def test_a_new_job_is_read_where_it_belongs_after_windows_were_read(store: JobStore) -> None:
    jobs = [add(store, f"job {n}") for n in range(30)]
    model = model_of(store)
    model.window(20, 10)
    model.window(0, 10)
    new = add(store, "the newest")
    changes = model.apply([JobEvent(new, None, "held")])
    assert changes.entered == {new.local_id} and changes.moved
    assert model.row_count() == 31
    assert ids(model.window(25, 10)) == [j.local_id for j in jobs[25:]] + [new.local_id]
    assert model.index_of(new.local_id) == 30


def test_a_filtered_view_is_the_filtered_history_and_keeps_the_cursors_job(
    store: JobStore,
) -> None:
    jobs = [add(store, f"a {'fox' if n % 3 == 0 else 'cat'} {n}") for n in range(12)]
    foxes = [job.local_id for job in jobs if "fox" in job.prompt]
    model = model_of(store, "fox")
    assert model.row_count() == len(foxes)
    assert ids(model.window(0, 100)) == foxes
    assert model.index_of(foxes[2]) == 2
    assert model.index_of(jobs[1].local_id) is None  # a cat: not shown
    assert model.set_filter("fox") is False  # the same view: nothing to lay out
    assert model.set_filter("cat") is True
    assert model.row_count() == len(jobs) - len(foxes)


def test_a_problem_in_the_filter_shows_nothing(store: JobStore) -> None:
    add(store, "fox")
    model = model_of(store, "age:soon")
    assert model.row_count() == 0 and model.window(0, 10) == []


def test_grouped_rows_have_a_header_per_batch_and_loose_jobs_last(store: JobStore) -> None:
    a1 = add(store, "a1", "completed", batch="A")
    loose = add(store, "loose")
    b1 = add(store, "b1", "failed", batch="B")
    a2 = add(store, "a2", batch="A")
    model = model_of(store, group=True)
    rows = model.window(0, 20)
    assert ids(rows) == [
        "header:A", a1.local_id, a2.local_id, "header:B", b1.local_id, "header:None",
        loose.local_id,
    ]  # fmt: skip
    header = rows[0]
    assert isinstance(header, GroupHeader)
    assert (header.jobs, header.tally) == (2, Tally(done=1))
    assert model.index_of_batch("B") == 3
    assert model.index_of(loose.local_id) == 6
    assert (model.row_count(), model.shown_count()) == (7, 4)


# -- the summary ---------------------------------------------------------------------------------


def test_the_summary_is_what_the_status_bar_counted(store: JobStore) -> None:
    add(store, "a", "completed", cost_estimate=0.5, cost_unit="USD")
    add(store, "b", "completed", cost_estimate=2.0, cost_unit="credits")
    add(store, "c", "completed", cost_estimate=None)
    add(store, "d", "completed", cost_estimate=1.0, cost_unit="")  # no unit: "?"
    add(store, "e", "failed", cost_estimate=9.0, cost_unit="USD")  # failed: not spent
    add(store, "f", "queued")
    add(store, "g")
    model = model_of(store)
    assert model.summary == summary_of_jobs(store.jobs())
    assert dict(model.summary.spend) == {"USD": 0.5, "credits": 2.0, "?": 1.0}
    assert model.summary.counts["completed"] == 4
    assert (model.summary.held, model.summary.in_flight, model.summary.total) == (1, 1, 7)


def test_the_summary_follows_events_and_removals(store: JobStore) -> None:
    job = add(store, "a", "queued", cost_estimate=0.25, cost_unit="USD")
    other = add(store, "b", "completed", cost_estimate=0.25, cost_unit="USD")
    model = model_of(store)
    changes = model.apply([move(store, job, "completed")])
    assert changes.summary
    assert model.summary.counts == {"completed": 2}
    assert model.summary.spend == {"USD": 0.5}
    store.remove([job.local_id, other.local_id])
    changes = model.apply([RemovedEvent((job.local_id, other.local_id))])
    assert changes.summary
    assert model.summary.counts == {} and model.summary.spend == {}  # exactly none, not 1e-17
    assert not model.apply([QueueEvent(paused=True)]).any  # not the model's business


# -- events --------------------------------------------------------------------------------------


def test_a_status_change_names_the_cells_it_touches(store: JobStore) -> None:
    job = add(store, "fox", "submitting")
    model = model_of(store)
    changes = model.apply([move(store, job, "queued", remote_id="r-1", remote_created_at=T0)])
    assert changes.cells == {job.local_id: frozenset({"status", "progress", "id", "time"})}
    assert not changes.entered and not changes.left and not changes.moved


def test_jobs_enter_and_leave_a_filtered_view(store: JobStore) -> None:
    done = add(store, "old", "completed")
    running = add(store, "running", "processing")
    model = model_of(store, "status:active")
    assert ids(model.window(0, 10)) == [running.local_id]
    new = add(store, "new")
    changes = model.apply([JobEvent(new, None, "held"), move(store, running, "completed")])
    assert changes.entered == {new.local_id}
    assert changes.left == {running.local_id}
    assert changes.moved
    assert ids(model.window(0, 10)) == [new.local_id]
    assert model.index_of(done.local_id) is None


def test_a_job_entering_a_sorted_view_takes_its_place(store: JobStore) -> None:
    a = add(store, "b prompt", "failed")
    b = add(store, "d prompt", "failed")
    model = model_of(store, "status:failed", sort="prompt")
    assert ids(model.window(0, 10)) == [a.local_id, b.local_id]
    c = add(store, "c prompt", "queued")
    changes = model.apply([move(store, c, "failed")])
    assert changes.entered == {c.local_id}
    assert ids(model.window(0, 10)) == [a.local_id, c.local_id, b.local_id]


def test_a_change_of_sort_value_does_not_move_a_row_until_the_view_is_set(
    store: JobStore,
) -> None:
    # As the table did: rows stay put under the cursor; a new sort lays them out again.
    a = add(store, "a", "queued")
    b = add(store, "b", "processing")
    model = model_of(store, sort="status")
    assert ids(model.window(0, 5)) == [a.local_id, b.local_id]
    changes = model.apply([move(store, a, "completed")])
    assert changes.cells and not changes.moved
    assert ids(model.window(0, 5)) == [a.local_id, b.local_id]
    model.refresh()
    assert ids(model.window(0, 5)) == [b.local_id, a.local_id]


def test_ended_jobs_and_batches_are_told_once(store: JobStore) -> None:
    a = add(store, "a", "processing", batch="B")
    b = add(store, "b", "processing", batch="B")
    lone = add(store, "lone", "processing", batch="L")
    model = model_of(store)
    first = model.apply([move(store, a, "completed"), move(store, lone, "failed")])
    assert [job.local_id for job in first.ended] == [a.local_id, lone.local_id]
    assert first.batches_ended == {}  # B is still running; L is one job (told as a job)
    second = model.apply([move(store, b, "failed")])
    assert second.batches_ended == {"B": Tally(done=1, failed=1)}
    # Another process's word comes without the old status: the model's own copy tells it.
    again = model.apply([JobEvent(store.get(b.local_id), None, "failed")])
    assert again.ended == [] and again.batches_ended == {}


def test_what_another_process_writes_is_read_after_its_event(tmp_path: Path) -> None:
    mine = JobStore(tmp_path / "shared.sqlite3")
    theirs = JobStore(tmp_path / "shared.sqlite3")
    try:
        first = add(mine, "mine")
        model = model_of(mine)
        assert model.index_of(first.local_id) == 0
        assert ids(model.window(0, 5)) == [first.local_id]
        other = add(theirs, "theirs")
        changes = model.apply([JobEvent(mine.get(other.local_id), None, "held")])
        assert changes.entered == {other.local_id} and changes.summary
        assert ids(model.window(0, 5)) == [first.local_id, other.local_id]
    finally:
        theirs.close()
        mine.close()


def test_another_processs_change_without_old_status_still_ends_the_job(store: JobStore) -> None:
    job = add(store, "a", "processing")
    model = model_of(store)
    store.set_status(job.local_id, "completed", T0)
    changes = model.apply([JobEvent(store.get(job.local_id), None, "completed")])
    assert [j.local_id for j in changes.ended] == [job.local_id]
    assert model.active_jobs() == []


def test_grouped_headers_follow_status_changes(store: JobStore) -> None:
    a = add(store, "a", "processing", batch="B")
    add(store, "b", "processing", batch="B")
    model = model_of(store, group=True)
    changes = model.apply([move(store, a, "completed")])
    assert changes.headers == {"B"}
    header = model.window(0, 1)[0]
    assert isinstance(header, GroupHeader) and header.tally == Tally(done=1)


def test_a_saved_file_changes_no_cell_and_no_row(store: JobStore) -> None:
    job = add(store, "a", "completed")
    model = model_of(store, "status:done")
    store.add_file(job.local_id, 0, "https://x/1.png", "/tmp/1.png")
    changes = model.apply([DownloadEvent(store.get(job.local_id), 0, Path("/tmp/1.png"))])
    assert not changes.cells and not changes.entered and not changes.left


def test_jobs_under_way_are_kept_and_those_on_the_server_tick(store: JobStore) -> None:
    held = add(store, "held")
    running = add(store, "running", "submitting")
    store.set_status(running.local_id, "processing", T0, remote_id="r-1")
    running = store.get(running.local_id)
    add(store, "done", "completed")
    model = model_of(store)
    assert [j.local_id for j in model.active_jobs()] == [held.local_id, running.local_id]
    assert [j.local_id for j in model.running_jobs()] == [running.local_id]
    model.apply([move(store, running, "completed")])
    assert model.running_jobs() == []


# -- marks ---------------------------------------------------------------------------------------


def test_bulk_targets_are_the_shown_marks_in_view_order_then_the_hidden_ones(
    store: JobStore,
) -> None:
    jobs = [add(store, f"{'fox' if n % 2 else 'cat'} {n}") for n in range(6)]
    model = model_of(store, "fox", reverse=True)
    model.set_marks([jobs[1].local_id, jobs[5].local_id, jobs[2].local_id, jobs[0].local_id], True)
    targets, hidden = model.targets()
    assert [j.local_id for j in targets] == [
        jobs[5].local_id, jobs[1].local_id, jobs[0].local_id, jobs[2].local_id,
    ]  # fmt: skip
    assert hidden == 2


def test_marking_rows_batches_all_and_inverting(store: JobStore) -> None:
    jobs = [add(store, f"job {n}", batch="A" if n < 3 else None) for n in range(5)]
    every = {job.local_id for job in jobs}
    model = model_of(store, group=True)  # rows: header A, 3 jobs, header None, 2 jobs
    assert model.toggle_batch("A") == {j.local_id for j in jobs[:3]}
    header = model.window(0, 1)[0]
    assert isinstance(header, GroupHeader) and header.marked == 3
    assert model.toggle_batch("A") == {j.local_id for j in jobs[:3]}  # all marked: unmarked
    rows_2_to_6 = {jobs[1].local_id, jobs[2].local_id, *(j.local_id for j in jobs[3:])}
    assert model.mark_rows(6, 2) == rows_2_to_6
    assert model.invert_marks() == every
    assert model.marks == {jobs[0].local_id}
    assert model.mark_all() == every - {jobs[0].local_id}
    assert model.clear_marks() == every and model.marks == set()
    assert model.toggle_mark(jobs[4].local_id) == {jobs[4].local_id}
    assert [j.local_id for j in model.batch_jobs("A")] == [j.local_id for j in jobs[:3]]


def test_marks_of_removed_jobs_go_with_them(store: JobStore) -> None:
    a, b = add(store, "a"), add(store, "b")
    model = model_of(store)
    model.set_marks([a.local_id, b.local_id], True)
    store.remove([a.local_id])
    changes = model.apply([RemovedEvent((a.local_id,))])
    assert changes.marks == {a.local_id} and changes.left == {a.local_id}
    assert model.marks == {b.local_id}
    assert ids(model.window(0, 5)) == [b.local_id]


def test_shown_ids_of_every_view_are_its_rows(store: JobStore) -> None:
    jobs = [add(store, f"job {n}", batch=["A", None, "B"][n % 3]) for n in range(9)]
    for view in (QueueView(), QueueView(sort="prompt", reverse=True), QueueView(group=True)):
        model = QueueModel(store, now=lambda: T0, view=view)
        rows = [r.local_id for r in model.window(0, 50) if isinstance(r, StoredJob)]
        assert model.shown_ids() == rows
    expected = ordered(jobs, T0, sort="created", reverse=True)
    model = model_of(store, reverse=True)
    assert model.shown_ids() == [job.local_id for job in expected]


def test_setting_a_view_changes_only_what_differs(store: JobStore) -> None:
    model = model_of(store)
    view = model.view
    assert model.set_view(view) is False
    assert model.set_view(replace(view, group=True)) is True
    assert model.view.group


def test_newest_id_is_the_last_asked_for_among_the_shown_whatever_the_order(
    store: JobStore,
) -> None:
    a, b, c = add(store, "cat a"), add(store, "dog b"), add(store, "cat c")
    assert model_of(store).newest_id() == c.local_id
    assert model_of(store, reverse=True).newest_id() == c.local_id
    assert model_of(store, "dog").newest_id() == b.local_id
    assert model_of(store, "bird").newest_id() is None
    assert a.local_id != c.local_id
