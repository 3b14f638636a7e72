"""One throttle for the whole GUI: run a refresh at most once per interval, however often it is asked for.

Drawing on the canvas, a training's batches, scrolling the dataset: requests
come far faster than a classification, a chart redraw or a range report is
worth doing. A request starts the wait; the call at its end covers every
request made meanwhile, so the last state is always the one shown. While
requests keep coming, calls keep a steady cadence of one per interval (the wait
counts from the previous call), as a repeating timer would.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QObject, QTimer, Slot


class Throttle(QObject):
    """``request()`` makes ``fn()`` run once, ``interval_ms`` after the previous call (or after the request,
    when the previous call is longer ago than that)."""

    def __init__(self, fn: Callable[[], object], interval_ms: int, parent: QObject | None = None):
        super().__init__(parent)
        self._fn = fn
        self._interval_ms = interval_ms
        self._last_call = -float("inf")  # time.monotonic() of the last call
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)

    @property
    def pending(self) -> bool:
        """A call is due (requested and not yet made)."""
        return self._timer.isActive()

    @Slot()
    def request(self, *_signal_arguments) -> None:
        """Ask for a call (connectable to any signal: its arguments are ignored)."""
        if not self._timer.isActive():
            since_last_ms = (time.monotonic() - self._last_call) * 1000
            wait = self._interval_ms - since_last_ms if since_last_ms < self._interval_ms else self._interval_ms
            self._timer.start(max(0, round(wait)))

    def cancel(self) -> None:
        """Drop the call due, if any (e.g. it has just been made by hand, or the widget is closing)."""
        self._timer.stop()

    @Slot()
    def _fire(self) -> None:
        self._last_call = time.monotonic()
        self._fn()
