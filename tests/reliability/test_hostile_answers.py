"""Answers a server should not give, and what they must not do to us:

- a status that is not one of the server's (`held`, `unknown`, `submitting`, none at all) never
  becomes a local status: the job is neither sent again (money) nor left unwatched (lost);
- a Retry-After of days, of infinity or below zero never stops tracking nor floods the server;
- the token, echoed back in an answer with one character escaped, percent-encoded or in
  base64, is found nowhere: not in the history (WAL included), the log, a job's raw answer, an
  exception.

Client cases run over httpx.MockTransport; engine cases against the simulator on loopback,
with a small ASGI layer in front of it that changes its answers.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import re
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from krea_tui.core import backoff, errors
from krea_tui.core import status as status_rules
from krea_tui.core.api import KreaClient
from krea_tui.core.backoff import Backoff
from krea_tui.core.errors import (
    REDACTED,
    KreaError,
    ModelRetiredError,
    RateLimitError,
    parse_retry_after,
    redact,
)
from krea_tui.core.events import ConnectionEvent
from krea_tui.core.models import Job, JobStatus, parse_status
from krea_tui.core.status import FINAL, LOCAL, is_active_remote, is_backwards, skipped_between
from krea_tui.core.webhooks import WebhookReceiver
from krea_tui.sim.server import RunningSim
from tests.conftest import TOKEN_A
from tests.integration.engine_support import FLUX, requests_for, running_engine

SECRET = TOKEN_A.split(":")[1]  # the part that matters (see test_secrets.py)
BASE = "https://api.example.test"
MARK = "@@ECHOED-TOKEN@@"


def escaped(token: str = TOKEN_A) -> str:
    """The token as JSON text with the first character of its secret written as a \\u escape:
    what a server's JSON encoder may legally send, and what decodes to the plain token."""
    key, _, secret = token.partition(":")
    return f"{key}:\\u{ord(secret[0]):04x}{secret[1:]}"


def leaks(data: str | bytes) -> bool:
    """The secret in `data` as it is, or as a run of base64 at any of its three alignments."""
    text = data if isinstance(data, str) else data.decode("utf-8", "replace")
    runs = [base64.b64encode(b"x" * n + SECRET.encode()).decode()[4:-4] for n in range(3)]
    return SECRET in text or any(run in text for run in runs)


# -- an ASGI layer in front of the simulator ------------------------------------------------------


class Front:
    """Counts what reaches the simulator and lets a test change its JSON answers: `job_edit`
    changes every job object of an answer, `body_edit` the encoded body, `refuse` answers a
    request itself (status, headers) instead of the simulator."""

    def __init__(self, sim: RunningSim) -> None:
        self.inner = sim.sim.asgi.app
        self.posts = 0
        self.job_edit: Callable[[dict[str, Any]], None] | None = None
        self.body_edit: Callable[[bytes], bytes] | None = None
        self.refuse: Callable[[str, str], tuple[int, dict[str, str]] | None] | None = None
        self.refused = 0
        sim.sim.asgi.app = self

    def _edit(self, value: Any) -> Any:
        if isinstance(value, dict):
            for item in value.values():
                self._edit(item)
            if "job_id" in value and self.job_edit is not None:
                self.job_edit(value)
        elif isinstance(value, list):
            for item in value:
                self._edit(item)
        return value

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or path.startswith(("/results/", "/_sim/")):
            await self.inner(scope, receive, send)
            return
        if scope["method"] == "POST" and path.startswith("/generate"):
            self.posts += 1
        refusal = self.refuse(scope["method"], path) if self.refuse is not None else None
        if refusal is not None:
            self.refused += 1
            status, headers = refusal
            body = b'{"error": "slow down"}'
            raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
            raw += [(b"content-type", b"application/json"), (b"content-length", b"22")]
            await send({"type": "http.response.start", "status": status, "headers": raw})
            await send({"type": "http.response.body", "body": body})
            return
        start: dict[str, Any] = {}
        body = bytearray()

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
            else:
                body.extend(message.get("body", b""))

        await self.inner(scope, receive, capture)
        data = bytes(body)
        with suppress(ValueError):
            data = json.dumps(self._edit(json.loads(data))).encode()
        if self.body_edit is not None:
            data = self.body_edit(data)
        kept = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        kept.append((b"content-length", str(len(data)).encode()))
        await send({**start, "headers": kept})
        await send({"type": "http.response.body", "body": data})


