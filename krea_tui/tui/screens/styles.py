"""StylesScreen: the styles (LoRAs) this token may use, to pick one for the styles field.

Opened from the compose form (f9, on a model with a `styles` field) or the command palette
("styles: browse"). It lists `GET /styles` (core/styles.py) by filter: all, mine, shared with
the workspace, Krea's, the community's, liked; each row says the style's name, whose it is, the
models it fits (✓ when it fits the form's model) and its id. Enter picks the highlighted style
with the strength typed (−2 to 2, default 1): the form's styles field gets it by id (a style
already there gets the new strength). Escape closes without a change. ctrl+t trains a new style
from a folder of pictures (screens/train_style.py); ctrl+r lists again.

From the palette, picking opens a new form with the style in it.
"""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PIL import Image as PILImage
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Label, Select, Static

from krea_tui.core.errors import KreaError
from krea_tui.core.pictures import MAX_PICTURE_PIXELS, configure_pillow, picture_size
from krea_tui.core.styles import (
    DEFAULT_STRENGTH,
    FILTERS,
    STRENGTH_RANGE,
    Style,
    fits,
)
from krea_tui.tui.widgets.halfcell import HalfcellPicture
from krea_tui.tui.worker_errors import ReportsWorkerFailures

if TYPE_CHECKING:
    from krea_tui.tui.app import KreaApp

FILTER_CHOICES: list[tuple[str, str]] = [
    ("all I may use", "all"),
    ("mine", "mine"),
    ("shared with the workspace", "shared"),
    ("Krea's", "krea"),
    ("community", "community"),
    ("liked", "liked"),
]
LIMIT = 500
COVER_BYTES = 20 * 1024 * 1024  # a cover larger than this is not drawn
COVER_SIDE = 256  # covers are scaled to this before they are kept


@dataclass(frozen=True, slots=True)
class StylePick:
    id: str
    strength: float
    name: str


