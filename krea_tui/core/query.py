"""The job filter language of the queue view: free words plus `key:value` tokens.

    fox status:failed model:flux age:<1h        failed Flux jobs about foxes from the last hour
    -status:done batch:b2026                    everything not done in batches starting b2026

Words match (case-insensitively, as substrings) the prompt, the model and the job ids. Tokens:
`status:` (a status or a group: active, done, failed, ended, local, …; commas mean "or"),
`model:`, `preset:`, `batch:` (substrings), `age:<1h` / `age:>2d` (units s, m, h, d),
`parent:ID` (jobs made from the job whose local or remote id starts with ID, as printed),
`has:children` / `has:parent` (lineage: enhance, use as input, re-run, retry, edit),
`rating:4` / `rating:>=4` / `rating:<2` / `rating:none` (0-5; unrated matches no comparison),
`is:pick` / `is:reject` / `is:rated` / `is:unrated` (core/ratings). A leading
`-` negates a word or token. Every term must hold. Parsing never fails: a token that cannot be
read is kept as a problem for the filter bar to show, and matches nothing rather than all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from krea_tui.core.status import FINAL, LOCAL
from krea_tui.core.store import StoredJob

# Groups a user thinks in; the quick keys 1–4 use all, active, failed and done.
STATUS_GROUPS: dict[str, frozenset[str]] = {
    "done": frozenset({"completed"}),
    "ok": frozenset({"completed"}),
    "failed": frozenset({"failed"}),
    "error": frozenset({"failed"}),
    "cancelled": frozenset({"cancelled"}),
    "canceled": frozenset({"cancelled"}),
    "ended": FINAL,
    "final": FINAL,
    "local": LOCAL,
    "sending": frozenset({"submitting"}),
    "preview": frozenset({"intermediate-complete"}),
}
ACTIVE = "active"  # everything not ended (held, sending and on the server)
QUICK_STATUS: dict[str, str | None] = {
    "all": None,
    "active": ACTIVE,
    "failed": "failed",
    "done": "done",
}
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
KEYS = ("status", "model", "preset", "batch", "age", "id", "parent", "has", "rating", "is")
HAS = ("children", "parent")  # what `has:` takes
IS = ("pick", "reject", "rated", "unrated")  # what `is:` takes
_RATING = re.compile(r"^(<=|>=|<|>|=)?(\d+)$")
_OPS: dict[str, Callable[[int, int], bool]] = {
    "=": lambda a, b: a == b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_AGE = re.compile(r"^([<>]=?)?\s*(\d+(?:\.\d+)?)\s*([smhdw]?)$")

Predicate = Callable[[StoredJob, datetime], bool]


@dataclass(frozen=True, slots=True)
class Term:
    """One word or token of a query, already turned into a test of a job."""

    text: str  # as typed, for showing back
    test: Predicate = field(compare=False, repr=False)
    negated: bool = False
    # What the term says, for compiling it to SQL (queue_sql): a token's key ("" for a word)
    # and its value (the word itself for a word).
    key: str = field(default="", compare=False)
    value: str = field(default="", compare=False)

    def holds(self, job: StoredJob, now: datetime) -> bool:
        return self.test(job, now) != self.negated


@dataclass(frozen=True, slots=True)
class Query:
    text: str = ""
    terms: tuple[Term, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.problems

    def matches(self, job: StoredJob, now: datetime) -> bool:
        if self.problems:
            return False  # a half-typed token shows nothing rather than everything
        return all(term.holds(job, now) for term in self.terms)


def statuses_of(name: str) -> frozenset[str] | None:
    """The statuses a `status:` value stands for (a group or a single status); None: unknown."""
    name = name.strip().lower()
    if name == ACTIVE:
        return None  # tested as "not final" so that statuses we do not know yet count
    if name in STATUS_GROUPS:
        return STATUS_GROUPS[name]
    return frozenset({name})


def parse_age(value: str) -> tuple[str, float] | None:
    """`<1h` → ("<", 3600.0). No comparison means "newer than"; no unit means minutes."""
    found = _AGE.match(value.strip().lower())
    if not found:
        return None
    op, number, unit = found.groups()
    return (op or "<")[0], float(number) * UNITS[unit or "m"]


def _words(job: StoredJob) -> str:
    return " ".join((job.prompt, job.model, job.local_id, job.remote_id or "")).lower()


def _status_test(values: list[str]) -> Predicate:
    wanted: set[str] = set()
    active = False
    for value in values:
        group = statuses_of(value)
        if group is None:
            active = True
        else:
            wanted |= group

    def test(job: StoredJob, now: datetime) -> bool:
        return job.status in wanted or (active and job.status not in FINAL)

    return test


def _field_test(getter: Callable[[StoredJob], str | None], values: list[str]) -> Predicate:
    lowered = [v.lower() for v in values]

    def test(job: StoredJob, now: datetime) -> bool:
        have = (getter(job) or "").lower()
        return bool(have) and any(v in have for v in lowered)

    return test


def _age_test(op: str, seconds: float) -> Predicate:
    limit = timedelta(seconds=seconds)

    def test(job: StoredJob, now: datetime) -> bool:
        age = now - job.created_at
        return age < limit if op == "<" else age > limit

    return test


def _parent_test(values: list[str]) -> Predicate:
    """A prefix, exactly (ids are printed as they are): of the parent's local or remote id."""

    def test(job: StoredJob, now: datetime) -> bool:
        ids = [i for i in (job.parent_id, job.parent_remote_id) if i]
        return any(i.startswith(v) for i in ids for v in values)

    return test


