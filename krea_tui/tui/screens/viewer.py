"""ResultViewer: the picture as well as the terminal can show it, its metadata, and actions."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path
from typing import Any

import platformdirs
from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Label, Static

from krea_tui.core import ratings
from krea_tui.core.files import free_path
from krea_tui.core.store import StoredJob
from krea_tui.tui.images import (
    UnreadablePicture,
    fit_cells,
    image_size,
    image_widget_class,
)
from krea_tui.tui.messages import EngineEvents
from krea_tui.tui.rating_keys import judge, picture_bindings
from krea_tui.tui.screens.enhance import enhance_jobs
from krea_tui.tui.screens.krea_access import KreaAccess
from krea_tui.tui.thumbnails import load_fitted
from krea_tui.tui.widgets.job_detail import parameters_table


def shown_path(path: str | Path, results_dir: Path, home: Path | None = None) -> str:
    """A saved file as a person reads it on screen: its place in the results folder (what the
    name template made: "2026-11-23/19c0ffee-….png"), else with ~ for the home folder."""
    path = Path(path)
    with contextlib.suppress(ValueError):
        return path.relative_to(results_dir).as_posix()
    try:
        home = home or Path.home()
    except RuntimeError:  # no home folder to speak of
        return str(path)
    with contextlib.suppress(ValueError):
        return "~/" + path.relative_to(home).as_posix()
    return str(path)


class CopyMenu(ModalScreen[str | None]):
    """`c` in the viewer: which of the job's facts to copy."""

    DEFAULT_CSS = """
    CopyMenu { align: center middle; }
    CopyMenu > Vertical { width: 40; height: auto; border: thick $primary; background: $surface;
                          padding: 1 2; }
    """
    BINDINGS = [
        Binding("s", "pick('seed')", "Seed", id="copy-seed-pick"),
        Binding("p", "pick('prompt')", "Prompt", id="copy-prompt-pick"),
        Binding("u", "pick('url')", "URL", id="copy-url-pick"),
        Binding("i", "pick('id')", "Job id", id="copy-id-pick"),
        Binding("escape", "pick('')", "Close", id="copy-close"),
    ]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Copy what?  [b]s[/]eed · [b]p[/]rompt · [b]u[/]rl · job [b]i[/]d")

    def action_pick(self, what: str) -> None:
        self.dismiss(what or None)


