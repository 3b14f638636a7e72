"""A 10x10 confusion matrix: counts per (true class, predicted class), shaded by count.

Rows are the true classes, columns the predicted ones, and a last column gives
each class's accuracy. A cell's shade is the square root of its share of the
row, so the few dozen Shirts taken for T-shirts stand out next to the diagonal's
hundreds. Clicking a cell (or pressing Enter on the selected one) emits
``cellClicked(true_class, predicted_class)``; the arrow keys move the selection.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QEvent, QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from cnn_desktop import config
from cnn_desktop.core.evaluation import per_class_accuracy

PADDING = 4


class ConfusionMatrix(QWidget):
    cellClicked = Signal(int, int)  # true class, predicted class

    def __init__(self, parent=None):
        super().__init__(parent)
        self.matrix = np.zeros((config.NUM_CLASSES, config.NUM_CLASSES), dtype=np.int64)
        self.selected: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Confusion matrix")

    # ------------------------------------------------------------------ data
    def set_matrix(self, matrix: np.ndarray) -> None:
        matrix = np.asarray(matrix, dtype=np.int64)
        if matrix.shape != (config.NUM_CLASSES, config.NUM_CLASSES):
            raise ValueError(f"a confusion matrix is {config.NUM_CLASSES}x{config.NUM_CLASSES}, not {matrix.shape}")
        self.matrix = matrix.copy()
        self.selected = None
        self.update()

    def clear(self) -> None:
        self.set_matrix(np.zeros_like(self.matrix))

    @property
    def total(self) -> int:
        return int(self.matrix.sum())

    @property
    def per_class_accuracy(self) -> np.ndarray:
        return per_class_accuracy(self.matrix)

    def _share(self, row: int, col: int) -> float:
        """The cell's fraction of its row (of the images of that true class)."""
        total = self.matrix[row].sum()
        return float(self.matrix[row, col] / total) if total else 0.0

    # ------------------------------------------------------------------ geometry
    def _geometry(self):
        """(left, top, cell size, accuracy column width): headers sized from the font, cells square."""
        metrics = self.fontMetrics()
        title = metrics.height() + PADDING
        label = max(metrics.horizontalAdvance(name) for name in config.CLASS_NAMES) + 2 * PADDING
        accuracy_width = metrics.horizontalAdvance("100.0%") + 3 * PADDING
        left, top = title + label, title + label
        cell = min((self.width() - left - accuracy_width - PADDING) / config.NUM_CLASSES,
                   (self.height() - top - PADDING) / config.NUM_CLASSES)
        return left, top, max(cell, 4.0), accuracy_width

    def cell_rect(self, row: int, col: int) -> QRectF:
        """Where the cell (true ``row``, predicted ``col``) is drawn, in widget coordinates."""
        left, top, cell, _ = self._geometry()
        return QRectF(left + col * cell, top + row * cell, cell, cell)

    def cell_at(self, pos) -> tuple[int, int] | None:
        left, top, cell, _ = self._geometry()
        col = math.floor((pos.x() - left) / cell)
        row = math.floor((pos.y() - top) / cell)
        if 0 <= row < config.NUM_CLASSES and 0 <= col < config.NUM_CLASSES:
            return row, col
        return None

    def sizeHint(self) -> QSize:
        metrics = self.fontMetrics()
        cell = metrics.horizontalAdvance("1000") + 2 * PADDING
        left, top, _, accuracy_width = self._geometry()
        return QSize(int(left + config.NUM_CLASSES * cell + accuracy_width + PADDING),
                     int(top + config.NUM_CLASSES * cell + PADDING))

    def minimumSizeHint(self) -> QSize:
        left, top, _, accuracy_width = self._geometry()
        cell = self.fontMetrics().height() + 2
        return QSize(int(left + config.NUM_CLASSES * cell + accuracy_width), int(top + config.NUM_CLASSES * cell))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event) -> None:
        palette = self.palette()
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        shade = palette.color(QPalette.ColorRole.Highlight)
        shade_text = palette.color(QPalette.ColorRole.HighlightedText)
        grid = QColor(text_colour)
        grid.setAlphaF(0.15)
        metrics = self.fontMetrics()
        left, top, cell, accuracy_width = self._geometry()
        size = cell * config.NUM_CLASSES
        title_height = metrics.height()

        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(text_colour)
        bold = QFont(self.font())
        bold.setBold(True)
        painter.setFont(bold)
        painter.drawText(QRectF(left, 0, size, title_height), Qt.AlignmentFlag.AlignCenter, "predicted class")
        painter.save()
        painter.translate(0, top + size / 2)
        painter.rotate(-90)
        painter.drawText(QRectF(-size / 2, 0, size, title_height), Qt.AlignmentFlag.AlignCenter, "true class")
        painter.restore()
        painter.setFont(self.font())

        label_width = left - title_height - PADDING
        for index, name in enumerate(config.CLASS_NAMES):
            painter.drawText(QRectF(title_height + PADDING, top + index * cell, label_width - PADDING, cell),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            painter.save()  # column labels run upwards from the top of their column
            painter.translate(left + index * cell, top - PADDING)
            painter.rotate(-90)
            painter.drawText(QRectF(0, 0, label_width, cell),
                             Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
            painter.restore()
        painter.save()
        painter.translate(left + size + PADDING, top - PADDING)
        painter.rotate(-90)
        painter.drawText(QRectF(0, 0, label_width, accuracy_width - PADDING),
                         Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, "accuracy")
        painter.restore()

        has_data = self.total > 0
        show_numbers = metrics.horizontalAdvance(str(int(self.matrix.max()))) + 2 <= cell
        accuracy = self.per_class_accuracy
        for row in range(config.NUM_CLASSES):
            for col in range(config.NUM_CLASSES):
                rect = self.cell_rect(row, col)
                intensity = math.sqrt(self._share(row, col))
                if intensity > 0:
                    fill = QColor(shade)
                    fill.setAlphaF(0.08 + 0.92 * intensity)
                    painter.fillRect(rect, fill)
                painter.setPen(QPen(grid, 1))
                painter.drawRect(rect)
                if has_data and show_numbers:
                    painter.setPen(shade_text if intensity > 0.6 else text_colour)
                    painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, str(int(self.matrix[row, col])))
            if has_data:
                painter.setPen(text_colour)
                painter.drawText(QRectF(left + size + PADDING, top + row * cell, accuracy_width - PADDING, cell),
                                 Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{accuracy[row]:.1%}")

        for cell_index, width in ((self._hover, 1.5), (self.selected, 3.0)):
            if cell_index is not None:
                painter.setPen(QPen(text_colour, width))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(self.cell_rect(*cell_index).adjusted(1, 1, -1, -1))
        if not has_data:
            painter.setPen(text_colour)
            painter.drawText(QRectF(left, top, size, size), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                             "Train or evaluate a model\nto see which classes it confuses")
        painter.end()

    # ------------------------------------------------------------------ interaction
    def describe(self, row: int, col: int) -> str:
        """A sentence about one cell (its tooltip)."""
        count, total = int(self.matrix[row, col]), int(self.matrix[row].sum())
        true_name, predicted_name = config.CLASS_NAMES[row], config.CLASS_NAMES[col]
        if row == col:
            return f"{count:,} of {total:,} {true_name} images were recognised correctly"
        return f"{count:,} of {total:,} {true_name} images were taken for {predicted_name}"

    def _activate(self, cell: tuple[int, int]) -> None:
        self.selected = cell
        self.update()
        self.cellClicked.emit(*cell)

    def mousePressEvent(self, event) -> None:
        cell = self.cell_at(event.position())
        if event.button() == Qt.MouseButton.LeftButton and cell is not None and self.total > 0:
            self._activate(cell)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        cell = self.cell_at(event.position())
        if cell != self._hover:
            self._hover = cell
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def keyPressEvent(self, event) -> None:
        if self.total == 0:
            return super().keyPressEvent(event)
        row, col = self.selected or (0, 0)
        moves = {Qt.Key.Key_Left: (0, -1), Qt.Key.Key_Right: (0, 1), Qt.Key.Key_Up: (-1, 0), Qt.Key.Key_Down: (1, 0)}
        key = event.key()
        if key in moves:
            d_row, d_col = moves[key]
            last = config.NUM_CLASSES - 1
            self.selected = (min(max(row + d_row, 0), last), min(max(col + d_col, 0), last))
            self.update()
        elif key in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self._activate((row, col))
        else:
            super().keyPressEvent(event)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            cell = self.cell_at(QPointF(event.pos()))
            if cell is not None and self.total > 0:
                QToolTip.showText(event.globalPos(), self.describe(*cell) + "\nClick to see these images.", self)
            else:
                QToolTip.hideText()
            return True
        return super().event(event)
