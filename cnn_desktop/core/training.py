"""A training session: Keras ``fit`` with a config, progress through a callback, cooperative stop.

The session knows nothing of Qt. It is run (blocking) by whoever owns it: the
command line in the main thread, the desktop app in a worker thread. Everything
it has to say goes through ``listener(event)``, one of the event dataclasses
below; ``cancel()`` may be called from any thread and takes effect after the
batch in progress (Keras checks ``model.stop_training`` after every batch).
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from cnn_desktop import config
from cnn_desktop.core import dataset as dataset_module
from cnn_desktop.core.evaluation import best_epoch as lowest_loss_epoch
from cnn_desktop.core.model import (MIXED_PRECISION_POLICY, build_model, compile_model, copy_model, get_preset,
                                    make_schedule)

log = logging.getLogger(__name__)

VALIDATION_CHOICES = ("test", "split")
# A running cross-entropy above this (it starts near ln 10 = 2.3) means the weights have blown up:
# the true class gets probability e^-100. Adam rarely yields NaN on logits; it yields this.
DIVERGED_LOSS = 100.0
# Per-batch reports are throttled to this many per second (the GUI redraws at ~20 Hz).
BATCH_REPORTS_PER_SECOND = 20.0


class TrainingConfigError(ValueError):
    """A hyper-parameter is out of range; the message names it."""


@dataclass
class TrainingConfig:
    preset: str = "seed"
    epochs: int | None = None  # None: the preset's default
    batch_size: int | None = None
    learning_rate: float | None = None
    validation: str = "test"  # "test": the official 10,000 test images; "split": hold out part of train
    validation_split: float = 0.1
    limit: int | None = None  # use only the first N training images (quick runs, tests)
    seed: int | None = 0
    early_stopping_patience: int | None = None  # epochs without val-loss improvement; None: off
    continue_training: bool = False  # keep the given model's weights instead of a fresh model
    design: object | None = None  # a core.design.Design to train instead of the preset's network (recipe stays)
    devices: str | int = "auto"  # core.devices: auto, cpu, gpu, all or N (MirroredStrategy over 2 or more)
    mixed_precision: bool = False  # compute in bfloat16 (weights float32); the trained model comes back float32

    def resolved(self) -> "TrainingConfig":
        """A copy with the preset's defaults filled in, validated."""
        preset = get_preset(self.preset) if self.preset in _preset_names() else None
        if preset is None:
            raise TrainingConfigError(f"unknown preset {self.preset!r}; choose one of {', '.join(_preset_names())}")
        resolved = TrainingConfig(**{**self.__dict__})
        resolved.epochs = preset.epochs if self.epochs is None else self.epochs
        resolved.batch_size = preset.batch_size if self.batch_size is None else self.batch_size
        resolved.learning_rate = preset.learning_rate if self.learning_rate is None else self.learning_rate
        resolved.validate()
        return resolved

    def validate(self) -> None:
        if not isinstance(self.epochs, int) or not 1 <= self.epochs <= 1000:
            raise TrainingConfigError(f"epochs must be a whole number from 1 to 1000, not {self.epochs!r}")
        if not isinstance(self.batch_size, int) or not 1 <= self.batch_size <= 8192:
            raise TrainingConfigError(f"batch size must be a whole number from 1 to 8192, not {self.batch_size!r}")
        lr = self.learning_rate
        if not isinstance(lr, (int, float)) or not math.isfinite(lr) or not 0 < lr <= 10:
            raise TrainingConfigError(f"learning rate must be a number above 0 and at most 10, not {lr!r}")
        if self.validation not in VALIDATION_CHOICES:
            raise TrainingConfigError(f"validation must be one of {VALIDATION_CHOICES}, not {self.validation!r}")
        if not 0 < self.validation_split < 0.9:
            raise TrainingConfigError(f"validation split must be between 0 and 0.9, not {self.validation_split!r}")
        if self.limit is not None and (not isinstance(self.limit, int) or self.limit < 10):
            raise TrainingConfigError(f"limit must be at least 10 images, not {self.limit!r}")
        if self.early_stopping_patience is not None and (
            not isinstance(self.early_stopping_patience, int) or self.early_stopping_patience < 1
        ):
            raise TrainingConfigError(f"early-stopping patience must be at least 1 epoch, not {self.early_stopping_patience!r}")
        if self.mixed_precision and self.continue_training:
            raise TrainingConfigError("mixed precision trains a new model; it cannot continue an existing one")
        from cnn_desktop.core.devices import DeviceError, parse_choice

        try:
            parse_choice(self.devices)
        except DeviceError as exc:
            raise TrainingConfigError(str(exc)) from None


def _design_model(design):
    from cnn_desktop.core.design import build_design_model

    return build_design_model(design)


