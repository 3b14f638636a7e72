"""The Dataset tab on the real Fashion-MNIST: browsing, sending images to other tabs, missing or damaged data."""

from __future__ import annotations

import os
import socket

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QImage

from cnn_desktop import config
from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.widgets.thumbnail_model import IndexRole, LabelRole, PredictionRole
from cnn_desktop.gui.tabs.dataset_tab import DatasetTab
from cnn_desktop.gui.state.image_state import ImageState
from cnn_desktop.gui.state.model_state import ModelState

TROUSER = config.CLASS_NAMES.index("Trouser")
SANDAL = config.CLASS_NAMES.index("Sandal")


def make_tab(qtbot, data_state: DataState, model_state: ModelState | None = None) -> DatasetTab:
    create_application()  # settings names
    tab = DatasetTab(model_state or ModelState(), ImageState(), data_state)
    qtbot.addWidget(tab)
    tab.resize(900, 600)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


@pytest.fixture
def loaded_tab(qtbot, dataset):
    """The tab with the real dataset from the usual place, loaded in the background as in the app."""
    data_state = DataState()
    tab = make_tab(qtbot, data_state)
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    assert tab.pages.currentWidget() is tab.browser
    choose(tab.split_combo, "test")
    choose(tab.class_combo, None)
    yield tab
    tab.stop_and_wait()
    data_state.stop_and_wait()


def choose(combo, data) -> None:
    """Pick the entry for ``data`` in one of the tab's combo boxes, as the user would."""
    combo.setCurrentIndex(next(index for index in range(combo.count()) if combo.itemData(index) == data))


def column(model, role) -> list:
    return [model.data(model.index(row), role) for row in range(model.rowCount())]


def test_filters_by_class_and_split(loaded_tab, dataset):
    model = loaded_tab.grid.images_model
    assert model.rowCount() == 10_000
    assert column(model, IndexRole) == list(range(10_000))

    choose(loaded_tab.class_combo, TROUSER)
    assert model.rowCount() == 1_000
    assert set(column(model, Qt.ItemDataRole.DisplayRole)) == {"Trouser"}
    assert set(column(model, LabelRole)) == {TROUSER}
    assert column(model, IndexRole) == np.flatnonzero(dataset.test_labels == TROUSER).tolist()

    choose(loaded_tab.split_combo, "train")
    assert model.rowCount() == 6_000
    assert set(column(model, LabelRole)) == {TROUSER}
    assert column(model, IndexRole) == np.flatnonzero(dataset.train_labels == TROUSER).tolist()

    choose(loaded_tab.class_combo, None)
    assert model.rowCount() == 60_000
    choose(loaded_tab.split_combo, "test")
    assert model.rowCount() == 10_000


def test_thumbnails_are_the_dataset_pixels_enlarged(loaded_tab, dataset, qtbot):
    choose(loaded_tab.class_combo, SANDAL)
    grid = loaded_tab.grid
    for scale in (2, 4):
        loaded_tab.zoom_combo.setCurrentIndex(loaded_tab.zoom_combo.findData(scale))
        qtbot.waitUntil(lambda: grid.visible_rows()[0] == 0)
        shot = grid.viewport().grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
        size = config.IMAGE_SIZE * scale
        for row in (0, 1):
            rect = grid.visualRect(grid.images_model.index(row))
            left = rect.x() + (rect.width() - size) // 2
            top = rect.y() + 4
            pixels = np.array([[shot.pixelColor(left + x, top + y).red() for x in range(size)] for y in range(size)])
            expected = np.kron(dataset.test_images[grid.images_model.image_number(row)], np.ones((scale, scale)))
            # Crisp: every dataset pixel is a uniform square, no smoothing across pixel edges.
            np.testing.assert_array_equal(pixels, expected)


def test_scrolling_reaches_the_last_image(loaded_tab, qtbot):
    choose(loaded_tab.split_combo, "train")
    grid = loaded_tab.grid
    qtbot.waitUntil(lambda: "of 60,000 images (training set)" in loaded_tab.summary_label.text())
    assert loaded_tab.summary_label.text().startswith("Showing 1–")
    grid.scrollToBottom()
    qtbot.waitUntil(lambda: "–60,000 of 60,000" in loaded_tab.summary_label.text())
    last = grid.images_model.index(59_999)
    assert grid.viewport().rect().contains(grid.visualRect(last))
    assert grid.images_model.data(last, IndexRole) == 59_999


