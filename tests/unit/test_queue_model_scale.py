"""What keeps the queue quick on a long history: filters that would read every job wait for
Enter instead of running at each keystroke, and the newest job a following cursor sits on is
kept, not searched for again at every change."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from krea_tui.core import queue_model
from krea_tui.core.events import JobEvent, RemovedEvent
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import QueueView
from krea_tui.core.store import JobStore

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
FLUX = "bfl/flux-1-dev"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[JobStore]:
    opened = JobStore(tmp_path / "history.sqlite3")
    for n in range(30):
        opened.add_job(FLUX, {"prompt": f"a kingfisher {n}" if n % 3 else f"fox {n}"}, now=T0)
    yield opened
    opened.close()


@pytest.mark.parametrize(
    ("text", "waits"),
    [
        ("kin", False),  # through the word index
        ("kingfisher status:failed", False),  # and the status index
        ("status:done", False),
        ("", False),
        ("k", True),  # too short for the index: every job's text is read
        ("ki", True),
        ("-fox", True),  # every job not holding it
        ("model:flux", True),
        ("kingfisher model:flux", True),
        ("age:<1h", True),
    ],
)
def test_on_a_long_history_filters_that_read_every_job_wait_for_enter(
    store: JobStore, monkeypatch: pytest.MonkeyPatch, text: str, waits: bool
) -> None:
    model = QueueModel(store, now=lambda: T0)
    assert not model.filter_waits(text)  # 30 jobs: everything runs as it is typed
    monkeypatch.setattr(queue_model, "SCAN_FREE", 10)
    assert model.filter_waits(text) == waits


def test_the_newest_job_is_kept_through_changes_not_searched_for_each_time(
    store: JobStore,
) -> None:
    model = QueueModel(store, now=lambda: T0, view=QueueView(parse("kingfisher")))
    newest = model.newest_id()
    asked: list[str] = []
    first = store.first

    def counting(sql: str, args: object = ()) -> object:
        asked.append(sql)
        return first(sql, args)  # type: ignore[arg-type]

    store.first = counting  # type: ignore[method-assign]
    assert model.newest_id() == newest and not [q for q in asked if "created_at DESC" in q]
    later = store.add_job(FLUX, {"prompt": "a kingfisher, later"}, now=T0 + timedelta(minutes=1))
    model.apply([JobEvent(later, None, later.status)])
    assert model.newest_id() == later.local_id
    hidden = store.add_job(FLUX, {"prompt": "a fox, later"}, now=T0 + timedelta(minutes=2))
    model.apply([JobEvent(hidden, None, hidden.status)])
    assert model.newest_id() == later.local_id  # not in the view
    assert not [q for q in asked if "created_at DESC" in q]
    store.remove([later.local_id])
    model.apply([RemovedEvent((later.local_id,))])
    assert model.newest_id() == newest  # looked for again, once


@pytest.mark.parametrize("reverse", [False, True])
def test_where_a_job_is_counted_from_the_nearest_known_place_is_right_everywhere(
    store: JobStore, reverse: bool
) -> None:
    for n in range(90):
        store.add_job(FLUX, {"prompt": f"more {n}"}, now=T0)
    model = QueueModel(store, now=lambda: T0, view=QueueView(reverse=reverse))
    want = [row.local_id for row in model.window(0, 200)]  # type: ignore[union-attr]
    assert len(want) == 120
    for offsets in ([], [0], [60], [110, 5], [30, 90, 70]):
        fresh = QueueModel(store, now=lambda: T0, view=QueueView(reverse=reverse))
        for offset in offsets:
            fresh.window(offset, 7)  # leaves anchors at these windows' edges
        assert [fresh.index_of(i) for i in want] == list(range(120)), offsets
