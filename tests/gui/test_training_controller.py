"""TrainingController without any widget: real TensorFlow, real Fashion-MNIST (a few thousand images), real threads.

The state objects hold the small trained model of the ``quick_model_path``
fixture: the model in use a run may replace, or must give back.
"""

from __future__ import annotations

import dataclasses
import threading

import numpy as np
import pytest

from cnn_desktop.core.model_io import load_model
from cnn_desktop.core.training import TrainingConfig, TrainingConfigError
from cnn_desktop.gui.app import create_application
from cnn_desktop.gui.concurrency.task_runner import TaskRunner
from cnn_desktop.gui.concurrency.training_run import TrainingRun
from cnn_desktop.gui.state.data_state import DataState
from cnn_desktop.gui.state.model_state import ModelState
from cnn_desktop.gui.state.training_controller import TrainingController

TRAINING_TIMEOUT_MS = 180_000  # generous: the CPU may be shared with other work


@pytest.fixture
def states(qtbot, quick_model_path):
    create_application()
    model_state, data_state = ModelState(), DataState()
    with qtbot.waitSignal(model_state.modelChanged, timeout=60_000):
        model_state.load(quick_model_path)
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    yield model_state, data_state
    model_state.stop_and_wait()
    data_state.stop_and_wait()


@pytest.fixture
def controller(states):
    controller = TrainingController(*states)
    yield controller
    controller.stop_and_wait()


def short(**overrides) -> TrainingConfig:
    return TrainingConfig(**{"preset": "seed", "epochs": 1, "limit": 2000, "seed": 3, **overrides})


def weights_of(model) -> list[np.ndarray]:
    return [w.copy() for w in model.get_weights()]


