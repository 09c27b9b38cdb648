"""Turning one request into many: N images with seeds, prompt alternatives, and sweeps over
parameter values."""

from __future__ import annotations

import math
import random
import re
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from itertools import product
from typing import Any

SEED_LIMIT = 2**31 - 1  # the narrowest seed range among the catalogue's models
_ALTERNATIVES = re.compile(r"\{([^{}]*\|[^{}]*)\}")


def expand_prompt(prompt: str) -> list[str]:
    """`a {red|blue} car` → `a red car`, `a blue car`; several groups multiply."""
    groups = [m.group(1).split("|") for m in _ALTERNATIVES.finditer(prompt)]
    if not groups:
        return [prompt]
    pieces = _ALTERNATIVES.split(prompt)
    # split() with one capture group alternates text, group, text, group, ..., text
    texts = pieces[0::2]
    results = []
    for choice in product(*groups):
        out = texts[0]
        for option, text in zip(choice, texts[1:], strict=True):
            out += option + text
        results.append(out)
    return results


def with_seeds(
    body: Mapping[str, Any],
    count: int,
    *,
    takes_seed: bool,
    rng: random.Random | None = None,
) -> list[dict[str, Any]]:
    """`count` copies of `body`. With a seed given, seeds go +1 per image; without one, each
    gets a random seed chosen here so the user can see it and re-run it later."""
    rng = rng or random.Random()
    bodies = []
    seed = body.get("seed")
    for index in range(count):
        copy = dict(body)
        if takes_seed:
            if isinstance(seed, int | float) and not isinstance(seed, bool):
                copy["seed"] = int(seed) + index
            else:
                copy["seed"] = rng.randrange(SEED_LIMIT)
        bodies.append(copy)
    return bodies


def expand(
    body: Mapping[str, Any], count: int, *, takes_seed: bool, rng: random.Random | None = None
) -> list[dict[str, Any]]:
    """Prompt alternatives × count images, seeds assigned per image."""
    bodies = []
    for prompt in expand_prompt(str(body.get("prompt", ""))):
        variant = {**body, "prompt": prompt} if "prompt" in body else dict(body)
        bodies.extend(with_seeds(variant, count, takes_seed=takes_seed, rng=rng))
    return bodies


# -- sweeps: one request over a grid of parameter values ----------------------------------------

MAX_SWEEP_VALUES = 50  # per parameter: more is almost surely a range typed wrong
MAX_SWEEP_JOBS = 500  # per sweep, N and prompt alternatives included: a costly typo otherwise
SWEEP_PREFIX = "sweep-"
_RANGE = re.compile(
    r"^(?P<start>[^.\s][^\s]*?)\s*\.\.\s*(?P<stop>\S+?)(?:\s+step\s+(?P<step>\S+))?$", re.I
)


class SweepError(ValueError):
    """A sweep as written cannot run; the message names the parameter and the value."""


@dataclass(frozen=True, slots=True)
class SweepAxis:
    """One swept parameter and its values, in the order the user wrote them."""

    name: str
    values: tuple[Any, ...]


