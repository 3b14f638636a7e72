"""Starting the desktop app: QApplication, settings names, log file, main window, self-test."""

from __future__ import annotations

import logging
import os
import signal
import sys
import time

from cnn_desktop import __version__, config
from cnn_desktop.gui.launch import LAUNCH_TIME, log_file_path, setup_file_logging

__all__ = ["LAUNCH_TIME", "create_application", "log_file_path", "run_app", "setup_file_logging"]

log = logging.getLogger(__name__)


def create_application(argv=None):
    from PySide6.QtGui import QIcon
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication(list(argv or sys.argv[:1]))
    app.setOrganizationName(config.ORGANIZATION_NAME)
    app.setOrganizationDomain(config.ORGANIZATION_DOMAIN)
    app.setApplicationName(config.APP_NAME)
    app.setApplicationDisplayName("cnn-desktop")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("cnn-desktop")
    if config.icon_path().exists():
        app.setWindowIcon(QIcon(str(config.icon_path())))
    collect_garbage_on_the_gui_thread()
    return app


_garbage_collector = None


def collect_garbage_on_the_gui_thread() -> None:
    """Python's cycle collector runs in whichever thread happens to allocate; when that is a worker (a model
    loading, a training) and the garbage holds a closed dialog or window, the widgets are destroyed off the GUI
    thread. That deadlocked the app: the worker's QObject destructor waited for the GIL while the GUI thread
    waited for the destructor's lock. pyqtgraph's collector turns automatic collection off and collects on a
    GUI-thread timer instead (once a second, with Python's own thresholds)."""
    global _garbage_collector
    if _garbage_collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _garbage_collector = GarbageCollector(interval=1.0)


def install_sigint_handler(app, window) -> None:
    """Ctrl+C in the terminal closes the window cleanly (stopping any training) instead of killing Python."""
    from PySide6.QtCore import QTimer

    def handle(*_):
        log.info("interrupted from the terminal; closing")
        window.close_without_asking()  # Ctrl+C is the answer: no question that nobody at the terminal sees
        app.quit()

    try:
        signal.signal(signal.SIGINT, handle)
    except ValueError:  # not the main thread (e.g. under some test runners)
        return
    # Python runs signal handlers only between bytecodes; a light timer lets it in while Qt waits.
    timer = QTimer(window)
    timer.timeout.connect(lambda: None)
    timer.start(200)


def run_app(model_path=None, data_dir=None, self_test: bool = False) -> int:
    if self_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    app = create_application()
    setup_file_logging()
    from cnn_desktop.gui.main_window import MainWindow

    window = MainWindow(model_path=model_path, data_dir=data_dir)
    window.show()
    log.info("window shown %.2f s after launch", time.perf_counter() - LAUNCH_TIME)
    if self_test:
        from cnn_desktop.gui.self_test import run_self_test

        return run_self_test(app, window)
    install_sigint_handler(app, window)
    if os.environ.get("CNN_DESKTOP_STARTUP_PROBE"):
        _install_startup_probe(window)
    window.start_loading()
    return app.exec()


def _install_startup_probe(window) -> None:
    """CNN_DESKTOP_STARTUP_PROBE=1 (benchmarks/run.py): stamp 'window_shown' and 'model_ready' on stderr
    (CLOCK_MONOTONIC, comparable with the launching process' clock), then close the window."""
    import numpy as np
    from PySide6.QtCore import QTimer

    def stamp(event: str) -> None:
        if sys.stderr is None:  # a windowed build has no stderr: nothing to report to
            return
        sys.stderr.write(f"{event} {time.monotonic():.4f}\n")  # machine-readable, not a log line
        sys.stderr.flush()

    def first_prediction() -> None:
        window.model_state.classifier.classify(np.zeros((config.IMAGE_SIZE, config.IMAGE_SIZE), np.float32))
        stamp("model_ready")
        QTimer.singleShot(0, window.close)

    QTimer.singleShot(0, lambda: stamp("window_shown"))  # after the show event has been processed
    window.model_state.modelChanged.connect(first_prediction)
