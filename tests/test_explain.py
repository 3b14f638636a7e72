"""Explanations (issue 14): real models, real Fashion-MNIST images, real TensorFlow gradients.

The sanity checks run on the bundled (trained) model with a few dozen test
images; benchmarks/explain_sanity.py measures the same on 200 / 500 images.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from cnn_desktop import config
from cnn_desktop.core.dataset import to_model_input
from cnn_desktop.core.explain import (
    CAM_VARIANTS, INTEGRATED_GRADIENTS, METHOD_DESCRIPTIONS, METHODS, OCCLUSION, OCCLUSION_MIN_SCALE, SMOOTHGRAD,
    ExplainError, Explainer, class_index_from_name, explainer_for)
from cnn_desktop.core.explanation_drawing import heat_rgba, overlay_on_picture, render_explanation_png
from cnn_desktop.core.explain_checks import deletion_drops, explanation_maps, randomised_copy, spearman
from cnn_desktop.core.filter_patterns import FilterPatterns, filter_patterns_for
from cnn_desktop.core.model import PRESET_NAMES, build_model

# Bound on the mean Spearman correlation between the maps of the trained model and of the same architecture
# with fresh random weights. Measured over 200 test images (docs/explanations.md): means from -0.06 to 0.46
# (Grad-CAM in its default HiResCAM form is the highest: SD 0.11 per image, so a 24-image mean has an SE of
# ~0.02 and stays below 0.46 + 3 SE = 0.53); two random initialisations agree with each other about as much
# (0.44), and a map that ignored the weights would give 1. A mean above 0.6 means the map has stopped
# depending on what the model learned.
RANDOMISATION_MEAN_BOUND = 0.6


def assert_valid_map(explanation):
    heatmap = explanation.heatmap
    assert heatmap.shape == (config.IMAGE_SIZE, config.IMAGE_SIZE) and heatmap.dtype == np.float32
    assert np.all(np.isfinite(heatmap))
    assert heatmap.min() >= (-1 if explanation.signed else 0) and heatmap.max() <= 1


@pytest.fixture(scope="module")
def test_images(dataset):
    return to_model_input(dataset.test_images[:200])


def nested_models():
    """A Functional model holding a nested Sequential backbone (BN, dropout), and that model nested again."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(3)
    backbone = keras.Sequential([
        keras.Input(config.INPUT_SHAPE),
        layers.Conv2D(8, 3, padding="same", use_bias=False, name="inner_conv"),
        layers.BatchNormalization(name="inner_bn"),
        layers.Activation("relu", name="inner_relu"),
        layers.MaxPooling2D(2, name="inner_pool"),
        layers.Conv2D(16, 3, padding="same", activation="relu", name="inner_conv2"),
    ], name="backbone")
    inputs = keras.Input(config.INPUT_SHAPE, name="image")
    x = backbone(inputs)
    x = layers.Dropout(0.5, name="drop")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    outputs = layers.Dense(config.NUM_CLASSES, name="logits")(x)
    functional = keras.Model(inputs, outputs, name="functional_outer")
    twice = keras.Sequential([keras.Input(config.INPUT_SHAPE), functional], name="twice_nested")
    return backbone, functional, twice


def flat_twin(backbone, functional):
    """The same network as ``functional`` without nesting, sharing its weights."""
    import keras

    flat = keras.Sequential([keras.Input(config.INPUT_SHAPE), *[type(layer).from_config(layer.get_config())
                                                                  for layer in backbone.layers],
                             *[type(layer).from_config(layer.get_config())
                               for layer in functional.layers[2:]]], name="flat")
    for source, target in zip([*backbone.layers, *functional.layers[2:]], flat.layers):
        target.set_weights(source.get_weights())
    return flat


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_every_method_on_every_preset(preset, test_images):
    explainer = Explainer(build_model(preset, compile=False))
    image = test_images[0]
    for method in METHODS:
        explanation = explainer.explain(image, method)
        assert_valid_map(explanation)
        assert explanation.class_index == explanation.predicted_index
    for layer in explainer.conv_layer_names:
        assert_valid_map(explainer.gradcam(image, layer=layer))


