"""Finding the item in photo-like pictures: hard backgrounds, items cut by the frame, light on light.

The pictures are real JPEG / PNG files written here: Fashion-MNIST training items laid
over wood grain, a gradient of light, a coloured check, a dark mottled surface and a
plain light grey table (tests/photo_composites.py), each with the item's true mask.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image

from photo_composites import BACKGROUNDS, composite, iou
from cnn_desktop.core.preprocessing import EmptyImageError, prepare_arrays, prepare_file, prepare_pixels
from cnn_desktop.core.segmentation import find_item

# Training images (not test images) of varied classes: T-shirt, trouser, pullover, dress, coat,
# sandal, shirt, sneaker, bag, ankle boot.
ITEMS = (1, 16, 5, 3, 19, 8, 18, 6, 23, 0)

# IoU bounds, outline against outline (a sandal's gaps count as inside). Over these ten items the
# found outlines had a median IoU of 0.94-0.98 per background; the one weak case is the sandal on the
# coloured check (0.26: its thin straps vanish into the stripes). So per background the median must
# reach 0.9, and all items but one 0.75 - at 0.75 the framed 28x28 input still shows the class's
# silhouette (the item's box moves by a pixel or two at most).
MEDIAN_IOU = 0.9
GOOD_IOU = 0.75


def _assert_found(scores):
    assert np.median(scores) >= MEDIAN_IOU, scores
    assert sum(score < GOOD_IOU for score in scores) <= 1, scores


def _filled(polygons, shape) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, polygons, 1)
    return mask.astype(bool)


def _outline_mask(prepared, shape) -> np.ndarray:
    """The found item, redrawn from the outlines the GUI would draw (picture coordinates)."""
    return _filled([np.round(outline - 0.5).astype(np.int32) for outline in prepared.outlines], shape)


def _outer(truth: np.ndarray) -> np.ndarray:
    """The true item inside its outer outline (a sandal's gaps filled), to compare outlines with outlines."""
    contours, _ = cv2.findContours(truth.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    return _filled(contours, truth.shape) | truth


def _write(picture: np.ndarray, path, **kwargs):
    Image.fromarray(picture).save(path, **kwargs)
    return path


@pytest.mark.parametrize("kind", BACKGROUNDS)
def test_item_is_found_on_hard_backgrounds_in_jpeg_files(tmp_path, dataset, kind):
    scores = []
    for seed, index in enumerate(ITEMS):
        picture, truth = composite(dataset.train_images[index], kind, seed=seed)
        path = _write(picture, tmp_path / f"{kind}-{index}.jpg", quality=88)
        prepared = prepare_file(path)  # nothing is refused as blank
        assert prepared.method == "segmentation"
        assert prepared.picture_size == (truth.shape[1], truth.shape[0])
        scores.append(iou(_outline_mask(prepared, truth.shape), _outer(truth)))
    _assert_found(scores)


def test_item_is_found_on_a_bold_check(tmp_path, dataset):
    """A grey item on a magenta and dark green check, nearer the check's average colour than either colour.

    No smooth colour model fits such a border (it marked the check's cells as the item and the item as
    background, for a median IoU of 0.70); the check's two colours do.
    """
    scores = []
    for seed, index in enumerate(ITEMS):
        picture, truth = composite(dataset.train_images[index], "checks", seed=seed)
        prepared = prepare_file(_write(picture, tmp_path / f"checks-{index}.jpg", quality=88))
        assert prepared.method == "segmentation"
        scores.append(iou(_outline_mask(prepared, truth.shape), _outer(truth)))
    _assert_found(scores)


def test_items_cut_by_the_frame_are_found(tmp_path, dataset):
    scores = []
    for seed, index in enumerate(ITEMS):
        picture, truth = composite(dataset.train_images[index], "wood", seed=seed, touching_border=True)
        assert truth[-1].any() or truth[:, -1].any()  # the frame really cuts it (bottom or right edge)
        prepared = prepare_file(_write(picture, tmp_path / f"cut-{index}.png"))
        scores.append(iou(_outline_mask(prepared, truth.shape), _outer(truth)))
    _assert_found(scores)


@pytest.mark.parametrize("kind", BACKGROUNDS)
def test_an_item_filling_the_frame_and_cut_by_two_edges_is_never_blank(tmp_path, dataset, kind):
    """GrabCut may lose such an item on a pattern or a gradient (a known limit), but never calls it blank."""
    scores = []
    for seed, index in enumerate(ITEMS[:5]):
        picture, truth = composite(dataset.train_images[index], kind, seed=seed, item_height=460, touching_border=True)
        prepared = prepare_file(_write(picture, tmp_path / f"big-{kind}-{index}.png"))
        scores.append(iou(_outline_mask(prepared, truth.shape), _outer(truth)))
    if kind in ("wood", "dark_texture", "light_grey"):  # plain or fine-grained: found all the same
        assert min(scores) >= GOOD_IOU, scores


def _support_iou(image: np.ndarray, silhouette: np.ndarray) -> float:
    return iou(image > 0.1, silhouette > 0.1)


@pytest.mark.parametrize("kind", ["light_grey", "dark_texture"])
def test_the_item_keeps_its_body_whatever_its_brightness_against_the_background(tmp_path, dataset, kind):
    """A white item on light grey and a dark one on a dark texture come out as a whole light item on black."""
    for seed, index in enumerate(ITEMS[:5]):
        picture, truth = composite(dataset.train_images[index], kind, seed=seed)
        prepared = prepare_file(_write(picture, tmp_path / f"{kind}-{index}.jpg", quality=90))
        silhouette = prepare_arrays(truth.astype(np.float32)).image  # the true item framed the same way
        assert _support_iou(prepared.image, silhouette) >= 0.8
        assert prepared.image[silhouette > 0.5].mean() >= 0.3  # its body is lit, not just its seams
        assert prepared.image[silhouette < 0.05].max(initial=0) < 0.5  # and the background stays black


def test_item_on_a_light_background_is_flipped_and_one_on_a_dark_background_is_not(tmp_path, dataset):
    dark_item, _ = composite(dataset.train_images[ITEMS[1]], "gradient", seed=1)
    white_item, _ = composite(dataset.train_images[ITEMS[1]], "light_grey", seed=1)
    assert prepare_file(_write(dark_item, tmp_path / "dark.png")).inverted
    assert not prepare_file(_write(white_item, tmp_path / "white.png")).inverted


def test_outlines_and_box_are_in_the_full_pictures_coordinates(tmp_path, dataset):
    """A big photo is reduced before the work; what is reported maps back onto the original."""
    picture, truth = composite(dataset.train_images[ITEMS[0]], "wood", seed=3)
    big_size = (2400, 1800)
    path = tmp_path / "big.jpg"
    Image.fromarray(picture).resize(big_size, Image.Resampling.BICUBIC).save(path, quality=90)
    big_truth = np.asarray(Image.fromarray(truth).resize(big_size, Image.Resampling.NEAREST))
    prepared = prepare_file(path)
    assert prepared.picture_size == big_size
    assert iou(_outline_mask(prepared, big_truth.shape), _outer(big_truth)) >= MEDIAN_IOU
    rows, cols = np.flatnonzero(big_truth.any(axis=1)), np.flatnonzero(big_truth.any(axis=0))
    expected = (cols[0], rows[0], cols[-1] + 1, rows[-1] + 1)
    assert np.allclose(prepared.bbox, expected, atol=0.03 * big_size[0])


def test_a_rotated_phone_photo_reports_upright_coordinates(tmp_path, dataset):
    picture, truth = composite(dataset.train_images[ITEMS[1]], "wood", seed=4)
    upright = Image.fromarray(picture)
    exif = Image.Exif()
    exif[0x0112] = 6  # stored rotated; viewers turn it 90° clockwise
    path = tmp_path / "phone.jpg"
    upright.transpose(Image.Transpose.ROTATE_90).save(path, exif=exif.tobytes(), quality=92)
    prepared = prepare_file(path)
    assert prepared.picture_size == upright.size
    assert iou(_outline_mask(prepared, truth.shape), _outer(truth)) >= MEDIAN_IOU


def test_a_pasted_photo_is_segmented_like_the_same_file(tmp_path, dataset):
    picture, _truth = composite(dataset.train_images[ITEMS[2]], "plaid", seed=2)
    from_file = prepare_file(_write(picture, tmp_path / "plaid.png"))
    pasted = prepare_pixels(np.dstack([picture, np.full(picture.shape[:2], 255, np.uint8)]), photo=True)
    assert pasted.method == "segmentation"
    np.testing.assert_allclose(pasted.image, from_file.image, atol=0.01)  # grey by float vs Pillow rounding


def test_find_item_gives_none_for_a_picture_without_an_item():
    rng = np.random.default_rng(0)
    noise = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)  # nothing to tell apart from the border
    assert find_item(np.full((120, 160, 3), 128, np.uint8)) is None
    mask = find_item(noise)
    assert mask is None or mask.shape == (120, 160)
    assert find_item(np.zeros((4, 4, 3), np.uint8)) is None


@pytest.mark.parametrize("suffix", [".jpg", ".png"])
def test_uniform_photos_are_still_blank(tmp_path, suffix):
    rng = np.random.default_rng(1)
    grey_wall = np.clip(180 + rng.normal(0, 2, (600, 800, 3)), 0, 255).astype(np.uint8)  # sensor grain
    with pytest.raises(EmptyImageError, match="nothing to classify"):
        prepare_file(_write(grey_wall, tmp_path / f"wall{suffix}"))
    translucent = np.zeros((200, 300, 4), np.uint8)
    translucent[..., :3], translucent[..., 3] = 128, 128  # uniform grey, uniformly half transparent
    with pytest.raises(EmptyImageError, match="nothing to classify"):
        prepare_file(_write(translucent, tmp_path / "translucent.png"))
