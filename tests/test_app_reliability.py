"""Faults at the application level: bad settings, broken models, log file, permissions, Ctrl+C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings

ROOT = Path(__file__).resolve().parent.parent


def test_broken_model_is_refused_in_the_window_and_the_model_in_use_stays(qtbot, make_window, quick_model_path, tmp_path):
    from cnn_desktop.gui.widgets.messages import open_messages

    window = make_window(quick_model_path, wait_for_data=False)
    model_before = window.model_state.model
    broken = tmp_path / "broken.keras"
    broken.write_bytes(quick_model_path.read_bytes()[:5000])
    window.load_model(broken)
    qtbot.waitUntil(lambda: bool(open_messages(window)), timeout=60_000)
    box = open_messages(window)[0]
    assert "broken.keras" in box.text() and "damaged" in box.text()
    assert window.model_state.model is model_before
    assert "broken" not in window.windowTitle()
    box.close()


def test_errors_reach_the_log_file(qtbot, make_window, quick_model_path, tmp_path):
    from cnn_desktop.gui.app import log_file_path, setup_file_logging
    from cnn_desktop.gui.widgets.messages import open_messages

    setup_file_logging()
    window = make_window(quick_model_path, wait_for_data=False)
    wrong = tmp_path / "wrong-shape.keras"
    import keras

    keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(3)]).save(wrong)
    window.load_model(wrong)
    qtbot.waitUntil(lambda: bool(open_messages(window)), timeout=60_000)
    text = log_file_path().read_text(encoding="utf-8")
    assert "wrong-shape.keras" in text and "10 classes" in text
    assert "ERROR" in text or "WARNING" in text


def test_corrupt_settings_file_is_ignored(qtbot, make_window, quick_model_path):
    from cnn_desktop.gui.app import create_application

    create_application()
    path = Path(QSettings().fileName())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x00\xff[window]\ngeometry=@ByteArray(\x01\x02garbage\ntab=not-a-number\n[[[\n")
    window = make_window(quick_model_path, wait_for_data=False)
    assert window.isVisible()
    assert window.tabs.currentIndex() == 0


def test_settings_from_an_older_version_are_reset(qtbot, make_window, quick_model_path):
    from cnn_desktop.gui.app import create_application
    from cnn_desktop.gui.settings import FORMAT_VERSION as SETTINGS_FORMAT_VERSION, VERSION_KEY as SETTINGS_VERSION

    create_application()
    old = QSettings()
    old.clear()
    old.setValue(SETTINGS_VERSION, 0)
    old.setValue("window/tab", 3)
    old.setValue("window/geometry", "not bytes at all")
    old.sync()
    window = make_window(quick_model_path, wait_for_data=False)
    assert window.tabs.currentIndex() == 0
    assert int(QSettings().value(SETTINGS_VERSION)) == SETTINGS_FORMAT_VERSION


def _without_file_permissions(command):
    """Run ``command`` unable to bypass file permissions (as root: drop CAP_DAC_OVERRIDE and friends)."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: cannot take away the right to read any file")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search", *command]


def test_unreadable_file_gets_a_permission_message(tmp_path, dataset, quick_model_path):
    from PIL import Image

    path = tmp_path / "private.png"
    Image.fromarray(dataset.test_images[0]).save(path)
    path.chmod(0)
    command = _without_file_permissions([sys.executable, "-m", "cnn_desktop", "classify", str(path),
                                        "--model", str(quick_model_path)])
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, cwd=ROOT,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert result.returncode == 1
    assert "permission denied" in result.stderr and "Traceback" not in result.stderr


def test_ctrl_c_in_the_terminal_during_training_ends_the_app_cleanly(tmp_path, quick_model_path):
    """The real app, the real SIGINT handler, a real training in its worker thread."""
    script = textwrap.dedent(f"""
        import sys
        from cnn_desktop.core.training import TrainingConfig
        from cnn_desktop.gui import app as app_module
        from cnn_desktop.gui.main_window import MainWindow
        app = app_module.create_application()
        window = MainWindow(model_path={str(quick_model_path)!r})
        window.show()
        app_module.install_sigint_handler(app, window)
        window.training_controller.started.connect(lambda config: print("training started", flush=True))
        window.data_state.loaded.connect(
            lambda: window.train_tab.start_training(TrainingConfig(preset="seed", epochs=20, limit=50000)))
        window.start_loading()
        code = app.exec()
        print("exited", code, "training" if window.training_controller.is_training else "stopped", flush=True)
        sys.exit(code)
    """)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, env=env, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 180
        line = ""
        while time.monotonic() < deadline and "training started" not in line:
            line = process.stdout.readline()
            if not line and process.poll() is not None:
                break
        assert "training started" in line, process.stderr.read()[-3000:]
        time.sleep(2)  # let it train some batches: the interrupt must land mid-epoch
        interrupted = time.monotonic()
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
        took = time.monotonic() - interrupted
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err[-3000:]
    assert "exited 0 stopped" in out
    assert "Traceback" not in err
    assert took < 30


def test_repeated_trainings_do_not_accumulate_models_or_threads(qtbot, make_window, quick_model_path):
    """Start, finish, start again: each run's model, session and thread are let go (a worker once kept its
    training session, and with it every trained model, alive for the rest of the process)."""
    import gc

    import keras

    from cnn_desktop.core.training import TrainingConfig

    def os_threads():
        return len(os.listdir("/proc/self/task"))

    from cnn_desktop.gui.concurrency.task_runner import TaskRunner

    window = make_window(quick_model_path)
    controller = window.training_controller
    live_models, threads = [], []
    for run in range(4):
        with qtbot.waitSignal(controller.evaluated, timeout=180_000):
            assert controller.start(TrainingConfig(preset="seed", epochs=1, limit=1000, seed=run))
        # Every run's, snapshot's and evaluation's thread has ended and its objects are gone.
        qtbot.waitUntil(lambda: not controller.is_training and not controller.findChildren(TaskRunner),
                        timeout=60_000)
        gc.collect()
        live_models.append(sum(isinstance(obj, keras.Model) for obj in gc.get_objects()))
        threads.append(os_threads())
    # The first run still warms things up (the tabs build their views of a trained model); after it, flat.
    assert live_models[3] <= live_models[1], live_models
    assert threads[3] <= threads[1], threads
