"""Honest confidence: temperature scaling, calibration error, and when to say "unsure".

A network trained with cross-entropy is usually over-confident: among the answers it
gives with 99%, fewer than 99% are right. Temperature scaling divides the logits by
one number T (fitted by minimising the negative log-likelihood on images the network
was not trained on), which leaves every answer as it was and makes the stated
probabilities match how often they are right. The expected calibration error (ECE,
15 equal-width confidence bins) measures the mismatch.

"Unsure" has three causes:

- low confidence: the calibrated top probability is below ``min_confidence``, so the
  answer is more likely wrong than right;
- weak evidence: the largest logit (before any softmax) is lower than the network gives
  almost all of its held-out training images. Softmax probabilities are normalised and
  can be high for anything; the raw logit says how strongly any class's features were
  found. This catches many of the wrong answers on ordinary images;
- an unfamiliar input: the features the network's last layer sees (its penultimate
  activations) are far from those of every class, by the Mahalanobis distance to class
  means with one shared covariance fitted on training images. Text, scribbles, geometric
  shapes and outline drawings land far away although the softmax is confident about them.

Each of the two thresholds flags ``UNFAMILIAR_QUANTILE`` of the held-out training
images by construction; the feature statistics live in ``<model>.ood.npz`` beside the
model (referenced from the card with their SHA-256).

Both are fitted on held-out *training* images, never the official test set (which is
only reported). Run ``python -m cnn_desktop.core.calibration --model PATH`` to fit
them for a model and write them into its card.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import logging
import math
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

log = logging.getLogger(__name__)

ECE_BINS = 15
# The last 5,000 training images, unless a model card or the caller names another held-out part.
DEFAULT_HOLDOUT_COUNT = 5000
# Calibrated top probability below which an answer is "unsure": below one half the answer is
# more likely wrong than right.
DEFAULT_MIN_CONFIDENCE = 0.5
# Share of held-out training images whose largest logit may fall below the "unfamiliar" threshold.
UNFAMILIAR_QUANTILE = 0.02
# Training images (outside the held-out part) whose penultimate features give the class means and covariance.
FEATURE_FIT_COUNT = 10_000
# Added to the covariance's diagonal: keeps it invertible when some features never vary (dead units).
COVARIANCE_RIDGE = 1e-3
# Feature statistics files larger than this are refused unread (256 features need about 0.3 MB).
MAX_FEATURE_FILE_BYTES = 32 * 1024 * 1024
FEATURE_FILE_SUFFIX = ".ood.npz"
# Search range for the temperature (log scale): far wider than any trained network needs.
TEMPERATURE_RANGE = (0.05, 20.0)


@dataclass(frozen=True)
class FeatureStatistics:
    """Class means and a shared whitening of the penultimate features: distance = min_k |(f - mean_k) W|^2."""

    whitening: np.ndarray  # (D, D) float32, W with W W^T = inverse covariance
    whitened_means: np.ndarray  # (classes, D) float32, the class means times W

    @property
    def width(self) -> int:
        return int(self.whitening.shape[0])

    def distances(self, features: np.ndarray) -> np.ndarray:
        """Squared Mahalanobis distance of each row of ``features`` (N, D) to the nearest class mean."""
        whitened = np.atleast_2d(np.asarray(features, np.float32)) @ self.whitening
        # |a - b|^2 = |a|^2 - 2 a.b + |b|^2: an (N, classes) product instead of an (N, classes, D) array.
        squared = ((whitened ** 2).sum(axis=1, keepdims=True) - 2 * whitened @ self.whitened_means.T
                   + (self.whitened_means ** 2).sum(axis=1)[np.newaxis])
        return np.maximum(squared.min(axis=1), 0.0)

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray) -> FeatureStatistics:
        features = np.asarray(features, np.float64)
        labels = np.asarray(labels, np.int64)
        classes = int(labels.max()) + 1
        means = np.stack([features[labels == k].mean(axis=0) for k in range(classes)])
        centred = features - means[labels]
        covariance = centred.T @ centred / len(features) + COVARIANCE_RIDGE * np.eye(features.shape[1])
        # Cholesky of the inverse covariance: (f W)(f W)^T = f P f^T, one matrix product per image.
        whitening = np.linalg.cholesky(np.linalg.inv(covariance))
        return cls(whitening.astype(np.float32), (means @ whitening).astype(np.float32))

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(buffer, whitening=self.whitening, whitened_means=self.whitened_means)
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> FeatureStatistics:
        with np.load(io.BytesIO(data), allow_pickle=False) as arrays:
            whitening = np.asarray(arrays["whitening"], np.float32)
            means = np.asarray(arrays["whitened_means"], np.float32)
        if whitening.ndim != 2 or whitening.shape[0] != whitening.shape[1] or means.ndim != 2 \
                or means.shape[1] != whitening.shape[0] or not (np.isfinite(whitening).all() and np.isfinite(means).all()):
            raise ValueError("feature statistics of the wrong shape or not finite")
        return cls(whitening, means)


@dataclass(frozen=True)
class Calibration:
    """How a classifier turns logits into probabilities and when it says it is unsure."""

    temperature: float = 1.0
    min_confidence: float = DEFAULT_MIN_CONFIDENCE
    min_max_logit: float | None = None  # None: no threshold fitted
    max_feature_distance: float | None = None  # None: no feature statistics
    features: FeatureStatistics | None = field(default=None, compare=False, repr=False)

    @classmethod
    def from_card(cls, card: dict | None, features: FeatureStatistics | None = None) -> Calibration:
        """The calibration stored in a model card; defaults (T = 1, low confidence only) for a card without one."""
        card = card or {}
        unsure = card.get("unsure") if isinstance(card.get("unsure"), dict) else {}
        distance = _finite_or_none(unsure.get("max_feature_distance"))
        return cls(_positive_number(card.get("temperature"), 1.0),
                   _number_in(unsure.get("min_confidence"), 0.0, 1.0, DEFAULT_MIN_CONFIDENCE),
                   _finite_or_none(unsure.get("min_max_logit")),
                   distance if features is not None else None,
                   features if distance is not None else None)

    def card_fields(self) -> dict:
        return {"temperature": self.temperature,
                "unsure": {"min_confidence": self.min_confidence, "min_max_logit": self.min_max_logit,
                           "max_feature_distance": self.max_feature_distance}}

    def reason(self, logits: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """Per row: "" (sure), "low_confidence", "weak_evidence" or "unfamiliar" (the first that applies)."""
        logits = np.atleast_2d(np.asarray(logits, np.float64))
        reasons = np.full(len(logits), "", dtype=object)
        if self.features is not None and self.max_feature_distance is not None and features is not None:
            far = self.features.distances(np.atleast_2d(features)) > self.max_feature_distance
            reasons[far] = "unfamiliar"
        if self.min_max_logit is not None:
            reasons[(reasons == "") & (max_logits(logits) < self.min_max_logit)] = "weak_evidence"
        confidence = calibrated_probabilities(logits, self.temperature).max(axis=-1)
        reasons[(reasons == "") & (confidence < self.min_confidence)] = "low_confidence"
        return reasons


def _finite_or_none(value) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def feature_file(model_path: Path | str) -> Path:
    """``model.keras`` -> ``model.ood.npz``."""
    model_path = Path(model_path)
    return model_path.with_name(model_path.stem + FEATURE_FILE_SUFFIX)


def load_calibration(model_path: Path | str | None, card: dict | None) -> Calibration:
    """A model's calibration from its card and, when the card names them, its feature statistics.

    Statistics that are missing, too large, damaged or not the ones the card recorded (SHA-256)
    are ignored with a log line: the classifier then judges by confidence and logits alone.
    """
    card = card or {}
    unsure = card.get("unsure") if isinstance(card.get("unsure"), dict) else {}
    recorded = unsure.get("feature_statistics_sha256")
    features = None
    if model_path is not None and isinstance(recorded, str):
        path = feature_file(model_path)
        try:
            if not path.is_file() or path.stat().st_size > MAX_FEATURE_FILE_BYTES:
                raise ValueError("missing, not a regular file, or too large")
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != recorded:
                raise ValueError("not the statistics the model card recorded")
            features = FeatureStatistics.from_bytes(data)
        except (OSError, ValueError, KeyError) as exc:
            log.warning("ignoring feature statistics %s: %s", path, exc)
    return Calibration.from_card(card, features)


def _positive_number(value, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value > 0:
        return float(value)
    return default


def _number_in(value, low: float, high: float, default: float) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and low <= value <= high:
        return float(value)
    return default


# ---------------------------------------------------------------- measures
def log_softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.asarray(logits, np.float64)
    shifted = shifted - shifted.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def calibrated_probabilities(logits: np.ndarray, temperature: float) -> np.ndarray:
    return np.exp(log_softmax(np.asarray(logits, np.float64) / temperature))


def negative_log_likelihood(logits: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    log_probs = log_softmax(np.asarray(logits, np.float64) / temperature)
    return float(-log_probs[np.arange(len(labels)), np.asarray(labels, np.int64)].mean())


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Sum over equal-width confidence bins of (bin share) x |accuracy - mean confidence|."""
    probabilities = np.asarray(probabilities, np.float64)
    confidence = probabilities.max(axis=1)
    correct = probabilities.argmax(axis=1) == np.asarray(labels)
    # Bin i holds confidences in (i/bins, (i+1)/bins]; a confidence of exactly 0 joins the first.
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    error = 0.0
    for index in range(bins):
        members = which == index
        if members.any():
            error += members.mean() * abs(correct[members].mean() - confidence[members].mean())
    return float(error)


