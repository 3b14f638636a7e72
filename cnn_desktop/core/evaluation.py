"""Test-set evaluation: accuracy, loss, confusion matrix, per-class accuracy, hardest examples."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cnn_desktop import config
from cnn_desktop.core.dataset import to_model_input


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Each true class's share of right answers, from a confusion matrix (rows: true classes); 0 for no images."""
    confusion = np.asarray(confusion)
    totals = confusion.sum(axis=1)
    return np.divide(np.diag(confusion), totals, out=np.zeros(len(totals)), where=totals > 0)


def best_epoch(val_losses) -> int | None:
    """The epoch (1-based) with the lowest finite validation loss; None before any (or with none finite)."""
    losses = np.asarray(val_losses, dtype=np.float64)
    finite = np.isfinite(losses)
    if not finite.any():
        return None
    return int(np.argmin(np.where(finite, losses, np.inf))) + 1


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


@dataclass
class Evaluation:
    accuracy: float
    loss: float
    n: int
    labels: np.ndarray  # (n,) true labels
    predictions: np.ndarray  # (n,) predicted labels
    probabilities: np.ndarray  # (n, 10)

    @property
    def confusion(self) -> np.ndarray:
        """Counts: rows are true classes, columns predicted classes."""
        matrix = np.zeros((config.NUM_CLASSES, config.NUM_CLASSES), dtype=np.int64)
        np.add.at(matrix, (self.labels, self.predictions), 1)
        return matrix

    @property
    def per_class_accuracy(self) -> np.ndarray:
        return per_class_accuracy(self.confusion)

    def indices_for_cell(self, true_class: int, predicted_class: int) -> np.ndarray:
        """Test-image indices with this true label that were predicted as ``predicted_class``."""
        return np.flatnonzero((self.labels == true_class) & (self.predictions == predicted_class))

    def hardest(self, count: int = 50) -> np.ndarray:
        """Indices of misclassified images, most confidently wrong first."""
        wrong = np.flatnonzero(self.predictions != self.labels)
        confidence = self.probabilities[wrong, self.predictions[wrong]]
        return wrong[np.argsort(-confidence, kind="stable")][:count]

    def to_dict(self) -> dict:
        return {"accuracy": self.accuracy, "loss": self.loss, "n": self.n}


def predict_logits(model, images_uint8_or_float: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """Logits for many images with direct model calls (no per-call ``predict`` overhead)."""
    images = np.asarray(images_uint8_or_float)
    if images.dtype == np.uint8:
        images = to_model_input(images)
    outputs = [np.asarray(model(images[start:start + batch_size], training=False))
               for start in range(0, len(images), batch_size)]
    return np.concatenate(outputs, axis=0) if outputs else np.zeros((0, config.NUM_CLASSES), np.float32)


def evaluate(model, images: np.ndarray, labels: np.ndarray, batch_size: int = 1000) -> Evaluation:
    logits = predict_logits(model, images, batch_size).astype(np.float64)
    labels = np.asarray(labels).astype(np.int64)
    probabilities = softmax(logits)
    log_probs = logits - logits.max(axis=1, keepdims=True)
    log_probs = log_probs - np.log(np.exp(log_probs).sum(axis=1, keepdims=True))
    loss = float(-log_probs[np.arange(len(labels)), labels].mean()) if len(labels) else float("nan")
    predictions = probabilities.argmax(axis=1)
    accuracy = float((predictions == labels).mean()) if len(labels) else float("nan")
    return Evaluation(accuracy, loss, int(len(labels)), labels, predictions, probabilities.astype(np.float32))