class ResultViewer(KreaAccess, Screen[None]):
    BINDING_GROUP_TITLE = "Result"
    DEFAULT_CSS = """
    ResultViewer #viewer-body { height: 1fr; }
    ResultViewer #picture-box { width: 1fr; height: 1fr; align: center middle; }
    ResultViewer #meta { width: 38; border-left: solid $panel-lighten-2; padding: 0 1; }
    ResultViewer.-narrow #meta { display: none; }
    ResultViewer #position { height: 1; padding: 0 1; background: $panel; }
    """
    BINDINGS = [
        Binding("escape,q", "back", "Back", id="viewer-back"),
        Binding("left,h,left_square_bracket", "step(-1)", "Prev", id="viewer-prev"),
        Binding("right,l,right_square_bracket", "step(1)", "Next", id="viewer-next"),
        Binding("y", "copy('seed')", "Copy seed", id="copy-seed"),
        Binding("c", "copy_menu", "Copy…", id="copy-menu"),
        Binding("s", "save_copy", "Save copy", id="save-copy"),
        Binding("r", "rerun(False)", "Re-run", id="viewer-rerun"),
        Binding("R", "rerun(True)", "New seed", id="viewer-rerun-seed"),
        Binding("e", "edit", "Edit", id="viewer-edit"),
        Binding("i", "use_as_input", "As input", show=False, id="viewer-as-input"),
        Binding("u", "enhance", "Enhance", id="viewer-enhance"),
        Binding("v", "enhanced", "Enhanced/original", show=False, id="viewer-enhanced"),
        Binding("m", "toggle_meta", "Details", show=False, id="viewer-meta"),
        *picture_bindings("viewer"),  # 0-5 rate, p pick, x reject (rating_keys)
    ]

    def __init__(self, local_ids: list[str], current: str, *, protocol: str = "halfcell"):
        super().__init__()
        self._ids = local_ids or [current]
        self._index = self._ids.index(current) if current in self._ids else 0
        self._protocol = protocol

    @property
    def job(self) -> StoredJob:
        return self.krea.store.get(self._ids[self._index])

    def compose(self) -> ComposeResult:
        with Horizontal(id="viewer-body"):
            with Center(id="picture-box"):
                yield image_widget_class(self._protocol)(id="picture")
            yield VerticalScroll(Static(id="meta-text"), id="meta")
        yield Static("", id="position")
        yield Footer()

    def on_mount(self) -> None:
        if self.size.width < 100:
            self.add_class("-narrow")
        # After the first layout, so the picture box has its real size.
        self.call_after_refresh(self._show)

    def on_resize(self) -> None:
        self._show()

    def _show(self) -> None:
        job = self.job
        self.query_one("#meta-text", Static).update(parameters_table(job))
        where = f"{self._index + 1}/{len(self._ids)}"
        results = self.krea.settings.results_dir
        saved = shown_path(job.files[0], results) if job.files else "not saved"
        judged = ratings.label(job)
        self.query_one("#position", Static).update(
            Text.assemble(
                (f" {where} ", "reverse"),
                (f" {judged}" if judged else "", "bold yellow"),
                f" {job.short_id} · {job.prompt[:60]} · {saved}",
            )
        )
        box = self.query_one("#picture-box")
        cols, rows = box.size.width or 40, box.size.height or 20
        if job.files:
            self._load(Path(job.files[0]), cols, rows)

    @work(thread=True, exclusive=True, group="viewer-image", exit_on_error=False)
    def _load(self, path: Path, cols: int, rows: int) -> None:
        """Decode and scale off the event loop; the widget only gets a small, ready image."""
        try:
            width_px, height_px = image_size(path)  # the header only
            image, _ = load_fitted(path, cols, rows, self._protocol)
        except (OSError, UnreadablePicture) as exc:
            # Removed meanwhile, broken, or a decompression bomb: nothing to draw, and why.
            self.app.call_from_thread(self._place, None, (1, 1))
            self.app.call_from_thread(self.notify, f"cannot show it: {exc}", severity="warning")
            return
        self.app.call_from_thread(self._place, image, (width_px, height_px))

    def _place(self, image: Any, original: tuple[int, int]) -> None:
        # Sized from the box as it is now, not as it was when decoding started: the first
        # layout may have settled meanwhile.
        box = self.query_one("#picture-box")
        cells = fit_cells(*original, box.size.width or 40, box.size.height or 20)
        picture = self.query_one("#picture")
        picture.styles.width = cells[0]
        picture.styles.height = cells[1]
        picture.image = image  # type: ignore[attr-defined]

    def on_engine_events(self, message: EngineEvents) -> None:
        """A result saved while the viewer is open joins the list."""
        added = False
        for event in message.events:
            job = getattr(event, "job", None)
            if job is not None and job.files and job.local_id not in self._ids:
                self._ids.append(job.local_id)
                added = True
        if added:
            self._show_position_only()

    def _show_position_only(self) -> None:
        job = self.job
        self.query_one("#position", Static).update(
            Text.assemble((f" {self._index + 1}/{len(self._ids)} ", "reverse"), f" {job.short_id}")
        )

    # -- actions -------------------------------------------------------------------------------

    def action_back(self) -> None:
        self.dismiss()

    def action_step(self, offset: int) -> None:
        self._index = (self._index + offset) % len(self._ids)
        self._show()

    def action_judge(self, kind: str, value: int) -> None:
        """Rate, pick or reject this picture (again: take it back), then on to the next."""
        judge(self.krea, [self.job], (kind, value))
        if len(self._ids) > 1:
            self.action_step(1)
        else:
            self._show()

    def action_copy(self, what: str) -> None:
        job = self.job
        value: Any = {
            "seed": job.request.get("seed"),
            "prompt": job.prompt,
            "url": job.urls[0] if job.urls else None,
            "id": job.remote_id or job.local_id,
        }.get(what)
        if value is None or value == "":
            self.notify(f"This job has no {what}", severity="warning")
            return
        self.krea.copy(str(value), {"id": "job id", "url": "URL"}.get(what, what))

    def action_copy_menu(self) -> None:
        def picked(what: str | None) -> None:
            if what:
                self.action_copy(what)

        self.app.push_screen(CopyMenu(), picked)

    def action_save_copy(self) -> None:
        job = self.job
        if not job.files:
            return
        source = Path(job.files[0])
        target = free_path(Path(platformdirs.user_downloads_dir()) / source.name)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        except OSError as exc:
            self.notify(f"Could not save: {exc.strerror}", severity="error")
            return
        self.notify(f"Saved a copy to {target}", timeout=5)

    def action_rerun(self, new_seed: bool) -> None:
        self.krea.resend([self.job], new_seed=new_seed)

    def action_edit(self) -> None:
        job = self.job
        if job.model.startswith("enhance/"):  # the compose form offers image models only
            self.notify("An enhance job has no form: u enhances this picture again", timeout=4)
            return
        self.krea.open_compose(model=job.model, request=job.request, parent=job.local_id)

    def action_use_as_input(self) -> None:
        job = self.job
        if job.urls and job.model.startswith("enhance/"):
            # An upscaled picture feeds a new generation on the default image model.
            self.krea.open_compose(request={"image_url": job.urls[0]}, parent=job.local_id)
            return
        model = self.krea.catalog.get(job.model)
        if not job.urls or model.field("image_url") is None:
            self.notify("This model does not take an input image", severity="warning")
            return
        self.krea.open_compose(
            model=job.model, request={"image_url": job.urls[0]}, parent=job.local_id
        )

    def action_enhance(self) -> None:
        """Ask model and scale for this job's pictures (screens/enhance.py), then send."""
        enhance_jobs(self.krea, [self.job])

    def action_enhanced(self) -> None:
        """From a picture to its enhanced version (the newest enhance job made from it, of
        this picture first), and from an enhanced picture back to the one it was made from."""
        job = self.job
        if job.model.startswith("enhance/") and job.parent_id:
            target = self._saved(job.parent_id, "the original picture")
        else:
            shown = job.urls[0] if job.urls else None
            enhanced = [
                c for c in self.krea.store.children(job.local_id) if c.model.startswith("enhance/")
            ]
            if not enhanced:
                self.notify("No enhanced version of this picture: u enhances it", timeout=3)
                return
            enhanced.sort(key=lambda c: (c.request.get("image_url") == shown, c.position))
            target = self._saved(enhanced[-1].local_id, "its enhanced version")
        if target is None:
            return
        if target not in self._ids:
            self._ids.append(target)
        self._index = self._ids.index(target)
        self._show()

    def _saved(self, local_id: str, what: str) -> str | None:
        """`local_id` if that job has a saved picture to show; else None, and why, said."""
        try:
            job = self.krea.store.get(local_id)
        except KeyError:
            self.notify(f"{what.capitalize()} is no longer in the history", timeout=3)
            return None
        if not job.files:
            self.notify(
                f"{what.capitalize()} ({job.short_id}) is {job.status}, not saved yet", timeout=3
            )
            return None
        return local_id

    def action_toggle_meta(self) -> None:
        self.toggle_class("-narrow")
