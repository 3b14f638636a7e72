"""The Runs tab on real recorded runs: tiny real trainings (1,000 images, 1 epoch) recorded by the core's RunRecorder
into a temporary run history, then the real tab offscreen: table, filter, sort, overlay, diff, rename, note, delete,
export, use a run's model; and the app's own training recorded and shown; a damaged history shown, training on.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from cnn_desktop.core.design import make_design
from cnn_desktop.core.evaluation import evaluate
from cnn_desktop.core.model_io import make_card, save_model
from cnn_desktop.core.run_recorder import RunRecorder
from cnn_desktop.core.run_store import DATABASE_NAME, RUN_TABLE_FIELDS, RunStore, legend_labels
from cnn_desktop.core.training import TrainingConfig, TrainingSession
from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.state.runs_state import RunsState
from cnn_desktop.gui.state.training_controller import TrainingController
from cnn_desktop.gui.tabs.runs_tab import RunsTab
from cnn_desktop.gui.widgets.run_table import FIELDS

TRAINING_TIMEOUT_MS = 180_000
TINY = {"epochs": 1, "limit": 1000, "batch_size": 64}
STRIDED = make_design("strided", [{"type": "Conv2D", "filters": 8, "kernel_size": 5, "strides": 2},
                                  {"type": "MaxPooling2D"}, {"type": "Flatten"}, {"type": "Dense", "units": 32}])


def record_run(runs_dir, dataset, training_config, model_path=None):
    with RunRecorder(runs_dir=runs_dir, tensorboard=False) as recorder:
        session = TrainingSession(training_config, data=dataset, listener=recorder)
        result = session.run()
        recorder.finish(result)
        evaluation = evaluate(result.model, dataset.test_images[:500], dataset.test_labels[:500])
        recorder.record_test(evaluation)
        if model_path is not None:
            save_model(result.model, model_path, make_card(preset=training_config.preset, name=model_path.stem))
            recorder.record_model(model_path, make_card(preset=training_config.preset))
        return recorder.run_id


@pytest.fixture(scope="module")
def recorded(tmp_path_factory, dataset):
    """Three real runs: the seed preset, the same at another learning rate (model saved), a custom design."""
    folder = tmp_path_factory.mktemp("history")
    runs_dir = folder / "runs"
    ids = {
        "seed": record_run(runs_dir, dataset, TrainingConfig(preset="seed", seed=1, **TINY)),
        "fast_lr": record_run(runs_dir, dataset, TrainingConfig(preset="seed", seed=1, learning_rate=3e-3, **TINY),
                              model_path=folder / "fast-lr.keras"),
        "design": record_run(runs_dir, dataset, TrainingConfig(preset="seed", seed=1, design=STRIDED, **TINY)),
    }
    return runs_dir, ids


@pytest.fixture
def history(recorded, tmp_path):
    """A copy of the recorded history, so that a test may rename or delete runs."""
    runs_dir, ids = recorded
    copy = tmp_path / "runs"
    shutil.copytree(runs_dir, copy)
    with RunStore(copy) as store:  # the copy's runs point at copies of their model files
        for run in store.list_runs():
            if run.model_path:
                model_copy = tmp_path / Path(run.model_path).name
                shutil.copy(run.model_path, model_copy)
                store.set_model(run.id, model_copy, run.card)
    return copy, ids


@pytest.fixture
def model_state(qtbot):
    create_application()
    state = ModelState()
    yield state
    state.stop_and_wait()


@pytest.fixture
def make_tab(qtbot, model_state):
    made = []

    def make(runs_dir):
        runs_state = RunsState(runs_dir)
        runs_state.refresh()
        controller = TrainingController(model_state, DataState())
        tab = RunsTab(runs_state, model_state, controller)
        qtbot.addWidget(tab)
        tab.resize(1300, 800)
        tab.show()
        made.append((runs_state, controller))
        return tab

    yield make
    for runs_state, controller in made:
        controller.stop_and_wait()
        runs_state.close()


def column(name: str) -> int:
    return FIELDS.index(name)


def shown_ids(tab) -> list[int]:
    return tab.table.visible_ids()


def test_the_table_lists_every_run_and_sorts_and_filters(make_tab, history):
    runs_dir, ids = history
    tab = make_tab(runs_dir)
    assert sorted(shown_ids(tab)) == sorted(ids.values())
    assert shown_ids(tab) == sorted(ids.values(), reverse=True)  # newest first

    # Sorting by test accuracy orders by the numbers recorded, not their text.
    tab.table.view.sortByColumn(column("test_accuracy"), Qt.SortOrder.AscendingOrder)
    accuracies = [tab.runs_state.get_run(run_id).test_accuracy for run_id in shown_ids(tab)]
    assert accuracies == sorted(accuracies) and all(0.1 < a < 1 for a in accuracies)

    tab.table.filter_edit.setText("STRIDED")  # any column, any case
    assert shown_ids(tab) == [ids["design"]]
    tab.table.filter_edit.setText("no run has this")
    assert shown_ids(tab) == []
    tab.table.filter_edit.clear()
    assert len(shown_ids(tab)) == 3


def test_selected_runs_overlay_their_curves_and_two_are_compared_side_by_side(make_tab, history):
    runs_dir, ids = history
    tab = make_tab(runs_dir)
    tab.table.select_ids([ids["seed"], ids["design"]])
    runs = tab.selected_runs()
    assert {run.id for run in runs} == {ids["seed"], ids["design"]}

    # One curve per run, metric and series, each run in its own colour; the legend says what differs.
    for run in runs:
        for metric in ("loss", "accuracy"):
            for series in ("train", "validation"):
                xs, ys = tab.chart.curves[(run.id, metric, series)].getData()
                assert list(xs) == [1] and len(ys) == 1
        assert list(tab.chart.curves[(run.id, "loss", "validation")].getData()[1]) == [run.epochs[0].val_loss]
    colours = {tab.chart.curves[(run.id, "loss", "validation")].opts["pen"].color().name() for run in runs}
    assert len(colours) == 2
    labels = legend_labels(runs)
    assert tab.chart.legend_texts() == [labels[run.id] for run in runs]
    assert all(label in tab.chart.legend.text() for label in labels.values())
    assert all("design" in label for label in labels.values())  # the design is what differs

    # The diff: the design and its layers differ, the recipe does not.
    assert "design" in tab.diff.differing and "layer 1" in tab.diff.differing
    assert "batch_size" not in tab.diff.differing and "seed" not in tab.diff.differing
    rows = {tab.diff.table.item(row, 0).text(): row for row in range(tab.diff.table.rowCount())}
    design_row = rows["design"]
    assert {tab.diff.table.item(design_row, 1).text(), tab.diff.table.item(design_row, 2).text()} == {"seed",
                                                                                                      "strided"}
    assert tab.diff.table.item(design_row, 1).font().bold()

    # The two seed runs differ only in their learning rate (and so in what they learned).
    tab.table.select_ids([ids["seed"], ids["fast_lr"]])
    assert "learning_rate" in tab.diff.differing and "design" not in tab.diff.differing
    assert all("learning_rate" in label for label in tab.chart.legend_texts())

    tab.table.select_ids(list(ids.values()))  # three: overlaid and side by side
    assert len({key[0] for key in tab.chart.curves}) == 3 and tab.diff.table.columnCount() == 4
    assert "design" in tab.diff.differing and "learning_rate" in tab.diff.differing
    tab.diff.only_differences.setChecked(True)
    shown = [tab.diff.table.item(row, 0).text() for row in range(tab.diff.table.rowCount())
             if not tab.diff.table.isRowHidden(row)]
    assert shown == tab.diff.differing and "batch_size" not in shown
    tab.table.select_ids([ids["seed"]])  # one: nothing to compare
    assert tab.diff.table.isHidden() and len(tab.chart.legend_texts()) == 1


def test_rename_and_note_in_place_are_kept_in_the_history(make_tab, history):
    runs_dir, ids = history
    tab = make_tab(runs_dir)
    model = tab.table.model
    row = next(r for r in range(model.rowCount()) if model.run_id(r) == ids["seed"])
    assert model.setData(model.index(row, column("name")), "  baseline  ")
    assert model.setData(model.index(row, column("note")), "the reference run")
    with RunStore(runs_dir) as store:
        run = store.get_run(ids["seed"])
    assert (run.name, run.note) == ("baseline", "the reference run")
    assert tab.runs_state.get_run(ids["seed"]).name == "baseline"
    row = next(r for r in range(model.rowCount()) if model.run_id(r) == ids["seed"])
    assert model.index(row, column("note")).data() == "the reference run"
    assert not model.setData(model.index(row, column("name")), "   ")  # a run keeps a name


def test_delete_asks_first_and_removes_the_run_with_its_files(qtbot, make_tab, history):
    runs_dir, ids = history
    tab = make_tab(runs_dir)
    run = tab.runs_state.get_run(ids["fast_lr"])
    model_file = Path(run.model_path)
    assert model_file.is_file()
    tab.table.select_ids([run.id])

    box = tab.ask_delete_selected()
    assert box.isVisible() and f"#{run.id}" in box.text()
    box.button(QMessageBox.StandardButton.Cancel).click()
    qtbot.waitUntil(lambda: tab.delete_question is None)
    assert tab.runs_state.get_run(run.id) is not None

    box = tab.ask_delete_selected()
    assert "1 saved model file" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    qtbot.waitUntil(lambda: tab.runs_state.get_run(run.id) is None)
    assert run.id not in shown_ids(tab)
    with RunStore(runs_dir) as store:
        assert run.id not in [r.id for r in store.list_runs()]
    assert not model_file.exists() and not store.run_dir(run.id).exists()


def test_export_writes_the_table_shown_and_the_selected_curves(make_tab, history, tmp_path):
    runs_dir, ids = history
    tab = make_tab(runs_dir)
    tab.table.filter_edit.setText("strided")
    assert tab.export_table(tmp_path / "table.csv")
    rows = list(csv.DictReader(io.StringIO((tmp_path / "table.csv").read_text())))
    assert tuple(rows[0]) == RUN_TABLE_FIELDS
    assert [int(row["id"]) for row in rows] == [ids["design"]]  # the runs shown, not all
    assert rows[0]["design_name"] == "strided" and float(rows[0]["test_accuracy"]) > 0.1

    tab.table.filter_edit.clear()
    tab.table.select_ids([ids["seed"]])
    assert tab.export_curves(tmp_path / "curves.csv")
    curves = list(csv.DictReader(io.StringIO((tmp_path / "curves.csv").read_text())))
    assert [(int(row["run_id"]), int(row["epoch"])) for row in curves] == [(ids["seed"], 1)]
    assert float(curves[0]["val_accuracy"]) == pytest.approx(tab.runs_state.get_run(ids["seed"]).final_val_accuracy)

    assert not tab.export_table(tmp_path / "no such folder" / "x.csv")
    assert tab.message.kind == "critical" and "could not be saved" in tab.message.text()


def test_a_runs_model_becomes_the_model_in_use(qtbot, make_tab, history, model_state):
    runs_dir, ids = history
    tab = make_tab(runs_dir)
    tab.table.select_ids([ids["seed"]])
    assert not tab.open_button.isEnabled()  # that run saved no model
    tab.table.select_ids([ids["fast_lr"]])
    assert tab.open_button.isEnabled()
    failures = []
    model_state.loadFailed.connect(lambda message, details: failures.append(message))
    with qtbot.waitSignal(model_state.loaded, timeout=TRAINING_TIMEOUT_MS) as loaded:
        tab.open_button.click()
        assert tab.message.kind == "information" and "Loading run" in tab.message.text()
    assert not failures
    assert str(loaded.args[0]) == tab.runs_state.get_run(ids["fast_lr"]).model_path
    assert model_state.model is not None


def test_a_damaged_history_is_shown_and_training_still_works(qtbot, tmp_path):
    runs_dir = tmp_path / "runs"
    runs_dir.mkdir()
    (runs_dir / DATABASE_NAME).write_bytes(b"this is not a database" * 100)
    create_application()
    model_state, data_state = ModelState(), DataState()
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    runs_state = RunsState(runs_dir)
    controller = TrainingController(model_state, data_state)
    runs_state.connect_controller(controller)
    assert not runs_state.refresh()
    tab = RunsTab(runs_state, model_state, controller)
    qtbot.addWidget(tab)
    assert tab.message.kind == "critical" and "damaged" in tab.message.text()
    assert "Training still works" in tab.message.text() and tab.table.visible_ids() == []

    notices = []
    controller.notice.connect(lambda text, kind: notices.append((text, kind)))
    try:
        with qtbot.waitSignal(controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
            assert controller.start(TrainingConfig(preset="seed", seed=2, **TINY))
        assert finished.args[0].status == "completed"
        assert any(kind == "warning" and "not recorded" in text for text, kind in notices)
        assert tab.message.kind == "critical"  # still says why
    finally:
        controller.stop_and_wait()
        model_state.stop_and_wait()
        data_state.stop_and_wait()
        runs_state.close()
