"""The live summary of a network design: each layer's output shape, parameters and multiply-adds, and the total.

What the Keras summary shows, computed by the core's ``analyze()`` without
building the model, so it follows every edit at once. The input row is first,
the fixed output layer last, the totals in bold below.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

from cnn_desktop import config

HEADERS = ("#", "Layer", "Type", "Output shape", "Parameters", "Multiply-adds")


def shape_text(shape) -> str:
    return "×".join(str(size) for size in shape)


def count_text(count: int) -> str:
    """1,234 below a million, then 1.2 M, 3.4 G: readable at a glance."""
    if count >= 1_000_000_000:
        return f"{count / 1e9:.2f} G"
    if count >= 1_000_000:
        return f"{count / 1e6:.2f} M"
    return f"{count:,}"


class DesignTable(QTableWidget):
    def __init__(self, parent=None):
        super().__init__(0, len(HEADERS), parent)
        self.setHorizontalHeaderLabels(HEADERS)
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)

    def _add_row(self, values, *, bold: bool = False, tip: str = "") -> None:
        row = self.rowCount()
        self.insertRow(row)
        font = QFont(self.font())
        font.setBold(bold)
        for column, text in enumerate(values):
            item = QTableWidgetItem(text)
            item.setFont(font)
            if column >= 4 or column == 0:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            if tip:
                item.setToolTip(tip)
            self.setItem(row, column, item)

    def show_analysis(self, analysis) -> None:
        """Fill the table from a core ``DesignAnalysis`` (rows stop at the first problem)."""
        self.setRowCount(0)
        self._add_row(("", "image", "Input", shape_text(config.INPUT_SHAPE), "0", "0"))
        for row in analysis.rows:
            position = "out" if row.position is None else str(row.position)
            tip = "The output layer: 10 logits, one per class (fixed)" if row.position is None else ""
            self._add_row((position, row.name, row.type, shape_text(row.output_shape), f"{row.params:,}",
                           count_text(row.macs)), tip=tip)
        if analysis.ok:
            self._add_row(("", "Total", "", "", f"{analysis.total_params:,}", count_text(analysis.macs_per_image)),
                          bold=True)
        else:
            self._add_row(("", "The design stops here", "", "", "", ""), bold=True,
                          tip="The layers after this point cannot be built: see the reason below")

    def column_texts(self, column: int) -> list[str]:
        return [self.item(row, column).text() for row in range(self.rowCount())]