@contextmanager
def debug_log(path: Path) -> Iterator[None]:
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(args)s"))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def client_for(handler: Callable[[httpx.Request], httpx.Response]) -> KreaClient:
    return KreaClient(TOKEN_A, base_url=BASE, transport=httpx.MockTransport(handler))


# == 1. server statuses never become local ones ==================================================


@pytest.mark.parametrize(
    ("said", "kept"),
    [
        ("held", "?held"),
        ("unknown", "?unknown"),
        ("submitting", "?submitting"),
        ("HELD", "?HELD"),
        (" Held ", "?Held"),
        ("?held", "??held"),  # our own mark, sent back: still the server's word, not ours
        ("warming-up", "?warming-up"),
        (None, "?"),
        ("", "?"),
        ("   ", "?"),
        (3, "?3"),
    ],
)
def test_an_unrecognised_server_status_is_kept_apart_from_every_local_and_known_one(
    said: object, kept: str
) -> None:
    status = parse_status(said)
    assert status == kept
    assert status not in LOCAL
    assert status not in {str(s) for s in JobStatus}
    assert is_active_remote(status)  # still followed by the watcher
    assert Job.from_api({"job_id": "j", "status": said}).status_text == kept
    missing = Job.from_api({"job_id": "j"})
    assert missing.status_text == "?" and not missing.is_terminal


def test_known_statuses_parse_as_before() -> None:
    assert parse_status("completed") is JobStatus.COMPLETED
    assert parse_status(" Queued ") is JobStatus.QUEUED
    assert parse_status("intermediate-complete") is JobStatus.INTERMEDIATE_COMPLETE


def test_an_unrecognised_status_is_bounded_printable_and_shown_with_its_mark() -> None:
    status = parse_status("\x1b]52;c;aGk=\x07" + "x" * 500)
    assert status.startswith("?") and len(status) <= 41
    assert status.isprintable()
    shown = status_rules.shown
    assert shown("?held") == "?held"
    assert shown("?") == "?(no status)"
    assert shown("queued") == "queued" and shown("held") == "held"


def test_unrecognised_statuses_never_go_backwards_or_invent_skipped_states() -> None:
    assert skipped_between("?held", "completed") == ()
    assert not is_backwards("?held", "completed")
    assert not is_backwards("queued", "?held")
    assert is_backwards("completed", "?held")  # nothing moves a finished job
    assert "?held" not in FINAL


STRANGE = [("held", "?held"), ("unknown", "?unknown"), ("submitting", "?submitting"), (None, "?")]


@pytest.mark.parametrize(("said", "kept"), STRANGE, ids=["held", "unknown", "submitting", "none"])
async def test_a_server_status_named_like_a_local_one_is_sent_once_and_followed_to_the_end(
    sim: RunningSim, tmp_path: Path, said: str | None, kept: str
) -> None:
    front = Front(sim)

    def say(job: dict[str, Any]) -> None:
        if said is None:
            job.pop("status", None)
        else:
            job["status"] = said

    front.job_edit = say  # the POST's answer and every later look say it
    async with running_engine(sim, tmp_path) as h:
        (job,) = h.engine.enqueue(FLUX, requests_for(1))
        local_id = job.local_id
        await h.log.wait_for(lambda: h.job(local_id).remote_id is not None, 10, "the answer")
        # Followed: the watcher keeps asking about it. Had it become `held` the submitter would
        # have sent it again by now (it does so at once); had it become `unknown` or stayed
        # `submitting`, nobody would ask.
        await h.wait_requests("GET /jobs", 3, timeout=5, unless=lambda: front.posts > 1)
        assert front.posts == 1, f"sent {front.posts} times"
        stored = h.job(local_id)
        assert stored.status == kept
        assert stored.is_active_remote
        assert [j.local_id for j in h.store.active_remote()] == [local_id]

        front.job_edit = None  # the server says the truth again: completed
        await h.wait_settled([local_id], timeout=10)
        assert h.job(local_id).status == "completed"
        assert front.posts == 1


