"""What can go wrong talking to Krea, as exceptions that carry the server's own words.

Every error keeps `status` (HTTP code, or None for transport problems) and `message` (what the
server said, or what we could tell). Messages pass through `redact` so that a token echoed by a
misbehaving server or proxy never reaches a log line, a toast or a traceback.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from krea_tui.core.backoff import bounded_retry_after

REDACTED = "[redacted]"
# Encoded forms (base64, the secret part alone) are looked for only when at least this long:
# shorter ones would match ordinary words.
MIN_ENCODED_SECRET = 8
# How many layers of escaping (JSON `\u0073`, percent `%73`) are undone to look for a secret.
MAX_UNESCAPES = 3
# How deep `redact_json` goes into a decoded answer; deeper values are dropped, not kept.
MAX_JSON_DEPTH = 64
_URLSAFE = str.maketrans("+/", "-_")
_JSON_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})|\\/")


def _base64_runs(data: bytes) -> set[str]:
    """The base64 characters made of `data`'s bits alone, at each of the three alignments it
    can have inside a longer encoded text (`Bearer <token>`, a whole header line), in the
    standard and the URL-safe alphabet."""
    runs: set[str] = set()
    for shift in range(3):
        encoded = base64.b64encode(bytes(shift) + data).decode()
        first = -(-shift * 8 // 6)  # the first character without a bit of the padding
        last = (shift + len(data)) * 8 // 6  # past the last one made only of data's bits
        run = encoded[first:last]
        runs |= {run, run.translate(_URLSAFE)}
    return runs


@lru_cache(maxsize=16)
def _secret_pattern(secrets: tuple[str, ...]) -> re.Pattern[str] | None:
    """One regex finding each secret as it is, its part after `:` (a `key:secret` token's
    secret), and their base64 forms."""
    forms: set[str] = set()
    for secret in secrets:
        forms.add(secret)
        tail = secret.partition(":")[2]
        long_ones = [form for form in (secret, tail) if len(form) >= MIN_ENCODED_SECRET]
        forms.update(long_ones)
        for form in long_ones:
            forms.update(run for run in _base64_runs(form.encode()) if len(run) >= 8)
    forms.discard("")
    if not forms:
        return None
    return re.compile("|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True)))


def _unescape_one(found: re.Match[str]) -> str:
    if found.group(1) is None:
        return "/"
    code = int(found.group(1), 16)
    return found.group(0) if 0xD800 <= code <= 0xDFFF else chr(code)  # no lone surrogates


def _unescaped(text: str) -> str:
    """`text` with one layer of JSON string escapes and percent-encoding undone."""
    if "\\" in text:
        text = _JSON_ESCAPE.sub(_unescape_one, text)
    return unquote(text) if "%" in text else text


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """`text` with every secret replaced by REDACTED: as it is, as the secret part of a
    `key:secret` token, in base64 (also of `Bearer <token>`), percent-encoded or with JSON
    escapes. Text in which no secret hides comes back unchanged; text in which one hides behind
    escapes comes back unescaped, with the secret replaced."""
    pattern = _secret_pattern(tuple(s for s in secrets if s))
    if pattern is None:
        return text
    text = pattern.sub(REDACTED, text)
    view = text
    for _ in range(MAX_UNESCAPES):
        if "%" not in view and "\\" not in view:
            break
        deeper = _unescaped(view)
        if deeper == view:
            break
        view = deeper
        if pattern.search(view):
            text = view = pattern.sub(REDACTED, view)
    return text


def redact_json(value: Any, secrets: Iterable[str | None], *, source: str | None = None) -> Any:
    """A decoded JSON answer with `redact` applied to every string in it, keys included: the
    token a server echoes back may be written with JSON escapes that only decoding reveals.
    Containers nested deeper than MAX_JSON_DEPTH are dropped (no answer about jobs needs
    them). Returns new containers; `value` is left as it was.

    `source`, the JSON text `value` was decoded from, spares the walk over a clean answer (a
    page of 1,000 jobs costs ~15 ms): without a backslash in it, every string decoded from it
    is a piece of it as it is, so a secret redact finds in none of its layers is in none of
    them either."""
    secrets = tuple(s for s in secrets if s)
    if _secret_pattern(secrets) is None:
        return value
    if source is not None and "\\" not in source and redact(source, secrets) == source:
        return value

    def clean(item: Any, depth: int) -> Any:
        if isinstance(item, str):
            return redact(item, secrets)
        if depth >= MAX_JSON_DEPTH and isinstance(item, dict | list):
            return type(item)()
        if isinstance(item, dict):
            return {redact(str(k), secrets): clean(v, depth + 1) for k, v in item.items()}
        if isinstance(item, list):
            return [clean(v, depth + 1) for v in item]
        return item

    return clean(value, 0)


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
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date), clamped to
    backoff's [RETRY_AFTER_MIN, RETRY_AFTER_MAX]; a date in the past is the minimum. None when
    absent or unusable (garbage, negative, infinite, not a number): our own backoff applies."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        # Delta-seconds are digits: a negative or non-finite number is no answer at all.
        return bounded_retry_after(seconds) if seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return bounded_retry_after((when - (now or datetime.now(UTC))).total_seconds())


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
    """Turn a non-2xx answer into the matching exception, keeping the server's words (with
    the secrets redacted after decoding: a JSON escape would hide one from the raw text)."""
    secrets = tuple(secrets)
    try:
        body: Any = (
            redact_json(json.loads(body_text), secrets, source=body_text) if body_text else None
        )
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        body = redact(body_text, secrets)
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
