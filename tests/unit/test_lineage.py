"""Lineage: every job made from another (enhance, use-as-input, re-run, retry, edit) records
its parent; the history finds a job's children by an index, and the filter language asks for
`parent:ID` and `has:children`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core.bulk import requeue
from krea_tui.core.catalog import Catalog, bundled_catalog
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.enhance import Picture, plan_enhance
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import QueueView
from krea_tui.core.schema import MIGRATIONS
from krea_tui.core.store import JobStore, StoredJob
from krea_tui.core.submit import Order

FLUX = "bfl/flux-1-dev"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return bundled_catalog()


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = JobStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def engine(store: JobStore, tmp_path: Path) -> JobEngine:
    return JobEngine(None, store, EngineConfig(tmp_path / "out", auto_download=False))  # type: ignore[arg-type]


def test_the_history_keeps_a_jobs_parent_and_finds_its_children_by_index(
    store: JobStore,
) -> None:
    parent = store.add_job(FLUX, {"prompt": "a fox"})
    assert parent.parent_id is None and not parent.has_children
    store.update(parent.local_id, remote_id="remote-parent-1")
    one = store.add_job(FLUX, {"prompt": "a fox"}, parent_id=parent.local_id)
    two = store.add_job(FLUX, {"prompt": "a fox"}, parent_id=parent.local_id)
    assert one.parent_id == parent.local_id
    assert one.parent_remote_id == "remote-parent-1"
    assert store.get(parent.local_id).has_children
    assert [job.local_id for job in store.children(parent.local_id)] == [
        one.local_id,
        two.local_id,
    ]
    assert store.children(one.local_id) == []
    plan = store.first(
        "EXPLAIN QUERY PLAN SELECT local_id FROM jobs WHERE parent_id = ?", (parent.local_id,)
    )
    assert plan is not None and "jobs_parent" in str(plan)


def old_history(tmp_path: Path, version: int) -> Path:
    """A history left at schema `version` with one completed job, 'old1'."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    for steps in MIGRATIONS[:version]:
        for step in steps:
            db.execute(step) if isinstance(step, str) else step(db)
    db.execute(f"PRAGMA user_version={version}")
    db.execute(
        "INSERT INTO jobs (local_id, model, request, position, status, created_at)"
        " VALUES ('old1', ?, '{}', 1, 'completed', '2026-01-01T00:00:00.000+00:00')",
        (FLUX,),
    )
    db.close()
    return path


def test_lineage_is_migration_8_and_an_older_history_gains_it(tmp_path: Path) -> None:
    from krea_tui.core.schema import add_parent_column

    assert add_parent_column in MIGRATIONS[8 - 1]  # migration 8 (7 is the ratings')
    path = old_history(tmp_path, 6)
    store = JobStore(path)
    assert store.schema_version == len(MIGRATIONS)
    assert store.get("old1").parent_id is None
    child = store.add_job(FLUX, {}, parent_id="old1")
    assert store.get("old1").has_children and child.parent_id == "old1"
    store.close()
    reader = JobStore(path, readonly=True)
    assert reader.get(child.local_id).parent_id == "old1"
    reader.close()


def test_a_read_only_history_from_before_lineage_still_reads(tmp_path: Path) -> None:
    path = old_history(tmp_path, 2)
    store = JobStore(path, readonly=True)
    (job,) = store.jobs()
    assert job.parent_id is None and not job.has_children
    assert store.children("old1") == []
    store.close()


def test_submit_records_each_bodys_parent(engine: JobEngine, catalog: Catalog) -> None:
    a = engine.store.add_job(FLUX, {"prompt": "a"})
    b = engine.store.add_job(FLUX, {"prompt": "b"})
    jobs = engine.submit(
        catalog,
        [
            Order(FLUX, [{"prompt": "a"}, {"prompt": "b"}], parents=[a.local_id, b.local_id]),
            Order(FLUX, [{"prompt": "fresh"}]),
        ],
    )
    assert [job.parent_id for job in jobs] == [a.local_id, b.local_id, None]


def test_an_order_with_the_wrong_number_of_parents_is_refused() -> None:
    with pytest.raises(ValueError, match="parent"):
        Order(FLUX, [{"prompt": "a"}, {"prompt": "b"}], parents=["x"])


def test_requeue_makes_each_new_job_a_child_of_the_one_it_repeats(
    engine: JobEngine, catalog: Catalog
) -> None:
    first = engine.store.add_job(FLUX, {"prompt": "a", "seed": 1})
    second = engine.store.add_job(FLUX, {"prompt": "b", "seed": 2}, preset="p")
    for new_seed in (False, True):
        queued, skipped = requeue(engine, catalog, [first, second], new_seed=new_seed)
        assert skipped == 0
        assert sorted((job.prompt, job.parent_id) for job in queued) == [
            ("a", first.local_id),
            ("b", second.local_id),
        ]


def test_an_enhance_plans_order_names_each_pictures_job(catalog: Catalog) -> None:
    pictures = [
        (Picture("https://example.com/a.png", parent="job-a"), (512, 512)),
        (Picture("https://example.com/b.png", parent=None), (512, 512)),
    ]
    order = plan_enhance(catalog, None, 2.0, pictures).order()
    assert list(order.parents or ()) == ["job-a", None]


# -- the filter language --------------------------------------------------------------------


