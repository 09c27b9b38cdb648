"""One request into many: prompt alternatives and seeds."""

from __future__ import annotations

import math
import random

from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.batch import SEED_LIMIT, expand, expand_prompt, with_seeds


def test_alternatives_give_one_prompt_each() -> None:
    assert expand_prompt("a {red|blue} car") == ["a red car", "a blue car"]


def test_several_groups_multiply_in_order() -> None:
    assert expand_prompt("{a|b} and {1|2|3}") == [
        "a and 1",
        "a and 2",
        "a and 3",
        "b and 1",
        "b and 2",
        "b and 3",
    ]


def test_braces_without_a_bar_and_empty_options_are_kept_as_written() -> None:
    assert expand_prompt("json {like: this}") == ["json {like: this}"]
    assert expand_prompt("a {|big} dog") == ["a  dog", "a big dog"]
    assert expand_prompt("plain") == ["plain"]


@given(
    st.lists(
        st.lists(st.text(alphabet="abc xyz", max_size=4), min_size=2, max_size=3),
        max_size=3,
    ),
    st.text(alphabet="pqr ", max_size=5),
)
def test_expansion_count_is_the_product_of_the_group_sizes(
    groups: list[list[str]], glue: str
) -> None:
    prompt = glue.join("{" + "|".join(options) + "}" for options in groups) or glue
    expanded = expand_prompt(prompt)
    assert len(expanded) == math.prod(len(options) for options in groups)
    assert all("{" not in text and "|" not in text for text in expanded)


def test_a_given_seed_goes_up_by_one_per_image() -> None:
    bodies = with_seeds({"prompt": "p", "seed": 41}, 3, takes_seed=True)
    assert [b["seed"] for b in bodies] == [41, 42, 43]
    assert all(b["prompt"] == "p" for b in bodies)


def test_without_a_seed_each_image_gets_a_visible_random_one() -> None:
    bodies = with_seeds({"prompt": "p"}, 50, takes_seed=True, rng=random.Random(1))
    seeds = [b["seed"] for b in bodies]
    assert all(isinstance(s, int) and 0 <= s < SEED_LIMIT for s in seeds)
    assert len(set(seeds)) == 50
    again = with_seeds({"prompt": "p"}, 50, takes_seed=True, rng=random.Random(1))
    assert [b["seed"] for b in again] == seeds  # reproducible with the same generator


def test_models_without_a_seed_get_none_added() -> None:
    bodies = with_seeds({"prompt": "p"}, 2, takes_seed=False)
    assert bodies == [{"prompt": "p"}, {"prompt": "p"}]
    assert bodies[0] is not bodies[1]


def test_expand_gives_count_images_per_alternative_each_with_its_seeds() -> None:
    bodies = expand({"prompt": "a {red|blue} car", "seed": 7, "steps": 20}, 2, takes_seed=True)
    assert [(b["prompt"], b["seed"]) for b in bodies] == [
        ("a red car", 7),
        ("a red car", 8),
        ("a blue car", 7),
        ("a blue car", 8),
    ]
    assert all(b["steps"] == 20 for b in bodies)


def test_expand_without_a_prompt_keeps_the_body_as_it_is() -> None:
    assert expand({"image_url": "https://x/y.png"}, 1, takes_seed=False) == [
        {"image_url": "https://x/y.png"}
    ]
