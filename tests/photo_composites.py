"""Photo-like pictures of Fashion-MNIST items on hard backgrounds, with the item's true mask.

Each composite is an item scaled up from its 28x28 image and laid over a background
a phone photo might have: wood grain, a gradient of light, a coloured pattern, a dark
textured surface, a plain light grey one, a bold two-colour check. The item's true mask
is where the scaled-up item is more than half opaque, so a segmentation can be scored
against it (IoU).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 480, 640
BACKGROUNDS = ("wood", "gradient", "plaid", "dark_texture", "light_grey")
# Side of a square of the "checks" background (not in BACKGROUNDS: its own test), px.
CHECK_SIZE = 40


def _smooth_noise(rng, height, width, cell):
    """Value noise: random levels on a coarse grid, smoothly scaled up."""
    coarse = rng.random((max(2, height // cell), max(2, width // cell))).astype(np.float32)
    return np.asarray(Image.fromarray(coarse, mode="F").resize((width, height), Image.Resampling.BICUBIC))


def background(kind: str, rng, height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """(H, W, 3) float32 in [0, 255]."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    grain = rng.normal(0, 4, (height, width)).astype(np.float32)
    if kind == "wood":  # brown planks: warped stripes
        warp = 25 * _smooth_noise(rng, height, width, 60)
        stripes = 0.5 + 0.5 * np.sin((y + warp) / 7.0)
        lum = 120 + 60 * stripes + 20 * _smooth_noise(rng, height, width, 20) + grain
        return np.stack([lum * 1.15, lum * 0.85, lum * 0.55], axis=-1).clip(0, 255)
    if kind == "gradient":  # light from one side: dark grey to near white, with a vignette
        lum = 60 + 180 * x / width - 40 * (((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2) + grain
        return np.repeat(lum[..., None], 3, axis=-1).clip(0, 255)
    if kind == "plaid":  # a coloured check pattern (a bed sheet)
        bands_x = (np.sin(x / 11.0) > 0).astype(np.float32)
        bands_y = (np.sin(y / 17.0) > 0.3).astype(np.float32)
        red = 90 + 110 * bands_x + grain
        green = 70 + 60 * bands_y + grain
        blue = 150 + 80 * bands_x * bands_y + grain
        return np.stack([red, green, blue], axis=-1).clip(0, 255)
    if kind == "dark_texture":  # a dark, mottled surface (slate, a dark blanket)
        lum = 85 + 40 * _smooth_noise(rng, height, width, 8) + 6 * grain
        return np.stack([lum, lum * 0.95, lum * 1.05], axis=-1).clip(0, 255)
    if kind == "checks":  # a two-colour check (a tablecloth, a chessboard): squares of CHECK_SIZE px
        cells = ((x // CHECK_SIZE + y // CHECK_SIZE) % 2)[..., None]
        light, dark = np.array([222, 96, 204], np.float32), np.array([24, 72, 30], np.float32)
        return (light * cells + dark * (1 - cells) + grain[..., None]).clip(0, 255)
    if kind == "light_grey":  # a plain light grey table
        lum = 192 + 1.5 * grain
        return np.repeat(lum[..., None], 3, axis=-1).clip(0, 255)
    raise ValueError(kind)


def composite(item_uint8: np.ndarray, kind: str, seed: int = 0, *, item_height: int = 330,
              touching_border: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """An item photographed on ``kind``: ((H, W, 3) uint8 picture, (H, W) bool true item mask).

    The item is dark on the light and patterned backgrounds, darker still on the dark
    texture, and white on the light grey one. ``touching_border`` pushes it past the
    bottom-right corner so that the frame cuts it.
    """
    rng = np.random.default_rng(seed)
    scene = background(kind, rng)
    big = np.asarray(Image.fromarray(item_uint8).resize((item_height, item_height), Image.Resampling.BICUBIC),
                     dtype=np.float32).clip(0, 255)
    opacity = np.clip((big - 12) / 30, 0, 1)
    detail = big / 255.0  # the dataset's brightness: high where the original photo was dark
    if kind == "light_grey":  # a white item: bright body, darker seams and shading
        colour = np.array([250, 250, 248], np.float32)[None, None] * (1 - 0.18 * detail[..., None])
    elif kind == "checks":  # a grey item, nearer the check's average colour than either of its colours
        colour = np.array([150, 150, 146], np.float32)[None, None] * (1.2 - 0.5 * detail[..., None])
    elif kind == "dark_texture":
        colour = np.array([40, 36, 34], np.float32)[None, None] * (1.3 - 0.6 * detail[..., None])
    else:  # a dark blue item with lighter seams and folds
        colour = np.array([40, 50, 95], np.float32)[None, None] * (1.6 - 0.9 * detail[..., None])
    if touching_border:
        top, left = HEIGHT - int(item_height * 0.8), WIDTH - int(item_height * 0.85)
    else:
        top = int(rng.integers(20, HEIGHT - item_height - 20))
        left = int(rng.integers(20, WIDTH - item_height - 20))
    bottom, right = min(HEIGHT, top + item_height), min(WIDTH, left + item_height)
    region = (slice(top, bottom), slice(left, right))
    alpha = opacity[:bottom - top, :right - left, None]
    scene[region] = alpha * colour[:bottom - top, :right - left] + (1 - alpha) * scene[region]
    truth = np.zeros((HEIGHT, WIDTH), bool)
    truth[region] = opacity[:bottom - top, :right - left] > 0.5
    return np.round(scene).clip(0, 255).astype(np.uint8), truth


def iou(found: np.ndarray, truth: np.ndarray) -> float:
    found, truth = np.asarray(found) >= 0.5, np.asarray(truth, bool)
    union = np.logical_or(found, truth).sum()
    return float(np.logical_and(found, truth).sum() / union) if union else 0.0
