"""Runs side by side: every setting and layer of their designs, the ones that differ marked.

The rows are the core's ``run_settings`` (recipe, seed, then the design layer by
layer, then the parameter count) and a few results; a row whose values differ
is in bold on a highlighted background, so the difference is seen at a glance.
"""

from __future__ import annotations

from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (QAbstractItemView, QCheckBox, QHBoxLayout, QHeaderView, QLabel, QTableWidget,
                               QTableWidgetItem, QVBoxLayout, QWidget)

from cnn_desktop.core.run_store import run_settings

EMPTY_CAPTION = "Select two or more runs to compare their designs and settings side by side."
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
    """Runs in columns, settings in rows; "Only differences" hides the rows that are the same for all."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.caption = QLabel(EMPTY_CAPTION, self)
        self.caption.setWordWrap(True)
        self.only_differences = QCheckBox("Only differences", self)
        self.only_differences.setToolTip("Hide the settings that are the same in every run compared")
        self.only_differences.toggled.connect(self._apply_filter)
        self.table = QTableWidget(0, 1, self)
        self.table.setHorizontalHeaderLabels(["Setting"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)  # a layer's options are long: wrapped, not cut
        self.table.hide()
        top = QHBoxLayout()
        top.addWidget(self.caption, 1)
        top.addWidget(self.only_differences)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.table, 1)
        self.differing: list[str] = []  # names of the rows whose values differ

    def show_runs(self, runs) -> None:
        """Compare two or more core ``Run`` objects side by side; fewer clears the view."""
        runs = list(runs)
        self.table.setRowCount(0)
        self.differing = []
        if len(runs) < 2:
            self.caption.setText(EMPTY_CAPTION)
            self.table.hide()
            return
        self.table.setColumnCount(1 + len(runs))
        self.table.setHorizontalHeaderLabels(["Setting", *(f"#{run.id} {run.name}" for run in runs)])
        for column, run in enumerate(runs, start=1):
            self.table.horizontalHeaderItem(column).setToolTip(f"#{run.id} {run.name}")
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        for column in range(1, 1 + len(runs)):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.Stretch)
        values = [{**run_settings(run), **_results(run)} for run in runs]
        names: list[str] = []
        for one in values:
            names.extend(name for name in one if name not in names)
        bold = QFont(self.font())
        bold.setBold(True)
        for name in names:
            row = self.table.rowCount()
            self.table.insertRow(row)
            differs = len({repr(one.get(name)) for one in values}) > 1
            for column, text in enumerate([name, *(_text(one.get(name)) for one in values)]):
                item = QTableWidgetItem(text.replace("(", "(\u200b"))  # a layer may wrap after its type
                item.setToolTip(text)
                if differs:
                    item.setFont(bold)
                    item.setBackground(QBrush(DIFFERENT_BACKGROUND))
                self.table.setItem(row, column, item)
            if differs:
                self.differing.append(name)
        self.table.show()
        self._apply_filter()
        self.table.resizeRowsToContents()
        count = len(self.differing)
        self.caption.setText(f"{len(runs)} runs side by side: {count} difference{'s' if count != 1 else ''}, "
                             f"in bold." if count else f"These {len(runs)} runs have the same settings and results.")

    def _apply_filter(self, *args) -> None:
        hide_same = self.only_differences.isChecked()
        for row in range(self.table.rowCount()):
            self.table.setRowHidden(row, hide_same and self.table.item(row, 0).text() not in self.differing)
