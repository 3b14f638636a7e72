"""The Qt adapter for one training: a core ``TrainingSession`` run in a worker thread.

The session reports through a plain listener callback from the worker thread;
here each event becomes a signal on this object, which lives in the GUI thread,
so Qt queues the delivery and the receiving slots run in the GUI thread. The
worker never touches a widget. Thread ownership and clean-up come from
``TaskRunner``; this class only adds the event signals, and copies the model
to continue from inside the worker (a Keras clone is no work for the GUI thread).
"""

from __future__ import annotations

import logging
import threading

from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnn_desktop.core.model import copy_model
from cnn_desktop.core.training import (BatchProgress, EpochEnd, TrainingConfig, TrainingMessage, TrainingSession,
                                       TrainingStarted)
from cnn_desktop.gui.concurrency.task_runner import TaskRunner

log = logging.getLogger(__name__)


class TrainingRun(QObject):
    """One training run. Create (validates the config: may raise TrainingConfigError), then ``start()``.

    ``continue_from``: a model whose architecture and weights the run starts
    from; the worker trains its own copy of it, the model itself is only read.
    Signals arrive in the GUI thread, in the order the session sent them;
    ``finished`` or ``failed`` comes after every event, and ``done`` last,
    once the thread has ended.
    """

    started = Signal(object)  # TrainingStarted
    batchProgress = Signal(object)  # BatchProgress (the session throttles these to ~20 per second)
    epochEnded = Signal(object)  # EpochEnd, with a weight snapshot
    message = Signal(str)  # what the session is doing, for the log (e.g. preparing extra training images)
    finished = Signal(object)  # TrainingResult
    failed = Signal(str, str)  # message, traceback
    done = Signal()

    # Emitted by the listener in the worker thread; the connection to _dispatch (a slot of
    # this GUI-thread object) is therefore queued.
    _event = Signal(object)

    def __init__(self, training_config: TrainingConfig, *, data, continue_from=None, make_recorder=None,
                 parent=None):
        super().__init__(parent)
        self.config = training_config.resolved()  # raises TrainingConfigError
        self._data, self._continue_from = data, continue_from
        # make_recorder(): a core RunRecorder, made in the worker (opening the run history may wait on a lock)
        self._make_recorder = make_recorder
        self.recorder = None  # the RunRecorder of this run, once the worker has made it
        self._session: TrainingSession | None = None  # made in the worker thread
        self._cancelled = threading.Event()
        self._session_lock = threading.Lock()
        self._event.connect(self._dispatch)
        self._runner = TaskRunner(self._train, cancel=self.cancel, name="training", parent=self)
        self._runner.finished.connect(self.finished)
        self._runner.failed.connect(self.failed)
        self._runner.done.connect(self._on_done)

    def _train(self):
        """Runs in the worker thread: copy the model to continue from, then fit."""
        model = copy_model(self._continue_from) if self._continue_from is not None else None
        self._continue_from = None
        listener = self._event.emit
        if self._make_recorder is not None:
            self.recorder = self._make_recorder()
            listener = self.recorder.wrap(listener)
        session = TrainingSession(self.config, data=self._data, model=model, listener=listener)
        self._data = None
        with self._session_lock:
            self._session = session
            if self._cancelled.is_set():
                session.cancel()
        try:
            result = session.run()
        except BaseException as exc:
            if self.recorder is not None:
                self.recorder.fail(f"The training failed: {type(exc).__name__}: {exc}")
            raise
        else:
            if self.recorder is not None:
                self.recorder.finish(result)
            return result
        finally:
            with self._session_lock:
                self._session = None  # the result holds the model; the run need not

    @property
    def thread(self) -> QThread:
        """The worker thread (for checks that it has ended)."""
        return self._runner.thread

    def start(self) -> None:
        log.info("training started: %s", self.config)
        self._runner.start()

    def is_running(self) -> bool:
        return self._runner.is_running()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Ask the session to stop after the batch in progress; safe to call at any time, from any thread."""
        with self._session_lock:
            self._cancelled.set()
            if self._session is not None:
                self._session.cancel()

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
