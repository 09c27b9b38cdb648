"""Under Zero Data Retention the TUI refuses a training: the form does not open (a toast says
why), and a plan sent anyway queues nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from krea_tui.tui.screens.train_style import TrainStyleModal, open_training, start_training
from tests.tui.conftest import until
from tests.tui.test_list_fields import make_app


async def test_training_is_refused_under_zero_data_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = make_app(tmp_path, monkeypatch)
    said: list[str] = []
    async with app.run_test(size=(100, 40)) as pilot:
        await until(pilot, lambda: app.ready, "the engine")
        inputs = app.engine.submitter.inputs
        assert inputs is not None
        monkeypatch.setattr(inputs, "zero_data_retention", True)
        original = app.notify

        def notify(message: str, *args: Any, **kwargs: Any) -> None:
            said.append(message)
            original(message, *args, **kwargs)

        monkeypatch.setattr(app, "notify", notify)
        open_training(app)
        await pilot.pause()
        assert not isinstance(app.screen, TrainStyleModal)
        assert any("Zero Data Retention" in m for m in said), said
        said.clear()
        picture = tmp_path / "p.png"
        plan = {"name": "inkwash", "urls": [str(picture)], "model": "flux_dev"}
        await start_training(app, plan)
        assert not [j for j in app.store.jobs() if j.model == "styles/train"]
        assert any("Zero Data Retention" in m and "upload" in m for m in said), said