def test_bundled_model_all_methods_for_predicted_and_other_class(default_model, dataset):
    explainer = explainer_for(default_model)
    assert explainer_for(default_model) is explainer  # built once per model
    image = dataset.test_images[0]  # an ankle boot, uint8 as the dataset holds it
    for method in METHODS:
        predicted = explainer.explain(image, method)
        assert predicted.predicted_name == "Ankle boot" == predicted.class_name
        other = explainer.explain(image, method, class_index="Sneaker")
        assert other.class_name == "Sneaker" and other.predicted_name == "Ankle boot"
        assert_valid_map(predicted)
        assert_valid_map(other)
        assert predicted.signed == (method in (SMOOTHGRAD, INTEGRATED_GRADIENTS))
        assert not np.allclose(predicted.heatmap, other.heatmap)  # a different class, a different map
    # Grad-CAM reads the last convolution after its batch norm and ReLU.
    assert explainer.gradcam(image).layer == "conv3_relu"
    assert explainer.gradcam(image, block_output=False).layer == "conv3"


def test_per_model_objects_go_with_their_model():
    import gc
    import weakref

    model = build_model("seed", compile=False)
    explainer = explainer_for(model)
    assert explainer_for(model) is explainer and filter_patterns_for(model) is filter_patterns_for(model)
    explainer.gradcam(np.zeros((28, 28)))
    gone = weakref.ref(model)
    del model, explainer
    gc.collect()
    assert gone() is None


def test_gradcam_matches_a_keras_submodel_on_a_flat_model(test_images):
    """On a flat Sequential model, keras.Model(inputs, [conv.output, outputs]) works: same maps, both variants."""
    import keras
    import tensorflow as tf

    model = build_model("seed", compile=False)
    images, classes = test_images[:4], np.array([0, 3, 8, 9])
    conv = model.get_layer("conv2d_2")
    reference = keras.Model(model.inputs[0], [conv.output, model.outputs[0]])
    with tf.GradientTape() as tape:
        maps, logits = reference(images, training=False)
        score = tf.gather(logits, classes, batch_dims=1)
    gradients = tape.gradient(score, maps)
    weights = {"gradcam": tf.reduce_mean(gradients, axis=(1, 2), keepdims=True), "hirescam": gradients}
    for variant in CAM_VARIANTS:
        cams = tf.nn.relu(tf.reduce_sum(weights[variant] * maps, -1, keepdims=True))
        cams = tf.image.resize(cams, (28, 28))[..., 0].numpy()
        cams /= np.maximum(cams.reshape(4, -1).max(axis=1), 1e-12)[:, None, None]
        ours = Explainer(model).gradcam_batch(images, classes, layer="conv2d_2", variant=variant)
        np.testing.assert_allclose(ours, cams, atol=1e-4)
    with pytest.raises(ExplainError, match="variant"):
        Explainer(model).gradcam(images[0], variant="gradcam++")


def test_nested_models_give_the_same_maps_as_their_flat_twin(test_images):
    backbone, functional, twice = nested_models()
    flat = flat_twin(backbone, functional)
    image = test_images[1]
    flat_explainer = Explainer(flat)
    for nested in (functional, twice):
        explainer = Explainer(nested)
        assert explainer.conv_layer_names[-1].endswith("backbone/inner_conv2")
        np.testing.assert_allclose(explainer.probabilities(image[None]), flat_explainer.probabilities(image[None]),
                                   atol=1e-5)
        for method in METHODS:
            np.testing.assert_allclose(explainer.explain(image, method, 2).heatmap,
                                       flat_explainer.explain(image, method, 2).heatmap, atol=1e-4)
        # A nested convolution by its bare name: read after its batch norm and ReLU, like in the flat twin.
        nested_map = explainer.gradcam(image, 2, layer="inner_conv")
        assert nested_map.layer.endswith("backbone/inner_relu")
        np.testing.assert_allclose(nested_map.heatmap, flat_explainer.gradcam(image, 2, layer="inner_conv").heatmap,
                                   atol=1e-4)


