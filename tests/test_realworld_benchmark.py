"""The real-world benchmark's sets are what they claim to be (no model is trained or run here)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import realworld  # noqa: E402

from cnn_desktop import config  # noqa: E402


@pytest.fixture(scope="module")
def test_items(dataset):
    """Two test images of every class."""
    images, labels = dataset.test_images, dataset.test_labels
    chosen = np.concatenate([np.flatnonzero(labels == c)[:2] for c in range(config.NUM_CLASSES)])
    return images[chosen], labels[chosen]


def test_silhouette_covers_the_item_and_has_no_holes(test_items):
    for image in test_items[0]:
        silhouette = realworld.render(image, "silhouette") > 127
        item = image > 60
        # Every clearly visible pixel of the item is inside the silhouette (edges are anti-aliased).
        assert (item & ~silhouette).sum() <= 0.03 * item.sum()
        # No holes: at the drawing's resolution the dark pixels form one region, connected to the border.
        mask = realworld._large_mask(image)
        dark = np.pad(~mask, 1, constant_values=True).astype(np.uint8)
        count, _ = realworld.cv2.connectedComponents(dark, connectivity=4)
        assert count - 1 == 1
        # And a bag's handle or a shirt's dark pattern does not stay dark inside.
        assert silhouette.sum() >= item.sum()


def test_item_mask_fills_a_ring_but_not_the_outside():
    ring = np.zeros((28, 28), np.uint8)
    ring[5:20, 5:20] = 200
    ring[9:16, 9:16] = 0  # a hole
    mask = realworld.item_mask(ring)
    assert mask[5:20, 5:20].all() and mask.sum() == 15 * 15


def test_outlines_are_thin_and_grow_with_their_width(test_items):
    for image in test_items[0]:
        silhouette = realworld.render(image, "silhouette").astype(float)
        inks = [realworld.render(image, f"outline_{w}px").astype(float) for w in (1, 2, 3)]
        assert inks[0].sum() < inks[1].sum() < inks[2].sum() < silhouette.sum()
        # An outline stays on the silhouette, and a 1-px outline is a small part of it.
        for ink in inks:
            assert (ink > 127).sum() <= (silhouette > 60).sum()
        assert inks[0].sum() < 0.6 * silhouette.sum()
        # The inner-edge drawing adds lines to the 1-px outline, never removes any.
        inner = realworld.render(image, "outline_inner").astype(float)
        assert inner.sum() >= inks[0].sum() - 1e-6


def test_outline_width_in_pixels():
    square = np.zeros((60, 60), bool)
    square[10:50, 10:50] = True
    for width in (1, 2, 3):
        rim = realworld.outline(square, width)
        assert rim[30, 10:10 + width].all() and not rim[30, 10 + width]
        assert not rim[30, 30]


def test_unknown_rendering_is_refused(test_items):
    with pytest.raises(ValueError, match="unknown rendering"):
        realworld.render(test_items[0][0], "charcoal")


def test_canvas_drawings_load_with_labels_for_every_class():
    paths, labels, rows = realworld.load_drawings()
    assert all(path.is_file() for path in paths)
    counts = np.bincount(labels, minlength=config.NUM_CLASSES)
    assert len(counts) == config.NUM_CLASSES and counts.min() >= 6
    styles = {row["style"] for row in rows}
    assert styles == {"outline", "filled"}
    assert len({row["brush"] for row in rows}) >= 4
    # They go through the app's canvas path and come out as 28x28 inputs.
    prepared = realworld.prepare_drawings(paths[:5])
    assert prepared.shape == (5, config.IMAGE_SIZE, config.IMAGE_SIZE)
    assert all(image.max() > 0.9 for image in prepared)
    # Outlines are mostly black inside; bucket-filled drawings are mostly ink.
    for path, row in zip(paths, rows):
        ink = (np.asarray(Image.open(path).convert("L")) > 127).mean()
        assert 0.003 < ink < 0.6, (path.name, ink)


def test_composites_make_every_named_category_as_files(test_items, tmp_path):
    images, labels = test_items
    written = realworld.write_photos(images, labels, tmp_path, per_category=1, seed=3)
    assert [category for _, _, category in written] == list(realworld.PHOTO_CATEGORIES)
    for path, label, category in written:
        with Image.open(path) as picture:
            assert picture.mode == "RGB" and 400 <= max(picture.size) <= 1200
            assert path.name.startswith(category)
    # Seeded: the same seed gives the same picture.
    first, second = (realworld.composite(images[0], "checks", np.random.default_rng(5)) for _ in range(2))
    assert np.array_equal(first[0], second[0]) and first[1:] == second[1:]


def test_border_categories_put_the_item_at_the_edge(test_items):
    rng = np.random.default_rng(0)
    image = test_items[0][2]  # a trouser: tall and dark in the product photo
    for category in ("touching_border", "cut_by_border"):
        pixels, _, _ = realworld.composite(image, category, np.random.default_rng(rng.integers(1 << 30)))
        assert pixels.shape[2] == 3 and min(pixels.shape[:2]) >= 400


def test_score_counts_refused_images_as_wrong_and_reports_calibration():
    from cnn_desktop.core.calibration import Calibration

    logits = np.eye(10)[[0, 1, 2, 3, 4]] * 10
    logits[4] = 0  # no class stands out: the app would say "unsure"
    labels = np.array([0, 1, 2, 3, 4])
    row = realworld.score("photo", "m", logits, labels, refused=np.array([0, 0, 1, 0, 0], bool),
                          calibration=Calibration(temperature=2.0), categories=["a", "a", "b", "b", "b"],
                          names=["t", "u", "v", "w", "x"])
    assert row["accuracy"] == pytest.approx(0.6) and row["refused"] == 1
    assert row["per_category"] == {"a": 1.0, "b": pytest.approx(1 / 3)}  # refused, right, wrong
    assert row["unsure_share"] == pytest.approx(0.2) and row["sure_accuracy"] == 1.0
    assert [(w["file"], w["predicted"], w["unsure"]) for w in row["wrong"]] == [("x", "T-shirt/top", True)]
    # Softening sure, right answers makes them under-confident: a worse calibration error.
    assert row["ece_calibrated"] > row["ece"] and row["temperature"] == 2.0
    assert "photo" in realworld.markdown_table([row])


def test_summary_rows_for_the_benchmark_table():
    logits = np.eye(10)[[0, 1, 2, 3]] * 10
    labels = np.array([0, 1, 2, 0])
    rows = [realworld.score(name, "m.keras", logits, labels) for name in ("official", "canvas", "outline_1px")]
    table = realworld.summary_rows(rows)
    assert [row["met"] for row in table] == [False, False, None]  # 75% against >= 94% / >= 90%; no target
    assert table[1]["ratio"] == "1.000" and "75.0%" in table[1]["figure"]
    assert set(table[0]) == {"measure", "figure", "baseline", "ratio", "target", "met"}
