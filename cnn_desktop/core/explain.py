"""Why did the network say that? Explanation maps for one image (no Qt).

Four methods, each giving a map over the 28x28 input for one class (the
predicted class unless another is asked for):

* ``gradcam``: Grad-CAM on a convolution (the last one unless named);
* ``occlusion``: cover a sliding patch with background and watch the class probability fall;
  computed row by row (:meth:`Explainer.iter_occlusion`) so a window can show
  the map filling in, and stoppable;
* ``smoothgrad``: input gradients averaged over noisy copies of the image, times the image;
* ``integrated-gradients``: gradients summed along the path from a black image.

Maps of ``gradcam`` and ``occlusion`` lie in [0, 1] (1 = the strongest
evidence for the class). ``smoothgrad`` (gradient x input, the default) and
``integrated-gradients`` are signed, in [-1, 1]: positive = the pixel pushes
towards the class, negative = away from it. ``Explanation.signed`` says which.

The model is never rebuilt from ``get_layer(...).output``, which fails for
nested models: :func:`run_layers` walks the model's graph itself, calling every
layer in inference mode (``training=False``: dropout off, batch-norm moving
statistics) and recursing into nested Sequential / Functional models, and
hands back the chosen layer's output along with the model's output.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from cnn_desktop import config
from cnn_desktop.core import class_names
from cnn_desktop.core.evaluation import softmax

GRADCAM, OCCLUSION, SMOOTHGRAD, INTEGRATED_GRADIENTS = "gradcam", "occlusion", "smoothgrad", "integrated-gradients"
METHODS = (GRADCAM, OCCLUSION, SMOOTHGRAD, INTEGRATED_GRADIENTS)
METHOD_TITLES = {
    GRADCAM: "Grad-CAM",
    OCCLUSION: "Occlusion sensitivity",
    SMOOTHGRAD: "SmoothGrad",
    INTEGRATED_GRADIENTS: "Integrated gradients",
}
# Plain-language texts for the "how it works" panel and docs/explanations.md.
METHOD_DESCRIPTIONS = {
    GRADCAM: (
        "Grad-CAM looks at a convolution layer's feature maps: each map marks where in the picture its "
        "filter found its pattern. It asks, at every place in every map, how much a little more activation "
        "there would raise the class's score, weighs the activations by that and adds the maps up. Red areas "
        "are where patterns that speak for the class were found; they may lie in the empty background, "
        "since where there is nothing matters too (the gap between trouser legs). The last convolution gives "
        "coarse areas (its maps are 7x7, stretched to 28x28); earlier convolutions give finer ones. A "
        "convolution followed by batch normalisation and an activation is read after them, where its maps "
        "are what the next layer sees. (This is the HiResCAM form of Grad-CAM; the classic form averages "
        "each map's gradients first, which blurs the evidence in networks that end in dense layers.)"
    ),
    OCCLUSION: (
        "Occlusion sensitivity covers one small square of the picture at a time with black background and "
        "classifies the picture again. Where covering the square makes the class's probability drop, the "
        "square held evidence for it: those areas turn red. It needs no look inside the network, only many "
        "predictions, so the map fills in row by row. A larger patch finds larger parts; a smaller stride "
        "gives a smoother map but takes longer."
    ),
    SMOOTHGRAD: (
        "SmoothGrad asks, for every pixel, how strongly the class's score would change if that pixel were a "
        "little brighter (the gradient), and multiplies that by the pixel's brightness: what the pixel as it "
        "is adds to the score. One gradient is noisy, so it is averaged over many copies of the picture with "
        "a little random noise added. Red pixels push the prediction towards the class, blue ones push it "
        "away. Black pixels get nothing: the map shows what is drawn, not what is missing."
    ),
    INTEGRATED_GRADIENTS: (
        "Integrated gradients fades the picture in from black in small steps and adds up, for every pixel, "
        "how much the class's score rose or fell as that pixel appeared. The totals share out the score "
        "between the pixels: red pixels push the prediction towards the class, blue ones push it away. "
        "Black pixels get nothing, since they do not differ from the black starting point."
    ),
}

# Layer types whose output can be explained by Grad-CAM and whose filters can be visualised.
CONV_LAYER_TYPES = ("Conv2D", "SeparableConv2D", "DepthwiseConv2D")
# Per-pixel layers that may follow a convolution in its block; Grad-CAM reads the block's last one.
ELEMENTWISE_LAYER_TYPES = ("BatchNormalization", "Activation", "ReLU", "LeakyReLU", "ELU", "PReLU")
# Grad-CAM's weighting of the feature maps: "hirescam" weighs every map location by its own gradient
# (Draelos & Carin 2020); "gradcam" averages each map's gradients first (Selvaraju et al. 2017). All presets
# end in Flatten + Dense, where averaging spreads evidence to places the dense layer ignores: on 300 held-out
# training images, blanking HiResCAM's top 20% pixels cost the class 0.55 probability, Grad-CAM's 0.33,
# 20% random pixels 0.23 (docs/explanations.md). With a global-average-pooling head the two are the same.
CAM_VARIANTS = ("hirescam", "gradcam")
DEFAULT_CAM_VARIANT = "hirescam"
# Occlusion defaults: a 6x6 patch is about a fifth of an item's width; stride 2 gives 12x12 positions.
OCCLUSION_PATCH = 6
OCCLUSION_STRIDE = 2
OCCLUSION_FILL = 0.0  # the dataset's background: an occluded patch looks like empty background
# Drops are shown relative to the largest one, but never to less than this: when no patch matters (a
# confident prediction that survives any one patch covered), the map stays pale instead of turning
# tiny differences bright red.
OCCLUSION_MIN_SCALE = 0.05
# SmoothGrad (Smilkov et al. 2017 suggest 10-20% noise and ~50 samples; 25 are already stable at 28x28).
SMOOTHGRAD_SAMPLES = 25
SMOOTHGRAD_NOISE = 0.15
INTEGRATED_GRADIENTS_STEPS = 32
# Gradient maps are scaled so that this percentile of |value| is 1 (a few extreme pixels would wash out the rest).
GRADIENT_SCALE_PERCENTILE = 99.5


class ExplainError(ValueError):
    """An explanation cannot be computed as asked (unknown layer, class or method); the message says why."""


@dataclass(frozen=True)
class Explanation:
    method: str
    heatmap: np.ndarray  # (28, 28) float32 in [0, 1], or in [-1, 1] when ``signed``
    class_index: int  # the class explained
    predicted_index: int
    probabilities: np.ndarray  # (10,) for the image as given
    layer: str | None = None  # Grad-CAM's layer
    signed: bool = False
    scale: float = 1.0  # the largest raw value (occlusion: the largest probability drop)
    complete: bool = True  # False when an occlusion run was stopped early
    options: dict = field(default_factory=dict)

    @property
    def class_name(self) -> str:
        return config.CLASS_NAMES[self.class_index]

    @property
    def predicted_name(self) -> str:
        return config.CLASS_NAMES[self.predicted_index]

    def legend(self) -> str:
        """What the colours mean, in one line for a legend."""
        if self.signed:
            return f"red: pushes towards {self.class_name}; blue: pushes away from it"
        if self.method == OCCLUSION:
            amount = f"{self.scale:.0%}" if self.scale >= 0.1 else f"{self.scale:.1%}"
            return f"red: covering it lowers the probability of {self.class_name} (by up to {amount})"
        return f"red: strongest evidence used for {self.class_name}"

    def to_dict(self, decimals: int = 4) -> dict:
        return {
            "method": self.method,
            "layer": self.layer,
            "predicted": {"index": self.predicted_index, "label": self.predicted_name,
                          "probability": float(self.probabilities[self.predicted_index])},
            "explained": {"index": self.class_index, "label": self.class_name,
                          "probability": float(self.probabilities[self.class_index])},
            "signed": self.signed,
            "scale": float(self.scale),
            "complete": self.complete,
            "options": dict(self.options),
            "legend": self.legend(),
            "map": np.round(self.heatmap.astype(np.float64), decimals).tolist(),
        }


@dataclass(frozen=True)
class OcclusionProgress:
    """Occlusion so far: ``rows_done`` of ``rows_total`` patch rows; ``heatmap`` is filled in above them."""
    rows_done: int
    rows_total: int
    heatmap: np.ndarray  # (28, 28) float32 in [0, 1], zero where not computed yet
    scale: float


def as_image_batch(image: np.ndarray) -> np.ndarray:
    """(28,28), (28,28,1), uint8 or float in [0,1] -> float32 (1, 28, 28, 1)."""
    array = np.asarray(image)
    if array.dtype == np.uint8:
        array = array.astype(np.float32) / 255.0
    array = np.asarray(array, dtype=np.float32)
    if array.shape == (1, *config.INPUT_SHAPE):
        array = array[0]
    if array.shape == config.INPUT_SHAPE:
        array = array[..., 0]
    if array.shape != (config.IMAGE_SIZE, config.IMAGE_SIZE):
        raise ExplainError(f"expected one 28x28 image, got an array of shape {np.asarray(image).shape}")
    if not np.all(np.isfinite(array)):
        raise ExplainError("the image holds values that are not numbers")
    return np.clip(array, 0.0, 1.0)[np.newaxis, ..., np.newaxis]


def class_index_from_name(name: str | int) -> int:
    """A class by its name or label number (``core.class_names``); raises ExplainError naming the choices."""
    return class_names.class_index_from_text(name, ExplainError)


# --- walking the model's graph -------------------------------------------------------------------

def _is_model(layer) -> bool:
    import keras

    return isinstance(layer, keras.Model)


def iter_layers(model, prefix: str = "") -> Iterator[tuple[str, object]]:
    """(path, layer) for every layer, nested models' layers as 'outer/inner' (the nested model itself too)."""
    for layer in model.layers:
        path = f"{prefix}{layer.name}"
        yield path, layer
        if _is_model(layer):
            yield from iter_layers(layer, prefix=f"{path}/")


