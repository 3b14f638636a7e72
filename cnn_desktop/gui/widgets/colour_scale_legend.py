"""The colour scale of an explanation map, with the words that say what red (and blue) mean."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget

from cnn_desktop.core.explanation_drawing import heat_rgba
from cnn_desktop.gui.widgets.array_images import rgba_qimage

BAR_HEIGHT = 14
RAMP_STEPS = 256


class _ColourBar(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.signed = False
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(240, BAR_HEIGHT + self.fontMetrics().height() + 2)

    def paintEvent(self, event: QPaintEvent) -> None:
        ramp = np.linspace(-1.0 if self.signed else 0.0, 1.0, RAMP_STEPS)[None, :]
        bar = rgba_qimage(heat_rgba(ramp, self.signed, opacity=1.0))
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        painter.drawImage(QRectF(0, 0, self.width(), BAR_HEIGHT), bar)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.drawRect(QRectF(0, 0, self.width() - 1, BAR_HEIGHT))
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        labels = (("against", "none", "for") if self.signed else ("none", "", "strongest"))
        text_rect = QRectF(0, BAR_HEIGHT + 1, self.width(), self.height() - BAR_HEIGHT - 1)
        for label, alignment in zip(labels, (Qt.AlignmentFlag.AlignLeft, Qt.AlignmentFlag.AlignHCenter,
                                             Qt.AlignmentFlag.AlignRight)):
            painter.drawText(text_rect, alignment | Qt.AlignmentFlag.AlignTop, label)
        painter.end()


class ColourScaleLegend(QWidget):
    """A colour bar (blue-white-red for signed maps, pale-to-red otherwise) and the legend in words."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.bar = _ColourBar(self)
        self.text = QLabel(self)
        self.text.setWordWrap(True)
        self.text.setAccessibleName("Colour legend")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.bar)
        layout.addWidget(self.text)

    @property
    def signed(self) -> bool:
        return self.bar.signed

    def set_legend(self, signed: bool, text: str) -> None:
        self.bar.signed = signed
        self.bar.update()
        self.text.setText(text)
