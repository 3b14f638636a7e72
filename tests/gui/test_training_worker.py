"""TrainingRun: a real TrainingSession (real TensorFlow, real Fashion-MNIST) in a worker QThread."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from PySide6.QtCore import QThread
from PySide6.QtWidgets import QApplication

from cnn_desktop.core.training import BatchProgress, EpochEnd, TrainingConfig, TrainingConfigError, TrainingStarted
from cnn_desktop.gui.concurrency.training_run import TrainingRun


class Recorder:
    """Collects every signal of a run with the thread it was delivered in."""

    def __init__(self, run: TrainingRun):
        self.events: list[tuple[str, object]] = []
        self.threads: set = set()
        for name in ("started", "batchProgress", "epochEnded", "finished", "failed", "done"):
            signal = getattr(run, name)
            signal.connect(lambda *args, name=name: self._record(name, args))

    def _record(self, name, args):
        self.threads.add(QThread.currentThread())
        self.events.append((name, args[0] if len(args) == 1 else args))

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def first(self, name):
        return next(value for event, value in self.events if event == name)


def test_a_run_reports_its_events_in_order_in_the_gui_thread(qtbot, dataset):
    run = TrainingRun(TrainingConfig(preset="seed", epochs=1, limit=2000, seed=3), data=dataset)
    recorder = Recorder(run)
    with qtbot.waitSignal(run.done, timeout=120_000):
        run.start()

    names = recorder.names()
    assert names[0] == "started" and names[-2:] == ["finished", "done"]
    assert names.count("epochEnded") == 1 and names.count("batchProgress") >= 2
    assert names.index("epochEnded") > names.index("batchProgress")
    assert recorder.threads == {QApplication.instance().thread()}  # never a widget call from the worker
    assert isinstance(recorder.first("started"), TrainingStarted)
    batches = [value for name, value in recorder.events if name == "batchProgress"]
    assert all(isinstance(b, BatchProgress) for b in batches)
    assert batches[-1].step == batches[-1].steps == 63  # ceil(2000 / 32); the last step is always reported
    epoch_end = recorder.first("epochEnded")
    assert isinstance(epoch_end, EpochEnd) and len(epoch_end.weights) == len(recorder.first("finished").model.weights)
    result = recorder.first("finished")
    assert result.status == "completed" and result.epochs_completed == 1
    assert run.thread.isFinished()


def test_cancel_stops_within_the_epoch_and_keeps_the_weights(qtbot, dataset):
    run = TrainingRun(TrainingConfig(preset="seed", epochs=3, limit=10_000, seed=3), data=dataset)
    recorder = Recorder(run)
    run.start()
    qtbot.waitUntil(lambda: "batchProgress" in recorder.names(), timeout=120_000)
    with qtbot.waitSignal(run.done, timeout=120_000):
        run.cancel()

    result = recorder.first("finished")
    assert result.status == "cancelled" and result.usable
    epoch_ends = [value for name, value in recorder.events if name == "epochEnded"]
    assert len(epoch_ends) == 1 and epoch_ends[0].global_step < 313  # stopped part-way through epoch 1 of 313 steps
    assert not np.allclose(result.model.get_weights()[0], 0)  # trained weights, not an empty model
    assert run.thread.isFinished()


def test_stop_and_wait_ends_the_thread_of_a_running_training(qtbot, dataset):
    run = TrainingRun(TrainingConfig(preset="seed", epochs=20, limit=50_000, seed=3), data=dataset)
    recorder = Recorder(run)
    run.start()
    qtbot.waitUntil(lambda: "batchProgress" in recorder.names(), timeout=120_000)
    assert run.is_running()

    assert run.stop_and_wait()
    assert not run.is_running() and run.thread.isFinished()
    with qtbot.waitSignal(run.done, timeout=10_000):
        pass  # the queued reports still arrive, in order, after the thread has ended
    assert recorder.first("finished").status == "cancelled"


def test_an_exception_in_the_worker_becomes_the_failed_signal(qtbot, dataset):
    # Images one pixel too narrow: Keras refuses them inside fit(), in the worker thread.
    broken = dataclasses.replace(dataset, train_images=dataset.train_images[:, :, :27])
    run = TrainingRun(TrainingConfig(preset="seed", epochs=1, limit=500), data=broken)
    recorder = Recorder(run)
    with qtbot.waitSignal(run.done, timeout=120_000):
        run.start()

    assert "finished" not in recorder.names()
    message, details = recorder.first("failed")
    assert message and "Traceback" in details
    assert run.thread.isFinished()


def test_an_invalid_config_is_refused_before_any_thread_starts(dataset):
    with pytest.raises(TrainingConfigError, match="learning rate"):
        TrainingRun(TrainingConfig(preset="seed", learning_rate=0.0), data=dataset)
