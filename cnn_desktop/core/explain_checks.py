"""Sanity checks that explanation maps mean something (used by tests and benchmarks/explain_sanity.py).

* model randomisation (Adebayo et al. 2018): a map should change when the
  model's weights are replaced by fresh random ones; measured as the Spearman
  rank correlation between the two maps of the same image;
* deletion: blanking the pixels a map ranks highest should lower the explained
  class's probability more than blanking as many random pixels.
"""

from __future__ import annotations

import numpy as np

from cnn_desktop import config
from cnn_desktop.core.explain import GRADCAM, Explainer

DELETION_FRACTION = 0.2


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 0..n-1 with ties given their mean rank (as Spearman's rho needs)."""
    _unique, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - (counts + 1) / 2.0))[inverse]


def spearman(first: np.ndarray, second: np.ndarray) -> float:
    """Spearman's rank correlation of two maps; NaN when either is constant (no ranking to compare)."""
    a = _average_ranks(np.ravel(first).astype(np.float64))
    b = _average_ranks(np.ravel(second).astype(np.float64))
    a -= a.mean()
    b -= b.mean()
    denominator = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / denominator) if denominator > 0 else float("nan")


def randomised_copy(model, seed: int = 0):
    """The same architecture (nested models too) with freshly initialised weights."""
    import keras

    keras.utils.set_random_seed(seed)
    copy = keras.models.clone_model(model)
    copy.build(model.inputs[0].shape if getattr(model, "inputs", None) else None)
    return copy


def deletion_drops(explainer: Explainer, images: np.ndarray, heatmaps: np.ndarray, class_indices: np.ndarray,
                   fraction: float = DELETION_FRACTION, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Per image, the explained class's probability drop when the top ``fraction`` of pixels by the map
    are set to black background, and when as many random pixels are: ``(drops_top, drops_random)``.

    Signed maps rank by value, so the pixels pushing hardest towards the class go first.
    """
    images = np.asarray(images, dtype=np.float32).reshape(len(images), -1)
    scores = np.asarray(heatmaps, dtype=np.float64).reshape(len(images), -1)
    count = int(round(fraction * images.shape[1]))
    rng = np.random.default_rng(seed)
    top = images.copy()
    random = images.copy()
    rows = np.arange(len(images))[:, None]
    # Ties (e.g. Grad-CAM's zeros) are broken at random rather than by pixel position.
    jitter = rng.random(scores.shape) * 1e-9
    top[rows, np.argsort(-(scores + jitter), axis=1)[:, :count]] = 0.0
    random[rows, np.argsort(rng.random(scores.shape), axis=1)[:, :count]] = 0.0
    shape = (len(images), *config.INPUT_SHAPE)
    classes = np.asarray(class_indices)
    before = explainer.probabilities(images.reshape(shape))[rows[:, 0], classes]
    after_top = explainer.probabilities(top.reshape(shape))[rows[:, 0], classes]
    after_random = explainer.probabilities(random.reshape(shape))[rows[:, 0], classes]
    return before - after_top, before - after_random


def explanation_maps(explainer: Explainer, images: np.ndarray, method: str,
                     class_indices: np.ndarray | None = None, **options) -> np.ndarray:
    """Maps (N, 28, 28) of ``method`` for many images (default: each image's predicted class)."""
    images = np.asarray(images, dtype=np.float32).reshape(-1, *config.INPUT_SHAPE)
    if class_indices is None:
        class_indices = explainer.probabilities(images).argmax(axis=1)
    if method == GRADCAM:
        return explainer.gradcam_batch(images, class_indices, **options)
    return np.stack([explainer.explain(image, method, int(index), **options).heatmap
                     for image, index in zip(images, class_indices)])
