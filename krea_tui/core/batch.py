"""Turning one request into many: N images with seeds, and prompt alternatives."""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
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
