"""List fields typed as plain text: items, named and unnamed parts, problems, JSON fallback."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from krea_tui.core.catalog import Field, load_catalog
from krea_tui.core.list_text import ListTextError, format_list, list_hint, parse_list


def catalog_field(model: str, name: str) -> Field:
    field = load_catalog(None).get(model).field(name)
    assert field is not None and field.type == "array"
    return field


STYLE_IMAGES = catalog_field("openai/gpt-image-2", "style_images")  # strength, url; ≤10
IMAGE_URLS = catalog_field("openai/gpt-image-2", "image_urls")  # strings; ≤10
STYLES = catalog_field("openai/gpt-image", "styles")  # id, strength; ≤5
REFERENCES = catalog_field("runway/gen-4-image", "reference_images")  # tag, url; ≤3
MOODBOARDS = catalog_field("krea/krea-2/large", "moodboards")  # id, strength


def problem(field: Field, text: str) -> str:
    with pytest.raises(ListTextError) as caught:
        parse_list(field, text)
    return str(caught.value)


def test_object_items_take_unnamed_parts_in_the_hinted_order() -> None:
    assert parse_list(STYLE_IMAGES, "https://x.test/a.png 0.8, https://x.test/b.png") == [
        {"url": "https://x.test/a.png", "strength": 0.8},
        {"url": "https://x.test/b.png"},
    ]
    assert parse_list(STYLES, "abc 1") == [{"id": "abc", "strength": 1}]
    assert parse_list(REFERENCES, "hero https://x.test/h.png") == [
        {"tag": "hero", "url": "https://x.test/h.png"}
    ]


def test_string_lists_are_the_items_themselves() -> None:
    assert parse_list(IMAGE_URLS, "https://a.test/1.png, https://a.test/2.png") == [
        "https://a.test/1.png",
        "https://a.test/2.png",
    ]
    assert parse_list(IMAGE_URLS, "https://a.test/1.png\n https://a.test/2.png ,") == [
        "https://a.test/1.png",
        "https://a.test/2.png",
    ]


def test_named_parts_go_anywhere_and_unnamed_ones_fill_the_rest() -> None:
    assert parse_list(STYLE_IMAGES, "strength=0.5 https://x.test/a.png") == [
        {"url": "https://x.test/a.png", "strength": 0.5}
    ]
    assert parse_list(STYLE_IMAGES, "strength=-2") == [{"strength": -2}]
    # Only the text before the first "=" names a field, and a URL's query is not a name.
    assert parse_list(REFERENCES, "tag=a=b https://x.test/?w=1") == [
        {"tag": "a=b", "url": "https://x.test/?w=1"}
    ]


def test_numbers_are_ints_when_whole() -> None:
    (item,) = parse_list(STYLES, "a 1.0")
    assert item["strength"] == 1 and isinstance(item["strength"], int)
    (item,) = parse_list(STYLES, "a .25")
    assert item["strength"] == 0.25
    (item,) = parse_list(STYLES, "a 1e-1")
    assert item["strength"] == 0.1


def test_json_is_still_accepted() -> None:
    text = '[{"url": "https://x.test/a.png", "strength": 0.8}]'
    assert parse_list(STYLE_IMAGES, text) == [{"url": "https://x.test/a.png", "strength": 0.8}]
    assert parse_list(IMAGE_URLS, ' ["a, b"] ') == ["a, b"]


def test_problems_name_the_field_and_the_item() -> None:
    assert (
        problem(STYLE_IMAGES, "https://x.test/a.png 0.8, https://x.test/b.png x")
        == "style_images: item 2: strength must be a number (got 'x')"
    )
    assert (
        problem(STYLES, "abc strenght=1")
        == "styles: item 1: unknown field 'strenght' (fields: id, strength)"
    )
    assert (
        problem(STYLES, "abc 1 2 3")
        == "styles: item 1: too many parts, '2 3' left over (fields: id, strength)"
    )
    assert problem(STYLES, "id=a id=b") == "styles: item 1: id given twice"
    assert problem(MOODBOARDS, "m strength=nan") == (
        "moodboards: item 1: strength must be a number (got 'nan')"
    )
    assert problem(IMAGE_URLS, '["a",').startswith("image_urls: not valid JSON (")
    assert problem(IMAGE_URLS, "[" * 100_000) == "image_urls: JSON nested too deeply"


def test_hints_show_the_order_of_unnamed_parts_and_the_limit() -> None:
    assert list_hint(STYLE_IMAGES) == "list: url strength, … (≤10)"
    assert list_hint(STYLES) == "list: id strength, … (≤5)"
    assert list_hint(REFERENCES) == "list: tag url, … (≤3)"
    assert list_hint(IMAGE_URLS) == "list: a, b, … (≤10)"


def test_values_are_shown_as_plain_text_when_they_can_be() -> None:
    value = [{"url": "https://x.test/a.png", "strength": 0.8}, {"strength": 1}]
    assert format_list(STYLE_IMAGES, value) == "https://x.test/a.png 0.8, strength=1"
    assert format_list(IMAGE_URLS, ["https://a.test/1.png", "b"]) == "https://a.test/1.png, b"
    assert format_list(REFERENCES, [{"tag": "a=b", "url": "u"}]) == "tag=a=b u"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        (STYLE_IMAGES, [{"url": "has space", "strength": 1}]),
        (STYLES, [{"id": "a", "strength": 1, "extra": True}]),
        (STYLES, [{"id": "a", "strength": "0.5"}]),  # a string where a number belongs
        (STYLES, [{"id": "a", "strength": True}]),
        (STYLES, [{"id": {"nested": 1}}]),
        (STYLES, ["not an object"]),
        (IMAGE_URLS, ["a,b"]),
        (IMAGE_URLS, [" padded"]),
        (IMAGE_URLS, ["[looks like json"]),
        (IMAGE_URLS, [1]),
        (IMAGE_URLS, []),  # blank text would mean "not set"
    ],
)
def test_values_plain_text_cannot_say_are_shown_as_json(field: Field, value: Any) -> None:
    text = format_list(field, value)
    assert text.startswith("[")
    assert parse_list(field, text) == value


# -- round trip -------------------------------------------------------------------------------

# Text that plain items can hold, and text that forces the JSON fallback.
words = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
urls = st.from_regex(r"https://[a-z]{1,8}\.test/[a-z0-9_]{0,8}\.png(\?w=[0-9])?", fullmatch=True)
tokens = st.from_regex(r"[a-z0-9_.-]{1,8}", fullmatch=True)
texts = st.one_of(
    urls, tokens, words, st.sampled_from(["", " ", "a,b", "[x", "id=x", "a b", "0.5"])
)
numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
)


def object_lists(field: Field) -> st.SearchStrategy[list[Any]]:
    """Lists of items of `field`'s shape; some with a key it does not have (so: JSON)."""
    shape = {f.name: numbers if f.type == "number" else texts for f in field.item_fields}
    known = st.fixed_dictionaries({}, optional=shape)
    odd = st.fixed_dictionaries({"unknown": texts}, optional=shape)
    return st.lists(known, max_size=4) | st.lists(known | odd, max_size=4)


@given(st.lists(texts, max_size=5))
def test_string_lists_read_back_as_they_were_shown(value: list[str]) -> None:
    assert parse_list(IMAGE_URLS, format_list(IMAGE_URLS, value)) == value


@pytest.mark.parametrize("field", [STYLE_IMAGES, STYLES, REFERENCES], ids=lambda f: f.name)
@given(data=st.data())
def test_object_lists_read_back_as_they_were_shown(field: Field, data: st.DataObject) -> None:
    value = data.draw(object_lists(field))
    assert parse_list(field, format_list(field, value)) == value


@pytest.mark.parametrize("field", [STYLE_IMAGES, IMAGE_URLS, REFERENCES], ids=lambda f: f.name)
@given(
    text=st.text(max_size=40) | st.lists(st.sampled_from(["a", "1", "x=", " ", ","])).map("".join)
)
def test_any_text_is_a_value_or_a_problem_never_a_crash(field: Field, text: str) -> None:
    try:
        parse_list(field, text)
    except ListTextError as problem:
        assert str(problem).startswith(f"{field.name}: ")
