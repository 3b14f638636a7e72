"""The model the app classifies and inspects with, shared by all tabs.

Widgets are handed this object, read its fields (read-only properties) and
subscribe to its signals; every change goes through a method here and is
signalled. The model here is never the one being fitted: a training runs on
its own model in a worker thread and hands over weight snapshots at epoch ends
(``set_weights``). Loading and saving files run in worker threads: the Keras
work (load, build the classifier and feature extractor, trace them; clone and
save with fsync) never blocks the window.
"""

from __future__ import annotations

import datetime as _dt
import logging
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop import config
from cnn_desktop.gui.concurrency.latest_task import LatestTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InferenceModel:
    """A model ready for the app: the model and its classifier and feature extractor, already traced."""

    model: object
    classifier: object
    feature_extractor: object


def prepare_inference_model(model) -> InferenceModel:
    """Build and warm up the classifier and feature extractor of ``model`` (run it in a worker thread)."""
    import numpy as np

    from cnn_desktop.core.inference import Classifier, FeatureExtractor

    classifier, extractor = Classifier(model), FeatureExtractor(model)
    blank = np.zeros((config.IMAGE_SIZE, config.IMAGE_SIZE), np.float32)
    classifier.classify(blank)  # trace the tf.functions here, not on the GUI thread
    extractor.feature_maps(blank)
    return InferenceModel(model, classifier, extractor)


def load_model_for_app(path: Path):
    """Runs in a worker thread: import TensorFlow, load and validate the model, warm up inference."""
    from cnn_desktop.core.calibration import load_calibration
    from cnn_desktop.core.model_io import load_model

    model, card = load_model(path)
    prepared = prepare_inference_model(model)
    # The card's temperature and "unsure" thresholds: calibrated probabilities, honest "not sure" (issue 12).
    prepared.classifier.set_calibration(load_calibration(path, card))
    return prepared, card, Path(path)


def save_model_copy(model, weights, path: Path, card: dict) -> Path:
    """Runs in a worker thread: save a copy of ``model`` holding ``weights`` (atomically, with fsync).

    A copy, because the app may swap the weights of the model in use (a training's epoch end) while saving.
    """
    from cnn_desktop.core.model import copy_model
    from cnn_desktop.core.model_io import save_model

    return save_model(copy_model(model, weights), path, card)