def conv_layer_names(model) -> list[str]:
    """Paths of the model's convolution layers in model order (nested ones as 'outer/inner')."""
    return [path for path, layer in iter_layers(model) if type(layer).__name__ in CONV_LAYER_TYPES]


def find_layer(model, name: str):
    """The layer at ``name``: a path as :func:`iter_layers` gives, or a bare name if it is unique."""
    layers = list(iter_layers(model))
    for path, layer in layers:
        if path == name:
            return path, layer
    matches = [(path, layer) for path, layer in layers if layer.name == name]
    if len(matches) == 1:
        return matches[0]
    names = ", ".join(path for path, _ in layers)
    if matches:
        raise ExplainError(f"layer name {name!r} is ambiguous; use one of "
                           f"{', '.join(path for path, _ in matches)}")
    raise ExplainError(f"no layer {name!r} in the model; its layers are: {names}")


def gradcam_layer(model, name: str) -> str:
    """The layer Grad-CAM reads for ``name``: a convolution's block output when per-pixel layers
    (batch norm, activation) directly follow it in a Sequential model, otherwise ``name`` itself.

    Grad-CAM weighs rectified feature maps, what the next layer sees; a bare convolution before its
    batch norm has signed maps whose channels the batch norm still rescales or flips. On held-out
    training images, the block output of the bundled model's last convolution did better on the
    deletion check than the bare convolution (docs/explanations.md).
    """
    path, layer = find_layer(model, name)
    if type(layer).__name__ not in CONV_LAYER_TYPES:
        return path
    parent_path, _, _ = path.rpartition("/")
    parent = find_layer(model, parent_path)[1] if parent_path else model
    if not hasattr(parent, "_run_through_graph") and hasattr(parent, "layers"):  # a Sequential container
        siblings = parent.layers
        position = next(i for i, sibling in enumerate(siblings) if sibling is layer)
        for sibling in siblings[position + 1:]:
            if type(sibling).__name__ not in ELEMENTWISE_LAYER_TYPES:
                break
            path = f"{parent_path}/{sibling.name}" if parent_path else sibling.name
    return path


