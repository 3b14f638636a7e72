"""The hand-written CNN arithmetic: checked against numbers worked out by hand and against real Keras layers."""

from __future__ import annotations

import numpy as np
import pytest

from cnn_desktop.core import convolution_demo as demo
from cnn_desktop.core import receptive_field

INPUT = np.array([[9, 8, 9, 7],
                  [8, 9, 7, 8],
                  [2, 1, 3, 2],
                  [1, 2, 1, 0]], dtype=float)
EDGE_KERNEL = np.array([[1, 2, 1],
                        [0, 0, 0],
                        [-1, -2, -1]], dtype=float)


def test_valid_convolution_matches_hand_computation():
    out = demo.convolve(INPUT, EDGE_KERNEL)
    # out[0,0]: rows 0-2, cols 0-2: (9 + 2*8 + 9) - (2 + 2*1 + 3) = 34 - 7
    # out[0,1]: rows 0-2, cols 1-3: (8 + 2*9 + 7) - (1 + 2*3 + 2) = 33 - 9
    # out[1,0]: rows 1-3, cols 0-2: (8 + 2*9 + 7) - (1 + 2*2 + 1) = 33 - 6
    # out[1,1]: rows 1-3, cols 1-3: (9 + 2*7 + 8) - (2 + 2*1 + 0) = 31 - 4
    np.testing.assert_array_equal(out, [[27, 24], [27, 27]])


def test_convolution_step_writes_out_the_multiply_add():
    step = demo.convolution_step(INPUT, EDGE_KERNEL, 0, 1, bias=0.5)
    np.testing.assert_array_equal(step.patch[..., 0], INPUT[0:3, 1:4])
    assert step.sum_of_products == 24
    assert step.value == 24.5
    assert step.formula() == "8×1 + 9×2 + 7×1 + 9×0 + 7×0 + 8×0 + 1×(−1) + 3×(−2) + 2×(−1) + 0.5 = 24.5"


def test_same_padding_keeps_the_size_and_pads_with_zeros():
    out = demo.convolve(INPUT, EDGE_KERNEL, padding="same")
    assert out.shape == (4, 4)
    # top-left: the kernel's top row lies on the zero border; bottom row sees input rows 1, cols -1..1
    assert out[0, 0] == -(0 + 2 * 8 + 9)
    # bottom-right: kernel's top row sees row 2 cols 2..4 (3, 2, 0), bottom row the zero border
    assert out[3, 3] == 3 + 2 * 2 + 0
    step = demo.convolution_step(INPUT, EDGE_KERNEL, 0, 0, padding="same")
    assert (step.top, step.left) == (-1, -1)
    np.testing.assert_array_equal(step.patch[0, :, 0], [0, 0, 0])
    assert step.value == out[0, 0]


def test_pooling_and_flatten_by_hand():
    matrix = np.array([[3, 1, 0, 2], [4, 6, 1, 1], [0, 2, 7, 5], [1, 3, 2, 8]], dtype=float)
    np.testing.assert_array_equal(demo.max_pool(matrix), [[6, 2], [3, 8]])
    np.testing.assert_array_equal(demo.average_pool(matrix), [[3.5, 1.0], [1.5, 5.5]])
    np.testing.assert_array_equal(demo.flatten(matrix), [3, 1, 0, 2, 4, 6, 1, 1, 0, 2, 7, 5, 1, 3, 2, 8])
    # odd sizes: the leftover row and column are dropped, as in Keras
    np.testing.assert_array_equal(demo.max_pool(np.arange(25.0).reshape(5, 5)), [[6, 8], [16, 18]])


def test_bad_shapes_are_reported():
    with pytest.raises(ValueError):
        demo.convolve(INPUT, np.ones((3, 3, 2)))
    with pytest.raises(ValueError):
        demo.max_pool(np.ones((1, 1)))
    with pytest.raises(IndexError):
        demo.convolution_step(INPUT, EDGE_KERNEL, 2, 0)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_convolution_agrees_with_keras_conv2d(padding):
    import keras

    rng = np.random.default_rng(3)
    image = rng.normal(size=(6, 5, 2))
    kernel = rng.normal(size=(3, 3, 2))
    bias = 0.25
    layer = keras.layers.Conv2D(1, 3, padding=padding)
    layer.build((1, 6, 5, 2))
    layer.set_weights([kernel[..., np.newaxis].astype(np.float32), np.array([bias], np.float32)])
    expected = np.asarray(layer(image[np.newaxis].astype(np.float32)))[0, ..., 0]
    np.testing.assert_allclose(demo.convolve(image, kernel, bias=bias, padding=padding), expected, rtol=1e-5,
                               atol=1e-5)
    step = demo.convolution_step(image, kernel, 1, 2, bias=bias, padding=padding)
    assert step.value == pytest.approx(float(expected[1, 2]), abs=1e-5)