def test_double_click_classifies_and_context_action_inspects(loaded_tab, dataset, qtbot):
    choose(loaded_tab.class_combo, SANDAL)
    grid = loaded_tab.grid
    row = 3
    expected_index = int(np.flatnonzero(dataset.test_labels == SANDAL)[row])
    centre = grid.visualRect(grid.images_model.index(row)).center()
    qtbot.mouseClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    with qtbot.waitSignal(loaded_tab.showTabRequested) as request:
        qtbot.mouseDClick(grid.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert request.args == ["classify"]
    state = loaded_tab.image_state
    assert state.image.dtype == np.float32
    np.testing.assert_array_equal(state.image, dataset.test_images[expected_index].astype(np.float32) / 255)
    assert state.source.kind == "dataset"
    assert state.source.description == f"test #{expected_index}"
    assert state.source.true_label == SANDAL

    choose(loaded_tab.split_combo, "train")
    with qtbot.waitSignal(loaded_tab.showTabRequested) as request:
        loaded_tab.send_image(0, "inspect")
    assert request.args == ["inspect"]
    first_train_sandal = int(np.flatnonzero(dataset.train_labels == SANDAL)[0])
    np.testing.assert_array_equal(state.image, dataset.train_images[first_train_sandal] / np.float32(255))
    assert state.source.description == f"train #{first_train_sandal}"


def test_empty_folder_shows_what_is_missing(qtbot, tmp_path):
    data_state = DataState(data_dir=tmp_path)
    tab = make_tab(qtbot, data_state)
    data_state.load()
    assert tab.pages.currentWidget() is tab.loading_label
    assert tab.loading_label.text() == "Loading Fashion-MNIST…"
    with qtbot.waitSignal(data_state.failed, timeout=30_000):
        pass
    assert tab.pages.currentWidget() is tab.missing_panel
    message = tab.missing_panel.message
    assert str(tmp_path / "train-images-idx3-ubyte.gz") in message
    assert "dataset-fashion-mnist" in message
    qtbot.waitUntil(lambda: tab.missing_panel.choose_button.isEnabled())
    data_state.stop_and_wait()


def test_damaged_file_is_named_and_choosing_the_right_folder_recovers(qtbot, tmp_path):
    damaged = "train-labels-idx1-ubyte.gz"
    for name in os.listdir(config.SYSTEM_DATA_DIR):
        if name != damaged:
            os.symlink(config.SYSTEM_DATA_DIR / name, tmp_path / name)
    whole = (config.SYSTEM_DATA_DIR / damaged).read_bytes()
    (tmp_path / damaged).write_bytes(whole[: len(whole) // 2])
    data_state = DataState(data_dir=tmp_path)
    tab = make_tab(qtbot, data_state)
    with qtbot.waitSignal(data_state.failed, timeout=30_000):
        data_state.load()
    assert tab.pages.currentWidget() is tab.missing_panel
    assert str(tmp_path / damaged) in tab.missing_panel.message
    qtbot.waitUntil(lambda: not data_state.loading)

    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        tab.missing_panel.load_from_folder(str(config.SYSTEM_DATA_DIR))
        assert tab.pages.currentWidget() is tab.missing_panel  # with its "Loading … from" status meanwhile
        assert not tab.missing_panel.choose_button.isEnabled()
    assert tab.pages.currentWidget() is tab.browser
    assert tab.grid.images_model.rowCount() == 10_000
    data_state.stop_and_wait()


def _can_resolve(host: str) -> bool:
    try:
        socket.getaddrinfo(host, 443)
    except OSError:
        return False
    return True


def test_failed_download_shows_its_message(qtbot, tmp_path, monkeypatch, request):
    if _can_resolve("storage.googleapis.com"):
        pytest.skip("this machine is online: the download would succeed")
    if config.bundled_data_dir().exists():
        pytest.skip("a bundled copy of the data would be found before downloading")
    # No local copy anywhere: the Download button has to go to the network, which is not there.
    # Keras makes its cache folder before it fails; remove what this test created in the home folder.
    created = [d for d in (config.KERAS_CACHE_DIR, config.KERAS_CACHE_DIR.parent) if not d.exists()]
    request.addfinalizer(lambda: [d.rmdir() for d in created if d.is_dir() and not any(d.iterdir())])
    monkeypatch.delenv(config.DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(config, "SYSTEM_DATA_DIR", tmp_path / "no-system-copy")
    monkeypatch.setattr(config, "KERAS_CACHE_DIR", tmp_path / "no-keras-cache")
    data_state = DataState(data_dir=tmp_path / "empty")
    tab = make_tab(qtbot, data_state)
    with qtbot.waitSignal(data_state.failed, timeout=30_000):
        data_state.load()
    qtbot.waitUntil(lambda: not data_state.loading)

    with qtbot.waitSignal(data_state.failed, timeout=120_000) as failure:
        tab.missing_panel.download()
        assert tab.pages.currentWidget() is tab.missing_panel
        assert tab.missing_panel.status_label.text().startswith("Downloading")
    assert "downloading it failed" in failure.args[0]
    assert tab.pages.currentWidget() is tab.missing_panel
    assert "downloading it failed" in tab.missing_panel.message
    assert "dataset-fashion-mnist" in tab.missing_panel.message
    assert tab.missing_panel.status_label.text() == ""
    qtbot.waitUntil(lambda: tab.missing_panel.download_button.isEnabled())
    data_state.stop_and_wait()


def test_marks_show_the_models_answers(qtbot, dataset, quick_model_path):
    from cnn_desktop.core.model_io import load_model

    model_state = ModelState()
    data_state = DataState()
    tab = make_tab(qtbot, data_state, model_state)
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    choose(tab.split_combo, "test")
    choose(tab.class_combo, None)
    tab.marks_check.setChecked(True)
    grid_model = tab.grid.images_model
    model, _card = load_model(quick_model_path)
    model_state.set_model(model)
    qtbot.waitUntil(lambda: grid_model.data(grid_model.index(0), PredictionRole) is not None, timeout=60_000)
    rows = [0, 1, 2, 5_000, 9_999]
    answers = model_state.classifier.logits(dataset.test_images[rows]).argmax(axis=1)
    assert [grid_model.data(grid_model.index(row), PredictionRole) for row in rows] == answers.tolist()
    assert "The model says" in grid_model.data(grid_model.index(0), Qt.ItemDataRole.ToolTipRole)

    tab.marks_check.setChecked(False)
    assert grid_model.data(grid_model.index(0), PredictionRole) is None
    tab.stop_and_wait()
    data_state.stop_and_wait()

