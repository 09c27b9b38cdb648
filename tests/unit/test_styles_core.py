"""core/styles.py: the style object parsed tolerantly, the training body and its price in
compute units, the folder's pictures, and the `styles` field a pick changes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from krea_tui.core.api import model_endpoint
from krea_tui.core.styles import (
    TRAIN_MODEL,
    Style,
    StyleProblem,
    TrainingPricing,
    fits,
    training_body,
    training_pictures,
    training_summary,
    with_style,
)


def test_a_style_is_read_tolerantly_and_says_whose_it_is() -> None:
    krea = Style.from_api({"id": "a", "title": "Film", "models": ["flux_dev"], "owner": None})
    assert krea.whose() == "Krea" and krea.name == "Film"
    theirs = Style.from_api({"id": "b", "title": None, "owner": {"id": "u1", "name": "mika"}})
    assert theirs.whose() == "mika" and theirs.name == "b" and theirs.models == ()
    assert theirs.whose(["b"]) == "mine"
    with pytest.raises(ValueError):
        Style.from_api({"title": "no id"})


def test_training_body_checks_the_two_shapes() -> None:
    body = training_body("ink", ["u1", "u2"], kind="Style", trigger="inkw", steps=10)
    assert body == {
        "name": "ink",
        "urls": ["u1", "u2"],
        "model": "flux_dev",
        "type": "Style",
        "trigger_word": "inkw",
        "max_train_steps": 10,
    }
    with pytest.raises(StyleProblem, match="type"):
        training_body("x", ["u"], model="qwen", kind="Default")
    with pytest.raises(StyleProblem, match="model"):
        training_body("x", ["u"], model="sdxl")
    with pytest.raises(StyleProblem, match="steps"):
        training_body("x", ["u"], steps=0)


def test_the_price_is_steps_times_the_models_rate() -> None:
    body = training_body("ink", ["u"] * 8, model="qwen", steps=100)
    assert TrainingPricing().cost_with_unit(TRAIN_MODEL, body) == (830.0, "CU")
    assert TrainingPricing().cost_with_unit("bfl/flux-1-dev", body) == (None, None)
    said = training_summary(body)
    assert "8 pictures" in said and "100 steps" in said and "830 CU" in said


def test_a_training_is_posted_to_styles_train() -> None:
    assert model_endpoint(TRAIN_MODEL) == "/styles/train"
    assert model_endpoint("bfl/flux-1-dev") == "/generate/image/bfl/flux-1-dev"


def test_only_pictures_of_the_folder_are_trained_on(tmp_path: Path) -> None:
    for name in ("b.png", "a.png"):
        out = io.BytesIO()
        Image.new("RGB", (4, 4)).save(out, format="PNG")
        (tmp_path / name).write_bytes(out.getvalue())
    (tmp_path / "notes.txt").write_text("x")
    (tmp_path / "fake.png").write_text("not a png")
    assert [p.name for p in training_pictures(tmp_path)] == ["a.png", "b.png"]
    with pytest.raises(StyleProblem, match="no such folder"):
        training_pictures(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StyleProblem, match="no pictures"):
        training_pictures(tmp_path / "empty")


def test_a_pick_joins_the_styles_field_or_changes_its_strength() -> None:
    assert with_style(None, "a", 0.5) == [{"id": "a", "strength": 0.5}]
    value = [{"id": "a", "strength": 0.5}]
    assert with_style(value, "b", 3) == [{"id": "a", "strength": 0.5}, {"id": "b", "strength": 2}]
    assert with_style(value, "a", -1) == [{"id": "a", "strength": -1}]
    assert value == [{"id": "a", "strength": 0.5}]  # not changed in place


def test_fits_knows_the_families_it_knows() -> None:
    flux = Style("s", models=("flux_dev", "wan"))
    assert fits(flux, "bfl/flux-1-dev") is True
    assert fits(flux, "qwen/2512") is False
    assert fits(flux, "openai/gpt-image") is None
