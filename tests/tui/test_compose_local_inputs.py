"""A local file typed into an image field of the compose form: a missing one is named under
the field; a real one is accepted, kept as its absolute path in the job, and uploaded by the
engine when the job is sent (demo service over loopback)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image
from textual.widgets import Input

from tests.tui.conftest import until
from tests.tui.test_compose_form_reading import compose_form, show_model, words


def png(path: Path) -> Path:
    out = io.BytesIO()
    Image.new("RGB", (6, 4), "orange").save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


async def test_a_local_file_in_an_image_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    photo = png(tmp_path / "photo.png")
    monkeypatch.chdir(tmp_path)
    async with compose_form(tmp_path, monkeypatch, (100, 30)) as (app, pilot, form):
        await show_model(pilot, form, "bfl/flux-1-kontext-dev")
        form.query_one("#prompt").load_text("the same at night")  # type: ignore[attr-defined]
        field = form.query_one("#field-image_url", Input)
        field.focus()
        await pilot.press(".", "/", "p", "h")
        await until(pilot, lambda: "./photo.png" in words(field), "the path offered")
        await pilot.press("right")  # takes the suggestion
        assert field.value == "./photo.png"
        field.value = "./missing.png"
        problem = form.query_one("#problem-image_url")
        await until(pilot, lambda: problem.display, "the problem under the field")
        assert "missing.png" in words(problem) and "no such file" in words(problem)
        field.value = "./photo.png"
        await until(pilot, lambda: not problem.display, "the problem gone")
        bodies, problems = form.requests()
        assert problems == []
        assert bodies[0]["image_url"] == str(photo)
        await pilot.press("ctrl+s")
        runtime = app.runtime
        assert runtime is not None

        def done() -> bool:
            jobs = runtime.store.jobs()
            return bool(jobs) and jobs[0].status == "completed"

        await until(pilot, done, "the job completed")
        (job,) = runtime.store.jobs()
        assert job.request["image_url"] == str(photo)
        assert runtime.store.uploads_by_asset(runtime.client.base_url)
