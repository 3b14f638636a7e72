"""The Design tab (network editor) offscreen: real core designs, real Keras for the presets and the parameter counts,
real files, and a design trained end to end from the editor in the real window (recorded in the run history).
"""

from __future__ import annotations

import json

import pytest
from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QSpinBox

from cnn_desktop.core.design import LAYER_TYPES, build_design_model, design_from_preset, make_design
from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.design_state import DesignState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.state.runs_state import RunsState
from cnn_desktop.gui.state.training_controller import TrainingController
from cnn_desktop.gui.tabs.design_tab import DesignTab

TRAINING_TIMEOUT_MS = 180_000


@pytest.fixture
def tab(qtbot, tmp_path):
    create_application()
    runs_state = RunsState(tmp_path / "runs")
    state = DesignState(runs_state)
    data_state = DataState()  # not loaded: "Train this design" waits for the dataset
    controller = TrainingController(ModelState(), data_state)
    tab = DesignTab(state, controller, data_state)
    qtbot.addWidget(tab)
    tab.show()
    yield tab
    tab.stop_and_wait()
    controller.stop_and_wait()
    runs_state.close()


def total_parameters(tab) -> int:
    return int(tab.table.column_texts(4)[-1].replace(",", ""))


def test_starting_from_a_preset_shows_its_layers_and_the_keras_counts(qtbot, tab):
    tab.start_combo.setCurrentIndex(tab.start_combo.findData("seed"))
    with qtbot.waitSignal(tab.state.changed, timeout=60_000):
        tab.start_button.click()
    expected = design_from_preset("seed")
    assert tab.state.design == expected
    assert tab.layer_list.count() == len(expected.layers)
    assert tab.layer_list.item(0).text().startswith("1. Conv2D")
    model = build_design_model(expected)
    assert total_parameters(tab) == model.count_params()
    # One row per Keras layer (input and total rows around them), with Keras' output shapes.
    shapes = tab.table.column_texts(3)[1:-1]
    assert shapes == ["×".join(str(s) for s in layer.output.shape[1:]) for layer in model.layers]
    assert tab.train_button.isEnabled() is False  # no dataset loaded in this fixture
    assert tab.problems.isHidden() and "based on the seed preset" in tab.origin_label.text()


def test_add_edit_move_and_remove_layers(qtbot, tab):
    tab.start_combo.setCurrentIndex(tab.start_combo.findData("scratch"))
    tab.start_button.click()
    assert [layer["type"] for layer in tab.state.design.layers] == ["Flatten"]
    tab.select_layer(-1)
    tab.add_combo.setCurrentText("Conv2D")
    tab.add_button.click()  # nothing selected: added last, after the Flatten -> cannot work
    assert [layer["type"] for layer in tab.state.design.layers] == ["Flatten", "Conv2D"]
    assert tab.layer_list.currentRow() == 1 and tab.layer_editor.title() == "Layer 2: Conv2D"
    assert not tab.problems.isHidden() and "needs an image" in tab.problems.text()
    assert not tab.train_button.isEnabled()

    tab.up_button.click()  # Conv2D first: works
    assert [layer["type"] for layer in tab.state.design.layers] == ["Conv2D", "Flatten"]
    assert tab.layer_list.currentRow() == 0 and tab.problems.isHidden()
    assert total_parameters(tab) == build_design_model(tab.state.design).count_params()

    # The form is built from LAYER_TYPES: one field per option, of the right kind.
    fields = tab.layer_editor.fields
    assert set(fields) == set(LAYER_TYPES["Conv2D"])
    assert isinstance(fields["filters"], QSpinBox) and isinstance(fields["padding"], QComboBox)
    assert isinstance(fields["use_bias"], QCheckBox)
    fields["filters"].setValue(4)
    fields["kernel_size"].setValue(5)
    assert tab.state.design.layers[0]["filters"] == 4 and tab.state.design.layers[0]["kernel_size"] == 5
    assert total_parameters(tab) == 5 * 5 * 4 + 4 + 28 * 28 * 4 * 10 + 10

    tab.add_combo.setCurrentText("Dropout")
    tab.add_button.click()  # after the selected Conv2D
    assert [layer["type"] for layer in tab.state.design.layers] == ["Conv2D", "Dropout", "Flatten"]
    assert isinstance(tab.layer_editor.fields["rate"], QDoubleSpinBox)
    tab.layer_editor.fields["rate"].setValue(0.25)
    assert tab.state.design.layers[1]["rate"] == 0.25
    tab.remove_button.click()
    assert [layer["type"] for layer in tab.state.design.layers] == ["Conv2D", "Flatten"]

    # Dragging a layer in the list moves it in the design (as the list's drop does: a row move).
    from PySide6.QtCore import QModelIndex

    assert tab.layer_list.model().moveRow(QModelIndex(), 0, QModelIndex(), 2)
    qtbot.waitUntil(lambda: [layer["type"] for layer in tab.state.design.layers] == ["Flatten", "Conv2D"])
    assert tab.layer_list.item(1).text().startswith("2. Conv2D") and tab.layer_list.currentRow() == 1


