"""Classifying images and reading out feature maps, fast enough for live drawing.

``model.predict()`` sets up a whole data pipeline per call (~60 ms here); the
classifier instead calls a ``tf.function`` traced once for a fixed input
signature, which costs about a millisecond for one image.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from cnn_desktop import config
from cnn_desktop.core.evaluation import softmax
from cnn_desktop.core.model import FEATURE_MAP_LAYER_TYPES


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray  # (10,) float32, sums to 1
    index: int
    label: str

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.index])

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(config.CLASS_NAMES[i], float(self.probabilities[i])) for i in order]

    def to_dict(self) -> dict:
        return {"label": self.label, "index": self.index, "probabilities": [float(p) for p in self.probabilities]}


def _as_batch(images: np.ndarray) -> np.ndarray:
    """Accept (28,28), (28,28,1), (N,28,28) or (N,28,28,1), uint8 or float in [0,1]."""
    array = np.asarray(images)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = array.astype(np.float32, copy=False)
    size = config.IMAGE_SIZE
    if array.shape == (size, size):
        array = array[np.newaxis, ..., np.newaxis]
    elif array.shape == (size, size, 1):
        array = array[np.newaxis]
    elif array.ndim == 3 and array.shape[1:] == (size, size):
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[1:] != config.INPUT_SHAPE:
        raise ValueError(f"expected 28x28 image(s), got an array of shape {np.asarray(images).shape}")
    return array


class Classifier:
    """Ten probabilities, the top class and the top-k for one image or a batch.

    Thread-safe: calls are serialised, and ``set_weights`` swaps in a snapshot
    between calls (the app refreshes it at every epoch end of a training).
    """

    def __init__(self, model):
        import tensorflow as tf

        self.model = model
        self._lock = threading.Lock()
        self._forward = tf.function(
            lambda x: model(x, training=False),
            input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32)],
            reduce_retracing=True,
        )

    def set_weights(self, weights) -> None:
        with self._lock:
            self.model.set_weights(weights)

    def logits(self, images: np.ndarray) -> np.ndarray:
        batch = _as_batch(images)
        with self._lock:
            return self._forward(batch).numpy()

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        return softmax(self.logits(images).astype(np.float64)).astype(np.float32)

    def classify(self, image: np.ndarray) -> Prediction:
        probabilities = self.probabilities(image)
        if probabilities.shape[0] != 1:
            raise ValueError("classify() takes one image; use classify_batch() for several")
        return _prediction(probabilities[0])

    def classify_batch(self, images: np.ndarray) -> list[Prediction]:
        return [_prediction(row) for row in self.probabilities(images)]


def _prediction(probabilities: np.ndarray) -> Prediction:
    index = int(np.argmax(probabilities))
    return Prediction(probabilities, index, config.CLASS_NAMES[index])


@dataclass(frozen=True)
class LayerInfo:
    name: str
    type: str
    output_shape: tuple
    params: int
    has_feature_maps: bool
    has_filters: bool


class FeatureExtractor:
    """Activations of every convolution and pooling layer for one image, and the conv filters."""

    def __init__(self, model):
        import keras
        import tensorflow as tf

        self.model = model
        self._lock = threading.Lock()
        self.layers: list[LayerInfo] = []
        outputs = []
        self.map_layer_names: list[str] = []
        for layer in model.layers:
            kind = type(layer).__name__
            shape = tuple(layer.output.shape)
            is_map = kind in FEATURE_MAP_LAYER_TYPES or (
                kind in ("Activation", "BatchNormalization", "Dropout") and len(shape) == 4)
            self.layers.append(LayerInfo(layer.name, kind, shape, int(layer.count_params()),
                                         is_map, kind == "Conv2D"))
            if is_map:
                outputs.append(layer.output)
                self.map_layer_names.append(layer.name)
        self._extractor = keras.Model(inputs=model.inputs, outputs=outputs)
        self._forward = tf.function(
            lambda x: self._extractor(x, training=False),
            input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32)],
            reduce_retracing=True,
        )

    @property
    def conv_layer_names(self) -> list[str]:
        return [info.name for info in self.layers if info.has_filters]

    def feature_maps(self, image: np.ndarray) -> dict[str, np.ndarray]:
        """Layer name -> activations (H, W, C) for one image."""
        batch = _as_batch(image)[:1]
        with self._lock:
            outputs = self._forward(batch)
        if not isinstance(outputs, (list, tuple)):
            outputs = [outputs]
        return {name: np.asarray(out)[0] for name, out in zip(self.map_layer_names, outputs)}

    def filters(self, layer_name: str) -> np.ndarray:
        """Kernel weights of a Conv2D layer: (kh, kw, in_channels, out_channels)."""
        layer = self.model.get_layer(layer_name)
        if type(layer).__name__ != "Conv2D":
            raise ValueError(f"layer {layer_name!r} is a {type(layer).__name__}, not a convolution")
        return np.asarray(layer.kernel)

    def bias(self, layer_name: str) -> np.ndarray | None:
        layer = self.model.get_layer(layer_name)
        return np.asarray(layer.bias) if getattr(layer, "use_bias", False) else None
