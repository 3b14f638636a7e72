"""A scrolling grid of dataset images with their labels (and what the model said).

Used for the images behind a confusion-matrix cell and for the hardest test
examples. The shared ``ThumbnailModel`` makes a thumbnail only for the rows on
screen, so a cell of a thousand images opens at once; ``ThumbnailDelegate``
paints each at twice its size with sharp pixels, the true class and
"→ predicted 97%". Clicking an image (or pressing Enter on it) emits
``exampleClicked(dataset_index)``.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QMargins, QModelIndex, Qt, Signal, Slot
from PySide6.QtWidgets import QLabel, QListView, QVBoxLayout, QWidget

from cnn_desktop import config
from cnn_desktop.gui.widgets.thumbnail_delegate import ThumbnailDelegate
from cnn_desktop.gui.widgets.thumbnail_model import IndexRole, PredictionTextRole, ThumbnailModel

PIXEL_SCALE = 2  # each 28x28 image drawn at twice its size, pixels kept sharp
CELL_SPACING = 4


class ExampleGallery(QWidget):
    exampleClicked = Signal(int)  # index of the image in its dataset split

    def __init__(self, hint: str = "", parent=None):
        super().__init__(parent)
        self._hint = hint
        self.title = QLabel(hint, self)
        self.title.setWordWrap(True)
        self.images_model = ThumbnailModel(self)
        self.images_model.tooltip_hint = "Click to classify it and look inside the network"
        # Cells wide enough for the longest second line, like '→ T-shirt/top 100%'.
        self.thumbnail_delegate = ThumbnailDelegate(
            self, pixel_scale=PIXEL_SCALE, detail_role=PredictionTextRole, marks=False,
            widest_texts=tuple(f"→ {name} 100%" for name in config.CLASS_NAMES))
        self.view = QListView(self)
        self.view.setModel(self.images_model)
        self.view.setItemDelegate(self.thumbnail_delegate)
        self.view.setViewMode(QListView.ViewMode.IconMode)
        self.view.setResizeMode(QListView.ResizeMode.Adjust)
        self.view.setMovement(QListView.Movement.Static)
        self.view.setUniformItemSizes(True)
        self.view.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.view.setAccessibleName("Test images")
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
        self.images_model.set_images(images, labels, indices, source="test", predictions=predictions,
                                     confidences=confidences)
        self.title.setText(title or self._hint)
        self.view.scrollToTop()

    def clear(self) -> None:
        self.images_model.clear()
        self.title.setText(self._hint)

    @Slot(QModelIndex)
    def _on_clicked(self, index: QModelIndex) -> None:
        if index.isValid():
            self.exampleClicked.emit(int(index.data(IndexRole)))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.view and event.type() == QEvent.Type.KeyPress and event.key() in (
                Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._on_clicked(self.view.currentIndex())
            return True
        if watched is self.view and event.type() == QEvent.Type.FontChange:
            self._update_grid()
        return super().eventFilter(watched, event)

    def _update_grid(self) -> None:
        """Every cell the delegate's size (for the view's font), a little apart."""
        cell = self.thumbnail_delegate.cell_size(self.view.font())
        self.view.setGridSize(cell.grownBy(QMargins(0, 0, CELL_SPACING, CELL_SPACING)))
