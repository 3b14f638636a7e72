"""The Dataset tab: browse the Fashion-MNIST images by split and class.

Double-click an image (or use its context menu) to classify it or look inside
the network with it. With a model loaded, each thumbnail is marked right or
wrong; the predictions for a split are computed in the background, and only
while the tab is on screen (during a training, weights change every epoch).

Until the dataset has loaded the tab says so; when it cannot be loaded it shows
why and offers to load it from another folder or to download it.
"""

from __future__ import annotations

import logging
import threading

import numpy as np
from PySide6.QtCore import QModelIndex, QPoint, Qt, Signal, Slot
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (QCheckBox, QComboBox, QHBoxLayout, QLabel, QMenu, QStackedWidget, QVBoxLayout,
                               QWidget)

from cnn_desktop import config
from cnn_desktop.core.model import copy_model
from cnn_desktop.gui import settings as keys
from cnn_desktop.gui.concurrency.latest_task import LatestTask
from cnn_desktop.gui.settings import Settings
from cnn_desktop.gui.widgets.dataset_grid import DEFAULT_PIXEL_SCALE, PIXEL_SCALES, DatasetGrid
from cnn_desktop.gui.widgets.dataset_missing_panel import DatasetMissingPanel

log = logging.getLogger(__name__)

SPLITS = (("test", "Test set"), ("train", "Training set"))
ZOOM_NAMES = {2: "Small", 3: "Medium", 4: "Large"}
PREDICTION_CHUNK = 2000


def predict_classes(model, weights, images: np.ndarray, stop: threading.Event) -> np.ndarray | None:
    """Runs in a worker thread: the class ``model`` with ``weights`` gives each image, in chunks; None when
    ``stop`` was set on the way. With a classifier of its own, so Classify never waits for a chunk here."""
    from cnn_desktop.core.inference import Classifier

    classifier = Classifier(copy_model(model, weights))
    classes = np.empty(len(images), np.uint8)
    for start in range(0, len(images), PREDICTION_CHUNK):
        if stop.is_set():
            return None
        classes[start:start + PREDICTION_CHUNK] = classifier.logits(images[start:start + PREDICTION_CHUNK]).argmax(axis=1)
    return classes