def test_pooling_agrees_with_keras_layers():
    import keras

    matrix = np.random.default_rng(4).normal(size=(6, 7))
    batch = matrix[np.newaxis, ..., np.newaxis].astype(np.float32)
    np.testing.assert_allclose(demo.max_pool(matrix), np.asarray(keras.layers.MaxPooling2D(2)(batch))[0, ..., 0],
                               rtol=1e-6)
    np.testing.assert_allclose(demo.average_pool(matrix),
                               np.asarray(keras.layers.AveragePooling2D(2)(batch))[0, ..., 0], rtol=1e-5)
    np.testing.assert_array_equal(demo.flatten(batch[0, ..., 0]), np.asarray(keras.layers.Flatten()(batch[..., 0]))[0])


def test_receptive_fields_of_the_seed_model():
    from cnn_desktop.core.model import build_model

    fields = receptive_field.receptive_fields(receptive_field.keras_layer_geometries(build_model("seed", compile=False)))
    assert (fields["conv2d"].size, fields["conv2d"].jump) == (3, 1)
    assert fields["conv2d"].rectangle(5, 7) == (4, 6, 6, 8)
    assert (fields["max_pooling2d"].size, fields["max_pooling2d"].jump) == (4, 2)
    # conv2d_1 pixel 0 reads pool pixels -1..1 -> conv2d pixels -2..3 -> input pixels -3..4
    assert fields["conv2d_1"].size == 8
    assert fields["conv2d_1"].rectangle(0, 0) == (-3, -3, 4, 4)
    assert (fields["conv2d_2"].size, fields["conv2d_2"].jump) == (18, 4)
    assert "flatten" not in fields and "dense" not in fields


def test_receptive_field_is_the_set_of_input_pixels_that_matter():
    """Perturbing a pixel outside the rectangle leaves the output unchanged; inside, it changes it."""
    import keras

    model = keras.Sequential([keras.Input((12, 12, 1)), keras.layers.Conv2D(2, 3, padding="same"),
                              keras.layers.MaxPooling2D(2), keras.layers.Conv2D(1, 3, padding="same")])
    top, left, bottom, right = receptive_field.receptive_fields(receptive_field.keras_layer_geometries(model))[model.layers[-1].name] \
        .rectangle(2, 3)
    rng = np.random.default_rng(5)
    # Positive weights: a +10 anywhere in the field raises a conv output enough to win its pooling window.
    model.set_weights([rng.uniform(0.1, 1.0, size=w.shape).astype(np.float32) for w in model.get_weights()])
    base = rng.uniform(size=(1, 12, 12, 1)).astype(np.float32)
    reference = float(np.asarray(model(base))[0, 2, 3, 0])
    mattering = []
    for r in range(12):
        for c in range(12):
            changed = base.copy()
            changed[0, r, c, 0] += 10.0
            if abs(float(np.asarray(model(changed))[0, 2, 3, 0]) - reference) > 1e-6:
                mattering.append((r, c))
    rows, cols = zip(*mattering)
    assert (min(rows), min(cols), max(rows), max(cols)) == (top, left, bottom, right) == (1, 3, 8, 10)


def test_activation_by_name():
    assert demo.activate("relu", -2.0) == 0
    assert demo.activate("linear", -2.0) == -2.0
    assert demo.activate("sigmoid", 1.0) is None


def test_a_keras_conv_layer_redone_by_hand():
    import keras

    layer = keras.layers.Conv2D(4, 3, padding="same", activation="relu")
    image = np.random.default_rng(6).uniform(size=(1, 9, 9, 1)).astype(np.float32)
    layer.build(image.shape)
    layer.set_weights([layer.get_weights()[0], np.array([0.1, -0.2, 0.3, 0.0], np.float32)])
    out = np.asarray(layer(image))[0]
    convolution = demo.keras_convolution(layer)
    assert convolution.activation == "relu"
    for channel, row, col in [(0, 0, 0), (1, 4, 4), (3, 8, 2)]:
        step = convolution.step(image[0], channel, row, col)
        assert convolution.output(step) == pytest.approx(float(out[row, col, channel]), abs=1e-5)
    with pytest.raises(ValueError):
        demo.keras_convolution(keras.layers.MaxPooling2D(2))