def test_a_design_that_cannot_work_is_refused_with_the_reason(tab):
    design = make_design("shrinks", [{"type": "Conv2D", "kernel_size": 28, "padding": "valid"},
                                     {"type": "MaxPooling2D"}, {"type": "Flatten"}])
    tab.state.use_design(design)
    assert "After layer 2 the image would be 0×0 pixels" in tab.problems.text()
    assert tab.problems.kind == "critical" and not tab.train_button.isEnabled()
    assert "Fix the design" in tab.cost_label.text()
    assert not tab.train_design()  # refused before training
    assert tab.table.column_texts(1)[-1] == "The design stops here"


def test_designs_are_saved_and_loaded_and_a_bad_file_changes_nothing(tab, tmp_path):
    design = make_design("wide", [{"type": "Conv2D", "filters": 12}, {"type": "GlobalAveragePooling2D"},
                                  {"type": "Dense", "units": 16}])
    tab.state.use_design(design)
    path = tmp_path / "wide.json"
    assert tab.state.save(path)
    assert json.loads(path.read_text())["name"] == "wide"
    tab.start_button.click()  # scratch
    assert tab.state.design != design
    assert tab.state.load(path) and tab.state.design == design and tab.name_edit.text() == "wide"
    assert tab.origin_label.text() == "3 layers, from the file wide.json."

    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "cnn-desktop-design", "version": 1, "layers": [{"type": "Conv3D"}]}')
    assert not tab.state.load(broken)
    assert tab.state.design == design
    assert tab.message.kind == "warning" and "unknown layer type 'Conv3D'" in tab.message.text()

    tab.name_edit.setText("")
    tab.name_edit.editingFinished.emit()
    assert tab.state.design.name == "wide" and tab.name_edit.text() == "wide"  # a design keeps a name


def test_the_expected_time_per_epoch_comes_from_a_measured_speed(qtbot, tab):
    tab.state.use_design(make_design("small", [{"type": "Conv2D", "filters": 8}, {"type": "MaxPooling2D"},
                                               {"type": "Flatten"}]))
    assert "not known yet" in tab.cost_label.text()
    with qtbot.waitSignal(tab.state.throughputChanged, timeout=120_000):
        tab.measure_button.click()
    throughput, source = tab.state.throughput()
    assert throughput.images_per_second > 0 and source == "measured for this design"
    assert "Expected time per epoch of 60,000 images" in tab.cost_label.text()
    seconds, _ = tab.state.epoch_seconds(60_000)
    assert seconds == pytest.approx(60_000 / throughput.images_per_second)


def test_train_this_design_trains_it_in_the_train_tab_and_records_the_run(qtbot, main_window, tmp_path):
    window = main_window
    window.design_state.use_design(make_design("tiny custom", [
        {"type": "Conv2D", "filters": 6, "kernel_size": 5, "strides": 2}, {"type": "Flatten"},
        {"type": "Dense", "units": 24}]))
    form = window.train_tab.form
    form.preset_combo.setCurrentIndex(form.preset_combo.findData("seed"))
    form.epochs_spin.setValue(1)
    form.limit_spin.setValue(1000)
    window.tabs.setCurrentWidget(window.design_tab)
    assert window.design_tab.train_button.isEnabled()
    with qtbot.waitSignal(window.training_controller.evaluated, timeout=TRAINING_TIMEOUT_MS):
        window.design_tab.train_button.click()
        assert window.tabs.currentWidget() is window.train_tab
        assert window.training_controller.config.design.name == "tiny custom"
        assert not window.design_tab.train_button.isEnabled()  # one training at a time
    model = window.model_state.model
    assert window.model_state.name.startswith("tiny custom, 1 epoch")
    assert [layer.name for layer in model.layers][:3] == ["conv2d", "flatten", "dense"]

    # The run was recorded and the Runs view has it, with its test accuracy, without a manual refresh.
    run = window.runs_state.runs[0]
    assert run.design["name"] == "tiny custom" and run.status == "finished" and run.epochs_done == 1
    assert run.test_accuracy is not None and 0.1 < run.test_accuracy < 1
    assert run.id in window.runs_tab.table.visible_ids()

    # Saving the trained model records its file with the run, and the Runs view can use it again.
    with qtbot.waitSignal(window.model_state.saved, timeout=60_000):
        window.model_state.save(tmp_path / "tiny-custom.keras")
    run = window.runs_state.get_run(run.id)
    assert run.model_path == str((tmp_path / "tiny-custom.keras").resolve()) and run.card["name"] == "tiny-custom"
    window.runs_tab.table.select_ids([run.id])
    assert window.runs_tab.open_button.isEnabled()