def test_occlusion_fills_in_row_by_row_and_stops_when_asked(default_model, test_images):
    explainer = explainer_for(default_model)
    image = test_images[2]
    rows = list(explainer.iter_occlusion(image, patch_size=6, stride=4))
    starts = [0, 4, 8, 12, 16, 20, 22]  # the last patch is moved to reach the edge
    assert [row.rows_done for row in rows] == list(range(1, len(starts) + 1))
    assert all(row.rows_total == len(starts) for row in rows)
    assert not rows[0].heatmap[6:].any()  # below the first patch row nothing is computed yet
    full = explainer.occlusion(image, patch_size=6, stride=4)
    assert full.complete
    np.testing.assert_allclose(full.heatmap, rows[-1].heatmap)
    seen = []
    stopped = explainer.occlusion(image, patch_size=6, stride=4, on_progress=seen.append,
                                  should_stop=lambda: len(seen) >= 3)
    assert len(seen) == 3 and not stopped.complete
    np.testing.assert_allclose(stopped.heatmap, rows[2].heatmap)
    for bad in ({"patch_size": 0}, {"patch_size": 29}, {"stride": 0}, {"stride": 2.5}):
        with pytest.raises(ExplainError):
            list(explainer.iter_occlusion(image, **bad))


def test_occlusion_map_is_the_probability_drop(default_model, test_images):
    explainer = explainer_for(default_model)
    image = test_images[3]
    explanation = explainer.occlusion(image, patch_size=28, stride=28)  # one patch: the whole image blanked
    expected_drop = explanation.probabilities[explanation.class_index] - explainer.probabilities(
        np.zeros((1, *config.INPUT_SHAPE), np.float32))[0, explanation.class_index]
    assert explanation.scale == pytest.approx(max(expected_drop, 0), abs=1e-5)
    # Shown relative to the drop, but a drop under OCCLUSION_MIN_SCALE stays pale.
    assert explanation.heatmap.max() == pytest.approx(explanation.scale / max(explanation.scale, OCCLUSION_MIN_SCALE))


def test_integrated_gradients_add_up_to_the_score_difference(default_model, test_images):
    """Completeness: the attributions sum to logit(image) - logit(black image)."""
    import tensorflow as tf

    explainer = explainer_for(default_model)
    for image in test_images[4:7]:
        explanation = explainer.integrated_gradients(image, steps=64)
        logits = default_model(tf.constant(np.stack([image, np.zeros_like(image)])), training=False).numpy()
        difference = logits[0, explanation.class_index] - logits[1, explanation.class_index]
        assert explanation.options["attribution_sum"] == pytest.approx(difference, rel=0.1, abs=0.2)


def test_subclassed_model_gets_gradient_methods_and_a_clear_gradcam_error(test_images):
    import keras
    from keras import layers

    class Tiny(keras.Model):
        def __init__(self):
            super().__init__()
            self.conv = layers.Conv2D(4, 3, activation="relu", name="conv")
            self.flatten = layers.Flatten()
            self.logits = layers.Dense(config.NUM_CLASSES)

        def call(self, inputs, training=None):
            return self.logits(self.flatten(self.conv(inputs)))

    model = Tiny()
    model(test_images[:1])
    explainer = Explainer(model)
    for method in (OCCLUSION, SMOOTHGRAD, INTEGRATED_GRADIENTS):  # need only the model's output
        assert_valid_map(explainer.explain(test_images[0], method))
    with pytest.raises(ExplainError, match="subclassed"):
        explainer.gradcam(test_images[0])


