"""LatestTask (only the newest result counts) and Throttle (one call for a burst of requests), with real threads."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject

from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.concurrency.latest_task import LatestTask
from cnn_desktop.gui.concurrency.task_runner import TaskRunner
from cnn_desktop.gui.throttle import Throttle


def test_a_newer_task_cancels_the_older_and_only_its_result_arrives(qtbot):
    create_application()
    owner = QObject()
    task = LatestTask("test", owner)
    results, cancelled = [], threading.Event()
    task.finished.connect(results.append)
    release = threading.Event()

    def slow():
        release.wait(30)
        return "old"

    task.start(slow, cancel=cancelled.set)
    assert task.running
    with qtbot.waitSignal(task.finished, timeout=30_000):
        task.start(lambda: "new")
    assert cancelled.is_set()  # the replaced task was told to stop
    release.set()
    qtbot.waitUntil(lambda: not owner.findChildren(TaskRunner), timeout=30_000)  # both threads ended, cleaned up
    assert results == ["new"] and not task.running


def test_a_cancelled_task_reports_nothing_and_failures_are_reported(qtbot):
    create_application()
    task = LatestTask("test")
    outcomes = []
    task.finished.connect(lambda result: outcomes.append(("finished", result)))
    task.failed.connect(lambda message, details: outcomes.append(("failed", message)))
    release = threading.Event()
    task.start(lambda: release.wait(30) and "late")
    task.cancel()
    release.set()
    assert task.stop_and_wait()
    qtbot.wait(50)
    assert outcomes == []

    with qtbot.waitSignal(task.failed, timeout=30_000):
        task.start(lambda: 1 / 0)
    assert outcomes == [("failed", "division by zero")]
    task.stop_and_wait()


def test_a_burst_of_requests_makes_one_call_and_cancel_drops_it(qtbot):
    create_application()
    calls = []
    throttle = Throttle(lambda: calls.append(1), 20)
    for _ in range(100):
        throttle.request()
    assert throttle.pending and calls == []
    qtbot.waitUntil(lambda: calls == [1], timeout=5_000)
    qtbot.wait(60)
    assert calls == [1] and not throttle.pending  # nothing requested since

    throttle.request("a signal's argument")
    throttle.cancel()
    qtbot.wait(60)
    assert calls == [1]
