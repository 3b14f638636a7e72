"""The grid of Fashion-MNIST thumbnails in the Dataset tab.

Scales to the 60,000 training images: the model hands out a 28x28 QImage only
for the rows the view asks for (the visible ones), the delegate paints it
enlarged with nearest-neighbour scaling (crisp pixels at any screen scaling,
since the painter scales to device pixels), and the view lays out uniform cells
without asking each row for its size.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPoint, QRect, QRectF, QSize, Qt, Signal, Slot
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QListView, QStyle, QStyledItemDelegate, QStyleOptionViewItem

from cnn_desktop import config
from cnn_desktop.gui.widgets.grey_image import to_grey_qimage
from cnn_desktop.gui.throttle import Throttle

# Custom roles of the model (besides Display = class name, Decoration = the 28x28 QImage).
IndexRole = Qt.ItemDataRole.UserRole + 1  # the image's index in its split ("test #123")
LabelRole = Qt.ItemDataRole.UserRole + 2  # its true class (int)
PredictionRole = Qt.ItemDataRole.UserRole + 3  # the model's class for it (int), or None when not known

PIXEL_SCALES = (2, 3, 4)  # thumbnail = 28 px times this (logical pixels)
DEFAULT_PIXEL_SCALE = 3
CELL_MARGIN = 4
# Mark colours: the data itself is light-on-dark in either theme, so these stand out in both.
CORRECT_COLOUR = QColor(46, 160, 67)
WRONG_COLOUR = QColor(218, 54, 51)


class DatasetImagesModel(QAbstractListModel):
    """The images of one split, all of them or those of one class, in dataset order."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.split = "test"
        self._images = np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE), np.uint8)
        self._labels = np.zeros(0, np.uint8)
        self._rows = np.zeros(0, np.int64)  # row -> index into the split
        self._predictions: np.ndarray | None = None  # per image of the split, not per row

    def set_selection(self, split: str, images: np.ndarray, labels: np.ndarray, indices: np.ndarray,
                      predictions: np.ndarray | None = None) -> None:
        self.beginResetModel()
        self.split = split
        self._images, self._labels = images, labels
        self._rows = np.asarray(indices, dtype=np.int64)
        self._predictions = predictions
        self.endResetModel()

    def set_predictions(self, predictions: np.ndarray | None) -> None:
        """The model's class for every image of the split (None: no marks)."""
        self._predictions = predictions
        if self.rowCount():
            self.dataChanged.emit(self.index(0), self.index(self.rowCount() - 1), [PredictionRole])

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def dataset_index(self, row: int) -> int:
        return int(self._rows[row])

    def image(self, row: int) -> np.ndarray:
        """(28, 28) uint8, exactly as in the dataset."""
        return self._images[self._rows[row]]

    def label(self, row: int) -> int:
        return int(self._labels[self._rows[row]])

    def prediction(self, row: int) -> int | None:
        return None if self._predictions is None else int(self._predictions[self._rows[row]])

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = index.row()
        if role == Qt.ItemDataRole.DisplayRole:
            return config.CLASS_NAMES[self.label(row)]
        if role == Qt.ItemDataRole.DecorationRole:
            return to_grey_qimage(self.image(row))
        if role == IndexRole:
            return self.dataset_index(row)
        if role == LabelRole:
            return self.label(row)
        if role == PredictionRole:
            return self.prediction(row)
        if role in (Qt.ItemDataRole.ToolTipRole, Qt.ItemDataRole.AccessibleTextRole):
            text = f"{self.split} #{self.dataset_index(row)}: {config.CLASS_NAMES[self.label(row)]}"
            predicted = self.prediction(row)
            if predicted is not None:
                verdict = "right" if predicted == self.label(row) else "wrong"
                text += f"\nThe model says {config.CLASS_NAMES[predicted]} ({verdict})"
            return text
        return None


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a cell: the enlarged image, its class name, its index, and a right/wrong mark."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixel_scale = DEFAULT_PIXEL_SCALE

    @property
    def thumbnail_size(self) -> int:
        return config.IMAGE_SIZE * self.pixel_scale

    def cell_size(self, font: QFont) -> QSize:
        metrics = QFontMetrics(font)
        # Wide enough for most class names at the smallest scale; longer ones are elided.
        width = max(self.thumbnail_size, metrics.horizontalAdvance("T-shirt/top")) + 2 * CELL_MARGIN
        height = CELL_MARGIN + self.thumbnail_size + 2 + 2 * metrics.height() + CELL_MARGIN
        return QSize(width, height)

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        return self.cell_size(option.font)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        widget = option.widget
        style = widget.style() if widget is not None else None
        panel = QStyleOptionViewItem(option)
        if style is not None:  # selection / hover / focus background in the theme's colours
            style.drawPrimitive(QStyle.PrimitiveElement.PE_PanelItemViewItem, panel, painter, widget)

        rect = option.rect
        size = self.thumbnail_size
        image_rect = QRect(rect.x() + (rect.width() - size) // 2, rect.y() + CELL_MARGIN, size, size)
        painter.save()
        # No smoothing: each dataset pixel becomes a sharp square of device pixels.
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        painter.drawImage(QRectF(image_rect), index.data(Qt.ItemDataRole.DecorationRole))

        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        group = (QPalette.ColorGroup.Active if option.state & QStyle.StateFlag.State_Active
                 else QPalette.ColorGroup.Inactive)
        text_role = QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text
        metrics = QFontMetrics(option.font)
        text_width = rect.width() - 2 * CELL_MARGIN
        name_rect = QRect(rect.x() + CELL_MARGIN, image_rect.bottom() + 3, text_width, metrics.height())
        painter.setFont(option.font)
        painter.setPen(option.palette.color(group, text_role))
        name = metrics.elidedText(index.data(Qt.ItemDataRole.DisplayRole), Qt.TextElideMode.ElideRight, text_width)
        painter.drawText(name_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, name)
        if not selected:
            painter.setPen(option.palette.color(group, QPalette.ColorRole.PlaceholderText))
        painter.drawText(name_rect.translated(0, metrics.height()), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop,
                         f"#{index.data(IndexRole)}")

        predicted = index.data(PredictionRole)
        if predicted is not None:
            self._paint_mark(painter, image_rect, predicted == index.data(LabelRole), metrics)
        painter.restore()

    @staticmethod
    def _paint_mark(painter: QPainter, image_rect: QRect, correct: bool, metrics: QFontMetrics) -> None:
        """A ✓ or ✗ disc in the thumbnail's top-right corner (shape and colour, not colour alone)."""
        diameter = max(12, metrics.height())
        disc = QRectF(image_rect.right() - diameter + 1, image_rect.top(), diameter, diameter)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(CORRECT_COLOUR if correct else WRONG_COLOUR)
        painter.drawEllipse(disc)
        pen = QPen(QColor(Qt.GlobalColor.white), max(1.5, diameter / 7))
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        painter.setPen(pen)
        x, y, d = disc.x(), disc.y(), diameter
        if correct:
            painter.drawPolyline([QPoint(int(x + d * 0.28), int(y + d * 0.52)), QPoint(int(x + d * 0.44), int(y + d * 0.68)),
                                  QPoint(int(x + d * 0.72), int(y + d * 0.34))])
        else:
            painter.drawLine(QPoint(int(x + d * 0.32), int(y + d * 0.32)), QPoint(int(x + d * 0.68), int(y + d * 0.68)))
            painter.drawLine(QPoint(int(x + d * 0.68), int(y + d * 0.32)), QPoint(int(x + d * 0.32), int(y + d * 0.68)))


class DatasetGrid(QListView):
    """Thumbnails in rows that wrap with the width, scrolled through all of the selection."""

    # First and last row whose cells are mostly in view (-1, -1 when empty); for "Showing 1–60 of 6,000".
    visibleRangeChanged = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.images_model = DatasetImagesModel(self)
        self.thumbnail_delegate = ThumbnailDelegate(self)
        self.setModel(self.images_model)
        self.setItemDelegate(self.thumbnail_delegate)
        # List mode that flows left to right and wraps: a grid whose layout is cheap for uniform cells
        # (icon mode would keep a movable position for each of 60,000 items).
        self.setViewMode(QListView.ViewMode.ListMode)
        self.setFlow(QListView.Flow.LeftToRight)
        self.setWrapping(True)
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setUniformItemSizes(True)
        self.setSpacing(0)
        self.setSelectionMode(QListView.SelectionMode.SingleSelection)
        self.setVerticalScrollMode(QListView.ScrollMode.ScrollPerPixel)
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.setAccessibleName("Dataset images")
        self._apply_cell_size()

        # Coalesce scrolls, resizes and resets into one range report per event-loop turn.
        self._range_throttle = Throttle(self._report_visible_range, 0, self)
        self.verticalScrollBar().valueChanged.connect(self._range_throttle.request)
        self.images_model.modelReset.connect(self._range_throttle.request)

    @property
    def pixel_scale(self) -> int:
        return self.thumbnail_delegate.pixel_scale

    def set_pixel_scale(self, scale: int) -> None:
        if scale == self.thumbnail_delegate.pixel_scale:
            return
        first, _ = self.visible_rows()
        self.thumbnail_delegate.pixel_scale = scale
        self._apply_cell_size()
        if first >= 0:  # keep the same images in view
            self.scrollTo(self.images_model.index(first), QListView.ScrollHint.PositionAtTop)
        self._range_throttle.request()

    def _apply_cell_size(self) -> None:
        cell = self.thumbnail_delegate.cell_size(self.font())
        self.setGridSize(cell)
        self.verticalScrollBar().setSingleStep(max(1, cell.height() // 3))
        self.scheduleDelayedItemsLayout()

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.FontChange:
            self._apply_cell_size()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._range_throttle.request()

    def visible_rows(self) -> tuple[int, int]:
        """First and last row whose cells are at least half in view; (-1, -1) when there are none."""
        count = self.images_model.rowCount()
        if count == 0:
            return -1, -1
        self.executeDelayedItemsLayout()
        cell = self.gridSize()
        viewport = self.viewport().rect()
        first = self.indexAt(QPoint(cell.width() // 2, min(cell.height() // 2, max(0, viewport.height() - 1))))
        if not first.isValid():
            first = self.indexAt(QPoint(1, 1))
        if not first.isValid():
            return -1, -1
        top = self.visualRect(first).top()
        per_row = 1
        while first.row() + per_row < count and self.visualRect(self.images_model.index(first.row() + per_row)).top() == top:
            per_row += 1
        rows_in_view = max(1, (viewport.height() - top - cell.height() // 2 - 1) // cell.height() + 1)
        return first.row(), min(count - 1, first.row() + rows_in_view * per_row - 1)

    @Slot()
    def _report_visible_range(self) -> None:
        self.visibleRangeChanged.emit(*self.visible_rows())
