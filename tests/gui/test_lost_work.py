"""Issue 13 in the window: never lose a trained model, never hang on a hostile model file.

Real main window offscreen, real models and files; the close question and the file dialogs are answered by
clicking their real buttons (they open without a nested event loop, so nothing here can hang on them).
Time bounds are checked on the real app in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication, QFileDialog, QMessageBox

from cnn_desktop import config
from cnn_desktop.core.model_io import card_path
from cnn_desktop.core.training import TrainingConfig

ROOT = Path(__file__).resolve().parents[2]
TRAINING_TIMEOUT_MS = 180_000


def weights_of(model) -> list[np.ndarray]:
    return [w.copy() for w in model.get_weights()]


def mark_trained_here(window) -> None:
    """Make the model in use one 'trained in this session and not saved' (what a finished run leaves)."""
    window.model_state.set_weights(window.model_state.model.get_weights())
    assert window.training_controller.has_unsaved_model


def button(box: QMessageBox, text: str):
    matches = [b for b in box.buttons() if b.text().replace("&", "") == text]
    assert matches, [b.text() for b in box.buttons()]
    return matches[0]


def click(qtbot, widget) -> None:
    qtbot.mouseClick(widget, Qt.MouseButton.LeftButton)


def open_dialog(window, name: str) -> QFileDialog:
    dialogs = [d for d in window.findChildren(QFileDialog, name) if d.isVisible()]
    assert len(dialogs) == 1
    return dialogs[0]


def choose_file(qtbot, dialog: QFileDialog, path: Path) -> None:
    """Answer a file dialog as a user would: type the file name, then accept."""
    dialog.selectFile(str(path))
    with qtbot.waitSignal(dialog.fileSelected, timeout=5_000):
        dialog.accept()


# ---------------------------------------------------------------------- item 5: Save model as…
@pytest.fixture
def unwritable_data_home(tmp_path, monkeypatch):
    """XDG_DATA_HOME (and so the default models folder) below a plain file: it cannot be created, even by root."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where a folder should be")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "share"))
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return blocker, home


def test_save_as_opens_in_a_usable_folder_and_every_failure_offers_another(qtbot, make_window, quick_model_path,
                                                                          unwritable_data_home, tmp_path):
    blocker, home = unwritable_data_home
    window = make_window(quick_model_path, wait_for_data=False)
    mark_trained_here(window)
    with pytest.raises(OSError):
        config.user_models_dir().mkdir(parents=True)

    window.save_model_dialog()
    dialog = open_dialog(window, "saveModelDialog")
    assert Path(dialog.directory().absolutePath()) == home  # the models folder cannot exist: home instead
    # A place that cannot be written: the failure is shown in the window, with the way out.
    choose_file(qtbot, dialog, blocker / "m.keras")
    bar = window.message_bar
    qtbot.waitUntil(lambda: bar.kind == "critical", timeout=10_000)
    assert "not saved" in bar.text() and "not-a-folder" in bar.text()
    assert bar.action_button.isVisible() and bar.action_button.text() == "Choose another folder…"
    assert window.training_controller.has_unsaved_model  # nothing lost

    click(qtbot, bar.action_button)
    dialog = open_dialog(window, "saveModelDialog")
    target = tmp_path / "kept.keras"
    with qtbot.waitSignal(window.model_state.saved, timeout=60_000):
        choose_file(qtbot, dialog, target)
    assert target.is_file() and card_path(target).is_file()
    assert not window.training_controller.has_unsaved_model and not bar.isVisible()


def test_a_failure_during_the_background_save_is_shown_with_the_way_out(qtbot, make_window, quick_model_path,
                                                                        tmp_path):
    window = make_window(quick_model_path, wait_for_data=False)
    mark_trained_here(window)
    folder = tmp_path / "models"
    folder.mkdir()
    with qtbot.waitSignal(window.model_state.saveFailed, timeout=60_000):
        # Past the window's check of the place: the card's name is taken by a folder, so the save itself fails.
        card_path(folder / "m.keras").mkdir()
        window.model_state.save(folder / "m.keras")
    assert window.message_bar.kind == "critical" and "not saved" in window.message_bar.text()
    assert window.message_bar.action_button.text() == "Choose another folder…"
    assert window.training_controller.has_unsaved_model


