"""Running long work off the GUI thread.

The work itself is a plain function or object from the core that reports
through a callback and checks a stop flag; this module is only the thin Qt
adapter: a worker QObject moved to a QThread, whose reports become signals
(delivered to the GUI thread by Qt's queued connections). Workers never touch
widgets. Pattern after Orange3's ``concurrent.py`` and superqt's ``_qthreading``.
"""

from __future__ import annotations

import logging
import traceback
from typing import Callable

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from cnn_desktop.core.dataset import DatasetError
from cnn_desktop.core.model_io import ModelFileError
from cnn_desktop.core.preprocessing import ImageError
from cnn_desktop.core.training import TrainingConfigError

log = logging.getLogger(__name__)

# Errors that mean "this input cannot be used" rather than "the program is broken": logged without alarm
# (the details still reach the log file), shown to the user by whoever handles ``failed``.
EXPECTED_ERRORS = (DatasetError, ModelFileError, ImageError, TrainingConfigError)


class FunctionWorker(QObject):
    """Runs ``fn(*args)`` once in its thread; emits ``finished(result)`` or ``failed(message, details)``."""

    finished = Signal(object)
    failed = Signal(str, str)

    def __init__(self, fn: Callable, *args, **kwargs):
        super().__init__()
        self._fn, self._args, self._kwargs = fn, args, kwargs

    @Slot()
    def run(self) -> None:
        fn, args, kwargs = self._fn, self._args, self._kwargs
        # Let go of the task (and whatever it holds: a training session holds its model) once it has run,
        # however long Python keeps this worker's wrapper alive.
        self._fn, self._args, self._kwargs = None, (), {}
        try:
            result = fn(*args, **kwargs)
        except EXPECTED_ERRORS as exc:  # bad input the user can act on: the message says it all
            log.info("background task refused: %s", exc, exc_info=True)
            self.failed.emit(str(exc), traceback.format_exc())
            return
        except Exception as exc:  # reported to the GUI, which shows it; the thread ends normally
            log.exception("background task failed")
            self.failed.emit(str(exc) or type(exc).__name__, traceback.format_exc())
            return
        finally:
            del fn, args, kwargs
        self.finished.emit(result)


class TaskRunner(QObject):
    """Owns a QThread + worker pair for one task and cleans both up when it ends.

    ``cancel`` is whatever makes the task stop early (e.g. ``session.cancel``);
    ``stop_and_wait`` is what ``closeEvent`` calls.
    """

    finished = Signal(object)
    failed = Signal(str, str)
    done = Signal()  # after finished/failed, when the thread has ended

    def __init__(self, fn: Callable, *args, cancel: Callable[[], None] | None = None, name: str = "task", parent=None):
        super().__init__(parent)
        self.name = name
        self._cancel = cancel
        self._thread = QThread()
        self._thread.setObjectName(name)
        self.worker = FunctionWorker(fn, *args)
        self.worker.moveToThread(self._thread)
        self._thread.started.connect(self.worker.run)
        self.worker.finished.connect(self.finished)
        self.worker.failed.connect(self.failed)
        # Direct: quit() is thread-safe, and a queued call would wait for the GUI thread, which may be
        # blocked in stop_and_wait() for this very thread (a deadlock until the timeout).
        self.worker.finished.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self.worker.failed.connect(self._thread.quit, Qt.ConnectionType.DirectConnection)
        self._thread.finished.connect(self._on_thread_finished)

    @property
    def thread(self) -> QThread:
        return self._thread

    def start(self) -> None:
        self._thread.start()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def cancel(self) -> None:
        if self._cancel is not None:
            self._cancel()

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        """Ask the task to stop and wait for its thread; True when it ended in time."""
        if not self._thread.isRunning():
            return True
        self.cancel()
        ended = self._thread.wait(timeout_ms)
        if not ended:
            log.error("%s did not stop within %d ms", self.name, timeout_ms)
        return ended

    @Slot()
    def _on_thread_finished(self) -> None:
        self.worker.deleteLater()
        self.done.emit()
