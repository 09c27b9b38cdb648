"""Local files as inputs, without a server: which fields are images (from the schemas), what
counts as a local path, the checks before an upload, and the history's hash → asset memory."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import pytest
from PIL import Image

from krea_tui.core.asset_types import MAX_ASSET_BYTES, Asset, asset_kind
from krea_tui.core.assets import (
    InputProblem,
    absolute_inputs,
    data_uri,
    is_local,
    local_inputs,
    read_input,
    validation_body,
)
from krea_tui.core.catalog import bundled_catalog
from krea_tui.core.image_fields import image_locations, image_values
from krea_tui.core.store import JobStore


def png(path: Path, size: tuple[int, int] = (4, 4)) -> Path:
    out = io.BytesIO()
    Image.new("RGB", size, "blue").save(out, format="PNG")
    path.write_bytes(out.getvalue())
    return path


def test_image_fields_come_from_the_schemas() -> None:
    catalog = bundled_catalog()
    flux = image_locations(catalog.get("bfl/flux-1-dev").schema)
    assert ("image_url",) in flux
    assert ("style_images", "[]", "url") in flux
    assert ("image_style_references", "[]", "url") in flux
    assert ("prompt",) not in flux
    assert ("image_urls", "[]") in image_locations(catalog.get("openai/gpt-image").schema)
    ideogram = image_locations(catalog.get("ideogram/ideogram-3").schema)
    assert ("character_reference_images", "[]") in ideogram
    runway = image_locations(catalog.get("runway/gen-4-image").schema)
    assert ("reference_images", "[]", "url") in runway
    # Every model with an image field of any kind is found; no model's prompt is one.
    for model in catalog.models():
        for location in image_locations(model.schema):
            assert "prompt" not in location


def test_image_values_name_each_place() -> None:
    schema = bundled_catalog().get("bfl/flux-1-dev").schema
    body = {
        "prompt": "x",
        "image_url": "a.png",
        "style_images": [{"url": "b.png", "strength": 1}, {"url": "https://x/c.png"}],
    }
    found = dict(image_values(body, image_locations(schema)))
    assert found == {
        "image_url": "a.png",
        "style_images.0.url": "b.png",
        "style_images.1.url": "https://x/c.png",
    }


@pytest.mark.parametrize(
    ("value", "local"),
    [
        ("./photo.png", True),
        ("photo.png", True),
        ("/tmp/x.jpg", True),
        ("~/x.jpg", True),
        ("file:///tmp/x.jpg", True),
        ("https://cdn.example/x.png", False),
        ("http://127.0.0.1:8000/uploads/x/y.png", False),
        ("data:image/png;base64,AAAA", False),
        ("", False),
        ("not a url at all, only words", False),  # validation says: not a URL
    ],
)
def test_what_is_a_local_path(value: str, local: bool) -> None:
    assert is_local(value) is local


def test_checks_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputProblem, match=r"missing\.png"):
        read_input(str(tmp_path / "missing.png"))
    with pytest.raises(InputProblem, match="is a folder"):
        read_input(str(tmp_path))
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(InputProblem, match=r"notes\.txt.*JPEG, PNG, WebP or HEIC"):
        read_input(str(text))
    big = tmp_path / "big.png"
    with big.open("wb") as out:
        out.truncate(MAX_ASSET_BYTES + 1)
    with pytest.raises(InputProblem, match=r"big\.png.*75 MB"):
        read_input(str(big))
    photo = read_input(str(png(tmp_path / "ok.png")))
    assert photo.kind.mime == "image/png"
    assert len(photo.sha256) == 64


def test_relative_paths_are_stored_absolute(tmp_path: Path) -> None:
    model = bundled_catalog().get("bfl/flux-1-dev")
    body = {
        "prompt": "p",
        "image_url": "./in.png",
        "style_images": [{"url": "~/s.png", "strength": 1}],
    }
    stored = absolute_inputs(model, body, cwd=tmp_path)
    assert stored["image_url"] == str(tmp_path / "in.png")
    assert stored["style_images"][0]["url"] == os.path.expanduser("~/s.png")
    assert body["image_url"] == "./in.png"  # the caller's body is left alone
    # Validation sees a URL where a path is, so the uri format does not refuse it.
    problems = bundled_catalog().validate(model.path, validation_body(model, stored))
    assert problems == []


def test_local_inputs_lists_the_paths(tmp_path: Path) -> None:
    model = bundled_catalog().get("google/nano-banana")
    body = {"prompt": "p", "image_urls": ["https://x/a.png", "/tmp/b.png"]}
    assert local_inputs(model, body) == [("image_urls.1", "/tmp/b.png")]


def test_data_uri(tmp_path: Path) -> None:
    photo = read_input(str(png(tmp_path / "ok.png")))
    uri = data_uri(photo)
    assert uri.startswith("data:image/png;base64,")
    assert base64.b64decode(uri.split(",", 1)[1]) == photo.data


def test_asset_kinds() -> None:
    assert asset_kind(b"\x00\x00\x00\x18ftypheic") is not None
    assert asset_kind(b"RIFF\0\0\0\0WAVEfmt ") is not None
    assert asset_kind(b"<html>") is None


def test_the_history_remembers_uploads(tmp_path: Path) -> None:
    store = JobStore(tmp_path / "history.sqlite3")
    asset = Asset(id="a-1", url="https://up/a-1/x.png")
    assert store.upload_for("f" * 64, "https://api") is None
    store.remember_upload("f" * 64, "https://api", asset, name="x.png", size=10)
    found = store.upload_for("f" * 64, "https://api")
    assert found is not None and found.url == asset.url and found.asset_id == "a-1"
    assert store.upload_for("f" * 64, "http://127.0.0.1:1") is None  # another service
    store.forget_asset("a-1")
    assert store.upload_for("f" * 64, "https://api") is None
    store.close()


def test_peek_checks_as_read_does_without_reading_it_all(tmp_path: Path) -> None:
    from krea_tui.core.assets import peek_input

    with pytest.raises(InputProblem, match=r"missing\.png: no such file"):
        peek_input(str(tmp_path / "missing.png"))
    big = tmp_path / "big.png"
    with big.open("wb") as out:
        out.write(b"\x89PNG\r\n\x1a\n")
        out.truncate(MAX_ASSET_BYTES + 1)
    with pytest.raises(InputProblem, match="75 MB"):
        peek_input(str(big))
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"\0\0\0\x18ftypisom" + b"\0" * 32)
    with pytest.raises(InputProblem, match=r"clip\.mp4 is video/mp4: image inputs take"):
        peek_input(str(clip))
    assert peek_input("ok.png", cwd=png(tmp_path / "ok.png").parent) == tmp_path / "ok.png"


def test_a_preset_keeps_its_local_file(tmp_path: Path) -> None:
    from krea_tui.presets import Preset, fit_to_model, load_presets, save_preset

    photo = str(png(tmp_path / "in.png"))
    preset = Preset("night", "bfl/flux-1-kontext-dev", {"image_url": photo, "steps": 20})
    save_preset(preset, tmp_path / "presets.toml")
    loaded = load_presets(tmp_path / "presets.toml")["night"]
    fitted = fit_to_model(loaded, bundled_catalog())
    assert fitted.params["image_url"] == photo
    assert fitted.dropped == {}
