"""Editing a held job shows what it will cost before it is saved: an edit can make it dearer
(a character reference on Ideogram costs 2.5x), and the spend limits add up the estimates."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from textual.app import App, ComposeResult
from textual.widgets import Label, TextArea

from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.store import StoredJob
from krea_tui.tui.screens.edit_held import EditHeldModal

CATALOG = bundled_catalog()
IDEOGRAM = "ideogram/ideogram-3"
PLAIN = {"prompt": "a poster"}


class Host(App[None]):
    def compose(self) -> ComposeResult:
        yield Label("host")


def held(request: dict[str, object]) -> StoredJob:
    cost, unit = CATALOG.cost_with_unit(IDEOGRAM, request)
    return StoredJob(
        local_id="a" * 32,
        model=IDEOGRAM,
        request=request,
        status="held",
        position=1.0,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
        cost_estimate=cost,
        cost_unit=unit,
    )


async def test_the_price_follows_the_edit_before_it_is_saved() -> None:
    app = Host()
    async with app.run_test() as pilot:
        modal = EditHeldModal(held(PLAIN), CATALOG)
        await app.push_screen(modal)
        await pilot.pause()
        price = modal.query_one("#edit-price", Label)
        assert "$0.063" in str(price.render()) and "→" not in str(price.render())
        dearer = {**PLAIN, "character_reference_images": ["https://x.test/face.png"]}
        modal.query_one(TextArea).text = json.dumps(dearer)
        await pilot.pause()
        assert "$0.063 → $0.158" in str(price.render())
