"""The Design tab: the network editor.

A view of ``DesignState``. On the left, where the design starts (a preset or
scratch), its name, its layers (add, remove, move up or down) and the options
of the selected layer; on the right, the live table of output shapes,
parameters and multiply-adds, the reason a design cannot work, the expected
time per epoch, and the buttons to load, save and train the design. Training
uses the recipe (epochs, batch size, learning rate, images) set in the Train
tab: ``trainRequested`` asks the window to start it there.
"""

from __future__ import annotations

import logging
from pathlib import Path

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget,
                               QListWidgetItem, QPushButton, QSplitter, QStyle, QVBoxLayout, QWidget)

from cnn_desktop import config
from cnn_desktop.core.design import DESIGN_SUFFIX, LAYER_TYPES
from cnn_desktop.core.formatting import format_duration
from cnn_desktop.core.model import PRESET_NAMES
from cnn_desktop.gui.widgets.design_table import DesignTable, count_text
from cnn_desktop.gui.widgets.layer_editor import LayerEditor
from cnn_desktop.gui.widgets.message_bar import MessageBar

log = logging.getLogger(__name__)

SCRATCH = "scratch"


def layer_caption(position: int, layer: dict) -> str:
    """One line per layer in the list: "3. Conv2D 64 × 3×3, stride 1, same, relu"."""
    kind = layer["type"]
    if kind == "Conv2D":
        size = layer["kernel_size"]
        details = f"{layer['filters']} × {size}×{size}, stride {layer['strides']}, {layer['padding']}, " \
                  f"{layer['activation']}"
    elif kind in ("MaxPooling2D", "AveragePooling2D"):
        size = layer["pool_size"]
        details = f"{size}×{size}, stride {layer['strides']}, {layer['padding']}"
    elif kind == "Dense":
        details = f"{layer['units']} units, {layer['activation']}"
    elif kind == "Dropout":
        details = f"rate {layer['rate']:g}"
    elif kind == "Activation":
        details = layer["activation"]
    else:
        details = ""
    return f"{position}. {kind}" + (f"  {details}" if details else "")