class DatasetTab(QWidget):
    showTabRequested = Signal(str)  # ask the window to show a tab ("classify" or "inspect") for the image

    def __init__(self, model_state, image_state, data_state, parent=None):
        super().__init__(parent)
        self.model_state, self.image_state, self.data_state = model_state, image_state, data_state
        self._predictions: dict[str, np.ndarray] = {}  # split -> class per image, for the model in use
        # Only the newest prediction counts: a change of model, weights or data cancels the one under way.
        self._marks_task = LatestTask("dataset-predictions", self)
        self._marks_task.finished.connect(self._on_predictions)
        self._marks_task.failed.connect(self._on_predictions_failed)
        self._marks_split: str | None = None  # the split the task under way predicts
        self._stopped = False  # the window is closing: start no more background work

        self.loading_label = QLabel("Loading Fashion-MNIST…")
        self.loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.missing_panel = DatasetMissingPanel(data_state, self)
        self.browser = QWidget()
        self._build_browser()

        self.pages = QStackedWidget()
        for page in (self.loading_label, self.missing_panel, self.browser):
            self.pages.addWidget(page)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.pages)

        data_state.loaded.connect(self._on_data_loaded)
        data_state.failed.connect(self._update_page)
        data_state.loadingChanged.connect(self._update_page)
        model_state.modelChanged.connect(self._on_model_changed)
        model_state.weightsChanged.connect(self._on_model_changed)
        self._update_page()
        if data_state.dataset is not None:
            self._show_selection()

    def _build_browser(self) -> None:
        self.split_combo = QComboBox()
        for key, name in SPLITS:
            self.split_combo.addItem(name, key)
        self.split_combo.setToolTip("The 10,000 test images the model is scored on, or the 60,000 it learns from")
        self.class_combo = QComboBox()
        self.class_combo.addItem("All classes", None)
        for number, name in enumerate(config.CLASS_NAMES):
            self.class_combo.addItem(name, number)
        self.zoom_combo = QComboBox()
        for scale in PIXEL_SCALES:
            self.zoom_combo.addItem(f"{ZOOM_NAMES.get(scale, scale)} ({config.IMAGE_SIZE * scale} px)", scale)
        self.zoom_combo.setToolTip("Thumbnail size: every dataset pixel drawn as a square of this many screen pixels")
        self.marks_check = QCheckBox("Mark the model's answers")
        self.marks_check.setToolTip("A green ✓ where the model in use gets the image right, a red ✗ where it is wrong")

        store = Settings()
        scale = store.get_int(keys.DATASET_PIXEL_SCALE, DEFAULT_PIXEL_SCALE)
        self.zoom_combo.setCurrentIndex(max(0, self.zoom_combo.findData(scale)))
        self.marks_check.setChecked(store.get_bool(keys.DATASET_MARKS, True))

        self.grid = DatasetGrid()
        self.grid.set_pixel_scale(self.zoom_combo.currentData())
        self.summary_label = QLabel()
        self.summary_label.setAccessibleName("Images shown")
        hint = QLabel("Double-click an image to classify it; right-click to inspect it.")
        hint.setForegroundRole(QPalette.ColorRole.PlaceholderText)  # the theme's dimmed text colour

        controls = QHBoxLayout()
        for text, widget in (("&Images:", self.split_combo), ("C&lass:", self.class_combo), ("&Size:", self.zoom_combo)):
            label = QLabel(text)
            label.setBuddy(widget)
            controls.addWidget(label)
            controls.addWidget(widget)
            controls.addSpacing(8)
        controls.addWidget(self.marks_check)
        controls.addStretch(1)
        controls.addWidget(self.summary_label)
        column = QVBoxLayout(self.browser)
        column.addLayout(controls)
        column.addWidget(self.grid, 1)
        column.addWidget(hint)

        self.split_combo.currentIndexChanged.connect(self._show_selection)
        self.class_combo.currentIndexChanged.connect(self._show_selection)
        self.zoom_combo.currentIndexChanged.connect(self._on_zoom_changed)
        self.marks_check.toggled.connect(self._on_marks_toggled)
        self.grid.visibleRangeChanged.connect(self._update_summary)
        self.grid.activated.connect(self._on_activated)
        self.grid.customContextMenuRequested.connect(self._show_context_menu)

    # ------------------------------------------------------------------ state
    @property
    def split(self) -> str:
        return self.split_combo.currentData()

    @property
    def class_filter(self) -> int | None:
        return self.class_combo.currentData()

    @Slot()
    def _update_page(self) -> None:
        if self.data_state.dataset is not None:
            self.pages.setCurrentWidget(self.browser)
        elif self.data_state.error or self.missing_panel.retrying:
            self.pages.setCurrentWidget(self.missing_panel)
        else:
            self.pages.setCurrentWidget(self.loading_label)

    @Slot()
    def _on_data_loaded(self) -> None:
        # (Another copy of) the data: predictions are per image of a split, and one running may be for the old one.
        self._marks_task.cancel()
        self._predictions.clear()
        self._update_page()
        self._show_selection()

    @Slot()
    def _show_selection(self) -> None:
        dataset = self.data_state.dataset
        if dataset is None:
            return
        images, labels = dataset.split(self.split)
        wanted = self.class_filter
        indices = np.arange(len(labels)) if wanted is None else np.flatnonzero(labels == wanted)
        self.grid.images_model.set_images(images, labels, indices, source=self.split,
                                          predictions=self._shown_predictions())
        self.grid.scrollToTop()
        self._refresh_predictions()

    @Slot(int, int)
    def _update_summary(self, first: int, last: int) -> None:
        total = self.grid.images_model.rowCount()
        what = "images" if self.class_filter is None else f"{config.CLASS_NAMES[self.class_filter]} images"
        where = dict(SPLITS)[self.split].lower()
        if first < 0:
            self.summary_label.setText(f"No {what} in the {where}")
        else:
            self.summary_label.setText(f"Showing {first + 1:,}–{last + 1:,} of {total:,} {what} ({where})")

    @Slot(int)
    def _on_zoom_changed(self, _index: int) -> None:
        scale = self.zoom_combo.currentData()
        self.grid.set_pixel_scale(scale)
        Settings().set(keys.DATASET_PIXEL_SCALE, scale)

    # ------------------------------------------------------------------ sending an image to another tab
    def send_image(self, row: int, tab_name: str) -> None:
        """Make the image at ``row`` the current image and show it in ``tab_name`` ("classify" / "inspect")."""
        images_model = self.grid.images_model
        self.image_state.set_dataset_image(self.data_state.dataset, images_model.source,
                                           images_model.image_number(row))
        self.showTabRequested.emit(tab_name)

    @Slot(QModelIndex)
    def _on_activated(self, index: QModelIndex) -> None:
        if index.isValid():
            self.send_image(index.row(), "classify")

    @Slot(QPoint)
    def _show_context_menu(self, position: QPoint) -> None:
        index = self.grid.indexAt(position)
        if not index.isValid():
            return
        row = index.row()
        menu = QMenu(self)
        menu.addAction("&Classify", lambda: self.send_image(row, "classify"))
        menu.addAction("&Inspect", lambda: self.send_image(row, "inspect"))
        menu.exec(self.grid.viewport().mapToGlobal(position))

    # ------------------------------------------------------------------ the model's answers
    def _shown_predictions(self) -> np.ndarray | None:
        return self._predictions.get(self.split) if self.marks_check.isChecked() else None

    @Slot()
    def _on_model_changed(self) -> None:
        self._marks_task.cancel()
        self._predictions.clear()
        self.grid.images_model.set_predictions(None)
        self._refresh_predictions()

    @Slot(bool)
    def _on_marks_toggled(self, checked: bool) -> None:
        Settings().set(keys.DATASET_MARKS, checked)
        self.grid.images_model.set_predictions(self._shown_predictions())
        self._refresh_predictions()

    def _refresh_predictions(self) -> None:
        """Predict the shown split in the background if marks are wanted, on screen, and missing."""
        dataset = self.data_state.dataset
        if (self._stopped or not self.marks_check.isChecked() or not self.model_state.ready or dataset is None
                or not self.isVisible() or self.split in self._predictions):
            return
        if self._marks_task.running and self._marks_split == self.split:
            return
        images, _ = dataset.split(self.split)
        stop = threading.Event()
        self._marks_split = self.split
        # The weights are read here, in the GUI thread that swaps them: the worker copies a consistent set.
        self._marks_task.start(predict_classes, self.model_state.model, self.model_state.model.get_weights(), images,
                               stop, cancel=stop.set)

    @Slot(object)
    def _on_predictions(self, classes) -> None:
        if classes is None:
            return  # stopped
        self._predictions[self._marks_split] = classes
        if self._marks_split == self.split:
            self.grid.images_model.set_predictions(self._shown_predictions())
        self._refresh_predictions()  # the split shown may have changed meanwhile

    @Slot(str, str)
    def _on_predictions_failed(self, message: str, _details: str) -> None:
        # The marks are an extra: say why they are missing, keep browsing.
        log.warning("no prediction marks: %s", message)
        self.marks_check.setToolTip(f"The model's answers could not be computed: {message}")

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._refresh_predictions()

    def stop_and_wait(self) -> None:
        self._stopped = True
        self._marks_task.stop_and_wait()
