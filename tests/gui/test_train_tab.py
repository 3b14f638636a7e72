"""The Train tab with real widgets (offscreen), real TensorFlow and the real Fashion-MNIST.

The tab is a view of a ``TrainingController`` (whose runs, stops, divergence and
continued training are tested without widgets in test_training_controller.py);
here: the form, what the tab shows of a run, and a few runs end to end. The
tab is built with its state objects holding the small trained model of the
``quick_model_path`` fixture; the tests that need the whole window build one on
that model too.
"""

from __future__ import annotations

import csv
import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from cnn_desktop import config
from cnn_desktop.core.evaluation import evaluate
from cnn_desktop.core.model import PRESETS
from cnn_desktop.core.model_io import load_model
from cnn_desktop.core.training import TrainingConfig
from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.image_state import ImageSource, ImageState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.state.training_controller import TrainingController
from cnn_desktop.gui.tabs.train_tab import TrainTab
from cnn_desktop.gui.widgets.messages import open_messages

TRAINING_TIMEOUT_MS = 180_000  # generous: the CPU may be shared with other work


@pytest.fixture
def states(qtbot, quick_model_path):
    create_application()
    model_state, image_state, data_state = ModelState(), ImageState(), DataState()
    model, card = load_model(quick_model_path)
    model_state.set_model(model, card, quick_model_path)
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    controller = TrainingController(model_state, data_state)
    yield controller, model_state, image_state, data_state
    controller.stop_and_wait()
    model_state.stop_and_wait()
    data_state.stop_and_wait()


@pytest.fixture
def tab(qtbot, states):
    QSettings().remove("train")  # every test starts from the default form
    widget = TrainTab(*states)
    qtbot.addWidget(widget)
    widget.resize(1200, 800)
    widget.show()
    yield widget
    widget.stop_and_wait()


def fill_form(tab: TrainTab, *, preset="seed", epochs=1, limit=2000, learning_rate=None):
    tab.form.preset_combo.setCurrentIndex(tab.form.preset_combo.findData(preset))
    tab.form.epochs_spin.setValue(epochs)
    tab.form.limit_spin.setValue(limit)
    if learning_rate is not None:
        tab.form.learning_rate_edit.setText(str(learning_rate))


def click(qtbot, widget, pos=None):
    if pos is None:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)
    else:
        qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos)


def finite_points(curve) -> int:
    _x, y = curve.getData()
    return 0 if y is None else int(np.isfinite(y).sum())


