"""Ten horizontal bars: how likely the network thinks each class is.

Painted directly (ten rows of text and rectangles do not need a plot widget)
in palette colours, so it reads in light and dark themes; the top class's bar
is in the highlight colour, the true class (when known) is underlined. When the
network is unsure the bars are dimmed and the top one is not highlighted: no
class stands out as the answer.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnn_desktop import config

ROW_PADDING = 8  # px between the text height and the row height
GAP = 8
DIMMED_OPACITY = 0.45  # the bars' opacity when the network is unsure
MIN_BAR_WIDTH = 80
PREFERRED_BAR_WIDTH = 240


def format_percent(probability: float) -> str:
    return f"{probability:.1%}"


class ProbabilityBars(QWidget):
    classClicked = Signal(int)  # the user clicked a class's row (e.g. to ask why, or why not, that class)

    def __init__(self, class_names=config.CLASS_NAMES, parent=None):
        super().__init__(parent)
        self.class_names = tuple(class_names)
        self._probabilities: np.ndarray | None = None
        self._true_index: int | None = None
        self._marked_index: int | None = None  # a class drawn with a frame (the class being explained)
        self._dimmed = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setAccessibleName("Class probabilities")
        self._describe()

    # ------------------------------------------------------------------ data
    @property
    def probabilities(self) -> np.ndarray | None:
        return None if self._probabilities is None else self._probabilities.copy()

    @property
    def top_index(self) -> int | None:
        return None if self._probabilities is None else int(np.argmax(self._probabilities))

    @property
    def true_index(self) -> int | None:
        return self._true_index

    @property
    def dimmed(self) -> bool:
        """Whether the bars are shown dimmed (the network is unsure)."""
        return self._dimmed

    def set_probabilities(self, probabilities: np.ndarray | None, true_index: int | None = None,
                          dimmed: bool = False) -> None:
        """Show these probabilities (one per class), or empty bars for None; ``dimmed``: the network is unsure."""
        if probabilities is not None:
            probabilities = np.asarray(probabilities, dtype=np.float64).reshape(-1)
            if probabilities.shape != (len(self.class_names),):
                raise ValueError(f"expected {len(self.class_names)} probabilities, got {probabilities.shape}")
        self._probabilities = probabilities
        self._true_index = true_index
        self._dimmed = bool(dimmed) and probabilities is not None
        self._describe()
        self.update()

    def set_marked_index(self, index: int | None) -> None:
        """Frame the row of class ``index`` (None: no frame)."""
        if index != self._marked_index:
            self._marked_index = index
            self.update()

    @property
    def marked_index(self) -> int | None:
        return self._marked_index

    def class_at(self, y: float) -> int | None:
        """The class whose row is at height ``y`` (widget coordinates), or None."""
        row = int(y // self._row_height())
        return row if 0 <= y and row < len(self.class_names) else None

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.class_at(event.position().y())
        if event.button() == Qt.MouseButton.LeftButton and index is not None:
            self.classClicked.emit(index)
        super().mousePressEvent(event)

    def _describe(self) -> None:
        """The numbers as text, for the tooltip and screen readers."""
        if self._probabilities is None:
            text = "No prediction yet"
        else:
            order = np.argsort(-self._probabilities, kind="stable")
            text = "\n".join(f"{self.class_names[i]}: {format_percent(self._probabilities[i])}" for i in order)
            if self._dimmed:
                text = "The network is unsure\n" + text
        self.setToolTip(text)
        self.setAccessibleDescription(text.replace("\n", "; "))

    # ------------------------------------------------------------------ geometry
    def _row_height(self) -> int:
        return self.fontMetrics().height() + ROW_PADDING

    def _name_width(self) -> int:
        metrics = self.fontMetrics()
        return max(metrics.horizontalAdvance(name) for name in self.class_names)

    def _percent_width(self) -> int:
        bold = QFont(self.font())
        bold.setBold(True)
        return QFontMetrics(bold).horizontalAdvance("100.0%") + GAP  # the top class's percentage is bold

    def sizeHint(self) -> QSize:
        width = self._name_width() + GAP + PREFERRED_BAR_WIDTH + GAP + self._percent_width()
        return QSize(width, self._row_height() * len(self.class_names))

    def minimumSizeHint(self) -> QSize:
        width = self._name_width() + GAP + MIN_BAR_WIDTH + GAP + self._percent_width()
        return QSize(width, self._row_height() * len(self.class_names))

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        row_height = self._row_height()
        name_width = self._name_width()
        percent_width = self._percent_width()
        bar_left = name_width + GAP
        bar_width = max(1, self.width() - bar_left - GAP - percent_width)
        bar_height = max(4, row_height - ROW_PADDING)
        top = self.top_index
        regular = QFont(self.font())
        emphasised = QFont(self.font())
        emphasised.setBold(True)
        true_font = QFont(self.font())
        true_font.setUnderline(True)
        text_colour = palette.color(QPalette.ColorRole.WindowText)
        for index, name in enumerate(self.class_names):
            y = index * row_height
            is_top = index == top
            painter.setPen(text_colour)
            painter.setFont(true_font if index == self._true_index else regular)
            painter.drawText(QRectF(0, y, name_width, row_height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, name)
            track = QRectF(bar_left, y + (row_height - bar_height) / 2, bar_width, bar_height)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(palette.color(QPalette.ColorRole.AlternateBase))
            painter.drawRoundedRect(track, 3, 3)
            if index == self._marked_index:
                painter.setPen(QPen(palette.color(QPalette.ColorRole.Highlight), 2))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRoundedRect(QRectF(1, y + 1, self.width() - 2, row_height - 2), 4, 4)
                painter.setPen(Qt.PenStyle.NoPen)
            if self._probabilities is None:
                continue
            probability = float(self._probabilities[index])
            if probability > 0:
                filled = QRectF(track)
                filled.setWidth(max(2.0, bar_width * probability))
                role = QPalette.ColorRole.Highlight if is_top and not self._dimmed else QPalette.ColorRole.Mid
                painter.setBrush(palette.color(role))
                painter.setOpacity(DIMMED_OPACITY if self._dimmed else 1.0)
                painter.drawRoundedRect(filled, 3, 3)
                painter.setOpacity(1.0)
            painter.setPen(text_colour)
            painter.setFont(emphasised if is_top else regular)
            painter.drawText(QRectF(self.width() - percent_width, y, percent_width, row_height),
                             Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, format_percent(probability))
        painter.end()