class DesignTab(QWidget):
    trainRequested = Signal(object)  # core Design: train it with the Train tab's recipe

    def __init__(self, design_state, controller, data_state, parent=None):
        super().__init__(parent)
        self.state, self.controller, self.data_state = design_state, controller, data_state

        # -- where to start
        self.start_combo = QComboBox(self)
        self.start_combo.addItem("an empty network", SCRATCH)
        for name in PRESET_NAMES:
            self.start_combo.addItem(f"the {name} preset", name)
        self.start_button = QPushButton("&New design", self)
        self.start_button.setToolTip("Replace the design with the chosen starting point")
        self.name_edit = QLineEdit(self)
        self.name_edit.setMaxLength(100)
        self.name_edit.setToolTip("The design's name (the run and model are named after it)")
        self.origin_label = QLabel(self)  # where the design came from: a preset, scratch or a file
        self.origin_label.setWordWrap(True)

        # -- the layers
        self.layer_list = QListWidget(self)
        self.layer_list.setToolTip("The layers between the 28×28 input and the fixed output layer (10 logits); "
                                   "drag a layer to move it")
        self.layer_list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.add_combo = QComboBox(self)
        for layer_type in LAYER_TYPES:
            self.add_combo.addItem(layer_type)
        self.add_button = QPushButton("&Add", self)
        self.add_button.setToolTip("Insert a layer of this type after the selected one")
        self.remove_button = QPushButton("&Remove", self)
        self.up_button = QPushButton(self)
        self.up_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowUp))
        self.up_button.setToolTip("Move the selected layer up")
        self.down_button = QPushButton(self)
        self.down_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_ArrowDown))
        self.down_button.setToolTip("Move the selected layer down")
        self.layer_editor = LayerEditor(self)

        start_row = QHBoxLayout()
        start_row.addWidget(QLabel("Start from", self))
        start_row.addWidget(self.start_combo, 1)
        start_row.addWidget(self.start_button)
        name_row = QHBoxLayout()
        name_row.addWidget(QLabel("Name", self))
        name_row.addWidget(self.name_edit, 1)
        edit_row = QHBoxLayout()
        for widget in (self.add_combo, self.add_button, self.remove_button, self.up_button, self.down_button):
            edit_row.addWidget(widget)
        layers_box = QGroupBox("Layers (the output layer, Dense 10 logits, is always last)", self)
        layers_layout = QVBoxLayout(layers_box)
        layers_layout.addWidget(self.layer_list, 1)
        layers_layout.addLayout(edit_row)
        left = QWidget(self)
        left_layout = QVBoxLayout(left)
        left_layout.addLayout(start_row)
        left_layout.addLayout(name_row)
        left_layout.addWidget(self.origin_label)
        left_layout.addWidget(layers_box, 1)
        left_layout.addWidget(self.layer_editor)

        # -- the summary
        self.table = DesignTable(self)
        self.problems = MessageBar(self, framed=True, accessible_name="design problems")
        self.cost_label = QLabel(self)
        self.cost_label.setWordWrap(True)
        self.cost_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.measure_button = QPushButton("&Measure speed", self)
        self.measure_button.setToolTip("Train a few batches of this design (a few seconds) to know its speed here")
        self.message = MessageBar(self, dismissable=True)
        self.load_button = QPushButton("&Load design…", self)
        self.save_button = QPushButton("&Save design…", self)
        self.train_button = QPushButton("&Train this design", self)
        self.train_button.setIcon(self.style().standardIcon(QStyle.StandardPixmap.SP_MediaPlay))
        self.train_button.setToolTip("Train it with the recipe set in the Train tab (epochs, batch size, "
                                     "learning rate, images)")
        cost_row = QHBoxLayout()
        cost_row.addWidget(self.cost_label, 1)
        cost_row.addWidget(self.measure_button, 0, Qt.AlignmentFlag.AlignTop)
        file_row = QHBoxLayout()
        file_row.addWidget(self.load_button)
        file_row.addWidget(self.save_button)
        file_row.addStretch(1)
        file_row.addWidget(self.train_button)
        right = QWidget(self)
        right_layout = QVBoxLayout(right)
        right_layout.addWidget(QLabel("What each layer makes of a 28×28 image (as the Keras summary shows it):", self))
        right_layout.addWidget(self.table, 1)
        right_layout.addWidget(self.problems)
        right_layout.addLayout(cost_row)
        right_layout.addWidget(self.message)
        right_layout.addLayout(file_row)

        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        splitter.setCollapsible(0, False)
        layout = QHBoxLayout(self)
        layout.addWidget(splitter)

        self.start_button.clicked.connect(self._on_start_clicked)
        self.name_edit.editingFinished.connect(self._on_name_edited)
        self.layer_list.currentRowChanged.connect(self._show_selected_layer)
        self.layer_list.model().rowsMoved.connect(self._on_layer_dragged)
        self.add_button.clicked.connect(self.add_layer)
        self.remove_button.clicked.connect(self.remove_layer)
        self.up_button.clicked.connect(lambda: self.move_layer(-1))
        self.down_button.clicked.connect(lambda: self.move_layer(1))
        self.layer_editor.layerEdited.connect(self._on_layer_edited)
        self.measure_button.clicked.connect(self.state.measure_speed)
        self.load_button.clicked.connect(self._load_dialog)
        self.save_button.clicked.connect(self._save_dialog)
        self.train_button.clicked.connect(self.train_design)
        self.state.changed.connect(self._on_design_changed)
        self.state.failed.connect(lambda text: self.message.show_message(text[:1].upper() + text[1:], "warning"))
        self.state.busyChanged.connect(self._update_controls)
        self.state.throughputChanged.connect(self._show_cost)
        controller.busyChanged.connect(self._update_controls)
        data_state.loaded.connect(self._update_controls)
        self._on_design_changed()

    # ------------------------------------------------------------------ showing
    @Slot()
    def _on_design_changed(self) -> None:
        design = self.state.design
        if self.message.text().startswith("Reading the layers"):
            self.message.clear()
        row = self.layer_list.currentRow()
        if self.name_edit.text() != design.name:
            self.name_edit.setText(design.name)
        origin = f"from the file {self.state.path.name}" if self.state.path else (
            f"based on the {design.based_on} preset" if design.based_on else "started from an empty network")
        self.origin_label.setText(f"{len(design.layers)} layer{'s' if len(design.layers) != 1 else ''}, {origin}.")
        self.layer_list.blockSignals(True)
        self.layer_list.clear()
        for position, layer in enumerate(design.layers, start=1):
            QListWidgetItem(layer_caption(position, layer), self.layer_list)
        self.layer_list.blockSignals(False)
        self.select_layer(min(row, len(design.layers) - 1) if row >= 0 else -1)
        analysis = self.state.analysis
        self.table.show_analysis(analysis)
        if analysis.ok:
            self.problems.clear()
        else:
            self.problems.show_message("This design cannot be trained. " + " ".join(
                problem[:1].upper() + problem[1:] + "." for problem in analysis.problems), "critical")
        self._show_cost()
        self._update_controls()

    def select_layer(self, position: int) -> None:
        """Select the layer at ``position`` (0-based; -1: none) and show its options."""
        self.layer_list.setCurrentRow(position)
        self._show_selected_layer(position)

    @Slot(int)
    def _show_selected_layer(self, position: int) -> None:
        layers = self.state.design.layers
        if 0 <= position < len(layers):
            self.layer_editor.set_layer(layers[position], position + 1)
        else:
            self.layer_editor.set_layer(None)
        self._update_controls()

    @Slot()
    def _show_cost(self) -> None:
        analysis = self.state.analysis
        if not analysis.ok:
            self.cost_label.setText("Fix the design to see its cost.")
            return
        text = (f"{analysis.total_params:,} parameters · {count_text(analysis.macs_per_image)} multiply-adds "
                f"per image.")
        seconds, source = self.state.epoch_seconds(config.TRAIN_SIZE)
        if seconds is None:
            text += " Expected time per epoch: not known yet (measure the speed, or train any network once)."
        else:
            text += (f" Expected time per epoch of {config.TRAIN_SIZE:,} images on this machine: about "
                     f"{format_duration(seconds)} ({source}).")
        self.cost_label.setText(text)

    @Slot()
    def _update_controls(self, *args) -> None:
        count = len(self.state.design.layers)
        row = self.layer_list.currentRow()
        busy = self.state.busy
        ok = self.state.analysis.ok
        self.start_button.setEnabled(not busy)
        self.remove_button.setEnabled(0 <= row < count)
        self.up_button.setEnabled(0 < row < count)
        self.down_button.setEnabled(0 <= row < count - 1)
        self.measure_button.setEnabled(ok and not busy)
        self.measure_button.setText("Measuring…" if busy and ok else "&Measure speed")
        can_train = ok and not self.controller.is_training and self.data_state.dataset is not None
        self.train_button.setEnabled(can_train)
        if not ok:
            self.train_button.setToolTip("This design cannot be trained: see the reason under the table")
        elif self.controller.is_training:
            self.train_button.setToolTip("A training is under way: stop it in the Train tab first")
        else:
            self.train_button.setToolTip("Train it with the recipe set in the Train tab (epochs, batch size, "
                                         "learning rate, images)")

    # ------------------------------------------------------------------ editing
    @Slot()
    def _on_start_clicked(self) -> None:
        choice = self.start_combo.currentData()
        self.message.clear()
        if choice == SCRATCH:
            self.state.start_from_scratch()
        else:
            self.message.show_message(f"Reading the layers of the {choice} preset…", "information")
            self.state.start_from_preset(choice)

    @Slot()
    def _on_name_edited(self) -> None:
        name = self.name_edit.text()
        if name != self.state.design.name and not self.state.rename(name):
            self.name_edit.setText(self.state.design.name)

    @Slot()
    def add_layer(self, layer_type: str | None = None) -> None:
        """Insert a layer of ``layer_type`` (the chosen one) after the selected layer, and select it."""
        layer_type = layer_type or self.add_combo.currentText()
        row = self.layer_list.currentRow()
        position = self.state.add_layer(layer_type, row + 1 if row >= 0 else None)
        if position >= 0:
            self.select_layer(position)

    @Slot()
    def remove_layer(self) -> None:
        row = self.layer_list.currentRow()
        if self.state.remove_layer(row):
            self.select_layer(min(row, len(self.state.design.layers) - 1))

    def move_layer(self, offset: int) -> None:
        row = self.layer_list.currentRow()
        self.select_layer(self.state.move_layer(row, offset))

    def _on_layer_dragged(self, _parent, first: int, last: int, _destination, row: int) -> None:
        """A layer dragged to another place in the list: the design follows (after the drop has ended)."""
        layers = self.state.layers()
        moved = layers[first:last + 1]
        del layers[first:last + 1]
        target = row if row <= first else row - len(moved)
        layers[target:target] = moved
        QTimer.singleShot(0, lambda: self.state.set_layers(layers) and self.select_layer(target))

    @Slot(dict)
    def _on_layer_edited(self, layer: dict) -> None:
        row = self.layer_list.currentRow()
        if not self.state.update_layer(row, layer):
            self._show_selected_layer(row)  # the core refused the value: show the layer as it is

    # ------------------------------------------------------------------ files and training
    def _design_folder(self) -> Path:
        return self.state.path.parent if self.state.path else config.user_models_dir().parent / "designs"

    @Slot()
    def _load_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load a design", str(self._design_folder()),
                                              f"Designs (*{DESIGN_SUFFIX});;All files (*)")
        if path and self.state.load(path):
            self.message.show_message(f"Loaded the design from {path}.", "information")

    @Slot()
    def _save_dialog(self) -> None:
        folder = self._design_folder()
        folder.mkdir(parents=True, exist_ok=True)
        start = self.state.path or folder / f"{self.state.design.name}{DESIGN_SUFFIX}"
        path, _ = QFileDialog.getSaveFileName(self, "Save the design", str(start), f"Designs (*{DESIGN_SUFFIX})")
        if not path:
            return
        path = Path(path)
        if path.suffix != DESIGN_SUFFIX:
            path = path.with_name(path.name + DESIGN_SUFFIX)
        if self.state.save(path):
            self.message.show_message(f"Saved the design to {path}.", "information")

    @Slot()
    def train_design(self) -> bool:
        """Ask for the design to be trained (refused while it cannot work); True when asked."""
        self._on_name_edited()
        if not self.state.analysis.ok or self.controller.is_training:
            return False
        self.trainRequested.emit(self.state.design)
        return True

    def stop_and_wait(self) -> None:
        self.state.stop_and_wait()
