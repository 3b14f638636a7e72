"""Every channel of a layer as a grid of small labelled images with one colour scale.

All channels are tiled into a single pyqtgraph ImageItem (one texture instead
of up to 128 items: cheap to redraw at 20 Hz); NaN gaps between the tiles are
drawn transparent. The same grid shows convolution kernels in the Filters tab,
with a diverging colour map centred at zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QFont, QPalette, QPen
from PySide6.QtWidgets import QCheckBox, QGraphicsRectItem, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from cnn_desktop.core.convolution_demo import format_number


def style_plot_widget(view: pg.GraphicsView, palette: QPalette) -> None:
    """Plot background and axis text from the window palette, so light and dark themes both read well."""
    view.setBackground(palette.color(QPalette.ColorRole.Base))


def style_color_bar(bar: pg.ColorBarItem, palette: QPalette) -> None:
    text = palette.color(QPalette.ColorRole.WindowText)
    for key in ("left", "right", "top", "bottom"):  # the value axis, its label and the frame
        bar.getAxis(key).setPen(pg.mkPen(text))
        bar.getAxis(key).setTextPen(pg.mkPen(text))


def bare_image_plot() -> pg.PlotItem:
    """A plot for images: no axes, square pixels, row 0 at the top, no pan/zoom menu surprises."""
    plot = pg.PlotItem()
    for axis in ("left", "bottom"):
        plot.hideAxis(axis)
    plot.setMenuEnabled(False)
    plot.hideButtons()
    plot.setAspectLocked(True)
    plot.invertY(True)
    plot.setMouseEnabled(False, False)
    return plot


@dataclass(frozen=True)
class TileLayout:
    """Where tile ``i`` sits in the tiled image."""

    count: int
    height: int
    width: int
    columns: int
    gap: int  # empty pixels between tiles
    label_band: int  # empty pixels above each tile for its "#i" label

    @classmethod
    def for_maps(cls, count: int, height: int, width: int, area_aspect: float = 1.5) -> "TileLayout":
        """The column count that gives the largest tiles in an area ``area_aspect`` times wider than high."""
        # Wider gaps for many small maps, whose "#100" labels are wider than the maps themselves.
        gap = max(1, round(width * (0.4 if count >= 100 else 0.15)))
        band = max(2, round(height * 0.45))

        def tile_scale(columns: int) -> float:
            rows = math.ceil(count / columns)
            return min(area_aspect / (columns * (width + gap)), 1.0 / (rows * (height + gap + band)))

        columns = max(range(1, max(1, count) + 1), key=lambda c: (tile_scale(c), -c))
        return cls(count, height, width, columns, gap, band)

    @property
    def rows(self) -> int:
        return math.ceil(self.count / self.columns)

    @property
    def pitch_x(self) -> int:
        return self.width + self.gap

    @property
    def pitch_y(self) -> int:
        return self.height + self.gap + self.label_band

    @property
    def shape(self) -> tuple[int, int]:
        return self.rows * self.pitch_y, self.columns * self.pitch_x

    def origin(self, index: int) -> tuple[int, int]:
        """(top, left) pixel of tile ``index`` in the tiled image."""
        row, col = divmod(index, self.columns)
        return row * self.pitch_y + self.label_band, col * self.pitch_x

    def locate(self, y: float, x: float) -> tuple[int, int, int] | None:
        """(tile, row, col) under tiled-image coordinates (x, y), or None over a gap or label."""
        if x < 0 or y < 0:
            return None
        tile_row, inner_y = divmod(y, self.pitch_y)
        tile_col, inner_x = divmod(x, self.pitch_x)
        inner_y -= self.label_band
        index = int(tile_row) * self.columns + int(tile_col)
        if not (0 <= inner_y < self.height and inner_x < self.width and tile_col < self.columns
                and index < self.count):
            return None
        return index, int(inner_y), int(inner_x)

    def tile(self, maps: np.ndarray) -> np.ndarray:
        """(H, W, C) -> one float image with NaN in the gaps (drawn transparent)."""
        tiled = np.full(self.shape, np.nan, dtype=np.float32)
        for index in range(self.count):
            top, left = self.origin(index)
            tiled[top:top + self.height, left:left + self.width] = maps[..., index]
        return tiled


class FeatureMapGrid(QWidget):
    """All channels of one layer, each labelled "#i"; hover reads a value, a click picks a map and pixel."""

    mapClicked = Signal(int, int, int)  # channel, row, col

    def __init__(self, parent=None, *, colormap: str = "viridis", centred: bool = False, item_name: str = "map",
                 value_name: str = "activation"):
        super().__init__(parent)
        self._centred = centred  # diverging data (weights): levels symmetric about 0
        self._item_name, self._value_name = item_name, value_name
        self._maps: np.ndarray | None = None
        self._layout: TileLayout | None = None
        self._labels: list[pg.TextItem] = []
        self._selected: int | None = None
        self._palette_text = self.palette().color(QPalette.ColorRole.WindowText)

        self.per_map_scale = QCheckBox(f"Scale each {item_name} to its own range")
        scaled_range = "−1 to 1, ±1 being its largest weight" if centred else "0 to 1, from its minimum to its maximum"
        self.per_map_scale.setToolTip(
            f"Off: one colour scale for all {item_name}s, so they can be compared.\n"
            f"On: every {item_name} uses its full colour range, showing faint patterns (the scale then reads "
            f"{scaled_range}).")
        self.per_map_scale.toggled.connect(self._redraw)
        self.hover_label = QLabel(" ")
        self.hover_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.message_label = QLabel()
        self.message_label.setWordWrap(True)
        self.message_label.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.view = pg.GraphicsLayoutWidget()
        style_plot_widget(self.view, self.palette())
        self.plot = bare_image_plot()
        self.view.addItem(self.plot)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.color_map = pg.colormap.get(colormap)
        self.color_bar = pg.ColorBarItem(values=(0, 1), colorMap=self.color_map, interactive=False, width=14,
                                         label=value_name)
        self.color_bar.setImageItem(self.image, insert_in=self.plot)
        style_color_bar(self.color_bar, self.palette())
        highlight = self.palette().color(QPalette.ColorRole.Highlight)
        self._selection_box = QGraphicsRectItem()
        self._selection_box.setPen(QPen(highlight, 0))  # cosmetic: one screen pixel wide at any zoom
        self._selection_box.setVisible(False)
        self.plot.addItem(self._selection_box)
        self.view.scene().sigMouseMoved.connect(self._on_mouse_moved)
        self.view.scene().sigMouseClicked.connect(self._on_mouse_clicked)

        top = QHBoxLayout()
        top.addWidget(self.hover_label, 1)
        top.addWidget(self.per_map_scale)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.message_label)
        layout.addWidget(self.view, 1)
        self.show_message("Nothing to show yet.")

    # ------------------------------------------------------------------ public
    @property
    def channel_count(self) -> int:
        return 0 if self._maps is None else int(self._maps.shape[-1])

    @property
    def tile_layout(self) -> TileLayout | None:
        """How the channels are tiled in the image (None while a message is shown instead)."""
        return self._layout

    @property
    def maps(self) -> np.ndarray | None:
        return self._maps

    def show_message(self, text: str) -> None:
        """No maps: say why instead of an empty plot."""
        self._maps = None
        self._layout = None
        self.image.clear()
        self._set_labels(0)
        self._selection_box.setVisible(False)
        self.message_label.setText(text)
        self.message_label.setVisible(True)
        self.view.setVisible(False)
        self.hover_label.setText(" ")

    def set_maps(self, maps: np.ndarray) -> None:
        """Show every channel of ``maps`` (H, W, C); keeps the view and selection when the shape is unchanged."""
        maps = np.asarray(maps, dtype=np.float32)
        if maps.ndim != 3:
            raise ValueError(f"expected maps of shape (H, W, C), got {maps.shape}")
        reshaped = self._maps is None or self._maps.shape != maps.shape
        self._maps = maps
        self.message_label.setVisible(False)
        self.view.setVisible(True)
        if reshaped:
            self._selected = None
            self._selection_box.setVisible(False)
            self._arrange()
        else:
            self._redraw()

    def _area_aspect(self) -> float:
        width, height = self.view.width() - 70, self.view.height()  # less the colour bar
        return width / height if width > 0 and height > 0 else 1.5

    def _arrange(self) -> None:
        """Lay the tiles out for the current size of the view (columns that make them largest)."""
        height, width, count = self._maps.shape
        self._layout = TileLayout.for_maps(count, height, width, self._area_aspect())
        self._set_labels(count)
        self._redraw()
        if self._selected is not None:
            self.select(self._selected)
        tiled_height, tiled_width = self._layout.shape
        self.plot.getViewBox().setRange(QRectF(0, 0, tiled_width, tiled_height), padding=0.02)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._maps is not None and self._layout is not None:
            height, width, count = self._maps.shape
            if TileLayout.for_maps(count, height, width, self._area_aspect()).columns != self._layout.columns:
                self._arrange()

    def select(self, channel: int) -> None:
        """Outline one tile (the map enlarged beside the grid)."""
        if self._layout is None or not 0 <= channel < self._layout.count:
            return
        self._selected = channel
        top, left = self._layout.origin(channel)
        self._selection_box.setRect(QRectF(left - 0.5, top - 0.5, self._layout.width + 1, self._layout.height + 1))
        self._selection_box.setVisible(True)

    # ------------------------------------------------------------------ drawing
    def _display_values(self) -> tuple[np.ndarray, tuple[float, float]]:
        maps = self._maps
        if self.per_map_scale.isChecked():
            if self._centred:
                scale = np.abs(maps).max(axis=(0, 1), keepdims=True)
                return maps / np.where(scale > 0, scale, 1), (-1.0, 1.0)
            low = maps.min(axis=(0, 1), keepdims=True)
            span = maps.max(axis=(0, 1), keepdims=True) - low
            return (maps - low) / np.where(span > 0, span, 1), (0.0, 1.0)
        if self._centred:
            bound = float(np.abs(maps).max()) or 1.0
            return maps, (-bound, bound)
        low, high = float(maps.min()), float(maps.max())
        return maps, (low, high if high > low else low + 1.0)

    def _redraw(self) -> None:
        if self._maps is None:
            return
        values, levels = self._display_values()
        self.image.setImage(self._layout.tile(values), autoLevels=False)
        self.color_bar.setLevels(values=levels)
        scaled = self.per_map_scale.isChecked()
        self.color_bar.getAxis("left").setLabel(f"{self._value_name} (each {self._item_name} scaled)" if scaled
                                     else self._value_name)

    def _set_labels(self, count: int) -> None:
        for label in self._labels:
            self.plot.removeItem(label)
        self._labels = []
        if count == 0:
            return
        font = QFont(self.font())
        font.setPointSizeF(max(6.0, font.pointSizeF() * 0.75))
        for index in range(count):
            top, left = self._layout.origin(index)
            label = pg.TextItem(f"#{index}", color=self._palette_text, anchor=(0, 1))
            label.setFont(font)
            label.setPos(left - 0.5, top - 0.2)
            self.plot.addItem(label)
            self._labels.append(label)

    # ------------------------------------------------------------------ mouse
    def _locate_scene(self, scene_pos) -> tuple[int, int, int] | None:
        if self._layout is None or not self.plot.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.image.mapFromScene(scene_pos)
        return self._layout.locate(point.y(), point.x())

    def _on_mouse_moved(self, scene_pos) -> None:
        hit = self._locate_scene(scene_pos)
        if hit is None:
            self.hover_label.setText(" ")
            return
        channel, row, col = hit
        value = float(self._maps[row, col, channel])
        self.hover_label.setText(f"{self._item_name} #{channel}, row {row}, column {col}: "
                                 f"{self._value_name} {format_number(value, 4)}")

    def _on_mouse_clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        hit = self._locate_scene(event.scenePos())
        if hit is not None:
            self.select(hit[0])
            self.mapClicked.emit(*hit)
