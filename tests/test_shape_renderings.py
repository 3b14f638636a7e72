"""Shape renderings and procedural sketches: what they look like, how they enter training batches."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from cnn_desktop import config
from cnn_desktop.core import shape_renderings as sr


def ring(size=112, outer=40, inner=25):
    yy, xx = np.mgrid[:size, :size]
    distance = np.hypot(yy - size / 2, xx - size / 2)
    return ((distance < outer) & (distance >= inner)).astype(np.uint8) * 255


def test_fill_holes_fills_what_the_border_cannot_reach():
    mask = ring()
    filled = sr.fill_holes(mask)
    assert filled[56, 56] == 255 and mask[56, 56] == 0  # the hole is filled
    assert filled[0, 0] == 0 and filled[56, 5] == 0  # the outside stays empty
    assert np.all(filled[mask > 0] == 255)


@pytest.fixture(scope="module")
def some_images(dataset):
    # The first image of each class.
    indices = [int(np.flatnonzero(dataset.train_labels == label)[0]) for label in range(config.NUM_CLASSES)]
    return dataset.train_images[indices]


def test_every_rendering_of_a_real_image_is_framed_like_the_dataset(some_images):
    bank = sr.render_bank(some_images)
    assert bank.shape == (len(sr.RENDERINGS), config.NUM_CLASSES, 28, 28) and bank.dtype == np.uint8
    np.testing.assert_array_equal(bank[0], some_images)
    for rendering in bank[1:]:
        assert np.all(rendering.reshape(len(rendering), -1).max(axis=1) == 255)  # brightest part at full white


def test_silhouettes_are_solid_and_outlines_hollow(some_images):
    bank = sr.render_bank(some_images)
    silhouette, outline1, outline2, outline3 = (bank[sr.RENDERINGS.index(name)] > 127
                                                for name in ("silhouette", "outline1", "outline2", "outline3"))
    pullover = config.CLASS_NAMES.index("Pullover")
    # A pullover's silhouette covers its whole body; its outline leaves the middle dark.
    assert silhouette[pullover, 10:18, 10:18].all()
    assert not outline2[pullover, 10:18, 10:18].any()
    # Wider pens draw more ink, and the outline stays near the silhouette's edge.
    ink = [outline.sum(axis=(1, 2)) for outline in (outline1, outline2, outline3)]
    assert np.all(ink[0] < ink[1]) and np.all(ink[1] < ink[2])
    # ... and it lies on the silhouette's edge: not deep inside it, not away from it.
    kernel = np.ones((3, 3), np.uint8)
    # (Classes without narrow notches: the gaps between a sandal's straps close up at 28 px.)
    for label in ("T-shirt/top", "Pullover", "Coat", "Bag"):
        outline, item = outline1[config.CLASS_NAMES.index(label)], silhouette[config.CLASS_NAMES.index(label)]
        inside = cv2.erode(item.astype(np.uint8), kernel, iterations=2, borderType=cv2.BORDER_CONSTANT, borderValue=0) > 0
        around = cv2.dilate(item.astype(np.uint8), kernel, iterations=1) > 0
        assert (outline & inside).sum() <= 0.1 * outline.sum()
        assert (outline & ~around).sum() == 0


@pytest.mark.parametrize("label", range(config.NUM_CLASSES))
def test_a_sketch_of_every_class_is_a_prepared_28x28_drawing(label):
    first = sr.draw_sketch(label, np.random.default_rng(7), filled=False)
    again = sr.draw_sketch(label, np.random.default_rng(7), filled=False)
    filled = sr.draw_sketch(label, np.random.default_rng(7), filled=True)
    np.testing.assert_array_equal(first, again)  # a seeded generator repeats
    for image in (first, filled):
        assert image.shape == (28, 28) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() == pytest.approx(1.0)
        # prepare_arrays fits the longer side to the frame: the ink reaches two opposite edges.
        rows, cols = np.flatnonzero(image.max(axis=1) > 0.05), np.flatnonzero(image.max(axis=0) > 0.05)
        assert (rows[0] <= 1 and rows[-1] >= 26) or (cols[0] <= 1 and cols[-1] >= 26)
    # Filling the outline (the bucket) adds ink inside.
    assert (filled > 0.5).sum() > (first > 0.5).sum()


def test_sketch_pool_takes_the_classes_in_turn():
    images, labels = sr.sketch_pool(23, seed=1)
    assert images.shape == (23, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(labels, np.arange(23) % config.NUM_CLASSES)
    assert np.all(images.reshape(23, -1).max(axis=1) > 200)


def test_mix_shares_make_a_probability_per_rendering():
    probabilities = sr.MixShares().rendering_probabilities()
    assert len(probabilities) == len(sr.RENDERINGS)
    assert sum(probabilities) == pytest.approx(1.0) and min(probabilities) >= 0


def _batch(mix, labels, seed=0):
    import tensorflow as tf

    gather = mix.gather_fn(labels, seed)
    images, batch_labels = gather(tf.range(len(labels), dtype=tf.int64))
    return images.numpy(), batch_labels.numpy()


def test_the_mix_swaps_images_for_renderings_or_sketches(some_images):
    labels = np.arange(config.NUM_CLASSES)
    bank = sr.render_bank(some_images)
    sketches, sketch_labels = sr.sketch_pool(20, seed=3)

    only_silhouettes = sr.RenderingMix(bank, sketches, sketch_labels,
                                       sr.MixShares(sketch=0.0, silhouette=1.0, outline=0.0, edges=0.0))
    images, batch_labels = _batch(only_silhouettes, labels)
    assert images.dtype == np.float32 and images.shape == (10, 28, 28, 1)
    np.testing.assert_allclose(images[..., 0], bank[1] / 255.0)
    np.testing.assert_array_equal(batch_labels, labels)

    only_sketches = sr.RenderingMix(bank, sketches, sketch_labels, sr.MixShares(sketch=1.0 - 1e-6))
    images, batch_labels = _batch(only_sketches, labels)
    sketch_set = {sketch.tobytes() for sketch in sketches}
    assert all(np.round(image[..., 0] * 255).astype(np.uint8).tobytes() in sketch_set for image in images)
    for image, label in zip(images, batch_labels):
        matches = [i for i, sketch in enumerate(sketches) if np.array_equal(sketch, np.round(image[..., 0] * 255))]
        assert sketch_labels[matches[0]] == label  # each sketch keeps its own label

    photos_only = sr.RenderingMix(bank, sketches, sketch_labels,
                                  sr.MixShares(sketch=0.0, silhouette=0.0, outline=0.0, edges=0.0))
    images, _ = _batch(photos_only, labels)
    np.testing.assert_allclose(images[..., 0], some_images / 255.0)


def test_augmentation_keeps_items_in_range_and_empty_images_empty(some_images):
    import tensorflow as tf

    images = np.concatenate([some_images, np.zeros((2, 28, 28), np.uint8)])[..., np.newaxis] / np.float32(255)
    out, labels = sr.augment_batch(tf.constant(images), tf.range(len(images)))
    out = out.numpy()
    assert out.shape == images.shape and out.min() >= 0.0 and out.max() <= 1.0
    assert np.all(out[:-2].max(axis=(1, 2, 3)) == pytest.approx(1.0))
    assert np.all(out[-2:] == 0)
    # Small changes: each augmented item still overlaps its original for the most part.
    overlap = ((out[:-2] > 0.2) & (images[:-2] > 0.2)).sum(axis=(1, 2, 3)) / (images[:-2] > 0.2).sum(axis=(1, 2, 3))
    assert np.median(overlap) > 0.6


def test_the_robust_preset_trains_on_the_mix(dataset):
    from cnn_desktop.core.training import TrainingConfig, TrainingMessage, TrainingSession

    events = []
    session = TrainingSession(TrainingConfig(preset="robust", epochs=1, limit=400, validation="split"),
                              data=dataset, listener=events.append)
    result = session.run()
    assert result.status == "completed" and result.epochs_completed == 1
    assert any(isinstance(event, TrainingMessage) and "sketches" in event.text for event in events)
    assert np.isfinite(result.history["loss"][0])


def test_images_as_in_training_follow_the_mix(dataset):
    """Calibration's view of what a shape-trained network knows: photos, renderings and sketches in the mix's shares."""
    images, labels = dataset.train_images[:2000], dataset.train_labels[:2000]
    mixed, mixed_labels = sr.as_in_training(images, labels, seed=4)
    assert mixed.shape == images.shape and mixed.dtype == np.uint8
    bank = sr.render_bank(images)
    kept = [int(np.flatnonzero([np.array_equal(mixed[i], bank[r, i]) for r in range(len(sr.RENDERINGS))])[0])
            if any(np.array_equal(mixed[i], bank[r, i]) for r in range(len(sr.RENDERINGS))) else -1
            for i in range(len(images))]
    kept = np.array(kept)
    shares = sr.MixShares()
    # -1: swapped for a sketch. Each share within a few standard errors of the mix's.
    assert abs((kept == -1).mean() - shares.sketch) < 0.03
    assert abs((kept == 0).mean() - (1 - shares.sketch) * shares.rendering_probabilities()[0]) < 0.04
    assert abs((kept == 1).mean() - shares.silhouette) < 0.02
    np.testing.assert_array_equal(mixed_labels[kept >= 0], labels[kept >= 0])  # a rendering keeps its label
    sketches = kept == -1
    assert set(np.unique(mixed_labels[sketches])) == set(range(config.NUM_CLASSES))