def _has_test(values: list[str]) -> Predicate | str:
    unknown = [v for v in values if v.lower() not in HAS]
    if unknown:
        return f"has:{unknown[0]}: has: takes {' or '.join(HAS)}"
    wanted = {v.lower() for v in values}

    def test(job: StoredJob, now: datetime) -> bool:
        return ("children" in wanted and job.has_children) or (
            "parent" in wanted and job.parent_id is not None
        )

    return test


def parse_rating(value: str) -> tuple[str, int] | None:
    """`>=4` → (">=", 4), `3` → ("=", 3), `none` → ("none", 0); None when unreadable."""
    value = value.strip().lower()
    if value in ("none", "unrated"):
        return "none", 0
    found = _RATING.match(value)
    if not found:
        return None
    return found.group(1) or "=", int(found.group(2))


def _rating_test(values: list[str]) -> Predicate | str:
    wanted: list[tuple[str, int]] = []
    for value in values:
        read = parse_rating(value)
        if read is None:
            return f"rating:{value} is not like 4, >=3 or <2 (0 to 5), or none"
        wanted.append(read)

    def test(job: StoredJob, now: datetime) -> bool:
        rating = job.rating
        if rating is None:
            return any(op == "none" for op, _ in wanted)
        return any(op != "none" and _OPS[op](rating, n) for op, n in wanted)

    return test


def _is_test(values: list[str]) -> Predicate | str:
    unknown = [v for v in values if v.lower() not in IS]
    if unknown:
        return f"is:{unknown[0]}: is: takes {', '.join(IS)}"
    wanted = {v.lower() for v in values}

    def test(job: StoredJob, now: datetime) -> bool:
        return (
            ("pick" in wanted and job.pick == 1)
            or ("reject" in wanted and job.pick == -1)
            or ("rated" in wanted and job.rating is not None)
            or ("unrated" in wanted and job.rating is None)
        )

    return test


def _word_test(word: str) -> Predicate:
    lowered = word.lower()
    return lambda job, now: lowered in _words(job)


def _token(key: str, value: str) -> Predicate | str:
    """The test for `key:value`, or a problem in words."""
    values = [v for v in value.split(",") if v]
    if not values:
        return f"{key}: needs a value"
    if key == "status":
        return _status_test(values)
    if key == "model":
        return _field_test(lambda job: job.model, values)
    if key == "preset":
        return _field_test(lambda job: job.preset, values)
    if key == "batch":
        return _field_test(lambda job: job.batch_id, values)
    if key == "id":
        return _field_test(lambda job: f"{job.local_id} {job.remote_id or ''}", values)
    if key == "parent":
        return _parent_test(values)
    if key == "has":
        return _has_test(values)
    if key == "rating":
        return _rating_test(values)
    if key == "is":
        return _is_test(values)
    age = parse_age(value)
    if age is None:
        return f"age:{value} is not like <1h or >30m (units s m h d w)"
    return _age_test(*age)


def parse(text: str) -> Query:
    """Read a query; never raises."""
    terms: list[Term] = []
    problems: list[str] = []
    for raw in text.split():
        negated = raw.startswith("-") and len(raw) > 1
        body = raw[1:] if negated else raw
        key, sep, value = body.partition(":")
        if sep and key.lower() in KEYS:
            made = _token(key.lower(), value)
            if isinstance(made, str):
                problems.append(made)
                continue
            terms.append(Term(raw, made, negated, key.lower(), value))
        else:
            terms.append(Term(raw, _word_test(body), negated, "", body))
    return Query(text=text, terms=tuple(terms), problems=tuple(problems))


def with_status(text: str, group: str | None) -> str:
    """`text` with its `status:` tokens replaced by `status:group` (none for None): what the
    quick keys do, so that the words already typed stay."""
    kept = [word for word in text.split() if not word.lstrip("-").lower().startswith("status:")]
    if group is not None:
        kept.append(f"status:{group}")
    return " ".join(kept)


def status_group(text: str) -> str | None:
    """The single `status:` value of a query, if it has exactly one (for showing the view)."""
    found = [w.split(":", 1)[1] for w in text.split() if w.lower().startswith("status:")]
    return found[0] if len(found) == 1 else None
