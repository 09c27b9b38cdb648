"""What can go wrong talking to Krea, as exceptions that carry the server's own words.

Every error keeps `status` (HTTP code, or None for transport problems) and `message` (what the
server said, or what we could tell). Messages pass through `redact` so that a token echoed by a
misbehaving server or proxy never reaches a log line, a toast or a traceback.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return text


class KreaError(Exception):
    """Base of every error the client raises."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status!r}, message={self.message!r})"

    @property
    def retryable(self) -> bool:
        """Whether sending the same request again later may succeed."""
        return False


@dataclass(frozen=True, slots=True)
class FieldProblem:
    field: str
    message: str


class ValidationError(KreaError):
    """400/422: the server refused the request body or query."""

    def __init__(
        self, message: str, *, status: int | None = 400, problems: Iterable[FieldProblem] = ()
    ) -> None:
        super().__init__(message, status=status)
        self.problems = tuple(problems)


class AuthenticationError(KreaError):
    """401: the token is missing, wrong or revoked."""


class PaymentError(KreaError):
    """402: no money left, or the plan does not include this model."""

    def __init__(self, message: str, *, status: int | None = 402, reason: str = "unknown") -> None:
        super().__init__(message, status=status)
        self.reason = reason  # "balance" | "plan" | "unknown"


class NotFoundError(KreaError):
    """404: no such job (or it belongs to another token: the API does not tell them apart)."""


class ModelRetiredError(KreaError):
    """410: the model was sunset; the body may name its replacement."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = 410,
        replacement: str | None = None,
        migration_url: str | None = None,
        sunset_date: str | None = None,
    ) -> None:
        super().__init__(message, status=status)
        self.replacement = replacement
        self.migration_url = migration_url
        self.sunset_date = sunset_date


class ConflictError(KreaError):
    """409: the action is refused in the job's current state (e.g. cancelling a finished job)."""


class RateLimitError(KreaError):
    """429: too many concurrent jobs, or requests too fast. `retry_after` in seconds if sent."""

    def __init__(
        self, message: str, *, status: int | None = 429, retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after

    @property
    def retryable(self) -> bool:
        return True


class ServerError(KreaError):
    """5xx: Krea's side failed; worth retrying with backoff."""

    @property
    def retryable(self) -> bool:
        return True


class TransportError(KreaError):
    """The connection failed or broke; nothing (or not all) was heard back."""

    def __init__(self, message: str, *, request_sent: bool = False) -> None:
        super().__init__(message, status=None)
        # True when the request may have reached the server (a POST may have created a job).
        self.request_sent = request_sent

    @property
    def retryable(self) -> bool:
        return True


class RequestTimeout(TransportError):
    """No answer within the configured time."""


class UnexpectedResponseError(KreaError):
    """An answer we cannot use: an undocumented status code or a body that is not what we need."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def _body_message(body: Any, fallback: str) -> str:
    if isinstance(body, Mapping):
        for key in ("message", "error", "detail"):
            value = body.get(key)
            if isinstance(value, str) and value:
                # The 410 body puts a stable code in `error` and the prose in `message`.
                return value
    if isinstance(body, str) and body.strip():
        return body.strip()[:500]
    return fallback


def _field_problems(body: Any) -> list[FieldProblem]:
    """Field paths from the validation bodies seen in the wild (`detail[]`, `issues[]`, ...)."""
    if not isinstance(body, Mapping):
        return []
    problems: list[FieldProblem] = []
    for key in ("detail", "details", "issues", "errors"):
        entries = body.get(key)
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if not isinstance(entry, Mapping):
                continue
            loc = entry.get("loc", entry.get("path", entry.get("field", ())))
            if isinstance(loc, list | tuple):
                parts = [str(p) for p in loc if p != "body"]
                path = ".".join(parts)
            else:
                path = str(loc) if loc is not None else ""
            message = entry.get("msg") or entry.get("message") or ""
            problems.append(FieldProblem(path, str(message)))
    return problems


def _payment_reason(message: str) -> str:
    text = message.lower()
    if any(word in text for word in ("plan", "requires", "upgrade", "not included")):
        return "plan"
    if any(word in text for word in ("balance", "insufficient", "credit", "top up", "funds")):
        return "balance"
    return "unknown"


def error_from_response(
    status: int, body_text: str, headers: Mapping[str, str], *, secrets: Iterable[str | None] = ()
) -> KreaError:
    """Turn a non-2xx answer into the matching exception, keeping the server's words."""
    secrets = tuple(secrets)
    try:
        body: Any = json.loads(body_text) if body_text else None
    except ValueError:
        body = body_text
    message = redact(_body_message(body, f"HTTP {status}"), secrets)

    if status in (400, 422):
        problems = [
            FieldProblem(p.field, redact(p.message, secrets)) for p in _field_problems(body)
        ]
        return ValidationError(message, status=status, problems=problems)
    if status == 401:
        return AuthenticationError(message, status=status)
    if status == 402:
        return PaymentError(message, status=status, reason=_payment_reason(message))
    if status == 404:
        return NotFoundError(message, status=status)
    if status == 409:
        return ConflictError(message, status=status)
    if status == 410:
        info = body if isinstance(body, Mapping) else {}
        return ModelRetiredError(
            message,
            status=status,
            replacement=info.get("replacement"),
            migration_url=info.get("migration_url"),
            sunset_date=info.get("sunset_date"),
        )
    if status == 429:
        return RateLimitError(
            message, status=status, retry_after=parse_retry_after(headers.get("retry-after"))
        )
    if status >= 500:
        return ServerError(message, status=status)
    return UnexpectedResponseError(message, status=status)