class StylesScreen(ReportsWorkerFailures, ModalScreen[StylePick | None]):
    DEFAULT_CSS = """
    StylesScreen { align: center middle; }
    StylesScreen > Vertical {
        width: 96%; height: 90%; border: round $accent; background: $surface; padding: 0 1;
    }
    StylesScreen .title { text-style: bold; }
    StylesScreen #styles-options { height: 1; margin-bottom: 1; }
    StylesScreen #styles-options > Label { width: auto; padding: 0 1; }
    StylesScreen #style-filter { width: 32; }
    StylesScreen #style-strength { width: 10; }
    StylesScreen #styles-body { height: 1fr; }
    StylesScreen DataTable { height: 1fr; width: 1fr; }
    StylesScreen #style-cover { width: 24; height: 18; margin-left: 1; }
    StylesScreen #styles-note { height: auto; color: $text-muted; }
    """
    BINDINGS = [
        Binding("escape", "close", "Close", id="styles-close"),
        Binding("ctrl+r", "reload", "Reload", id="styles-reload"),
        Binding("ctrl+t", "train", "Train", id="styles-train"),
    ]

    def __init__(self, model_path: str | None = None) -> None:
        super().__init__()
        self._model_path = model_path
        self._styles: list[Style] = []
        self._covers: dict[str, PILImage.Image | None] = {}  # by URL; None: not drawable

    @property
    def krea(self) -> KreaApp:
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Styles", classes="title")
            with Horizontal(id="styles-options"):
                yield Label("Show")
                yield Select(
                    FILTER_CHOICES, value="all", id="style-filter", allow_blank=False, compact=True
                )
                yield Label("Strength")
                yield Input(str(DEFAULT_STRENGTH), id="style-strength", type="number", compact=True)
            with Horizontal(id="styles-body"):
                yield DataTable(id="styles-table", cursor_type="row", zebra_stripes=True)
                yield HalfcellPicture(id="style-cover")
            yield Static("Loading…", id="styles-note")

    def on_mount(self) -> None:
        table: DataTable[Any] = self.query_one(DataTable)
        table.add_column("Name", key="name")
        table.add_column("Whose", key="whose")
        table.add_column("Models", key="models")
        if self._model_path is not None:
            table.add_column("Fits", key="fits")
        table.add_column("Id", key="id")
        table.focus()
        self._load()

    def on_select_changed(self, event: Select.Changed) -> None:
        if event.select.id == "style-filter":
            self._load()

    def action_reload(self) -> None:
        self._load()

    def action_close(self) -> None:
        self.dismiss(None)

    def action_train(self) -> None:
        from krea_tui.tui.screens.train_style import open_training

        open_training(self.krea)

    def _load(self) -> None:
        value = self.query_one("#style-filter", Select).value
        word = value if isinstance(value, str) else "all"
        self.query_one("#styles-note", Static).update("Loading…")
        self.run_worker(self._fetch(word), exclusive=True, group="styles", exit_on_error=False)

    async def _fetch(self, word: str) -> None:
        if not self.krea.ready:
            self._say("The engine is not running yet.", error=True)
            return
        client = self.krea.engine.client
        liked = word == "liked"
        try:
            styles, _ = await client.list_styles(
                filter=FILTERS.get(word, "all"), liked=liked, limit=LIMIT
            )
            if word == "mine":
                mine = {s.id for s in styles}
            else:
                own, _ = await client.list_styles(filter="user", limit=LIMIT)
                mine = {s.id for s in own}
        except KreaError as exc:
            self._say(f"Could not list styles: {exc.message}", error=True)
            return
        self._show(styles, mine)

    def _say(self, text: str, *, error: bool = False) -> None:
        self.query_one("#styles-note", Static).update(Text(text, style="bold red" if error else ""))

    def _show(self, listed: list[Style], mine: set[str]) -> None:
        # A listing may name a style twice (pages that shift meanwhile): each is shown once.
        styles: list[Style] = []
        seen: set[str] = set()
        for style in listed:
            if style.id not in seen:
                seen.add(style.id)
                styles.append(style)
        self._styles = styles
        table: DataTable[Any] = self.query_one(DataTable)
        table.clear()
        for style in styles:
            row: list[Any] = [style.name, style.whose(mine), ", ".join(style.models) or "?"]
            if self._model_path is not None:
                fit = fits(style, self._model_path)
                row.append("✓" if fit else ("" if fit is None else "✗"))
            row.append(style.id)
            table.add_row(*row, key=style.id)
        count = len(styles)
        if count:
            self._say(
                f"{count} style{'s' if count != 1 else ''} · enter picks · ctrl+t trains a new "
                "one from a folder · ctrl+r reloads · esc closes"
            )
        else:
            self._say("No styles here · ctrl+t trains one from a folder · esc closes")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        style = next((s for s in self._styles if s.id == event.row_key.value), None)
        url = style.picture if style is not None else None
        picture = self.query_one("#style-cover", HalfcellPicture)
        if url is None:
            picture.image = None
        elif url in self._covers:
            picture.image = self._covers[url]
        else:
            self.run_worker(
                self._fetch_cover(url), exclusive=True, group="cover", exit_on_error=False
            )

    async def _fetch_cover(self, url: str) -> None:
        """Fetch, decode and show one cover (through the client: it never sends the token to
        another host); one that cannot be had (or that declares more pixels than any model
        makes) leaves the pane empty."""
        image: PILImage.Image | None = None
        try:
            data = await self.krea.engine.client.fetch(url, max_bytes=COVER_BYTES)
            image = await asyncio.to_thread(_decode, data)
        except (KreaError, OSError, ValueError, PILImage.DecompressionBombError):
            image = None
        self._covers[url] = image
        self.query_one("#style-cover", HalfcellPicture).image = image

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        style_id = event.row_key.value
        style = next((s for s in self._styles if s.id == style_id), None)
        if style is None:
            return
        strength = self._strength()
        if strength is None:
            self.app.bell()
            low, high = STRENGTH_RANGE
            self._say(f"Strength: a number from {low:g} to {high:g}", error=True)
            return
        self.dismiss(StylePick(style.id, strength, style.name))

    def _strength(self) -> float | None:
        text = self.query_one("#style-strength", Input).value.strip()
        if not text:
            return DEFAULT_STRENGTH
        try:
            value = float(text)
        except ValueError:
            return None
        low, high = STRENGTH_RANGE
        return value if low <= value <= high else None


def _decode(data: bytes) -> PILImage.Image:
    """A cover decoded and scaled to COVER_SIDE. The header is read first (PictureError, a
    ValueError, for no picture or more pixels than any model makes), so nothing huge decodes;
    other Pillow failures are ValueError too."""
    picture_size(io.BytesIO(data), MAX_PICTURE_PIXELS, of="any model")
    configure_pillow()
    try:
        with PILImage.open(io.BytesIO(data)) as opened:
            opened.draft("RGB", (COVER_SIDE, COVER_SIDE))  # nearly free downscale for JPEG
            image = opened.convert("RGB")
    except Exception as exc:  # Pillow fails in many ways: OSError, SyntaxError, zlib.error…
        raise ValueError(f"the cover is no picture Pillow can read ({exc})") from None
    image.thumbnail((COVER_SIDE, COVER_SIDE))
    return image


def open_styles(app: KreaApp) -> None:
    """The styles screen from the palette: a pick opens a new form with the style in it."""

    def picked(pick: StylePick | None) -> None:
        if pick is not None:
            app.open_compose(request={"styles": [{"id": pick.id, "strength": pick.strength}]})

    app.push_screen(StylesScreen(), picked)
