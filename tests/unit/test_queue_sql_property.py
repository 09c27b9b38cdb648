"""The queue model's SQL view is the Python view: for random histories and random queries,
every sort and grouping, the rows and their order equal filtering the whole history with
`Query.matches` and ordering it with `job_order.ordered` / `grouped` (the reference, which the
table used before the model), with the word index and without it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from krea_tui.core.job_order import SORT_CYCLE, grouped, ordered
from krea_tui.core.query import parse
from krea_tui.core.queue_model import QueueModel
from krea_tui.core.queue_view import GroupHeader, QueueView
from krea_tui.core.store import JobStore, StoredJob

NOW = datetime(2026, 11, 23, 12, 0, 0, 123456, tzinfo=UTC)
# Letters where Python's lowercase and SQLite's part ways (İ, the Kelvin sign, final sigma),
# LIKE's wildcards, a few that stay as they are, and plain ASCII.
ODD = ["İ", "\u212a", "ß", "Σ", "ς", "é", "É", "ﬁ", "Ⅻ", "ǅ", "🦊", "%", "_", "\n", "ü"]
ALPHABET = st.sampled_from([*"abcfoxFOXKkIi 0123456789-/.#:", *ODD])
TEXT = st.text(ALPHABET, max_size=24)
STATUSES = [
    "held", "submitting", "unknown", "backlogged", "queued", "processing", "sampling",
    "intermediate-complete", "completed", "failed", "cancelled", "?held", "?",
]  # fmt: skip
MODELS = ["bfl/flux-1-dev", "Ideogram/İkon-3", "google/imagen-4", "\u212aelvin/Ultra"]
ZONES = [UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
JSON_VALUE = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), TEXT, st.just(""), st.just(0)
)


@st.composite
def moments(draw: st.DrawFn) -> datetime:
    seconds = draw(st.integers(-3 * 86400, 3600))
    millis = draw(st.integers(0, 999))
    zone = draw(st.sampled_from(ZONES))
    return (NOW + timedelta(seconds=seconds, milliseconds=millis)).astimezone(zone)


@st.composite
def requests(draw: st.DrawFn) -> dict[str, Any]:
    out: dict[str, Any] = {}
    prompt = draw(st.one_of(TEXT, TEXT, TEXT, st.integers(-99, 99), st.booleans(), st.none()))
    if draw(st.integers(0, 9)):  # an imported job has no prompt at all
        out["prompt"] = prompt
    for key, values in (
        ("seed", st.one_of(st.integers(-5, 2**60), st.floats(-1e6, 1e6), JSON_VALUE)),
        ("width", st.one_of(st.integers(0, 2048), st.booleans(), TEXT)),
        ("height", st.one_of(st.integers(0, 2048), st.booleans())),
        ("aspect_ratio", JSON_VALUE),
        ("resolution", JSON_VALUE),
    ):
        if draw(st.booleans()):
            out[key] = draw(values)
    return out


@st.composite
def histories(draw: st.DrawFn) -> list[dict[str, Any]]:
    jobs = []
    for n in range(draw(st.integers(0, 18))):
        optional = st.one_of(st.none(), moments())
        jobs.append(
            {
                "local_id": draw(st.sampled_from(["", "İ", "K"])) + f"{n:02d}{draw(TEXT)}",
                "model": draw(st.sampled_from(MODELS)),
                "request": draw(requests()),
                "status": draw(st.sampled_from(STATUSES)),
                "preset": draw(st.one_of(st.none(), st.just(""), TEXT)),
                "batch_id": draw(st.one_of(st.none(), st.just(""), st.sampled_from("abc"))),
                "remote_id": draw(st.one_of(st.none(), st.just(""), TEXT)),
                "created_at": draw(moments()),
                "submitted_at": draw(optional),
                "remote_created_at": draw(optional),
                "finished_at": draw(optional),
                "position": draw(st.one_of(st.none(), st.floats(-1e3, 1e3))),
                # Lineage: another job of the history (or itself), one removed since, or none.
                "parent": draw(st.one_of(st.none(), st.integers(0, 17), TEXT)),
                # Ratings and picks (schema 7): mostly unjudged, as in a real history.
                "rating": draw(st.one_of(st.none(), st.none(), st.integers(0, 5))),
                "pick": draw(st.sampled_from([None, None, 1, -1])),
            }
        )
    for job in jobs:
        parent = job.pop("parent")
        if isinstance(parent, int):
            parent = jobs[parent]["local_id"] if parent < len(jobs) else None
        job["parent_id"] = parent
    return jobs


def words_of(history: list[dict[str, Any]]) -> list[str]:
    """Pieces of the history's own text: what a user types to find something."""
    texts = [str(job["request"].get("prompt", "")) for job in history]
    texts += [job["model"] for job in history] + [job["local_id"] for job in history]
    texts += [job["remote_id"] or "" for job in history]
    return [w for text in texts for w in text.split() if w]


