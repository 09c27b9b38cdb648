"""The compose form names request fields in words; the API name stays in its help line."""

from __future__ import annotations

import pytest

from krea_tui.core.catalog import load_catalog
from krea_tui.tui.widgets.field_form import field_label


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("guidance_scale_flux", "Guidance scale"),
        ("steps", "Steps"),
        ("image_url", "Image URL"),
        ("image_urls", "Image URLs"),
        ("cfg_scale", "CFG scale"),
        ("num_inference_steps", "Inference steps"),
        ("skip_prompt_expansion", "Skip prompt expansion"),
        ("negative_prompt", "Negative prompt"),
        ("aspectRatio", "Aspect ratio"),
        ("flux", "Flux"),  # a name that is only a model's name keeps it
        ("raw", "Raw"),
    ],
)
def test_api_names_read_as_words(name: str, label: str) -> None:
    assert field_label(name) == label


def test_every_catalogue_field_has_a_label_of_words_and_no_two_of_a_model_look_alike() -> None:
    for model in load_catalog(None).models():
        labels = [field_label(f.name) for f in model.fields]
        assert all(label and "_" not in label and label[0].isupper() for label in labels), labels
        assert len(set(labels)) == len(labels), (model.path, labels)
