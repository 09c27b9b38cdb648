"""Keys that arrive in one burst (SSH lag, a paste, `tmux send-keys abc Tab 5`) are handled in
the order they were typed: each lands where the keys before it put the cursor.

A terminal delivers such a burst before the app has handled its first key, so the tests post
every key at once, as the terminal driver does, instead of pressing them one by one.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from krea_tui.presets import Preset, load_presets, save_preset
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from tests.tui.conftest import settings_in, settle, until

CHARACTERS = {"tab": "\t", "enter": "\r", "space": " ", "escape": "\x1b"}


def burst(app: KreaApp, *keys: str) -> None:
    """Every key read from the terminal before the app handles the first one."""
    for key in keys:
        name = "space" if key == " " else key
        character = CHARACTERS.get(name, key if len(key) == 1 else None)
        app.post_message(events.Key(name, character))


def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KreaApp:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(settings, image_protocol="halfcell")


@contextlib.asynccontextmanager
async def compose_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[KreaApp, Pilot[None], ComposeScreen]]:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        yield app, pilot, form


async def open_form(pilot: Pilot[None]) -> ComposeScreen:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen), "the compose form")
    await pilot.pause()
    return pilot.app.screen  # type: ignore[return-value]


def prompt_of(form: ComposeScreen) -> str:
    return form.query_one("#prompt", TextArea).text


def count_of(form: ComposeScreen) -> str:
    return form.query_one("#count", Input).value


async def quiet(pilot: Pilot[None]) -> None:
    """Time for any key still on its way to land (where it should not, in a failing run)."""
    for _ in range(5):
        await pilot.pause(0.05)


async def test_a_tab_in_a_burst_moves_the_cursor_before_the_next_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (_app, pilot, form):
        burst(pilot.app, "a", "b", "c", "tab", "5")  # type: ignore[arg-type]
        await until(pilot, lambda: "5" in prompt_of(form) + count_of(form), "the 5")
        await quiet(pilot)
        assert (prompt_of(form), count_of(form)) == ("abc", "5")

        burst(pilot.app, "shift+tab", "d")  # type: ignore[arg-type]
        await until(pilot, lambda: "d" in prompt_of(form) + count_of(form), "the d")
        await quiet(pilot)
        assert (prompt_of(form), count_of(form)) == ("abcd", "5")


async def test_ctrl_s_at_the_end_of_a_burst_sends_every_key_typed_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, _form):
        burst(app, *"a red fox", "ctrl+s")

        def answered() -> bool:
            return bool(app.store.jobs()) or any("Not sent" in str(n.message) for n in notes())

        def notes() -> list[str]:
            return [str(n.message) for n in app._notifications]

        await until(pilot, answered, "ctrl+s to send or refuse")
        await quiet(pilot)
        sent = [job.request.get("prompt") for job in app.store.jobs()]
        assert sent == ["a red fox"], notes()


async def test_a_burst_through_the_save_dialog_names_the_preset_and_returns_to_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        await pilot.press(*"a fox")
        burst(app, "f3", *"boats", "enter", *" again")
        await until(pilot, lambda: "again" in prompt_of(form), "the keys after the dialog")
        await quiet(pilot)
        assert app.screen is form and prompt_of(form) == "a fox again"
        path = tmp_path / "config" / "presets.toml"
        await until(pilot, lambda: path.exists() and "boats" in load_presets(path), "the preset")

        # Saving again under the same name asks first; the y typed right away answers it.
        form.query_one("#field-steps", Input).value = "33"
        burst(app, "f3", "enter", "y", *" more")
        await until(pilot, lambda: "more" in prompt_of(form), "the keys after the question")
        await quiet(pilot)
        assert app.screen is form and prompt_of(form) == "a fox again more"
        await until(
            pilot, lambda: load_presets(path)["boats"].params.get("steps") == 33, "the new steps"
        )


async def test_a_burst_through_the_preset_list_loads_the_chosen_one_then_types(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config" / "presets.toml"
    for name, steps in (("alpha", 11), ("beta", 22)):
        save_preset(Preset(name, "bfl/flux-1-dev", {"steps": steps}), path)
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        steps = form.query_one("#field-steps", Input)
        burst(app, "f2", "down", "enter", *"xyz")
        await until(pilot, lambda: "z" in prompt_of(form), "the keys after the list")
        await until(pilot, lambda: steps.value == "22", "beta's steps", deadline=5)
        await quiet(pilot)
        assert app.screen is form and prompt_of(form) == "xyz" and steps.value == "22"

        burst(app, "f2", "delete", "y", "escape", *" done")
        await until(pilot, lambda: "done" in prompt_of(form), "the keys after the list")
        await quiet(pilot)
        assert app.screen is form and prompt_of(form) == "xyz done"
        await until(pilot, lambda: "alpha" not in load_presets(path), "alpha deleted", deadline=5)
        assert list(load_presets(path)) == ["beta"]


async def test_a_burst_through_the_prompt_history_puts_the_found_prompt_in_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        for prompt in ("a blue whale", "a red fox"):
            await pilot.press(*prompt, "ctrl+s")
            await until(pilot, lambda form=form: app.screen is not form, "the form to close")  # type: ignore[misc]
            form = await open_form(pilot)
        burst(app, "f5", *"whale", "enter", *", deep")
        await until(pilot, lambda: "deep" in prompt_of(form), "the keys after the history")
        await quiet(pilot)
        assert app.screen is form and prompt_of(form) == "a blue whale, deep"


async def test_keys_typed_with_the_n_that_opens_the_form_land_in_the_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        burst(app, "n", *"abc", "tab", "5")
        await until(
            pilot,
            lambda: isinstance(app.screen, ComposeScreen) and bool(app.screen.query("#count")),
            "the compose form",
        )
        form: ComposeScreen = app.screen  # type: ignore[assignment]
        await until(pilot, lambda: "5" in prompt_of(form) + count_of(form), "the 5", deadline=5)
        await quiet(pilot)
        assert prompt_of(form) == "abc"


async def test_editing_keys_in_a_burst_edit_the_field_they_were_typed_in(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch) as (app, pilot, form):
        # backspace is a binding: Textual runs it on its way back up from the field.
        burst(app, *"abcd", "backspace", "tab", "backspace", "7")
        await until(pilot, lambda: "7" in prompt_of(form) + count_of(form), "the 7")
        await quiet(pilot)
        assert (prompt_of(form), count_of(form)) == ("abc", "7")
