"""A job of the simulator: its request, its planned phases, and how it looks at any moment.

Pure data and pure functions of time; SimState (state.py) owns the queues and the clock.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

STATUSES: tuple[str, ...] = (
    "backlogged",
    "queued",
    "scheduled",
    "processing",
    "sampling",
    "intermediate-complete",
    "completed",
    "failed",
    "cancelled",
)
PHASES: tuple[str, ...] = STATUSES[1:6]
TERMINAL: frozenset[str] = frozenset({"completed", "failed", "cancelled"})
CANCELLABLE: frozenset[str] = frozenset({"queued", "processing"})  # reference §3.3
LORA_TRAINING = "loraTraining"  # the job type of POST /styles/train (reference §2.1, §3.6)
# Share of a job's duration spent in each phase; sampling is where the GPU time goes.
PHASE_SHARE: tuple[float, ...] = (0.08, 0.07, 0.25, 0.35, 0.25)

FAILURES: dict[str, tuple[int, str]] = {
    # code -> (index of the phase the job dies at the end of, message)
    "provider_error": (PHASES.index("processing"), "The model provider returned an error."),
    "content_moderation": (
        PHASES.index("sampling"),
        "The output was blocked by content moderation.",
    ),
    "timeout": (PHASES.index("processing"), "The job exceeded its time limit and was stopped."),
}
SYSTEM_CANCEL_MESSAGE = "The job was cancelled by the system."
TIMEOUT_STRETCH = 3.0


@dataclass
class JobRequest:
    """What a generate call asked for, already validated and sized."""

    model: str
    job_type: str
    params: dict[str, Any]
    prompt: str
    seed: int
    width: int
    height: int
    seconds: float  # nominal duration at speed 1
    price_usd: float
    webhook_url: str | None = None
    base_url: str = "http://127.0.0.1"
    result_name: str = "0.png"  # an enhance job's is "0.<output_format>"


@dataclass
class Outcome:
    status: str  # completed | failed | cancelled
    last_phase: int  # index into PHASES: the job ends at the end of this phase
    code: str | None = None
    message: str | None = None


@dataclass
class SimJob:
    job_id: str
    token: str
    request: JobRequest
    created: float
    created_ms: int  # unique per token, so cursor paging never skips a job
    durations: tuple[float, ...]
    outcome: Outcome
    start: float | None = None
    was_backlogged: bool = False
    terminal_status: str | None = None
    terminal_at: float | None = None
    cancelled_by_user: bool = False
    # Varied life cycle: a phase planned to last 0 s is skipped (not shown in the timeline).
    skip_empty: bool = False

    @property
    def end(self) -> float:
        """Planned terminal time; only meaningful once started."""
        assert self.start is not None
        return self.start + sum(self.durations[: self.outcome.last_phase + 1])

    def phase_start(self, index: int) -> float:
        assert self.start is not None
        return self.start + sum(self.durations[:index])

    def status_at(self, now: float) -> str:
        if (
            self.terminal_status is not None
            and self.terminal_at is not None
            and now >= self.terminal_at
        ):
            return self.terminal_status
        if self.start is None or now < self.start:
            return "backlogged"
        for index in range(self.outcome.last_phase, -1, -1):
            if now >= self.phase_start(index):
                return PHASES[index]
        return PHASES[0]

    def transitions(self, now: float) -> list[tuple[str, float]]:
        """(status, time) of every transition up to `now`: the exact timeline."""
        out: list[tuple[str, float]] = []
        if self.was_backlogged:
            out.append(("backlogged", self.created))
        if self.start is not None:
            for index in range(self.outcome.last_phase + 1):
                at = self.phase_start(index)
                if at > now or (
                    index > 0 and self.terminal_at is not None and at >= self.terminal_at
                ):
                    break
                if self.skip_empty and self.durations[index] <= 0:
                    continue
                out.append((PHASES[index], at))
        if self.terminal_status is not None and self.terminal_at is not None:
            out.append((self.terminal_status, self.terminal_at))
        return out

    def to_json(self, now: float, *, previews: bool = True) -> dict[str, Any]:
        """The job as the API shows it at `now`."""
        status = self.status_at(now)
        body: dict[str, Any] = {
            "job_id": self.job_id,
            "status": status,
            "type": self.request.job_type,
            "created_at": iso_ms(self.created_ms),
            "completed_at": None,
            "result": None,
        }
        base = f"{self.request.base_url}/results/{self.job_id}"
        if status in TERMINAL:
            assert self.terminal_at is not None
            body["completed_at"] = iso_seconds(max(self.terminal_at, self.created_ms / 1000))
        if status == "completed":
            body["result"] = {"urls": [f"{base}/{self.request.result_name}"]}
            if self.request.job_type == LORA_TRAINING:
                body["result"]["style_id"] = trained_style_id(self.job_id)
        elif status == "failed":
            body["result"] = {"error": self.outcome.message}
            body["error"] = {"code": self.outcome.code, "message": self.outcome.message}
        elif status == "cancelled":
            body["result"] = {} if self.cancelled_by_user else {"error": self.outcome.message}
        elif status == "intermediate-complete" and previews:
            body["result"] = {"urls": [f"{base}/preview.png"]}
        elif status not in ("backlogged", "queued"):
            # Both pending shapes are documented (OAS `null`, a real response `{}`); serve both.
            body["result"] = {}
        return body


def trained_style_id(job_id: str) -> str:
    """The style a completed `loraTraining` job made: derived from the job, so a durable
    simulator's trained styles come back with its jobs."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"krea-sim:style:{job_id}"))


def iso_ms(epoch_ms: int) -> str:
    """ISO 8601 with milliseconds and Z, as in the documented examples."""
    moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{epoch_ms % 1000:03d}Z"


def iso_seconds(epoch: float) -> str:
    return iso_ms(math.floor(epoch * 1000))


LIMIT_PROBLEM = "limit must be an integer between 1 and 1000."


def page_limit(query: Mapping[str, str], default: int = 100) -> int | None:
    """A listing's `limit` (1-1000, `default` when not given); None when it is not one."""
    if "limit" not in query:
        return default
    try:
        limit = int(query["limit"])
    except ValueError:
        return None
    return limit if 1 <= limit <= 1000 else None


def parse_cursor(text: str) -> int:
    """ISO 8601 date-time -> epoch microseconds; ValueError when it is not one."""
    moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
