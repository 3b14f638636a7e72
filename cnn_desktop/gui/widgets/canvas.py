"""The drawing canvas: white ink on black, like the Fashion-MNIST images.

The drawing lives in a greyscale QImage (the backing store) with a fixed
logical size. It holds more pixels than it shows on a normal screen (at least
2x, more on a denser screen), so strokes stay smooth at 200% scaling and the
network's input, which is computed from these pixels, does not depend on the
screen the window happens to be on.

Tools: a round brush whose width follows pen pressure on a tablet, an eraser
(also the right mouse button and the eraser end of a pen) and a flood-fill
bucket that turns a closed outline into a silhouette. Every stroke, fill and
clear is undoable (a limited list of snapshots: a few hundred KB each).
"""

from __future__ import annotations

import enum

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QGuiApplication, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen,
                           QPointingDevice, QTabletEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnn_desktop.gui.widgets.grey_image import to_grey_qimage

LOGICAL_SIZE = 280  # 10x the network's 28x28 input
MIN_PIXEL_SCALE = 2.0
UNDO_DEPTH = 40
INK = 255
BACKGROUND = 0
# The bucket fills the dark region under the click: pixels darker than this (on 0-255).
# Half-way keeps the anti-aliased rim of a stroke as the region's border.
FILL_THRESHOLD = 128
# With a pen, the stroke is this share of the brush size at the lightest touch, full size at full pressure.
MIN_PRESSURE_SHARE = 0.2
BRUSH_SIZE_RANGE = (2, 60)
DEFAULT_BRUSH_SIZE = 18


class Tool(enum.Enum):
    BRUSH = "brush"
    ERASER = "eraser"
    FILL = "fill"


def connected_region(region: np.ndarray, row: int, col: int) -> np.ndarray:
    """The 4-connected part of the boolean mask ``region`` that contains (row, col).

    Works on horizontal runs rather than pixels (a few thousand runs instead of
    hundreds of thousands of pixels), so it is fast in plain numpy + Python.
    """
    region = np.asarray(region, dtype=bool)
    height, width = region.shape
    filled = np.zeros_like(region)
    if not (0 <= row < height and 0 <= col < width) or not region[row, col]:
        return filled
    padded = np.zeros((height, width + 2), dtype=np.int8)
    padded[:, 1:-1] = region
    steps = np.diff(padded, axis=1)
    # Row-major order: within a row the runs come sorted, and starts and ends pair up.
    run_rows, run_starts = np.nonzero(steps == 1)
    _, run_ends = np.nonzero(steps == -1)  # exclusive
    row_first = np.searchsorted(run_rows, np.arange(height + 1))

    in_row = range(row_first[row], row_first[row + 1])
    seed = next(i for i in in_row if run_starts[i] <= col < run_ends[i])
    visited = {seed}
    pending = [seed]
    while pending:
        run = pending.pop()
        y, start, end = run_rows[run], run_starts[run], run_ends[run]
        filled[y, start:end] = True
        for other_row in (y - 1, y + 1):
            if not 0 <= other_row < height:
                continue
            first, last = row_first[other_row], row_first[other_row + 1]
            # Runs of that row that overlap [start, end): they end after ``start`` and begin before ``end``.
            low = first + np.searchsorted(run_ends[first:last], start, side="right")
            high = first + np.searchsorted(run_starts[first:last], end, side="left")
            for neighbour in range(low, high):
                if neighbour not in visited:
                    visited.add(neighbour)
                    pending.append(neighbour)
    return filled


def stroke_width_for_pressure(brush_size: float, pressure: float) -> float:
    """How wide a pen stroke is at ``pressure`` (0-1) for a given brush size."""
    return brush_size * (MIN_PRESSURE_SHARE + (1 - MIN_PRESSURE_SHARE) * min(max(pressure, 0.0), 1.0))


