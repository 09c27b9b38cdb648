"""Presets and the prompt history from the compose form, against the embedded simulator."""

from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList, TextArea

from krea_tui.presets import Preset, load_defaults, load_presets, save_preset, set_default
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.modals import AskModal, ConfirmModal
from krea_tui.tui.screens.presets import PresetsModal, PromptHistoryModal
from tests.tui.conftest import settings_in, settle, until


def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KreaApp:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(settings, image_protocol="halfcell")


def presets_file(tmp_path: Path) -> Path:
    return tmp_path / "config" / "presets.toml"


async def open_form(pilot: Pilot[None]) -> ComposeScreen:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen), "the compose form")
    await pilot.pause()
    return pilot.app.screen  # type: ignore[return-value]


async def on_screen(pilot: Pilot[None], kind: type) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, kind), kind.__name__)
    await pilot.pause()


async def load_highlighted_preset(pilot: Pilot[None]) -> None:
    """F2 from the form, enter on the highlighted preset, back on the form."""
    await pilot.press("f2")
    await on_screen(pilot, PresetsModal)
    await pilot.press("enter")
    await on_screen(pilot, ComposeScreen)


async def test_a_preset_saved_before_a_restart_sends_the_same_request(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await pilot.press(*"a lighthouse at dusk")
        form.query_one("#field-steps", Input).value = "40"
        form.query_one("#field-width", Input).value = "768"
        form.query_one("#seed", Input).value = "4242"
        await pilot.press("f3")
        await on_screen(pilot, AskModal)
        await pilot.press(*"dusk", "enter")
        await until(pilot, presets_file(tmp_path).exists, "presets.toml")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(app.store.jobs()) == 1, "the first job")
        (first_job,) = app.store.jobs()
        first = first_job.request

    # What a user sees in an editor: one readable table per preset.
    text = presets_file(tmp_path).read_text()
    assert "[presets.dusk]" in text and 'model = "bfl/flux-1-dev"' in text
    assert "[presets.dusk.params]" in text and "steps = 40" in text and "seed = 4242" in text
    assert "prompt =" not in text  # the prompt is the job's, not the preset's

    again = make_app(tmp_path, monkeypatch)
    async with again.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await load_highlighted_preset(pilot)
        await pilot.press("f5")
        await on_screen(pilot, PromptHistoryModal)
        await pilot.press(*"lighthouse", "enter")
        await on_screen(pilot, ComposeScreen)
        assert form.query_one("#prompt", TextArea).text == "a lighthouse at dusk"
        await pilot.press("ctrl+s")
        await until(pilot, lambda: len(again.store.jobs()) == 2, "the second job")
        (second_job,) = [j for j in again.store.jobs() if j.local_id != first_job.local_id]
    assert second_job.request == first
    assert first["steps"] == 40 and first["seed"] == 4242


