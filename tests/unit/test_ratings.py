"""Ratings and picks: kept in the history (schema 7), written so other processes see them,
asked for in the filter language, redrawn in the queue model, carried in saved files'
metadata."""

from __future__ import annotations

import io
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from krea_tui.core import ratings
from krea_tui.core.metadata import copy_with_metadata, read_png_texts, request_from_png
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_sql import reads_every_job
from krea_tui.core.queue_view import QueueView
from krea_tui.core.schema import MIGRATIONS
from krea_tui.core.store import JobStore, StoredJob

FLUX = "bfl/flux-1-dev"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path: Path):  # type: ignore[no-untyped-def]
    opened = JobStore(tmp_path / "history.sqlite3")
    yield opened
    opened.close()


def job(n: int = 0, **changes: Any) -> StoredJob:
    values: dict[str, Any] = {
        "local_id": f"{n:032x}",
        "model": FLUX,
        "request": {"prompt": f"a fox {n}", "seed": n},
        "status": "completed",
        "position": float(n),
        "created_at": NOW - timedelta(minutes=n),
    }
    values.update(changes)
    return StoredJob(**values)


def done(store: JobStore, n: int) -> StoredJob:
    made = store.add_job(FLUX, {"prompt": f"a fox {n}", "seed": n})
    store.set_status(made.local_id, "completed", NOW)
    return store.get(made.local_id)


def test_migration_7_adds_rating_and_pick_with_partial_indexes(store: JobStore) -> None:
    assert MIGRATIONS[6], "migration 7 is the ratings'"
    db = store._db
    columns = {row[1]: row[2] for row in db.execute("PRAGMA table_info(jobs)")}
    assert columns["rating"] == "INTEGER" and columns["pick"] == "INTEGER"
    indexes = {row[1] for row in db.execute("PRAGMA index_list(jobs)")}
    assert {"jobs_rating", "jobs_pick"} <= indexes
    plan = " ".join(
        str(row[3])
        for row in db.execute("EXPLAIN QUERY PLAN SELECT local_id FROM jobs WHERE pick = 1")
    )
    assert "jobs_pick" in plan


def test_an_older_history_is_read_without_ratings(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path, isolation_level=None)
    for steps in MIGRATIONS[:6]:
        for step in steps:
            if isinstance(step, str):
                old.execute(step)
            else:
                step(old)
    old.execute("PRAGMA user_version=6")
    old.execute(
        "INSERT INTO jobs (local_id, model, request, position, status, created_at)"
        " VALUES ('a', 'm', '{}', 1, 'completed', '2026-11-23T12:00:00.000+00:00')"
    )
    old.close()
    readonly = JobStore(path, readonly=True)
    try:
        read = readonly.get("a")
        assert read.rating is None and read.pick is None
    finally:
        readonly.close()
    migrated = JobStore(path)
    try:
        assert migrated.get("a").rating is None
        ratings.rate(migrated, ["a"], 4)
        assert migrated.get("a").rating == 4
    finally:
        migrated.close()


def test_rating_and_picking_write_a_revision_other_processes_follow(
    store: JobStore, tmp_path: Path
) -> None:
    one, two = done(store, 1), done(store, 2)
    other = JobStore(tmp_path / "history.sqlite3")
    other.me = "4242:1:0therpr0"  # what another process's store calls itself
    try:
        since = other.current_rev()
        changed = ratings.rate(store, [one.local_id, two.local_id], 5)
        assert [(b.rating, a.rating) for b, a in changed] == [(None, 5), (None, 5)]
        assert store.get(one.local_id).rating == 5
        ratings.set_pick(store, [one.local_id], ratings.PICK)
        ratings.set_pick(store, [two.local_id], ratings.REJECT)
        seen = {job.local_id: job for job in other.changes_since(since).jobs}
        assert seen[one.local_id].rating == 5 and seen[one.local_id].pick == 1
        assert seen[two.local_id].pick == -1
    finally:
        other.close()


def test_out_of_range_ratings_are_refused(store: JobStore) -> None:
    one = done(store, 1)
    with pytest.raises(ValueError):
        ratings.rate(store, [one.local_id], 6)
    with pytest.raises(ValueError):
        ratings.set_pick(store, [one.local_id], 2)


def test_the_same_key_again_takes_it_back() -> None:
    rated = [job(1, rating=3), job(2, rating=3)]
    assert ratings.toggled_rating(rated, 3) is None
    assert ratings.toggled_rating([*rated, job(3)], 3) == 3
    assert ratings.toggled_rating(rated, 0) == 0
    picked = [job(1, pick=1)]
    assert ratings.toggled_pick(picked, ratings.PICK) is None
    assert ratings.toggled_pick(picked, ratings.REJECT) == ratings.REJECT


def test_labels() -> None:
    assert ratings.label(job(1)) == ""
    assert ratings.label(job(1, rating=3)) == "★★★"
    assert ratings.label(job(1, rating=0)) == "☆"
    assert ratings.label(job(1, rating=5, pick=1)) == "✔★★★★★"
    assert ratings.label(job(1, pick=-1)) == "✘"


