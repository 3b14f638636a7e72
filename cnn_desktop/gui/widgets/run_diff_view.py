"""Two runs side by side: every setting and layer of their designs, the ones that differ marked.

The rows are the core's ``run_settings`` (recipe, seed, then the design layer by
layer, then the parameter count) and a few results; a row whose values differ
is in bold on a highlighted background, so the difference is seen at a glance.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLabel, QTableWidget, QTableWidgetItem, QVBoxLayout, QWidget

from cnn_desktop.core.run_store import run_settings

DIFFERENT_BACKGROUND = QColor(242, 142, 43, 60)  # the charts' orange, faint: readable on light and dark themes


def _results(run) -> dict[str, object]:
    return {
        "status": run.status,
        "epochs done": run.epochs_done,
        "final validation accuracy": None if run.final_val_accuracy is None else f"{run.final_val_accuracy:.2%}",
        "test accuracy": None if run.test_accuracy is None else f"{run.test_accuracy:.2%}",
        "images per second": None if run.images_per_second is None else f"{run.images_per_second:,.0f}",
    }


def _text(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


class RunDiffView(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.caption = QLabel("Select two runs to compare their designs and settings side by side.", self)
        self.caption.setWordWrap(True)
        self.table = QTableWidget(0, 3, self)
        self.table.setHorizontalHeaderLabels(["Setting", "", ""])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.table, 1)
        self.differing: list[str] = []  # names of the rows whose values differ

    def show_runs(self, first, second) -> None:
        """Compare two core ``Run`` objects; None clears the view."""
        self.table.setRowCount(0)
        self.differing = []
        if first is None or second is None:
            self.caption.setText("Select two runs to compare their designs and settings side by side.")
            self.table.setHorizontalHeaderLabels(["Setting", "", ""])
            return
        self.table.setHorizontalHeaderLabels(["Setting", f"#{first.id} {first.name}", f"#{second.id} {second.name}"])
        a = {**run_settings(first), **_results(first)}
        b = {**run_settings(second), **_results(second)}
        names = list(a) + [name for name in b if name not in a]
        bold = QFont(self.font())
        bold.setBold(True)
        for name in names:
            row = self.table.rowCount()
            self.table.insertRow(row)
            values = (name, _text(a.get(name)), _text(b.get(name)))
            differs = a.get(name) != b.get(name)
            for column, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(text)
                if differs:
                    item.setFont(bold)
                    item.setBackground(QBrush(DIFFERENT_BACKGROUND))
                self.table.setItem(row, column, item)
            if differs:
                self.differing.append(name)
        count = len(self.differing)
        self.caption.setText(f"{count} difference{'s' if count != 1 else ''}, in bold." if count
                             else "These two runs have the same settings and results.")
