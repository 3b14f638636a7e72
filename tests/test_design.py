"""Network designs: refused with reasons, sized exactly as Keras builds them, saved safely, trained for real."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from cnn_desktop import config
from cnn_desktop.core.design import (
    DESIGN_FORMAT, MAX_DESIGN_FILE_BYTES, DesignError, Throughput, analyze, build_design_model, default_layer,
    design_from_json, design_from_preset, empty_design, estimate_epoch_seconds, keras_layer_names, load_design,
    make_design, measure_throughput, save_design, validate_design,
)
from cnn_desktop.core.model import build_model


def conv(filters=32, kernel_size=3, **options):
    return {"type": "Conv2D", "filters": filters, "kernel_size": kernel_size, **options}


def pool(size=2, kind="MaxPooling2D", **options):
    return {"type": kind, "pool_size": size, **options}


FLAT = {"type": "Flatten"}

# Designs the tutorial never showed, covering every layer type and option.
CUSTOM_DESIGNS = {
    "strided valid": [conv(16, 5, strides=2, padding="valid"), pool(2, "AveragePooling2D"), conv(24, 3, padding="valid",
                      activation="tanh", use_bias=False), {"type": "GlobalAveragePooling2D"},
                      {"type": "Dense", "units": 20, "activation": "elu"}],
    "batch norm everywhere": [conv(8, 1), {"type": "BatchNormalization", "momentum": 0.9},
                              {"type": "Activation", "activation": "gelu"}, pool(3, strides=2, padding="same"),
                              {"type": "Dropout", "rate": 0.25}, FLAT, {"type": "Dense", "units": 33, "use_bias": False},
                              {"type": "BatchNormalization"}, {"type": "Dropout", "rate": 0.5}],
    "dense only": [FLAT, {"type": "Dense", "units": 128}, {"type": "Dense", "units": 64, "activation": "sigmoid"}],
    "odd sizes": [conv(7, 4, strides=3, padding="same"), pool(4, strides=1, padding="valid"), conv(5, 2, padding="valid"),
                  FLAT],
    "nothing but the output": [FLAT],
}


def keras_rows(model):
    return [(layer.name, type(layer).__name__, tuple(layer.output.shape), int(layer.count_params()))
            for layer in model.layers]


def design_rows(analysis):
    return [(row.name, row.type, row.keras_output_shape, row.params) for row in analysis.rows]


def keras_multiply_adds(model) -> int:
    """Multiply-adds from the built model's own weights: kernel size times output positions (+ BN scale/shift)."""
    total = 0
    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "Conv2D":
            total += math.prod(layer.output.shape[1:3]) * int(np.prod(layer.kernel.shape))
        elif kind == "Dense":
            total += int(np.prod(layer.kernel.shape))
        elif kind == "BatchNormalization":
            total += math.prod(layer.output.shape[1:])
    return total


@pytest.mark.parametrize("preset", ["seed", "fast", "improved"])
def test_preset_designs_match_the_preset_models_layer_by_layer(preset):
    design = design_from_preset(preset)
    analysis = validate_design(design)
    preset_model = build_model(preset, compile=False)
    assert design_rows(analysis) == keras_rows(preset_model)
    assert analysis.total_params == preset_model.count_params()
    rebuilt = build_design_model(design)
    assert keras_rows(rebuilt) == keras_rows(preset_model)
    assert [layer.get_config() | {"name": None} for layer in rebuilt.layers] == \
        [layer.get_config() | {"name": None} for layer in preset_model.layers]
    assert analysis.macs_per_image == keras_multiply_adds(preset_model)


def test_seed_design_is_the_tutorial_network():
    analysis = analyze(design_from_preset("seed"))
    assert analysis.total_params == 257_162
    assert [row.name for row in analysis.rows] == ["conv2d", "max_pooling2d", "conv2d_1", "max_pooling2d_1",
                                                   "conv2d_2", "flatten", "dense", "logits"]


@pytest.mark.parametrize("name", sorted(CUSTOM_DESIGNS))
def test_custom_design_table_equals_keras(name):
    design = make_design(name, CUSTOM_DESIGNS[name])
    analysis = validate_design(design)
    model = build_design_model(design)
    assert design_rows(analysis) == keras_rows(model)
    assert analysis.total_params == model.count_params()
    assert analysis.macs_per_image == keras_multiply_adds(model)
    assert model.layers[-1].name == "logits" and model.layers[-1].output.shape[-1] == config.NUM_CLASSES
    assert tuple(model.layers[0].input.shape[1:]) == config.INPUT_SHAPE