def test_a_short_training_charts_its_progress_and_shows_the_test_results(qtbot, tab, tmp_path):
    model_before = tab.model_state.model
    fill_form(tab, preset="seed", epochs=1, limit=2000)
    assert tab.start_button.isEnabled()
    with qtbot.waitSignal(tab.controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        click(qtbot, tab.start_button)
        assert tab.is_training() and tab.stop_button.isEnabled() and not tab.start_button.isEnabled()
    result = finished.args[0]
    assert result.status == "completed"

    charts = tab.charts
    assert finite_points(charts.curves[("loss", "train")]) >= 2  # per-batch points (throttled)
    assert finite_points(charts.curves[("accuracy", "train")]) >= 2
    assert finite_points(charts.curves[("loss", "validation")]) == 1  # one epoch
    assert charts.best_epoch == 1
    assert "Epoch 1/1" in tab.log_view.toPlainText()
    # Loss from 0, accuracy up to 1, and every point visible.
    for metric in ("loss", "accuracy"):
        charts.flush()
        low, high = charts.plots[metric].getViewBox().viewRange()[1]
        values = np.concatenate([charts.curves[(metric, series)].getData()[1] for series in ("train", "validation")])
        assert low <= values.min() and values.max() <= high
        assert (low <= 0 < values.min()) if metric == "loss" else (high >= 1 > values.max())
    legend = charts.plots["loss"].getPlotItem().legend
    assert "best: epoch 1" in [label.text for _sample, label in legend.items]

    with qtbot.waitSignal(tab.controller.evaluated, timeout=TRAINING_TIMEOUT_MS) as evaluated:
        pass
    evaluation = evaluated.args[0]
    # The trained weights are now the app's model: a separate, unsaved copy.
    assert tab.model_state.model is not model_before and tab.model_state.model is not result.model
    assert tab.model_state.modified and tab.model_state.path is None
    assert "Test accuracy" in tab.message.text()
    assert tab.results.confusion_matrix.total == config.TEST_SIZE == evaluation.n
    assert f"{evaluation.accuracy:.2%}" in tab.results.summary.text()
    assert tab.results.hardest_gallery.images_model.rowCount() == 60

    # Shirts taken for T-shirts: the cell's images fill the gallery.
    shirt, t_shirt = config.CLASS_NAMES.index("Shirt"), config.CLASS_NAMES.index("T-shirt/top")
    expected = int(tab.results.confusion_matrix.matrix[shirt, t_shirt])
    assert expected > 0
    click(qtbot, tab.results.confusion_matrix, tab.results.confusion_matrix.cell_rect(shirt, t_shirt).center().toPoint())
    cell_images = tab.results.cell_gallery.images_model
    assert cell_images.rowCount() == expected
    assert all(evaluation.labels[cell_images.image_number(row)] == shirt for row in range(expected))
    assert tab.results.galleries.currentWidget() is tab.results.cell_gallery

    # The history and the charts can be exported; the saved model's card has the test numbers.
    rows = list(csv.DictReader(open(charts.export_csv(tmp_path / "history.csv"), encoding="utf-8")))
    assert len(rows) == 1 and float(rows[0]["val_accuracy"]) == pytest.approx(result.history["val_accuracy"][0])
    assert charts.export_png(tmp_path / "charts.png").stat().st_size > 1000
    with qtbot.waitSignal(tab.model_state.saved, timeout=60_000) as saved_signal:
        tab.model_state.save(tmp_path / "trained.keras")
    saved = saved_signal.args[0]
    assert tab.message.isVisible() and str(saved) in tab.message.text()
    _model, card = load_model(saved)
    assert card["test_accuracy"] == pytest.approx(evaluation.accuracy) and card["preset"] == "seed"
    assert not tab.model_state.modified and tab.model_state.path == saved


def test_stop_mid_epoch_keeps_the_weights_learned_so_far(qtbot, tab):
    model_before = tab.model_state.model
    fill_form(tab, preset="seed", epochs=3, limit=10_000)
    click(qtbot, tab.start_button)
    qtbot.waitUntil(lambda: finite_points(tab.charts.curves[("loss", "train")]) > 0, timeout=TRAINING_TIMEOUT_MS)
    # The x axis spans the whole planned run from the start, not just the points so far.
    for plot in tab.charts.plots.values():
        low, high = plot.getViewBox().viewRange()[0]
        assert low <= 0 and 3 <= high < 3.5
    with qtbot.waitSignal(tab.controller.resultAwaitingDecision, timeout=60_000) as finished:
        click(qtbot, tab.stop_button)
    result = finished.args[0]
    assert result.status == "cancelled"
    assert result.epochs_completed <= 1
    assert tab.model_state.model is model_before  # kept until the user takes the stopped one
    assert tab.message.action_button.text().startswith("Use the stopped model")
    with qtbot.waitSignal(tab.controller.resultAdopted, timeout=60_000):
        click(qtbot, tab.message.action_button)
    assert tab.model_state.model is not model_before and tab.model_state.modified
    assert "unsaved" in tab.model_state.name
    qtbot.waitUntil(lambda: not tab.is_training(), timeout=10_000)
    assert tab.start_button.isEnabled()


def test_closing_the_window_during_training_stops_it(qtbot, make_window, quick_model_path):
    window = make_window(quick_model_path)
    train_tab = window.train_tab
    assert train_tab.start_training(TrainingConfig(preset="seed", epochs=20, limit=50_000))
    threads = window.training_controller.run_threads()
    qtbot.waitUntil(lambda: finite_points(train_tab.charts.curves[("loss", "train")]) > 0,
                    timeout=TRAINING_TIMEOUT_MS)
    assert threads and all(thread.isRunning() for thread in threads)

    window.close()  # asks first (tests/gui/test_lost_work.py); "Stop and close" -> the controller's
    stop = [b for b in window.close_question.buttons() if b.text() == "Stop and close"][0]
    stop.click()  # stop_and_wait(), which returns once the thread has ended

    assert all(thread.isFinished() for thread in threads)


def test_a_diverging_training_says_so_and_keeps_the_model_in_use(qtbot, tab):
    model_before = tab.model_state.model
    weights_before = [w.copy() for w in model_before.get_weights()]
    fill_form(tab, preset="seed", epochs=1, limit=2000, learning_rate=10)
    with qtbot.waitSignal(tab.controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        click(qtbot, tab.start_button)
    assert finished.args[0].status == "diverged"

    assert tab.message.isVisible() and "diverged" in tab.message.text()
    assert "learning rate" in tab.message.text()
    assert tab.model_state.model is model_before and not tab.model_state.modified
    for before, after in zip(weights_before, tab.model_state.model.get_weights()):
        np.testing.assert_array_equal(before, after)
    qtbot.waitUntil(lambda: not tab.is_training(), timeout=10_000)
    assert tab.start_button.isEnabled()


@pytest.mark.parametrize("edit, expected", [
    (lambda tab, qtbot: qtbot.keyClicks(tab.form.learning_rate_edit, "fast"), "learning rate"),
    (lambda tab, qtbot: qtbot.keyClicks(tab.form.learning_rate_edit, "0"), "learning rate"),
    (lambda tab, qtbot: qtbot.keyClicks(tab.form.learning_rate_edit, "50"), "learning rate"),
    (lambda tab, qtbot: tab.form.limit_spin.setValue(5), "limit"),
])
def test_invalid_hyper_parameters_are_refused_in_the_form(qtbot, tab, edit, expected):
    tab.form.learning_rate_edit.clear()
    tab.form.learning_rate_edit.setText("0.001")
    assert tab.start_button.isEnabled() and not tab.form_error.isVisible()
    if expected == "learning rate":
        tab.form.learning_rate_edit.clear()
    edit(tab, qtbot)

    assert tab.form_error.isVisible() and expected in tab.form_error.text().lower()
    assert not tab.start_button.isEnabled()
    with qtbot.assertNotEmitted(tab.controller.started):
        assert tab.start_training() is False
    assert not tab.is_training()


def test_an_invalid_config_from_code_is_refused_with_the_reason(qtbot, tab):
    with qtbot.assertNotEmitted(tab.controller.started):
        assert tab.start_training(TrainingConfig(preset="seed", epochs=0)) is False
    assert tab.form_error.isVisible() and "epochs" in tab.form_error.text().lower()


def test_training_waits_for_the_dataset_and_says_why(qtbot, quick_model_path, tmp_path):
    create_application()
    data_state = DataState(tmp_path / "no-dataset-here")
    model_state = ModelState()
    tab = TrainTab(TrainingController(model_state, data_state), model_state, ImageState(), data_state)
    qtbot.addWidget(tab)
    tab.show()
    with qtbot.waitSignal(data_state.failed, timeout=60_000):
        data_state.load()

    assert not tab.start_button.isEnabled()
    assert data_state.error and tab.data_message.isVisible() and data_state.error in tab.data_message.text()
    with qtbot.assertNotEmitted(tab.controller.started):
        assert tab.start_training(TrainingConfig(preset="seed", epochs=1, limit=2000)) is False
    data_state.stop_and_wait()


def test_an_error_in_the_worker_is_shown_and_the_tab_stays_usable(qtbot, tab, dataset):
    model_before = tab.model_state.model
    good = tab.data_state.dataset
    # Images one pixel too narrow: Keras fails inside the worker thread.
    tab.data_state.dataset = dataclasses.replace(good, train_images=good.train_images[:, :, :27])
    fill_form(tab, preset="seed", epochs=1, limit=500)
    with qtbot.waitSignal(tab.controller.failed, timeout=TRAINING_TIMEOUT_MS):
        click(qtbot, tab.start_button)

    assert tab.message.isVisible() and "Training failed" in tab.message.text()
    assert any(box.windowTitle() == "Training failed" for box in open_messages(tab))
    assert tab.model_state.model is model_before
    qtbot.waitUntil(lambda: not tab.is_training(), timeout=10_000)
    tab.data_state.dataset = good
    assert tab.start_button.isEnabled()
    for box in open_messages(tab):
        box.close()


def test_a_preset_fills_in_its_recipe_and_explains_itself(qtbot, tab):
    for name, preset in PRESETS.items():
        tab.form.preset_combo.setCurrentIndex(tab.form.preset_combo.findData(name))
        assert (tab.form.epochs_spin.value(), tab.form.batch_spin.value()) == (preset.epochs, preset.batch_size)
        assert float(tab.form.learning_rate_edit.text()) == pytest.approx(preset.learning_rate)
        assert tab.form.preset_combo.toolTip() == preset.description
        index = tab.form.preset_combo.currentIndex()
        assert tab.form.preset_combo.itemData(index, Qt.ItemDataRole.ToolTipRole) == preset.description


def test_training_settings_are_remembered_and_damaged_ones_ignored(qtbot, states):
    store = QSettings()
    store.remove("train")
    first = TrainTab(*states)
    qtbot.addWidget(first)
    fill_form(first, preset="seed", epochs=4, limit=3000, learning_rate=0.0005)
    first.form.early_stopping_check.setChecked(True)
    first.form.patience_spin.setValue(2)
    first.form.save_settings()

    second = TrainTab(*states)
    qtbot.addWidget(second)
    assert second.form.preset_combo.currentData() == "seed"
    assert (second.form.epochs_spin.value(), second.form.limit_spin.value(), second.form.patience_spin.value()) == (4, 3000, 2)
    assert float(second.form.learning_rate_edit.text()) == pytest.approx(0.0005)
    assert second.form.early_stopping_check.isChecked()

    for key, value in (("preset", ["not", "a", "name"]), ("epochs", "many"), ("batch_size", -3),
                       ("learning_rate", "nan"), ("early_stopping", "perhaps"), ("limit", [1, 2]),
                       ("validation", {"no": 1})):
        store.setValue(f"train/{key}", value)
    third = TrainTab(*states)
    qtbot.addWidget(third)
    fast = PRESETS["fast"]
    assert third.form.preset_combo.currentData() == "fast"
    assert (third.form.epochs_spin.value(), third.form.batch_spin.value()) == (fast.epochs, fast.batch_size)
    assert float(third.form.learning_rate_edit.text()) == pytest.approx(fast.learning_rate)
    assert not third.form.early_stopping_check.isChecked() and third.start_button.isEnabled()
    store.remove("train")


def test_clicking_a_hard_example_sends_it_to_classify(qtbot, make_window, quick_model_path, dataset):
    window = make_window(quick_model_path)
    train_tab = window.train_tab
    window.show_tab("train")
    evaluation = evaluate(window.model_state.model, dataset.test_images, dataset.test_labels)
    train_tab.results.show_evaluation(evaluation, dataset)
    train_tab.results.galleries.setCurrentWidget(train_tab.results.hardest_gallery)
    gallery = train_tab.results.hardest_gallery
    index = gallery.images_model.image_number(0)
    assert index == evaluation.hardest(1)[0]

    with qtbot.waitSignal(train_tab.showTabRequested) as shown:
        click(qtbot, gallery.view.viewport(), gallery.view.visualRect(gallery.images_model.index(0)).center())
    assert shown.args == ["classify"]
    assert window.image_state.source == ImageSource("dataset", f"test #{index}", int(dataset.test_labels[index]))
    np.testing.assert_allclose(window.image_state.image, dataset.test_images[index] / 255.0)
    assert window.tabs.currentWidget() is window.classify_tab
    QApplication.processEvents()


def test_charts_follow_a_dark_palette(qtbot):
    """A desktop switching to a dark theme hands the app a new palette: the plots take its colours."""
    from PySide6.QtGui import QColor, QPalette

    from cnn_desktop.gui.widgets.training_charts import TrainingCharts

    charts = TrainingCharts()
    qtbot.addWidget(charts)
    dark = QPalette(charts.palette())
    dark.setColor(QPalette.ColorRole.Base, QColor("#1e1e1e"))
    dark.setColor(QPalette.ColorRole.Text, QColor("#e6e6e6"))
    charts.setPalette(dark)
    for plot in charts.plots.values():
        assert plot.backgroundBrush().color().name() == "#1e1e1e"
        assert plot.getPlotItem().getAxis("left").textPen().color().name() == "#e6e6e6"


def test_the_tab_shows_the_machine_and_trains_on_the_chosen_device(qtbot, tab):
    """The model is loaded (TensorFlow too): the machine is shown as TensorFlow sees it; no GPU here, so the GPU
    choice is greyed out; a run on the chosen device is charted and Stop-able like any other."""
    import os

    import tensorflow as tf

    form = tab.form
    gpu_item = form.device_combo.model().item(form.device_combo.findData("gpu"))
    if tf.config.list_physical_devices("GPU"):
        assert form.device_label.text().startswith("GPU") and gpu_item.isEnabled()
    else:
        assert form.device_label.text() == f"CPU, {len(os.sched_getaffinity(0))} cores"
        assert not gpu_item.isEnabled()
    form.device_combo.setCurrentIndex(form.device_combo.findData("all"))
    fill_form(tab, preset="fast", epochs=1, limit=1500)
    assert form.training_config().devices == "all"
    with qtbot.waitSignal(tab.controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        click(qtbot, tab.start_button)
    assert finished.args[0].status == "completed"
    assert finite_points(tab.charts.curves[("loss", "validation")]) == 1
    assert "Training on CPU" in tab.log_view.toPlainText() or "Training on GPU" in tab.log_view.toPlainText()
    form.save_settings()
    again = TrainTab(tab.controller, tab.model_state, tab.image_state, tab.data_state)
    qtbot.addWidget(again)
    assert again.form.device_combo.currentData() == "all"


def test_mixed_precision_is_a_choice_for_new_networks_and_trains_a_float32_model(qtbot, tab):
    form = tab.form
    fill_form(tab, preset="fast", epochs=1, limit=1500)
    click(qtbot, form.mixed_precision_check)
    assert form.mixed_precision_check.isChecked() and form.training_config().mixed_precision
    # Continuing keeps the model's own arithmetic: the choice is greyed out and not passed on.
    click(qtbot, form.continue_check)
    assert not form.mixed_precision_check.isEnabled() and not form.training_config().mixed_precision
    click(qtbot, form.continue_check)
    assert form.mixed_precision_check.isEnabled() and form.training_config().mixed_precision
    with qtbot.waitSignal(tab.controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        click(qtbot, tab.start_button)
    result = finished.args[0]
    assert result.status == "completed" and result.config.mixed_precision
    assert {layer.compute_dtype for layer in result.model.layers} == {"float32"}
    form.save_settings()
    again = TrainTab(tab.controller, tab.model_state, tab.image_state, tab.data_state)
    qtbot.addWidget(again)
    assert again.form.mixed_precision_check.isChecked()
