"""The model's layers as a table, like the Keras summary: name, type, output shape, parameters, total.

Rows of layers that have feature maps (convolution, pooling and the 4-D batch
norm / activation layers) can be selected; dense layers and the like are listed
for the whole picture but greyed out.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from cnn_desktop.core.inference import LayerInfo

COLUMNS = ("Layer", "Type", "Output", "Params")
# Long Keras class names, shortened to keep the side panel narrow (the full name is in the tooltip).
SHORT_TYPES = {"BatchNormalization": "BatchNorm", "AveragePooling2D": "AvgPooling2D"}


def shape_text(shape: tuple) -> str:
    """Keras' (None, 28, 28, 32) as 28×28×32: the shape for one image, narrow enough for the side panel."""
    return "×".join(str(size) for size in shape if size is not None)


class LayerList(QTableWidget):
    layerSelected = Signal(str)  # name of a layer with feature maps

    def __init__(self, parent=None):
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.verticalHeader().setVisible(False)
        header = self.horizontalHeader()
        # Type, shape and parameters always fit; long layer names give way (elided in the middle, full in the tooltip).
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.horizontalHeaderItem(2).setToolTip("Output of the layer for one image (the Keras summary writes "
                                                "(None, 28, 28, 32): None stands for the batch size)")
        self.setAlternatingRowColors(True)
        self.setToolTip("Select a layer to see its feature maps (and its filters, for a convolution)")
        self._layers: list[LayerInfo] = []
        self._current: str | None = None  # the layer on show
        self.itemSelectionChanged.connect(self._on_selection_changed)

    @property
    def layers(self) -> list[LayerInfo]:
        return list(self._layers)

    def set_layers(self, layers: list[LayerInfo]) -> None:
        """Show ``layers`` plus a total row; the selection is cleared."""
        self.blockSignals(True)
        self.clearSelection()
        self._current = None
        self._layers = list(layers)
        self.setRowCount(len(self._layers) + 1)
        disabled = self.palette().color(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text)
        for row, info in enumerate(self._layers):
            texts = (info.name, SHORT_TYPES.get(info.type, info.type), shape_text(info.output_shape),
                     f"{info.params:,}")
            for column, text in enumerate(texts):
                item = QTableWidgetItem(text)
                if column == 3:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if info.has_feature_maps:
                    item.setToolTip(f"{info.name} ({info.type}): {info.output_shape[-1]} feature maps of "
                                    f"{info.output_shape[1]}×{info.output_shape[2]}")
                else:
                    # Listed for the summary, but there is nothing to draw as an image.
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                    item.setForeground(disabled)
                    item.setToolTip(f"{info.name} ({info.type}) outputs a vector, not feature maps")
                self.setItem(row, column, item)
        total_row = len(self._layers)
        bold = QFont(self.font())
        bold.setBold(True)
        total = sum(info.params for info in self._layers)
        for column, text in enumerate(("Total", "", "", f"{total:,}")):
            item = QTableWidgetItem(text)
            item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            item.setFont(bold)
            if column == 3:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.setItem(total_row, column, item)
        self.blockSignals(False)

    def select_layer(self, name: str) -> bool:
        """Select layer ``name`` (emits layerSelected); False if it has no feature maps or does not exist."""
        for row, info in enumerate(self._layers):
            if info.name == name and info.has_feature_maps:
                self.selectRow(row)
                return True
        return False

    def selected_layer(self) -> LayerInfo | None:
        rows = {index.row() for index in self.selectionModel().selectedRows()}
        for row in rows:
            if row < len(self._layers):
                return self._layers[row]
        return None

    def row_of(self, name: str) -> int:
        return next(row for row, info in enumerate(self._layers) if info.name == name)

    @Slot()
    def _on_selection_changed(self) -> None:
        info = self.selected_layer()
        if info is not None:
            self._current = info.name
            self.layerSelected.emit(info.name)
        elif self._current is not None:
            # A click on a row without maps (or the total) would leave nothing selected: keep the layer on show.
            self.blockSignals(True)
            self.selectRow(self.row_of(self._current))
            self.blockSignals(False)
