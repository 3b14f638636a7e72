"""Issue 17 in the window: “Wrong? It is a …” in Classify keeps the current input; the My examples tab shows,
deletes, relabels, imports and exports them, and teaches the network through the TrainingController.
Real window offscreen, the bundled model, real canvas drawings, a real (short) fine-tune."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from cnn_desktop.core.examples import ExampleStore

ROOT = Path(__file__).resolve().parents[2]
DRAWINGS = ROOT / "benchmarks" / "teach" / "teach"


@pytest.fixture(autouse=True)
def own_app_data(tmp_path, monkeypatch):
    """Each test's window gets an empty example collection (set before the window is built)."""
    monkeypatch.setenv("CNN_DESKTOP_DATA_HOME", str(tmp_path / "app-data"))


def drawing_path(number: int) -> Path:
    return next(DRAWINGS.glob(f"{number:03d}_*.png"))


def choose(qtbot, window, label: int) -> None:
    window.tabs.setCurrentWidget(window.classify_tab)  # where the user sees the wrong answer
    button = window.classify_tab.correction_button
    assert button.isEnabled() and button.isVisibleTo(window)
    button.class_actions[label].trigger()


def test_wrong_it_is_a_keeps_the_picture_and_the_network_input(qtbot, main_window):
    window = main_window
    tab = window.classify_tab
    assert [a.text() for a in tab.correction_button.class_actions][-1] == "Ankle boot"
    assert tab.open_image_file(drawing_path(72))  # an ankle boot drawn on the canvas, saved as a file
    qtbot.waitUntil(lambda: window.image_state.image is not None, timeout=30_000)
    choose(qtbot, window, 9)
    state = window.examples_state
    assert state.counts()[9] == 1
    assert "Kept as an example of Ankle boot (1 now)" in window.message_bar.text()
    example = state.examples()[0]
    assert np.array_equal(example.input, np.round(window.image_state.image * 255).astype(np.uint8))
    assert example.original_name == drawing_path(72).name
    original = Image.open(io.BytesIO(state.original(example.id)))
    assert original.size == (280, 280)  # the picture as opened, not the 28x28 input
    choose(qtbot, window, 9)  # the same input again: still one example
    assert state.counts()[9] == 1 and "already" in window.message_bar.text()
    tab.show_test_image(0)  # a dataset image (no picture): its 28x28 image is kept as the original
    choose(qtbot, window, 3)
    assert state.counts()[3] == 1
    # the My examples tab follows
    examples_tab = window.examples_tab
    assert examples_tab.class_filter.itemText(0) == "All classes (2)"
    assert examples_tab.class_filter.itemText(10) == "Ankle boot (1)"
    assert examples_tab.images_model.rowCount() == 2


def test_examples_tab_import_delete_relabel_export(qtbot, main_window, tmp_path):
    window = main_window
    state, tab = window.examples_state, window.examples_tab
    window.tabs.setCurrentWidget(tab)
    assert not tab.teach_button.isEnabled() and not tab.export_button.isEnabled()
    assert not state.teach()  # nothing to teach: said, not started
    assert "no examples yet" in tab.message_bar.text() and not window.training_controller.is_training
    folder = tmp_path / "pictures"
    for sub, numbers in {"ankle-boot": (72, 73, 74), "Sneakers": (56, 57), "8": (64,)}.items():
        (folder / sub).mkdir(parents=True)
        for number in numbers:
            Image.open(drawing_path(number)).save(folder / sub / f"{number}.png")
    (folder / "Sneakers" / "broken.png").write_bytes(b"not a png")
    with qtbot.waitSignal(state.changed, timeout=60_000):
        assert state.import_path(folder)
    assert "6 examples added, 1 skipped" in tab.message_bar.text() and "broken.png" in tab.message_bar.text()
    assert tab.images_model.rowCount() == 6 and tab.class_filter.itemText(8) == "Sneaker (2)"
    tab.class_filter.setCurrentIndex(10)  # Ankle boot
    assert tab.images_model.rowCount() == 3
    assert not tab.delete_button.isEnabled()
    tab.grid.selectAll()
    tab.grid.selectionModel().select(tab.images_model.index(0), tab.grid.selectionModel().SelectionFlag.Deselect)
    assert tab.delete_button.isEnabled() and len(tab.selected_ids()) == 2
    first_two = tab.selected_ids()
    tab.relabel_selected(7)  # two of the boots were sneakers after all
    assert state.counts()[7] == 4 and state.counts()[9] == 1 and tab.images_model.rowCount() == 1
    tab.class_filter.setCurrentIndex(8)  # Sneaker
    tab.grid.selectionModel().select(tab.images_model.index(3), tab.grid.selectionModel().SelectionFlag.Select)
    assert tab.selected_ids() == [first_two[-1]]
    tab.delete_selected()
    assert state.counts()[7] == 3 and sum(state.counts()) == 5
    archive = tmp_path / "mine.zip"
    with qtbot.waitSignal(state.busyChanged, timeout=30_000, check_params_cb=lambda busy: not busy):
        assert state.export_archive(archive)
    assert "Exported 5 examples" in tab.message_bar.text()
    with zipfile.ZipFile(archive) as opened:
        assert len([n for n in opened.namelist() if n.startswith("inputs/")]) == 5
    with ExampleStore(tmp_path / "elsewhere") as other:
        assert other.import_archive(archive).added == 5 and other.counts() == state.counts()


def test_teach_the_network_runs_through_the_controller_and_reports_before_and_after(qtbot, main_window):
    window = main_window
    state, tab, controller = window.examples_state, window.examples_tab, window.training_controller
    for number in [n for label in (0, 5, 9) for n in range(label * 8, label * 8 + 4)]:
        window.image_state.set_image(None, None)
        assert window.classify_tab.open_image_file(drawing_path(number))
        qtbot.waitUntil(lambda: window.image_state.image is not None, timeout=30_000)
        choose(qtbot, window, number // 8)
    assert sum(state.counts()) == 12
    state.teaching_options = {"official_images": 1500}  # a short fine-tune for the test
    assert tab.teach_button.isEnabled()
    epochs_seen = []
    controller.epochEnded.connect(epochs_seen.append)  # the Train tab's live charts get the same events
    with qtbot.waitSignal(state.teachingReported, timeout=300_000) as reported:
        tab.teach_button.click()
        qtbot.waitUntil(lambda: controller.is_training, timeout=60_000)
        assert tab.stop_button.isEnabled() and not tab.teach_button.isEnabled()
    report = reported.args[0]
    assert len(epochs_seen) == 1 and epochs_seen[0].epochs == 1
    assert report.taught == 9 and report.held_out_before.total == 3 and report.held_out_after.total == 3
    assert report.official_before.total == 10_000 and report.official_after.total == 10_000
    assert report.official_after.value > 0.9
    assert tab.report_table.item(0, 0).text() == report.official_before.text()
    assert tab.report_table.item(1, 1).text() == report.held_out_after.text()
    qtbot.waitUntil(lambda: window.model_state.modified, timeout=60_000)  # a completed run is the model in use
    assert not controller.is_training and tab.teach_button.isEnabled()