def job(local_id: str, **changes: Any) -> StoredJob:
    values: dict[str, Any] = {
        "local_id": local_id,
        "model": FLUX,
        "request": {"prompt": "a fox"},
        "status": "completed",
        "position": 1.0,
        "created_at": NOW - timedelta(minutes=1),
    }
    values.update(changes)
    return StoredJob(**values)


def test_parent_takes_a_prefix_of_the_parents_local_or_remote_id() -> None:
    child = job("c1", parent_id="abcdef01", parent_remote_id="9f00aa")
    orphan = job("c2")
    assert parse("parent:abcd").matches(child, NOW)
    assert parse("parent:9f0").matches(child, NOW)
    assert parse("parent:zz,9f").matches(child, NOW)  # commas mean "or", as elsewhere
    assert not parse("parent:bcd").matches(child, NOW)  # a prefix, not a substring
    assert not parse("parent:abcd").matches(orphan, NOW)
    assert parse("-parent:abcd").matches(orphan, NOW)
    assert parse("parent:").problems


def test_has_children_and_has_parent() -> None:
    parent = job("p1", has_children=True)
    child = job("c1", parent_id="p1")
    assert parse("has:children").matches(parent, NOW)
    assert not parse("has:children").matches(child, NOW)
    assert parse("has:parent").matches(child, NOW)
    assert parse("-has:children").matches(child, NOW)
    assert parse("has:kids").problems


def test_the_queue_view_finds_children_and_parents_in_sql(store: JobStore) -> None:
    parent = store.add_job(FLUX, {"prompt": "a fox"})
    store.update(parent.local_id, remote_id="feed-0001")
    child = store.add_job(FLUX, {"prompt": "a fox"}, parent_id=parent.local_id)
    other = store.add_job(FLUX, {"prompt": "an owl"})

    def found(text: str) -> list[str]:
        model = QueueModel(store, now=lambda: NOW, view=QueueView(parse(text)))
        return [row.local_id for row in model.window(0, 100)]  # type: ignore[union-attr]

    assert found("has:children") == [parent.local_id]
    assert found(f"parent:{parent.local_id[:6]}") == [child.local_id]
    assert found("parent:feed") == [child.local_id]
    assert found("-has:children -has:parent") == [other.local_id]


def test_lineage_filters_do_not_wait_for_enter_on_a_long_history() -> None:
    from krea_tui.core.queue_sql import reads_every_job

    for text in ("has:children", "has:parent", "parent:ab12", "has:children status:done"):
        assert not reads_every_job(parse(text), indexed=True), text
    for text in ("-has:children", "-parent:ab12"):
        assert reads_every_job(parse(text), indexed=True), text


def test_has_parent_reads_the_parent_index(store: JobStore) -> None:
    from krea_tui.core import queue_sql

    sql = queue_sql.where(parse("has:parent"), NOW, indexed=True)
    plan = " ".join(
        str(row)
        for row in store.scan(f"EXPLAIN QUERY PLAN SELECT rowid FROM jobs WHERE {sql.text}")
    )
    assert "jobs_parent" in plan


def test_a_parent_gaining_its_first_child_enters_a_has_children_view(
    engine: JobEngine, catalog: Catalog
) -> None:
    from krea_tui.core.events import JobEvent

    parent = engine.store.add_job(FLUX, {"prompt": "a"})
    engine.store.set_status(parent.local_id, "completed", NOW)
    model = QueueModel(engine.store, now=lambda: NOW, view=QueueView(parse("has:children")))
    assert model.row_count() == 0
    subscription = engine.subscribe()
    requeue(engine, catalog, [engine.store.get(parent.local_id)], new_seed=False)
    events = []
    while not subscription.queue.empty():
        events.append(subscription.queue.get_nowait())
    told = [e for e in events if isinstance(e, JobEvent) and e.job.local_id == parent.local_id]
    assert len(told) == 1 and told[0].old == told[0].new == "completed"
    assert told[0].before is not None and not told[0].before.has_children
    model.apply(events)
    assert [row.local_id for row in model.window(0, 10)] == [parent.local_id]  # type: ignore[union-attr]
    # A second child tells nothing new about the parent.
    requeue(engine, catalog, [engine.store.get(parent.local_id)], new_seed=False)
    later = []
    while not subscription.queue.empty():
        later.append(subscription.queue.get_nowait())
    assert not [e for e in later if isinstance(e, JobEvent) and e.job.local_id == parent.local_id]


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("parent:old1", 0),
        ("has:children", 0),
        ("has:parent", 0),
        ("-has:parent", 1),
        ("rating:>=4", 0),
        ("is:pick", 0),
        ("-is:reject", 1),
    ],
)
def test_lineage_and_rating_filters_on_a_read_only_history_from_before_them(
    tmp_path: Path, text: str, shown: int
) -> None:
    # On main these raised sqlite3.OperationalError (no such column: parent_id / rating).
    from krea_tui.core.clock import utcnow
    from krea_tui.core.export import chosen
    from krea_tui.core.gallery_model import GalleryModel
    from krea_tui.core.query import parse
    from krea_tui.core.queue_model import QueueModel

    path = old_history(tmp_path, 6)
    store = JobStore(path, readonly=True)
    model = QueueModel(store)
    model.set_filter(text)
    assert model.shown_count() == shown
    assert len(chosen(store, parse(text), utcnow())) in (0, shown)  # saved results only
    assert len(GalleryModel(store, parse(text))) == 0  # no saved result either way
    store.close()
