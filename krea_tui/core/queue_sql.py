"""The queue view's filter and order as SQL over the jobs table: the same rows, in the same
order, as `query.Query.matches` and `job_order.ordered` give over the whole history (a
property test holds the two to it), for a view read a window at a time.

Text is compared as Python compares it. SQLite's `lower()` knows ASCII only, Python's
`str.lower()` all of Unicode; they agree on where an ASCII word occurs once the two characters
whose Python lowercase holds ASCII (`İ`, the Kelvin sign) are written as that lowercase
(`search_index.ascii_folded`). So an ASCII word is looked for with `lower()`, which SQLite
runs fast, and any other through `krea_lower`, Python's own, which the store registers.

Words go through the trigram index first when they have a run of three ASCII characters: the
index returns every job whose text holds the run's trigrams (so every job holding the word,
and some that do not), and the exact test above settles each.

A value the history holds as something krea-tui never writes there (a prompt that is a float
or a list, an aspect ratio that is a list) is printed as JSON, not as Python would: the one
place the two may differ.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from krea_tui.core.job_order import SORT_KEYS, STATUS_RANK
from krea_tui.core.query import Query, Term, parse_age, parse_rating, statuses_of
from krea_tui.core.search_index import WORDS, ascii_folded, json_str, prompt_sql, words_sql
from krea_tui.core.status import FINAL

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
_FINAL_SQL = "(" + ",".join(f"'{s}'" for s in sorted(FINAL)) + ")"
# Runs of printable ASCII: the trigrams of such a run are found in the index exactly as typed
# (see search_index on İ and the Kelvin sign).
_RUN = re.compile(r"[!-~]{3,}")


@dataclass(frozen=True, slots=True)
class Sql:
    """A piece of SQL and the arguments of its `?`s, in order."""

    text: str
    args: tuple[Any, ...] = ()

    def __and__(self, other: Sql) -> Sql:
        return Sql(f"({self.text}) AND ({other.text})", self.args + other.args)


TRUE = Sql("1")
NOTHING = Sql("0")


def micros(moment: datetime) -> int:
    """Microseconds since the epoch, exactly (a float would round them)."""
    return (moment - _EPOCH) // _MICRO


def _ms(column: str) -> str:
    """Milliseconds since the epoch of an ISO time column, exactly (the store keeps ms)."""
    return (
        f"(CAST(strftime('%s', {column}) AS INTEGER) * 1000"
        f" + CAST(substr(strftime('%f', {column}), 4) AS INTEGER))"
    )


def contains(expr: str, needle: str) -> Sql:
    """True where Python's `needle in expr.lower()` (`needle` already lowercase)."""
    if needle.isascii():
        return Sql(f"instr(lower({ascii_folded(expr)}), ?) > 0", (needle,))
    return Sql(f"instr(krea_lower({expr}), ?) > 0", (needle,))


def _trigrams(needle: str) -> str:
    """An FTS5 query for the rows holding every trigram of every ASCII run of `needle`: all
    rows holding `needle`, and some more. Each trigram is one token of the index (a quoted
    3-character string), so the query needs no positions, and FTS5 walks the rarest one's
    rows and seeks in the others'."""
    grams = {run[i : i + 3] for run in _RUN.findall(needle) for i in range(len(run) - 2)}
    return " AND ".join('"' + gram.replace('"', '""') + '"' for gram in sorted(grams))


def _word(word: str, indexed: bool) -> Sql:
    needle = word.lower()
    # words_sql is folded already: lower() on it is exact for an ASCII needle.
    low = "lower" if needle.isascii() else "krea_lower"
    exact = Sql(f"instr({low}({words_sql()}), ?) > 0", (needle,))
    if not indexed:
        return exact
    grams = _trigrams(needle)
    if not grams:
        # Under three ASCII characters in a row: every row is read, from the index's own copy
        # of the text (a few times smaller than the jobs' rows).
        scan = f"jobs.rowid IN (SELECT rowid FROM {WORDS} WHERE instr({low}(text), ?) > 0)"
        return Sql(scan, (needle,))
    # The exact test on the job's own row, which is read anyway (for its position): reading
    # the index's copy of each candidate's text cost twice as much.
    candidates = Sql(f"jobs.rowid IN (SELECT rowid FROM {WORDS} WHERE {WORDS} MATCH ?)", (grams,))
    return candidates & exact


