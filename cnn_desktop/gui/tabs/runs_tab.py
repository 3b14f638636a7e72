"""The Runs tab: every recorded training, compared.

A view of ``RunsState``: the table of runs (sortable, filtered), the selected
runs' curves overlaid on one chart, two selected runs' settings side by side;
buttons open a run's model as the model in use, rename, annotate and delete
runs, and export the table or the curves as CSV. When the run history cannot
be used, the reason is shown here; training goes on without recording.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QMessageBox, QPushButton, QSplitter, QVBoxLayout, QWidget

from cnn_desktop import config
from cnn_desktop.core.run_store import epochs_csv, legend_labels, runs_csv
from cnn_desktop.gui.widgets.message_bar import MessageBar
from cnn_desktop.gui.widgets.run_curves_chart import RunCurvesChart
from cnn_desktop.gui.widgets.run_diff_view import RunDiffView
from cnn_desktop.gui.widgets.run_table import RunTable

log = logging.getLogger(__name__)


class RunsTab(QWidget):
    def __init__(self, runs_state, model_state, controller, parent=None):
        super().__init__(parent)
        self.runs_state, self.model_state, self.controller = runs_state, model_state, controller
        self.delete_question: QMessageBox | None = None

        self.refresh_button = QPushButton("Re&fresh", self)
        self.refresh_button.setToolTip("Read the run history again (runs from the command line appear too)")
        self.open_button = QPushButton("&Use this run's model", self)
        self.open_button.setToolTip("Load the model file the selected run saved as the model in use")
        self.rename_button = QPushButton("Re&name", self)
        self.note_button = QPushButton("&Note", self)
        self.note_button.setToolTip("Write a note about the selected run (or double-click its Note cell)")
        self.delete_button = QPushButton("&Delete…", self)
        self.delete_button.setToolTip("Forget the selected runs and delete their files, after asking")
        self.export_table_button = QPushButton("Export &table…", self)
        self.export_table_button.setToolTip("Save the runs shown (after the filter) as a CSV file")
        self.export_curves_button = QPushButton("Export &curves…", self)
        self.export_curves_button.setToolTip("Save the per-epoch metrics of the selected runs (all runs shown "
                                             "when none is selected) as a CSV file")
        buttons = QHBoxLayout()
        for button in (self.refresh_button, self.open_button, self.rename_button, self.note_button,
                       self.delete_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_table_button)
        buttons.addWidget(self.export_curves_button)

        self.message = MessageBar(self, dismissable=True, framed=True)
        self.table = RunTable(self)
        self.chart = RunCurvesChart(self)
        self.diff = RunDiffView(self)
        bottom = QSplitter(Qt.Orientation.Horizontal, self)
        bottom.addWidget(self.chart)
        bottom.addWidget(self.diff)
        bottom.setStretchFactor(0, 1)
        bottom.setStretchFactor(1, 1)
        splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.addWidget(self.table)
        splitter.addWidget(bottom)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 2)

        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.message)
        layout.addWidget(splitter, 1)

        self.refresh_button.clicked.connect(self.runs_state.refresh)
        self.open_button.clicked.connect(self.open_selected_model)
        self.rename_button.clicked.connect(lambda: self._edit_selected("name"))
        self.note_button.clicked.connect(lambda: self._edit_selected("note"))
        self.delete_button.clicked.connect(self.ask_delete_selected)
        self.export_table_button.clicked.connect(self._export_table_dialog)
        self.export_curves_button.clicked.connect(self._export_curves_dialog)
        self.table.selectionChanged.connect(self._on_selection_changed)
        self.table.renameRequested.connect(self.runs_state.rename_run)
        self.table.noteRequested.connect(self.runs_state.set_note)
        self.runs_state.changed.connect(self._on_runs_changed)
        self.runs_state.failed.connect(lambda text: self.message.show_message(text, "critical"))
        controller.busyChanged.connect(self._update_buttons)
        self._on_runs_changed()

    # ------------------------------------------------------------------ showing
    @Slot()
    def _on_runs_changed(self) -> None:
        self.table.set_runs(self.runs_state.runs)
        if self.runs_state.error:
            self.message.show_message(f"{self.runs_state.error}. Training still works, but runs are not recorded "
                                      "until the run history can be used.", "critical")
        elif self.message.kind == "critical":
            self.message.clear()
        self._update_buttons()

    def selected_runs(self) -> list:
        runs = (self.runs_state.get_run(run_id) for run_id in self.table.selected_ids())
        return [run for run in runs if run is not None]

    @Slot(list)
    def _on_selection_changed(self, _ids) -> None:
        runs = self.selected_runs()
        self.chart.show_runs(runs, legend_labels(runs) if runs else {})
        self.diff.show_runs(runs)
        self._update_buttons()

    @Slot()
    def _update_buttons(self, *args) -> None:
        runs = self.selected_runs()
        one = len(runs) == 1
        self.open_button.setEnabled(one and bool(runs[0].model_path) and not self.controller.is_training)
        self.rename_button.setEnabled(one)
        self.note_button.setEnabled(one)
        self.delete_button.setEnabled(bool(runs))
        self.export_table_button.setEnabled(bool(self.runs_state.runs))
        self.export_curves_button.setEnabled(bool(self.runs_state.runs))

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.runs_state.refresh()  # runs made meanwhile by the command line

    # ------------------------------------------------------------------ actions
    def _edit_selected(self, field: str) -> None:
        runs = self.selected_runs()
        if len(runs) == 1:
            self.table.edit_field(runs[0].id, field)

    @Slot()
    def open_selected_model(self) -> bool:
        """Load the selected run's model file as the model in use (in the background)."""
        runs = self.selected_runs()
        if len(runs) != 1:
            return False
        run = runs[0]
        if self.controller.is_training:
            self.message.show_message("Stop the training before using another model.", "information")
            return False
        if not run.model_path:
            self.message.show_message(f"Run #{run.id} saved no model file: save a trained model to keep it.",
                                      "information")
            return False
        path = Path(run.model_path)
        if not path.is_file():
            self.message.show_message(f"Run #{run.id}'s model file {path} is no longer there.", "warning")
            return False
        self.model_state.load(path)
        self.message.show_message(f"Loading run #{run.id}'s model {path.name} as the model in use…", "information")
        return True

    @Slot()
    def ask_delete_selected(self) -> QMessageBox | None:
        """Ask (without blocking) whether to delete the selected runs with their files; delete on Yes."""
        runs = self.selected_runs()
        if not runs:
            return None
        names = ", ".join(f"#{run.id} {run.name}" for run in runs[:5]) + (" …" if len(runs) > 5 else "")
        with_models = sum(1 for run in runs if run.model_path)
        files = f" and {with_models} saved model file{'s' if with_models != 1 else ''}" if with_models else ""
        box = QMessageBox(QMessageBox.Icon.Question, "Delete runs",
                          f"Delete {len(runs)} run{'s' if len(runs) != 1 else ''} ({names}) with their curves"
                          f"{files}? This cannot be undone.",
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.setWindowModality(Qt.WindowModality.WindowModal)
        ids = [run.id for run in runs]
        box.finished.connect(lambda _result: self._on_delete_answer(box, ids))
        self.delete_question = box
        box.open()
        return box

    def _on_delete_answer(self, box: QMessageBox, ids: list[int]) -> None:
        self.delete_question = None
        if box.standardButton(box.clickedButton()) != QMessageBox.StandardButton.Yes:
            return
        deleted = sum(1 for run_id in ids if self.runs_state.delete_run(run_id))
        if deleted:
            self.message.show_message(f"Deleted {deleted} run{'s' if deleted != 1 else ''}.", "information")

    def _export_dialog(self, title: str, stem: str) -> Path | None:
        start = Path(config.user_models_dir()).parent / f"{stem}.csv"
        path, _ = QFileDialog.getSaveFileName(self, title, str(start), "CSV files (*.csv)")
        if not path:
            return None
        path = Path(path)
        return path if path.suffix.lower() == ".csv" else path.with_name(path.name + ".csv")

    @Slot()
    def _export_table_dialog(self) -> None:
        path = self._export_dialog("Export the runs table", "runs")
        if path is not None:
            self.export_table(path)

    @Slot()
    def _export_curves_dialog(self) -> None:
        path = self._export_dialog("Export the curves", "run-curves")
        if path is not None:
            self.export_curves(path)

    def export_table(self, path: Path | str) -> bool:
        """The runs the filter shows, one row each, as CSV (the columns of ``cnn-desktop runs export``)."""
        runs = [self.runs_state.get_run(run_id) for run_id in self.table.visible_ids()]
        return self._write(Path(path), runs_csv([run for run in runs if run is not None]), "runs table")

    def export_curves(self, path: Path | str) -> bool:
        """The selected runs' epochs (every run shown when none is selected) as CSV."""
        runs = self.selected_runs() or [self.runs_state.get_run(run_id) for run_id in self.table.visible_ids()]
        return self._write(Path(path), epochs_csv([run for run in runs if run is not None]), "curves")

    def _write(self, path: Path, text: str, what: str) -> bool:
        from cnn_desktop.core.model_io import atomic_write_bytes

        try:
            atomic_write_bytes(path, text.encode("utf-8"))
        except OSError as exc:
            self.message.show_message(f"The {what} could not be saved to {path}: {exc.strerror or exc}.", "critical")
            return False
        self.message.show_message(f"Saved the {what} to {path}.", "information")
        return True

    def stop_and_wait(self) -> None:
        """The window is closing: nothing runs in the background here."""
