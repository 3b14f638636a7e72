"""Shape renderings: teaching the network what people draw, not only what a camera saw.

Fashion-MNIST items are photos: shaded, textured, filled. People draw outlines with a
round brush, fill them with the bucket, or photograph an item whose texture the
preprocessing flattens to a silhouette. A network trained on the photos alone sees
shape poorly (an ankle-boot outline is "Bag"). This module makes the two kinds of
training material that close that gap:

* **renderings of the training images** - the filled silhouette, outlines 1-3 px wide,
  and the outline plus the photo's inner edges - computed once per training with
  OpenCV at 4x resolution, so their edges are anti-aliased like a resized drawing;
* **procedural sketches** - every class as a parametric template (sleeve length, body
  width, neckline, heel height, strap count ...) drawn as strokes with a round pen on a
  560x560 canvas (at half resolution), with random proportions, wobble, gaps and
  overshoots, outlined or filled, then brought to 28x28 by the app's own
  :func:`cnn_desktop.core.preprocessing.prepare_arrays` - the path a canvas drawing takes.

:class:`RenderingMix` holds both banks and swaps a share of each training batch for
them in the ``tf.data`` pipeline (a gather per batch, nothing per image in Python), then
varies contrast, gamma, blur, noise and pose a little. No Qt here; TensorFlow is only
imported inside the functions that build the pipeline.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from cnn_desktop import config
from cnn_desktop.core.preprocessing import EmptyImageError, prepare_arrays

# Renderings of a training image, in bank order; index 0 is the photo itself.
RENDERINGS = ("photo", "silhouette", "outline1", "outline2", "outline3", "edges")
# Masks and outlines are traced at this multiple of 28 px, then area-averaged back down.
UPSCALE = 4
# A pixel belongs to the item when it is brighter than this (0-255): Fashion-MNIST's background is 0,
# and its darkest items (black sandals) are still a little above it.
ITEM_LEVEL = 6
# Procedural sketches are drawn on the canvas's 560 px backing store at half scale.
SKETCH_CANVAS = 280
CANVAS_SCALE = SKETCH_CANVAS / 560
# The canvas's default brush is 18 logical px = 36 backing px; people also pick thinner and thicker ones.
DEFAULT_PEN = 36.0
PEN_RANGE = (10.0, 80.0)
# Share of sketches that are filled shapes (the bucket, or a scribbled-in drawing).
FILLED_SHARE = 0.35


# ----------------------------------------------------------------------------------------------
# Renderings of the training images
def item_masks(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (N, 112, 112) uint8 masks (0/255) of each item with its holes filled."""
    images = np.asarray(images, dtype=np.uint8)
    size = config.IMAGE_SIZE * UPSCALE
    masks = np.empty((len(images), size, size), dtype=np.uint8)
    for i, image in enumerate(images):
        big = cv2.resize((image > ITEM_LEVEL).astype(np.uint8) * 255, (size, size), interpolation=cv2.INTER_LINEAR)
        _, mask = cv2.threshold(big, 127, 255, cv2.THRESH_BINARY)
        masks[i] = fill_holes(mask)
    return masks


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """A 0/255 mask with every region not reachable from the border filled (the bucket, inverted)."""
    padded = cv2.copyMakeBorder(mask, 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    outside = padded.copy()
    flood = np.zeros((padded.shape[0] + 2, padded.shape[1] + 2), dtype=np.uint8)
    cv2.floodFill(outside, flood, (0, 0), 255)
    return (padded | ~outside)[1:-1, 1:-1]


def _down(big: np.ndarray) -> np.ndarray:
    small = cv2.resize(big, (config.IMAGE_SIZE, config.IMAGE_SIZE), interpolation=cv2.INTER_AREA)
    return _normalise(small)


def _normalise(image: np.ndarray) -> np.ndarray:
    """Brightest parts to full white, as prepare_arrays does (99th percentile of the lit pixels)."""
    lit = image[image > 0]
    if lit.size == 0:
        return image.astype(np.uint8)
    peak = float(np.percentile(lit, 99))
    return np.clip(image.astype(np.float32) * (255.0 / max(peak, 1.0)), 0, 255).round().astype(np.uint8)


def render_item(image: np.ndarray, mask: np.ndarray) -> list[np.ndarray]:
    """Every rendering of one 28x28 uint8 image (in RENDERINGS order) from its 112x112 filled mask."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    rendered = [np.asarray(image, dtype=np.uint8), _down(mask)]
    for width in (1, 2, 3):
        canvas = np.zeros_like(mask)
        cv2.drawContours(canvas, contours, -1, 255, thickness=width * UPSCALE, lineType=cv2.LINE_AA)
        rendered.append(_down(canvas))
    big_photo = cv2.resize(image, mask.shape[::-1], interpolation=cv2.INTER_CUBIC)
    edges = cv2.Canny(cv2.GaussianBlur(big_photo, (5, 5), 1.5), 40, 110)
    edges = cv2.dilate(edges, np.ones((UPSCALE + 1, UPSCALE + 1), np.uint8)) & cv2.erode(mask, np.ones((3, 3), np.uint8))
    canvas = np.zeros_like(mask)
    cv2.drawContours(canvas, contours, -1, 255, thickness=2 * UPSCALE, lineType=cv2.LINE_AA)
    rendered.append(_down(canvas | edges))
    return rendered


def render_bank(images: np.ndarray) -> np.ndarray:
    """(N, 28, 28) uint8 -> (len(RENDERINGS), N, 28, 28) uint8: each image in every rendering."""
    images = np.asarray(images, dtype=np.uint8)
    bank = np.empty((len(RENDERINGS), len(images), config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.uint8)
    for i, (image, mask) in enumerate(zip(images, item_masks(images))):
        for r, rendered in enumerate(render_item(image, mask)):
            bank[r, i] = rendered
    return bank


# ----------------------------------------------------------------------------------------------
# Procedural sketches: each class as a parametric template (x right, y down, height about 1)
def _arc(cx, cy, rx, ry, start_deg, end_deg, n=12):
    t = np.radians(np.linspace(start_deg, end_deg, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _mirror_closed(right_half: np.ndarray) -> np.ndarray:
    """A closed outline symmetric about x = 0 from its right half (listed top to bottom)."""
    left = right_half[::-1] * np.array([-1.0, 1.0])
    return np.concatenate([right_half, left])


def _top(rng, sleeve: str):
    """Upper-body garment outline (T-shirt, pullover, shirt, coat): closed outline + neck y-range."""
    u = rng.uniform
    half_width = u(0.26, 0.4)
    shoulder_y = u(0.03, 0.1)
    neck = u(0.08, 0.15)
    armpit_y = shoulder_y + u(0.18, 0.3)
    hem = (half_width * u(0.85, 1.08), 1.0)
    points = [(neck, 0.0), (half_width + u(0.0, 0.05), shoulder_y)]
    if sleeve == "none":
        points = [(neck, 0.0), (neck + u(0.03, 0.08), shoulder_y * 0.5), (half_width * 0.85, armpit_y)]
    elif sleeve == "short":
        length, angle = u(0.14, 0.3), math.radians(u(20, 55))
        cuff = u(0.1, 0.18)
        end = np.array(points[-1]) + length * np.array([math.cos(angle), math.sin(angle)])
        inner = end + cuff * np.array([-math.sin(angle), math.cos(angle)])
        points += [tuple(end), tuple(inner), (half_width, armpit_y)]
    else:  # long sleeves down beside the body
        cuff_y = u(0.7, 1.0)
        spread = u(0.06, 0.28)
        cuff = u(0.08, 0.14)
        points += [(half_width + spread + cuff, cuff_y), (half_width + spread, cuff_y + cuff * 0.5),
                   (half_width, armpit_y + u(0.0, 0.1))]
    points.append(hem)
    return np.array(points, dtype=float), neck


def _with_neckline(right_half: np.ndarray, neck: float, depth: float, v_neck: bool) -> np.ndarray:
    outline = _mirror_closed(right_half)
    if v_neck:
        neckline = np.array([[-neck, 0.0], [0.0, depth], [neck, 0.0]])
    else:
        neckline = _arc(0.0, 0.0, neck, depth, 180, 0, 10)
    return np.concatenate([outline, neckline[1:-1]])


def _sketch_tshirt(rng):
    half, neck = _top(rng, "none" if rng.random() < 0.15 else "short")
    outline = _with_neckline(half, neck, rng.uniform(0.04, 0.16), rng.random() < 0.25)
    return [outline], []


def _sketch_pullover(rng):
    half, neck = _top(rng, "long")
    outline = _with_neckline(half, neck, rng.uniform(0.04, 0.12), rng.random() < 0.2)
    details = []
    if rng.random() < 0.5:  # ribbed hem band
        hem_y = rng.uniform(0.88, 0.94)
        details.append(np.array([[-half[-1, 0], hem_y], [half[-1, 0], hem_y]]))
    return [outline], details


def _sketch_shirt(rng):
    half, neck = _top(rng, "long" if rng.random() < 0.65 else "short")
    outline = _with_neckline(half, neck, rng.uniform(0.05, 0.12), True)
    collar = rng.uniform(0.08, 0.16)
    details = [np.array([[-neck, 0.0], [-neck * 0.3, collar], [0.0, collar * 0.6]]),
               np.array([[neck, 0.0], [neck * 0.3, collar], [0.0, collar * 0.6]]),
               np.array([[0.0, collar * 0.6], [0.0, 1.0]])]
    for y in np.linspace(0.25, 0.85, rng.integers(0, 5)):
        details.append(_arc(0.04, y, 0.015, 0.015, 0, 360, 6))
    return [outline], details


def _sketch_coat(rng):
    half, neck = _top(rng, "long")
    half[-1, 1] = 1.0
    half[1:, 0] *= rng.uniform(1.0, 1.12)  # a little wider than a pullover
    outline = _with_neckline(half, neck, rng.uniform(0.15, 0.35), True)
    details = [np.array([[0.0, rng.uniform(0.15, 0.35)], [0.0, 1.0]])]
    if rng.random() < 0.6:  # lapels
        depth = rng.uniform(0.2, 0.35)
        details += [np.array([[-neck, 0.0], [-neck - 0.05, depth * 0.5], [0.0, depth]]),
                    np.array([[neck, 0.0], [neck + 0.05, depth * 0.5], [0.0, depth]])]
    if rng.random() < 0.5:  # pockets
        y = rng.uniform(0.6, 0.75)
        for side in (-1, 1):
            details.append(np.array([[side * 0.08, y], [side * 0.22, y]]))
    return [outline], details


def _sketch_dress(rng):
    u = rng.uniform
    shoulder = u(0.1, 0.22)
    waist_y, waist = u(0.28, 0.45), u(0.1, 0.18)
    hem = u(0.24, 0.5)
    neck = u(0.05, 0.1)
    right = [(neck, 0.0), (shoulder, u(0.0, 0.06))]
    if rng.random() < 0.4:  # short sleeves
        right += [(shoulder + u(0.06, 0.12), u(0.08, 0.16)), (shoulder * 0.9, u(0.14, 0.2))]
    right += [(waist, waist_y), (hem, 1.0)]
    outline = _with_neckline(np.array(right), neck, u(0.04, 0.15), rng.random() < 0.4)
    details = [np.array([[-waist, waist_y], [waist, waist_y]])] if rng.random() < 0.4 else []
    return [outline], details


def _sketch_trouser(rng):
    u = rng.uniform
    waist = u(0.17, 0.28)
    crotch_y = u(0.2, 0.35)
    flare = u(-0.04, 0.06)
    leg = u(0.1, 0.18)
    gap = u(0.0, 0.05)
    outer = waist + flare
    right = np.array([(0.0, 0.0), (waist, 0.0), (outer, 1.0), (max(gap, outer - leg), 1.0), (0.0, crotch_y)])
    left = right[::-1][:-1] * np.array([-1.0, 1.0])
    outline = np.concatenate([right, left])
    details = []
    if rng.random() < 0.5:  # waistband
        band = u(0.04, 0.08)
        details.append(np.array([[-waist, band], [waist, band]]))
    return [outline], details


def _sketch_sandal(rng):
    u = rng.uniform
    height = u(0.25, 0.55)
    sole = u(0.04, 0.08)
    heel = u(0.1, 0.35) if rng.random() < 0.6 else 0.0
    # Side view, toe to the left; with a heel the sole slopes up to the back.
    sole_top = np.array([(0.0, height - sole), (0.55, height - sole - heel * 0.3), (1.0, height - sole - heel)])
    sole_bottom = sole_top + [0.0, sole]
    outlines = [np.concatenate([sole_top, sole_bottom[::-1]])]
    details = []
    if heel > 0:
        details.append(np.array([(0.88, height - heel), (0.9, height), (0.98, height), (1.0, height - heel)]))
    for x in np.sort(u(0.1, 0.75, rng.integers(2, 5))):
        top_y = sole_top[0, 1] - u(0.15, 0.4) * (1.0 - 0.3 * x)
        base = np.interp(x, sole_top[:, 0], sole_top[:, 1])
        details.append(_arc(x, base, u(0.05, 0.12), base - top_y, 180, 360, 9))
    if rng.random() < 0.6:  # ankle strap
        back = sole_top[-1]
        details.append(_arc(back[0] - 0.12, back[1] - u(0.15, 0.35), 0.1, 0.08, 0, 360, 12))
    return outlines, details


def _sketch_sneaker(rng):
    u = rng.uniform
    height = u(0.3, 0.5)
    toe_up = u(0.08, 0.15)
    collar_x, collar_y = u(0.55, 0.72), u(0.0, 0.08)
    outline = np.concatenate([
        [(1.0, height), (0.08, height)],
        _arc(0.08, height - toe_up, 0.08, toe_up, 90, 200, 6),
        [(u(0.25, 0.35), height - toe_up - u(0.08, 0.15)), (collar_x - 0.12, collar_y + u(0.02, 0.06)),
         (collar_x, collar_y + u(0.06, 0.12)), (u(0.85, 0.95), collar_y), (1.0, collar_y + 0.05)],
    ])
    sole = height - u(0.05, 0.1)
    details = [np.array([(0.03, sole), (1.0, sole)])]
    for i in range(rng.integers(0, 5)):  # laces across the instep
        x = 0.3 + i * 0.07
        y = height - toe_up - 0.1 - i * 0.04
        details.append(np.array([(x, y), (x + 0.06, y + 0.05)]))
    if rng.random() < 0.4:  # a side stripe
        details.append(np.array([(0.4, sole - 0.02), (0.65, collar_y + 0.12)]))
    return [outline], details


def _sketch_boot(rng):
    u = rng.uniform
    height = u(0.85, 1.15)
    shaft_front = u(0.35, 0.6)
    toe_h = u(0.15, 0.3)
    heel_h = u(0.04, 0.18)
    outline = np.concatenate([
        [(1.0, height - heel_h), (0.02, height - heel_h * 0.3)],
        _arc(0.1, height - toe_h * 0.5, 0.1, toe_h * 0.5, 120, 250, 6),
        [(shaft_front - u(0.05, 0.15), height - toe_h - u(0.1, 0.25)), (shaft_front, u(0.0, 0.1)),
         (u(0.92, 1.0), 0.0), (1.0, height - heel_h)],
    ])
    details = [np.array([(0.72, height - heel_h), (0.74, height), (0.98, height), (1.0, height - heel_h)])]
    if rng.random() < 0.5:
        details.append(np.array([(0.05, height - heel_h - 0.03), (1.0, height - heel_h - 0.03)]))
    if rng.random() < 0.4:  # laces or a zip down the shaft
        details.append(np.array([(shaft_front + 0.05, 0.05), (shaft_front - 0.05, height * 0.6)]))
    return [outline], details


def _sketch_bag(rng):
    u = rng.uniform
    top_y = u(0.2, 0.5)
    taper = u(-0.08, 0.12)
    body = np.array([(taper, top_y), (1.0 - taper, top_y), (1.0, 1.0), (0.0, 1.0)])
    details = []
    style = rng.integers(3)
    if style == 0:  # one handle
        width = u(0.2, 0.35)
        details.append(_arc(0.5, top_y, width, top_y * u(0.7, 1.0), 180, 360, 12))
        if rng.random() < 0.5:
            details.append(_arc(0.5, top_y, width * 0.75, top_y * u(0.5, 0.7), 180, 360, 12))
    elif style == 1:  # two handles
        for cx in (0.35, 0.65):
            details.append(_arc(cx, top_y, u(0.08, 0.14), top_y * u(0.6, 1.0), 180, 360, 10))
    else:  # shoulder strap
        details.append(np.array([(taper + 0.05, top_y), (0.5, 0.0), (0.95 - taper, top_y)]))
    if rng.random() < 0.4:  # flap
        details.append(np.array([(taper, top_y), (0.5, top_y + u(0.15, 0.3)), (1.0 - taper, top_y)]))
    return [body], details


def _sketch_class(label: int):
    return {0: _sketch_tshirt, 1: _sketch_trouser, 2: _sketch_pullover, 3: _sketch_dress, 4: _sketch_coat,
            5: _sketch_sandal, 6: _sketch_shirt, 7: _sketch_sneaker, 8: _sketch_bag, 9: _sketch_boot}[label]


def _resample(points: np.ndarray, step: float) -> np.ndarray:
    segments = np.linalg.norm(np.diff(points, axis=0), axis=1)
    distance = np.concatenate([[0.0], np.cumsum(segments)])
    if distance[-1] <= 0:
        return points
    samples = np.linspace(0.0, distance[-1], max(2, int(distance[-1] / step) + 1))
    return np.stack([np.interp(samples, distance, points[:, 0]), np.interp(samples, distance, points[:, 1])], axis=1)


def _hand_strokes(path: np.ndarray, rng, *, closed: bool, wobble: float) -> list[np.ndarray]:
    """One template path as a person draws it: wobbly, in one to three strokes, with gaps and overshoots."""
    if closed:
        path = np.concatenate([path, path[:1]])
    dense = _resample(path, 0.01)
    n = len(dense)
    # Smooth wobble: a few random low-frequency waves along the stroke, in both directions.
    t = np.linspace(0.0, 1.0, n)[:, None]
    waves = sum(rng.normal(0, wobble, 2) * np.sin(2 * np.pi * (rng.uniform(1, 5) * t + rng.random()))
                for _ in range(3))
    dense = dense + waves
    cuts = np.sort(rng.choice(np.arange(1, n - 1), size=min(n - 2, rng.integers(0, 3)), replace=False)) if n > 3 else []
    strokes = np.split(dense, cuts) if len(cuts) else [dense]
    result = []
    for stroke in strokes:
        if len(stroke) < 2:
            continue
        if rng.random() < 0.2:  # a gap where the pen lifted early
            stroke = stroke[: max(2, int(len(stroke) * rng.uniform(0.85, 0.97)))]
        # Overshoot (or stop short) at both ends along the stroke's direction.
        for end, neighbour in ((0, 1), (-1, -2)):
            direction = stroke[end] - stroke[neighbour]
            norm = np.linalg.norm(direction)
            if norm > 0:
                stroke[end] = stroke[end] + direction / norm * rng.uniform(-0.01, 0.04)
        result.append(stroke)
    return result


def _pen_width(rng) -> float:
    if rng.random() < 0.5:
        return DEFAULT_PEN * rng.uniform(0.85, 1.15)
    return float(np.exp(rng.uniform(np.log(PEN_RANGE[0]), np.log(PEN_RANGE[1]))))


def draw_sketch(label: int, rng: np.random.Generator, *, filled: bool | None = None) -> np.ndarray:
    """One procedural drawing of class ``label`` as the 28x28 float32 input prepare_arrays makes of it."""
    outlines, details = _sketch_class(int(label))(rng)
    if filled is None:
        filled = rng.random() < FILLED_SHARE
    shapes = outlines + details
    everything = np.concatenate(shapes)
    low, high = everything.min(axis=0), everything.max(axis=0)
    aspect = rng.uniform(0.85, 1.18, 2)  # each person's own proportions
    extent = float(np.max((high - low) * aspect))
    size = rng.uniform(200, 520) * CANVAS_SCALE
    scale = aspect * size / max(extent, 1e-6)
    span = (high - low) * scale
    origin = rng.uniform(0, 1, 2) * np.maximum(SKETCH_CANVAS - span - 20 * CANVAS_SCALE, 0) + 10 * CANVAS_SCALE

    def to_canvas(points):
        return (points - low) * scale + origin

    canvas = np.zeros((SKETCH_CANVAS, SKETCH_CANVAS), dtype=np.uint8)
    pen = max(1, int(round(_pen_width(rng) * CANVAS_SCALE)))
    wobble = rng.uniform(0.0, 0.015)
    shift = 4  # OpenCV's sub-pixel coordinates: 1/16 px
    if filled:
        for outline in outlines:
            cv2.fillPoly(canvas, [np.round(to_canvas(outline) * (1 << shift)).astype(np.int32)], 255,
                         lineType=cv2.LINE_AA, shift=shift)
    for index, shape in enumerate(shapes):
        is_outline = index < len(outlines)
        if not is_outline and rng.random() < 0.25:
            continue  # people leave details out
        for stroke in _hand_strokes(shape, rng, closed=is_outline, wobble=wobble):
            points = np.round(to_canvas(stroke) * (1 << shift)).astype(np.int32)
            cv2.polylines(canvas, [points], False, 255, thickness=pen, lineType=cv2.LINE_AA, shift=shift)
    if rng.random() < 0.5:
        canvas = canvas[:, ::-1]
    return prepare_arrays(canvas.astype(np.float32) / 255.0).image


def sketch_pool(count: int, seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` procedural sketches, classes in turn: (count, 28, 28) uint8 images and their labels."""
    rng = np.random.default_rng(seed)
    images = np.zeros((count, config.IMAGE_SIZE, config.IMAGE_SIZE), dtype=np.uint8)
    labels = np.arange(count, dtype=np.int32) % config.NUM_CLASSES
    for i, label in enumerate(labels):
        while True:
            try:
                images[i] = np.round(draw_sketch(int(label), rng) * 255).astype(np.uint8)
                break
            except EmptyImageError:  # a degenerate draw (everything off the canvas): draw again
                continue
    return images, labels


# ----------------------------------------------------------------------------------------------
# The training mix
@dataclass(frozen=True)
class MixShares:
    """How a training batch is made up: shares of sketches, and of each rendering of the photos."""

    # 35% shapes in all: in trials, 25% / 35% / 50% / 70% gave held-out outlines 78 / 80 / 79 / 80% and hand
    # drawings 24 / 24 / 25 / 25 of 30, while photos lost more the larger the share.
    sketch: float = 0.15
    silhouette: float = 0.07
    outline: float = 0.08  # split evenly over the 1, 2 and 3 px outlines
    edges: float = 0.05

    def rendering_probabilities(self) -> list[float]:
        """Probabilities over RENDERINGS for an image that is not swapped for a sketch."""
        rest = 1.0 - self.sketch
        shares = [self.silhouette / rest, *(self.outline / 3 / rest,) * 3, self.edges / rest]
        return [1.0 - sum(shares), *shares]


def as_in_training(images_uint8: np.ndarray, labels: np.ndarray, *, shares: MixShares = MixShares(),
                   seed: int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each image the way the ``robust`` mix shows it to the network, without the pose and photometric jitter.

    With the mix's probabilities an image stays a photo, becomes one of its renderings, or is swapped for a
    new procedural sketch (another label then). What a shape-trained network knows is this mix, not the
    photos alone: calibration fits its "unfamiliar" thresholds on it.
    """
    rng = np.random.default_rng(seed)
    count = len(images_uint8)
    bank = render_bank(images_uint8)
    rendering = rng.choice(len(RENDERINGS), size=count, p=shares.rendering_probabilities())
    mixed = bank[rendering, np.arange(count)]
    mixed_labels = np.asarray(labels).copy()
    is_sketch = rng.random(count) < shares.sketch
    sketches, sketch_labels = sketch_pool(int(is_sketch.sum()), None if seed is None else seed + 1)
    mixed[is_sketch], mixed_labels[is_sketch] = sketches, sketch_labels
    return mixed, mixed_labels


@dataclass
class RenderingMix:
    """Renderings of the training images and a pool of sketches, mixed into training batches."""

    bank: np.ndarray  # (len(RENDERINGS), N, 28, 28) uint8
    sketches: np.ndarray  # (S, 28, 28) uint8
    sketch_labels: np.ndarray  # (S,) int
    shares: MixShares

    @classmethod
    def build(cls, images_uint8: np.ndarray, *, sketches_per_image: float = 0.5, shares: MixShares = MixShares(),
              seed: int | None = 0) -> "RenderingMix":
        count = max(config.NUM_CLASSES, int(len(images_uint8) * sketches_per_image))
        sketches, labels = sketch_pool(count, seed)
        return cls(render_bank(images_uint8), sketches, labels, shares)

    def gather_fn(self, labels: np.ndarray, seed: int | None):
        """A ``tf.data`` map: a batch of indices -> (float images, labels), some swapped for renderings."""
        import tensorflow as tf

        bank = tf.constant(self.bank[..., np.newaxis])
        sketches = tf.constant(self.sketches[..., np.newaxis])
        sketch_labels = tf.constant(self.sketch_labels.astype(np.int32))
        labels = tf.constant(labels.astype(np.int32))
        log_probs = tf.math.log(tf.constant([self.shares.rendering_probabilities()], tf.float32))
        generator = (tf.random.Generator.from_seed(seed + 1) if seed is not None
                     else tf.random.Generator.from_non_deterministic_state())
        sketch_count = len(self.sketches)
        sketch_share = self.shares.sketch

        def gather(index):
            batch = tf.shape(index)[0]
            rendering = tf.random.stateless_categorical(log_probs, batch, generator.make_seeds(1)[:, 0],
                                                        dtype=tf.int32)[0]
            images = tf.gather_nd(bank, tf.stack([rendering, tf.cast(index, tf.int32)], axis=1))
            batch_labels = tf.gather(labels, index)
            is_sketch = generator.uniform([batch]) < sketch_share
            pick = generator.uniform([batch], 0, sketch_count, dtype=tf.int32)
            images = tf.where(is_sketch[:, None, None, None], tf.gather(sketches, pick), images)
            batch_labels = tf.where(is_sketch, tf.gather(sketch_labels, pick), batch_labels)
            return tf.cast(images, tf.float32) / 255.0, batch_labels

        return gather


# Pose and photometric variation of a batch.
# Mild on purpose: in 3-epoch trials, +-10 degrees, 0.85-1.05 scale and gamma 0.6-1.6 cost 1.5 points on
# held-out photos and gained nothing on drawings (prepare_arrays already fixes size and position).
MAX_ROTATION_DEG = 6.0
SCALE_RANGE = (0.93, 1.04)
ASPECT_RANGE = (0.93, 1.07)
MAX_SHIFT = 2.0
GAMMA_RANGE = (0.75, 1.33)
BLUR_SHARE = 0.2
NOISE_SHARE = 0.2
NOISE_STD = 0.04


def augment_batch(images, labels):
    """Mirror, rotate, scale, stretch and shift each item a little; vary its gamma, blur and noise."""
    import tensorflow as tf

    batch = tf.shape(images)[0]
    size = float(config.IMAGE_SIZE)
    angle = tf.random.uniform([batch], -1.0, 1.0) * math.radians(MAX_ROTATION_DEG)
    scale = tf.random.uniform([batch], *SCALE_RANGE)
    aspect = tf.random.uniform([batch], *ASPECT_RANGE)
    flip = tf.where(tf.random.uniform([batch]) < 0.5, -1.0, 1.0)
    shift = tf.random.uniform([batch, 2], -MAX_SHIFT, MAX_SHIFT)
    # The transform maps output pixel (x, y) to input pixel: the inverse of scale-rotate about the centre.
    sx, sy = 1.0 / (scale * aspect) * flip, aspect / scale
    cos, sin = tf.cos(angle), tf.sin(angle)
    a0, a1 = sx * cos, sx * sin
    b0, b1 = -sy * sin, sy * cos
    centre = (size - 1) / 2
    a2 = centre - a0 * (centre + shift[:, 0]) - a1 * (centre + shift[:, 1])
    b2 = centre - b0 * (centre + shift[:, 0]) - b1 * (centre + shift[:, 1])
    zeros = tf.zeros([batch])
    transforms = tf.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
    images = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=[config.IMAGE_SIZE, config.IMAGE_SIZE],
        fill_value=0.0, interpolation="BILINEAR", fill_mode="CONSTANT")

    gamma = tf.exp(tf.random.uniform([batch, 1, 1, 1], math.log(GAMMA_RANGE[0]), math.log(GAMMA_RANGE[1])))
    images = tf.pow(tf.clip_by_value(images, 1e-6, 1.0), gamma) * tf.cast(images > 0, tf.float32)
    kernel = tf.constant([1.0, 2.0, 1.0])
    kernel = (kernel[:, None] * kernel[None, :] / 16.0)[:, :, None, None]
    blurred = tf.nn.conv2d(images, kernel, strides=1, padding="SAME")
    blur = tf.cast(tf.random.uniform([batch, 1, 1, 1]) < BLUR_SHARE, tf.float32)
    images = blur * blurred + (1 - blur) * images
    noisy = tf.cast(tf.random.uniform([batch, 1, 1, 1]) < NOISE_SHARE, tf.float32)
    images = images + noisy * tf.random.normal(tf.shape(images), stddev=NOISE_STD) * tf.cast(images > 0, tf.float32)
    peak = tf.reduce_max(images, axis=[1, 2, 3], keepdims=True)
    images = tf.clip_by_value(images / tf.maximum(peak, 1e-3), 0.0, 1.0)
    return images, labels
