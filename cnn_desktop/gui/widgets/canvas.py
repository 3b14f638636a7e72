"""The drawing canvas: white ink on black, like the Fashion-MNIST images.

The drawing lives in a greyscale QImage (the backing store) with a fixed
logical size: LOGICAL_SIZE "drawing units" square, whatever size the widget is
shown at. It holds more pixels than that (at least 2x, more on a denser
screen), so strokes stay smooth and the network's input, which is computed from
these pixels, depends neither on the screen nor on the window's size.

The widget grows with the window: it shows the drawing in the largest square
that fits (``drawing_rect``) and maps the pointer into drawing units, so a
stroke lands where the pointer is at any display size, and the brush size
(in drawing units) looks the same share of the drawing however large it is shown.

Tools: a round brush whose width follows pen pressure on a tablet, an eraser
(also the right mouse button and the eraser end of a pen) and a flood-fill
bucket that turns a closed outline into a silhouette. Every stroke, fill and
clear is undoable (a limited list of snapshots: a few hundred KB each).
"""

from __future__ import annotations

import enum

import cv2
import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (QColor, QGuiApplication, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen,
                           QPointingDevice, QTabletEvent)
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnn_desktop.gui.widgets.array_images import to_grey_qimage

LOGICAL_SIZE = 280  # the drawing's side in drawing units: 10x the network's 28x28 input
MIN_DISPLAY_SIZE = 200  # the smallest side the canvas is shown at (px)
MIN_PIXEL_SCALE = 2.0
UNDO_DEPTH = 40
INK = 255
BACKGROUND = 0
# The bucket fills the dark region under the click: pixels darker than this (on 0-255).
# Half-way keeps the anti-aliased rim of a stroke as the region's border.
FILL_THRESHOLD = 128
# ... and the fill then grows by this many backing-store pixels into that rim, so no grey seam is left
# between the outline and its filling.
FILL_RIM = 2
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

        self.setMinimumSize(MIN_DISPLAY_SIZE, MIN_DISPLAY_SIZE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setAttribute(Qt.WidgetAttribute.WA_TabletTracking)
        self.setMouseTracking(True)  # for the brush outline under the pointer
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setAccessibleName("Drawing canvas")
        self.setAccessibleDescription("Draw a clothing item in white on black; the network classifies it as you draw")

    # ------------------------------------------------------------------ state
    def sizeHint(self) -> QSize:
        return QSize(LOGICAL_SIZE, LOGICAL_SIZE)

    # ------------------------------------------------------------------ geometry
    def drawing_rect(self) -> QRectF:
        """Where the drawing is shown: the largest centred square that fits the widget (widget pixels)."""
        side = float(min(self.width(), self.height()))
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def display_scale(self) -> float:
        """Widget pixels per drawing unit."""
        return self.drawing_rect().width() / LOGICAL_SIZE

    def to_drawing(self, point: QPointF) -> QPointF:
        """A point in widget pixels -> drawing units (0..LOGICAL_SIZE inside the drawing)."""
        rect = self.drawing_rect()
        scale = self.display_scale()
        return QPointF((point.x() - rect.left()) / scale, (point.y() - rect.top()) / scale)

    def to_widget(self, point: QPointF) -> QPointF:
        """A point in drawing units -> widget pixels (where to put the pointer to draw there)."""
        rect = self.drawing_rect()
        scale = self.display_scale()
        return QPointF(rect.left() + point.x() * scale, rect.top() + point.y() * scale)

    def _widget_rect(self, drawing_rect: QRectF) -> QRectF:
        """A rectangle in drawing units -> widget pixels."""
        return QRectF(self.to_widget(drawing_rect.topLeft()), self.to_widget(drawing_rect.bottomRight()))

    def _in_drawing(self, point: QPointF) -> bool:
        return 0 <= point.x() < LOGICAL_SIZE and 0 <= point.y() < LOGICAL_SIZE

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
        """Flood-fill the dark region under ``point`` (drawing units) with ink; False if nothing to fill."""
        col, row = int(point.x() * self.pixel_scale), int(point.y() * self.pixel_scale)
        values = self.pixels()
        mask = connected_region(values < FILL_THRESHOLD, row, col)
        if not mask.any():
            return False
        self._push_undo()
        rim = cv2.dilate(mask.astype(np.uint8), np.ones((3, 3), np.uint8), iterations=FILL_RIM).astype(bool)
        values[rim] = INK
        image = to_grey_qimage(values)
        image.setDevicePixelRatio(self.pixel_scale)
        self._replace_image(image)
        return True

    # begin_stroke / continue_stroke / end_stroke take drawing units (0..LOGICAL_SIZE), as fill_at does.
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
        touched = QRectF(start, end).normalized().adjusted(-margin, -margin, margin, margin)
        self.update(self._widget_rect(touched).toAlignedRect().adjusted(-1, -1, 1, 1))
        self.changed.emit()

    # ------------------------------------------------------------------ input
    # Pointer events arrive in widget pixels; everything below works in drawing units.
    def _press(self, point: QPointF, width: float, erase: bool) -> None:
        if not self._in_drawing(point):  # in the margin beside the square: nothing to draw on
            return
        if self._tool is Tool.FILL and not erase:
            self.fill_at(point)
        else:
            self.begin_stroke(point, width, erase=erase or self._tool is Tool.ERASER)

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() in (Qt.MouseButton.LeftButton, Qt.MouseButton.RightButton):
            self._press(self.to_drawing(event.position()), self._brush_size,
                        erase=event.button() == Qt.MouseButton.RightButton)
            event.accept()
        else:
            super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        point = self.to_drawing(event.position())
        self._set_hover(point)
        self.continue_stroke(point, self._brush_size)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._stroke_colour is not None:
            self.continue_stroke(self.to_drawing(event.position()), self._brush_size)
        self.end_stroke()

    def tabletEvent(self, event: QTabletEvent) -> None:
        # Accepted tablet events are not repeated as mouse events; pressure sets the stroke's width.
        width = stroke_width_for_pressure(self._brush_size, float(event.pressure()))
        kind = event.type()
        point = self.to_drawing(event.position())
        if kind == QTabletEvent.Type.TabletPress:
            erase = event.pointerType() == QPointingDevice.PointerType.Eraser
            self._press(point, width, erase)
        elif kind == QTabletEvent.Type.TabletMove:
            self._set_hover(point)
            self.continue_stroke(point, width)
        elif kind == QTabletEvent.Type.TabletRelease:
            self.end_stroke()
        event.accept()

    def leaveEvent(self, event) -> None:
        self._set_hover(None)
        super().leaveEvent(event)

    def _set_hover(self, point: QPointF | None) -> None:
        """Where the brush outline is shown (drawing units), or nowhere."""
        if point is not None and not self._in_drawing(point):
            point = None
        old, self._hover = self._hover, None if point is None else QPointF(point)
        margin = self._brush_size / 2 + 3
        for spot in (old, self._hover):
            if spot is not None:
                area = QRectF(spot, spot).adjusted(-margin, -margin, margin, margin)
                self.update(self._widget_rect(area).toAlignedRect().adjusted(-1, -1, 1, 1))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        target = self.drawing_rect()
        if target.width() < self.width() or target.height() < self.height():
            painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Window))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(target, self._image)
        if self._hover is not None and self._tool is not Tool.FILL:
            # The brush's outline in mid grey, visible on black and on white ink alike.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(QColor(128, 128, 128), 1))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            radius = self._brush_size / 2 * self.display_scale()
            painter.drawEllipse(self.to_widget(self._hover), radius, radius)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(target.adjusted(0.5, 0.5, -0.5, -0.5))
        painter.end()

