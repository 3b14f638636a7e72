"""The training session on the real dataset: it learns, reports, stops promptly, refuses bad configs."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from cnn_desktop.core import dataset as dataset_module
from cnn_desktop.core.evaluation import evaluate
from cnn_desktop.core.training import (
    BatchProgress, EpochEnd, TrainingConfig, TrainingConfigError, TrainingSession, TrainingStarted,
    make_train_dataset,
)


def test_one_epoch_on_a_subset_learns_and_reports(dataset):
    events = []
    session = TrainingSession(TrainingConfig(preset="seed", epochs=1, limit=3000, seed=3), data=dataset,
                              listener=events.append)
    result = session.run()
    assert result.status == "completed"
    assert result.epochs_completed == 1
    assert isinstance(events[0], TrainingStarted) and events[0].steps_per_epoch == 94
    batches = [e for e in events if isinstance(e, BatchProgress)]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert batches and batches[-1].step == batches[-1].steps == 94
    assert all(b.images_per_second > 0 for b in batches)
    assert len(epochs) == 1 and len(epochs[0].weights) == len(result.model.get_weights())
    # Well above chance (10%) on the official test set.
    test = evaluate(result.model, dataset.test_images[:2000], dataset.test_labels[:2000])
    assert test.accuracy > 0.6
    assert result.history["val_accuracy"][0] == pytest.approx(epochs[0].val_accuracy)


def test_cancel_mid_epoch_stops_within_a_batch(dataset):
    seen_steps = []
    holder = {}

    def listener(event):
        if isinstance(event, BatchProgress):
            seen_steps.append(event.global_step)
            if len(seen_steps) == 2:
                holder["cancel_step"] = event.global_step
                holder["session"].cancel()

    session = TrainingSession(TrainingConfig(preset="seed", epochs=3, limit=20_000, seed=0), data=dataset,
                              listener=listener)
    holder["session"] = session
    result = session.run()
    assert result.status == "cancelled"
    progress_steps = result.epochs_completed
    assert progress_steps <= 1
    # Keras checks stop_training after every batch: at most one more batch ran after cancel().
    final_weights_trained = result.model.get_weights()
    assert any(np.any(w != 0) for w in final_weights_trained)
    assert max(seen_steps) <= holder["cancel_step"] + 1
    assert "Stopped" in result.message


def test_cancel_from_another_thread(dataset):
    started = threading.Event()

    def listener(event):
        if isinstance(event, BatchProgress):
            started.set()

    session = TrainingSession(TrainingConfig(preset="seed", epochs=5, limit=30_000), data=dataset, listener=listener)
    outcome = {}
    worker = threading.Thread(target=lambda: outcome.setdefault("result", session.run()))
    worker.start()
    assert started.wait(120)
    session.cancel()
    worker.join(60)
    assert not worker.is_alive()
    assert outcome["result"].status == "cancelled"


@pytest.mark.parametrize("field, value, message", [
    ("epochs", 0, "epochs"),
    ("batch_size", 0, "batch size"),
    ("learning_rate", -0.1, "learning rate"),
    ("learning_rate", float("nan"), "learning rate"),
    ("learning_rate", 50.0, "learning rate"),
    ("validation", "train", "validation"),
    ("limit", 3, "limit"),
    ("preset", "giant", "preset"),
])
def test_invalid_hyper_parameters_are_refused_before_training(field, value, message):
    with pytest.raises(TrainingConfigError, match=message):
        TrainingSession(TrainingConfig(**{field: value}))


def test_preset_defaults_fill_unset_values():
    resolved = TrainingConfig(preset="seed").resolved()
    assert (resolved.epochs, resolved.batch_size, resolved.learning_rate) == (10, 32, 1e-3)


def test_diverging_training_stops_with_a_message_and_keeps_no_broken_weights(dataset):
    session = TrainingSession(TrainingConfig(preset="seed", epochs=2, limit=2000, learning_rate=10.0, seed=0),
                              data=dataset)
    result = session.run()
    assert result.status == "diverged"
    assert "diverged" in result.message and "learning rate" in result.message
    # The weights are those from before the blow-up, not the exploded ones.
    assert max(float(np.abs(w).max()) for w in result.model.get_weights()) < 10
    assert not result.usable
    assert all(np.all(np.isfinite(w)) for w in result.model.get_weights())


def test_split_validation_holds_out_part_of_training_set(dataset):
    events = []
    TrainingSession(TrainingConfig(preset="seed", epochs=1, limit=2000, validation="split", validation_split=0.25),
                    data=dataset, listener=events.append).run()
    started = events[0]
    assert (started.train_size, started.validation_size) == (1500, 500)


def test_continue_training_keeps_the_given_weights(dataset):
    first = TrainingSession(TrainingConfig(preset="seed", epochs=1, limit=2000, seed=5), data=dataset).run()
    accuracy_before = evaluate(first.model, dataset.test_images[:1000], dataset.test_labels[:1000]).accuracy
    again = TrainingSession(TrainingConfig(preset="seed", epochs=1, limit=2000, seed=6, continue_training=True),
                            data=dataset, model=first.model).run()
    assert again.model is first.model
    accuracy_after = evaluate(again.model, dataset.test_images[:1000], dataset.test_labels[:1000]).accuracy
    # A fresh model after one epoch on 2,000 images is far from a twice-trained one.
    assert accuracy_after > accuracy_before - 0.05 and accuracy_before > 0.5


def test_fast_preset_learns_quickly_with_its_own_recipe(dataset):
    """Its recipe (batch 128, warm-up + cosine from 4e-3) on a tenth of the data for two epochs."""
    result = TrainingSession(TrainingConfig(preset="fast", epochs=2, limit=6000, seed=0), data=dataset).run()
    assert (result.config.batch_size, result.config.learning_rate) == (128, 4e-3)
    assert result.history["accuracy"][-1] > 0.75
    assert result.val_accuracy > 0.75


def test_train_pipeline_visits_every_image_once_per_epoch_in_a_new_order(dataset):
    images = dataset_module.to_model_input(dataset.train_images[:1000])
    labels = dataset.train_labels[:1000]

    def epochs_of(data, count):
        epochs = []
        for _ in range(count):  # one iteration per epoch, as Keras does
            batches = [(x.numpy(), y.numpy()) for x, y in data]
            epochs.append(batches)
        return epochs

    data = make_train_dataset(images, labels, 64, augment=False, seed=3)
    assert int(data.cardinality()) == 16
    epochs = epochs_of(data, 2)
    # Recover each image's index by its pixels: all 1,000 come once, with their own labels.
    index_of = {image.tobytes(): i for i, image in enumerate(images)}
    orders = []
    for batches in epochs:
        assert [len(y) for _x, y in batches] == [64] * 15 + [40]
        batch_images = np.concatenate([x for x, _y in batches])
        order = [index_of[image.tobytes()] for image in batch_images]
        assert sorted(order) == list(range(1000))
        np.testing.assert_array_equal(np.concatenate([y for _x, y in batches]), labels[order])
        orders.append(order)
    assert orders[0] != orders[1]  # reshuffled each epoch
    again = epochs_of(make_train_dataset(images, labels, 64, augment=False, seed=3), 1)[0]
    np.testing.assert_array_equal(np.concatenate([y for _x, y in again]),
                                  np.concatenate([y for _x, y in epochs[0]]))  # the seed repeats the order


def test_mixed_precision_trains_in_bfloat16_and_hands_back_a_float32_model(dataset):
    compute_dtypes = []  # seen at each epoch's end: bfloat16 arithmetic, float32 weights

    def listener(event):
        if isinstance(event, EpochEnd):
            compute_dtypes.append({layer.compute_dtype for layer in session.model.layers})

    session = TrainingSession(TrainingConfig(preset="fast", epochs=2, limit=6000, seed=0, mixed_precision=True),
                              data=dataset, listener=listener)
    result = session.run()
    assert compute_dtypes == [{"bfloat16"}, {"bfloat16"}]
    assert result.status == "completed"
    assert {layer.compute_dtype for layer in result.model.layers} == {"float32"}
    assert session.model is result.model
    assert all(w.dtype == np.float32 for w in result.model.get_weights())
    # It learns as the float32 recipe does on the same images (test_fast_preset_learns_quickly...).
    assert evaluate(result.model, dataset.test_images[:2000], dataset.test_labels[:2000]).accuracy > 0.75


def test_mixed_precision_cannot_continue_a_model():
    with pytest.raises(TrainingConfigError, match="mixed precision"):
        TrainingSession(TrainingConfig(preset="fast", continue_training=True, mixed_precision=True))