def test_class_names_and_bad_inputs():
    assert class_index_from_name("Ankle boot") == 9 == class_index_from_name("ankle-boot")
    assert class_index_from_name("t-shirt") == 0 == class_index_from_name("T-shirt/top")
    assert class_index_from_name("3") == 3 == class_index_from_name(3)
    for bad in ("giraffe", "10", -1, ""):
        with pytest.raises(ExplainError):
            class_index_from_name(bad)
    explainer = Explainer(build_model("seed", compile=False))
    with pytest.raises(ExplainError, match="28x28"):
        explainer.gradcam(np.zeros((32, 32)))
    with pytest.raises(ExplainError, match="not numbers"):
        explainer.gradcam(np.full((28, 28), np.nan))
    with pytest.raises(ExplainError, match="no layer"):
        explainer.gradcam(np.zeros((28, 28)), layer="conv99")
    with pytest.raises(ExplainError, match="2-D"):
        explainer.gradcam(np.zeros((28, 28)), layer="dense")
    with pytest.raises(ExplainError, match="unknown method"):
        explainer.explain(np.zeros((28, 28)), "lime")
    assert set(METHOD_DESCRIPTIONS) == set(METHODS)


def test_heat_colours_and_png(default_model, test_images):
    colours = heat_rgba(np.array([[0.0, 1.0, -1.0]]), signed=True, opacity=1.0)[0]
    assert colours[0, 3] == 0  # no evidence: transparent
    red, blue = colours[1], colours[2]
    assert red[3] == blue[3] == 255
    assert red[0] > 150 and red[2] < 60 and blue[2] > 120 and blue[0] < 30
    explanation = explainer_for(default_model).gradcam(test_images[0])
    png = render_explanation_png(test_images[0], explanation, size=280)
    assert png.width == 280 and png.height > 280
    pixels = np.asarray(png.convert("RGB")).astype(int)
    assert (pixels[..., 0] - pixels[..., 2] > 100).sum() > 200  # red heat is drawn


def test_overlay_lands_on_the_item_in_the_original_picture(dataset):
    from cnn_desktop.core.preprocessing import prepare_image

    # A dress (dark on white) drawn 300x300 at (500, 200) on a 1600x900 photo-sized canvas.
    picture = Image.new("L", (1600, 900), 255)
    item = Image.fromarray(255 - dataset.test_images[13]).resize((300, 300), Image.Resampling.BILINEAR)
    picture.paste(item, (500, 200))
    prepared = prepare_image(picture)
    heat = np.ones((28, 28), np.float32)
    for shown in (picture, picture.resize((800, 450))):  # full size, and shown at half size
        scale = shown.width / picture.width
        overlaid = np.asarray(overlay_on_picture(shown, heat, prepared, opacity=1.0))
        changed = np.any(overlaid[..., :3] != np.asarray(shown.convert("RGBA"))[..., :3], axis=-1)
        rows, columns = np.nonzero(changed)
        left, top, right, bottom = (value * scale for value in prepared.bbox)
        # The dress is taller than wide: the frame spans its height and is centred on it across.
        assert abs(rows.min() - top) <= 2 and abs(rows.max() + 1 - bottom) <= 2
        assert abs((columns.max() + 1 - columns.min()) - (bottom - top)) <= 2
        assert abs((columns.min() + columns.max() + 1) / 2 - (left + right) / 2) <= 2
        assert 450 * scale <= (left + right) / 2 <= 800 * scale  # on the item, which sits at x 500-800


def test_model_randomisation_changes_the_maps(default_model, test_images):
    """Adebayo et al. 2018: maps of the trained model and of fresh random weights must differ."""
    explainer = explainer_for(default_model)
    random_explainer = Explainer(randomised_copy(default_model, seed=1))
    images = test_images[:24]
    classes = explainer.probabilities(images).argmax(axis=1)
    for method in METHODS:
        trained = explanation_maps(explainer, images, method, classes)
        randomised = explanation_maps(random_explainer, images, method, classes)
        rhos = np.array([spearman(a, b) for a, b in zip(trained, randomised)])
        assert np.isfinite(rhos).sum() >= 12, method  # most maps are not constant
        assert np.nanmean(rhos) < RANDOMISATION_MEAN_BOUND, (method, np.nanmean(rhos))
        # ... while a map compared with itself correlates fully (the measure works).
        assert spearman(trained[0], trained[0]) == pytest.approx(1.0)