# ---------------------------------------------------------------------- item 8: Stop and close
def test_stop_keeps_the_previous_model_and_offers_the_stopped_one(qtbot, make_window, quick_model_path):
    window = make_window(quick_model_path)
    controller, model_state = window.training_controller, window.model_state
    before, weights_before = model_state.model, weights_of(model_state.model)
    window.show_tab("train")
    assert window.train_tab.start_training(TrainingConfig(preset="seed", epochs=4, limit=3000, seed=5))
    # Wait until the app shows the epoch's weights (the snapshot model is in use), then stop.
    qtbot.waitUntil(lambda: model_state.model is not before, timeout=TRAINING_TIMEOUT_MS)
    with qtbot.waitSignal(controller.resultAwaitingDecision, timeout=TRAINING_TIMEOUT_MS) as awaiting:
        click(qtbot, window.train_tab.stop_button)
    result = awaiting.args[0]
    assert result.status == "cancelled" and result.epochs_completed >= 1
    assert model_state.model is before and not model_state.modified and not controller.has_unsaved_model
    for old, now in zip(weights_before, model_state.model.get_weights()):
        np.testing.assert_array_equal(old, now)

    offer = window.train_tab.message.action_button
    assert offer.isVisible()
    assert offer.text().startswith(f"Use the stopped model ({result.epochs_completed} epoch")
    assert f"val acc {result.val_accuracy:.1%}" in offer.text()
    with qtbot.waitSignal(controller.resultAdopted, timeout=60_000):
        click(qtbot, offer)
    assert model_state.model is not before and "unsaved" in model_state.name
    np.testing.assert_array_equal(model_state.model.get_weights()[0], result.model.get_weights()[0])


def test_closing_with_a_stopped_model_not_yet_used_asks(qtbot, make_window, quick_model_path):
    """A stopped run's model waits for "Use the stopped model"; closing then must not drop it unasked."""
    window = make_window(quick_model_path)
    controller, model_state = window.training_controller, window.model_state
    before = model_state.model
    assert window.train_tab.start_training(TrainingConfig(preset="seed", epochs=4, limit=3000, seed=6))
    qtbot.waitUntil(lambda: model_state.model is not before, timeout=TRAINING_TIMEOUT_MS)
    with qtbot.waitSignal(controller.resultAwaitingDecision, timeout=TRAINING_TIMEOUT_MS):
        controller.stop()
    assert not controller.has_unsaved_model and controller.pending_result is not None

    assert not window.close()
    box = window.close_question
    assert box is not None and "stopped training" in box.text() and "epoch" in box.text()
    assert {"Use the stopped model", "Discard", "Cancel"} <= {b.text().replace("&", "") for b in box.buttons()}
    click(qtbot, button(box, "Cancel"))
    assert window.isVisible() and controller.pending_result is not None

    window.close()
    with qtbot.waitSignal(controller.resultAdopted, timeout=60_000):
        click(qtbot, button(window.close_question, "Use the stopped model"))
    assert window.isVisible() and controller.has_unsaved_model and model_state.model is not before

    window.close()  # now the usual question about an unsaved trained model
    assert "not saved" in window.close_question.text()
    click(qtbot, button(window.close_question, "Discard"))
    assert not window.isVisible()


def test_closing_during_training_asks_and_cancel_keeps_training(qtbot, make_window, quick_model_path):
    window = make_window(quick_model_path)
    controller = window.training_controller
    assert window.train_tab.start_training(TrainingConfig(preset="seed", epochs=20, limit=50_000))
    qtbot.waitUntil(lambda: controller.is_training, timeout=10_000)
    threads = controller.run_threads()

    assert not window.close()
    box = window.close_question
    assert box is not None and box.isVisible() and "training is running" in box.text()
    click(qtbot, button(box, "Cancel"))
    assert window.isVisible() and controller.is_training and window.close_question is None

    assert not window.close()
    click(qtbot, button(window.close_question, "Stop and close"))
    qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
    assert all(thread.isFinished() for thread in threads)


@pytest.mark.parametrize("answer", ["Cancel", "Discard", "Save"])
def test_closing_with_an_unsaved_trained_model_asks(qtbot, make_window, quick_model_path, tmp_path, answer):
    window = make_window(quick_model_path, wait_for_data=False)
    mark_trained_here(window)
    assert not window.close()
    box = window.close_question
    assert "not saved" in box.text() and {"Save", "Discard", "Cancel"} <= {b.text().replace("&", "")
                                                                           for b in box.buttons()}
    click(qtbot, button(box, answer))
    if answer == "Cancel":
        assert window.isVisible() and window.training_controller.has_unsaved_model
        return
    if answer == "Save":
        assert window.isVisible()  # not before the model is saved
        target = tmp_path / "before-closing.keras"
        choose_file(qtbot, open_dialog(window, "saveModelDialog"), target)
        qtbot.waitUntil(lambda: not window.isVisible(), timeout=60_000)
        assert target.is_file()
    else:
        assert not window.isVisible()


def test_cancelling_the_save_dialog_after_save_keeps_the_window_open(qtbot, make_window, quick_model_path):
    window = make_window(quick_model_path, wait_for_data=False)
    mark_trained_here(window)
    window.close()
    click(qtbot, button(window.close_question, "Save"))
    open_dialog(window, "saveModelDialog").reject()
    qtbot.wait(50)
    assert window.isVisible() and window.training_controller.has_unsaved_model
    window.close()  # asks again
    assert window.close_question is not None
    click(qtbot, button(window.close_question, "Cancel"))