def test_default_names_follow_keras_and_avoid_given_names():
    design = make_design("names", [conv(), {**conv(), "name": "conv2d_1"}, conv(), pool(), FLAT])
    assert keras_layer_names(design) == ["conv2d", "conv2d_1", "conv2d_2", "max_pooling2d", "flatten"]
    assert [layer.name for layer in build_design_model(design).layers][:5] == keras_layer_names(design)


REFUSED = [
    ("five poolings", [pool(), pool(), pool(), pool(), pool(), FLAT], "after layer 5 the image would be 0×0 pixels"),
    ("kernel bigger than the image", [conv(8, 5, padding="valid"), pool(4), pool(4), conv(8, 3, padding="valid"), FLAT],
     "after layer 4 the image would be 0×0 pixels"),
    ("dense on an image", [conv(), {"type": "Dense", "units": 10}],
     "Dense needs a flat input: add Flatten or GlobalAveragePooling2D before layer 2"),
    ("conv after flatten", [FLAT, conv()], "layer 2 (Conv2D 32 filters 3×3) needs an image"),
    ("pooling after global pooling", [{"type": "GlobalAveragePooling2D"}, pool()], "layer 2 (MaxPooling2D 2×2) needs an image"),
    ("ends with an image", [conv()], "the output layer (Dense 10 logits) needs a flat input"),
    ("too many parameters", [conv(1024), FLAT, {"type": "Dense", "units": 8192}], "too many parameters"),
    ("too much computation", [conv(1024, 5), conv(1024, 5), FLAT], "too much computation"),
]


@pytest.mark.parametrize("name,layers,reason", REFUSED, ids=[case[0] for case in REFUSED])
def test_designs_that_cannot_work_are_refused_before_keras_with_the_reason(name, layers, reason):
    design = make_design(name, layers)
    analysis = analyze(design)
    assert not analysis.ok
    assert reason in analysis.problems[0]
    with pytest.raises(DesignError, match=reason.split("(")[0][:30]):
        build_design_model(design)


BAD_LAYERS = [
    ([conv(0)], "layer 1 (Conv2D): filters must be 1–1024, not 0"),
    ([conv(2000)], "filters must be 1–1024, not 2000"),
    ([conv(True)], "filters must be a whole number"),
    ([conv(8.5)], "filters must be a whole number"),
    ([FLAT, {"type": "LSTM", "units": 4}], "layer 2: unknown layer type 'LSTM'"),
    ([{"units": 4}], "unknown layer type None"),
    (["Conv2D"], "layer 1: expected an object"),
    ([conv(kernel_size=0)], "kernel_size must be 1–28"),
    ([conv(padding="full")], "padding must be one of same, valid"),
    ([conv(activation="softmax2")], "activation must be one of"),
    ([conv(dilation=2)], "unknown option 'dilation'"),
    ([FLAT, {"type": "Dropout", "rate": 1.0}], "rate must be at least 0 and below 1"),
    ([FLAT, {"type": "Dropout", "rate": float("nan")}], "rate must be a number"),
    ([FLAT, {"type": "Dense", "units": 10, "use_bias": "yes"}], "use_bias must be true or false"),
    ([{**FLAT, "name": "logits"}], "kept for the network's own logits layer"),
    ([{**FLAT, "name": "a"}, {**FLAT, "name": "a"}], "two layers are named 'a'"),
    ([{**FLAT, "name": "has space"}], "a layer name must be"),
    ([FLAT] * 101, "at most 100 layers"),
]


@pytest.mark.parametrize("layers,message", BAD_LAYERS, ids=[m for _, m in BAD_LAYERS])
def test_bad_layers_are_refused_with_a_clear_message(layers, message):
    with pytest.raises(DesignError) as caught:
        make_design("bad", layers)
    assert message in str(caught.value)


def test_from_scratch_and_editor_defaults():
    design = empty_design()
    assert analyze(design).ok and analyze(design).total_params == 28 * 28 * 10 + 10
    grown = design.with_layers([default_layer("Conv2D"), default_layer("MaxPooling2D"), *design.layers])
    assert grown.layers[0] == {"type": "Conv2D", "filters": 32, "kernel_size": 3, "strides": 1, "padding": "same",
                               "activation": "relu", "use_bias": True}
    assert grown.layers[1]["strides"] == 2  # a pool's stride defaults to its size, as in Keras
    assert analyze(grown).rows[1].output_shape == (14, 14, 32)
    with pytest.raises(DesignError, match="unknown layer type"):
        default_layer("Conv3D")