def test_a_finished_run_becomes_the_model_in_use_and_is_evaluated(qtbot, controller, states):
    model_state, _data = states
    before = model_state.model
    snapshots = []
    model_state.modelChanged.connect(lambda: snapshots.append(model_state.card.get("status")))
    with qtbot.waitSignal(controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        assert controller.start(short())
        assert controller.is_training
    result = finished.args[0]
    assert result.status == "completed" and not controller.is_training
    with qtbot.waitSignal(controller.evaluated, timeout=TRAINING_TIMEOUT_MS) as evaluated:
        pass
    evaluation = evaluated.args[0]

    # The trained weights are the app's model now: a separate, unsaved inference model.
    assert model_state.model is not before and model_state.model is not result.model
    assert model_state.modified and model_state.path is None and controller.has_unsaved_model
    for mine, trained in zip(model_state.model.get_weights(), result.model.get_weights()):
        np.testing.assert_array_equal(mine, trained)
    card = model_state.card
    assert card["status"] == "completed" and card["epochs"] == 1 and card["train_images"] == 2000
    assert card["test_accuracy"] == pytest.approx(evaluation.accuracy) == controller.evaluation.accuracy
    assert controller.evaluated_dataset.test_images.shape[0] == evaluation.n == 10_000
    assert snapshots[-1] == "completed"
    assert controller.pending_result is None


def test_stop_mid_epoch_keeps_the_weights_learned_so_far_until_the_user_adopts_them(qtbot, controller, states):
    model_state, _data = states
    before = model_state.model
    assert controller.start(short(epochs=3, limit=10_000))
    with qtbot.waitSignal(controller.progress, timeout=TRAINING_TIMEOUT_MS):
        pass
    with qtbot.waitSignal(controller.resultAwaitingDecision, timeout=TRAINING_TIMEOUT_MS) as awaiting:
        controller.stop()
        assert controller.is_stopping
    result = awaiting.args[0]
    assert result.status == "cancelled" and result.epochs_completed <= 1
    # Stop never replaces the model in use on its own (issue 13)...
    assert controller.pending_result is result and model_state.model is before and not model_state.modified
    # ... the stopped weights are kept for the user to adopt.
    with qtbot.waitSignal(controller.resultAdopted, timeout=60_000):
        controller.adopt_result()
    assert model_state.model is not before and model_state.modified and "unsaved" in model_state.name


def test_a_stopped_run_can_wait_for_the_decision_and_be_discarded(qtbot, controller, states):
    model_state, _data = states
    before, weights_before = model_state.model, weights_of(model_state.model)
    controller.adopt_automatically = False
    assert controller.start(short(epochs=3, limit=10_000))
    with qtbot.waitSignal(controller.progress, timeout=TRAINING_TIMEOUT_MS):
        pass
    with qtbot.waitSignal(controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        controller.stop()
    assert finished.args[0].status == "cancelled"
    assert controller.pending_result is finished.args[0]
    assert model_state.model is before  # stopped in the first epoch: no snapshot was shown

    with qtbot.waitSignal(controller.resultDiscarded):
        controller.discard_result()
    assert controller.pending_result is None
    assert model_state.model is before and not model_state.modified and not controller.has_unsaved_model
    for old, now in zip(weights_before, model_state.model.get_weights()):
        np.testing.assert_array_equal(old, now)


def test_a_pending_result_can_be_adopted_later(qtbot, controller, states):
    model_state, _data = states
    before = model_state.model
    controller.adopt_automatically = False
    with qtbot.waitSignal(controller.finished, timeout=TRAINING_TIMEOUT_MS) as finished:
        controller.start(short())
    result = finished.args[0]
    assert controller.pending_result is result
    with qtbot.waitSignal(controller.resultAdopted, timeout=60_000):
        controller.adopt_result()
    assert model_state.model is not before and model_state.card["status"] == "completed"
    np.testing.assert_array_equal(model_state.model.get_weights()[0], result.model.get_weights()[0])


def test_continue_from_current_weights_starts_from_the_model_in_use(qtbot, controller, states):
    model_state, _data = states
    before, weights_before = model_state.model, weights_of(model_state.model)
    first_batches = []
    controller.progress.connect(first_batches.append)
    with qtbot.waitSignal(controller.resultAdopted, timeout=TRAINING_TIMEOUT_MS) as adopted:
        assert controller.start(short(continue_training=True))
    assert adopted.args[0].config.continue_training
    # A fresh network is right one time in ten on its first batch; the quick model (~75%) far more often.
    assert first_batches[0].accuracy > 0.4
    trained = model_state.model
    assert trained is not before and model_state.card["continued"] is True and model_state.card["preset"] == "seed"
    assert [layer.name for layer in trained.layers] == [layer.name for layer in before.layers]
    for old, now in zip(weights_before, before.get_weights()):  # the worker trained its own copy
        np.testing.assert_array_equal(old, now)


def test_continue_needs_a_model(qtbot, quick_model_path):
    create_application()
    data_state = DataState()
    controller = TrainingController(ModelState(), data_state)
    with qtbot.waitSignal(data_state.loaded, timeout=60_000):
        data_state.load()
    with pytest.raises(TrainingConfigError, match="no model to continue from"):
        controller.start(short(continue_training=True))
    assert not controller.is_training
    data_state.stop_and_wait()


def test_a_diverging_run_says_so_and_keeps_the_model_in_use(qtbot, controller, states):
    model_state, _data = states
    before, weights_before = model_state.model, weights_of(model_state.model)
    notices = []
    controller.notice.connect(lambda text, kind: notices.append((text, kind)))
    with qtbot.waitSignal(controller.resultDiscarded, timeout=TRAINING_TIMEOUT_MS) as discarded:
        assert controller.start(short(learning_rate=10.0))
    assert discarded.args[0].status == "diverged"
    text, kind = notices[-1]
    assert kind == "warning" and "diverged" in text and "learning rate" in text
    assert model_state.model is before and not model_state.modified
    for old, now in zip(weights_before, model_state.model.get_weights()):
        np.testing.assert_array_equal(old, now)


def test_an_error_in_the_worker_is_reported_and_the_model_kept(qtbot, controller, states):
    model_state, data_state = states
    before = model_state.model
    good = data_state.dataset
    # Images one pixel too narrow: Keras fails inside the worker thread.
    data_state.dataset = dataclasses.replace(good, train_images=good.train_images[:, :, :27])
    with qtbot.waitSignal(controller.failed, timeout=TRAINING_TIMEOUT_MS) as failed:
        assert controller.start(short(limit=500))
    message, details = failed.args
    assert message and "Traceback" in details
    assert model_state.model is before and not controller.is_training
    data_state.dataset = good
    with qtbot.waitSignal(controller.finished, timeout=TRAINING_TIMEOUT_MS):
        assert controller.start(short(limit=500))


def test_an_invalid_config_is_refused_with_the_reason(controller):
    with pytest.raises(TrainingConfigError, match="epochs"):
        controller.start(TrainingConfig(preset="seed", epochs=0))
    assert not controller.is_training


def test_start_and_stop_three_times_leaves_no_thread_behind(qtbot, controller):
    threads = []
    for _ in range(3):
        assert controller.start(short(epochs=3, limit=10_000))
        threads += controller.run_threads()
        with qtbot.waitSignal(controller.progress, timeout=TRAINING_TIMEOUT_MS):
            pass
        with qtbot.waitSignal(controller.finished, timeout=60_000) as finished:
            controller.stop()
        assert finished.args[0].status == "cancelled"

    # Every run's, snapshot's and evaluation's thread ends, and their objects are deleted.
    qtbot.waitUntil(lambda: not controller.findChildren(TrainingRun) and not controller.findChildren(TaskRunner),
                    timeout=TRAINING_TIMEOUT_MS)
    assert threads and all(thread.isFinished() for thread in threads)
    assert not controller.is_training


def test_stop_and_wait_during_training_leaves_no_thread_running(qtbot, controller):
    assert controller.start(short(epochs=3, limit=10_000))
    threads = controller.run_threads()
    with qtbot.waitSignal(controller.progress, timeout=TRAINING_TIMEOUT_MS):
        pass

    controller.stop_and_wait()

    assert threads and all(thread.isFinished() for thread in threads)


def test_keras_work_never_runs_in_the_gui_thread(qtbot, monkeypatch, tmp_path, controller, states):
    """Load, epoch-end snapshots, a continued run, the hand-over and a save: every Keras model build, clone,
    classifier/extractor construction and save happens in a worker thread (a recorded call in the main thread
    fails the test)."""
    import keras

    from cnn_desktop.core import inference, model, model_io

    model_state, _data = states
    calls: list[tuple[str, str, bool]] = []

    def record(name, fn):
        def wrapper(*args, **kwargs):
            calls.append((name, threading.current_thread().name, threading.current_thread() is threading.main_thread()))
            return fn(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(keras.models, "clone_model", record("clone_model", keras.models.clone_model))
    monkeypatch.setattr(model, "build_model", record("build_model", model.build_model))
    monkeypatch.setattr(model_io, "save_model", record("save_model", model_io.save_model))
    monkeypatch.setattr(model_io, "load_model", record("load_model", model_io.load_model))
    monkeypatch.setattr(inference.Classifier, "__init__", record("Classifier", inference.Classifier.__init__))
    monkeypatch.setattr(inference.FeatureExtractor, "__init__",
                        record("FeatureExtractor", inference.FeatureExtractor.__init__))

    with qtbot.waitSignal(model_state.modelChanged, timeout=60_000):
        model_state.load(model_state.path)
    for config in (short(epochs=2), short(epochs=2, continue_training=True)):
        with qtbot.waitSignal(controller.evaluated, timeout=TRAINING_TIMEOUT_MS):
            assert controller.start(config)
    with qtbot.waitSignal(model_state.saved, timeout=60_000):
        assert model_state.save(tmp_path / "saved.keras")
    assert load_model(tmp_path / "saved.keras")[1]["continued"] is True

    in_gui_thread = [(name, thread) for name, thread, main in calls if main]
    assert not in_gui_thread, f"Keras work in the GUI thread: {in_gui_thread}"
    names = {name for name, _thread, _main in calls}
    assert {"clone_model", "build_model", "save_model", "load_model", "Classifier", "FeatureExtractor"} <= names