async def test_replacing_a_preset_asks_first_and_keeps_its_template(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = presets_file(tmp_path)
    path.parent.mkdir(parents=True)
    save_preset(
        Preset("mine", "bfl/flux-1-dev", {"steps": 10}, "{prompt}, film grain", {"note": "x"}),
        path,
    )
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        form.query_one("#field-steps", Input).value = "33"
        await pilot.press("f3")
        await on_screen(pilot, AskModal)
        await pilot.press(*"mine", "enter")
        await on_screen(pilot, ConfirmModal)
        await pilot.press("n")
        await on_screen(pilot, ComposeScreen)
        assert load_presets(path)["mine"].params == {"steps": 10}

        await pilot.press("f3")
        await on_screen(pilot, AskModal)
        await pilot.press(*"mine", "enter")
        await on_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await until(
            pilot, lambda: load_presets(path)["mine"].params == {"steps": 33}, "the replacement"
        )
    kept = load_presets(path)["mine"]
    assert kept.prompt_template == "{prompt}, film grain" and kept.extra == {"note": "x"}


async def test_the_manager_renames_duplicates_sets_a_default_and_deletes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = presets_file(tmp_path)
    path.parent.mkdir(parents=True)
    save_preset(Preset("alpha", "bfl/flux-1-dev", {"steps": 12}), path)
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await open_form(pilot)
        await pilot.press("f2")
        await on_screen(pilot, PresetsModal)

        await pilot.press("f2")  # rename
        await on_screen(pilot, AskModal)
        await pilot.press("ctrl+u", *"beta", "enter")
        await until(pilot, lambda: set(load_presets(path)) == {"beta"}, "the rename")

        await pilot.press("ctrl+d")  # duplicate, under the suggested name
        await on_screen(pilot, AskModal)
        await pilot.press("enter")
        await until(pilot, lambda: set(load_presets(path)) == {"beta", "beta copy"}, "a copy")

        await pilot.press("ctrl+t")  # the highlighted one (the copy) becomes the default
        await until(pilot, lambda: load_defaults(path) == {"bfl/flux-1-dev": "beta copy"}, "★")
        options = app.screen.query_one(OptionList)
        assert "★ default" in str(options.get_option("beta copy").prompt)

        await pilot.press("delete")
        await on_screen(pilot, ConfirmModal)
        await pilot.press("y")
        await until(pilot, lambda: set(load_presets(path)) == {"beta"}, "the deletion")
        assert load_defaults(path) == {}  # no default left pointing at nothing


async def test_a_fresh_form_starts_from_the_models_default_preset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = presets_file(tmp_path)
    path.parent.mkdir(parents=True)
    save_preset(Preset("tall", "bfl/flux-1-dev", {"width": 768, "height": 1344}), path)
    set_default("bfl/flux-1-dev", "tall", path)
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await pilot.press(*"x")
        bodies, problems = form.requests()
        assert problems == []
        assert bodies[0]["width"] == 768 and bodies[0]["height"] == 1344


async def test_a_stale_preset_loads_what_it_can_and_says_what_it_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = presets_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text(
        '[presets.old]\nmodel = "bfl/flux-1-dev"\n'
        "[presets.old.params]\nsteps = 999\nwidth = 768\nhdr_boost = true\n"
    )
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        form = await open_form(pilot)
        await load_highlighted_preset(pilot)
        assert form.query_one("#field-width", Input).value == "768"
        assert form.query_one("#field-steps", Input).value == ""
        said = " ".join(str(n.message) for n in app._notifications)
        assert "steps" in said and "hdr_boost" in said and "no such field" in said
    assert tomllib.loads(path.read_text())["presets"]["old"]["params"]["steps"] == 999


async def test_a_broken_presets_file_is_reported_and_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = presets_file(tmp_path)
    path.parent.mkdir(parents=True)
    path.write_text("[presets.x\nmodel = ")
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await open_form(pilot)
        await pilot.press("f3")
        await on_screen(pilot, AskModal)
        await pilot.press(*"new", "enter")
        await until(
            pilot,
            lambda: (
                any("not valid TOML" in str(n.message) for n in app._notifications)
                or app.screen.__class__.__name__ == "MessageModal"
            ),
            "the error",
        )
    assert path.read_text() == "[presets.x\nmodel = "


async def test_config_problems_and_an_unknown_theme_show_as_toasts_at_start(
    tmp_path: Path,
) -> None:
    from tests.tui.history import NOW, static_runtime_factory

    settings = replace(settings_in(tmp_path), theme="no-such-theme")
    app = KreaApp(
        settings,
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, 3),
        clock=lambda: NOW,
        warnings=[
            "config.toml: unknown key 'max_inflight' ignored (did you mean 'max_in_flight'?)"
        ],
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        said = [str(n.message) for n in app._notifications]
        assert any("did you mean 'max_in_flight'" in s for s in said)
        assert any("unknown theme 'no-such-theme'" in s for s in said)
        assert app.theme == "textual-dark"  # started anyway, on the default


async def test_the_theme_setting_is_applied(tmp_path: Path) -> None:
    from tests.tui.history import NOW, static_runtime_factory

    app = KreaApp(
        replace(settings_in(tmp_path), theme="nord"),
        image_protocol="halfcell",
        runtime_factory=static_runtime_factory(tmp_path, 3),
        clock=lambda: NOW,
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert app.theme == "nord"
