"""The Qt adapter for one training: a core ``TrainingSession`` run in a worker thread.

The session reports through a plain listener callback from the worker thread;
here each event becomes a signal on this object, which lives in the GUI thread,
so Qt queues the delivery and the receiving slots run in the GUI thread. The
worker never touches a widget. Thread ownership and clean-up come from
``workers.TaskRunner``; this class only adds the event signals.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnn_desktop.core.training import (
    BatchProgress,
    EpochEnd,
    TrainingConfig,
    TrainingMessage,
    TrainingSession,
    TrainingStarted,
)
from cnn_desktop.gui.concurrency.task_runner import TaskRunner

log = logging.getLogger(__name__)


class TrainingRun(QObject):
    """One training run. Create (validates the config: may raise TrainingConfigError), then ``start()``.

    Signals arrive in the GUI thread, in the order the session sent them;
    ``finished`` or ``failed`` comes after every event, and ``done`` last,
    once the thread has ended.
    """

    started = Signal(object)  # TrainingStarted
    batchProgress = Signal(object)  # BatchProgress (the session throttles these to ~20 per second)
    epochEnded = Signal(object)  # EpochEnd, with a weight snapshot
    message = Signal(str)
    finished = Signal(object)  # TrainingResult
    failed = Signal(str, str)  # message, traceback
    done = Signal()

    # Emitted by the listener in the worker thread; the connection to _dispatch (a slot of
    # this GUI-thread object) is therefore queued.
    _event = Signal(object)

    def __init__(self, training_config: TrainingConfig, *, data, model=None, parent=None):
        super().__init__(parent)
        self.session = TrainingSession(training_config, data=data, model=model, listener=self._event.emit)
        self.config = self.session.config  # resolved and validated
        self._event.connect(self._dispatch)
        self._runner = TaskRunner(self.session.run, cancel=self.session.cancel, name="training", parent=self)
        self._runner.finished.connect(self.finished)
        self._runner.failed.connect(self.failed)
        self._runner.done.connect(self._on_done)

    @property
    def thread(self) -> QThread:
        """The worker thread (for checks that it has ended)."""
        return self._runner._thread

    def start(self) -> None:
        log.info("training started: %s", self.config)
        self._runner.start()

    def is_running(self) -> bool:
        return self._runner.is_running()

    def cancel(self) -> None:
        """Ask the session to stop after the batch in progress; safe to call at any time."""
        self.session.cancel()

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        return self._runner.stop_and_wait(timeout_ms)

    @Slot(object)
    def _dispatch(self, event) -> None:
        if isinstance(event, BatchProgress):
            self.batchProgress.emit(event)
        elif isinstance(event, EpochEnd):
            self.epochEnded.emit(event)
        elif isinstance(event, TrainingStarted):
            self.started.emit(event)
        elif isinstance(event, TrainingMessage):
            self.message.emit(event.text)

    @Slot()
    def _on_done(self) -> None:
        # QThread.finished is sent just before the thread really ends; wait for it so that
        # whoever drops this object next never destroys a running QThread.
        self.thread.wait()
        self.done.emit()
