"""One feature map enlarged, and where a pixel of it looks in the input image.

Click a pixel of the enlarged map (or of a tile in the grid): the input pixels it
depends on are outlined on the image. For the first convolution layer the
multiply-add that produced the pixel is written out with the real kernel, bias
and input values (input patch × kernel + bias, then the activation); deeper
layers show the size of their receptive field on the input.
"""

from __future__ import annotations

import html

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QPalette, QPen
from PySide6.QtWidgets import QGraphicsRectItem, QHBoxLayout, QLabel, QScrollArea, QSizePolicy, QVBoxLayout, QWidget

from cnn_desktop import config
from cnn_desktop.core.convolution_demo import ConvolutionLayer, ConvolutionStep, format_number
from cnn_desktop.core.receptive_field import ReceptiveField
from cnn_desktop.core.inference import LayerInfo
from cnn_desktop.gui.widgets.feature_map_grid import bare_image_plot, style_color_bar, style_plot_widget


def _matrix_html(values: np.ndarray, decimals: int, greyed: np.ndarray | None = None, grey: str = "gray") -> str:
    """A small right-aligned number grid; ``greyed`` marks zero-padding cells, drawn in colour ``grey``."""
    rows = []
    for r, row in enumerate(values):
        cells = []
        for c, value in enumerate(row):
            text = html.escape(format_number(float(value), decimals))
            if greyed is not None and greyed[r, c]:
                text = f"<i style='color:{grey}'>{text}</i>"
            cells.append(f"<td align='right'>&nbsp;{text}&nbsp;</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table cellspacing='0' style='border:1px solid'>{''.join(rows)}</table>"


class ReceptiveFieldView(QWidget):
    """The selected map, large, with the value under the cursor; the input with the clicked pixel's field."""

    def __init__(self, parent=None):
        super().__init__(parent)
        palette = self.palette()
        self._grey = palette.color(QPalette.ColorRole.PlaceholderText).name()
        highlight = palette.color(QPalette.ColorRole.Highlight)

        self._layer: LayerInfo | None = None
        self._channel = 0
        self._map: np.ndarray | None = None
        self._image: np.ndarray | None = None
        self._field: ReceptiveField | None = None
        self._convolution: ConvolutionLayer | None = None
        self._pixel: tuple[int, int] | None = None
        self.step: ConvolutionStep | None = None  # the multiply-add on show (first convolution layer only)
        self.output_value: float | None = None  # the layer's output for it, activation applied
        self.rectangle: tuple[int, int, int, int] | None = None  # receptive field, input pixels, inclusive

        self.title = QLabel()
        self.title.setWordWrap(True)
        self.hover_label = QLabel(" ")
        self.view = pg.GraphicsLayoutWidget()
        style_plot_widget(self.view, palette)
        self.view.setMinimumHeight(180)

        self.map_plot = bare_image_plot()
        title_colour = palette.color(QPalette.ColorRole.WindowText).name()
        self.map_plot.setTitle("selected map", color=title_colour)
        self.map_image = pg.ImageItem(axisOrder="row-major")
        self.map_plot.addItem(self.map_image)
        # Horizontal, under the map, so the map and the image can sit side by side at the same size.
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get("viridis"), interactive=False,
                                         width=10, orientation="horizontal")
        self.color_bar.setImageItem(self.map_image, insert_in=self.map_plot)
        style_color_bar(self.color_bar, palette)
        self.pixel_box = QGraphicsRectItem()
        self.pixel_box.setPen(QPen(highlight, 0))
        self.map_plot.addItem(self.pixel_box)

        self.input_plot = bare_image_plot()
        self.input_plot.setTitle("input image", color=title_colour)
        self.input_image = pg.ImageItem(axisOrder="row-major")
        self.input_image.setColorMap(pg.colormap.get("CET-L1"))  # grey ramp: the image as the network sees it
        self.input_plot.addItem(self.input_image)
        self.field_box = QGraphicsRectItem()
        field_pen = QPen(highlight, 0)
        field_pen.setWidthF(2)
        field_pen.setCosmetic(True)
        self.field_box.setPen(field_pen)
        self.input_plot.addItem(self.field_box)
        self.view.addItem(self.map_plot, 0, 0)
        self.view.addItem(self.input_plot, 0, 1)
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.view.scene().sigMouseClicked.connect(self._on_mouse_clicked)

        self.explanation = QLabel()
        self.explanation.setWordWrap(True)
        self.explanation.setTextFormat(Qt.TextFormat.RichText)
        self.explanation.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.explanation.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.explanation.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.explanation)

        pictures = QVBoxLayout()
        pictures.addWidget(self.view, 1)
        pictures.addWidget(self.hover_label)
        body = QHBoxLayout()
        body.addLayout(pictures, 5)
        body.addWidget(scroll, 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addLayout(body, 1)
        self.clear("Click a map to enlarge it, and a pixel of it to see where it looks in the image.")

    # ------------------------------------------------------------------ public
    @property
    def pixel(self) -> tuple[int, int] | None:
        return self._pixel

    def clear(self, message: str) -> None:
        self._layer = self._map = self._image = None
        self._pixel = self.step = self.output_value = self.rectangle = None
        self.map_image.clear()
        self.input_image.clear()
        self.pixel_box.setVisible(False)
        self.field_box.setVisible(False)
        self.title.setText("")
        self.explanation.setText(html.escape(message))

    def show_map(self, layer: LayerInfo, channel: int, feature_map: np.ndarray, image: np.ndarray,
                 field: ReceptiveField | None, convolution: ConvolutionLayer | None = None,
                 pixel: tuple[int, int] | None = None) -> None:
        """Enlarge ``feature_map`` (channel ``channel`` of ``layer`` for ``image``).

        ``convolution``: the layer's weights when it reads the image directly (then the
        multiply-add can be written out). ``pixel``: the one to explain; by default the
        one explained before if it still exists, else the map's centre.
        """
        same_map = self._layer is not None and self._layer.name == layer.name and self._channel == channel
        previous = self._pixel if same_map else None
        self._layer, self._channel = layer, channel
        self._map = np.asarray(feature_map, dtype=np.float32)
        self._image = np.asarray(image, dtype=np.float32)
        self._field, self._convolution = field, convolution
        height, width = self._map.shape
        self.title.setText(f"<b>{html.escape(layer.name)}</b> ({layer.type}), map #{channel} of "
                           f"{layer.output_shape[-1]}: {height}×{width} pixels")
        self.map_image.setImage(self._map, autoLevels=False)
        low, high = float(self._map.min()), float(self._map.max())
        self.color_bar.setLevels(values=(low, high if high > low else low + 1.0))
        self.map_plot.getViewBox().setRange(QRectF(0, 0, width, height), padding=0.02)
        self.input_image.setImage(self._image, autoLevels=False, levels=(0.0, 1.0))
        size = config.IMAGE_SIZE
        self.input_plot.getViewBox().setRange(QRectF(-1, -1, size + 2, size + 2), padding=0)
        row, col = pixel or previous or (height // 2, width // 2)
        self.select_pixel(min(row, height - 1), min(col, width - 1))

    def select_pixel(self, row: int, col: int) -> None:
        """Explain output pixel (row, col) of the map on show."""
        if self._map is None:
            return
        self._pixel = (row, col)
        self.pixel_box.setRect(QRectF(col, row, 1, 1))
        self.pixel_box.setVisible(True)
        value = float(self._map[row, col])
        parts = [f"<p><b>Row {row}, column {col}</b> of this map holds <b>{format_number(value, 4)}</b>.</p>"]
        self.step = self.output_value = self.rectangle = None
        if self._field is not None:
            self.rectangle = self._field.rectangle(row, col)
            top, left, bottom, right = self.rectangle
            last = config.IMAGE_SIZE - 1
            inside = (max(top, 0), max(left, 0), min(bottom, last), min(right, last))
            self.field_box.setRect(QRectF(inside[1], inside[0], inside[3] - inside[1] + 1, inside[2] - inside[0] + 1))
            self.field_box.setVisible(True)
            size = self._field.size
            clipped = inside != self.rectangle
            parts.append(
                f"<p>Its <b>receptive field</b> is {size}×{size} input pixels: rows {top}–{bottom}, columns "
                f"{left}–{right}" + (f" (inside the image: rows {inside[0]}–{inside[2]}, columns "
                                     f"{inside[1]}–{inside[3]}; the rest is zero padding)" if clipped else "")
                + ". No pixel outside the outlined square can change this value.</p>")
        else:
            self.field_box.setVisible(False)
        if self._convolution is not None:
            parts.append(self._multiply_add_html(row, col))
        elif self._layer.type == "Conv2D":
            parts.append("<p>This convolution reads the previous layer's maps, not the image: every output "
                         "adds up a 3-D window through all of them. Select the first convolution layer to see "
                         "one multiply-add written out with real numbers.</p>")
        self.explanation.setText("".join(parts))

    # ------------------------------------------------------------------ the multiply-add
    def _multiply_add_html(self, row: int, col: int) -> str:
        convolution = self._convolution
        step = convolution.step(self._image, self._channel, row, col)
        self.step = step
        self.output_value = convolution.output(step)
        kh, kw = step.kernel.shape[:2]
        rows = np.arange(step.top, step.top + kh)[:, None]
        cols = np.arange(step.left, step.left + kw)[None, :]
        size = config.IMAGE_SIZE
        padding = (rows < 0) | (rows >= size) | (cols < 0) | (cols >= size)
        patch, kernel = step.patch[..., 0], step.kernel[..., 0]
        grids = (
            "<table cellspacing='6'><tr>"
            f"<td align='center'>input patch<br>{_matrix_html(patch, 2, padding, self._grey)}</td>"
            "<td valign='middle'><b>×</b></td>"
            f"<td align='center'>kernel #{self._channel}<br>{_matrix_html(kernel, 2)}</td>"
            "</tr><tr>"
            "<td></td><td valign='middle'><b>=</b></td>"
            f"<td align='center'>{_matrix_html(step.products[..., 0], 3, padding, self._grey)}<br>products</td>"
            "</tr></table>")
        activation = convolution.activation
        total = (f"sum of the 9 products {format_number(step.sum_of_products, 4)}"
                 + (f" + bias {format_number(step.bias, 4)}" if convolution.bias is not None else " (no bias)")
                 + f" = <b>{format_number(step.value, 4)}</b>")
        if activation in (None, "linear"):
            result = (f"{total}. The layer has no activation of its own (batch normalisation and ReLU follow as "
                      "separate layers), so this is the value in the map.")
        elif self.output_value is None:
            result = f"{total}, then the layer's {html.escape(activation)} activation gives the map's value."
        else:
            result = (f"{total}; {html.escape(activation)} → <b>{format_number(self.output_value, 4)}</b>"
                      + (" (negative sums become 0)" if activation == "relu" and step.value < 0 else "")
                      + ", the value in the map.")
        note = (" Grey numbers lie outside the image: 'same' padding puts zeros there."
                if padding.any() else "")
        return (f"<p><b>How it was computed</b>: the 3×3 input pixels under kernel #{self._channel} (rows "
                f"{step.top}–{step.top + kh - 1}, columns {step.left}–{step.left + kw - 1}), multiplied "
                f"element by element and added up.{note}</p>{grids}<p>{result}</p>"
                f"<p style='font-family:monospace'>{html.escape(step.formula(3))}</p>")

    # ------------------------------------------------------------------ mouse
    def _map_pixel_at(self, scene_pos) -> tuple[int, int] | None:
        if self._map is None or not self.map_plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.map_image.mapFromScene(scene_pos)
        row, col = int(np.floor(point.y())), int(np.floor(point.x()))
        height, width = self._map.shape
        return (row, col) if 0 <= row < height and 0 <= col < width else None

    def _on_mouse_moved(self, scene_pos) -> None:
        hit = self._map_pixel_at(scene_pos)
        if hit is not None:
            row, col = hit
            self.hover_label.setText(f"map #{self._channel}, row {row}, column {col}: "
                                     f"{format_number(float(self._map[row, col]), 4)}")
            return
        if self._image is not None and self.input_plot.sceneBoundingRect().contains(scene_pos):
            point = self.input_image.mapFromScene(scene_pos)
            row, col = int(np.floor(point.y())), int(np.floor(point.x()))
            size = config.IMAGE_SIZE
            if 0 <= row < size and 0 <= col < size:
                self.hover_label.setText(f"input pixel row {row}, column {col}: "
                                         f"{format_number(float(self._image[row, col]), 3)}")
                return
        self.hover_label.setText(" ")

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._map_pixel_at(event.scenePos())
        if hit is not None:
            self.select_pixel(*hit)
