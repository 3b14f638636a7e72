"""A scrolling grid of dataset images with their labels (and what the model said).

Used for the images behind a confusion-matrix cell and for the hardest test
examples. Thumbnails are made only for the rows on screen (a list model with
lazy decorations), so a cell of a thousand images opens at once. Clicking an
image (or pressing Enter on it) emits ``exampleClicked(dataset_index)``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QEvent, QModelIndex, QSize, Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from cnn_desktop import config
from cnn_desktop.gui.widgets.grey_image import to_grey_qimage

THUMBNAIL_SIZE = 56  # logical pixels: each 28x28 image drawn at twice its size, pixels kept sharp
DATASET_INDEX_ROLE = Qt.ItemDataRole.UserRole


class _ExamplesModel(QAbstractListModel):
    """Rows are dataset images; thumbnails are made when a row is first shown."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.indices = np.zeros(0, dtype=np.int64)
        self._images = np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.uint8)
        self._labels = np.zeros(0, dtype=np.int64)
        self._predictions: np.ndarray | None = None
        self._confidences: np.ndarray | None = None
        self._thumbnails: dict[int, QPixmap] = {}
        self.pixel_ratio = 1.0
        # Every item's size, from the gallery's font: the view then lays out without asking each row.
        self.item_size = QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE)

    def set_examples(self, indices, images, labels, predictions=None, confidences=None) -> None:
        self.beginResetModel()
        self.indices = np.asarray(indices, dtype=np.int64)
        self._images, self._labels = images, labels
        self._predictions, self._confidences = predictions, confidences
        self._thumbnails.clear()
        self.endResetModel()

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self.indices)

    def _names(self, row: int) -> tuple[str, str | None, float | None]:
        index = int(self.indices[row])
        true_name = config.CLASS_NAMES[int(self._labels[index])]
        predicted = None if self._predictions is None else config.CLASS_NAMES[int(self._predictions[index])]
        confidence = None if self._confidences is None else float(self._confidences[index])
        return true_name, predicted, confidence

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self.indices):
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DecorationRole:
            return self._thumbnail(row)
        if role == Qt.ItemDataRole.SizeHintRole:
            return self.item_size
        if role == DATASET_INDEX_ROLE:
            return int(self.indices[row])
        true_name, predicted, confidence = self._names(row)
        if role == Qt.ItemDataRole.DisplayRole:
            if predicted is None:
                return true_name
            said = predicted if confidence is None else f"{predicted} {confidence:.0%}"
            return f"{true_name}\n→ {said}"
        if role == Qt.ItemDataRole.ToolTipRole:
            lines = [f"Test image #{int(self.indices[row])}", f"True class: {true_name}"]
            if predicted is not None:
                lines.append(f"Predicted: {predicted}" + ("" if confidence is None else f" ({confidence:.1%} sure)"))
            lines.append("Click to classify it and look inside the network")
            return "\n".join(lines)
        return None

    def _thumbnail(self, row: int) -> QPixmap:
        pixmap = self._thumbnails.get(row)
        if pixmap is None:
            image = to_grey_qimage(np.asarray(self._images[int(self.indices[row])], dtype=np.uint8))
            device_size = round(THUMBNAIL_SIZE * self.pixel_ratio)
            pixmap = QPixmap.fromImage(image.scaled(device_size, device_size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                                    Qt.TransformationMode.FastTransformation))
            pixmap.setDevicePixelRatio(self.pixel_ratio)
            self._thumbnails[row] = pixmap
        return pixmap


class ExampleGallery(QWidget):
    exampleClicked = Signal(int)  # index of the image in its dataset split

    def __init__(self, hint: str = "", parent=None):
        super().__init__(parent)
        self._hint = hint
        self.title = QLabel(hint, self)
        self.title.setWordWrap(True)
        self._model = _ExamplesModel(self)
        self.view = QListView(self)
        self.view.setModel(self._model)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setWordWrap(True)
        self.view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.view.setIconSize(QSize(THUMBNAIL_SIZE, THUMBNAIL_SIZE))
        self.view.setSpacing(2)
        self.view.clicked.connect(self._on_clicked)
        self.view.installEventFilter(self)
        self._update_grid()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.view, 1)

    def show_examples(self, indices, images: np.ndarray, labels: np.ndarray, *, predictions: np.ndarray | None = None,
                      confidences: np.ndarray | None = None, title: str = "") -> None:
        """Show ``images[i]`` for each i in ``indices``; labels (and predictions) are indexed the same way."""
        self._model.pixel_ratio = self.devicePixelRatioF()
        self._model.set_examples(indices, images, labels, predictions, confidences)
        self.title.setText(title or self._hint)
        self.view.scrollToTop()

    def clear(self) -> None:
        self.show_examples([], np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE), np.uint8), np.zeros(0, np.int64))

    def count(self) -> int:
        return self._model.rowCount()

    def dataset_index(self, row: int) -> int:
        return int(self._model.indices[row])

    def item_rect(self, row: int):
        """Where the ``row``-th image is drawn, in the view's viewport coordinates (scrolls to it first)."""
        index = self._model.index(row)
        self.view.scrollTo(index)
        return self.view.visualRect(index)

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.exampleClicked.emit(int(index.data(DATASET_INDEX_ROLE)))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress and event.key() in (
                Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._on_clicked(self.view.currentIndex())
            return True
        if watched is self.view and event.type() == QEvent.Type.FontChange:
            self._update_grid()
        return super().eventFilter(watched, event)

    def _update_grid(self) -> None:
        """Cells wide enough for the longest caption line, like '→ T-shirt/top 100%'."""
        metrics = self.view.fontMetrics()
        text_width = max(metrics.horizontalAdvance(f"→ {name} 100%") for name in config.CLASS_NAMES)
        width = max(THUMBNAIL_SIZE, text_width) + 12
        height = THUMBNAIL_SIZE + 2 * metrics.height() + 8
        self._model.item_size = QSize(width, height)
        self.view.setGridSize(QSize(width + 4, height + 4))