def _status(values: list[str], present: frozenset[str] | None, column: str) -> Sql:
    """`query._status_test`. With the statuses the history holds (`present`), "active" is
    those of them not final: the same rows, through the status index."""
    wanted: set[str] = set()
    active = False
    for value in values:
        group = statuses_of(value)
        if group is None:
            active = True
        else:
            wanted |= group
    if active and present is not None:
        wanted |= present - FINAL
        active = False
    parts: list[str] = []
    if wanted:
        parts.append(f"{column} IN ({','.join('?' * len(wanted))})")
    if active:
        parts.append(f"{column} NOT IN {_FINAL_SQL}")
    return Sql(" OR ".join(parts) or "0", tuple(sorted(wanted)))


def _field(expr: str, values: list[str]) -> Sql:
    """`query._field_test`: the value is not empty and holds one of `values`."""
    tests = [contains(f"coalesce({expr}, '')", v.lower()) for v in values]
    any_of = " OR ".join(t.text for t in tests)
    args = tuple(a for t in tests for a in t.args)
    return Sql(f"coalesce({expr}, '') != '' AND ({any_of})", args)


def _after(prefix: str) -> str | None:
    """The least text above every text starting with `prefix` (SQLite orders text by its
    UTF-8 bytes, which is code point order, as Python does), or None when there is none."""
    kept = prefix.rstrip(chr(0x10FFFF))
    if not kept:
        return None
    point = ord(kept[-1]) + 1
    if 0xD800 <= point <= 0xDFFF:  # no text holds a lone surrogate
        point = 0xE000
    return kept[:-1] + chr(point)


def _prefix(column: str, prefix: str) -> Sql:
    """True where `column.startswith(prefix)`, exactly; as a range the column's index serves."""
    upper = _after(prefix)
    exact = Sql(f"substr({column}, 1, ?) = ?", (len(prefix), prefix))
    if upper is None:
        return Sql(f"{column} >= ?", (prefix,)) & exact
    return Sql(f"{column} >= ? AND {column} < ?", (prefix, upper)) & exact


def _parent(values: list[str]) -> Sql:
    """`query._parent_test`: the parent's local id, or its remote id, starts with a value.
    Both through indexes: the parent index, and the remote id's (then the parent index)."""
    tests: list[Sql] = []
    for value in values:
        tests.append(_prefix("parent_id", value))
        remote = _prefix("p.remote_id", value)
        tests.append(Sql(f"parent_id IN (SELECT p.local_id FROM jobs AS p WHERE {remote.text})",
                         remote.args))  # fmt: skip
    any_of = " OR ".join(f"({t.text})" for t in tests)
    return Sql(f"parent_id IS NOT NULL AND ({any_of})", tuple(a for t in tests for a in t.args))


# `query._has_test`: the jobs some job was made from are read off the parent index.
_HAS = {
    "children": "local_id IN (SELECT c.parent_id FROM jobs AS c WHERE c.parent_id IS NOT NULL)",
    "parent": "parent_id IS NOT NULL",
}


def _has(values: list[str]) -> Sql:
    return Sql(" OR ".join(f"({_HAS[v.lower()]})" for v in values) or "0")


def _rating(values: list[str]) -> Sql:
    """`query._rating_test`. A comparison holds for rated jobs only: `rating IS NOT NULL AND`
    keeps NOT of it true for unrated ones (as in Python), and lets the partial index serve."""
    tests: list[Sql] = []
    for value in values:
        read = parse_rating(value)
        assert read is not None  # a term is made only from readable ratings
        op, n = read
        if op == "none":
            tests.append(Sql("rating IS NULL"))
        else:
            tests.append(Sql(f"rating IS NOT NULL AND rating {op} ?", (n,)))
    return Sql(" OR ".join(f"({t.text})" for t in tests), tuple(a for t in tests for a in t.args))