class Canvas(QWidget):
    """Draw with the mouse or a pen; ``pixels()`` gives the drawing as a uint8 array."""

    changed = Signal()  # the drawing changed; emitted while a stroke goes on, too
    historyChanged = Signal()  # what can be undone or redone changed (ask can_undo / can_redo)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.pixel_scale = max(MIN_PIXEL_SCALE, float(QGuiApplication.instance().devicePixelRatio()))
        side = round(LOGICAL_SIZE * self.pixel_scale)
        self._image = QImage(side, side, QImage.Format.Format_Grayscale8)
        self._image.setDevicePixelRatio(self.pixel_scale)
        self._image.fill(BACKGROUND)
        self._undo: list[QImage] = []
        self._redo: list[QImage] = []
        self._tool = Tool.BRUSH
        self._brush_size = float(DEFAULT_BRUSH_SIZE)
        self._stroke_colour: int | None = None  # set while a stroke goes on
        self._last_point = QPointF()
        self._hover: QPointF | None = None

        self.setFixedSize(LOGICAL_SIZE, LOGICAL_SIZE)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking)
        self.setMouseTracking(True)  # for the brush outline under the pointer
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAccessibleName("Drawing canvas")
        self.setAccessibleDescription("Draw a clothing item in white on black; the network classifies it as you draw")

    # ------------------------------------------------------------------ state
    def sizeHint(self) -> QSize:
        return QSize(LOGICAL_SIZE, LOGICAL_SIZE)

    @property
    def tool(self) -> Tool:
        return self._tool

    def set_tool(self, tool: Tool) -> None:
        self._tool = Tool(tool)
        self.setCursor(Qt.CursorShape.PointingHandCursor if self._tool is Tool.FILL else Qt.CursorShape.CrossCursor)
        self.update()

    @property
    def brush_size(self) -> float:
        return self._brush_size

    def set_brush_size(self, size: float) -> None:
        low, high = BRUSH_SIZE_RANGE
        self._brush_size = float(min(max(size, low), high))
        self.update()

    def pixels(self) -> np.ndarray:
        """The drawing at full backing-store resolution: (H, W) uint8, ink 255 on 0."""
        image = self._image
        rows = np.frombuffer(image.constBits(), dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
        return rows[:, :image.width()].copy()

    def image(self) -> QImage:
        return self._image.copy()

    def is_blank(self) -> bool:
        return not self.pixels().any()

    def can_undo(self) -> bool:
        return bool(self._undo)

    def can_redo(self) -> bool:
        return bool(self._redo)

    # ------------------------------------------------------------------ editing
    def _push_undo(self) -> None:
        self._undo.append(self._image.copy())
        del self._undo[:-UNDO_DEPTH]
        self._redo.clear()
        self.historyChanged.emit()

    def _replace_image(self, image: QImage) -> None:
        self._image = image
        self.update()
        self.changed.emit()

    def undo(self) -> None:
        if not self._undo:
            return
        self.end_stroke()
        self._redo.append(self._image)
        self._replace_image(self._undo.pop())
        self.historyChanged.emit()

    def redo(self) -> None:
        if not self._redo:
            return
        self.end_stroke()
        self._undo.append(self._image)
        self._replace_image(self._redo.pop())
        self.historyChanged.emit()

    def clear(self) -> None:
        """Wipe the drawing (undoable)."""
        if self.is_blank():
            return
        self.end_stroke()
        self._push_undo()
        blank = QImage(self._image.size(), self._image.format())
        blank.setDevicePixelRatio(self.pixel_scale)
        blank.fill(BACKGROUND)
        self._replace_image(blank)

    def fill_at(self, point: QPointF) -> bool:
        """Flood-fill the dark region under ``point`` (logical coordinates) with ink; False if nothing to fill."""
        col, row = int(point.x() * self.pixel_scale), int(point.y() * self.pixel_scale)
        values = self.pixels()
        mask = connected_region(values < FILL_THRESHOLD, row, col)
        if not mask.any():
            return False
        self._push_undo()
        values[mask] = INK
        image = to_grey_qimage(values)
        image.setDevicePixelRatio(self.pixel_scale)
        self._replace_image(image)
        return True

    def begin_stroke(self, point: QPointF, width: float, erase: bool = False) -> None:
        self._push_undo()
        self._stroke_colour = BACKGROUND if erase else INK
        self._last_point = QPointF(point)
        self._paint_segment(point, point, width)

    def continue_stroke(self, point: QPointF, width: float) -> None:
        if self._stroke_colour is None:
            return
        self._paint_segment(self._last_point, point, width)
        self._last_point = QPointF(point)

    def end_stroke(self) -> None:
        """The pen is lifted: the next ``continue_stroke`` needs a ``begin_stroke`` first."""
        self._stroke_colour = None

    def _paint_segment(self, start: QPointF, end: QPointF, width: float) -> None:
        painter = QPainter(self._image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = QColor(self._stroke_colour, self._stroke_colour, self._stroke_colour)
        if start == end:  # a dot: a zero-length line draws nothing on some paint engines
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(colour)
            painter.drawEllipse(start, width / 2, width / 2)
        else:
            painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                Qt.PenJoinStyle.RoundJoin))
            painter.drawLine(start, end)
        painter.end()
        margin = width / 2 + 2
        self.update(QRectF(start, end).normalized().adjusted(-margin, -margin, margin, margin).toAlignedRect())
        self.changed.emit()

    # ------------------------------------------------------------------ input
    def _press(self, point: QPointF, width: float, erase: bool) -> None:
        if self._tool is Tool.FILL and not erase:
            self.fill_at(point)
        else:
            self.begin_stroke(point, width, erase=erase or self._tool is Tool.ERASER)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._press(event.position(), self._brush_size, erase=event.button() == Qt.MouseButton.RightButton)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        self._set_hover(event.position())
        self.continue_stroke(event.position(), self._brush_size)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke_colour is not None:
            self.continue_stroke(event.position(), self._brush_size)
        self.end_stroke()

    def tabletEvent(self, event: QTabletEvent) -> None:
        # Accepted tablet events are not repeated as mouse events; pressure sets the stroke's width.
        width = stroke_width_for_pressure(self._brush_size, float(event.pressure()))
        kind = event.type()
        if kind == QTabletEvent.Type.TabletPress:
            erase = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._press(event.position(), width, erase)
        elif kind == QTabletEvent.Type.TabletMove:
            self._set_hover(event.position())
            self.continue_stroke(event.position(), width)
        elif kind == QTabletEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()

    def leaveEvent(self, event) -> None:
        self._set_hover(None)
        super().leaveEvent(event)

    def _set_hover(self, point: QPointF | None) -> None:
        old, self._hover = self._hover, None if point is None else QPointF(point)
        margin = self._brush_size / 2 + 3
        for spot in (old, self._hover):
            if spot is not None:
                self.update(QRectF(spot, spot).adjusted(-margin, -margin, margin, margin).toAlignedRect())

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(self.rect()), self._image)
        if self._hover is not None and self._tool is not Tool.FILL:
            # The brush's outline in mid grey, visible on black and on white ink alike.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(128, 128, 128), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            radius = self._brush_size / 2
            painter.drawEllipse(self._hover, radius, radius)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawRect(self.rect().adjusted(0, 0, -1, -1))
        painter.end()

