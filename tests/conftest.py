"""Shared fixtures. Tests use the real dataset, real TensorFlow and real Qt widgets (offscreen)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

# Before anything imports Qt: no display in CI, and settings/logs kept out of the user's home.
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
_SANDBOX = Path(tempfile.mkdtemp(prefix="cnn-desktop-tests-"))
for _var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
    os.environ[_var] = str(_SANDBOX / _var.lower())

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from cnn_desktop import config  # noqa: E402


@pytest.fixture(scope="session")
def dataset():
    """The real Fashion-MNIST (the tests need it installed: `make test` installs it)."""
    from cnn_desktop.core.dataset import load_dataset

    return load_dataset(allow_download=True)


@pytest.fixture(scope="session")
def quick_model_path(tmp_path_factory, dataset):
    """A seed model trained for one epoch on 3,000 images (a few seconds), saved with its card."""
    from cnn_desktop.core.evaluation import evaluate
    from cnn_desktop.core.model_io import make_card, save_model
    from cnn_desktop.core.training import TrainingConfig, TrainingSession

    result = TrainingSession(TrainingConfig(preset="seed", epochs=1, limit=3000, seed=1), data=dataset).run()
    test = evaluate(result.model, dataset.test_images[:2000], dataset.test_labels[:2000])
    path = tmp_path_factory.mktemp("models") / "quick.keras"
    save_model(result.model, path, make_card(preset="seed", epochs=1, batch_size=32,
                                             test_accuracy=test.accuracy, test_loss=test.loss, name="quick"))
    return path


@pytest.fixture(scope="session")
def default_model_path():
    path = config.default_model_path()
    if not path.exists():
        pytest.fail(f"the bundled model {path} is missing")
    return path


@pytest.fixture(scope="session")
def default_model(default_model_path):
    from cnn_desktop.core.model_io import load_model

    model, _card = load_model(default_model_path)
    return model


@pytest.fixture(scope="session")
def qapp_args():
    return ["cnn-desktop-tests"]


@pytest.fixture
def main_window(qtbot, default_model_path):
    """The real main window with the bundled model loaded and the dataset loaded."""
    from cnn_desktop.gui.app import create_application
    from cnn_desktop.gui.main_window import MainWindow

    create_application()
    window = MainWindow(model_path=default_model_path)
    qtbot.addWidget(window)
    window.show()
    with qtbot.waitSignal(window.model_state.modelChanged, timeout=60_000):
        window.start_loading()
    qtbot.waitUntil(lambda: window.data_state.dataset is not None, timeout=60_000)
    yield window
    window.close_without_asking()  # a test's trained model needs no close question


@pytest.fixture
def make_window(qtbot):
    """Build a real MainWindow on a given model file and wait until it is loaded (or failed)."""
    from cnn_desktop.gui.app import create_application
    from cnn_desktop.gui.main_window import MainWindow

    windows = []

    def make(model_path, wait_for_data: bool = True):
        create_application()
        window = MainWindow(model_path=model_path)
        qtbot.addWidget(window)
        window.show()
        with qtbot.waitSignal(window.model_state.modelChanged, timeout=60_000):
            window.start_loading()
        if wait_for_data:
            qtbot.waitUntil(lambda: window.data_state.dataset is not None, timeout=60_000)
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.close_without_asking()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item):
    """Collect a test's garbage on the main (GUI) thread once its windows are closed.

    The app collects cycles on a GUI-thread timer (``gui.app.collect_garbage_on_the_gui_thread``) because a
    collection run by a worker thread destroys dead widgets there and can deadlock Qt; between tests no event
    loop runs that timer, so the next test's workers would otherwise find the previous test's windows.
    """
    yield
    import gc

    gc.collect()