def _contains(model, target) -> bool:
    return any(layer is target for _, layer in iter_layers(model))


def run_layers(model, inputs, target=None):
    """Run ``model`` on ``inputs`` in inference mode, layer by layer: returns ``(outputs, target_output)``.

    Nested models that hold ``target`` are walked into; every other layer is
    called as a whole with ``training=False``. ``target_output`` is the first
    output of ``target`` (None when there is no target).
    """
    captured: list = []

    def call(layer, *args, **kwargs):
        if target is not None and _is_model(layer) and layer is not target and _contains(layer, target):
            result = _walk(layer, args[0])
        else:
            if getattr(layer, "_call_has_training_arg", True):
                kwargs["training"] = False
            result = layer(*args, **kwargs)
        if layer is target and not captured:
            captured.append(result)
        return result

    def _walk(graph_model, x):
        if hasattr(graph_model, "_run_through_graph"):  # Functional (and models built from inputs/outputs)
            outputs = graph_model._run_through_graph(
                x, operation_fn=lambda op: (lambda *args, **kwargs: call(op, *args, **kwargs)))
            return outputs[0] if isinstance(outputs, (list, tuple)) and len(outputs) == 1 else outputs
        if type(graph_model).__name__ == "Sequential" or hasattr(graph_model, "_functional"):
            for layer in graph_model.layers:
                x = call(layer, x)
            return x
        raise ExplainError(f"cannot look inside the subclassed model {graph_model.name!r}; "
                           "explanations need Sequential or Functional models")

    outputs = _walk(model, inputs)
    if target is not None and not captured:
        raise ExplainError(f"layer {target.name!r} is not on the path from the model's input to its output")
    return outputs, (captured[0] if captured else None)