def _preset_names():
    from cnn_desktop.core.model import PRESET_NAMES

    return PRESET_NAMES


# ----------------------------------------------------------------------------------------------
# Events
@dataclass(frozen=True)
class TrainingStarted:
    config: TrainingConfig
    epochs: int
    steps_per_epoch: int
    train_size: int
    validation_size: int


@dataclass(frozen=True)
class BatchProgress:
    epoch: int  # 1-based
    epochs: int
    step: int  # 1-based, within the epoch
    steps: int
    loss: float  # running mean over the epoch so far (Keras' own smoothing)
    accuracy: float
    images_per_second: float
    eta_seconds: float  # for the whole training
    elapsed_seconds: float
    global_step: int  # steps done since the start, across epochs


@dataclass(frozen=True)
class EpochEnd:
    epoch: int
    epochs: int
    loss: float
    accuracy: float
    val_loss: float
    val_accuracy: float
    seconds: float
    images_per_second: float
    global_step: int
    # A copy of the weights at the end of this epoch: the app classifies with a snapshot,
    # never with the model being fitted in another thread.
    weights: list = field(repr=False, compare=False, default_factory=list)


@dataclass(frozen=True)
class TrainingMessage:
    text: str


@dataclass
class TrainingResult:
    status: str  # "completed", "cancelled", "early_stopped", "diverged"
    config: TrainingConfig
    model: object = field(repr=False)
    history: dict[str, list[float]]
    epochs_completed: int
    best_epoch: int | None
    seconds: float
    images_per_second: float
    message: str = ""

    @property
    def usable(self) -> bool:
        """Whether the model holds weights worth keeping (a diverged run's do not count)."""
        return self.status != "diverged" and self.epochs_completed + (1 if self.status == "cancelled" else 0) > 0

    @property
    def val_accuracy(self) -> float | None:
        values = self.history.get("val_accuracy") or []
        return values[-1] if values else None

    @property
    def val_loss(self) -> float | None:
        values = self.history.get("val_loss") or []
        return values[-1] if values else None


Listener = Callable[[object], None]