# `query._is_test`, through the partial indexes of schema 7 (but for the unrated).
_IS = {
    "pick": "pick IS NOT NULL AND pick = 1",
    "reject": "pick IS NOT NULL AND pick = -1",
    "rated": "rating IS NOT NULL",
    "unrated": "rating IS NULL",
}


def _is(values: list[str]) -> Sql:
    return Sql(" OR ".join(f"({_IS[v.lower()]})" for v in values) or "0")


def _indexed_judgement(term: Term) -> bool:
    """A rating or pick term the partial indexes answer (unrated jobs are not in them)."""
    values = [v.lower() for v in term.value.split(",") if v]
    if term.key == "is":
        return "unrated" not in values
    return all((parse_rating(v) or ("none", 0))[0] != "none" for v in values)


def _age(value: str, now: datetime) -> Sql:
    age = parse_age(value)
    assert age is not None  # a term is made only from a readable age
    op, seconds = age
    # now - created < limit  <=>  created > now - limit (and the other way for ">")
    cutoff = micros(now) - timedelta(seconds=seconds) // _MICRO
    return Sql(f"{_ms('created_at')} * 1000 {'>' if op == '<' else '<'} ?", (cutoff,))


def _term(term: Term, now: datetime, indexed: bool, present: frozenset[str] | None,
          status: str) -> Sql:  # fmt: skip
    values = [v for v in term.value.split(",") if v]
    if term.key == "":
        return _word(term.value, indexed)
    if term.key == "status":
        return _status(values, present, status)
    if term.key == "model":
        return _field("model", values)
    if term.key == "preset":
        return _field("preset", values)
    if term.key == "batch":
        return _field("batch_id", values)
    if term.key == "id":
        return _field("local_id || ' ' || coalesce(remote_id, '')", values)
    if term.key == "parent":
        return _parent(values)
    if term.key == "has":
        return _has(values)
    if term.key == "rating":
        return _rating(values)
    if term.key == "is":
        return _is(values)
    return _age(term.value, now)


def reads_every_job(query: Query, *, indexed: bool) -> bool:
    """Whether `where(query)` is answered only by reading every job: a word under three
    ASCII characters in a row (or any word without the word index), a negated word, a
    model/preset/batch/id/age token. Statuses, indexed words and lineage are not."""
    for term in query.terms:
        if term.key == "status":
            continue
        if term.key in ("rating", "is") and not term.negated and _indexed_judgement(term):
            continue
        if term.key in ("parent", "has") and not term.negated:  # lineage: the parent index
            continue
        if term.key == "" and not term.negated and indexed and _trigrams(term.value.lower()):
            continue
        return True
    return False


def where(
    query: Query,
    now: datetime,
    *,
    indexed: bool,
    present: frozenset[str] | None = None,
    absent: frozenset[str] = frozenset(),
) -> Sql:
    """The WHERE condition of `query` (`indexed`: the history has the word index; `present`:
    every status the history holds, if known; `absent`: filter keys whose columns a read-only
    older history lacks, `JobStore.absent_filters`: no job there has a parent or a rating)."""
    if query.problems:
        return NOTHING
    # A word found through the index leaves a few rows to look up by rowid; left to itself
    # SQLite would rather walk the status index in queue order (no sort), through every
    # completed job. `+status` keeps the status test off the index then.
    worded = indexed and any(term.key == "" and not term.negated for term in query.terms)
    status = "+status" if worded else "status"
    out: Sql | None = None
    for term in query.terms:
        piece = NOTHING if term.key in absent else _term(term, now, indexed, present, status)
        if term.negated:
            piece = Sql(f"NOT ({piece.text})", piece.args)
        out = piece if out is None else out & piece
    return out or TRUE


# -- order ---------------------------------------------------------------------------------------