# ---------------------------------------------------------------------- item 9: the last-used model
@pytest.fixture
def fresh_settings():
    from cnn_desktop.gui.app import create_application

    create_application()
    QSettings().clear()
    QSettings().sync()


def damaged_copy(source: Path, folder: Path) -> Path:
    path = folder / "damaged.keras"
    path.write_bytes(source.read_bytes()[:4000])
    return path


@pytest.mark.parametrize("kind", ["damaged", "missing", "fifo", "endless name"])
def test_an_unusable_last_model_falls_back_to_the_bundled_one(qtbot, fresh_settings, quick_model_path, tmp_path,
                                                              kind):
    from cnn_desktop.gui import settings as keys
    from cnn_desktop.gui.main_window import MainWindow
    from cnn_desktop.gui.settings import open_settings

    path = {"damaged": lambda: damaged_copy(quick_model_path, tmp_path),
            "missing": lambda: tmp_path / "gone.keras",
            "fifo": lambda: (os.mkfifo(tmp_path / "f.keras"), tmp_path / "f.keras")[1],
            "endless name": lambda: tmp_path / ("a" * 5000 + ".keras")}[kind]()
    open_settings().set(keys.LAST_MODEL, str(path))
    window = MainWindow()
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.model_state.loaded, timeout=60_000) as loaded:
        window.start_loading()
    try:
        assert loaded.args[0] == config.default_model_path()
        assert window.model_state.ready and "loading" not in window.windowTitle().lower()
        bar = window.message_bar
        assert bar.kind == "warning" and "bundled model" in bar.text() and path.name in bar.text()
        # A hostile path in a message does not stretch the window beyond any screen.
        assert window.minimumSizeHint().width() < 1600
        assert open_settings().get_str(keys.LAST_MODEL, "") == ""  # not tried again at the next start
    finally:
        window.close_without_asking()


