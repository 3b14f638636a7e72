"""One throttle for the whole GUI: run a refresh at most once per interval, however often it is asked for.

Drawing on the canvas, a training's batches, scrolling the dataset: requests
come far faster than a classification, a chart redraw or a range report is
worth doing. The first request starts the interval; the call at its end covers
every request made meanwhile, so the last state is always the one shown.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, QTimer, Slot


class Throttle(QObject):
    """``request()`` makes ``fn()`` run once, ``interval_ms`` after the first request not yet served."""

    def __init__(self, fn: Callable[[], object], interval_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self._fn = fn
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._fire)

    @property
    def pending(self) -> bool:
        """A call is due (requested and not yet made)."""
        return self._timer.isActive()

    @Slot()
    def request(self, *_signal_arguments) -> None:
        """Ask for a call (connectable to any signal: its arguments are ignored)."""
        if not self._timer.isActive():
            self._timer.start()

    def cancel(self) -> None:
        """Drop the call due, if any (e.g. it has just been made by hand, or the widget is closing)."""
        self._timer.stop()

    @Slot()
    def _fire(self) -> None:
        self._fn()