def test_save_and_load_round_trip(tmp_path):
    design = make_design("round trip", CUSTOM_DESIGNS["batch norm everywhere"], description="ünïcode ✓",
                         based_on="seed")
    path = save_design(design, tmp_path / "sub" / "design.json")
    assert load_design(path) == design
    data = json.loads(path.read_text())
    assert data["format"] == DESIGN_FORMAT and data["version"] == 1
    assert len(path.read_bytes()) < 4000  # a small file


HOSTILE_FILES = [
    (b"", "not valid JSON"),
    (b"\x00\xff\xfe garbage", "not valid JSON"),
    (b"[1, 2, 3]", "must be a JSON object"),
    (b'{"format": "something-else", "version": 1, "layers": []}', "not a cnn-desktop design"),
    (json.dumps({"format": DESIGN_FORMAT, "version": 99, "layers": []}).encode(), "newer cnn-desktop"),
    (json.dumps({"format": DESIGN_FORMAT, "version": "1", "layers": []}).encode(), "version"),
    (json.dumps({"format": DESIGN_FORMAT, "version": 1, "layers": {"type": "Flatten"}}).encode(), "layers must be a list"),
    (json.dumps({"format": DESIGN_FORMAT, "version": 1, "layers": [], "extra": 1}).encode(), "unknown design field 'extra'"),
    (json.dumps({"format": DESIGN_FORMAT, "version": 1, "name": "x" * 500, "layers": []}).encode(), "a name of 1–100"),
    (b'{"format": "cnn-desktop-design", "version": 1, "layers": [{"type": "Dropout", "rate": NaN}]}', "finite"),
    (b"[" * 200_000 + b"]" * 200_000, "KB"),  # too big before anything parses it
    (b"[" * 50_000 + b"]" * 50_000, "not valid JSON"),  # nesting deeper than the parser's recursion limit
    (b" " * (MAX_DESIGN_FILE_BYTES + 10), "KB"),
]


@pytest.mark.parametrize("content,message", HOSTILE_FILES, ids=[m for _, m in HOSTILE_FILES])
def test_hostile_design_files_give_one_clear_error(tmp_path, content, message):
    path = tmp_path / "hostile.json"
    path.write_bytes(content)
    with pytest.raises(DesignError) as caught:
        load_design(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_unreadable_design_files(tmp_path):
    with pytest.raises(DesignError, match="cannot read the design file"):
        load_design(tmp_path / "missing.json")
    with pytest.raises(DesignError, match="cannot read the design file"):
        load_design(tmp_path)  # a folder


def test_json_text_of_a_preset_design_loads_back_as_the_same_network():
    design = design_from_preset("improved")
    again = design_from_json(design.to_json())
    assert again == design
    assert analyze(again).total_params == build_model("improved", compile=False).count_params()


def test_epoch_time_estimate_scales_measured_throughput_by_multiply_adds():
    small = make_design("small", [conv(8), pool(), FLAT])
    large = make_design("large", [conv(32), pool(), FLAT])
    measured = measure_throughput(small, batch_size=32, steps=2, warmup_steps=1)
    assert measured.macs_per_image == analyze(small).macs_per_image and measured.images_per_second > 0
    small_seconds = estimate_epoch_seconds(small, 60_000, measured)
    assert small_seconds == pytest.approx(60_000 / measured.images_per_second)
    ratio = analyze(large).macs_per_image / analyze(small).macs_per_image
    assert estimate_epoch_seconds(large, 60_000, measured) == pytest.approx(small_seconds * ratio)
    with pytest.raises(ValueError):
        estimate_epoch_seconds(small, 100, Throughput(0.0, 1))


def test_a_custom_design_trains_end_to_end(dataset):
    from cnn_desktop.core.training import TrainingConfig, TrainingSession

    # Batch-norm momentum 0.9: its moving averages settle within the 57 steps of this short run.
    design = make_design("small strided", [conv(16, 3, strides=2), {"type": "BatchNormalization", "momentum": 0.9},
                                           pool(2, "AveragePooling2D"), conv(32, 3, padding="valid"), FLAT,
                                           {"type": "Dropout", "rate": 0.1}, {"type": "Dense", "units": 32}])
    result = TrainingSession(TrainingConfig(preset="seed", design=design, epochs=1, limit=2000, validation="split",
                                            learning_rate=3e-3, seed=3), data=dataset).run()
    assert result.status == "completed" and result.epochs_completed == 1
    assert [layer.name for layer in result.model.layers][:-1] == keras_layer_names(design)
    assert result.model.count_params() == analyze(design).total_params
    assert result.val_accuracy > 0.5, result.history  # ten classes: chance is 0.1