# ---------------------------------------------------------------------- items 1 and 2 in the real app
def test_the_app_refuses_a_fifo_or_endless_model_at_once_and_closes_in_seconds(tmp_path, quick_model_path):
    """File ▸ Load Model on a FIFO, then on a /dev/zero symlink, in the real app: a message at once, the model
    in use stays, and the window closes within seconds (it once froze for 30 s and aborted)."""
    fifo = tmp_path / "f.keras"
    os.mkfifo(fifo)
    zero = tmp_path / "z.keras"
    zero.symlink_to("/dev/zero")
    script = textwrap.dedent(f"""
        import sys, time
        from pathlib import Path
        from PySide6.QtCore import QTimer
        from cnn_desktop.gui import app as app_module
        from cnn_desktop.gui.main_window import MainWindow
        app = app_module.create_application()
        window = MainWindow(model_path={str(quick_model_path)!r})
        window.show()
        hostile = [Path({str(fifo)!r}), Path({str(zero)!r})]
        state = {{"asked": None}}
        def next_file():
            if hostile:
                state["asked"] = time.monotonic()
                window.load_model(hostile.pop(0))
            else:
                print("close", time.monotonic(), flush=True)
                window.close()
        def on_failed(message, details):
            print("refused", round(time.monotonic() - state["asked"], 3), window.model_state.name,
                  message.replace(chr(10), " "), flush=True)
            QTimer.singleShot(0, next_file)
        window.model_state.loadFailed.connect(on_failed)
        window.model_state.loaded.connect(lambda path: QTimer.singleShot(0, next_file) if state["asked"] is None
                                          else print("LOADED", path, flush=True))
        window.start_loading()
        code = app.exec()
        print("exited", time.monotonic(), flush=True)
        sys.exit(code)
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=ROOT,
                             timeout=300)
    lines = process.stdout.splitlines()
    assert process.returncode == 0, process.stderr[-3000:]
    refused = [line for line in lines if line.startswith("refused")]
    assert len(refused) == 2, process.stdout + process.stderr[-3000:]
    assert "named pipe" in refused[0] and "character device" in refused[1]
    for line in refused:
        seconds, name = float(line.split()[1]), line.split()[2]
        assert seconds < 5 and name == "quick"  # at once, and the model in use stays
    closed = float(next(line for line in lines if line.startswith("close")).split()[1])
    exited = float(next(line for line in lines if line.startswith("exited")).split()[1])
    assert exited - closed < 5
    assert "QThread: Destroyed" not in process.stderr and "LOADED" not in process.stdout


# ---------------------------------------------------------------------- smaller: size and log location
def test_a_tiny_window_never_clips_its_tabs(qtbot, main_window):
    main_window.resize(300, 200)
    for index in range(main_window.tabs.count()):
        main_window.tabs.setCurrentIndex(index)
        QApplication.processEvents()
        tab = main_window.tabs.currentWidget()
        hint = tab.minimumSizeHint()
        assert tab.width() >= hint.width() and tab.height() >= hint.height(), main_window.tabs.tabText(index)
    assert main_window.width() > 300 and main_window.height() > 200


def test_log_location_says_when_the_log_folder_cannot_be_written(qtbot, main_window, tmp_path, monkeypatch):
    import logging

    from cnn_desktop.gui import launch
    from cnn_desktop.gui.widgets.messages import open_messages

    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(blocker / "share"))
    monkeypatch.setattr(launch, "_log_file_problem", "")  # put back afterwards, with the environment
    root = logging.getLogger()
    installed = [h for h in root.handlers if getattr(h, "_cnn_desktop_file", False)]
    for handler in installed:  # as at a fresh start
        root.removeHandler(handler)
    try:
        assert launch.setup_file_logging() is None
        main_window.show_log_location()
        text = open_messages(main_window)[-1].text()
        assert "cannot be written" in text and "stderr" in text and str(launch.log_file_path()) in text
    finally:
        for handler in installed:
            root.addHandler(handler)
        for box in open_messages(main_window):
            box.close()


# ---------------------------------------------------------------------- smaller: huge pictures off the GUI thread
def test_a_huge_16_bit_picture_is_decoded_off_the_gui_thread(qtbot, main_window, tmp_path, monkeypatch):
    """An 8000x8000 16-bit PNG once froze the window for 3.5 s: a dropped (or File ▸ Open) picture is decoded
    in a worker while the event loop goes on."""
    from PIL import Image
    from PySide6.QtCore import QMimeData, QTimer, QUrl

    from cnn_desktop.gui.tabs import classify_tab as module

    side = 8000
    pixels = np.full((side, side), 60_000, np.uint16)
    pixels[2000:6000, 3000:5000] = 9_000  # a dark item on a light background
    path = tmp_path / "huge16.png"
    Image.fromarray(pixels).save(path, compress_level=1)
    assert Image.open(path).mode.startswith("I;16") and Image.open(path).size == (side, side)
    decodes = []
    real_read = module.read_picture_file

    def recording_read(picture_path):
        start = time.monotonic()
        try:
            return real_read(picture_path)
        finally:
            decodes.append((threading.current_thread(), start, time.monotonic()))

    monkeypatch.setattr(module, "read_picture_file", recording_read)
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(time.monotonic()))
    timer.start(5)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    tab = main_window.classify_tab
    assert tab.open_mime_data(mime, "drop")
    state = main_window.image_state
    qtbot.waitUntil(lambda: state.source is not None and state.source.description == path.name, timeout=60_000)
    timer.stop()
    assert len(decodes) == 1
    thread, start, end = decodes[0]
    assert thread is not threading.main_thread()
    assert any(start < tick < end for tick in ticks)  # the event loop ran while the picture was decoded
    assert tab.error_message == "" and state.image is not None



def test_with_no_usable_model_at_all_the_window_says_so_instead_of_loading_forever(
        qtbot, fresh_settings, tmp_path, quick_model_path, monkeypatch):
    """The model asked for is gone and the bundled one is damaged too (a broken install): the title and the
    status bar say "no model" and a message says what to do, not "Loading model …" for ever."""
    from PySide6.QtWidgets import QLabel

    from cnn_desktop.gui.main_window import MainWindow
    from cnn_desktop.gui.widgets.messages import open_messages

    broken_install = damaged_copy(quick_model_path, tmp_path)
    monkeypatch.setattr(config, "default_model_path", lambda: broken_install)
    window = MainWindow(model_path=tmp_path / "gone.keras")
    qtbot.addWidget(window)
    window.show()
    window.start_loading()
    qtbot.waitUntil(lambda: bool(open_messages(window)), timeout=60_000)
    try:
        assert not window.model_state.loading and not window.model_state.ready
        assert "no model" in window.windowTitle()
        assert "No model" in [label.text() for label in window.statusBar().findChildren(QLabel)]
        assert "Load Model" in open_messages(window)[0].text()
    finally:
        for box in open_messages(window):
            box.close()
        window.close_without_asking()


def test_training_cannot_start_while_a_model_file_loads(qtbot, make_window, quick_model_path):
    """A model arriving during a run would be overwritten by the run's epoch snapshots (and lost on Stop)."""
    window = make_window(quick_model_path)
    start = window.train_tab.start_button
    assert start.isEnabled()
    with qtbot.waitSignal(window.model_state.loaded, timeout=60_000):
        window.load_model(quick_model_path)
        assert window.model_state.loading and not start.isEnabled()
    assert start.isEnabled()
