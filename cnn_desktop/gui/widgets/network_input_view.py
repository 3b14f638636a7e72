"""The 28x28 image the network actually sees, enlarged with crisp square pixels.

Whatever the user drew or opened is cropped, centred and shrunk to 28x28 before
classification; showing that image explains many surprising answers. It is
scaled by a whole number of device pixels per image pixel, nearest-neighbour,
so every one of the 784 pixels stays a sharp square at any screen scaling.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget

from cnn_desktop import config
from cnn_desktop.gui.widgets.array_images import to_grey_qimage

PREFERRED_ZOOM = 6
MIN_ZOOM = 3


class NetworkInputView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self._image: np.ndarray | None = None
        self._qimage: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setAccessibleName("Network input")
        self.setToolTip(f"The {config.IMAGE_SIZE} × {config.IMAGE_SIZE} pixel image the network classifies, "
                        "enlarged: your picture cropped to the item, centred and shrunk, light on black "
                        "like the Fashion-MNIST images")

    @property
    def image(self) -> np.ndarray | None:
        return None if self._image is None else self._image.copy()

    def set_image(self, image: np.ndarray | None) -> None:
        """Show this (28, 28) image in [0, 1], or nothing for None."""
        if image is None:
            self._image, self._qimage = None, None
        else:
            self._image = np.asarray(image, dtype=np.float32).copy()
            self._qimage = to_grey_qimage(self._image)
        self.update()

    def sizeHint(self) -> QSize:
        side = config.IMAGE_SIZE * PREFERRED_ZOOM
        return QSize(side, side)

    def minimumSizeHint(self) -> QSize:
        side = config.IMAGE_SIZE * MIN_ZOOM
        return QSize(side, side)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def _image_rect(self) -> QRectF:
        """The largest square of whole device pixels per image pixel that fits, centred."""
        ratio = self.devicePixelRatioF()
        size = config.IMAGE_SIZE
        available = min(self.width(), self.height()) * ratio
        zoom = max(1, math.floor(available / size))
        side = zoom * size / ratio
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def paintEvent(self, event: QPaintEvent) -> None:
        palette = self.palette()
        painter = QPainter(self)
        target = self._image_rect()
        if self._qimage is None:
            painter.fillRect(target, palette.color(QPalette.ColorRole.AlternateBase))
            painter.setPen(palette.color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(target, Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, "no image")
        else:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # nearest neighbour
            painter.drawImage(target, self._qimage)
        painter.setPen(palette.color(QPalette.ColorRole.Mid))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.end()
