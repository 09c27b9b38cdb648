"""Settings of one simulator instance: what the CLI flags, the test fixtures and demo mode set."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

PaymentMode = Literal["ok", "exhausted", "plan"]
PAYMENT_MODES: tuple[str, ...] = ("ok", "exhausted", "plan")

# Endpoint groups that faults can hit. Admin paths are never faulted: tests need a reliable way
# to switch faults off again.
FAULT_GROUPS: tuple[str, ...] = ("generate", "jobs", "results", "openapi")


@dataclass
class RetiredModel:
    """A model that answers 410 with the documented sunset body (reference §8)."""

    path: str
    sunset_date: str = "2026-05-13"
    replacement: str | None = None
    migration_url: str | None = None
    message: str | None = None

    def body(self) -> dict[str, Any]:
        text = self.message or (
            f"The model {self.path} was retired on {self.sunset_date}."
            + (f" Use {self.replacement} instead." if self.replacement else "")
        )
        out: dict[str, Any] = {
            "error": "model_unavailable",
            "reason": "deprecated",
            "message": text,
            "sunset_date": self.sunset_date,
        }
        # The docs only include these two keys when a replacement exists.
        if self.replacement:
            out["replacement"] = self.replacement
            out["migration_url"] = self.migration_url or (
                "https://docs.krea.ai/developers/deprecations#" + self.path.replace("/", "-")
            )
        return out


def default_retired() -> dict[str, RetiredModel]:
    """The documented sunset of Seedream 3 (reference §7.1, §8), present unless configured away."""
    seedream = RetiredModel(
        path="bytedance/seedream-3",
        sunset_date="2026-05-13",
        replacement="image/bytedance/seedream-5-lite",
        migration_url="https://docs.krea.ai/developers/deprecations#seedream-3",
        message=(
            "Seedream 3 was retired on 2026-05-13. Use image/bytedance/seedream-5-lite instead."
        ),
    )
    return {seedream.path: seedream}


@dataclass
class FaultConfig:
    """Injected misbehaviour. Rates are probabilities per request, drawn from a seeded RNG."""

    error_rate: float = 0.0  # answer 500/502/503 instead of handling the request
    drop_rate: float = 0.0  # close the connection without any answer, request not handled
    drop_after_create_rate: float = 0.0  # POST /generate: create the job, then lose the answer
    slow_rate: float = 0.0  # delay the answer by slow_seconds
    slow_seconds: float = 2.0
    # Slow answers come late *after* the request was handled (a POST's job exists meanwhile),
    # instead of before it: a client stopped or killed while waiting has created its job.
    slow_after_handling: bool = False
    burst_429: int = 0  # the next N requests get 429 with Retry-After
    groups: tuple[str, ...] = ("generate", "jobs")  # endpoint groups the faults apply to

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a partial update from the admin endpoint; raises ValueError on bad input."""
        for key, value in changes.items():
            if key in ("error_rate", "drop_rate", "drop_after_create_rate", "slow_rate"):
                rate = float(value)
                if not 0.0 <= rate <= 1.0:
                    raise ValueError(f"{key} must be between 0 and 1")
                setattr(self, key, rate)
            elif key == "slow_seconds":
                seconds = float(value)
                if seconds < 0:
                    raise ValueError("slow_seconds must be >= 0")
                self.slow_seconds = seconds
            elif key == "slow_after_handling":
                self.slow_after_handling = bool(value)
            elif key == "burst_429":
                count = int(value)
                if count < 0:
                    raise ValueError("burst_429 must be >= 0")
                self.burst_429 = count
            elif key == "groups":
                groups = tuple(str(g) for g in value)
                unknown = [g for g in groups if g not in FAULT_GROUPS]
                if unknown:
                    raise ValueError(f"unknown fault groups: {', '.join(unknown)}")
                self.groups = groups
            else:
                raise ValueError(f"unknown fault setting: {key}")

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["groups"] = list(self.groups)
        return out


