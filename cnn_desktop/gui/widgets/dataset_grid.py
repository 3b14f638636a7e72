"""The grid of Fashion-MNIST thumbnails in the Dataset tab.

Scales to the 60,000 training images: the shared ``ThumbnailModel`` hands out a
28x28 QImage only for the rows the view asks for (the visible ones), the
``ThumbnailDelegate`` paints it enlarged with nearest-neighbour scaling (crisp
pixels at any screen scaling) with the class, "#<index>" and a ✓/✗ mark, and
the view lays out uniform cells without asking each row for its size.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal, Slot
from PySide6.QtWidgets import QListView

from cnn_desktop.gui.throttle import Throttle
from cnn_desktop.gui.widgets.thumbnail_delegate import ThumbnailDelegate
from cnn_desktop.gui.widgets.thumbnail_model import ThumbnailModel

PIXEL_SCALES = (2, 3, 4)  # thumbnail = 28 px times this (logical pixels)
DEFAULT_PIXEL_SCALE = 3


class DatasetGrid(QListView):
    """Thumbnails in rows that wrap with the width, scrolled through all of the selection."""

    # First and last row whose cells are mostly in view (-1, -1 when empty); for "Showing 1–60 of 6,000".
    visibleRangeChanged = Signal(int, int)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.images_model = ThumbnailModel(self)
        self.thumbnail_delegate = ThumbnailDelegate(self, pixel_scale=DEFAULT_PIXEL_SCALE)
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
