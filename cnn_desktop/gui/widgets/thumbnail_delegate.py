"""Paints one cell of a ``ThumbnailModel``: the image enlarged with sharp pixels, two lines of text, a mark.

The 28x28 image is drawn at ``pixel_scale`` times its size without smoothing
(each dataset pixel a sharp square at any screen scaling, since the painter
scales to device pixels); under it the true class and a second line taken
from ``detail_role`` (the caption / "#<number>" by default, or what the model
said); with ``marks`` on, a ✓ or ✗ disc when the model's answer is known.
Every cell has the same size (``cell_size``), so a view lays out thousands of
them without asking each row.
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QFont, QFontMetrics, QPainter, QPalette, QPen
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from cnn_desktop import config
from cnn_desktop.gui.widgets.thumbnail_model import CaptionRole, LabelRole, PredictionRole

CELL_MARGIN = 4
# Mark colours: the data itself is light-on-dark in either theme, so these stand out in both.
CORRECT_COLOUR = QColor(46, 160, 67)
WRONG_COLOUR = QColor(218, 54, 51)


class ThumbnailDelegate(QStyledItemDelegate):
    """Paints a cell: the enlarged image, its class name, a detail line, and (with ``marks``) a right/wrong mark."""

    def __init__(self, parent=None, *, pixel_scale: int = 3, detail_role: int = CaptionRole, marks: bool = True,
                 widest_texts: tuple[str, ...] = ("T-shirt/top",)):
        super().__init__(parent)
        self.pixel_scale = pixel_scale
        self.detail_role = detail_role
        self.marks = marks
        self.widest_texts = widest_texts  # the cell is as wide as the widest of these; longer lines are elided

    @property
    def thumbnail_size(self) -> int:
        return config.IMAGE_SIZE * self.pixel_scale

    def cell_size(self, font: QFont) -> QSize:
        metrics = QFontMetrics(font)
        width = max(self.thumbnail_size, *(metrics.horizontalAdvance(text) for text in self.widest_texts)) + 2 * CELL_MARGIN
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
        centred = Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop
        painter.setFont(option.font)
        painter.setPen(option.palette.color(group, text_role))
        name = config.CLASS_NAMES[index.data(LabelRole)]
        painter.drawText(name_rect, centred, metrics.elidedText(name, Qt.TextElideMode.ElideRight, text_width))
        if not selected:
            painter.setPen(option.palette.color(group, QPalette.ColorRole.PlaceholderText))
        detail = index.data(self.detail_role) or ""
        painter.drawText(name_rect.translated(0, metrics.height()), centred,
                         metrics.elidedText(detail, Qt.TextElideMode.ElideRight, text_width))

        predicted = index.data(PredictionRole)
        if self.marks and predicted is not None:
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
