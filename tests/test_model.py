"""Model presets: the seed preset is exactly the tutorial's network."""

from __future__ import annotations

import pytest

from cnn_desktop.core.model import PRESET_NAMES, build_model, layer_table, summary_text


def test_seed_preset_is_the_reference_cnn():
    model = build_model("seed")
    assert model.count_params() == 257_162
    rows = [(row["type"], row["output_shape"], row["params"]) for row in layer_table(model)]
    assert rows == [
        ("Conv2D", (None, 28, 28, 32), 320),
        ("MaxPooling2D", (None, 14, 14, 32), 0),
        ("Conv2D", (None, 14, 14, 64), 18_496),
        ("MaxPooling2D", (None, 7, 7, 64), 0),
        ("Conv2D", (None, 7, 7, 64), 36_928),
        ("Flatten", (None, 3136), 0),
        ("Dense", (None, 64), 200_768),
        ("Dense", (None, 10), 650),
    ]
    conv = model.layers[0]
    assert conv.padding == "same" and conv.activation.__name__ == "relu"
    assert model.layers[-1].activation.__name__ == "linear"  # logits
    assert type(model.optimizer).__name__ == "Adam"
    assert model.loss.from_logits


def test_summary_reports_total_like_keras():
    assert "Total params: 257,162" in summary_text(build_model("seed"))


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_preset_takes_28x28_and_gives_10_logits(preset):
    model = build_model(preset)
    assert tuple(model.inputs[0].shape) == (None, 28, 28, 1)
    assert tuple(model.outputs[0].shape) == (None, 10)


def test_unknown_preset_is_refused():
    with pytest.raises(ValueError, match="unknown preset"):
        build_model("huge")