@dataclass
class SimConfig:
    """Everything that shapes one simulator run. Defaults give a well-behaved, real-time server."""

    host: str = "127.0.0.1"
    port: int = 8787
    # Accepted bearer tokens; each token is its own user. Empty: one is generated on start.
    tokens: list[str] = field(default_factory=list)
    speed: float = 1.0  # divides every job duration
    concurrency: int = 4  # running jobs per token; more are backlogged
    backlog: int = 16  # backlogged jobs per token; more get 429
    fail_rate: float = 0.0  # share of jobs that end failed
    system_cancel_rate: float = 0.0  # share of jobs that the "system" cancels
    webhook_duplicates: bool = False  # deliver every webhook twice, as the docs warn can happen
    webhook_retries: int = 3  # further attempts after a failed delivery
    admin_enabled: bool = False
    payment_mode: PaymentMode = "ok"
    balance_usd: float | None = None  # None: unlimited; else charged on completion, 402 at <= 0
    retired: dict[str, RetiredModel] = field(default_factory=default_retired)
    # model path -> sunset date: still served, with Deprecation/Sunset/Link headers.
    deprecated: dict[str, str] = field(default_factory=dict)
    faults: FaultConfig = field(default_factory=FaultConfig)
    seed: int = 0  # drives jitter, failures and fault decisions, so runs are reproducible
    jitter: float = 0.1  # +- share of each phase duration
    default_seconds: float = 20.0  # job duration for models without a catalogue figure
    validation_status: int = 400  # the OAS says 400; third parties report 422
    cancel_conflict_status: int = 409
    cursor_key: str = "next_cursor"  # "nextCursor" reproduces the older docs
    previews: bool = True  # low-resolution preview in result.urls during intermediate-complete
    log: bool = False  # uvicorn access log
    # A life cycle as varied as the docs allow (reference §4.2): some jobs are created already
    # processing, some skip `scheduled`, only some show an `intermediate-complete` preview, and
    # jobs created in the same millisecond share their `created_at` (paging stays exact). Off by
    # default: the uniform life cycle is what most tests measure against. Demo mode turns it on.
    varied: bool = False
    # SQLite file holding every job, so the simulator can stop (or be killed) and resume where
    # it was. None: jobs live in memory only (the default of `krea-tui sim`).
    state_file: str | None = None

    def __post_init__(self) -> None:
        if self.speed <= 0:
            raise ValueError("speed must be > 0")
        if self.concurrency < 1:
            raise ValueError("concurrency must be >= 1")
        if self.backlog < 0:
            raise ValueError("backlog must be >= 0")
        for name in ("fail_rate", "system_cancel_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be between 0 and 1")
        if self.payment_mode not in PAYMENT_MODES:
            raise ValueError(f"payment_mode must be one of {', '.join(PAYMENT_MODES)}")
        if not self.tokens:
            self.tokens = [generate_token()]

    @property
    def token(self) -> str:
        """The first accepted token: the one printed on start."""
        return self.tokens[0]


def generate_token() -> str:
    """A token in the shape community code reports for real keys: `<uuid-ish>:<secret>`."""
    key_id = secrets.token_hex(16)
    dashed = f"{key_id[:8]}-{key_id[8:12]}-{key_id[12:16]}-{key_id[16:20]}-{key_id[20:]}"
    return f"{dashed}:{secrets.token_urlsafe(24)}"


def demo_config(**overrides: Any) -> SimConfig:
    """Settings for `krea-tui --demo`: real-time pace, a free port, and a few failures to show.

    Overrides are SimConfig fields, e.g. `demo_config(speed=4)` for a brisker demo.
    """
    settings: dict[str, Any] = {
        "port": 0,
        "speed": 1.0,
        "concurrency": 4,
        "backlog": 32,
        "fail_rate": 0.04,
        "system_cancel_rate": 0.01,
    }
    settings.update(overrides)
    return SimConfig(**settings)
