"""Model presets and the ``build_model(preset)`` factory, in keras-io style.

* ``seed`` is exactly the tutorial's CNN (257,162 parameters) and its recipe:
  adam at Keras' default rate, 10 epochs, batch 32.
* ``fast`` is the seed's network with a wider dense layer (128), trained four
  epochs with batch 128 and a warm-up + cosine learning-rate schedule: it passes
  the seed's accuracy in about a fifth of the seed recipe's time. (Batch
  normalisation also learned fast but cost a third of the speed on a CPU, and
  dropout only slows learning down in so short a run: measured, see
  docs/benchmarks.md.)
* ``improved`` is a wider VGG-style network with batch normalisation, dropout and
  light augmentation (shifts and mirror images).
* ``robust`` is the improved recipe with silhouettes, outlines and sketches mixed
  into training; the bundled model is this recipe on a wider design
  (benchmarks/designs/robust-wide.json, 50 epochs).

All presets take (28, 28, 1) float images in [0, 1] and output 10 logits.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from cnn_desktop import config

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    epochs: int
    batch_size: int
    learning_rate: float
    schedule: str  # "constant" or "cosine" (linear warm-up, then cosine decay to zero)
    augment: bool
    # Mix silhouettes, outlines and procedural sketches into training (cnn_desktop/core/shape_renderings.py).
    shape_renderings: bool = False


PRESETS: dict[str, Preset] = {
    "seed": Preset(
        "seed", "The tutorial's CNN and recipe (adam, 10 epochs, batch 32).",
        epochs=10, batch_size=32, learning_rate=1e-3, schedule="constant", augment=False,
    ),
    "fast": Preset(
        "fast", "The seed's CNN with a wider dense layer; 4 epochs, batch 128, cosine schedule: 92% quickly.",
        epochs=4, batch_size=128, learning_rate=4e-3, schedule="cosine", augment=False,
    ),
    "improved": Preset(
        "improved", "Wider CNN with batch norm, dropout and light augmentation; the default model.",
        epochs=30, batch_size=128, learning_rate=2e-3, schedule="cosine", augment=True,
    ),
    "robust": Preset(
        "robust", "The improved CNN trained on photos, silhouettes, outlines and sketches: holds on drawings.",
        epochs=30, batch_size=128, learning_rate=2e-3, schedule="cosine", augment=True, shape_renderings=True,
    ),
}
PRESET_NAMES = tuple(PRESETS)
DEFAULT_PRESET = "improved"

FAST_DENSE_UNITS = 128  # the seed's 64 reached 92% one epoch later (docs/benchmarks.md)

# Layers whose outputs the layer inspector shows as feature maps.
FEATURE_MAP_LAYER_TYPES = ("Conv2D", "MaxPooling2D", "AveragePooling2D")


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESET_NAMES)}") from None


def _seed_layers(layers, dense_units=64):
    """The tutorial's network, with Keras' default layer names as in its summary; ``fast`` widens the dense layer."""
    return [
        layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2d"),
        layers.MaxPooling2D(2, name="max_pooling2d"),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2d_1"),
        layers.MaxPooling2D(2, name="max_pooling2d_1"),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv2d_2"),
        layers.Flatten(name="flatten"),
        layers.Dense(dense_units, activation="relu", name="dense"),
        layers.Dense(config.NUM_CLASSES, name="logits"),
    ]


def _fast_layers(layers):
    return _seed_layers(layers, dense_units=FAST_DENSE_UNITS)


def _conv_bn(layers, filters, name):
    """Conv -> batch norm -> ReLU, with the activation as its own layer so the inspector shows it."""
    return [
        layers.Conv2D(filters, 3, padding="same", use_bias=False, name=name),
        layers.BatchNormalization(name=f"{name}_bn"),
        layers.Activation("relu", name=f"{name}_relu"),
    ]


def _improved_layers(layers):
    return [
        *_conv_bn(layers, 32, "conv1a"),
        *_conv_bn(layers, 32, "conv1b"),
        layers.MaxPooling2D(2, name="pool1"),
        layers.Dropout(0.2, name="drop1"),
        *_conv_bn(layers, 64, "conv2a"),
        *_conv_bn(layers, 64, "conv2b"),
        layers.MaxPooling2D(2, name="pool2"),
        layers.Dropout(0.3, name="drop2"),
        *_conv_bn(layers, 128, "conv3"),
        layers.MaxPooling2D(2, name="pool3"),
        layers.Flatten(name="flatten"),
        layers.Dense(256, use_bias=False, name="dense"),
        layers.BatchNormalization(name="dense_bn"),
        layers.Activation("relu", name="dense_relu"),
        layers.Dropout(0.4, name="drop3"),
        layers.Dense(config.NUM_CLASSES, name="logits"),
    ]


_LAYER_FACTORIES = {"seed": _seed_layers, "fast": _fast_layers, "improved": _improved_layers,
                    "robust": _improved_layers}


def build_model(preset: str = "seed", *, compile: bool = True):
    """A fresh, untrained model for ``preset``; compiled with the preset's optimiser unless told not to."""
    import keras
    from keras import layers

    get_preset(preset)
    model = keras.Sequential(
        [keras.Input(shape=config.INPUT_SHAPE, name="image"), *_LAYER_FACTORIES[preset](layers)],
        name=preset,
    )
    if compile:
        compile_model(model, get_preset(preset).learning_rate)
    return model