def _rank() -> str:
    whens = " ".join(f"WHEN '{status}' THEN {rank}" for status, rank in STATUS_RANK.items())
    return f"(CASE status {whens} ELSE 99 END)"


def _truthy(path: str) -> str:
    """Python's truth of the JSON value at `path` of the request."""
    value = f"json_extract(request, '{path}')"
    return (
        f"(CASE json_type(request, '{path}') WHEN 'text' THEN {value} != ''"
        f" WHEN 'integer' THEN {value} != 0 WHEN 'real' THEN {value} != 0 WHEN 'true' THEN 1"
        f" WHEN 'array' THEN json_array_length(request, '{path}') > 0"
        f" WHEN 'object' THEN {value} != '{{}}' ELSE 0 END)"
    )


def _int_like(path: str) -> str:
    return f"json_type(request, '{path}') IN ('integer', 'true', 'false')"  # bool is an int


_SIZED = f"({_int_like('$.width')} AND {_int_like('$.height')})"
_SEEDED = "json_type(request, '$.seed') IN ('integer', 'real')"


def _ran(now: datetime) -> Sql:
    """`job_order._ran_key` in microseconds: -1 before the server took the job."""
    started = _ms("coalesce(submitted_at, remote_created_at)")
    return Sql(
        "(CASE WHEN remote_created_at IS NULL THEN -1"
        f" WHEN finished_at IS NOT NULL"
        f" THEN max(0, ({_ms('finished_at')} - {_ms('remote_created_at')}) * 1000)"
        f" ELSE max(0, ? - {started} * 1000) END)",
        (micros(now),),
    )


def _keys(sort: str, now: datetime) -> list[Sql]:
    """The sort key of `job_order.SORT_KEYS[sort]`, one SQL expression per tuple element."""
    if sort == "status":
        return [Sql(_rank()), Sql("position")]
    if sort == "prompt":
        return [Sql(f"krea_lower({prompt_sql()})")]
    if sort == "model":
        return [Sql("model")]
    if sort == "time":
        return [_ran(now)]
    if sort == "seed":
        seed = "CAST(json_extract(request, '$.seed') AS REAL)"
        return [
            Sql(f"(CASE WHEN {_SEEDED} THEN 0 ELSE 1 END)"),
            Sql(f"(CASE WHEN {_SEEDED} THEN {seed} ELSE 0.0 END)"),
        ]
    if sort == "size":
        area = "json_extract(request, '$.width') * json_extract(request, '$.height')"
        label = (
            f"(CASE WHEN {_SIZED} THEN ''"
            f" WHEN {_truthy('$.aspect_ratio')} THEN {json_str('request', '$.aspect_ratio')}"
            f" WHEN {_truthy('$.resolution')} THEN {json_str('request', '$.resolution')}"
            " ELSE '' END)"
        )
        return [Sql(f"(CASE WHEN {_SIZED} THEN {area} ELSE 0 END)"), Sql(label)]
    if sort == "id":
        return [Sql("coalesce(nullif(remote_id, ''), local_id)")]
    return [Sql("position")]


def sort_name(sort: str) -> str:
    """The sort `job_order.ordered` really uses for `sort` (an unknown one is "created")."""
    return sort if sort in SORT_KEYS else "created"


def order_by(sort: str, reverse: bool, now: datetime) -> Sql:
    """ORDER BY terms (without the words). Python's sort is stable over the queue's order, in
    either direction: ties stay in queue order (position, then rowid for equal positions),
    whichever way the column goes. The queue's own order goes wholly one way or the other,
    so that its index serves both directions."""
    sort = sort_name(sort)
    if sort == "created":
        return Sql("position DESC, jobs.rowid DESC" if reverse else "position, jobs.rowid")
    keys = _keys(sort, now)
    way = " DESC" if reverse else ""
    text = ", ".join(f"{key.text}{way}" for key in keys)
    return Sql(f"{text}, position, jobs.rowid", tuple(a for key in keys for a in key.args))
