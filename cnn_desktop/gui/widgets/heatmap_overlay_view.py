"""A picture with an explanation map laid over the part of it the network saw.

The map is an RGBA image (``core.explanation_drawing.heat_rgba``: colour and opacity
already in it); it is stretched smoothly over ``frame``, the square of the
picture that became the network's 28x28 input (``core.explanation_drawing.frame_box``),
and clipped to the picture. Without a picture the view shows a message.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QImage, QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QWidget

from cnn_desktop.gui.widgets.array_images import rgba_qimage


class HeatmapOverlayView(QWidget):
    def __init__(self, accessible_name: str, side: int = 200, crisp: bool = False, parent=None):
        super().__init__(parent)
        self._side = side
        self._crisp = crisp  # draw the picture's pixels as sharp squares (a 28x28 image)
        self._picture: QImage | None = None
        self._frame: tuple[float, float, float, float] | None = None
        self._heat: QImage | None = None
        self._message = ""
        self.setAccessibleName(accessible_name)
        self.setFixedSize(side, side)

    @property
    def has_heat(self) -> bool:
        return self._heat is not None and self._picture is not None

    def sizeHint(self) -> QSize:
        return QSize(self._side, self._side)

    def set_picture(self, picture: QImage | None, frame: tuple[float, float, float, float] | None = None,
                    crisp: bool | None = None) -> None:
        """Show ``picture``; ``frame`` (left, top, right, bottom, picture pixels) is where the map goes
        (None: over the whole picture); ``crisp`` draws its pixels as sharp squares (None: as before)."""
        self._picture, self._frame = picture, frame
        if crisp is not None:
            self._crisp = crisp
        self.update()

    def set_heat(self, rgba: np.ndarray | None) -> None:
        """The map as (h, w, 4) RGBA, or None for the bare picture."""
        self._heat = None if rgba is None else rgba_qimage(rgba)
        self.update()

    def set_message(self, text: str) -> None:
        self._message = text
        self.setToolTip(text)
        self.update()

    def picture_rect(self) -> QRectF:
        """Where the picture is drawn: as large as fits, centred, its shape kept."""
        if self._picture is None or self._picture.isNull():
            return QRectF()
        width, height = self._picture.width(), self._picture.height()
        scale = min(self.width() / width, self.height() / height)
        return QRectF((self.width() - width * scale) / 2, (self.height() - height * scale) / 2,
                      width * scale, height * scale)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().color(QPalette.ColorRole.Base))
        target = self.picture_rect()
        if target.isEmpty():
            painter.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            painter.drawText(QRectF(self.rect()).adjusted(8, 8, -8, -8),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self._message)
            painter.end()
            return
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self._crisp)
        painter.drawImage(target, self._picture)
        if self._heat is not None:
            scale = target.width() / self._picture.width()
            left, top, right, bottom = self._frame or (0, 0, self._picture.width(), self._picture.height())
            frame = QRectF(target.left() + left * scale, target.top() + top * scale,
                           (right - left) * scale, (bottom - top) * scale)
            painter.setClipRect(target)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)  # bilinear, as the core's PNGs
            painter.drawImage(frame, self._heat)
        painter.end()