@st.composite
def queries(draw: st.DrawFn, history: list[dict[str, Any]]) -> str:
    known = words_of(history)
    terms: list[str] = []
    for _ in range(draw(st.integers(0, 3))):
        from_history: bool = bool(known) and draw(st.booleans())
        word: str = draw(st.sampled_from(known)) if from_history else draw(TEXT)
        if word and draw(st.booleans()):
            start = draw(st.integers(0, len(word) - 1))
            word = word[start : start + draw(st.integers(1, 5))]
        pieces = draw(st.sampled_from([word, word.upper(), word.lower()])).split()
        kinds = ["word"] * 3 + ["status", "model", "preset", "batch", "id", "parent", "has"]
        kinds += ["rating", "is"]
        kind = draw(st.sampled_from(kinds))
        if kind == "word":
            term = "".join(pieces) or "fox"
        elif kind == "status":
            names = ["done", "active", "failed", "ended", "local", "held", "?held", "ACTIVE", "x"]
            term = "status:" + ",".join(draw(st.lists(st.sampled_from(names), max_size=2)))
        elif kind == "parent":
            # A prefix of an id the history holds (parents are found by prefix), or anything.
            ids = [j["local_id"] for j in history] + [j["remote_id"] or "" for j in history]
            some = draw(st.sampled_from(ids)) if ids and draw(st.booleans()) else word
            some = some[: draw(st.integers(0, len(some)))] if some else some
            term = "parent:" + ",".join([some, *draw(st.lists(TEXT, max_size=1))])
        elif kind == "rating":
            ops = ["", "=", "<", "<=", ">", ">=", "=>", "x"]
            values = [
                draw(st.sampled_from(ops)) + str(draw(st.integers(-1, 6)))
                for _ in range(draw(st.integers(1, 2)))
            ]
            term = "rating:" + ",".join([*values, *draw(st.lists(st.just("none"), max_size=1))])
        elif kind == "is":
            names = ["pick", "reject", "rated", "unrated", "PICK", "great"]
            term = "is:" + ",".join(draw(st.lists(st.sampled_from(names), max_size=2)))
        elif kind == "has":
            names = ["children", "parent", "CHILDREN", "kids"]
            term = "has:" + ",".join(draw(st.lists(st.sampled_from(names), max_size=2)))
        else:
            term = f"{kind}:" + "".join(pieces)
        if draw(st.integers(0, 5)) == 0:
            term = draw(st.sampled_from(["age:<2h", "age:>1d", "age:<90", "age:>30s", "age:x"]))
        terms.append(("-" if draw(st.integers(0, 3)) == 0 else "") + term)
    return " ".join(terms)


@pytest.fixture(scope="module")
def stores() -> Iterator[dict[str, JobStore]]:
    opened: dict[str, JobStore] = {}
    yield opened
    for store in opened.values():
        store.close()


def fill(store: JobStore, history: list[dict[str, Any]]) -> None:
    store.remove([job.local_id for job in store.jobs()])
    empty_remote = False  # remote ids are unique, the empty one too
    for job in history:
        made = store.add_job(
            job["model"], job["request"], local_id=job["local_id"], parent_id=job["parent_id"]
        )
        changes = {k: job[k] for k in ("status", "preset", "batch_id", "remote_id", "created_at")}
        for key in ("submitted_at", "remote_created_at", "finished_at", "position"):
            if job[key] is not None:
                changes[key] = job[key]
        # Remote ids are unique in the history: a drawn duplicate is made unique.
        if changes["remote_id"]:
            changes["remote_id"] += f"#{made.local_id}"
        elif changes["remote_id"] == "":
            changes["remote_id"] = None if empty_remote else ""
            empty_remote = True
        changes.update(rating=job["rating"], pick=job["pick"])
        store.update(made.local_id, **changes)


def expected(jobs: list[StoredJob], view: QueueView) -> list[str]:
    chosen = [job for job in jobs if view.query.matches(job, NOW)]
    rows = ordered(chosen, NOW, sort=view.sort, reverse=view.reverse)
    if not view.group:
        return [job.local_id for job in rows]
    return [
        item
        for group in grouped(rows)
        for item in [f"header:{group.batch_id}", *(job.local_id for job in group.jobs)]
    ]


def shown(rows: list[GroupHeader | StoredJob]) -> list[str]:
    return [f"header:{r.batch_id}" if isinstance(r, GroupHeader) else r.local_id for r in rows]


@settings(max_examples=150)
@given(data=st.data(), history=histories())
def test_the_sql_view_is_the_python_view(
    stores: dict[str, JobStore], data: st.DataObject, history: list[dict[str, Any]]
) -> None:
    store = stores.setdefault("store", JobStore(":memory:"))
    fill(store, history)
    # Positions are the queue's order: drawn ones may tie with the ones add_job gave.
    jobs = store.jobs()
    positions = [job.position for job in jobs]
    if len(set(positions)) != len(positions):
        for index, job in enumerate(jobs):
            store.update(job.local_id, position=float(index) * 0.5 - 3)
        jobs = store.jobs()
    for _ in range(6):
        text = data.draw(queries(history), label="query")
        view = QueueView(
            parse(text),
            sort=data.draw(st.sampled_from([*SORT_CYCLE, "nonsense"]), label="sort"),
            reverse=data.draw(st.booleans(), label="reverse"),
            group=data.draw(st.booleans(), label="group"),
        )
        want = expected(jobs, view)
        for indexed in (True, False):
            store.has_word_index = indexed
            model = QueueModel(store, now=lambda: NOW, view=view)
            assert model.row_count() == len(want), (text, indexed)
            assert shown(model.window(0, len(want) + 5)) == want, (text, view, indexed)
            if want:
                start = data.draw(st.integers(0, len(want) - 1), label="offset")
                size = data.draw(st.integers(1, 7), label="limit")
                assert shown(model.window(start, size)) == want[start : start + size]
                job_rows = [i for i in want if not i.startswith("header:")]
                if job_rows:
                    some = data.draw(st.sampled_from(job_rows), label="job")
                    assert model.index_of(some) == want.index(some)
        store.has_word_index = True