def weights_fingerprint(model) -> str:
    """A hash of every weight (trainable or not): equal for the same weights, so caches key on it."""
    import hashlib

    digest = hashlib.sha1()
    for weight in model.weights:
        value = np.ascontiguousarray(np.asarray(weight))
        digest.update(str(value.shape).encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


# --- the explainer ------------------------------------------------------------------------------

def _normalise_unsigned(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale a non-negative map so that its GRADIENT_SCALE_PERCENTILE-th value is 1; returns (map, scale)."""
    top = float(np.percentile(values, GRADIENT_SCALE_PERCENTILE))
    if not top > 0:
        top = float(values.max())
    if not top > 0:
        return np.zeros_like(values, dtype=np.float32), 0.0
    return np.clip(values / top, 0, 1).astype(np.float32), top


def _normalise_signed(values: np.ndarray) -> tuple[np.ndarray, float]:
    """Scale a signed map into [-1, 1] by the GRADIENT_SCALE_PERCENTILE-th |value|; returns (map, scale)."""
    magnitude, scale = _normalise_unsigned(np.abs(values))
    return (np.sign(values) * magnitude).astype(np.float32), scale


class Explainer:
    """Explanation maps for one model; the traced functions are built once per layer and kept.

    Thread-safe (calls are serialised). It reads the model's variables at every
    call, so it stays right while a training updates the weights.
    """

    def __init__(self, model):
        self.model = model
        self._lock = threading.RLock()
        self._gradcam_functions: dict[tuple[str, str], Callable] = {}
        self._gradient_function = None
        self._forward_function = None
        self.conv_layer_names = conv_layer_names(model)

    @property
    def last_conv_layer_name(self) -> str:
        if not self.conv_layer_names:
            raise ExplainError("the model has no convolution layer for Grad-CAM")
        return self.conv_layer_names[-1]

    def _gradcam_path(self, layer: str | None, block_output: bool) -> str:
        name = layer or self.last_conv_layer_name
        return gradcam_layer(self.model, name) if block_output else find_layer(self.model, name)[0]

    # traced functions

    def _forward(self):
        import tensorflow as tf

        if self._forward_function is None:
            model = self.model
            self._forward_function = tf.function(
                lambda x: model(x, training=False),
                input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32)],
                reduce_retracing=True)
        return self._forward_function

    def _gradcam_function(self, layer_path: str, variant: str):
        import tensorflow as tf

        key = (layer_path, variant)
        if key not in self._gradcam_functions:
            _path, layer = find_layer(self.model, layer_path)
            model = self.model

            def gradcam(images, class_indices):
                with tf.GradientTape() as tape:
                    tape.watch(images)
                    logits, maps = run_layers(model, images, target=layer)
                    score = tf.gather(logits, class_indices, batch_dims=1)
                if maps.shape.rank != 4:
                    raise ExplainError(f"layer {layer_path!r} gives no 2-D feature maps to explain with")
                gradients = tape.gradient(score, maps)
                if variant == "gradcam":
                    gradients = tf.reduce_mean(gradients, axis=(1, 2), keepdims=True)
                cam = tf.nn.relu(tf.reduce_sum(gradients * maps, axis=-1, keepdims=True))
                cam = tf.image.resize(cam, (config.IMAGE_SIZE, config.IMAGE_SIZE), method="bilinear")
                return cam[..., 0], logits

            # No autograph: the graph walk is plain Python run once while tracing, and without autograph
            # its ExplainError (a subclassed model, a layer without 2-D maps) reaches the caller as it is.
            self._gradcam_functions[key] = tf.function(
                gradcam, input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32),
                                          tf.TensorSpec((None,), tf.int32)],
                reduce_retracing=True, autograph=False)
        return self._gradcam_functions[key]

    def _input_gradients(self):
        import tensorflow as tf

        if self._gradient_function is None:
            model = self.model

            def gradients(images, class_indices):
                with tf.GradientTape() as tape:
                    tape.watch(images)
                    logits = model(images, training=False)
                    score = tf.gather(logits, class_indices, batch_dims=1)
                return tape.gradient(score, images)

            self._gradient_function = tf.function(
                gradients, input_signature=[tf.TensorSpec((None, *config.INPUT_SHAPE), tf.float32),
                                            tf.TensorSpec((None,), tf.int32)],
                reduce_retracing=True)
        return self._gradient_function

    # public API

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """Class probabilities (N, 10) for a batch (N, 28, 28, 1) of float images."""
        with self._lock:
            logits = self._forward()(np.asarray(images, dtype=np.float32)).numpy()
        return softmax(logits.astype(np.float64)).astype(np.float32)

    def _start(self, image, class_index):
        batch = as_image_batch(image)
        probabilities = self.probabilities(batch)[0]
        predicted = int(np.argmax(probabilities))
        target = predicted if class_index is None else class_index_from_name(class_index)
        return batch, probabilities, predicted, target

    def explain(self, image, method: str = GRADCAM, class_index: int | str | None = None, **options) -> Explanation:
        """One explanation by method name; ``options`` go to the method (e.g. ``layer``, ``patch_size``)."""
        methods = {GRADCAM: self.gradcam, OCCLUSION: self.occlusion, SMOOTHGRAD: self.smoothgrad,
                   INTEGRATED_GRADIENTS: self.integrated_gradients}
        if method not in methods:
            raise ExplainError(f"unknown method {method!r}; choose one of {', '.join(METHODS)}")
        return methods[method](image, class_index, **options)

    def gradcam(self, image, class_index: int | str | None = None, layer: str | None = None,
                block_output: bool = True, variant: str = DEFAULT_CAM_VARIANT) -> Explanation:
        """Grad-CAM (Selvaraju et al. 2017) on ``layer`` (default: the last convolution), upsampled to 28x28.

        A convolution is read at its block output (:func:`gradcam_layer`) unless ``block_output`` is
        false; ``Explanation.layer`` names the layer actually used. Any layer with 2-D maps may be named.
        ``variant`` is the maps' weighting, "hirescam" (default) or the classic "gradcam" (CAM_VARIANTS).
        """
        batch, probabilities, predicted, target = self._start(image, class_index)
        path = self._gradcam_path(layer, block_output)
        cams, peaks = self._cams(batch, np.array([target]), path, variant)
        return Explanation(GRADCAM, cams[0], target, predicted, probabilities, layer=path,
                           scale=float(peaks[0]), options={"variant": variant})

    def gradcam_batch(self, images: np.ndarray, class_indices: np.ndarray, layer: str | None = None,
                      block_output: bool = True, variant: str = DEFAULT_CAM_VARIANT) -> np.ndarray:
        """Grad-CAM maps (N, 28, 28) in [0, 1] for a batch (N, 28, 28, 1), one class per image."""
        return self._cams(images, class_indices, self._gradcam_path(layer, block_output), variant)[0]

    def _cams(self, images, class_indices, path: str, variant: str) -> tuple[np.ndarray, np.ndarray]:
        """Maps scaled to peak 1, and the peaks."""
        if variant not in CAM_VARIANTS:
            raise ExplainError(f"unknown Grad-CAM variant {variant!r}; choose one of {', '.join(CAM_VARIANTS)}")
        with self._lock:
            cams, _ = self._gradcam_function(path, variant)(np.asarray(images, np.float32),
                                                            np.asarray(class_indices, np.int32))
        cams = np.maximum(cams.numpy(), 0)
        peaks = cams.reshape(len(cams), -1).max(axis=1)
        scale = peaks[:, None, None]
        return np.divide(cams, scale, out=np.zeros_like(cams), where=scale > 0).astype(np.float32), peaks

    def iter_occlusion(self, image, class_index: int | str | None = None, patch_size: int = OCCLUSION_PATCH,
                       stride: int = OCCLUSION_STRIDE) -> Iterator[OcclusionProgress]:
        """Occlusion sensitivity, one row of patch positions per step (Zeiler & Fergus 2014).

        Each pixel's value is the mean probability drop of the class over the patches
        covering it, clipped at zero and divided by the largest drop (``scale``), or by
        OCCLUSION_MIN_SCALE when that is larger. Stop early by not asking for the next row.
        """
        size = config.IMAGE_SIZE
        if not (isinstance(patch_size, (int, np.integer)) and 1 <= patch_size <= size):
            raise ExplainError(f"the patch size must be a whole number of pixels from 1 to {size}, got {patch_size}")
        if not (isinstance(stride, (int, np.integer)) and 1 <= stride <= size):
            raise ExplainError(f"the stride must be a whole number of pixels from 1 to {size}, got {stride}")
        batch, probabilities, _predicted, target = self._start(image, class_index)
        starts = list(range(0, size - patch_size + 1, stride))
        if starts[-1] != size - patch_size:
            starts.append(size - patch_size)  # the last patch reaches the edge, so every pixel is covered
        base = float(probabilities[target])
        drop_sum = np.zeros((size, size), np.float64)
        cover = np.zeros((size, size), np.float64)
        for row, top in enumerate(starts):
            occluded = np.repeat(batch, len(starts), axis=0)
            for column, left in enumerate(starts):
                occluded[column, top:top + patch_size, left:left + patch_size, 0] = OCCLUSION_FILL
            drops = base - self.probabilities(occluded)[:, target]
            for column, left in enumerate(starts):
                drop_sum[top:top + patch_size, left:left + patch_size] += drops[column]
                cover[top:top + patch_size, left:left + patch_size] += 1
            mean_drop = np.divide(drop_sum, cover, out=np.zeros_like(drop_sum), where=cover > 0)
            positive = np.maximum(mean_drop, 0)
            scale = float(positive.max())
            heatmap = (positive / max(scale, OCCLUSION_MIN_SCALE)).astype(np.float32)
            yield OcclusionProgress(row + 1, len(starts), heatmap, scale)

    def occlusion(self, image, class_index: int | str | None = None, patch_size: int = OCCLUSION_PATCH,
                  stride: int = OCCLUSION_STRIDE,
                  on_progress: Callable[[OcclusionProgress], None] | None = None,
                  should_stop: Callable[[], bool] | None = None) -> Explanation:
        """Occlusion map; ``on_progress`` sees every row, ``should_stop()`` true ends it early (``complete=False``)."""
        batch, probabilities, predicted, target = self._start(image, class_index)
        last = None
        for progress in self.iter_occlusion(batch, target, patch_size, stride):
            last = progress
            if on_progress is not None:
                on_progress(progress)
            if should_stop is not None and should_stop() and progress.rows_done < progress.rows_total:
                break
        return Explanation(OCCLUSION, last.heatmap, target, predicted, probabilities, scale=last.scale,
                           complete=last.rows_done == last.rows_total,
                           options={"patch_size": int(patch_size), "stride": int(stride)})

    def smoothgrad(self, image, class_index: int | str | None = None, samples: int = SMOOTHGRAD_SAMPLES,
                   noise: float = SMOOTHGRAD_NOISE, times_input: bool = True, seed: int = 0) -> Explanation:
        """SmoothGrad (Smilkov et al. 2017): the class score's gradient averaged over noisy copies.

        ``times_input`` (default): gradient x pixel, signed in [-1, 1] (positive = towards the class).
        Otherwise the mean |gradient|, in [0, 1]: sensitivity, which is often largest in the empty
        background and so says little about the picture as drawn (docs/explanations.md).
        """
        if not (isinstance(samples, (int, np.integer)) and 1 <= samples <= 1000):
            raise ExplainError(f"samples must be a whole number from 1 to 1000, got {samples}")
        if not (0 <= noise <= 1):
            raise ExplainError(f"noise must be from 0 to 1, got {noise}")
        batch, probabilities, predicted, target = self._start(image, class_index)
        rng = np.random.default_rng(seed)
        noisy = (batch + rng.normal(0.0, noise, size=(samples, *config.INPUT_SHAPE))).astype(np.float32)
        with self._lock:
            gradients = self._input_gradients()(noisy, np.full(samples, target, np.int32)).numpy()[..., 0]
        options = {"samples": int(samples), "noise": float(noise), "times_input": bool(times_input)}
        if times_input:
            heatmap, scale = _normalise_signed(gradients.mean(axis=0) * batch[0, ..., 0])
            return Explanation(SMOOTHGRAD, heatmap, target, predicted, probabilities, signed=True, scale=scale,
                               options=options)
        heatmap, scale = _normalise_unsigned(np.abs(gradients).mean(axis=0))
        return Explanation(SMOOTHGRAD, heatmap, target, predicted, probabilities, scale=scale, options=options)

    def integrated_gradients(self, image, class_index: int | str | None = None,
                             steps: int = INTEGRATED_GRADIENTS_STEPS) -> Explanation:
        """Integrated gradients (Sundararajan et al. 2017) from a black image, trapezoidal rule; signed map."""
        if not (isinstance(steps, (int, np.integer)) and 2 <= steps <= 1000):
            raise ExplainError(f"steps must be a whole number from 2 to 1000, got {steps}")
        batch, probabilities, predicted, target = self._start(image, class_index)
        baseline = np.zeros_like(batch)
        alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)[:, None, None, None]
        path = (baseline + alphas * (batch - baseline)).astype(np.float32)
        with self._lock:
            gradients = self._input_gradients()(path, np.full(len(path), target, np.int32)).numpy()
        average = (gradients[:-1] + gradients[1:]).mean(axis=0) / 2
        attributions = ((batch - baseline)[0] * average)[..., 0]
        heatmap, top = _normalise_signed(attributions)
        return Explanation(INTEGRATED_GRADIENTS, heatmap, target, predicted, probabilities, signed=True,
                           scale=top, options={"steps": int(steps), "baseline": "black",
                                               "attribution_sum": float(attributions.sum())})


_PER_MODEL_ATTRIBUTE = "_cnn_desktop_per_model"
_per_model_lock = threading.Lock()


def per_model(model, factory: Callable):
    """``factory(model)``, built once per model and kept on the model itself, so it goes when the model goes.

    (A weak-keyed table would not do: its values hold the model and would keep it alive for ever.)
    """
    with _per_model_lock:
        table = vars(model).get(_PER_MODEL_ATTRIBUTE)
        if table is None:
            table = {}
            object.__setattr__(model, _PER_MODEL_ATTRIBUTE, table)  # past Keras' attribute tracking
        if factory not in table:
            table[factory] = factory(model)
        return table[factory]


def explainer_for(model) -> Explainer:
    """The model's :class:`Explainer` (built on first use; traced functions are kept with it)."""
    return per_model(model, Explainer)


def explain(model, image, method: str = GRADCAM, class_index: int | str | None = None, **options) -> Explanation:
    """Shortcut: ``explainer_for(model).explain(...)``."""
    return explainer_for(model).explain(image, method, class_index, **options)
