"""Finding the item in a photo: which pixels belong to it, whatever the background.

A global threshold against the border's median fails on real photos: walls, bed
sheets, wood grain and shadows are not one colour, items touch or leave the
frame, and a white sneaker on a light grey table is barely darker or lighter
than what is around it. OpenCV's GrabCut separates the picture into two colour
models (Gaussian mixtures) and a smooth boundary between them by a graph cut.
It is seeded here without any user input: a band along the picture's border is
*probably* background, everything else *probably* item. Both are only
"probable", so an item that touches or crosses the border is not cut off there.

GrabCut's cost grows with the number of pixels, so it runs on a copy reduced to
``SEGMENT_SIZE`` pixels on the longer side (the network's input is 28x28: a mask
at that resolution is still several times finer), and the mask is scaled back up.
"""

from __future__ import annotations

from collections.abc import Iterator

import cv2
import numpy as np

# Longest side of the reduced copy GrabCut works on (time grows with its square).
SEGMENT_SIZE = 160
# Width of the border band seeded as probable background, as a share of the shorter side.
BORDER_SHARE = 0.06
# GrabCut rounds of re-estimating the colour models and cutting again; more changed little in trials.
GRABCUT_ITERATIONS = 4
# A found item covering less than this share of the picture is a speck, not an item.
MIN_ITEM_SHARE = 0.01
# ... and one covering more than this share means the cut found no background at all.
MAX_ITEM_SHARE = 0.97
# When more than this share of the border band is unlike the fitted background colour (before the cut)
# or marked as item (after it), the fit was no model of the background. Items that merely touch the
# border stayed below 0.23 in trials; check patterns reached 0.3-0.4.
MAX_BAND_SHARE = 0.25
# Rounds of fitting the background's colour to the border band, each without the last round's outliers.
BACKGROUND_FIT_ROUNDS = 3
# Colours the border band of a patterned background is clustered into (k-means) when no smooth colour
# model fits it: two for a check's or a stripe's cells and one for the blend along their seams.
PALETTE_COLOURS = 3
# The band is such a pattern when its colours lie near the palette: their root-mean-square distance from the
# nearest palette colour is at most this share of the distance between its two most different colours. On
# photo composites of held-out training items, checks and stripes stayed within 0.12 and wood grain within
# 0.15; a woven fabric's continuous shading (0.15-0.23) is no palette, and seeding by one lost items there.
MAX_PALETTE_SPREAD = 0.15
# Pixels nearer a palette colour than the band's own pixels are on average (its root-mean-square distance,
# times this) are surely background: else GrabCut grew items by whole cells of a check next to them.
SURE_PALETTE_SPREADS = 1.0
# Separate parts (a pair of shoes, a strap) are kept when at least this share of the largest part.
MIN_PART_SHARE = 0.15
# Holes inside the item smaller than this share of its area are GrabCut's speckle, not a bag's handle.
MAX_HOLE_SHARE = 0.02


def reduced(rgb: np.ndarray) -> np.ndarray:
    """A copy at most SEGMENT_SIZE pixels on its longer side (area-averaged), or ``rgb`` itself."""
    height, width = rgb.shape[:2]
    scale = SEGMENT_SIZE / max(height, width)
    if scale >= 1:
        return rgb
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def _band(height: int, width: int) -> np.ndarray:
    """True on the band along the picture's border."""
    width_px = max(1, round(BORDER_SHARE * min(height, width)))
    band = np.ones((height, width), bool)
    band[width_px:-width_px, width_px:-width_px] = False
    return band


def _ring(shape: tuple[int, int]) -> np.ndarray:
    """True on the outermost row and column on every side."""
    ring = np.zeros(shape, bool)
    ring[:1] = ring[-1:] = True
    ring[:, :1] = ring[:, -1:] = True
    return ring


def _band_seed(shape: tuple[int, int]) -> np.ndarray:
    """Border band probably background, the rest probably item; the outermost ring surely background."""
    seed = np.where(_band(*shape), cv2.GC_PR_BGD, cv2.GC_PR_FGD).astype(np.uint8)
    seed[_ring(shape)] = cv2.GC_BGD
    return seed


