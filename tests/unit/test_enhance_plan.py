"""Planning enhance jobs: target sizes within each upscaler's limits, bodies, prices."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.enhance import (
    DEFAULT_ENHANCER,
    EnhanceError,
    Picture,
    local_size,
    pictures_of,
    plan_enhance,
    sized,
    target_size,
)
from krea_tui.core.pictures import MAX_PICTURE_PIXELS
from krea_tui.core.store import StoredJob

CATALOG = bundled_catalog()


def a_job(
    urls: tuple[str, ...], files: tuple[str, ...] = (), status: str = "completed"
) -> StoredJob:
    return StoredJob(
        local_id="local-1",
        model="bfl/flux-1-dev",
        request={"prompt": "a lighthouse"},
        status=status,
        position=1.0,
        created_at=datetime(2026, 4, 1, tzinfo=UTC),
        remote_id="remote-1",
        urls=urls,
        files=files,
    )


def test_target_size_scales_and_stays_within_the_model_and_the_app() -> None:
    assert target_size(1024, 768, 2, 22000) == ((2048, 1536), None)
    assert target_size(1000, 1000, 1.5, None) == ((1500, 1500), None)
    # Bloom's 10000 px side: 4 × 4000 does not fit, so the largest size of that shape that does.
    size, note = target_size(4000, 2000, 4, 10000)
    assert size == (10000, 5000)
    assert note == "4× would be 16000×8000: made 10000×5000, the most this model makes"
    # No more pixels than the app decodes anywhere (pictures.MAX_PICTURE_PIXELS).
    size, note = target_size(6000, 6000, 2, 22000)
    assert size == (8192, 8192) and size[0] * size[1] <= MAX_PICTURE_PIXELS
    assert note == "2× would be 12000×12000: made 8192×8192, the most krea-tui can show"
    with pytest.raises(EnhanceError, match="scale"):
        target_size(1024, 1024, 0.5, None)
    with pytest.raises(EnhanceError, match="scale"):
        target_size(1024, 1024, 40, None)


def test_plan_gives_one_valid_body_per_picture_and_the_total_price() -> None:
    pictures = [
        (Picture("http://127.0.0.1:1/results/a/0.png", parent="local-a"), (1024, 1024)),
        (Picture("http://127.0.0.1:1/results/b/0.png", parent="local-b"), (832, 1216)),
    ]
    plan = plan_enhance(CATALOG, "topaz/standard-enhance", 2, pictures)
    assert plan.model.path == DEFAULT_ENHANCER == "enhance/topaz/standard-enhance"
    bodies = [item.body for item in plan.items]
    assert [(b["width"], b["height"]) for b in bodies] == [(2048, 2048), (1664, 2432)]
    assert [b["image_url"] for b in bodies] == [p.url for p, _ in pictures]
    assert all(b["model"] == "Standard V2" for b in bodies)  # the required choice, first one
    assert all(CATALOG.validate(plan.model.path, b) == [] for b in bodies)
    assert plan.cost_text(CATALOG) == "est. 2 × $0.10 = $0.200"
    assert [item.picture.parent for item in plan.items] == ["local-a", "local-b"]
    order = plan.order()
    assert order.model == "enhance/topaz/standard-enhance"
    assert list(order.bodies) == bodies


def test_plan_takes_extra_fields_but_never_loses_the_source_or_size() -> None:
    pictures = [(Picture("http://127.0.0.1:1/x.png"), (512, 512))]
    plan = plan_enhance(
        CATALOG,
        "bloom-enhance",
        4,
        pictures,
        extra={"output_format": "png", "width": 7, "image_url": "http://elsewhere/"},
    )
    body = plan.items[0].body
    assert body == {
        "image_url": "http://127.0.0.1:1/x.png",
        "width": 2048,
        "height": 2048,
        "model": "Reimagine",
        "output_format": "png",
    }
    with pytest.raises(EnhanceError, match="output_format"):
        plan_enhance(CATALOG, "bloom-enhance", 2, pictures, extra={"output_format": "gif"})
    with pytest.raises(EnhanceError, match="not an upscaler"):
        plan_enhance(CATALOG, "bfl/flux-1-dev", 2, pictures)
    with pytest.raises(EnhanceError, match="unknown model"):
        plan_enhance(CATALOG, "topaz/nothing", 2, pictures)
    with pytest.raises(EnhanceError, match="no picture"):
        plan_enhance(CATALOG, DEFAULT_ENHANCER, 2, [])


def test_pictures_of_a_job_are_its_results_with_their_saved_files(tmp_path: Path) -> None:
    job = a_job(("http://h/0.png", "http://h/1.png"), files=("/a.png", "/b.png"))
    assert pictures_of(job) == [
        Picture("http://h/0.png", parent="local-1", file=Path("/a.png")),
        Picture("http://h/1.png", parent="local-1", file=Path("/b.png")),
    ]
    # Files that do not line up with the URLs are not guessed at.
    assert (
        pictures_of(a_job(("http://h/0.png", "http://h/1.png"), files=("/a.png",)))[0].file is None
    )
    with pytest.raises(EnhanceError, match="processing"):
        pictures_of(a_job((), status="processing"))
    with pytest.raises(EnhanceError, match="no result"):
        pictures_of(a_job(()))


def test_local_size_reads_only_the_header(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    Image.new("RGB", (640, 480)).save(path)
    assert local_size(Picture("http://h/p.png", file=path)) == (640, 480)
    assert local_size(Picture("http://h/p.png", file=tmp_path / "gone.png")) is None
    assert local_size(Picture("http://h/p.png")) is None


async def test_sized_reads_saved_copies_and_fetches_the_rest(tmp_path: Path) -> None:
    import io

    saved = tmp_path / "saved.png"
    Image.new("RGB", (300, 200)).save(saved)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48)).save(buffer, "JPEG")
    fetched: list[str] = []

    async def fetch(url: str) -> bytes:
        fetched.append(url)
        return buffer.getvalue() if url.endswith(".jpg") else b"<html>nope</html>"

    pictures = [Picture("http://h/a.png", file=saved), Picture("http://h/b.jpg")]
    assert [size for _, size in await sized(pictures, fetch)] == [(300, 200), (64, 48)]
    assert fetched == ["http://h/b.jpg"]  # the saved copy was not fetched
    with pytest.raises(EnhanceError, match="http://h/page"):
        await sized([Picture("http://h/page")], fetch)


def test_the_summary_names_each_picture_by_its_job_and_stays_short() -> None:
    # On main each line was the picture's whole result URL, forty lines for forty pictures.
    catalog = CATALOG
    pictures = [
        (Picture(f"http://127.0.0.1:1/results/{n}/0.png", parent=f"{n:02d}" + "a" * 30), (512, 512))
        for n in range(40)
    ]
    pictures.append(
        (Picture("http://127.0.0.1:1/results/0/1.png", parent="00" + "a" * 30), (512, 512))
    )
    pictures.append((Picture("http://elsewhere/upload.png"), (256, 256)))
    summary = plan_enhance(catalog, DEFAULT_ENHANCER, 2, pictures).summary(catalog)
    lines = summary.splitlines()
    assert "http" not in "\n".join(lines[1:3])
    assert lines[1].startswith("  00aaaaaa #1: 512×512 → 1024×1024")
    assert len(lines) <= 12 and "… and 35 more" in summary
    assert "est. 42 × $" in lines[-1]
    few = plan_enhance(catalog, DEFAULT_ENHANCER, 2, [pictures[0], pictures[40], pictures[41]])
    text = few.summary(catalog)
    assert "00aaaaaa #1:" in text and "00aaaaaa #2:" in text and "upload.png:" in text
