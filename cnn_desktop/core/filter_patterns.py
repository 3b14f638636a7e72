"""What a convolution filter looks for (no Qt).

* :meth:`FilterPatterns.pattern`: activation maximisation, i.e. gradient ascent
  on the input image to make one filter's mean activation as large as possible,
  regularised so the result is readable (random jitter, a light blur, decay
  towards the black background, pixels kept in [0, 1]), then a short plain
  ascent so that the pattern's activation is as high as the filter allows;
* :meth:`FilterPatterns.top_images`: the dataset images whose mean activation
  of that filter is highest.

A filter's activation is the mean of its feature map (the layer's output as
the model computes it, in inference mode). Results are cached in memory per
model weights (a hash of every weight), so a training that changes the
weights never serves stale patterns.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cnn_desktop import config
from cnn_desktop.core.explain import (
    CONV_LAYER_TYPES, ExplainError, find_layer, per_model, run_layers, weights_fingerprint)

# Gradient ascent: each step moves every pixel by at most about STEP_SIZE (the gradient is scaled to unit RMS).
PATTERN_STEPS = 256
STEP_SIZE = 0.05
JITTER_PIXELS = 2  # random shift before each step: patterns that survive shifting are less noisy
BLUR_EVERY = 4  # steps between blurs
BLUR_SIGMA = 0.6  # pixels
DECAY = 0.01  # pull towards the black background per step (an L2 penalty's gradient step)
POLISH_SHARE = 0.2  # the last steps go without jitter, blur or decay: plain ascent from the readable pattern
# Ascents start together from dark, mid and light grey: a filter's best input is not always reachable
# from one start (one filter of the bundled model gains by going darker from dark grey, yet peaks on white).
START_LEVELS = (0.1, 0.5, 0.9)
PATTERN_SEED = 0
ACTIVATION_BATCH = 500
TOP_K = 9
MAX_CACHED_PATTERNS = 1024
MAX_CACHED_ACTIVATIONS = 8


@dataclass(frozen=True)
class FilterPattern:
    layer: str
    filter_index: int
    image: np.ndarray  # (28, 28) float32 in [0, 1]
    activation: float  # the filter's mean activation for ``image``
    steps: int  # gradient steps done (fewer than asked when stopped)


@dataclass(frozen=True)
class TopImages:
    layer: str
    filter_index: int
    indices: np.ndarray  # (k,) indices into the images given, most exciting first
    activations: np.ndarray  # (k,) their mean activations


def _gaussian_kernel(sigma: float) -> np.ndarray:
    radius = max(1, int(round(3 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype=np.float32)
    line = np.exp(-0.5 * (offsets / sigma) ** 2)
    line /= line.sum()
    return np.outer(line, line)[:, :, None, None].astype(np.float32)


class _LruCache(OrderedDict):
    def __init__(self, limit: int):
        super().__init__()
        self.limit = limit

    def put(self, key, value):
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.limit:
            self.popitem(last=False)
        return value


class FilterPatterns:
    """Activation maximisation and top-k images for the convolution filters of one model (thread-safe)."""

    def __init__(self, model):
        self.model = model
        self._lock = threading.RLock()
        self._step_functions: dict[str, Callable] = {}
        self._activation_functions: dict[str, Callable] = {}
        self._patterns = _LruCache(MAX_CACHED_PATTERNS)
        self._activations = _LruCache(MAX_CACHED_ACTIVATIONS)

    def _conv_layer(self, layer: str):
        path, found = find_layer(self.model, layer)
        if type(found).__name__ not in CONV_LAYER_TYPES:
            raise ExplainError(f"layer {path!r} is a {type(found).__name__}, not a convolution")
        return path, found

    def filter_count(self, layer: str) -> int:
        _path, found = self._conv_layer(layer)
        # DepthwiseConv2D has no ``filters``; its kernel's last two axes multiply to the output channels.
        return int(getattr(found, "filters", None) or np.prod(found.kernel.shape[-2:]))

    def _check_filter(self, layer: str, filter_index: int) -> str:
        path, _found = self._conv_layer(layer)
        count = self.filter_count(path)
        if not (isinstance(filter_index, (int, np.integer)) and 0 <= filter_index < count):
            raise ExplainError(f"layer {path!r} has filters 0-{count - 1}; got {filter_index}")
        return path

    def _maps_function(self, path: str):
        import tensorflow as tf

        if path not in self._activation_functions:
            _path, layer = find_layer(self.model, path)
            model = self.model

            def mean_activations(images):
                _outputs, maps = run_layers(model, images, target=layer)
                return tf.reduce_mean(maps, axis=(1, 2))

            self._activation_functions[path] = tf.function(
                mean_activations, input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32)],
                reduce_retracing=True, autograph=False)
        return self._activation_functions[path]

    def _step_function(self, path: str):
        import tensorflow as tf

        if path not in self._step_functions:
            _path, layer = find_layer(self.model, path)
            model = self.model

            def activation_and_gradient(images, filter_index):
                with tf.GradientTape() as tape:
                    tape.watch(images)
                    _outputs, maps = run_layers(model, images, target=layer)
                    activations = tf.reduce_mean(maps[..., filter_index], axis=(1, 2))
                    # Each image's activation depends on that image only: the sum's gradient is per image.
                    total = tf.reduce_sum(activations)
                return activations, tape.gradient(total, images)

            self._step_functions[path] = tf.function(
                activation_and_gradient,
                input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32),
                                 tf.TensorSpec((), tf.int32)],
                autograph=False)
        return self._step_functions[path]

    def filter_activations(self, images: np.ndarray, layer: str) -> np.ndarray:
        """Mean activation of every filter of ``layer`` for every image: (N, filters) float32.

        ``images`` are uint8 (N, 28, 28) or float (N, 28, 28[, 1]) in [0, 1]; cached per weights and images.
        """
        path, _found = self._conv_layer(layer)
        array = np.asarray(images)
        key = (weights_fingerprint(self.model), path, hashlib.sha1(np.ascontiguousarray(array).tobytes()).hexdigest(),
               array.shape, str(array.dtype))
        with self._lock:
            if key in self._activations:
                self._activations.move_to_end(key)
                return self._activations[key]
            function = self._maps_function(path)
            rows = []
            for start in range(0, len(array), ACTIVATION_BATCH):
                chunk = array[start:start + ACTIVATION_BATCH]
                chunk = (chunk.astype(np.float32) / 255.0) if chunk.dtype == np.uint8 else chunk.astype(np.float32)
                rows.append(function(chunk.reshape(-1, *config.INPUT_SHAPE)).numpy())
            result = np.concatenate(rows) if rows else np.zeros((0, self.filter_count(path)), np.float32)
            return self._activations.put(key, result)

    def top_images(self, images: np.ndarray, layer: str, filter_index: int, k: int = TOP_K) -> TopImages:
        """The ``k`` images (indices into ``images``) that excite the filter most, most exciting first."""
        path = self._check_filter(layer, filter_index)
        column = self.filter_activations(images, path)[:, filter_index]
        k = max(0, min(int(k), len(column)))
        order = np.argsort(-column, kind="stable")[:k]
        return TopImages(path, int(filter_index), order, column[order])

    def pattern(self, layer: str, filter_index: int, steps: int = PATTERN_STEPS,
                should_stop: Callable[[], bool] | None = None,
                on_progress: Callable[[int, int], None] | None = None) -> FilterPattern:
        """The input that excites the filter most, found by regularised gradient ascent (cached).

        ``on_progress(done, steps)`` is called after every step and ``should_stop()`` asked; a stopped
        result (``steps`` < asked) is returned but not cached.
        """
        path = self._check_filter(layer, filter_index)
        if not (isinstance(steps, (int, np.integer)) and 1 <= steps <= 10_000):
            raise ExplainError(f"steps must be a whole number from 1 to 10000, got {steps}")
        key = (weights_fingerprint(self.model), path, int(filter_index), int(steps))
        with self._lock:
            if key in self._patterns:
                self._patterns.move_to_end(key)
                return self._patterns[key]
        rng = np.random.default_rng(PATTERN_SEED)
        kernel = _gaussian_kernel(BLUR_SIGMA)
        starts = np.asarray(START_LEVELS, np.float32)[:, None, None, None]
        images = (starts + 0.05 * rng.standard_normal((len(starts), *config.INPUT_SHAPE))).clip(0, 1)
        images = images.astype(np.float32)
        index = np.int32(filter_index)
        polish_from = int(steps * (1 - POLISH_SHARE))
        best_images = images.copy()
        best_activations = np.full(len(images), -np.inf)
        done = 0
        with self._lock:
            step = self._step_function(path)
            for done in range(1, steps + 1):
                polishing = done > polish_from
                shift = (0, 0) if polishing else tuple(rng.integers(-JITTER_PIXELS, JITTER_PIXELS + 1, size=2))
                activations, gradients = step(np.roll(images, shift, axis=(1, 2)), index)
                if polishing:
                    better = activations.numpy() > best_activations
                    best_images[better], best_activations[better] = images[better], activations.numpy()[better]
                gradients = np.roll(gradients.numpy(), (-shift[0], -shift[1]), axis=(1, 2))
                gradients /= np.sqrt(np.mean(gradients ** 2, axis=(1, 2, 3), keepdims=True)) + 1e-8
                # The step shrinks along a cosine from STEP_SIZE to a tenth of it, so the pattern settles.
                size = STEP_SIZE * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * done / steps)))
                images = images + size * gradients - (0.0 if polishing else DECAY) * images
                if not polishing and done % BLUR_EVERY == 0:
                    images = _blur(images, kernel)
                images = np.clip(images, 0.0, 1.0).astype(np.float32)
                if on_progress is not None:
                    on_progress(done, steps)
                if should_stop is not None and should_stop():
                    break
            final = step(images, index)[0].numpy()
        better = final >= best_activations
        best_images[better], best_activations[better] = images[better], final[better]
        winner = int(np.argmax(best_activations))
        result = FilterPattern(path, int(filter_index), best_images[winner, ..., 0],
                               float(best_activations[winner]), done)
        if done == steps:
            with self._lock:
                self._patterns.put(key, result)
        return result


def _blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    import tensorflow as tf

    radius = kernel.shape[0] // 2
    padded = np.pad(image, ((0, 0), (radius, radius), (radius, radius), (0, 0)), mode="reflect")
    return tf.nn.conv2d(padded, kernel, strides=1, padding="VALID").numpy()


def filter_patterns_for(model) -> FilterPatterns:
    """The model's :class:`FilterPatterns` (its caches live as long as the model)."""
    return per_model(model, FilterPatterns)