def _background_model(lab: np.ndarray, band: np.ndarray) -> np.ndarray:
    """The background's colour at every pixel, extrapolated from the border band.

    A quadratic in x and y per channel, fitted to the band's colours and refitted without
    the band's outliers (an item that crosses the border): it follows a gradient of light
    or a vignette, which a single border colour cannot.
    """
    height, width = band.shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    x, y = x / width - 0.5, y / height - 0.5
    terms = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1)
    samples, colours = terms[band], lab[band]
    # Start from the colours near the band's median: an item crossing the border is a minority there.
    residual = np.linalg.norm(colours - np.median(colours, axis=0), axis=-1)
    for _ in range(BACKGROUND_FIT_ROUNDS):
        inliers = residual <= max(3.0 * float(np.median(residual)), 1.0)
        chosen = samples[inliers]  # least squares by the 6x6 normal equations: far quicker than lstsq's SVD
        coefficients = np.linalg.solve(chosen.T @ chosen + 1e-6 * np.eye(chosen.shape[1]), chosen.T @ colours[inliers])
        residual = np.linalg.norm(samples @ coefficients - colours, axis=-1)
    return terms @ coefficients


def _unlike_seed(distance: np.ndarray) -> np.ndarray:
    """Probably item where ``distance`` from the background is high (Otsu's split), else background.

    The outermost ring is surely background where it is not unlike: an item that crosses the border
    keeps its part there.
    """
    scaled = np.clip(distance * (255.0 / max(float(distance.max()), 1e-6)), 0, 255).astype(np.uint8)
    level, _ = cv2.threshold(scaled, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    unlike = scaled > level
    seed = np.where(unlike, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seed[_ring(unlike.shape) & ~unlike] = cv2.GC_BGD
    return seed


def _contrast_seed(small: np.ndarray) -> np.ndarray:
    """Probably item where a pixel's colour is far from the modelled background, else background.

    Unlike the band seed this lets an item that crosses the border keep its part in the band.
    """
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    return _unlike_seed(np.linalg.norm(lab - _background_model(lab, _band(*lab.shape[:2])), axis=-1))


def _palette_seed(small: np.ndarray) -> np.ndarray | None:
    """Probably item where a pixel's colour is far from every colour of the border band's palette.

    For a pattern (a check, stripes) no smooth colour model fits the band, but its few colours
    (PALETTE_COLOURS clusters) do: a cell of either colour is background wherever it lies. An opening
    drops the thin blend along the cells' seams, which is near neither colour; pixels very near a
    palette colour are surely background (SURE_PALETTE_SPREADS). None when the band's colours are no
    such palette (MAX_PALETTE_SPREAD).
    """
    lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
    colours = lab[_band(*lab.shape[:2])]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 10, 1.0)
    cv2.setRNGSeed(0)  # k-means starts at random: the same picture, the same palette
    squares, _, palette = cv2.kmeans(colours, PALETTE_COLOURS, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    widest = max(float(np.linalg.norm(first - second)) for first in palette for second in palette)
    spread = float(np.sqrt(squares / len(colours)))
    if spread > MAX_PALETTE_SPREAD * widest:
        return None
    distance = np.linalg.norm(lab[..., None, :] - palette, axis=-1).min(axis=-1)
    seed = _unlike_seed(distance)
    unlike = cv2.morphologyEx((seed == cv2.GC_PR_FGD).astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8))
    seed[(seed == cv2.GC_PR_FGD) & (unlike == 0)] = cv2.GC_PR_BGD
    seed[distance <= SURE_PALETTE_SPREADS * spread] = cv2.GC_BGD
    return seed


def _fallback_seeds(small: np.ndarray) -> Iterator[np.ndarray]:
    """Seeds for when the contrast seed's cut found no plausible item, best first, made as they are needed.

    The palette seed (when the band is a pattern), then the same with its surely-background pixels only
    probably background (an item whose colours come close to the pattern's is then not split up by them),
    and last the band seed.
    """
    seed = _palette_seed(small)
    if seed is not None:
        yield seed
        relaxed = seed.copy()
        relaxed[(seed == cv2.GC_BGD) & ~_ring(seed.shape)] = cv2.GC_PR_BGD
        yield relaxed
    yield _band_seed(small.shape[:2])


def _grabcut(small: np.ndarray, seed: np.ndarray) -> np.ndarray | None:
    background_model = np.zeros((1, 65), np.float64)
    item_model = np.zeros((1, 65), np.float64)
    mask = seed.copy()
    cv2.setRNGSeed(0)  # GrabCut starts its colour models with k-means: the same picture, the same cut
    try:
        cv2.grabCut(small, mask, None, background_model, item_model, GRABCUT_ITERATIONS, cv2.GC_INIT_WITH_MASK)
    except cv2.error:  # e.g. a colour model cannot be estimated (too few distinct pixels)
        return None
    return _clean((mask == cv2.GC_FGD) | (mask == cv2.GC_PR_FGD))


def _clean(mask: np.ndarray) -> np.ndarray:
    """Keep the item's main parts and close GrabCut's small holes; drop specks."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return np.zeros_like(mask, dtype=bool)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= MIN_PART_SHARE * areas.max()) + 1
    item = np.isin(labels, keep)
    # Holes: background components that do not touch the border.
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~item).astype(np.uint8), connectivity=4)
    height, width = item.shape
    limit = MAX_HOLE_SHARE * item.sum()
    for index in range(1, count):
        left, top, w, h, area = stats[index]
        touches_border = left == 0 or top == 0 or left + w == width or top + h == height
        if not touches_border and area <= limit:
            item[labels == index] = True
    return item


def _plausible(item: np.ndarray | None, band: np.ndarray) -> bool:
    """Whether a cut found an item: neither a speck nor the whole picture, and not most of the border band."""
    return (item is not None and MIN_ITEM_SHARE <= item.mean() <= MAX_ITEM_SHARE
            and item[band].mean() <= MAX_BAND_SHARE)


def find_item(rgb: np.ndarray, small: np.ndarray | None = None) -> np.ndarray | None:
    """The item's mask (float32 in [0, 1], same height and width as ``rgb``), or None when none is found.

    ``rgb`` is an (H, W, 3) uint8 picture (``small``: its ``reduced`` copy, when already made).
    None means the cut found no item that is neither a speck nor the whole picture; the caller
    then falls back to simpler cues.
    """
    rgb = np.ascontiguousarray(rgb[..., :3], dtype=np.uint8)
    height, width = rgb.shape[:2]
    if min(height, width) < 8:
        return None
    small = np.ascontiguousarray(reduced(rgb) if small is None else small, dtype=np.uint8)
    band = _band(*small.shape[:2])
    seed = _contrast_seed(small)
    # Most of the border unlike the fitted background colour (a pattern, stripes, checks): that fit is
    # no model of the background. Then, or when the cut found no plausible item, seed from the border
    # band's palette instead, and failing that from the band itself, whose colour model holds all of
    # the pattern's colours.
    suspicious = (seed[band] == cv2.GC_PR_FGD).mean() > MAX_BAND_SHARE
    item = None if suspicious else _grabcut(small, seed)
    if not _plausible(item, band):
        for fallback_seed in _fallback_seeds(small):
            fallback = _grabcut(small, fallback_seed)
            if _plausible(fallback, band):
                break
        if fallback is not None and fallback.mean() >= MIN_ITEM_SHARE:
            item = fallback
        elif item is None:  # the band found nothing either: an item filling and crossing the frame
            item = _grabcut(small, seed)
    if item is None:
        return None
    share = float(item.mean())
    if not MIN_ITEM_SHARE <= share <= MAX_ITEM_SHARE:
        return None
    soft = item.astype(np.float32)
    if soft.shape != (height, width):
        soft = cv2.resize(soft, (width, height), interpolation=cv2.INTER_LINEAR)
    return soft


def outlines(mask: np.ndarray, scale_x: float = 1.0, scale_y: float = 1.0) -> tuple[np.ndarray, ...]:
    """The item's outer outlines as (N, 2) float32 arrays of (x, y), scaled by the given factors."""
    binary = (np.asarray(mask) >= 0.5).astype(np.uint8)
    contours, _ = cv2.findContours(binary, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    scale = np.array([scale_x, scale_y], np.float32)
    # +0.5: a contour runs through pixel centres; scaled, it should run through the same spots.
    return tuple(((c.reshape(-1, 2).astype(np.float32) + 0.5) * scale) for c in contours if len(c) >= 3)