def fit_temperature(logits: np.ndarray, labels: np.ndarray, tolerance: float = 1e-4) -> float:
    """The T minimising the negative log-likelihood of ``labels`` (golden-section search on log T).

    The NLL of temperature-scaled logits has a single minimum in T, so a bracketing search
    finds it without SciPy.
    """
    if len(labels) == 0:
        raise ValueError("cannot fit a temperature on no images")
    low, high = (math.log(bound) for bound in TEMPERATURE_RANGE)
    ratio = (math.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return negative_log_likelihood(logits, labels, math.exp(log_t))

    a, b = high - ratio * (high - low), low + ratio * (high - low)
    loss_a, loss_b = loss(a), loss(b)
    while high - low > tolerance:
        if loss_a <= loss_b:
            high, b, loss_b = b, a, loss_a
            a = high - ratio * (high - low)
            loss_a = loss(a)
        else:
            low, a, loss_a = a, b, loss_b
            b = low + ratio * (high - low)
            loss_b = loss(b)
    return float(math.exp((low + high) / 2))


def max_logits(logits: np.ndarray) -> np.ndarray:
    """The out-of-distribution score: low when no class's features were found strongly."""
    return np.asarray(logits, np.float64).max(axis=-1)


def unsure_mask(logits: np.ndarray, calibration: Calibration, features: np.ndarray | None = None) -> np.ndarray:
    """Which rows of ``logits`` the classifier would call unsure."""
    return calibration.reason(logits, features) != ""


# ---------------------------------------------------------------- fitting
@dataclass(frozen=True)
class HeldOut:
    """The training images a calibration is fitted on."""

    indices: np.ndarray  # into the official training split
    description: str
    trained_on: bool  # whether the model learned from them (then they are not truly held out)


def validation_split_indices(train_size: int, limit: int | None, split: float, seed: int) -> np.ndarray:
    """The training images TrainingSession holds out with ``validation="split"`` (same permutation, same share)."""
    used = min(limit, train_size) if limit else train_size
    count = max(1, int(round(used * split)))
    return np.random.default_rng(seed).permutation(used)[:count]


def held_out_images(card: dict, train_size: int, count: int | None = None, start: int | None = None) -> HeldOut:
    """Which training images to fit on: the model's own validation split when its card says it had one
    (and no range is asked for), else ``count`` images from ``start`` (default: the last 5,000)."""
    card = card or {}
    limit = card.get("limit") if isinstance(card.get("limit"), int) and card.get("limit") > 0 else None
    if count is None and start is None and card.get("validation") == "split" and isinstance(card.get("seed"), int):
        split = _number_in(card.get("validation_split"), 1e-6, 0.9, 0.1)
        indices = validation_split_indices(train_size, limit, split, card["seed"])
        return HeldOut(indices, f"the {len(indices):,} training images the model held out for validation "
                                f"(split {split:g}, seed {card['seed']}), never trained on", False)
    count = DEFAULT_HOLDOUT_COUNT if count is None else count
    start = train_size - count if start is None else start
    if count < 1 or start < 0 or start + count > train_size:
        raise ValueError(f"held-out images {start}..{start + count - 1} are outside the {train_size:,} training images")
    trained = limit or train_size
    # A full training, or a random validation split (which trains on most of any range), saw them.
    trained_on = card.get("validation") == "split" or start < trained
    last = ", the last ones" if start + count == train_size else ""
    return HeldOut(np.arange(start, start + count),
                   f"training images {start}-{start + count - 1} ({count:,}{last})", trained_on)


@dataclass(frozen=True)
class SetReport:
    """Calibration figures on one set of images, before and after temperature scaling."""

    name: str
    n: int
    accuracy: float
    nll_before: float
    nll_after: float
    ece_before: float
    ece_after: float
    unsure_share: float  # share of images called unsure
    wrong_caught: float  # share of the wrong answers that were called unsure
    right_flagged: float  # share of the right answers that were called unsure


def report_on(name: str, logits: np.ndarray, labels: np.ndarray, calibration: Calibration,
              features: np.ndarray | None = None) -> SetReport:
    labels = np.asarray(labels, np.int64)
    before = calibrated_probabilities(logits, 1.0)
    after = calibrated_probabilities(logits, calibration.temperature)
    right = before.argmax(axis=1) == labels
    unsure = unsure_mask(logits, calibration, features)
    return SetReport(
        name, int(len(labels)), float(right.mean()),
        negative_log_likelihood(logits, labels), negative_log_likelihood(logits, labels, calibration.temperature),
        expected_calibration_error(before, labels), expected_calibration_error(after, labels),
        float(unsure.mean()), float(unsure[~right].mean()) if (~right).any() else 0.0,
        float(unsure[right].mean()) if right.any() else 0.0)


def fit_calibration(logits: np.ndarray, labels: np.ndarray, *, min_confidence: float = DEFAULT_MIN_CONFIDENCE,
                    features: np.ndarray | None = None, statistics: FeatureStatistics | None = None) -> Calibration:
    """Temperature and thresholds from held-out training images' logits (and penultimate features)."""
    temperature = fit_temperature(logits, labels)
    threshold = float(np.quantile(max_logits(logits), UNFAMILIAR_QUANTILE))
    distance = None
    if statistics is not None and features is not None:
        distance = float(np.quantile(statistics.distances(features), 1 - UNFAMILIAR_QUANTILE))
    return Calibration(temperature, min_confidence, threshold, distance, statistics if distance is not None else None)


def logits_and_features(model, images: np.ndarray, batch_size: int = 1000) -> tuple[np.ndarray, np.ndarray | None]:
    """Logits and penultimate features (the last layer's input) for many images."""
    from cnn_desktop.core.dataset import to_model_input
    from cnn_desktop.core.model import feature_model

    images = np.asarray(images)
    if images.dtype == np.uint8:
        images = to_model_input(images)
    both = feature_model(model)
    if both is None:
        from cnn_desktop.core.evaluation import predict_logits

        return predict_logits(model, images, batch_size), None
    features, logits = [], []
    for start in range(0, len(images), batch_size):
        feature_batch, logit_batch = both(images[start:start + batch_size], training=False)
        features.append(np.asarray(feature_batch))
        logits.append(np.asarray(logit_batch))
    return np.concatenate(logits), np.concatenate(features)


def _shape_trained(card: dict | None) -> bool:
    """Whether the card's preset mixes silhouettes, outlines and sketches into training (``robust``)."""
    from cnn_desktop.core.model import PRESETS

    preset = PRESETS.get((card or {}).get("preset"))
    return preset is not None and preset.shape_renderings


def _in_training_mix(images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Training images (uint8, as the dataset holds them) as a shape-trained model learned them: in its mix of
    photos, renderings and sketches, so that a drawing (which it learned) is not called unfamiliar because
    photos alone were its reference."""
    from cnn_desktop.core.dataset import to_model_input
    from cnn_desktop.core.shape_renderings import as_in_training

    mixed, mixed_labels = as_in_training(images, labels, seed=seed)
    return to_model_input(mixed), mixed_labels


def _as_they_are(images: np.ndarray, labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return images, labels


def calibrate_model_file(model_path: Path | str, *, data=None, holdout_count: int | None = None,
                         holdout_start: int | None = None, write: bool = True,
                         feature_fit_count: int = FEATURE_FIT_COUNT,
                         report_test: bool = True) -> tuple[Calibration, list[SetReport], dict]:
    """Fit a model's calibration on held-out training images; optionally write it into the model card.

    The held-out images are the model's own validation split when its card records one (and
    neither ``holdout_count`` nor ``holdout_start`` is given), else a range (default the last 5,000).

    Returns the calibration, reports on the held-out images and (only reported, never used for
    fitting) the official test set, and the card fields written.
    """
    from cnn_desktop.core.dataset import load_dataset
    from cnn_desktop.core.model_io import atomic_write_bytes, card_path, load_model, read_card

    model_path = Path(model_path)
    model, _card = load_model(model_path)
    data = data if data is not None else load_dataset()
    train_size = len(data.train_labels)
    held_out = held_out_images(_card, train_size, holdout_count, holdout_start)
    shape_trained = _shape_trained(_card)
    known = _in_training_mix if shape_trained else _as_they_are
    held_images, held_labels = known(data.train_images[held_out.indices], data.train_labels[held_out.indices], 1)
    held_logits, held_features = logits_and_features(model, held_images)
    statistics = None
    if held_features is not None:
        # The distribution the network knows: training images outside the held-out part, evenly spread.
        outside = np.setdiff1d(np.arange(train_size), held_out.indices)
        chosen = outside[np.linspace(0, len(outside) - 1, min(feature_fit_count, len(outside))).astype(int)]
        fit_images, fit_labels = known(data.train_images[chosen], data.train_labels[chosen], 2)
        _logits, fit_features = logits_and_features(model, fit_images)
        statistics = FeatureStatistics.fit(fit_features, fit_labels)
    calibration = fit_calibration(held_logits, held_labels, features=held_features, statistics=statistics)
    trained_on_holdout = held_out.trained_on
    fitted_temperature = calibration.temperature
    if trained_on_holdout:
        # A temperature fitted on images the model learned is biased towards more confidence than new
        # images deserve: keep the plain softmax and record what the fit gave.
        calibration = Calibration(1.0, calibration.min_confidence, calibration.min_max_logit,
                                  calibration.max_feature_distance, calibration.features)
    reports = [report_on("held-out training images", held_logits, held_labels, calibration, held_features)]
    if report_test:
        test_logits, test_features = logits_and_features(model, data.test_images)
        reports.append(report_on("official test set", test_logits, data.test_labels, calibration, test_features))
    fields = {
        **calibration.card_fields(),
        "calibration": {
            "fitted_on": held_out.description + (", as in the training mix of photos, silhouettes, outlines and "
                                                 "sketches" if shape_trained else ""),
            "holdout_count": int(len(held_out.indices)),
            "method": "temperature scaling (minimum negative log-likelihood); weak evidence = largest logit below, "
                      "unfamiliar = Mahalanobis distance of the penultimate features above, the "
                      f"{UNFAMILIAR_QUANTILE:.0%} / {1 - UNFAMILIAR_QUANTILE:.0%} quantile of the held-out images'",
            "dataset_checksum": getattr(data, "checksum", None),
            "reports": [{key: (round(value, 6) if isinstance(value, float) else value)
                         for key, value in asdict(report).items()} for report in reports],
            "trained_on_holdout": trained_on_holdout,
            "fitted_temperature": round(fitted_temperature, 6),
        },
    }
    if trained_on_holdout:
        fields["calibration"]["note"] = (
            "the model was trained on these images too, so they are not truly held out: the fitted temperature "
            "is not used (1.0) and the thresholds are somewhat strict")
    if write:
        if statistics is not None:
            blob = statistics.to_bytes()
            atomic_write_bytes(feature_file(model_path), blob)
            fields["unsure"]["feature_statistics_sha256"] = hashlib.sha256(blob).hexdigest()
        path = card_path(model_path)
        # Bounded and non-blocking, as every card read: a card may be a FIFO or a huge file.
        card = read_card(model_path)
        card.update(fields)
        atomic_write_bytes(path, (json.dumps(card, indent=2) + "\n").encode())
    return calibration, reports, fields


def format_reports(calibration: Calibration, reports: list[SetReport]) -> str:
    lines = [f"temperature {calibration.temperature:.4f}; unsure below {calibration.min_confidence:.0%} calibrated "
             f"confidence, a largest logit below "
             + ("(none)" if calibration.min_max_logit is None else f"{calibration.min_max_logit:.3f}")
             + ", or a feature distance above "
             + ("(none)" if calibration.max_feature_distance is None else f"{calibration.max_feature_distance:.1f}")]
    for report in reports:
        lines.append(
            f"{report.name} ({report.n:,}, accuracy {report.accuracy:.4f}): ECE {report.ece_before:.4f} -> "
            f"{report.ece_after:.4f}, NLL {report.nll_before:.4f} -> {report.nll_after:.4f}; unsure "
            f"{report.unsure_share:.1%} of all, {report.wrong_caught:.1%} of the wrong answers, "
            f"{report.right_flagged:.1%} of the right ones")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cnn_desktop.core.calibration",
        description="Fit a model's temperature and unsure threshold on held-out training images and write them "
                    "into its card. The official test set is only reported.")
    parser.add_argument("--model", type=Path, help="the .keras model (default: the bundled model)")
    parser.add_argument("--holdout-count", type=int,
                        help="fit on this many training images (default: the model's own validation split when "
                             f"its card records one, else the last {DEFAULT_HOLDOUT_COUNT:,})")
    parser.add_argument("--holdout-start", type=int,
                        help="index of the first of them (default: the last --holdout-count)")
    parser.add_argument("--dry-run", action="store_true", help="report only; leave the card as it is")
    parser.add_argument("--data-dir", type=Path, help="directory holding the Fashion-MNIST idx files")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from cnn_desktop import config
    from cnn_desktop.core.dataset import DatasetError, load_dataset
    from cnn_desktop.core.model_io import ModelFileError

    model_path = args.model or config.default_model_path()
    try:
        calibration, reports, fields = calibrate_model_file(
            model_path, data=load_dataset(args.data_dir), holdout_count=args.holdout_count,
            holdout_start=args.holdout_start, write=not args.dry_run)
    except (ModelFileError, DatasetError, ValueError, OSError) as exc:
        print(f"calibration: error: {exc}", file=sys.stderr)
        return 1
    print(format_reports(calibration, reports))
    print(f"fitted on {fields['calibration']['fitted_on']}"
          + ("; NOTE: " + fields["calibration"]["note"] if "note" in fields["calibration"] else ""))
    print("card left unchanged (--dry-run)" if args.dry_run else f"written to the card beside {model_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
