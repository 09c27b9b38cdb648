"""Leaving the compose form without sending keeps it as a draft: the next `n` brings it back."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, TextArea

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.main import MainScreen
from tests.tui.conftest import settings_in, settle, until

LONG = ("a lighthouse at dusk, waves on black rocks, " * 60)[:2000]


def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KreaApp:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(settings, image_protocol="halfcell")


async def open_form(pilot: Pilot[None]) -> ComposeScreen:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen), "the compose form")
    await pilot.pause()
    return pilot.app.screen  # type: ignore[return-value]


async def leave_form(pilot: Pilot[None]) -> None:
    await pilot.press("escape")
    await until(pilot, lambda: isinstance(pilot.app.screen, MainScreen), "the main screen")
    await pilot.pause()


def prompt_of(form: ComposeScreen) -> str:
    return form.query_one("#prompt", TextArea).text


def count_of(form: ComposeScreen) -> str:
    return form.query_one("#count", Input).value


def said(app: KreaApp) -> str:
    return " ".join(str(n.message) for n in app._notifications)


async def fill(pilot: Pilot[None], form: ComposeScreen) -> None:
    """A 2,000-character prompt (pasted, then typed), N = 3 and one model field changed.
    Typing all of it key by key takes minutes on a busy machine."""
    form.query_one("#prompt", TextArea).insert(LONG[:-20])
    await pilot.press(*LONG[-20:])
    assert prompt_of(form) == LONG
    form.query_one("#count", Input).value = "3"
    form.query_one("#field-steps", Input).value = "37"
    await pilot.pause()


async def test_esc_keeps_the_form_as_a_draft_that_n_restores_and_sending_clears(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        model = form.model.path
        await fill(pilot, form)
        await leave_form(pilot)
        assert "Draft restored" not in said(app)

        form = await open_form(pilot)
        assert prompt_of(form) == LONG
        assert count_of(form) == "3"
        assert form.query_one("#field-steps", Input).value == "37"
        assert form.model.path == model
        assert "Draft restored" in said(app)

        # Leaving again without a change keeps the same draft.
        await leave_form(pilot)
        form = await open_form(pilot)
        assert prompt_of(form) == LONG and count_of(form) == "3"

        # 2,000 characters is over this model's limit: not sent, and the form stays.
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert app.screen is form and "Not sent" in said(app)
        # Sending what the form holds, cut to fit, clears the draft.
        form.query_one("#prompt", TextArea).text = LONG[:1500]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(app.store.jobs()) == 3, "the three jobs")
        assert not isinstance(app.screen, ComposeScreen)
        app.clear_notifications()
        form = await open_form(pilot)
        assert prompt_of(form) == ""
        assert count_of(form) == "1"
        assert "Draft restored" not in said(app)


async def test_the_discard_key_clears_the_form_and_the_draft(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await pilot.press(*"a quick sketch")
        form.query_one("#count", Input).value = "4"
        await leave_form(pilot)
        form = await open_form(pilot)
        assert prompt_of(form) == "a quick sketch" and count_of(form) == "4"

        await pilot.press("f8")
        await pilot.pause()
        assert prompt_of(form) == "" and count_of(form) == "1"
        assert "Draft discarded" in said(app)
        await leave_form(pilot)
        app.clear_notifications()
        form = await open_form(pilot)
        assert prompt_of(form) == "" and count_of(form) == "1"
        assert "Draft restored" not in said(app)
        assert not app.store.jobs()


async def test_the_draft_outlives_a_restart_in_a_file_next_to_the_config(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await pilot.press(*"the harbour at night")
        form.query_one("#count", Input).value = "2"
        await leave_form(pilot)

    saved = tmp_path / "config" / "compose-draft.json"
    data = json.loads(saved.read_text())
    assert data["prompt"] == "the harbour at night"
    assert "token" not in saved.read_text().lower()
    assert saved.stat().st_mode & 0o077 == 0  # prompts can be private

    again = make_app(tmp_path, monkeypatch)
    async with again.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        assert prompt_of(form) == "the harbour at night" and count_of(form) == "2"
        await pilot.press("f8")
        await pilot.pause()
    assert not saved.exists()