def _decimal(name: str, text: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise SweepError(f"{name}: {text!r} is not a number") from None
    if not value.is_finite():
        raise SweepError(f"{name}: {text!r} is not a number")
    return value


def _number(name: str, value: Decimal, kind: str) -> int | float:
    if value == value.to_integral_value():
        return int(value)
    if kind == "integer":
        raise SweepError(f"{name}: {value} is not a whole number")
    return float(value)


def _range(name: str, start: Decimal, stop: Decimal, step: Decimal | None) -> list[Decimal]:
    # Decimal, not float: "0.1..0.3 step 0.1" must give 0.3 as the last value, not 0.30000000004.
    step = Decimal(1) if step is None else step
    if step <= 0:
        raise SweepError(f"{name}: the step must be above 0 (got {step})")
    span = abs(stop - start)
    if span / step >= MAX_SWEEP_VALUES:
        raise SweepError(
            f"{name}: {start}..{stop} step {step} gives over {MAX_SWEEP_VALUES} values"
        )
    direction = 1 if stop >= start else -1
    count = int(span // step) + 1
    return [start + direction * step * i for i in range(count)]


def parse_sweep_values(
    name: str, text: str, *, kind: str = "number", choices: Sequence[Any] | None = None
) -> tuple[Any, ...]:
    """The values a user typed for one parameter: `20,30,40`, `20..40 step 10`, or both mixed
    (`1,2,5..10 step 5`); for a parameter with choices, the choices' names (`a,b`).

    `kind` is the schema type ("integer" rejects 2.5). Duplicates are dropped, order is kept.
    Range checks against the model's schema are the catalogue's job, not this function's."""
    parts = [part.strip() for part in text.split(",")]
    if not any(parts):
        raise SweepError(f"{name}: no values given")
    if "" in parts:
        raise SweepError(f"{name}: an empty value between commas in {text!r}")
    values: list[Any] = []
    for part in parts:
        if choices:
            values.append(_choice(name, part, choices))
            continue
        match = _RANGE.match(part)
        if match:
            step = match["step"]
            found = _range(
                name,
                _decimal(name, match["start"]),
                _decimal(name, match["stop"]),
                None if step is None else _decimal(name, step),
            )
        else:
            found = [_decimal(name, part)]
        values.extend(_number(name, value, kind) for value in found)
    unique = tuple(dict.fromkeys(values))
    if len(unique) > MAX_SWEEP_VALUES:
        raise SweepError(f"{name}: {len(unique)} values, {MAX_SWEEP_VALUES} at most")
    return unique


def _choice(name: str, text: str, choices: Sequence[Any]) -> Any:
    for choice in choices:
        if str(choice) == text:
            return choice
    folded = [c for c in choices if str(c).casefold() == text.casefold()]
    if len(folded) == 1:
        return folded[0]
    listed = ", ".join(str(c) for c in choices)
    raise SweepError(f"{name}: {text!r} is not one of {listed}")


def sweep(bodies: Sequence[Mapping[str, Any]], axes: Sequence[SweepAxis]) -> list[dict[str, Any]]:
    """Every combination of the axes' values over every body: the first axis outermost, the
    bodies (the form's N images and prompt alternatives) innermost, so a sweep keeps the form's
    seeds and each combination is compared on the same ones."""
    names = [axis.name for axis in axes]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise SweepError(f"{repeated[0]}: swept twice; choose two different parameters")
    for axis in axes:
        if not axis.values:
            raise SweepError(f"{axis.name}: no values given")
    total = len(bodies) * math.prod(len(axis.values) for axis in axes)
    if total > MAX_SWEEP_JOBS:
        raise SweepError(f"{total} jobs: a sweep sends {MAX_SWEEP_JOBS} at most")
    out: list[dict[str, Any]] = []
    for combination in product(*(axis.values for axis in axes)):
        overrides = dict(zip(names, combination, strict=True))
        out.extend({**body, **overrides} for body in bodies)
    return out


def sweep_batch_id(axes: Sequence[SweepAxis], now: datetime | None = None) -> str:
    """A batch id that also says which parameters were swept, so a contact sheet can lay the
    batch out by them: `sweep-20261123-120000-3fa2c01d+steps+guidance_scale_flux`. `+` because the
    job filter splits values at commas; parameter names never contain it."""
    return "+".join([new_batch_id(SWEEP_PREFIX, now), *(axis.name for axis in axes)])


def new_batch_id(prefix: str = "b", now: datetime | None = None) -> str:
    """Sortable by time, unique even for batches sent in the same second: a cron `submit`,
    a `batch` and the TUI share one history, and two batches with one id would be laid out,
    timed and announced as one. 32 random bits: one clash in billions among a second's few."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%S")
    return f"{prefix}{stamp}-{uuid.uuid4().hex[:8]}"


def swept_names(batch_id: str | None) -> tuple[str, ...]:
    """The parameters a sweep's batch id names (outermost first); () for any other batch."""
    if not batch_id or not batch_id.startswith(SWEEP_PREFIX):
        return ()
    return tuple(name for name in batch_id.split("+")[1:] if name)
