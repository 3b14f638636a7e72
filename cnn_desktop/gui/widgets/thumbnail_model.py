"""The one list model behind every view of labelled 28x28 images as thumbnails.

Used by the Dataset tab's grid (one split, all of it or one class, with ✓/✗
marks) and by the Train tab's galleries (the test images of a confusion-matrix
cell, the hardest test images, with what the model said and how sure it was);
any other view of labelled 28x28 images (such as the user's own examples by
class) can use it as it is, painted by ``ThumbnailDelegate``.

What it holds, all indexed the same way, by *image number* (0 … N-1):

- ``images``: (N, 28, 28) uint8, never copied; a QImage is made only for the
  rows a view asks for (the ones on screen), so 60,000 images cost nothing;
- ``labels``: (N,) true class numbers;
- ``predictions`` (optional): (N,) the model's class numbers;
- ``confidences`` (optional): (N,) the model's probability for its class, 0–1;
- ``captions`` (optional): N strings (a file name, a date …) shown instead of
  "#<number>";
- ``rows``: the image numbers listed, in order (default: all of them), so a
  view of one class is an index array and the predictions of the whole set are
  set once, whatever is listed.

Set everything with ``set_images``; ``set_predictions`` changes only the
model's answers (no reset: the view keeps its scroll position and selection).
``image_number(row)`` says which image a row shows.

Roles (beside Display = the class name, then "→ predicted 97%" when known;
Decoration = the 28x28 grey QImage; ToolTip / AccessibleText = a description):
``IndexRole`` (image number), ``LabelRole``, ``PredictionRole`` (None when not
known), ``ConfidenceRole`` (None when not known), ``CaptionRole`` (the caption,
or "#<number>"), ``PredictionTextRole`` ("→ predicted 97%", or "" when not known).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, Qt

from cnn_desktop import config
from cnn_desktop.gui.widgets.array_images import to_grey_qimage

IndexRole = Qt.ItemDataRole.UserRole + 1  # the image's number in its set ("test #123")
LabelRole = Qt.ItemDataRole.UserRole + 2  # its true class (int)
PredictionRole = Qt.ItemDataRole.UserRole + 3  # the model's class for it (int), or None when not known
ConfidenceRole = Qt.ItemDataRole.UserRole + 4  # the model's probability for that class (float), or None
CaptionRole = Qt.ItemDataRole.UserRole + 5  # the image's caption, or "#<number>" without captions
PredictionTextRole = Qt.ItemDataRole.UserRole + 6  # "→ Sandal 97%", or "" when not known


class ThumbnailModel(QAbstractListModel):
    """Labelled 28x28 images, with what a model said about them when known (see the module's docstring)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.source = ""  # what the images are, for descriptions: "test", "train", "example" …
        self.tooltip_hint = ""  # a last tooltip line saying what the view does with an image
        self._images = np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE), np.uint8)
        self._labels = np.zeros(0, np.int64)
        self._rows = np.zeros(0, np.int64)  # row -> image number
        self._predictions: np.ndarray | None = None  # per image, not per row
        self._confidences: np.ndarray | None = None
        self._captions: Sequence[str] | None = None

    def set_images(self, images: np.ndarray, labels: np.ndarray, rows=None, *, source: str = "",
                   predictions: np.ndarray | None = None, confidences: np.ndarray | None = None,
                   captions: Sequence[str] | None = None) -> None:
        """List ``images[i]`` for each i in ``rows`` (all when None); the other arrays are indexed like ``images``."""
        self.beginResetModel()
        self.source = source
        self._images, self._labels = images, labels
        self._rows = np.arange(len(labels), dtype=np.int64) if rows is None else np.asarray(rows, dtype=np.int64)
        self._predictions, self._confidences, self._captions = predictions, confidences, captions
        self.endResetModel()

    def clear(self) -> None:
        self.set_images(np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE), np.uint8), np.zeros(0, np.int64))

    def set_predictions(self, predictions: np.ndarray | None, confidences: np.ndarray | None = None) -> None:
        """The model's class (and probability) for every image, indexed like the images; None: not known."""
        self._predictions, self._confidences = predictions, confidences
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1),
                                  [PredictionRole, ConfidenceRole, PredictionTextRole, Qt.ItemDataRole.DisplayRole,
                                   Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole])

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def image_number(self, row: int) -> int:
        """Which image ``row`` shows: its index in the images handed to ``set_images``."""
        return int(self._rows[row])

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        number = self.image_number(index.row())
        if role == Qt.ItemDataRole.DecorationRole:
            return to_grey_qimage(self._images[number])
        if role == IndexRole:
            return number
        if role == LabelRole:
            return int(self._labels[number])
        if role == PredictionRole:
            return None if self._predictions is None else int(self._predictions[number])
        if role == ConfidenceRole:
            return None if self._confidences is None else float(self._confidences[number])
        if role == CaptionRole:
            return f"#{number}" if self._captions is None else str(self._captions[number])
        if role == PredictionTextRole:
            return self._prediction_text(number)
        if role == Qt.ItemDataRole.DisplayRole:
            said = self._prediction_text(number)
            name = config.CLASS_NAMES[int(self._labels[number])]
            return f"{name}\n{said}" if said else name
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            return self._description(number)
        return None

    def _prediction_text(self, number: int) -> str:
        if self._predictions is None:
            return ""
        said = config.CLASS_NAMES[int(self._predictions[number])]
        return f"→ {said}" if self._confidences is None else f"→ {said} {float(self._confidences[number]):.0%}"

    def _description(self, number: int) -> str:
        label = int(self._labels[number])
        lines = [f"{self.source} #{number}: {config.CLASS_NAMES[label]}".strip()]
        if self._captions is not None:
            lines.append(str(self._captions[number]))
        if self._predictions is not None:
            predicted = int(self._predictions[number])
            sure = "" if self._confidences is None else f"{float(self._confidences[number]):.1%} sure, "
            verdict = "right" if predicted == label else "wrong"
            lines.append(f"The model says {config.CLASS_NAMES[predicted]} ({sure}{verdict})")
        if self.tooltip_hint:
            lines.append(self.tooltip_hint)
        return "\n".join(lines)