@pytest.mark.parametrize(
    ("text", "matching"),
    [
        ("rating:>=4", {4, 5}),
        ("rating:3", {3}),
        ("rating:<2", {0, 1}),
        ("rating:4,0", {0, 4}),
        ("-rating:<2", {2, 3, 4, 5, None}),
        ("rating:none", {None}),
        ("is:rated", {0, 1, 2, 3, 4, 5}),
        ("is:unrated", {None}),
    ],
)
def test_rating_filters(text: str, matching: set[int | None]) -> None:
    jobs = [job(n, rating=r) for n, r in enumerate([None, 0, 1, 2, 3, 4, 5])]
    query = parse(text)
    assert not query.problems
    assert {j.rating for j in jobs if query.matches(j, NOW)} == matching


def test_pick_filters() -> None:
    jobs = {"pick": job(1, pick=1), "reject": job(2, pick=-1), "none": job(3)}
    for text, want in [
        ("is:pick", {"pick"}),
        ("is:reject", {"reject"}),
        ("-is:reject", {"pick", "none"}),
        ("is:pick,reject", {"pick", "reject"}),
    ]:
        assert {k for k, j in jobs.items() if parse(text).matches(j, NOW)} == want, text


def test_unreadable_rating_tokens_are_problems() -> None:
    assert parse("rating:x").problems
    assert parse("rating:>=").problems
    assert parse("is:great").problems


def test_rating_and_pick_filters_go_through_indexes(store: JobStore) -> None:
    for text in ("rating:>=4", "is:pick", "is:reject", "rating:3", "is:rated"):
        assert not reads_every_job(parse(text), indexed=True), text
    assert reads_every_job(parse("-is:reject"), indexed=True)
    assert reads_every_job(parse("rating:none"), indexed=True)


def test_the_model_redraws_a_rated_row_and_lets_it_leave_a_filter_on_ratings(
    store: JobStore,
) -> None:
    one, two = done(store, 1), done(store, 2)
    model = QueueModel(store, now=lambda: NOW, view=QueueView(parse("-is:reject")))
    assert model.shown_count() == 2
    changed = ratings.rate(store, [one.local_id], 4)
    changes = model.apply(ratings.events(changed))
    assert "rating" in changes.cells[one.local_id]
    rejected = ratings.set_pick(store, [two.local_id], ratings.REJECT)
    changes = model.apply(ratings.events(rejected))
    assert changes.left == {two.local_id}
    assert model.shown_count() == 1
    back = ratings.set_pick(store, [two.local_id], None)
    changes = model.apply(ratings.events(back))
    assert changes.entered == {two.local_id}


def test_sidecars_carry_the_rating_without_rewriting_the_picture(
    store: JobStore, tmp_path: Path
) -> None:
    one = done(store, 1)
    picture = tmp_path / "out" / "a.png"
    picture.parent.mkdir()
    picture.write_bytes(b"picture bytes")
    sidecar = picture.with_name("a.png.json")
    sidecar.write_text(json.dumps({"model": FLUX, "request": {"seed": 1}}))
    store.add_file(one.local_id, 0, "https://x/a.png", picture)
    ratings.rate(store, [one.local_id], 5)
    ratings.set_pick(store, [one.local_id], ratings.PICK)
    assert ratings.write_sidecars([store.get(one.local_id)]) == 1
    document = json.loads(sidecar.read_text())
    assert document["rating"] == 5 and document["pick"] == "pick"
    assert document["request"] == {"seed": 1}
    assert picture.read_bytes() == b"picture bytes"


def _png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(out, "PNG")
    return out.getvalue()


def test_a_copy_with_new_metadata_replaces_the_old_chunks() -> None:
    first = io.BytesIO()
    copy_with_metadata(io.BytesIO(_png()), first, FLUX, {"seed": 1}, job_id="j")
    again = io.BytesIO()
    copy_with_metadata(
        io.BytesIO(first.getvalue()), again, FLUX, {"seed": 1}, job_id="j", rating=4, pick="pick"
    )
    data = again.getvalue()
    assert data.count(b"krea-tui\x00") == 1
    document = request_from_png(data)
    assert document is not None and document["rating"] == 4 and document["pick"] == "pick"
    assert "parameters" in read_png_texts(data)
    from PIL import Image

    assert Image.open(io.BytesIO(data)).size == (4, 4)


def test_a_rejection_made_by_another_process_takes_the_row_out_of_the_view(
    store: JobStore, tmp_path: Path
) -> None:
    from krea_tui.core.events import JobEvent

    one, two = done(store, 1), done(store, 2)
    model = QueueModel(store, now=lambda: NOW, view=QueueView(parse("-is:reject")))
    assert model.shown_count() == 2
    other = JobStore(tmp_path / "history.sqlite3")
    other.me = "4242:1:0therpr0"
    try:
        ratings.set_pick(other, [two.local_id], ratings.REJECT)
    finally:
        other.close()
    since = store.changes_since(0)
    # What the engine publishes for another process's change (JobEngine's follower).
    changes = model.apply([JobEvent(job, None, job.status) for job in since.jobs])
    assert changes.left == {two.local_id} and model.shown_count() == 1
    assert one.local_id not in changes.left
