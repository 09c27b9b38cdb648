"""The app driven from the keyboard against the embedded simulator over real loopback HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from textual.pilot import Pilot

from krea_tui.tui.app import KreaApp
from krea_tui.tui.screens.compose import ComposeScreen
from krea_tui.tui.screens.modals import MessageModal
from krea_tui.tui.screens.viewer import ResultViewer
from tests.tui.conftest import settings_in, settle, until
from tests.tui.queue_support import cell, main_screen


def demo_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, speed: float) -> KreaApp:
    monkeypatch.setenv("KREA_TUI_DEMO_SPEED", str(speed))
    return KreaApp(settings_in(tmp_path, demo=True), image_protocol="halfcell")


def status_cell(app: KreaApp, local_id: str) -> str:
    return cell(main_screen(app).table, local_id, "status")


async def compose_and_submit(pilot: Pilot[None], prompt: str) -> None:
    await pilot.press("n")
    await until(pilot, lambda: isinstance(pilot.app.screen, ComposeScreen), "the compose form")
    await pilot.pause()
    await pilot.press(*prompt)
    await pilot.press("ctrl+s")
    await until(pilot, lambda: not isinstance(pilot.app.screen, ComposeScreen), "the form to close")


async def test_compose_submit_watch_open_and_copy_seed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = demo_app(tmp_path, monkeypatch, speed=2)  # Flux ~3.5 s, looked at every 0.25 s
    shown: dict[str, list[str]] = {}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await compose_and_submit(pilot, "a red fox in the snow")
        await until(pilot, lambda: len(app.store.jobs()) == 1, "the job in the history")
        job_id = app.store.jobs()[0].local_id

        def record() -> bool:
            # What the table shows, sampled as the app runs: the user's view of the statuses.
            cell = status_cell(app, job_id)
            seen = shown.setdefault(job_id, [])
            if not seen or seen[-1] != cell:
                seen.append(cell)
            job = app.store.get(job_id)
            return job.status == "completed" and bool(job.files)

        await until(pilot, record, "the job to complete and be saved")
        await pilot.pause(0.2)
        assert "done" in status_cell(app, job_id)
        assert len(shown[job_id]) >= 3, shown  # it moved through several states on screen
        assert any("queued" in s or "processing" in s or "sampling" in s for s in shown[job_id])

        job = app.store.get(job_id)
        assert job.request["prompt"] == "a red fox in the snow"
        assert isinstance(job.request["seed"], int)  # chosen here, so it can be copied later

        await pilot.press("enter")
        await until(pilot, lambda: isinstance(app.screen, ResultViewer), "the viewer")
        await settle(pilot)
        picture = app.screen.query_one("#picture")
        assert picture.image is not None  # type: ignore[attr-defined]
        assert picture.size.width > 10 and picture.size.height > 5

        await pilot.press("y")
        seed = str(job.request["seed"])
        await until(pilot, lambda: app.clipboard == seed, "the seed on the clipboard")


async def test_invalid_form_is_not_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app = demo_app(tmp_path, monkeypatch, speed=10)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        await pilot.pause()
        await pilot.press(*"x")
        app.screen.query_one("#field-steps").value = "0"  # type: ignore[attr-defined]
        await pilot.pause()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)  # still open, nothing sent
        assert app.store.jobs() == []
        problem = str(app.screen.query_one("#problem-steps").render())
        assert "steps" in problem and "at least 1" in problem


async def test_blank_prompt_is_not_sent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The same rule as `krea-tui submit "   "`: the catalogue's validation, for both.
    app = demo_app(tmp_path, monkeypatch, speed=10)
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        await pilot.pause()
        await pilot.press("space", "space", "space")
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, ComposeScreen)  # still open, nothing sent
        assert app.store.jobs() == []
        assert "prompt: required" in str(app.screen.query_one("#general-problems").render())


async def test_cancel_a_held_job_and_a_running_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = demo_app(tmp_path, monkeypatch, speed=0.5)  # Flux takes ~14 s: time to cancel
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("p")  # pause: the next job stays in the local queue
        await until(pilot, lambda: app.engine.paused, "the queue to pause")
        await compose_and_submit(pilot, "held back")
        await until(pilot, lambda: len(app.store.jobs()) == 1, "the held job")
        held = app.store.jobs()[0]
        assert held.status == "held"
        await pilot.press("c", "y")
        await until(pilot, lambda: app.store.get(held.local_id).status == "cancelled", "cancel")
        assert app.store.get(held.local_id).remote_id is None  # it never reached the server

        await pilot.press("p")  # resume
        await compose_and_submit(pilot, "sent and stopped")
        await until(pilot, lambda: len(app.store.jobs()) == 2, "the second job")
        sent = app.store.jobs()[-1]
        await until(
            pilot,
            lambda: app.store.get(sent.local_id).status in ("queued", "processing"),
            "a cancellable state",
        )
        table = main_screen(app).table
        table.move_cursor(row=table.index_of_key(sent.local_id))
        await pilot.press("c", "y")
        await until(pilot, lambda: app.store.get(sent.local_id).status == "cancelled", "cancel")
        await pilot.pause(0.1)
        assert "cancelled" in status_cell(app, sent.local_id)


async def test_setup_problem_is_shown_not_crashed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KREA_API_TOKEN", raising=False)
    app = KreaApp(settings_in(tmp_path, demo=False), image_protocol="halfcell")
    async with app.run_test(size=(80, 24)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, MessageModal), "the error modal")
        text = " ".join(str(s.render()) for s in app.screen.query("Static"))
        assert "KREA_API_TOKEN" in text and "--demo" in text
        assert app.is_running


async def test_keymap_from_config_rebinds_by_id(
    tmp_path: Path, static_app: Callable[..., KreaApp]
) -> None:
    app = static_app()
    app.settings.keymap = {"new-job": "a"}
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        await pilot.press("n")  # the old key no longer opens the form
        await pilot.pause()
        assert not isinstance(app.screen, ComposeScreen)
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        await pilot.press("escape", "f1")
        await pilot.pause()
        keys = {binding_id: k for k, _, binding_id in app.screen.rows}  # type: ignore[attr-defined]
        assert keys["new-job"] == "a"  # help shows the keys as the user rebound them


async def test_help_lists_keys_with_their_ids(static_app: Callable[..., KreaApp]) -> None:
    app = static_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f1")
        await pilot.pause()
        ids = {binding_id for _, _, binding_id in app.screen.rows}  # type: ignore[attr-defined]
        assert {"new-job", "open-result", "cancel-job", "toggle-queue", "help"} <= ids
        keys = {binding_id: keys for keys, _, binding_id in app.screen.rows}  # type: ignore[attr-defined]
        assert keys["new-job"] == "n"


async def test_save_a_preset_then_load_it_into_a_new_form(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, static_app: Callable[..., KreaApp]
) -> None:
    presets_file = tmp_path / "presets.toml"
    monkeypatch.setattr("krea_tui.presets.default_presets_path", lambda: presets_file)
    app = static_app()
    async with app.run_test(size=(100, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the compose form")
        form = app.screen
        form.query_one("#field-steps").value = "40"  # type: ignore[attr-defined]
        form.query_one("#field-width").value = "768"  # type: ignore[attr-defined]
        await pilot.press("f3")
        await pilot.pause()
        await pilot.press(*"portrait", "enter")
        await until(pilot, presets_file.exists, "presets.toml")
        text = presets_file.read_text()
        assert "[presets.portrait]" in text and "steps = 40" in text and "width = 768" in text
        await pilot.press("escape")  # leave the form

        await pilot.press("n")
        await until(pilot, lambda: isinstance(app.screen, ComposeScreen), "the form again")
        await pilot.pause()
        # The form left with esc comes back as a draft; f8 discards it for a fresh form.
        assert app.screen.query_one("#field-steps").value == "40"  # type: ignore[attr-defined]
        await pilot.press("f8")
        await pilot.pause()
        assert app.screen.query_one("#field-steps").value == ""  # type: ignore[attr-defined]
        await pilot.press("f2")
        await pilot.pause()
        await pilot.press("enter")  # the only preset
        await until(
            pilot,
            lambda: app.screen.query_one("#field-steps").value == "40",  # type: ignore[attr-defined]
            "the preset's values in the form",
        )
        bodies, _ = app.screen.requests()  # type: ignore[attr-defined]
        assert bodies[0]["steps"] == 40 and bodies[0]["width"] == 768
