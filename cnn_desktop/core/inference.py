"""Classifying images and reading out feature maps, fast enough for live drawing.

``model.predict()`` sets up a whole data pipeline per call (~60 ms here); the
classifier instead calls a ``tf.function`` traced once for a fixed input
signature, which costs about a millisecond for one image.

Probabilities are calibrated (the model card's temperature) and each prediction says
whether the network is unsure, and why (see ``calibration``); ``unsure_hints`` gives
what the user can do about it.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import numpy as np

from cnn_desktop import config
from cnn_desktop.core.calibration import Calibration, calibrated_probabilities
from cnn_desktop.core.model import FEATURE_MAP_LAYER_TYPES, feature_model

log = logging.getLogger(__name__)

# Why a prediction is unsure (Calibration.reason): the calibrated top probability is below one
# half; the strongest class evidence (largest logit) is weaker than for nearly all training
# images; the network's features are far from every class it knows.
UNSURE_REASONS = ("low_confidence", "weak_evidence", "unfamiliar")
UNSURE_TEXT = {
    "low_confidence": "The network is unsure: no class is more likely than not.",
    "weak_evidence": "The network is unsure: it finds little of any item it knows.",
    "unfamiliar": "The network is unsure: this looks unlike anything it was trained on.",
}
# What a user can do, by where the picture came from.
HINTS = {
    "fill_outline": "Draw one whole item, large, with closed lines; filling it with the bucket helps.",
    "one_item": "Crop the picture to one item.",
    "plain_background": "Use a plainer background.",
}
HINTS_BY_SOURCE = {"drawing": ("fill_outline",), "photo": ("one_item", "plain_background")}


def unsure_hints(source: str) -> tuple[str, ...]:
    """Hint keys (into HINTS) for an unsure prediction of a "drawing" (the canvas) or a "photo"."""
    return HINTS_BY_SOURCE.get(source, HINTS_BY_SOURCE["photo"])


@dataclass(frozen=True)
class Prediction:
    probabilities: np.ndarray  # (10,) float32, calibrated, sums to 1
    index: int
    label: str
    unsure: bool = False
    reason: str = ""  # "" when sure, else one of UNSURE_REASONS

    @property
    def confidence(self) -> float:
        return float(self.probabilities[self.index])

    @property
    def message(self) -> str:
        """One sentence for the user when unsure; "" otherwise."""
        return UNSURE_TEXT.get(self.reason, "") if self.unsure else ""

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probabilities, kind="stable")[:k]
        return [(config.CLASS_NAMES[i], float(self.probabilities[i])) for i in order]

    def to_dict(self) -> dict:
        return {"label": self.label, "index": self.index, "confidence": self.confidence,
                "unsure": self.unsure, "reason": self.reason or None,
                "probabilities": [float(p) for p in self.probabilities]}


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
    """Calibrated probabilities, the top class, the top-k and "unsure" for one image or a batch.

    Thread-safe: calls are serialised, and ``set_weights`` swaps in a snapshot
    between calls (the app refreshes it at every epoch end of a training).
    Pass the model's calibration (``calibration.load_calibration(path, card)``);
    without one, probabilities are the plain softmax and only low confidence makes it unsure.
    """

    def __init__(self, model, calibration: Calibration | None = None):
        import tensorflow as tf

        self.model = model
        self._lock = threading.Lock()
        both = feature_model(model)
        network = both if both is not None else model
        self._has_features = both is not None
        self._forward = tf.function(
            lambda x: network(x, training=False),
            input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32)],
            reduce_retracing=True,
        )
        self.calibration = Calibration()
        self.set_calibration(calibration)

    def set_calibration(self, calibration: Calibration | None) -> None:
        """Use ``calibration`` from now on (None: the plain softmax); feature statistics of another width are dropped."""
        calibration = calibration or Calibration()
        features = calibration.features
        if features is not None:
            width = int(self.model.layers[-1].input.shape[-1]) if self._has_features else None
            if width != features.width:
                log.warning("feature statistics for %s features do not fit this model (%s): not used",
                            features.width, width)
                calibration = Calibration(calibration.temperature, calibration.min_confidence,
                                          calibration.min_max_logit)
        self.calibration = calibration

    def set_weights(self, weights) -> None:
        with self._lock:
            self.model.set_weights(weights)

    def _run(self, images: np.ndarray) -> tuple[np.ndarray | None, np.ndarray]:
        batch = _as_batch(images)
        with self._lock:
            outputs = self._forward(batch)
        if self._has_features:
            features, logits = outputs
            return np.asarray(features), np.asarray(logits)
        return None, np.asarray(outputs)

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Raw logits (before temperature scaling)."""
        return self._run(images)[1]

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Calibrated probabilities (the logits divided by the temperature, then softmax)."""
        return calibrated_probabilities(self.logits(images), self.calibration.temperature).astype(np.float32)

    def classify(self, image: np.ndarray) -> Prediction:
        predictions = self.classify_batch(image)
        if len(predictions) != 1:
            raise ValueError("classify() takes one image; use classify_batch() for several")
        return predictions[0]

    def classify_batch(self, images: np.ndarray) -> list[Prediction]:
        features, logits = self._run(images)
        calibration = self.calibration
        probabilities = calibrated_probabilities(logits, calibration.temperature).astype(np.float32)
        reasons = calibration.reason(logits, features)
        return [_prediction(row, reason) for row, reason in zip(probabilities, reasons)]


def _prediction(probabilities: np.ndarray, reason: str = "") -> Prediction:
    index = int(np.argmax(probabilities))
    return Prediction(probabilities, index, config.CLASS_NAMES[index], bool(reason), str(reason))


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
