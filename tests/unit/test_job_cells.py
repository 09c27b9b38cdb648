"""What the queue table's cells say for jobs with no prompt of their own."""

from __future__ import annotations

from datetime import UTC, datetime

from krea_tui.core.store import StoredJob
from krea_tui.tui.widgets.job_cells import CELLS

T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def prompt_cell(job: StoredJob) -> str:
    return str(CELLS["prompt"](job, T0, set()))


def test_an_enhance_job_says_what_it_enhances_instead_of_a_blank_prompt() -> None:
    # On main its Prompt cell was empty: a table of upscales gave no way to tell them apart.
    job = StoredJob(
        local_id="e" * 32,
        model="enhance/topaz/standard-enhance",
        request={"image_url": "http://h/0.png", "width": 2048, "height": 2048},
        status="completed",
        position=1.0,
        created_at=T0,
        parent_id="3f2a91c0" + "0" * 24,
    )
    assert prompt_cell(job) == "enhance 2048×2048 of 3f2a91c0"


def test_a_prompt_is_shown_as_it_is() -> None:
    job = StoredJob(
        local_id="a" * 32,
        model="bfl/flux-1-dev",
        request={"prompt": "a fox\nin snow"},
        status="held",
        position=1.0,
        created_at=T0,
    )
    assert prompt_cell(job) == "a fox in snow"
