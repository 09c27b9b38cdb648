"""List fields in the compose form typed as plain text, against the embedded simulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, Select

from krea_tui.presets import Preset, save_preset, set_default
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from tests.tui.conftest import settings_in, settle, until

STYLE_IMAGES = "https://x.test/a.png 0.8, strength=-1 https://x.test/b.png"
STYLE_IMAGES_VALUE = [
    {"url": "https://x.test/a.png", "strength": 0.8},
    {"url": "https://x.test/b.png", "strength": -1},
]


def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KreaApp:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(settings, image_protocol="halfcell")


@contextlib.asynccontextmanager
async def compose_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[KreaApp, Pilot[None], ComposeScreen]]:
    """The app with its compose form open."""
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen), "the form")
        await pilot.pause()
        yield app, pilot, pilot.app.screen  # type: ignore[misc]


async def type_into(pilot: Pilot[None], form: ComposeScreen, name: str, text: str) -> None:
    field = form.query_one(f"#field-{name}", Input)
    field.focus()
    await pilot.press(*text)
    await until(pilot, lambda: field.value == text, f"{name} to hold the typed text")


async def test_typed_plain_text_is_sent_as_a_list_of_objects(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        await pilot.press(*"a lighthouse")
        await type_into(pilot, form, "style_images", STYLE_IMAGES)
        bodies, problems = form.requests()
        assert problems == []
        assert bodies[0]["style_images"] == STYLE_IMAGES_VALUE
        assert not form.query_one("#problem-style_images").display

        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(app.store.jobs()) == 1, "the job")
    assert app.store.jobs()[0].request["style_images"] == STYLE_IMAGES_VALUE


async def test_a_list_of_urls_is_typed_with_commas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (_app, pilot, form):
        form.query_one("#model", Select).value = "google/nano-banana"
        await until(pilot, lambda: bool(form.query("#field-image_urls")), "the model's fields")
        await pilot.press(*"a lighthouse")
        await type_into(pilot, form, "image_urls", "https://a.test/1.png, https://a.test/2.png")
        bodies, problems = form.requests()
    assert problems == []
    assert bodies[0]["image_urls"] == ["https://a.test/1.png", "https://a.test/2.png"]


async def test_a_bad_item_is_named_on_the_form_and_nothing_is_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        await pilot.press(*"a lighthouse")
        await type_into(pilot, form, "style_images", "https://x.test/a.png 0.8, https://x.test/b x")
        problem = form.query_one("#problem-style_images")
        await until(pilot, lambda: problem.display, "the problem under the field")
        assert str(problem.render()) == (
            "style_images: item 2: strength must be a number (got 'x')"
        )
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)  # still open, nothing sent
        assert app.store.jobs() == []


async def test_a_preset_list_is_shown_as_plain_text_and_sent_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    presets = tmp_path / "config" / "presets.toml"
    presets.parent.mkdir(parents=True)
    params = {"style_images": STYLE_IMAGES_VALUE, "styles": [{"id": "a b", "strength": 1}]}
    save_preset(Preset("refs", "bfl/flux-1-dev", params), presets)
    set_default("bfl/flux-1-dev", "refs", presets)
    async with compose_form(tmp_path, monkeypatch) as (_app, pilot, form):
        style_images = form.query_one("#field-style_images", Input)
        await until(pilot, lambda: bool(style_images.value), "the default preset")
        assert style_images.value == "https://x.test/a.png 0.8, https://x.test/b.png -1"
        # An id with a space cannot be said in plain text, so it stays JSON.
        assert form.query_one("#field-styles", Input).value.startswith("[")
        await pilot.press(*"a lighthouse")
        bodies, problems = form.requests()
    assert problems == []
    assert bodies[0]["style_images"] == params["style_images"]
    assert bodies[0]["styles"] == params["styles"]
