"""Job parsing must accept every shape the API has used, and never lose a job over a surprise."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.models import (
    CANCELLABLE_STATUSES,
    TERMINAL_STATUSES,
    Job,
    JobStatus,
    parse_urls,
)

CREATED = {
    "job_id": "757a315b-b3ed-457b-b1ba-cff5e140cfd4",
    "status": "processing",
    "type": "externalImage",
    "created_at": "2026-02-13T02:20:58.265Z",
    "completed_at": None,
}


def test_documented_status_sets() -> None:
    assert {s.value for s in TERMINAL_STATUSES} == {"completed", "failed", "cancelled"}
    assert {s.value for s in CANCELLABLE_STATUSES} == {"queued", "processing"}
    assert JobStatus("intermediate-complete").is_terminal is False


@pytest.mark.parametrize("result", [None, {}, {"urls": []}])
def test_pending_job_with_any_empty_result(result: object) -> None:
    job = Job.from_api({**CREATED, "result": result})
    assert job.status is JobStatus.PROCESSING
    assert job.urls == ()
    assert job.created_at == datetime(2026, 2, 13, 2, 20, 58, 265000, tzinfo=UTC)
    assert job.completed_at is None
    assert job.type == "externalImage"
    assert not job.is_terminal
    assert job.is_cancellable


@pytest.mark.parametrize(
    "urls",
    [
        ["https://gen.krea.ai/images/a.png", "https://gen.krea.ai/images/b.png"],
        [
            {"type": "preview", "url": "https://gen.krea.ai/images/a.png"},
            {"type": "model", "url": "https://gen.krea.ai/images/b.png"},
        ],
        {"first": "https://gen.krea.ai/images/a.png", "second": "https://gen.krea.ai/images/b.png"},
    ],
    ids=["strings", "objects", "map"],
)
def test_completed_job_urls_in_every_shape(urls: object) -> None:
    job = Job.from_api(
        {
            **CREATED,
            "status": "completed",
            "completed_at": "2026-02-13T02:21:05Z",
            "result": {"urls": urls},
        }
    )
    assert job.urls == ("https://gen.krea.ai/images/a.png", "https://gen.krea.ai/images/b.png")
    assert job.is_terminal
    assert job.completed_at is not None


def test_failure_reason_in_result_error() -> None:
    job = Job.from_api({**CREATED, "status": "failed", "result": {"error": "NSFW content"}})
    assert job.status is JobStatus.FAILED
    assert job.error_message == "NSFW content"
    assert job.error_code is None


def test_failure_reason_in_top_level_error_object() -> None:
    job = Job.from_api(
        {
            **CREATED,
            "status": "failed",
            "result": None,
            "error": {"code": "content_moderation", "message": "The prompt was flagged."},
        }
    )
    assert job.error_code == "content_moderation"
    assert job.error_message == "The prompt was flagged."


def test_unknown_status_and_extra_fields_are_kept() -> None:
    job = Job.from_api({**CREATED, "status": "warming-up", "cost_usd": 0.01, "result": {}})
    # The server's own word, marked as one we do not know (never a local status; see status.py).
    assert job.status == "?warming-up"
    assert job.status_text == "?warming-up"
    assert not job.is_terminal and not job.is_cancellable
    assert job.raw["cost_usd"] == 0.01


def test_lora_training_style_id() -> None:
    job = Job.from_api(
        {
            **CREATED,
            "status": "completed",
            "type": "loraTraining",
            "result": {"urls": [], "style_id": "pgozm164j"},
        }
    )
    assert job.style_id == "pgozm164j"


def test_missing_job_id_is_an_error() -> None:
    with pytest.raises(ValueError, match="job_id"):
        Job.from_api({"status": "queued"})
    with pytest.raises(ValueError):
        Job.from_api(["not", "a", "job"])


def test_unreadable_times_become_none() -> None:
    job = Job.from_api({**CREATED, "created_at": "yesterday", "completed_at": 12})
    assert job.created_at is None and job.completed_at is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(
    status=json_values,
    result=json_values,
    error=json_values,
    created=json_values,
    extra=st.dictionaries(st.text(), json_values, max_size=3),
)
def test_any_shape_with_a_job_id_parses(
    status: object, result: object, error: object, created: object, extra: dict
) -> None:
    data = {
        **extra,
        "job_id": "abc",
        "status": status,
        "result": result,
        "error": error,
        "created_at": created,
    }
    job = Job.from_api(data)
    assert job.job_id == "abc"
    assert all(isinstance(u, str) and u for u in job.urls)
    assert isinstance(job.status_text, str)


def test_parse_urls_skips_junk() -> None:
    assert parse_urls([None, 3, "", {"url": ""}, {"url": "u"}]) == ("u",)
    assert parse_urls(None) == ()
