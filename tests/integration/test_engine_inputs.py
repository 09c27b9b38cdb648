"""Local files as inputs through the engine, against the simulator over loopback: each file is
uploaded once however many jobs use it, held jobs keep the path, a deleted asset is uploaded
again, a bad file fails its job naming the file, and Zero Data Retention sends data: URIs."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from krea_tui.core.asset_types import Asset
from krea_tui.core.assets import Uploader, absolute_inputs, notices
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.events import NoticeEvent
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A
from tests.integration.engine_support import Harness, running_engine

KONTEXT = "bfl/flux-1-kontext-dev"


def png(path: Path, colour: str = "green") -> Path:
    out = io.BytesIO()
    Image.new("RGB", (6, 4), colour).save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def use_uploads(h: Harness, **options: bool) -> Uploader:
    uploader = Uploader(
        h.client,
        h.store,
        catalog=bundled_catalog(),
        on_progress=notices(h.engine.publish),
        **options,
    )
    h.engine.submitter.inputs = uploader
    return uploader


def sim_requests(sim: RunningSim, h: Harness, local_ids: list[str]) -> list[dict[str, object]]:
    bodies = []
    for local_id in local_ids:
        remote_id = h.job(local_id).remote_id
        assert remote_id is not None
        found = sim.state.job_request(remote_id)
        assert found is not None
        bodies.append(found[0].params)
    return bodies


def uploads(sim: RunningSim) -> list[str]:
    items, _ = sim.sim.assets.page(TOKEN_A, limit=1000, cursor_us=None)
    return [a.id for a in items]


async def test_one_upload_for_many_jobs_and_the_path_is_kept(
    sim: RunningSim, tmp_path: Path
) -> None:
    photo = png(tmp_path / "photo.png")
    model = bundled_catalog().get(KONTEXT)
    body = absolute_inputs(model, {"prompt": "at night", "image_url": "photo.png"}, cwd=tmp_path)
    async with running_engine(sim, tmp_path) as h:
        use_uploads(h)
        jobs = h.engine.enqueue(KONTEXT, [dict(body, seed=n) for n in range(4)])
        ids = [j.local_id for j in jobs]
        await h.wait_settled(ids)
        assert {h.job(i).status for i in ids} == {"completed"}
        assert len(uploads(sim)) == 1
        sent = sim_requests(sim, h, ids)
        assert len({b["image_url"] for b in sent}) == 1
        url = str(sent[0]["image_url"])
        assert url.startswith(sim.base_url + "/uploads/")
        # The history keeps the path the user gave (absolute), not the URL.
        assert h.job(ids[0]).request["image_url"] == str(photo)
        said = [e.message for e in h.log.events if isinstance(e, NoticeEvent)]
        assert said == ["uploading photo.png (0.0 MB)…", "uploaded photo.png (0.0 MB)"]
        # ...and remembers which asset the file became.
        assert h.store.uploads_by_asset(sim.base_url)[uploads(sim)[0]].url == url


async def test_a_deleted_asset_is_uploaded_again(sim: RunningSim, tmp_path: Path) -> None:
    photo = png(tmp_path / "photo.png")
    async with running_engine(sim, tmp_path) as h:
        use_uploads(h)
        first = h.engine.enqueue(KONTEXT, [{"prompt": "one", "image_url": str(photo)}])
        await h.wait_settled([first[0].local_id])
        (asset_id,) = uploads(sim)
        await h.client.delete_asset(asset_id)
        use_uploads(h)  # a later process: it has not seen the asset lately
        second = h.engine.enqueue(KONTEXT, [{"prompt": "two", "image_url": str(photo)}])
        await h.wait_settled([second[0].local_id])
        assert h.job(second[0].local_id).status == "completed"
        assert len(uploads(sim)) == 1 and uploads(sim)[0] != asset_id


async def test_a_bad_file_fails_its_job_naming_the_file(sim: RunningSim, tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a picture")
    async with running_engine(sim, tmp_path) as h:
        use_uploads(h)
        jobs = h.engine.enqueue(
            KONTEXT,
            [
                {"prompt": "x", "image_url": str(tmp_path / "gone.png")},
                {"prompt": "y", "image_url": str(notes)},
            ],
        )
        ids = [j.local_id for j in jobs]
        await h.wait_settled(ids)
        gone, text = (h.job(i) for i in ids)
        assert gone.status == "failed" and "gone.png" in (gone.error_message or "")
        assert text.status == "failed" and "notes.txt" in (text.error_message or "")
        assert uploads(sim) == []
        assert sim.state.list(TOKEN_A, limit=10)[0] == []  # nothing was POSTed


async def test_zero_data_retention_sends_data_uris(sim: RunningSim, tmp_path: Path) -> None:
    photo = png(tmp_path / "photo.png")
    async with running_engine(sim, tmp_path) as h:
        h.client.zero_data_retention = True
        use_uploads(h, zero_data_retention=True)
        jobs = h.engine.enqueue(KONTEXT, [{"prompt": "x", "image_url": str(photo)}])
        await h.wait_settled([jobs[0].local_id])
        assert h.job(jobs[0].local_id).status == "completed"
        (sent,) = sim_requests(sim, h, [jobs[0].local_id])
        assert str(sent["image_url"]).startswith("data:image/png;base64,")
        assert uploads(sim) == []


async def test_client_asset_calls(sim: RunningSim, tmp_path: Path) -> None:
    async with running_engine(sim, tmp_path, start=False) as h:
        data = png(tmp_path / "p.png").read_bytes()
        seen: list[tuple[int, int]] = []
        made = [
            await h.client.upload_asset(
                data, f"p{n}.png", mime_type="image/png", progress=lambda a, b: seen.append((a, b))
            )
            for n in range(3)
        ]
        assert all(isinstance(a, Asset) for a in made)
        assert seen[-1] == (len(data), len(data))
        page, cursor = await h.client.list_assets(limit=2)
        assert [a.id for a in page] == [made[2].id, made[1].id] and cursor
        rest, end = await h.client.list_assets(limit=2, cursor=cursor)
        assert [a.id for a in rest] == [made[0].id] and end is None
        got = await h.client.get_asset(made[0].id)
        assert got.url == made[0].url and got.width == 6 and got.height == 4
        await h.client.delete_asset(made[0].id)
        assert len(uploads(sim)) == 2


async def test_zero_data_retention_inlines_a_result_used_as_input(
    sim: RunningSim, tmp_path: Path
) -> None:
    async with running_engine(sim, tmp_path) as h:
        use_uploads(h)
        (first,) = h.engine.enqueue(KONTEXT, [{"prompt": "a harbour"}])
        await h.wait_settled([first.local_id])
        result_url = h.job(first.local_id).urls[0]
        h.client.zero_data_retention = True
        use_uploads(h, zero_data_retention=True)
        (second,) = h.engine.enqueue(KONTEXT, [{"prompt": "at night", "image_url": result_url}])
        await h.wait_settled([second.local_id])
        assert h.job(second.local_id).status == "completed", h.job(second.local_id).error_message
        (sent,) = sim_requests(sim, h, [second.local_id])
        assert str(sent["image_url"]).startswith("data:image/png;base64,")
        assert h.job(second.local_id).request["image_url"] == result_url  # kept as given


async def test_quitting_during_an_upload_leaves_the_job_held_not_unknown(
    sim: RunningSim, tmp_path: Path
) -> None:
    """The upload happens before the job is claimed: a POST never started, so a quit (or a
    crash) mid-upload must not turn the job into one that may exist on the server."""
    import asyncio

    from krea_tui.core.submit import Order

    photo = png(tmp_path / "photo.png")
    started = asyncio.Event()
    async with running_engine(sim, tmp_path) as h:
        use_uploads(h)
        upload = h.client.upload_asset

        async def slow_upload(*args: object, **kwargs: object) -> Asset:
            started.set()
            await asyncio.sleep(30)  # cut off by the stop below
            return await upload(*args, **kwargs)  # type: ignore[arg-type]

        h.client.upload_asset = slow_upload  # type: ignore[method-assign]
        (job,) = h.engine.submit(
            bundled_catalog(), [Order(KONTEXT, [{"prompt": "p", "image_url": str(photo)}])]
        )
        await asyncio.wait_for(started.wait(), 10)
        assert h.job(job.local_id).status == "held"  # not claimed while its files go up
    async with running_engine(sim, tmp_path, start=False) as again:
        await again.engine.start()
        assert again.job(job.local_id).status != "unknown"
