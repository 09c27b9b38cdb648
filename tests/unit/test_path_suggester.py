"""Path completion for image fields of the compose form."""

from __future__ import annotations

from pathlib import Path

import pytest

from krea_tui.core.catalog import bundled_catalog
from krea_tui.tui.path_suggester import complete_path, takes_path


def test_completes_pictures_and_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "photo.png").write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "shots").mkdir()
    (tmp_path / ".hidden.png").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    assert complete_path("./ph") == "./photo.png"
    assert complete_path(f"{tmp_path}/sh") == f"{tmp_path}/shots/"
    assert complete_path("./no") is None  # not a picture
    assert complete_path("./") == "./photo.png"  # hidden names wait for a dot
    assert complete_path("./.h") == "./.hidden.png"
    assert complete_path("photo") is None  # words, not yet a path
    assert complete_path("./photo.png") is None  # complete already


def test_which_fields_take_a_path() -> None:
    flux = bundled_catalog().get("bfl/flux-1-kontext-dev")
    image_url = flux.field("image_url")
    prompt = flux.field("prompt")
    assert image_url is not None and takes_path(image_url)
    assert prompt is not None and not takes_path(prompt)