def test_deleting_the_top_pixels_hurts_more_than_random_ones(default_model, dataset):
    explainer = explainer_for(default_model)
    images = to_model_input(dataset.test_images[200:260])
    classes = explainer.probabilities(images).argmax(axis=1)
    for method in METHODS:
        maps = explanation_maps(explainer, images, method, classes)
        top, random = deletion_drops(explainer, images, maps, classes, fraction=0.2, seed=0)
        assert top.mean() > random.mean(), (method, top.mean(), random.mean())


def test_filter_patterns_beat_every_test_image_and_are_cached(default_model, dataset):
    patterns = FilterPatterns(default_model)
    best_test = patterns.filter_activations(dataset.test_images, "conv3").max(axis=0)
    for index in (0, 1, 2):
        pattern = patterns.pattern("conv3", index, steps=128)
        assert pattern.image.shape == (28, 28) and 0 <= pattern.image.min() and pattern.image.max() <= 1
        assert pattern.activation > best_test[index], (index, pattern.activation, best_test[index])
        assert patterns.pattern("conv3", index, steps=128) is pattern  # cached
    top = patterns.top_images(dataset.test_images, "conv3", 1, k=5)
    activations = patterns.filter_activations(dataset.test_images, "conv3")[:, 1]
    assert list(top.indices) == list(np.argsort(-activations, kind="stable")[:5])
    with pytest.raises(ExplainError, match="not a convolution"):
        patterns.pattern("pool1", 0)
    filters = default_model.get_layer("conv3").filters
    with pytest.raises(ExplainError, match=f"filters 0-{filters - 1}"):
        patterns.pattern("conv3", filters)


def test_filter_activations_match_keras_and_follow_new_weights(test_images):
    import keras

    model = build_model("seed", compile=False)
    patterns = FilterPatterns(model)
    submodel = keras.Model(model.inputs[0], model.get_layer("conv2d_1").output)
    expected = submodel(test_images[:50]).numpy().mean(axis=(1, 2))
    np.testing.assert_allclose(patterns.filter_activations(test_images[:50], "conv2d_1"), expected, atol=1e-5)
    progress = []
    stopped = patterns.pattern("conv2d", 0, steps=8, on_progress=lambda done, total: progress.append((done, total)),
                               should_stop=lambda: len(progress) >= 3)
    assert stopped.steps == 3 and progress == [(1, 8), (2, 8), (3, 8)]
    first = patterns.pattern("conv2d", 0, steps=8)
    assert first.steps == 8 and first is not stopped  # a stopped pattern was not cached
    assert patterns.pattern("conv2d", 0, steps=8) is first
    model.set_weights([weight * 1.5 for weight in model.get_weights()])
    assert patterns.pattern("conv2d", 0, steps=8) is not first  # new weights: computed again


def test_cli_explain_png_and_json(tmp_path, dataset, default_model_path):
    from test_cli import assert_one_line_error, run_cli

    picture = tmp_path / "boot photo.png"
    Image.fromarray(255 - dataset.test_images[0]).resize((112, 112)).save(picture)  # dark item on white
    out = tmp_path / "heat.png"
    result = run_cli("explain", picture, "--method", "occlusion", "--class", "sneaker", "--stride", "4",
                     "--out", out, "--json")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["predicted"]["label"] == "Ankle boot" and record["explained"]["label"] == "Sneaker"
    heat = np.array(record["map"])
    assert heat.shape == (28, 28) and heat.min() >= 0 and heat.max() <= 1
    assert record["out"] == str(out)
    with Image.open(out) as png:
        assert png.format == "PNG" and png.width == 280
    text = run_cli("explain", picture, "--layer", "conv2b")
    assert text.returncode == 0 and "gradcam explains Ankle boot" in text.stdout
    assert run_cli("explain", picture, "--class", "giraffe").returncode == 2
    assert run_cli("explain", picture, "--method", "lime").returncode == 2
    assert_one_line_error(run_cli("explain", picture, "--layer", "conv99"))
    assert_one_line_error(run_cli("explain", picture, "--method", "smoothgrad", "--layer", "conv3"))
    assert_one_line_error(run_cli("explain", tmp_path / "missing.png"))
    assert_one_line_error(run_cli("explain", picture, "--out", tmp_path / "heat.jpg"))
