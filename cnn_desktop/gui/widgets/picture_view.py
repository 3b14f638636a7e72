"""The picture the user opened, pasted or dropped, with the outline of the item the app found in it.

A photo is not what the network sees: the app cuts the item out of its
background (core segmentation) and shrinks it to 28x28. Drawing the found
item's outline over the original picture shows at a glance whether the right
thing was cut out (the whole shoe, not its shadow; one item, not the table).

The picture is scaled to fit, keeping its proportions; the outlines come in the
picture's own pixel coordinates (``picture_size``, which may be larger than the
reduced copy shown) and are scaled the same way. Dataset images are shown with
crisp square pixels and no outline.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPainterPath, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QSizePolicy, QWidget

MIN_SIDE = 200
# The outline: a light, saturated line over a darker, wider one, so it shows on light and dark photos alike.
OUTLINE_COLOUR = QColor(255, 214, 0)
OUTLINE_HALO = QColor(0, 0, 0, 170)
OUTLINE_WIDTH = 2.0
HALO_WIDTH = 4.5


class PictureView(QWidget):
    """Shows one picture scaled to fit, optionally with the found item's outlines over it."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._picture: QImage | None = None
        self._picture_size: tuple[int, int] = (0, 0)
        self._outlines: tuple[np.ndarray, ...] = ()
        self._crisp = False
        self.setMinimumSize(MIN_SIDE, MIN_SIDE)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setAccessibleName("Opened picture")

    # ------------------------------------------------------------------ data
    def set_picture(self, picture: QImage | None, outlines=(), picture_size: tuple[int, int] | None = None,
                    crisp: bool = False) -> None:
        """Show ``picture`` (None: nothing) with ``outlines``: (N, 2) arrays of (x, y) in the coordinates of a
        picture ``picture_size`` = (width, height) large (default: the picture's own size). ``crisp``: enlarge
        with square pixels (a 28x28 dataset image) instead of smoothly."""
        if picture is None or picture.isNull():
            self._picture, self._picture_size, self._outlines = None, (0, 0), ()
        else:
            self._picture = picture
            self._picture_size = tuple(picture_size) if picture_size else (picture.width(), picture.height())
            self._outlines = tuple(np.asarray(outline, np.float32).reshape(-1, 2) for outline in outlines
                                   if len(outline) >= 2)
        self._crisp = crisp
        described = "with the found item outlined" if self._outlines else "as it is"
        self.setAccessibleDescription("" if self._picture is None else f"The picture {described}")
        self.update()

    @property
    def picture(self) -> QImage | None:
        return self._picture

    @property
    def outlines(self) -> tuple[np.ndarray, ...]:
        """The outlines shown, in picture coordinates (copies)."""
        return tuple(outline.copy() for outline in self._outlines)

    @property
    def has_outline(self) -> bool:
        return bool(self._outlines)

    # ------------------------------------------------------------------ geometry
    def sizeHint(self) -> QSize:
        return QSize(280, 280)

    def picture_rect(self) -> QRectF:
        """Where the picture is drawn: scaled to fit the widget, proportions kept, centred (widget pixels)."""
        width, height = self._picture_size
        if self._picture is None or width <= 0 or height <= 0:
            return QRectF()
        scale = min(self.width() / width, self.height() / height)
        shown_width, shown_height = width * scale, height * scale
        return QRectF((self.width() - shown_width) / 2, (self.height() - shown_height) / 2,
                      shown_width, shown_height)

    def to_widget(self, x: float, y: float) -> QPointF:
        """A point in picture coordinates -> widget pixels."""
        rect = self.picture_rect()
        width, height = self._picture_size
        return QPointF(rect.left() + x * rect.width() / width, rect.top() + y * rect.height() / height)

    def _outline_path(self) -> QPainterPath:
        path = QPainterPath()
        for outline in self._outlines:
            path.moveTo(self.to_widget(*outline[0]))
            for x, y in outline[1:]:
                path.lineTo(self.to_widget(x, y))
            path.closeSubpath()
        return path

    # ------------------------------------------------------------------ painting
    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._picture is None:
            painter.end()
            return
        target = self.picture_rect()
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, not self._crisp)
        painter.drawImage(target, self._picture)
        if self._outlines:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            path = self._outline_path()
            painter.setBrush(Qt.BrushStyle.NoBrush)
            for colour, width in ((OUTLINE_HALO, HALO_WIDTH), (OUTLINE_COLOUR, OUTLINE_WIDTH)):
                painter.setPen(QPen(colour, width, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap,
                                    Qt.PenJoinStyle.RoundJoin))
                painter.drawPath(path)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(target.adjusted(-0.5, -0.5, 0.5, 0.5))
        painter.end()