def compile_model(model, learning_rate) -> None:
    """adam + sparse categorical cross-entropy on logits + accuracy, as the tutorial does.

    ``learning_rate`` may be a float or a Keras learning-rate schedule.
    """
    import keras

    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )


def make_schedule(preset: Preset, learning_rate: float, total_steps: int):
    """The preset's learning-rate schedule over ``total_steps`` optimiser steps."""
    import keras

    if preset.schedule == "constant" or total_steps < 2:
        return learning_rate
    warmup_steps = max(1, total_steps // 10)
    return keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=learning_rate / 10,
        decay_steps=max(1, total_steps - warmup_steps),
        alpha=0.0,
        warmup_target=learning_rate,
        warmup_steps=warmup_steps,
    )


# bfloat16 arithmetic with float32 weights (Keras mixed precision): on CPUs with AMX or AVX512-BF16 it trains
# the wide robust network 2.0x as fast as float32 (measured on this project's machine).
MIXED_PRECISION_POLICY = "mixed_bfloat16"


def copy_model(model, weights=None, *, policy: str | None = None):
    """A separate model object with ``model``'s architecture and ``weights`` (default: its own).

    Each thread gets its own copy, so no Keras model is ever used by two threads. With ``policy`` ("float32"
    or ``MIXED_PRECISION_POLICY``) the copy's layers compute in that dtype policy; the weights are copied as
    they are, since under a mixed policy the variables stay float32: a model trained in bfloat16 comes back
    to float32 without loss, for saving, inspecting and predicting as any other.
    """
    import keras

    def same_layer_in_policy(layer):
        return layer.__class__.from_config({**layer.get_config(), "dtype": policy})

    copy = keras.models.clone_model(model, clone_function=None if policy is None else same_layer_in_policy)
    copy.set_weights(model.get_weights() if weights is None else weights)
    return copy


def feature_model(model):
    """A model giving (penultimate features, logits) in one pass: the last layer's input and output; or None."""
    import keras

    try:
        return keras.Model(model.inputs[0], [model.layers[-1].input, model.outputs[0]])
    except Exception as exc:  # a model without a single last layer on a single input
        log.debug("no penultimate features for this model: %s", exc)
        return None


def summary_text(model) -> str:
    """The Keras summary as text (Keras writes the total as e.g. 'Total params: 257,162 (1004.54 KB)')."""
    lines: list[str] = []
    model.summary(print_fn=lambda line, *args, **kwargs: lines.append(line))
    return "\n".join(lines)


def layer_table(model) -> list[dict]:
    """One row per layer: name, type, output shape and parameter count (like the Keras summary)."""
    rows = []
    for layer in model.layers:
        try:
            shape = tuple(layer.output.shape)
        except (AttributeError, ValueError):
            shape = ()
        rows.append({
            "name": layer.name,
            "type": type(layer).__name__,
            "output_shape": shape,
            "params": int(layer.count_params()),
        })
    return rows
