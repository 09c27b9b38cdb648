"""One way to send jobs: every front end (compose form, sweep, bulk re-run, `submit`, `batch`)
goes through `JobEngine.submit`, which prices each job, chooses the batch id and queues them."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from krea_tui.core.batch import SweepAxis, new_batch_id, sweep_batch_id, swept_names
from krea_tui.core.bulk import requeue
from krea_tui.core.catalog import Catalog, bundled_catalog
from krea_tui.core.engine import EngineConfig, JobEngine
from krea_tui.core.events import JobEvent
from krea_tui.core.store import JobStore
from krea_tui.core.submit import Order

FLUX = "bfl/flux-1-dev"
KREA2 = "krea/krea-2/medium"  # costs more with style references: a price that varies per job
STYLE = {"image_style_references": [{"url": "https://example.com/a.png", "strength": 1}]}
T0 = datetime(2026, 11, 23, 12, 0, 0, tzinfo=UTC)
# What the queue table reads back as a batch's time (tui/widgets/job_cells.py).
BATCH_ID = re.compile(r"^b\d{8}-\d{6}-[0-9a-f]+$")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return bundled_catalog()


@pytest.fixture
def engine(tmp_path: Path) -> JobEngine:
    store = JobStore(tmp_path / "history.sqlite3")
    return JobEngine(None, store, EngineConfig(tmp_path / "out", auto_download=False))  # type: ignore[arg-type]


def test_one_job_is_no_batch_and_several_share_a_new_one(
    engine: JobEngine, catalog: Catalog
) -> None:
    (alone,) = engine.submit(catalog, [Order(FLUX, [{"prompt": "a"}])])
    assert alone.batch_id is None
    several = engine.submit(catalog, [Order(FLUX, [{"prompt": "b", "seed": n} for n in range(3)])])
    (batch,) = {job.batch_id for job in several}
    assert batch is not None and BATCH_ID.match(batch)
    again = engine.submit(catalog, [Order(FLUX, [{"prompt": "c"}] * 2)], now=T0)
    assert again[0].batch_id != batch and again[0].batch_id.startswith("b20261123-120000-")


def test_each_job_keeps_its_own_price_in_the_order_given(
    engine: JobEngine, catalog: Catalog
) -> None:
    bodies = [{"prompt": "p"}, {"prompt": "p", **STYLE}, {"prompt": "p"}]
    jobs = engine.submit(catalog, [Order(KREA2, bodies, preset="style")])
    assert [job.cost_estimate for job in jobs] == [0.03, 0.035, 0.03]
    assert {job.cost_unit for job in jobs} == {"USD"}
    assert [job.local_id for job in engine.store.jobs()][-3:] == [j.local_id for j in jobs]
    assert {job.preset for job in jobs} == {"style"}


def test_several_models_go_out_as_one_batch(engine: JobEngine, catalog: Catalog) -> None:
    jobs = engine.submit(
        catalog, [Order(FLUX, [{"prompt": "a"}]), Order("google/imagen-4", [{"prompt": "b"}])]
    )
    assert [job.model for job in jobs] == [FLUX, "google/imagen-4"]
    assert [job.cost_estimate for job in jobs] == [0.007, 0.042]
    assert len({job.batch_id for job in jobs}) == 1 and jobs[0].batch_id


def test_a_sweep_keeps_the_batch_id_that_names_its_parameters(
    engine: JobEngine, catalog: Catalog
) -> None:
    batch = sweep_batch_id([SweepAxis("steps", (10, 20))], T0)
    (job,) = engine.submit(catalog, [Order(FLUX, [{"prompt": "a", "steps": 10}])], batch_id=batch)
    assert job.batch_id == batch and swept_names(job.batch_id) == ("steps",)


def test_every_job_is_announced_once_it_is_stored(engine: JobEngine, catalog: Catalog) -> None:
    subscription = engine.subscribe()
    jobs = engine.submit(catalog, [Order(FLUX, [{"prompt": "a"}] * 3)])
    events = [subscription.get_nowait() for _ in jobs]
    assert [e.job.local_id for e in events if isinstance(e, JobEvent)] == [j.local_id for j in jobs]
    assert all(engine.store.get(j.local_id).status == "held" for j in jobs)


def test_nothing_to_send_queues_nothing(engine: JobEngine, catalog: Catalog) -> None:
    assert engine.submit(catalog, [Order(FLUX, [])]) == []
    assert engine.store.jobs() == []


def test_two_batches_started_in_the_same_second_differ() -> None:
    ids = {new_batch_id(now=T0) for _ in range(50)}
    assert len(ids) == 50
    assert all(BATCH_ID.match(batch) for batch in ids)
    sweeps = {sweep_batch_id([SweepAxis("steps", (1,))], T0) for _ in range(50)}
    assert len(sweeps) == 50


def test_a_rerun_of_jobs_with_different_prices_prices_each(
    engine: JobEngine, catalog: Catalog
) -> None:
    old = engine.submit(catalog, [Order(KREA2, [{"prompt": "p"}, {"prompt": "p", **STYLE}])])
    imported = engine.store.add_job(FLUX, {})
    queued, skipped = requeue(engine, catalog, [*old, imported], new_seed=False)
    assert skipped == 1
    assert [job.cost_estimate for job in queued] == [0.03, 0.035]
    assert len({job.batch_id for job in queued} | {old[0].batch_id}) == 2  # a batch of its own
