"""The table of recorded runs: sortable by any column, filtered by a line of text, name and note editable in place.

Rows come from the core's ``run_table_row`` (the same fields ``runs export``
writes). Sorting uses the raw values (numbers as numbers, empty last), the
filter matches any column's text, case-insensitively. Editing a name or note
does not change the table itself: it asks (``renameRequested`` /
``noteRequested``) and the table is refilled from the history afterwards.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt, Signal, Slot
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QLineEdit, QTableView, QVBoxLayout, QWidget

from cnn_desktop.core.formatting import format_duration
from cnn_desktop.core.run_store import run_table_row

# (field of run_table_row, header, how the value is shown)
COLUMNS = (
    ("id", "#", str),
    ("name", "Name", str),
    ("status", "Status", str),
    ("started_at", "Started", lambda value: value.replace("T", " ")[:16]),
    ("preset", "Recipe", str),
    ("design_name", "Network", str),
    ("epochs", "Epochs", str),
    ("batch_size", "Batch", str),
    ("learning_rate", "Learning rate", lambda value: f"{value:g}"),
    ("seed", "Seed", str),
    ("parameters", "Parameters", lambda value: f"{value:,}"),
    ("final_val_accuracy", "Val. accuracy", lambda value: f"{value:.2%}"),
    ("test_accuracy", "Test accuracy", lambda value: f"{value:.2%}"),
    ("duration_seconds", "Time", format_duration),
    ("images_per_second", "Images/s", lambda value: f"{value:,.0f}"),
    ("note", "Note", str),
)
FIELDS = tuple(column[0] for column in COLUMNS)
EDITABLE = {"name", "note"}
RUN_ID_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2


class RunTableModel(QAbstractTableModel):
    renameRequested = Signal(int, str)
    noteRequested = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self._rows: list[dict] = []

    def set_runs(self, runs) -> None:
        self.beginResetModel()
        self._rows = [run_table_row(run) for run in runs]
        self.endResetModel()

    def run_id(self, row: int) -> int:
        return self._rows[row]["id"]

    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][1]
        return None

    def flags(self, index):
        flags = super().flags(index)
        if FIELDS[index.column()] in EDITABLE:
            flags |= Qt.ItemFlag.ItemIsEditable
        return flags

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        field, _header, show = COLUMNS[index.column()]
        value = row[field]
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if role == Qt.ItemDataRole.EditRole or value is None or value == "":
                return "" if value is None else str(value)
            return show(value)
        if role == SORT_ROLE:
            return value
        if role == RUN_ID_ROLE:
            return row["id"]
        if role == Qt.ItemDataRole.TextAlignmentRole and isinstance(value, (int, float)):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ToolTipRole and field in ("name", "note", "status") and value:
            return str(value)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole) -> bool:
        field = FIELDS[index.column()]
        if role != Qt.ItemDataRole.EditRole or field not in EDITABLE:
            return False
        text = str(value).strip() if field == "name" else str(value)
        row = self._rows[index.row()]
        if text == (row[field] or "") or (field == "name" and not text):
            return False
        (self.renameRequested if field == "name" else self.noteRequested).emit(row["id"], text)
        return True


class RunSortFilterProxy(QSortFilterProxyModel):
    """Sorts by raw values (numbers numerically, empty cells last), filters on every column's text."""

    def lessThan(self, left, right) -> bool:
        a, b = left.data(SORT_ROLE), right.data(SORT_ROLE)
        if a is None or a == "":
            return False
        if b is None or b == "":
            return True
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            return a < b
        return str(a).lower() < str(b).lower()


class RunTable(QWidget):
    """A filter line over a sortable table of runs; ``selectionChanged`` gives the selected runs' ids."""

    selectionChanged = Signal(list)
    renameRequested = Signal(int, str)
    noteRequested = Signal(int, str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.filter_edit = QLineEdit(self)
        self.filter_edit.setPlaceholderText("Filter runs: any text in any column (name, status, recipe, note…)")
        self.filter_edit.setClearButtonEnabled(True)
        self.model = RunTableModel(self)
        self.proxy = RunSortFilterProxy(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.view = QTableView(self)
        self.view.setModel(self.proxy)
        self.view.setSortingEnabled(True)
        self.view.sortByColumn(0, Qt.SortOrder.DescendingOrder)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.view.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked
                                  | QAbstractItemView.EditTrigger.EditKeyPressed)
        self.view.setAlternatingRowColors(True)
        self.view.verticalHeader().hide()
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.setToolTip("Select several runs to compare them; double-click a name or note to edit it")
        self.view.selectionModel().selectionChanged.connect(self._on_selection_changed)
        self.model.renameRequested.connect(self.renameRequested)
        self.model.noteRequested.connect(self.noteRequested)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.view, 1)

    def set_runs(self, runs) -> None:
        """Show ``runs``, keeping the selection of the runs still there."""
        selected = self.selected_ids()
        blocker = self.view.selectionModel().blockSignals(True)
        self.model.set_runs(runs)
        self.select_ids(selected)
        self.view.selectionModel().blockSignals(blocker)
        self.view.resizeColumnsToContents()
        for column, (field, _header, _show) in enumerate(COLUMNS):  # long names and notes must not hide the rest
            if field in ("name", "note") and self.view.columnWidth(column) > 260:
                self.view.setColumnWidth(column, 260)
        self._on_selection_changed()

    def selected_ids(self) -> list[int]:
        """The selected runs' ids, top to bottom as shown."""
        rows = sorted(index.row() for index in self.view.selectionModel().selectedRows())
        return [self.proxy.index(row, 0).data(RUN_ID_ROLE) for row in rows]

    def visible_ids(self) -> list[int]:
        """The runs the filter lets through, in the order shown."""
        return [self.proxy.index(row, 0).data(RUN_ID_ROLE) for row in range(self.proxy.rowCount())]

    def select_ids(self, run_ids) -> None:
        from PySide6.QtCore import QItemSelection, QItemSelectionModel

        wanted = set(run_ids)
        selection = QItemSelection()
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(RUN_ID_ROLE) in wanted:
                selection.select(self.proxy.index(row, 0), self.proxy.index(row, self.proxy.columnCount() - 1))
        self.view.selectionModel().select(selection, QItemSelectionModel.SelectionFlag.ClearAndSelect)

    def edit_field(self, run_id: int, field: str) -> None:
        """Start editing the run's name or note in place."""
        column = FIELDS.index(field)
        for row in range(self.proxy.rowCount()):
            if self.proxy.index(row, 0).data(RUN_ID_ROLE) == run_id:
                index = self.proxy.index(row, column)
                self.view.setCurrentIndex(index)
                self.view.edit(index)
                return

    @Slot()
    def _on_selection_changed(self, *args) -> None:
        self.selectionChanged.emit(self.selected_ids())