# == 2. Retry-After, bounded ======================================================================


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("7", 7.0),
        ("2.5", 2.5),
        ("0", 1.0),  # "now" is not an invitation to a request storm
        ("999999", 300.0),  # 11.6 days would stop all tracking
        ("1e400", None),  # infinity: garbage
        ("inf", None),
        ("nan", None),
        ("-5", None),  # not delta-seconds: garbage, our own backoff applies
        ("soon", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_is_clamped_and_garbage_is_absent(
    header: str | None, seconds: float | None
) -> None:
    assert parse_retry_after(header) == seconds


def test_retry_after_as_a_date_is_clamped_too() -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    past = format_datetime(now - timedelta(days=3), usegmt=True)
    soon = format_datetime(now + timedelta(seconds=30), usegmt=True)
    far = format_datetime(now + timedelta(days=30), usegmt=True)
    assert parse_retry_after(past, now=now) == backoff.RETRY_AFTER_MIN == 1.0
    assert parse_retry_after(soon, now=now) == 30.0
    assert parse_retry_after(far, now=now) == backoff.RETRY_AFTER_MAX == 300.0


@pytest.mark.parametrize(
    ("given", "wait"),
    [
        (999999.0, 300.0),
        (-5.0, 1.0),
        (0.0, 1.0),
        (12.0, 12.0),
        (math.inf, 1.0),  # not finite: as if absent (first failure: 1 s)
        (-math.inf, 1.0),
        (math.nan, 1.0),
        (None, 1.0),
    ],
)
def test_backoff_waits_a_finite_bounded_time_whatever_it_is_told(
    given: float | None, wait: float
) -> None:
    got = Backoff().fail(100.0, given)
    assert got == wait
    assert math.isfinite(got)


def test_backoff_without_a_usable_retry_after_keeps_doubling() -> None:
    b = Backoff()
    assert [b.fail(0.0, math.nan) for _ in range(4)] == [1.0, 2.0, 4.0, 8.0]
    assert b.until == 8.0


@pytest.mark.parametrize(("header", "seen"), [("999999", 300.0), ("1e400", None), ("-5", None)])
async def test_the_client_hands_on_only_a_bounded_retry_after(
    header: str, seen: float | None
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": "slow"}, headers={"Retry-After": header})

    async with client_for(handler) as client:
        with pytest.raises(RateLimitError) as info:
            await client.list_jobs()
    assert info.value.retry_after == seen


async def test_a_retry_after_of_days_on_the_job_list_delays_tracking_only_to_the_bound(
    sim: RunningSim, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The bound made short so the test is quick; by default it is 300 s.
    monkeypatch.setattr(backoff, "RETRY_AFTER_MAX", 1.0, raising=False)
    front = Front(sim)

    def once(method: str, path: str) -> tuple[int, dict[str, str]] | None:
        if method == "GET" and path == "/jobs" and not front.refused:
            return 429, {"Retry-After": "999999"}
        return None

    front.refuse = once
    log_file = tmp_path / "krea-tui.log"
    with debug_log(log_file):
        async with running_engine(sim, tmp_path) as h:
            (job,) = h.engine.enqueue(FLUX, requests_for(1))
            await h.wait_settled([job.local_id], timeout=6)
            assert front.refused == 1
            waits = [
                e.retry_in
                for e in h.log.events
                if isinstance(e, ConnectionEvent) and e.state == "backing-off"
            ]
            assert waits == [1.0]
    assert "next try in 1 s" in log_file.read_text()


# == 3. the token, echoed in any encoding ========================================================


def test_redact_finds_the_token_in_its_common_encodings() -> None:
    token = TOKEN_A
    plain = f"a {token} b"
    forms = {
        "plain": plain,
        "secret alone": f"a {SECRET} b",
        "percent-encoded": "a " + "".join(f"%{b:02X}" for b in token.encode()) + " b",
        "percent, lower-case": "a " + "".join(f"%{b:02x}" for b in token.encode()) + " b",
        "url-quoted": f"https://x.test/?t={quote(token, safe='')}",
        "json escape": f'a "{escaped(token)}" b',
        "all json escapes": "a " + "".join(f"\\u{ord(c):04x}" for c in token) + " b",
        "escaped dashes": "a " + token.replace("-", "\\u002d") + " b",
        "base64": "a " + base64.b64encode(token.encode()).decode() + " b",
        "base64 of the header": base64.b64encode(f"Bearer {token}".encode()).decode(),
        "base64 of the header line": base64.b64encode(
            f"Authorization: Bearer {token}\r\n".encode()
        ).decode(),
        "url-safe base64": base64.urlsafe_b64encode(f"Bearer {token}".encode()).decode(),
    }
    for name, text in forms.items():
        assert leaks(text) or "%" in text or "\\" in text, name  # the check can see it
        out = redact(text, [token])
        assert REDACTED in out, name
        assert not leaks(out), (name, out)


def test_redact_leaves_ordinary_text_alone() -> None:
    texts = [
        "100% done, path C:\\temp\\u",
        'a "quoted \\"word\\"" and %41',
        "aGVsbG8gd29ybGQ=",
        "",
    ]
    for text in texts:
        assert redact(text, [TOKEN_A]) == text
    assert redact("abc", [None, ""]) == "abc"
    assert redact("tiny x here", ["x"]) == f"tiny {REDACTED} here"  # short: only as it is


def with_escaped_token(value: object, token: str | None = None) -> bytes:
    """`value` as JSON, each MARK in it replaced by `token` (by default the token with one
    character escaped)."""
    return json.dumps(value).replace(MARK, token or escaped()).encode()


# How the token may sit in a JSON answer: behind a JSON escape (only decoding shows it), or in
# an encoding that stays as it is in the raw text (the answer is then checked without a walk).
ECHOES = {
    "json escape": escaped(),
    "percent-encoded": "".join(f"%{b:02X}" for b in TOKEN_A.encode()),
    "base64 header": base64.b64encode(f"Bearer {TOKEN_A}".encode()).decode(),
}


@pytest.mark.parametrize("echo", list(ECHOES))
@pytest.mark.parametrize("call", ["generate", "get_job", "list_jobs"])
async def test_a_token_echoed_inside_a_successful_answer_is_redacted(call: str, echo: str) -> None:
    job = {
        "job_id": "j-1",
        "status": "failed",
        "note": ["x", {"k": MARK}],
        MARK: 1,
        "error": {"code": "x", "message": f"token {MARK} is not allowed"},
    }
    body = with_escaped_token({"items": [job]} if call == "list_jobs" else job, ECHOES[echo])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async with client_for(handler) as client:
        if call == "generate":
            got = await client.generate(FLUX, {"prompt": "x"})
        elif call == "get_job":
            got = await client.get_job("j-1")
        else:
            (got,), _ = await client.list_jobs()
    # (Base64 keeps the part that encodes `Bearer `, which is no secret.)
    assert re.fullmatch(r"token \S*\[redacted\]\S* is not allowed", got.error_message or "")
    kept = json.dumps(got.raw)
    assert kept.count(REDACTED) == 3, kept
    assert not leaks(kept) and not leaks(repr(got))


async def test_a_deeply_nested_answer_is_redacted_within_a_bounded_depth() -> None:
    nested: Any = [MARK]
    for _ in range(500):  # json.loads takes it; a walk without a bound would recurse as deep
        nested = [nested]
    body = with_escaped_token({"job_id": "j-1", "status": "queued", "note": nested})

    async with client_for(lambda request: httpx.Response(200, content=body)) as client:
        got = await client.get_job("j-1")
    kept = json.dumps(got.raw)
    assert not leaks(kept)
    assert kept.count("[") <= errors.MAX_JSON_DEPTH + 1  # what lies deeper is dropped


async def test_a_token_escaped_inside_an_error_answer_is_redacted_everywhere_it_is_kept() -> None:
    body = with_escaped_token(
        {
            "error": "model_unavailable",
            "message": f"retired for {MARK}",
            "replacement": MARK,
            "migration_url": f"https://x.test/{MARK}",
            "sunset_date": MARK,
        }
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(410, content=body)

    async with client_for(handler) as client:
        with pytest.raises(ModelRetiredError) as info:
            await client.generate(FLUX, {"prompt": "x"})
    error = info.value
    kept = [str(error), repr(error), error.replacement, error.migration_url, error.sunset_date]
    assert [text for text in kept if leaks(str(text))] == []
    assert REDACTED in error.message


async def test_a_redirect_to_a_url_carrying_the_token_percent_encoded_does_not_show_it() -> None:
    where = "https://evil.test/?t=" + "".join(f"%{b:02X}" for b in TOKEN_A.encode())

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"location": where})

    async with client_for(handler) as client:
        with pytest.raises(KreaError) as info:
            await client.get_job("j-1")
    assert "evil.test" in info.value.message
    assert REDACTED in info.value.message


def poison_with_escaped_token(front: Front) -> None:
    """Every job object carries the token with one character escaped, and a failed job's error
    says it: the shape in which plain-text redaction before json.loads missed it."""

    def edit(job: dict[str, Any]) -> None:
        job["note"] = f"requested with Bearer {MARK}"
        if job.get("status") == "failed":
            job["error"] = {"code": "x", "message": f"token {MARK} is not allowed"}

    front.job_edit = edit
    front.body_edit = lambda data: data.replace(MARK.encode(), escaped().encode())


async def test_an_escaped_token_in_a_job_answer_reaches_no_file_log_or_raw_answer(
    make_sim: Any, tmp_path: Path
) -> None:
    sim = make_sim(fail_rate=1.0)
    front = Front(sim)
    poison_with_escaped_token(front)
    log_file = tmp_path / "krea-tui.log"
    with debug_log(log_file):
        async with running_engine(sim, tmp_path) as h:
            (job,) = h.engine.enqueue(FLUX, requests_for(1))
            await h.wait_settled([job.local_id], timeout=10)
            stored = h.job(job.local_id)
            assert stored.status == "failed"
            assert stored.error_message == f"token {REDACTED} is not allowed"
            assert stored.remote_id is not None
            raw = await h.client.get_job(stored.remote_id)
            assert "[redacted]" in json.dumps(raw.raw)
            assert not leaks(json.dumps(raw.raw)) and not leaks(repr(raw))
            db = tmp_path / "history.sqlite3"
            # The history, WAL included, while the engine still has it open.
            assert [
                p.name for p in tmp_path.glob("history.sqlite3*") if leaks(p.read_bytes())
            ] == []
            connection = sqlite3.connect(db)
            try:
                (kept,) = connection.execute(
                    "SELECT raw FROM jobs WHERE local_id = ?", (job.local_id,)
                ).fetchone()
            finally:
                connection.close()
            assert REDACTED in kept and not leaks(kept)
    assert "token [redacted] is not allowed" in log_file.read_text()
    assert not leaks(log_file.read_bytes())
    assert [p for p in tmp_path.rglob("*") if p.is_file() and leaks(p.read_bytes())] == []


async def test_a_webhook_delivery_echoing_the_secret_escaped_is_not_logged(
    sim: RunningSim, tmp_path: Path
) -> None:
    log_file = tmp_path / "krea-tui.log"
    with debug_log(log_file):
        async with (
            running_engine(sim, tmp_path) as h,
            WebhookReceiver(h.engine, path="/hook") as hooks,
        ):
            (job,) = h.engine.enqueue(FLUX, requests_for(1))
            await h.wait_settled([job.local_id])
            remote_id = h.job(job.local_id).remote_id
            secret = escaped().partition(":")[2]  # only the secret, as a status
            body = f'{{"job_id": "{remote_id}", "status": "{secret}"}}'
            async with httpx.AsyncClient(trust_env=False) as raw:
                answer = await raw.post(hooks.local_url, content=body.encode())
            assert answer.status_code == 200
    assert "webhook: job" in log_file.read_text()
    assert not leaks(log_file.read_bytes())
