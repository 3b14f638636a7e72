""""Only the newest result counts": one background task at a time, a newer one replaces the older.

Starting a task cancels the one in progress and disconnects it, so its result,
even if it arrives later, never reaches the receiver (as Orange3's
``ConcurrentMixin``). The replaced task's thread is left to end on its own and
is waited for by ``stop_and_wait``; nothing blocks the GUI thread.
"""

from __future__ import annotations

import logging
from typing import Callable

from PySide6.QtCore import QObject, Signal, Slot

from cnn_desktop.gui.concurrency.task_runner import TaskRunner

log = logging.getLogger(__name__)


class LatestTask(QObject):
    """``start(fn, *args)`` runs ``fn`` in a worker thread; only the newest call's outcome is signalled.

    ``finished(result)`` or ``failed(message, details)`` come from the newest
    task only; ``runningChanged(bool)`` says whether that task is under way.
    """

    finished = Signal(object)
    failed = Signal(str, str)
    runningChanged = Signal(bool)

    def __init__(self, name: str = "task", parent=None):
        super().__init__(parent)
        self.name = name
        self._current: TaskRunner | None = None
        self._alive: set[TaskRunner] = set()  # every runner whose thread has not ended, newest included

    @property
    def running(self) -> bool:
        """The newest task is under way (replaced or cancelled ones do not count)."""
        return self._current is not None

    def start(self, fn: Callable, *args, cancel: Callable[[], None] | None = None) -> None:
        """Cancel and disconnect the task in progress, then run ``fn(*args)`` in a new thread."""
        self._drop_current()
        runner = TaskRunner(fn, *args, cancel=cancel, name=self.name, parent=self)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.done.connect(self._on_done)
        self._current = runner
        self._alive.add(runner)
        runner.start()
        self.runningChanged.emit(True)

    def cancel(self) -> None:
        """Cancel the task in progress; its outcome will not be signalled."""
        if self._drop_current():
            self.runningChanged.emit(False)

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        """Cancel every task and wait for their threads (closing the window); True when all ended in time."""
        self._drop_current()
        return all([runner.stop_and_wait(timeout_ms) for runner in list(self._alive)])

    def _drop_current(self) -> bool:
        runner, self._current = self._current, None
        if runner is None:
            return False
        for signal, slot in ((runner.finished, self._on_finished), (runner.failed, self._on_failed)):
            signal.disconnect(slot)
        runner.cancel()
        return True

    @Slot(object)
    def _on_finished(self, result) -> None:
        if self.sender() is self._current:  # a replaced task's queued result may still be on its way
            self._current = None
            self.runningChanged.emit(False)
            self.finished.emit(result)

    @Slot(str, str)
    def _on_failed(self, message: str, details: str) -> None:
        if self.sender() is self._current:
            self._current = None
            self.runningChanged.emit(False)
            self.failed.emit(message, details)

    @Slot()
    def _on_done(self) -> None:
        runner = self.sender()
        runner.stop_and_wait()  # returns at once: makes sure the thread has really ended before deletion
        self._alive.discard(runner)
        runner.deleteLater()