def make_train_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int, *, augment: bool, seed: int | None,
                       shape_mix=None):
    """Batches of float32 images in [0, 1], in a fresh random order each epoch; optional light augmentation.

    Each epoch draws one permutation of the indices and gathers every batch from the arrays at once:
    shuffling the images themselves one by one (``Dataset.shuffle``) cost the fast preset a third of
    its training speed. The order comes from a seeded generator, so a run with a seed repeats.
    """
    import tensorflow as tf

    count = len(images)
    images = tf.constant(images)
    labels = tf.constant(labels.astype(np.int32))
    generator = (tf.random.Generator.from_seed(seed) if seed is not None
                 else tf.random.Generator.from_non_deterministic_state())

    def one_epoch_of_index_batches(_):
        # The generator's state lives on between epochs: every epoch (every new iterator) gets a new order.
        order = tf.argsort(generator.uniform([count]))
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    if shape_mix is not None:  # a shape_renderings.RenderingMix: photos swapped in part for drawings
        from cnn_desktop.core.shape_renderings import augment_batch

        gather, augment_fn = shape_mix.gather_fn(labels.numpy(), seed), augment_batch
    else:
        def gather(index):
            return tf.gather(images, index), tf.gather(labels, index)
        augment_fn = _augment_batch
    data = (tf.data.Dataset.range(1)
            .flat_map(one_epoch_of_index_batches)
            .apply(tf.data.experimental.assert_cardinality(math.ceil(count / batch_size)))
            .map(gather, num_parallel_calls=tf.data.AUTOTUNE))
    if augment:
        data = data.map(augment_fn, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def _augment_batch(images, labels):
    """Mirror half the items left-right and shift each by up to 2 pixels (with zero fill)."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    flip = tf.random.uniform([batch, 1, 1, 1]) < 0.5
    images = tf.where(flip, tf.reverse(images, axis=[2]), images)
    padded = tf.pad(images, [[0, 0], [2, 2], [2, 2], [0, 0]])
    offsets = tf.random.uniform([batch, 2], 0, 5, dtype=tf.int32)

    def crop(args):
        image, offset = args
        return tf.slice(image, [offset[0], offset[1], 0], [config.IMAGE_SIZE, config.IMAGE_SIZE, 1])

    images = tf.map_fn(crop, (padded, offsets), fn_output_signature=tf.float32)
    return images, labels


class TrainingSession:
    """Runs one training. Create, then ``run()`` (blocking); ``cancel()`` from anywhere."""

    def __init__(self, training_config: TrainingConfig, *, data=None, model=None, listener: Listener | None = None):
        self.config = training_config.resolved()
        self._data = data
        self._model = model
        self._listener = listener or (lambda event: None)
        self._cancel = threading.Event()
        self.device_description = ""  # where it trains, once run() has chosen

    def cancel(self) -> None:
        self._cancel.set()
        model = self._model
        if model is not None:
            model.stop_training = True

    @property
    def model(self):
        """The model this session trains: the one it was given, or the one run() builds (None before)."""
        return self._model

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def _emit(self, event) -> None:
        try:
            self._listener(event)
        except Exception:  # a broken listener must not kill a training run
            log.exception("training listener failed on %s", type(event).__name__)

    def _strategy(self):
        """The tf.distribute strategy for ``config.devices`` (None: TensorFlow's default placement)."""
        from cnn_desktop.core.devices import DeviceError, make_strategy, resolve

        try:
            choice = resolve(self.config.devices)
        except DeviceError as exc:
            raise TrainingConfigError(str(exc)) from None
        if self.config.batch_size < choice.replicas:
            raise TrainingConfigError(f"batch size {self.config.batch_size} cannot be split over {choice.replicas} "
                                      "devices; choose a batch of at least one image per device")
        self.device_description = choice.description
        return make_strategy(choice)

    def _arrays(self):
        data = self._data if self._data is not None else dataset_module.load_dataset()
        train_x = dataset_module.to_model_input(data.train_images)
        train_y = data.train_labels
        if self.config.limit:
            train_x, train_y = train_x[: self.config.limit], train_y[: self.config.limit]
        if self.config.validation == "test":
            val_x, val_y = dataset_module.to_model_input(data.test_images), data.test_labels
        else:
            order = np.random.default_rng(self.config.seed).permutation(len(train_x))
            n_val = max(1, int(round(len(train_x) * self.config.validation_split)))
            val_idx, train_idx = order[:n_val], order[n_val:]
            val_x, val_y = train_x[val_idx], train_y[val_idx]
            train_x, train_y = train_x[train_idx], train_y[train_idx]
        return train_x, train_y, val_x, val_y

    def run(self) -> TrainingResult:
        import keras

        cfg = self.config
        preset = get_preset(cfg.preset)
        if cfg.seed is not None:
            keras.utils.set_random_seed(cfg.seed)
        train_x, train_y, val_x, val_y = self._arrays()
        strategy = self._strategy()
        steps_per_epoch = math.ceil(len(train_x) / cfg.batch_size)
        # Under a strategy the model is made (and compiled) in its scope: Keras' fit then splits each global batch.
        with strategy.scope() if strategy is not None else contextlib.nullcontext():
            if self._model is None or not cfg.continue_training:
                self._model = (build_model(cfg.preset, compile=False) if cfg.design is None
                               else _design_model(cfg.design))
                if cfg.mixed_precision:
                    self._model = copy_model(self._model, policy=MIXED_PRECISION_POLICY)
            elif strategy is not None:  # weights made outside the scope cannot be mirrored: a copy inside it
                self._model = copy_model(self._model)
            model = self._model
            if self._cancel.is_set():
                model.stop_training = True
            compile_model(model, make_schedule(preset, cfg.learning_rate, steps_per_epoch * cfg.epochs))
        shape_mix = None
        if preset.shape_renderings:
            from cnn_desktop.core.shape_renderings import RenderingMix

            self._emit(TrainingMessage("Rendering silhouettes, outlines and sketches of the training images..."))
            shape_mix = RenderingMix.build(np.round(train_x[..., 0] * 255).astype(np.uint8), seed=cfg.seed)
        train_data = make_train_dataset(train_x, train_y, cfg.batch_size, augment=preset.augment, seed=cfg.seed,
                                        shape_mix=shape_mix)

        progress = _progress_callback(self, cfg.epochs, steps_per_epoch, cfg.batch_size)
        callbacks = [progress]
        if cfg.early_stopping_patience:
            callbacks.append(keras.callbacks.EarlyStopping(
                monitor="val_loss", patience=cfg.early_stopping_patience, restore_best_weights=True))
        self._emit(TrainingStarted(cfg, cfg.epochs, steps_per_epoch, len(train_x), len(val_x)))
        self._emit(TrainingMessage(f"Training on {self.device_description}."))
        start = time.perf_counter()
        if not self._cancel.is_set():
            model.stop_training = False
            keras_history = model.fit(
                train_data, epochs=cfg.epochs, validation_data=(val_x, val_y),
                validation_batch_size=1000, callbacks=callbacks, verbose=0, shuffle=False,
            )
            history = {key: [float(v) for v in values] for key, values in keras_history.history.items()}
        else:
            history = {}
        seconds = time.perf_counter() - start
        epochs_done = len(history.get("val_loss", []))

        if progress.diverged:
            status, message = "diverged", (
                f"Training diverged (loss reached {progress.diverged_loss:.3g}) at epoch {progress.epoch}; "
                "try a smaller learning rate. The weights were not kept.")
            if progress.last_good_weights is not None:
                model.set_weights(progress.last_good_weights)
        elif self._cancel.is_set():
            status, message = "cancelled", f"Stopped by the user during epoch {progress.epoch}."
        elif epochs_done < cfg.epochs:
            status, message = "early_stopped", (
                f"Early stopping after epoch {epochs_done}: validation loss had not improved "
                f"for {cfg.early_stopping_patience} epochs; the best epoch's weights were restored.")
        else:
            status, message = "completed", f"Trained {epochs_done} epochs."
        if cfg.mixed_precision:
            model = self._model = copy_model(model, policy="float32")
        best_epoch = lowest_loss_epoch(history.get("val_loss", []))
        images_seen = progress.images_seen
        result = TrainingResult(
            status=status, config=cfg, model=model, history=history, epochs_completed=epochs_done,
            best_epoch=best_epoch, seconds=seconds,
            images_per_second=images_seen / progress.train_seconds if progress.train_seconds > 0 else 0.0,
            message=message,
        )
        log.info("training %s: %s", status, message)
        return result


def _progress_callback(session: "TrainingSession", epochs: int, steps: int, batch_size: int):
    """Build the Keras callback lazily, so that importing this module does not import TensorFlow."""
    import keras

    class ProgressCallback(_ProgressMixin, keras.callbacks.Callback):
        pass

    return ProgressCallback(session, epochs, steps, batch_size)


class _ProgressMixin:
    """Turns Keras callbacks into throttled session events; checks the stop flag after every batch."""

    def __init__(self, session: TrainingSession, epochs: int, steps: int, batch_size: int):
        super().__init__()
        self.session = session
        self.epochs = epochs
        self.steps = steps
        self.batch_size = batch_size
        self.epoch = 0
        self.global_step = 0
        self.images_seen = 0
        self.train_seconds = 0.0  # time inside training batches, validation excluded
        self.diverged = False
        self.diverged_loss = None
        self.last_good_weights = None
        self._interval = 1.0 / BATCH_REPORTS_PER_SECOND
        self._last_report = 0.0
        self._start = 0.0
        self._epoch_start = 0.0

    def on_train_begin(self, logs=None):
        self._start = time.perf_counter()
        self.last_good_weights = [w.copy() for w in self.model.get_weights()]

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1
        self._epoch_start = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self.global_step += 1
        self.images_seen += self.batch_size
        if self.session.cancelled:
            self.model.stop_training = True
        now = time.perf_counter()
        last_step = batch + 1 == self.steps
        if now - self._last_report < self._interval and not last_step:
            return
        self._last_report = now
        loss = float(logs.get("loss", float("nan"))) if logs else float("nan")
        if not math.isfinite(loss) or loss > DIVERGED_LOSS:
            self.diverged, self.diverged_loss = True, loss
            self.model.stop_training = True
            return
        epoch_elapsed = now - self._epoch_start
        rate = (batch + 1) * self.batch_size / epoch_elapsed if epoch_elapsed > 0 else 0.0
        steps_left = self.epochs * self.steps - self.global_step
        step_rate = (batch + 1) / epoch_elapsed if epoch_elapsed > 0 else 0.0
        eta = steps_left / step_rate if step_rate > 0 else float("inf")
        self.session._emit(BatchProgress(
            epoch=self.epoch, epochs=self.epochs, step=batch + 1, steps=self.steps,
            loss=loss, accuracy=float(logs.get("accuracy", float("nan"))),
            images_per_second=rate, eta_seconds=eta, elapsed_seconds=now - self._start,
            global_step=self.global_step,
        ))

    def on_test_begin(self, logs=None):
        # Validation time is not training throughput.
        self.train_seconds += time.perf_counter() - self._epoch_start

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        seconds = time.perf_counter() - self._epoch_start
        loss = float(logs.get("loss", float("nan")))
        if not math.isfinite(loss) or loss > DIVERGED_LOSS:
            self.diverged, self.diverged_loss = True, loss
            self.model.stop_training = True
            return
        # Also after a Stop in mid-epoch: the validation numbers describe the weights as they are.
        weights = [w.copy() for w in self.model.get_weights()]
        self.last_good_weights = weights
        self.session._emit(EpochEnd(
            epoch=epoch + 1, epochs=self.epochs, loss=loss, accuracy=float(logs.get("accuracy", float("nan"))),
            val_loss=float(logs.get("val_loss", float("nan"))),
            val_accuracy=float(logs.get("val_accuracy", float("nan"))),
            seconds=seconds, images_per_second=self.steps * self.batch_size / max(seconds, 1e-9),
            global_step=self.global_step, weights=weights,
        ))
