"""Under Zero Data Retention a training is refused, from the command line and from the TUI:
a training needs its pictures uploaded as assets, and that mode uploads nothing (its pictures
would otherwise be kept, base64, in the history's copy of the request)."""

from __future__ import annotations

import argparse
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from krea_tui.headless import UsageError
from krea_tui.headless_styles import cmd_train_style
from tests.integration.test_cli_styles import pictures


def runtime_with(zdr: bool) -> Any:
    inputs = SimpleNamespace(zero_data_retention=zdr, on_progress=None)

    async def url_for(_path: str) -> str:
        raise AssertionError("nothing may be read or uploaded")

    inputs.url_for = url_for
    engine = SimpleNamespace(submitter=SimpleNamespace(inputs=inputs))

    def submit(*_a: object, **_k: object) -> None:
        raise AssertionError("nothing may be queued")

    engine.submit = submit
    return SimpleNamespace(engine=engine)


async def test_train_style_refuses_under_zero_data_retention(tmp_path: Path) -> None:
    folder = pictures(tmp_path / "pics", 3)
    args = argparse.Namespace(
        name="inkwash",
        dir=str(folder),
        model="flux_dev",
        type=None,
        trigger=None,
        steps=10,
        yes=True,
        wait=False,
        json=False,
        timeout=None,
    )
    with pytest.raises(UsageError, match="Zero Data Retention") as caught:
        await cmd_train_style(runtime_with(True), args)
    assert "upload" in str(caught.value)
