"""The model the app classifies and inspects with, shared by all tabs.

Widgets are handed this object and subscribe to its signals. The model here
is never the one being fitted: a training runs on its own model in a worker
thread and hands over weight snapshots at epoch ends (``set_weights``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal

log = logging.getLogger(__name__)


class ModelState(QObject):
    modelChanged = Signal()  # a different model (architecture may differ): rebuild views
    weightsChanged = Signal()  # same architecture, new weights (a training snapshot): refresh results
    loadingChanged = Signal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.model = None
        self.card: dict = {}
        self.path: Path | None = None
        self.classifier = None
        self.feature_extractor = None
        self.modified = False  # weights differ from the file at ``path`` (trained in this session)
        self._loading = False

    @property
    def ready(self) -> bool:
        return self.classifier is not None

    @property
    def loading(self) -> bool:
        return self._loading

    def set_loading(self, loading: bool) -> None:
        self._loading = loading
        self.loadingChanged.emit(loading)

    @property
    def name(self) -> str:
        if self.model is None:
            return "no model"
        base = self.card.get("name") or (self.path.stem if self.path else self.card.get("preset", "model"))
        return f"{base} (unsaved)" if self.modified else str(base)

    @property
    def preset(self) -> str | None:
        return self.card.get("preset")

    def set_model(self, model, card: dict | None = None, path: Path | None = None, *, modified: bool = False,
                  classifier=None, feature_extractor=None) -> None:
        """Use ``model`` from now on. Classifier and extractor may be prebuilt (e.g. in a loader thread)."""
        from cnn_desktop.core.inference import Classifier, FeatureExtractor

        self.model = model
        self.card = dict(card or {})
        self.path = Path(path) if path else None
        self.modified = modified
        self.classifier = classifier or Classifier(model)
        self.feature_extractor = feature_extractor or FeatureExtractor(model)
        log.info("model in use: %s", self.name)
        self.modelChanged.emit()

    def set_weights(self, weights) -> None:
        """Swap in a weight snapshot of the same architecture (from a training in progress)."""
        if self.classifier is None:
            return
        self.classifier.set_weights(weights)
        self.modified = True
        self.weightsChanged.emit()
