"""My examples: the user's own examples by class, and "Teach the network my examples".

A thin view of ``ExamplesState``: thumbnails of the 28x28 inputs (the shared ThumbnailModel), a class
filter with the count of each class, delete, relabel, import (a folder of class sub-folders or an
exported archive), export; teaching shows its progress and Stop here (the Train tab shows the live
charts of the same run), then the accuracies before and after, side by side.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QStandardPaths, Qt, Slot
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QHeaderView, QLabel,
                               QListView,
                               QMenu, QProgressBar, QPushButton, QTableWidget, QTableWidgetItem, QToolButton,
                               QVBoxLayout, QWidget)

from cnn_desktop import config
from cnn_desktop.core.examples import HELD_OUT_SHARE
from cnn_desktop.gui.widgets.message_bar import MessageBar
from cnn_desktop.gui.widgets.thumbnail_delegate import ThumbnailDelegate
from cnn_desktop.gui.widgets.thumbnail_model import ThumbnailModel

ALL_CLASSES = -1


class ExamplesTab(QWidget):
    def __init__(self, examples_state, training_controller, parent=None):
        super().__init__(parent)
        self.examples_state, self.training_controller = examples_state, training_controller
        self._example_ids = np.zeros(0, np.int64)
        layout = QVBoxLayout(self)

        top = QHBoxLayout()
        self.class_filter = QComboBox(self)
        self.class_filter.setAccessibleName("Show examples of")
        self.class_filter.currentIndexChanged.connect(self.refresh)
        self.summary_label = QLabel(self)
        top.addWidget(QLabel("Show:", self))
        top.addWidget(self.class_filter)
        top.addWidget(self.summary_label, 1)
        layout.addLayout(top)

        self.grid = QListView(self)
        self.images_model = ThumbnailModel(self.grid)
        self.grid.setModel(self.images_model)
        self.grid.setItemDelegate(ThumbnailDelegate(self.grid, pixel_scale=3, marks=False))
        self.grid.setViewMode(QListView.ViewMode.ListMode)
        self.grid.setFlow(QListView.Flow.LeftToRight)
        self.grid.setWrapping(True)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.grid.setAccessibleName("Your examples")
        self.grid.selectionModel().selectionChanged.connect(self._update_buttons)
        layout.addWidget(self.grid, 1)

        actions = QHBoxLayout()
        self.delete_button = QPushButton("Delete", self)
        self.delete_button.clicked.connect(self.delete_selected)
        self.relabel_button = QToolButton(self)
        self.relabel_button.setText("Relabel as …")
        self.relabel_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        relabel_menu = QMenu(self.relabel_button)
        for label, name in enumerate(config.CLASS_NAMES):
            relabel_menu.addAction(name).triggered.connect(lambda _=False, chosen=label: self.relabel_selected(chosen))
        self.relabel_button.setMenu(relabel_menu)
        self.import_folder_button = QPushButton("Import folder…", self)
        self.import_folder_button.setToolTip("A folder with one sub-folder per class (“Ankle boot”, “sneakers”, "
                                             "“7” …) holding pictures")
        self.import_folder_button.clicked.connect(self._import_folder_dialog)
        self.import_archive_button = QPushButton("Import archive…", self)
        self.import_archive_button.clicked.connect(self._import_archive_dialog)
        self.export_button = QPushButton("Export archive…", self)
        self.export_button.clicked.connect(self._export_dialog)
        for button in (self.delete_button, self.relabel_button, self.import_folder_button,
                       self.import_archive_button, self.export_button):
            actions.addWidget(button)
        actions.addStretch(1)
        layout.addLayout(actions)

        teach_group = QGroupBox("Teach the network", self)
        teach_layout = QVBoxLayout(teach_group)
        explanation = QLabel(
            f"Keeps training the model in use on the official training set mixed with your examples (repeated so "
            f"that they count), gently, so it keeps what it knew. {HELD_OUT_SHARE:.0%} of each class's examples "
            f"are held out to show whether it learned your kind of picture. The Train tab shows the live charts.",
            teach_group)
        explanation.setWordWrap(True)
        teach_layout.addWidget(explanation)
        row = QHBoxLayout()
        self.teach_button = QPushButton("Teach the network my examples", teach_group)
        self.teach_button.clicked.connect(self.examples_state.teach)
        self.stop_button = QPushButton("Stop", teach_group)
        self.stop_button.clicked.connect(self.training_controller.stop)
        self.progress_bar = QProgressBar(teach_group)
        self.progress_bar.setAccessibleName("Teaching progress")
        row.addWidget(self.teach_button)
        row.addWidget(self.stop_button)
        row.addWidget(self.progress_bar, 1)
        teach_layout.addLayout(row)
        self.report_table = QTableWidget(2, 2, teach_group)
        self.report_table.setHorizontalHeaderLabels(["before", "after"])
        self.report_table.setVerticalHeaderLabels(["Official test set", "Your held-out examples"])
        self.report_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.report_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.report_table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.report_table.setMaximumHeight(  # two rows and the header, no empty space below
            self.report_table.horizontalHeader().sizeHint().height() + 2 * self.report_table.verticalHeader()
            .defaultSectionSize() + 2 * self.report_table.frameWidth())
        self.report_table.setAccessibleName("Accuracy before and after teaching")
        self.report_label = QLabel(teach_group)
        self.report_label.setWordWrap(True)
        teach_layout.addWidget(self.report_table)
        teach_layout.addWidget(self.report_label)
        layout.addWidget(teach_group)

        self.message_bar = MessageBar(self, dismissable=True, framed=True, accessible_name="Examples message")
        layout.addWidget(self.message_bar)

        examples_state.changed.connect(self.refresh)
        examples_state.message.connect(self.message_bar.show_message)
        examples_state.busyChanged.connect(self._update_buttons)
        examples_state.teachingStarted.connect(self._on_teaching_started)
        examples_state.teachingReported.connect(self.show_report)
        training_controller.progress.connect(self._on_progress)
        training_controller.busyChanged.connect(self._update_buttons)
        self.refresh()

    # ------------------------------------------------------------------ showing
    def shown_class(self) -> int:
        value = self.class_filter.currentData()
        return ALL_CLASSES if value is None else int(value)

    @Slot()
    def refresh(self) -> None:
        counts = self.examples_state.counts()
        shown = self.shown_class()
        self.class_filter.blockSignals(True)
        self.class_filter.clear()
        self.class_filter.addItem(f"All classes ({sum(counts)})", ALL_CLASSES)
        for label, name in enumerate(config.CLASS_NAMES):
            self.class_filter.addItem(f"{name} ({counts[label]})", label)
        self.class_filter.setCurrentIndex(max(0, self.class_filter.findData(shown)))
        self.class_filter.blockSignals(False)
        examples = self.examples_state.examples(None if shown == ALL_CLASSES else shown)
        self._example_ids = np.array([e.id for e in examples], np.int64)
        images = (np.stack([e.input for e in examples]) if examples
                  else np.zeros((0, config.IMAGE_SIZE, config.IMAGE_SIZE), np.uint8))
        self.images_model.set_images(images, np.array([e.label for e in examples], np.int64), source="example",
                                     captions=[e.original_name or e.source for e in examples])
        self.summary_label.setText(self.examples_state.error or (
            f"{sum(counts)} examples: " + ", ".join(f"{name} {count}" for name, count in
                                                     zip(config.CLASS_NAMES, counts) if count) if sum(counts)
            else "No examples yet: in Classify, “Wrong? It is a …” keeps the current image with its class."))
        self._update_buttons()

    def selected_ids(self) -> list[int]:
        rows = sorted(index.row() for index in self.grid.selectionModel().selectedIndexes())
        return [int(self._example_ids[row]) for row in rows]

    @Slot()
    def _update_buttons(self, *_args) -> None:
        selected = bool(self.grid.selectionModel().selectedIndexes())
        busy = self.examples_state.busy
        training = self.training_controller.is_training
        for button in (self.delete_button, self.relabel_button):
            button.setEnabled(selected)
        for button in (self.import_folder_button, self.import_archive_button):
            button.setEnabled(not busy)
        any_examples = sum(self.examples_state.counts()) > 0
        self.export_button.setEnabled(not busy and any_examples)
        self.teach_button.setEnabled(not busy and not training and any_examples)
        self.stop_button.setEnabled(training and self.examples_state.teaching)

    # ------------------------------------------------------------------ commands
    @Slot()
    def delete_selected(self) -> None:
        self.examples_state.delete(self.selected_ids())

    def relabel_selected(self, label: int) -> None:
        self.examples_state.relabel(self.selected_ids(), label)

    def _start_folder(self) -> str:
        return QStandardPaths.writableLocation(QStandardPaths.StandardLocation.PicturesLocation) or str(Path.home())

    @Slot()
    def _import_folder_dialog(self) -> None:
        dialog = QFileDialog(self, "Import a folder of class sub-folders", self._start_folder())
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.fileSelected.connect(self.examples_state.import_path)
        dialog.open()

    @Slot()
    def _import_archive_dialog(self) -> None:
        dialog = QFileDialog(self, "Import an examples archive", self._start_folder(), "Examples archives (*.zip)")
        dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
        dialog.fileSelected.connect(self.examples_state.import_path)
        dialog.open()

    @Slot()
    def _export_dialog(self) -> None:
        dialog = QFileDialog(self, "Export your examples", str(Path(self._start_folder()) / "my-examples.zip"),
                             "Examples archives (*.zip)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.setDefaultSuffix("zip")
        dialog.fileSelected.connect(self.examples_state.export_archive)
        dialog.open()

    # ------------------------------------------------------------------ teaching
    @Slot(object)
    def _on_teaching_started(self, plan) -> None:
        self.progress_bar.setValue(0)
        self.report_label.setText(f"Teaching with {len(plan.split.teach)} examples; {plan.split.description}.")
        self._update_buttons()

    @Slot(object)
    def _on_progress(self, event) -> None:
        if self.examples_state.teaching:
            total = max(1, event.epochs * event.steps)
            self.progress_bar.setMaximum(total)
            self.progress_bar.setValue(min(total, (event.epoch - 1) * event.steps + event.step))

    @Slot(object)
    def show_report(self, report) -> None:
        rows = ((report.official_before, report.official_after), (report.held_out_before, report.held_out_after))
        for row, (before, after) in enumerate(rows):
            self.report_table.setItem(row, 0, QTableWidgetItem(before.text()))
            self.report_table.setItem(row, 1, QTableWidgetItem(after.text() if after is not None else "-"))
        stopped = " (stopped early: use the Train tab's message to keep or discard it)" if report.status == \
            "cancelled" else ""
        self.report_label.setText(f"Taught with {report.taught} examples{stopped}; {report.held_out_description}.")
        self._update_buttons()
