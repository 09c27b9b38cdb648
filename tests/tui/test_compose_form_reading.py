"""The compose form reads well at 80 and 60 columns, in 256 colours and without colour:
labels are words that stop before their field, problems wrap instead of running off the edge,
the focused field is marked by more than a colour, and ctrl+s points at the first bad field."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from krea_tui.presets import check_name
from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.modals import AskModal
from krea_tui.tui.widgets.field_form import FieldForm, field_label
from tests.tui.conftest import settings_in, settle, until


def make_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KreaApp:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", "20")
    settings = replace(settings_in(tmp_path), config_path=tmp_path / "config" / "config.toml")
    return KreaApp(settings, image_protocol="halfcell")


@contextlib.asynccontextmanager
async def compose_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> AsyncIterator[tuple[KreaApp, Pilot[None], ComposeScreen]]:
    app = make_app(tmp_path, monkeypatch)
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        await pilot.pause()
        yield app, pilot, app.screen  # type: ignore[misc]


def shown(widget: Widget) -> list[str]:
    """The widget's lines as drawn: what does not fit its width is not there."""
    width, height = widget.outer_size
    strips = widget.render_lines(Region(0, 0, width, height))
    return ["".join(segment.text for segment in strip).rstrip() for strip in strips]


def words(widget: Widget) -> str:
    return " ".join(" ".join(shown(widget)).split())


def row_label(form: ComposeScreen, name: str) -> Label:
    parent = form.query_one(f"#field-{name}").parent
    assert parent is not None
    return parent.query_one(Label)


async def show_model(pilot: Pilot[None], form: ComposeScreen, path: str) -> None:
    form.query_one("#model", Select).value = path
    await until(pilot, lambda: form.model.path == path, f"the form for {path}")
    await until(pilot, lambda: bool(form.query(FieldForm)), "its fields")
    await pilot.pause()


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_labels_are_words_that_stop_before_their_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    async with compose_form(tmp_path, monkeypatch, size) as (_app, pilot, form):
        for model in ("bfl/flux-1-dev", "qwen/2512"):
            await show_model(pilot, form, model)
            for field in form.query_one(FieldForm).fields:
                label = row_label(form, field.name)
                expected = field_label(field.name) + (" *" if field.required else "")
                assert words(label) == expected, (model, field.name, shown(label))
                # A blank column between every line of the label and the field.
                assert all(len(line) < label.outer_size.width for line in shown(label)), shown(
                    label
                )


async def test_the_api_name_is_in_the_help_line_and_the_tooltip(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch, (80, 24)) as (_app, pilot, form):
        field = form.query_one("#field-guidance_scale_flux", Input)
        assert words(row_label(form, "guidance_scale_flux")) == "Guidance scale"
        form.set_focus(field)
        help_line = form.query_one("#field-help", Static)
        await until(pilot, lambda: "guidance_scale_flux" in words(help_line), "the API name")
        assert "0–24" in words(help_line)
        assert "guidance_scale_flux" in str(field.tooltip)


async def test_inline_problems_wrap_inside_the_form_at_60_columns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch, (60, 20)) as (_app, pilot, form):
        form.query_one("#field-image_url", Input).value = "not a url at all, only words"
        problem = form.query_one("#problem-image_url")
        await until(pilot, lambda: problem.display, "the problem under the field")
        await pilot.pause()
        text = words(problem)
        assert "must be a valid URL" in text and "only words')" in text, shown(problem)
        assert problem.region.right <= form.query_one("#form").region.right


@pytest.mark.parametrize("size", [(80, 24), (60, 20)], ids=["80x24", "60x20"])
async def test_the_preset_dialog_shows_its_whole_naming_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    async with compose_form(tmp_path, monkeypatch, size) as (app, pilot, _form):
        await pilot.press("f3")
        await until(pilot, lambda: isinstance(app.screen, AskModal), "the save dialog")
        await pilot.pause()
        await pilot.press("#")
        rule = check_name("#")
        assert rule is not None
        note = app.screen.query_one("#ask-note")
        await until(pilot, lambda: rule in str(note.render()), "the naming rule")
        await pilot.pause()
        assert words(note) == rule, shown(note)
        dialog = app.screen.query_one("AskModal > Vertical")
        assert note.region.right <= dialog.region.right


async def test_ctrl_s_with_problems_moves_the_cursor_to_the_first_bad_field(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with compose_form(tmp_path, monkeypatch, (80, 24)) as (app, pilot, form):
        await pilot.press(*"a fox")
        form.query_one("#field-guidance_scale_flux", Input).value = "30"
        form.query_one("#field-steps", Input).value = "0"
        await pilot.pause()
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.focused is not form.query_one("#prompt"), "the cursor")
        assert app.screen is form and app.focused is form.query_one("#field-steps")

        await pilot.press("backspace", "2", "0")
        await pilot.press("ctrl+s")
        await until(pilot, lambda: app.focused is not form.query_one("#field-steps"), "the cursor")
        assert app.focused is form.query_one("#field-guidance_scale_flux")


@pytest.mark.parametrize("env", ["NO_COLOR", "256"])
async def test_the_focused_field_is_marked_without_colour(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: str
) -> None:
    if env == "NO_COLOR":
        monkeypatch.setenv("NO_COLOR", "1")
    else:
        monkeypatch.setenv("TERM", "xterm-256color")
        monkeypatch.delenv("COLORTERM", raising=False)
    async with compose_form(tmp_path, monkeypatch, (100, 40)) as (app, pilot, form):
        labels = list(form.query(Label))

        def label_of(name: str) -> Label:
            return next(label for label in labels if words(label).lower() == name)

        for widget_id, name in [
            ("#prompt", "prompt"),
            ("#count", "images (n)"),
            ("#seed-mode", "seed"),
            ("#field-steps", "steps"),
            ("#field-strength", "strength"),
            ("#model", "model"),
        ]:
            target = form.query_one(widget_id)
            form.set_focus(target)
            await until(pilot, lambda target=target: app.focused is target, widget_id)  # type: ignore[misc]
            await pilot.pause()
            marked = label_of(name)
            others = {look(form, label) for label in labels if label is not marked and label.region}
            assert look(form, marked) not in others, (widget_id, look(form, marked), others)


def look(screen: ComposeScreen, label: Label) -> object:
    """What is left of the label's first cell once colours are gone."""
    return screen.get_style_at(label.region.x, label.region.y).without_color