class ModelState(QObject):
    modelChanged = Signal()  # a different model (architecture may differ): rebuild views
    weightsChanged = Signal()  # same architecture, new weights (a training snapshot): refresh results
    cardChanged = Signal()  # the card, file or "unsaved" mark changed (same model and weights)
    loadingChanged = Signal(bool)
    loaded = Signal(object)  # Path: a model file is now in use
    loadFailed = Signal(str, str)  # message, details; the model in use stays
    savingChanged = Signal(bool)
    saved = Signal(object)  # Path
    saveFailed = Signal(str, str)  # message, details

    def __init__(self, parent=None):
        super().__init__(parent)
        self._model = None
        self._card: dict = {}
        self._path: Path | None = None
        self._classifier = None
        self._feature_extractor = None
        self._modified = False  # weights differ from the file at ``path`` (trained in this session)
        self._load_task = LatestTask("model-loader", self)
        self._load_task.finished.connect(self._on_loaded)
        self._load_task.failed.connect(self._on_load_failed)
        self._load_task.runningChanged.connect(self.loadingChanged)
        self._save_task = LatestTask("model-saver", self)
        self._save_task.finished.connect(self._on_saved)
        self._save_task.failed.connect(self._on_save_failed)
        self._save_task.runningChanged.connect(self.savingChanged)
        self._saving: tuple | None = None  # (model, card) being saved

    # ------------------------------------------------------------------ read-only fields
    @property
    def model(self):
        return self._model

    @property
    def card(self) -> dict:
        """A copy of the model card (change it with ``update_card``)."""
        return dict(self._card)

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def classifier(self):
        return self._classifier

    @property
    def feature_extractor(self):
        return self._feature_extractor

    @property
    def modified(self) -> bool:
        """The weights are not those of the file at ``path`` (trained in this session, not saved)."""
        return self._modified

    @property
    def ready(self) -> bool:
        return self._classifier is not None

    @property
    def loading(self) -> bool:
        return self._load_task.running

    @property
    def saving(self) -> bool:
        return self._save_task.running

    @property
    def name(self) -> str:
        if self._model is None:
            return "no model"
        base = self._card.get("name") or (self._path.stem if self._path else self._card.get("preset", "model"))
        return f"{base} (unsaved)" if self._modified else str(base)

    @property
    def preset(self) -> str | None:
        return self._card.get("preset")

    # ------------------------------------------------------------------ changes
    def set_model(self, model, card: dict | None = None, path: Path | None = None, *, modified: bool = False,
                  classifier=None, feature_extractor=None) -> None:
        """Use ``model`` from now on. Pass the classifier and extractor prebuilt (``prepare_inference_model``
        in a worker thread); only when they are missing are they built here, in the caller's thread."""
        from cnn_desktop.core.inference import Classifier, FeatureExtractor

        self._model = model
        self._card = dict(card or {})
        self._path = Path(path) if path else None
        self._modified = modified
        self._classifier = classifier or Classifier(model)
        self._feature_extractor = feature_extractor or FeatureExtractor(model)
        log.info("model in use: %s", self.name)
        self.modelChanged.emit()

    def use(self, prepared: InferenceModel, card: dict | None = None, path: Path | None = None, *,
            modified: bool = False) -> None:
        """Use a model prepared by ``prepare_inference_model``."""
        self.set_model(prepared.model, card, path, modified=modified, classifier=prepared.classifier,
                       feature_extractor=prepared.feature_extractor)

    def set_weights(self, weights) -> None:
        """Swap in a weight snapshot of the same architecture (from a training in progress)."""
        if self._classifier is None:
            return
        self._classifier.set_weights(weights)
        self._classifier.set_calibration(None)  # fitted for the file's weights, not these
        self._modified = True
        self.weightsChanged.emit()

    def update_card(self, **fields) -> None:
        """Add to the model card (e.g. the test accuracy once known); it is saved with the model."""
        self._card.update(fields)
        self.cardChanged.emit()

    # ------------------------------------------------------------------ files
    def load(self, path: Path | str) -> None:
        """Load a model file in the background; the model in use stays until the new one is ready.

        Only the newest request counts. Emits ``loaded(path)`` + ``modelChanged``, or ``loadFailed``.
        """
        self._load_task.start(load_model_for_app, Path(path))

    @Slot(object)
    def _on_loaded(self, loaded) -> None:
        prepared, card, path = loaded
        self.use(prepared, card, path)
        self.loaded.emit(path)

    @Slot(str, str)
    def _on_load_failed(self, message: str, details: str) -> None:
        log.error("model not loaded: %s", message)
        self.loadFailed.emit(message, details)

    def save(self, path: Path | str) -> bool:
        """Save the model in use with its card to ``path`` in the background.

        Emits ``saved(path)`` (the model is then no longer "unsaved") or
        ``saveFailed``. Returns False (and does nothing) when there is no model.
        """
        from cnn_desktop.core.model_io import make_card

        if self._model is None:
            return False
        path = Path(path)
        old_card = dict(self._card)
        old_card.pop("path", None)
        card = make_card(**{"preset": old_card.pop("preset", None) or getattr(self._model, "name", "model"),
                            **old_card, "name": path.stem})
        card["saved"] = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        # The weights are read here, in one go: a snapshot arriving during the save cannot mix into it.
        weights = self._model.get_weights()
        self._saving = (self._model, card)
        self._save_task.start(save_model_copy, self._model, weights, path, card)
        return True

    @Slot(object)
    def _on_saved(self, path) -> None:
        model, card = self._saving
        self._saving = None
        if model is self._model:  # still the model that was saved: it now is that file
            self._card, self._path, self._modified = card, Path(path), False
            self.cardChanged.emit()
        log.info("model saved to %s", path)
        self.saved.emit(Path(path))

    @Slot(str, str)
    def _on_save_failed(self, message: str, details: str) -> None:
        self._saving = None
        log.warning("model not saved: %s", message)
        self.saveFailed.emit(message, details)

    def stop_and_wait(self) -> None:
        """The window is closing: wait for loads and saves in progress (a save is never cut short)."""
        self._load_task.stop_and_wait()
        self._save_task.stop_and_wait()
