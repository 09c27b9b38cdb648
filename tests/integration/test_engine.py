"""The job engine against the simulator over loopback: lifecycle, events, downloads, the local
queue (pause, reorder, edit) and cancelling."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from krea_tui.core.api import KreaClient
from krea_tui.core.status import skipped_between
from krea_tui.core.store import utcnow
from tests.conftest import TOKEN_A, SimFactory
from tests.integration.engine_support import (
    FLUX,
    check_event_chains,
    check_saved_files,
    requests_for,
    running_engine,
    sim_jobs,
    sim_prompt,
)

# Phase durations (queued, scheduled, processing, sampling, intermediate-complete) in seconds.
LONG_QUEUED = [30.0, 0.0, 0.0, 0.0, 0.0]
LONG_PROCESSING = [0.0, 0.0, 30.0, 0.0, 0.0]
LONG_SCHEDULED = [0.0, 30.0, 0.0, 0.0, 0.0]


async def test_jobs_walk_to_completed_with_ordered_events_and_saved_files(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(speed=100, concurrency=4)
    async with running_engine(sim, tmp_path) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(12))
        ids = [job.local_id for job in jobs]
        assert all(job.status == "held" for job in jobs)
        await h.wait_settled(ids)

        check_event_chains(h.log, ids)
        remote_ids = set()
        for local_id in ids:
            job = h.job(local_id)
            assert job.status == "completed"
            assert job.remote_id is not None
            remote_ids.add(job.remote_id)
            assert sim.state.get(sim.token, job.remote_id)["status"] == "completed"
            assert sim_prompt(sim, job.remote_id) == job.prompt
            check_saved_files(job, h.output_dir)
            # The store's timeline and the events tell the same story.
            seen = [e.status for e in h.store.timeline(local_id) if not e.skipped]
            assert seen == [e.new for e in h.log.job_events(local_id)]
            assert seen[:2] == ["held", "submitting"]
        assert len(remote_ids) == len(ids)
        assert len(sim_jobs(sim)) == len(ids)  # each sent exactly once

        stats = h.engine.request_stats()
        assert stats["jobs"] == len(ids)
        assert stats["requests"] == h.client.requests_sent
        # One POST and one download each, plus list polls shared by every job.
        assert stats["requests_per_job"] < 4, h.client.request_counts
        assert h.client.request_counts["GET /jobs/{id}"] == 0  # the list covered every job
        assert all(h.job(i).requests == 1 for i in ids)


async def test_states_jumped_between_two_looks_are_recorded_as_skipped(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    # queued for a while, then straight through scheduled/processing/sampling (zero length).
    sim.state.force_outcomes([{"durations": [0.4, 0.0, 0.0, 0.0, 0.4]}])
    async with running_engine(sim, tmp_path) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.wait_settled([job.local_id])
        done = h.job(job.local_id)
        timeline = h.store.timeline(job.local_id)

    truth = [entry["status"] for entry in sim.timeline(done.remote_id)["timeline"]]
    assert truth[0] == "queued" and truth[-1] == "completed"
    seen = [e.status for e in timeline if not e.skipped]
    skipped = [e.status for e in timeline if e.skipped]
    assert seen[:3] == ["held", "submitting", "queued"]
    assert seen[-1] == "completed"
    # Zero-length phases cannot have been seen; they are recorded, flagged, never invented.
    assert {"scheduled", "processing", "sampling"} <= set(skipped)
    assert set(seen[2:]) | set(skipped) <= set(truth)
    # Each skipped entry sits right before the state that revealed it, in lifecycle order.
    events = [e for e in h.log.job_events(job.local_id) if e.skipped]
    assert events
    for event in events:
        assert event.skipped == skipped_between(event.old, event.new)
    entries = [(e.status, e.skipped) for e in timeline]
    for event in events:
        start = entries.index((event.skipped[0], True))
        run = entries[start : start + len(event.skipped) + 1]
        assert run == [*((s, True) for s in event.skipped), (event.new, False)]


async def test_failed_and_system_cancelled_jobs_end_as_the_server_says(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    sim.state.force_outcomes(
        [{"status": "failed", "code": "content_moderation"}, {"status": "cancelled", "phase": 1}]
    )
    async with running_engine(sim, tmp_path, max_posts=1) as h:
        failed, cancelled = h.engine.enqueue(FLUX, requests_for(2))
        await h.wait_settled([failed.local_id, cancelled.local_id])
        failed, cancelled = h.job(failed.local_id), h.job(cancelled.local_id)
    assert failed.status == "failed"
    assert failed.error_code == "content_moderation"
    assert "moderation" in (failed.error_message or "")
    assert cancelled.status == "cancelled"
    assert "system" in (cancelled.error_message or "")
    assert failed.files == () and cancelled.files == ()
    assert failed.finished_at is not None and cancelled.finished_at is not None


async def test_pause_holds_jobs_locally_and_resume_sends_them(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        h.engine.pause("taking a break")
        assert h.engine.paused and h.engine.pause_reason == "taking a break"
        jobs = h.engine.enqueue(FLUX, requests_for(3))
        # Absence can only be checked over a span: give the submitter ample time to misbehave.
        await asyncio.sleep(0.3)
        assert [h.job(j.local_id).status for j in jobs] == ["held"] * 3
        assert h.client.request_counts["POST /generate"] == 0
        assert sim_jobs(sim) == []

        h.engine.resume()
        await h.wait_settled([j.local_id for j in jobs])
        assert [(e.paused, e.reason) for e in h.log.queue_events()] == [
            (True, "taking a break"),
            (False, None),
        ]
        assert all(h.job(j.local_id).status == "completed" for j in jobs)


async def test_move_held_changes_the_order_jobs_are_sent_in(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path, max_posts=1) as h:
        h.engine.pause()
        a, b, c, d = h.engine.enqueue(FLUX, requests_for(4))
        assert h.engine.move_held(d.local_id, -2)  # a b c d -> a d b c
        assert h.engine.move_held(a.local_id, 10)  # clamped to the end: d b c a
        assert not h.engine.move_held(a.local_id, 1)  # already last
        h.engine.resume()
        await h.wait_settled([j.local_id for j in (a, b, c, d)])
        assert not h.engine.move_held(a.local_id, -1)  # no longer held
    sent = [job["job_id"] for job in sim_jobs(sim)]
    assert [sim_prompt(sim, remote) for remote in sent] == [
        "job 3",
        "job 1",
        "job 2",
        "job 0",
    ]


async def test_edit_held_changes_what_is_sent_and_only_while_held(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        h.engine.pause()
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        edited = {"prompt": "a blue car", "seed": 5, "steps": 12}
        assert h.engine.edit_held(job.local_id, edited)
        h.engine.resume()
        await h.wait_settled([job.local_id])
        done = h.job(job.local_id)
        assert dict(done.request) == edited
        assert sim_prompt(sim, done.remote_id) == "a blue car"
        check_saved_files(done, h.output_dir)  # the file carries the edited request
        assert not h.engine.edit_held(job.local_id, {"prompt": "too late"})
        assert dict(h.job(job.local_id).request) == edited


async def test_editing_a_held_job_prices_it_again(make_sim: SimFactory, tmp_path: Path) -> None:
    """The spend limits add up the stored estimates: an edit that makes the job dearer (a
    character reference on Ideogram costs 2.5x) must change its estimate too."""
    from krea_tui.core.catalog import bundled_catalog
    from krea_tui.core.submit import Order

    catalog = bundled_catalog()
    ideogram = "ideogram/ideogram-3"
    plain: dict[str, object] = {"prompt": "a poster"}
    dearer = {**plain, "character_reference_images": ["https://x.test/face.png"]}
    assert catalog.cost_with_unit(ideogram, dearer)[0] != catalog.cost_with_unit(ideogram, plain)[0]
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        h.engine.pause()
        (job,) = h.engine.submit(catalog, [Order(ideogram, [plain])])
        assert h.engine.edit_held(job.local_id, dearer, catalog)
        edited = h.job(job.local_id)
        assert (edited.cost_estimate, edited.cost_unit) == catalog.cost_with_unit(ideogram, dearer)


async def test_cancel_held_job_is_local_and_sends_nothing(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        h.engine.pause()
        keep, drop = h.engine.enqueue(FLUX, requests_for(2))
        result = await h.engine.cancel(drop.local_id)
        assert result.ok and "never sent" in result.message
        assert h.job(drop.local_id).status == "cancelled"
        h.engine.resume()
        await h.wait_settled([keep.local_id])
        assert h.job(drop.local_id).status == "cancelled"
        assert h.job(drop.local_id).remote_id is None
    assert [sim_prompt(sim, j["job_id"]) for j in sim_jobs(sim)] == ["job 0"]


async def test_cancel_queued_and_processing_jobs_on_the_server(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    sim.state.force_outcomes([{"durations": LONG_QUEUED}, {"durations": LONG_PROCESSING}])
    async with running_engine(sim, tmp_path, max_posts=1) as h:
        queued, processing = h.engine.enqueue(FLUX, requests_for(2))
        await h.wait_status(queued.local_id, ["queued"])
        await h.wait_status(processing.local_id, ["processing"])
        for job in (queued, processing):
            result = await h.engine.cancel(job.local_id)
            assert result.ok, result.message
            done = h.job(job.local_id)
            assert done.status == "cancelled"
            assert sim.state.get(sim.token, done.remote_id)["status"] == "cancelled"
            await h.log.wait_for(lambda job=job: h.log.saw(job.local_id, "cancelled"))
            assert h.log.job_events(job.local_id)[-1].new == "cancelled"
        assert h.client.request_counts["DELETE /jobs/{id}"] == 2


async def test_cancel_is_refused_clearly_when_it_cannot_happen(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    sim.state.force_outcomes([{"durations": [0.0] * 5}, {"durations": LONG_SCHEDULED}])
    async with running_engine(sim, tmp_path, max_posts=1) as h:
        finished, scheduled = h.engine.enqueue(FLUX, requests_for(2))
        await h.wait_settled([finished.local_id])
        await h.wait_status(scheduled.local_id, ["scheduled"])

        result = await h.engine.cancel(finished.local_id)
        assert not result.ok
        assert "already completed" in result.message
        assert h.job(finished.local_id).status == "completed"

        result = await h.engine.cancel(scheduled.local_id)
        assert not result.ok
        assert "refused" in result.message and "scheduled" in result.message
        assert h.job(scheduled.local_id).status == "scheduled"
        assert sim.state.get(sim.token, h.job(scheduled.local_id).remote_id)["status"] == (
            "scheduled"
        )
        # Asked the server once (the scheduled job); the finished one needed no request.
        assert h.client.request_counts["DELETE /jobs/{id}"] == 1


async def test_no_more_jobs_than_max_in_flight_run_on_the_server_at_once(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(speed=100, concurrency=8, backlog=16)
    async with running_engine(sim, tmp_path, max_in_flight=2) as h:
        jobs = h.engine.enqueue(FLUX, requests_for(8))
        await h.wait_settled([j.local_id for j in jobs])
    # From the simulator's own clock: +1 when a job was created, -1 when it ended.
    changes = []
    for job in sim_jobs(sim):
        timeline = sim.timeline(job["job_id"])["timeline"]
        changes += [(timeline[0]["t"], 1), (timeline[-1]["t"], -1)]
    running = peak = 0
    for _, change in sorted(changes, key=lambda c: (c[0], c[1])):
        running += change
        peak = max(peak, running)
    assert peak == 2


async def test_the_list_is_paged_back_to_cover_older_jobs(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim(speed=1, concurrency=500, backlog=500)
    sim.state.force_outcomes([{"durations": [2.0, 0.0, 0.0, 0.0, 0.0]}])
    async with running_engine(sim, tmp_path) as h:
        (ours,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.wait_status(ours.local_id, ["queued"])
        # 150 newer jobs of the same account (another client) push ours off the first page.
        async with KreaClient(TOKEN_A, base_url=sim.base_url) as other:
            for index in range(150):
                await other.generate(FLUX, {"prompt": f"other {index}"})
        await h.wait_settled([ours.local_id], timeout=10)
        assert h.client.request_counts["GET /jobs/{id}"] == 0


async def test_a_job_the_server_no_longer_knows_is_looked_up_once_and_marked_unknown(
    make_sim: SimFactory, tmp_path: Path
) -> None:
    sim = make_sim()
    async with running_engine(sim, tmp_path) as h:
        (ghost,) = h.engine.enqueue(FLUX, requests_for(1, "ghost"))
        # As if it had been sent from a history whose job the server has since forgotten.
        h.store.set_status(ghost.local_id, "queued", utcnow(), remote_id="no-such-job")
        (real,) = h.engine.enqueue(FLUX, requests_for(1, "real"))
        await h.wait_settled([real.local_id])
        await h.wait_status(ghost.local_id, ["unknown"])
        assert "no longer knows" in (h.job(ghost.local_id).error_message or "")
        assert h.client.request_counts["GET /jobs/{id}"] == 1


async def test_in_progress_preview_is_fetched_then_replaced_by_the_result(
    make_sim, tmp_path: Path
) -> None:
    from krea_tui.core.events import PreviewEvent
    from krea_tui.sim.jobs import PHASES

    sim = make_sim(speed=1.0)
    # Long enough in intermediate-complete for a 0.05 s watcher to see it and fetch the preview.
    durations = [0.05 if phase != "intermediate-complete" else 1.0 for phase in PHASES]
    sim.state.force_outcomes([{"status": "completed", "durations": durations}])
    previews = tmp_path / "previews"
    async with running_engine(sim, tmp_path, preview_dir=previews) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1, "preview"))
        await h.log.wait_for(
            lambda: any(isinstance(e, PreviewEvent) for e in h.log.events), what="a preview"
        )
        event = next(e for e in h.log.events if isinstance(e, PreviewEvent))
        assert event.path == previews / f"{job.local_id}.png"
        assert event.path.read_bytes().startswith(b"\x89PNG")
        await h.wait_settled([job.local_id])
        await h.engine.downloads.wait_idle()
        assert h.store.get(job.local_id).files
        assert not event.path.exists()  # the saved result replaced it


async def test_jobs_made_elsewhere_with_the_same_token_are_imported_and_tracked(
    make_sim, tmp_path: Path
) -> None:
    sim = make_sim()
    async with KreaClient(TOKEN_A, base_url=sim.base_url) as other_machine:
        made = [await other_machine.generate(FLUX, {"prompt": f"elsewhere {i}"}) for i in range(3)]
    async with running_engine(sim, tmp_path) as h:
        imported = await h.engine.import_remote()
        assert {j.remote_id for j in imported} == {job.job_id for job in made}
        assert await h.engine.import_remote() == []  # a second import adds nothing
        ids = [j.local_id for j in imported]
        await h.wait_settled(ids)
        await h.engine.downloads.wait_idle()
        for local_id in ids:
            job = h.store.get(local_id)
            assert job.status == "completed" and job.files
            assert job.model.startswith("imported:")


async def test_the_log_tells_what_happened_to_each_job(
    make_sim: SimFactory, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="krea_tui")
    sim = make_sim(speed=100, concurrency=4)
    async with running_engine(sim, tmp_path) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        await h.wait_settled([job.local_id])
        await h.engine.downloads.wait_idle()
        h.engine.pause()
        done = h.job(job.local_id)
    text = caplog.text
    assert f"job {done.remote_id} sent to {FLUX}" in text
    assert f"job {done.remote_id} completed" in text
    assert f"job {done.remote_id} result 0 saved as {done.files[0]}" in text
    assert "queue paused: by the user" in text
